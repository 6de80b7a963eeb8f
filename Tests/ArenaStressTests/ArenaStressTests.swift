import Foundation
import Testing

/// Runs the built `arena-stress` executable: short runs that must pass, a replay that must
/// repeat itself, a run at the limit, a corruption that must be caught, and bad arguments.
///
/// Runs are kept small (debug builds, and the suite also runs under TSan and ASan), with few
/// live bytes (`--max-live`), so the whole target takes seconds.
@Suite("arena-stress")
struct ArenaStressTests {
    /// A random seed per test run, printed in every failure so it can be replayed.
    static let seed = UInt64.random(in: 0...UInt64.max)

    @Test("a short two-thread run passes and writes a JSON summary with the expected keys")
    func multiThreadRun() throws {
        let arguments = [
            "--threads", "2", "--operations", "6000", "--seed", "\(Self.seed)", "--max-live", "8M",
        ]
        let (report, object, result) = try StressTool.summary(arguments)
        #expect(result.stderr.contains("seed \(Self.seed)"), "the seed line goes to stderr with --json")
        for key in [
            "seed", "threads", "sizes", "chunkSize", "weights", "durationSeconds", "operations", "totalOperations",
            "operationsPerSecond", "outcomes", "memory", "arena", "endCheck", "passed",
        ] {
            #expect(object[key] != nil, "JSON summary lacks '\(key)' (seed \(Self.seed))")
        }
        #expect(report.seed == Self.seed)
        #expect(report.threads == 2)
        #expect(report.totalOperations == 6000)
        #expect(report.operations.values.reduce(0, +) == 6000)
        for kind in [
            "allocate", "grow", "split-writer", "clone", "slice", "split", "read", "merge", "hand-off", "receive",
            "chain", "reclaim", "read-buffer", "drop",
        ] {
            #expect(report.operations[kind] ?? 0 > 0, "no '\(kind)' operation ran (seed \(Self.seed))")
        }
        #expect(report.outcomes["bytesVerified"] ?? 0 > 0)
        #expect(report.outcomes["viewsReceived"] ?? 0 > 0, "no view crossed threads (seed \(Self.seed))")
        #expect(report.endCheck.passed && report.passed)
        #expect(report.endCheck.finalLiveChunks == report.endCheck.baselineLiveChunks)
        #expect(report.endCheck.finalBytesHandedOut == report.endCheck.baselineBytesHandedOut)
        #expect(report.endCheck.liveBytesLeft == 0)
        let arena = try #require(object["arena"] as? [String: Any])
        #expect(arena["bytesReserved"] != nil && arena["peakBytesReserved"] != nil)
    }

    @Test("the same seed in single-thread mode gives the same operations and outcomes twice")
    func replayIsExact() throws {
        let arguments = [
            "--threads", "1", "--operations", "3000", "--seed", "\(Self.seed)", "--sizes", "mixed", "--max-live", "4M",
        ]
        let first = try StressTool.summary(arguments).report
        let second = try StressTool.summary(arguments).report
        #expect(first.operations == second.operations, "seed \(Self.seed)")
        #expect(first.outcomes == second.outcomes, "seed \(Self.seed)")
        #expect(first.arena.peakBytesReserved == second.arena.peakBytesReserved, "seed \(Self.seed)")
        #expect(first.totalOperations == 3000)
    }

    @Test("near its limit the arena refuses requests, the run counts them and loses nothing")
    func limitRun() throws {
        let limit = 256 << 10
        let arguments = [
            "--threads", "2", "--operations", "6000", "--seed", "\(Self.seed)", "--limit", "\(limit)",
            "--sizes", "mixed",
        ]
        let (report, _, _) = try StressTool.summary(arguments)
        #expect(report.outcomes["limitExceeded"] ?? 0 > 0, "no limit hit (seed \(Self.seed))")
        #expect(report.arena.limitHits >= report.outcomes["limitExceeded"] ?? 0)
        #expect(report.arena.peakBytesReserved <= limit)
        #expect(report.endCheck.passed && report.passed)
    }

    @Test("with thread-local chunks a two-thread run passes and the arena is back at its baseline")
    func threadLocalChunks() throws {
        let arguments = [
            "--threads", "2", "--operations", "4000", "--seed", "\(Self.seed)", "--thread-local-chunks",
            "--max-live", "4M",
        ]
        let (report, object, _) = try StressTool.summary(arguments)
        #expect(object["threadLocalChunks"] as? Bool == true)
        #expect(report.endCheck.passed && report.passed, "seed \(Self.seed)")
        #expect(report.endCheck.finalLiveChunks == report.endCheck.baselineLiveChunks)
        #expect(report.endCheck.finalBytesHandedOut == report.endCheck.baselineBytesHandedOut)
    }

    @Test("the table summary names the seed, and without a terminal there is no progress line")
    func tableOutput() throws {
        let result = try StressTool.run(["--threads", "1", "--operations", "500", "--seed", "\(Self.seed)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("seed \(Self.seed)"))
        #expect(result.stdout.contains("operations/s"))
        #expect(result.stdout.contains("end check: live chunks 0 -> 0, bytes handed out 0 -> 0"))
        #expect(!result.stdout.contains("\r"), "a progress line was written to a pipe")
    }

    @Test("a corrupted byte stops the run with the seed, the operation and the values, and a replay finds it again")
    func corruptionIsCaught() throws {
        let arguments = ["--threads", "1", "--operations", "2000", "--seed", "\(Self.seed)", "--inject-corruption"]
        let result = try StressTool.run(arguments)
        #expect(result.status == 1)
        #expect(result.stderr.contains("VIOLATION (seed \(Self.seed))"), "\(result.stderr)")
        #expect(result.stderr.contains("the pattern says"), "\(result.stderr)")
        // The replay line gives the operation count that reaches the violation again (a
        // corruption found only by the end check has no operation number: replay the whole run).
        let line = try #require(result.stderr.split(separator: "\n").first { $0.contains("VIOLATION") })
        let operation = line.firstMatch(of: /operation #(\d+),/).map { String($0.1) }
        let count = operation.map { Int($0)! + 1 } ?? 2000
        let replay = try StressTool.run(
            ["--threads", "1", "--operations", "\(count)", "--seed", "\(Self.seed)", "--inject-corruption"]
        )
        #expect(replay.status == 1)
        if let operation {
            #expect(replay.stderr.contains("operation #\(operation),"), "\(replay.stderr)")
        } else {
            #expect(replay.stderr.contains("end check"), "\(replay.stderr)")
        }
    }

    @Test(
        "bad arguments give one line on stderr and exit status 2",
        arguments: [
            ["--sizes", "huge"],
            ["--sizes", "-64"],
            ["--sizes", "64,-5"],
            ["--sizes", "4K-1K"],
            ["--threads", "0"],
            ["--threads", "-2"],
            ["--limit", "1000"],
            ["--limit", "-1M"],
            ["--chunk-size", "3000"],
            ["--duration", "0"],
            ["--operations", "0"],
            ["--weights", "teleport=3"],
            ["--weights", "allocate=-1"],
            ["--threads", "many"],
            ["--no-such-option"],
        ]
    )
    func badArguments(_ arguments: [String]) throws {
        let result = try StressTool.run(arguments)
        #expect(result.status == 2, "arena-stress \(arguments)")
        #expect(result.stdout.isEmpty, "arena-stress \(arguments) wrote to stdout: \(result.stdout)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "not one line: \(result.stderr)")
        #expect(result.stderr.hasPrefix("arena-stress: "), "\(result.stderr)")
    }
}
