import ArenaTestSupport
import Foundation
import Testing

/// The `arena-stats` executable the test target depends on, run as a child process.
enum ArenaStatsTool {
    /// Where the executable is: `ARENA_STATS_EXECUTABLE` if set, else in the products directory.
    static let path = BuiltExecutable.path("arena-stats", override: "ARENA_STATS_EXECUTABLE")

    /// Runs `arena-stats arguments…`, with no jemalloc settings inherited; `stdin` is a file's path.
    static func run(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
        let path = try #require(path, "the arena-stats executable is not beside the test binary")
        return try runProcess(
            path,
            arguments,
            environment: ["MALLOC_CONF": nil, "LD_PRELOAD": nil],
            stdin: stdin.map(StandardInput.file) ?? .null,
            timeout: 120
        )
    }

    /// Runs `arena-stats arguments…` expecting success, and decodes its `--json` output.
    static func json<T: Decodable>(_ type: T.Type, _ arguments: [String]) throws -> T {
        let result = try run(arguments + ["--json"])
        try #require(result.status == 0, "arena-stats \(arguments) failed: \(result.stderrText)")
        return try JSONDecoder().decode(T.self, from: Data(result.stdout))
    }
}
