import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The root package depends on swift-nio, swift-argument-parser and swift-docc-plugin and
/// nothing else: a user of the library resolves no more than that. The example server brings
/// its own dependencies in its own package (`Examples/arena-kv`).
@Suite("Package shape")
struct PackageShapeTests {
    /// Every package the root package may resolve.
    static let allowed: Set<String> = [
        // swift-nio 2.101 and what it pulls (swift-collections for DequeModule).
        "swift-nio", "swift-atomics", "swift-collections", "swift-system",
        "swift-argument-parser",
        // Documentation only, and what it pulls.
        "swift-docc-plugin", "swift-docc-symbolkit",
    ]

    /// `swift package show-dependencies` of the root package (found from this file's path),
    /// in a scratch directory of its own: the running `swift test` holds the lock of `.build`.
    @Test func onlyNIOArgumentParserAndDocCPlugin() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let scratch = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let arguments = [
            "swift", "package", "--package-path", root, "--scratch-path", scratch + "/build",
            "show-dependencies", "--format", "json",
        ]
        let status = try Self.run(arguments, stdout: scratch + "/stdout", stderr: scratch + "/stderr", timeout: 600)
        let output = try Data(contentsOf: URL(fileURLWithPath: scratch + "/stdout"))
        let errors = (try? String(contentsOfFile: scratch + "/stderr", encoding: .utf8)) ?? ""
        try #require(status == 0, "\(arguments.joined(separator: " ")) exited with \(status): \(errors)")

        let tree = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        let identities = Self.identities(below: tree)
        let text = String(decoding: output, as: UTF8.self)
        #expect(identities.contains("swift-nio"), "the JSON names no swift-nio: \(text)")
        #expect(
            identities.isSubset(of: Self.allowed),
            "the root package resolves \(identities.subtracting(Self.allowed).sorted()) beyond \(Self.allowed.sorted())"
        )
        for example in ["swift-metrics", "swift-prometheus"] {
            #expect(!identities.contains(example), "\(example) belongs to Examples/arena-kv, not the root package")
        }
    }

    /// The identities of every package in the dependency tree below `node` (not `node` itself).
    static func identities(below node: [String: Any]) -> Set<String> {
        var found: Set<String> = []
        for child in node["dependencies"] as? [[String: Any]] ?? [] {
            if let identity = child["identity"] as? String { found.insert(identity) }
            found.formUnion(identities(below: child))
        }
        return found
    }

    /// A new empty directory under the system's temporary directory.
    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/arena-package-shape.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw ShapeError("mkdtemp failed: errno \(errno)") }
        return String(cString: made)
    }

    /// Runs `arguments` (the first found on `PATH`) with standard output and error going to
    /// files, and returns its exit status; kills it after `timeout` seconds. `posix_spawn`, not
    /// Foundation's `Process`, which leaks under AddressSanitizer.
    static func run(_ arguments: [String], stdout: String, stderr: String, timeout: Double) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let code = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard code == 0 else { throw ShapeError("cannot start \(arguments[0]): \(String(cString: strerror(code)))") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ShapeError("\(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
            }
            usleep(50_000)
        }
        // WIFEXITED/WEXITSTATUS are macros Swift cannot import.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

struct ShapeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
