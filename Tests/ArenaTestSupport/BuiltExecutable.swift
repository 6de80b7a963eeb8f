#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the executables of this package that SwiftPM built beside the tests.
///
/// The test binary (or bundle) lives in the products directory, `.build/<configuration>`, with
/// the executables the test target depends on.
package enum BuiltExecutable {
    /// The path of the executable `name`: the environment variable `override` if set (e.g.
    /// `ARENA_STATS_EXECUTABLE`), else `name` in the products directory; `nil` when not there.
    package static func path(_ name: String, override: String? = nil) -> String? {
        if let override, let value = getenv(override) { return String(cString: value) }
        return productsDirectories.map { $0 + "/" + name }.first(where: isExecutableFile)
    }

    /// Where the products may be: the test binary's directory (`/proc/self/exe` names it on
    /// Linux; `argv[0]` elsewhere), and its parent for platforms where tests are a bundle.
    package static let productsDirectories: [String] = {
        var directories: [String] = []
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 {
            directories.append(parent(String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        if let first = CommandLine.arguments.first { directories.append(parent(first)) }
        return directories + directories.map(parent)
    }()

    /// The directory part of `path` (`.` when it has none).
    private static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
