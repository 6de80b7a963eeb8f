#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory under `$TMPDIR` (or `/tmp`), removed with everything in it by `remove()`.
package struct TemporaryDirectory: Sendable {
    /// Its path.
    package let path: String

    /// Makes the directory.
    package init() throws {
        var base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if !base.hasSuffix("/") { base += "/" }
        var template = Array((base + "arena-tests.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SubprocessError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    /// The path of `name` in the directory.
    package func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to the file `name` in the directory and returns its path.
    @discardableResult
    package func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = file(name)
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SubprocessError("cannot create \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var rest = bytes[...]
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                throw SubprocessError("cannot write \(file): \(String(cString: strerror(errno)))")
            }
            rest = rest.dropFirst(written)
        }
        return file
    }

    /// Removes the directory and everything in it (one level of files, as the tests make).
    package func remove() {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(file(name)) }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}

/// `write(2)`, under a name the `TemporaryDirectory.write` method does not shadow.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
