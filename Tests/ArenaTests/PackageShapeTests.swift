import ArenaTestSupport
import Foundation
import Testing

/// The root package depends on swift-nio, swift-argument-parser and swift-docc-plugin and
/// nothing else: a user of the library resolves no more than that. The example server brings
/// its own dependencies in its own package (`Examples/arena-kv`).
@Suite("Package shape", .timeLimit(.minutes(5)))
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
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let arguments = [
            "package", "--package-path", root, "--scratch-path", scratch.file("build"),
            "show-dependencies", "--format", "json",
        ]
        let result = try runProcess("swift", arguments, timeout: 600)
        try #require(
            result.status == 0 && !result.timedOut,
            "swift \(arguments.joined(separator: " ")) exited with \(result.status): \(result.stderrText)"
        )
        let output = Data(result.stdout)
        let tree = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        let identities = Self.identities(below: tree)
        #expect(identities.contains("swift-nio"), "the JSON names no swift-nio: \(result.stdoutText)")
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
}
