import Foundation
import Testing

/// The `arena-stats` executable the test target depends on, run as a child process.
enum ArenaStatsTool {
    /// Where the executable is: `ARENA_STATS_EXECUTABLE` if set, else beside the test binary
    /// (SwiftPM puts both in the build products directory).
    static let path: String? = {
        if let override = ProcessInfo.processInfo.environment["ARENA_STATS_EXECUTABLE"] { return override }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        candidates.append(Bundle.main.bundleURL.path)
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        // On platforms where the tests are a bundle, the products directory is its parent.
        candidates += candidates.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        return candidates.map { $0 + "/arena-stats" }.first(where: isExecutableFile)
    }()

    /// Runs `arena-stats arguments…`, with no jemalloc settings inherited.
    static func run(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
        let path = try #require(path, "the arena-stats executable is not beside the test binary")
        return try runProcess(path, arguments, environment: ["MALLOC_CONF": nil, "LD_PRELOAD": nil], stdin: stdin)
    }

    /// Runs `arena-stats arguments…` expecting success, and decodes its `--json` output.
    static func json<T: Decodable>(_ type: T.Type, _ arguments: [String]) throws -> T {
        let result = try run(arguments + ["--json"])
        try #require(result.status == 0, "arena-stats \(arguments) failed: \(result.stderrText)")
        return try JSONDecoder().decode(T.self, from: Data(result.stdout))
    }
}
