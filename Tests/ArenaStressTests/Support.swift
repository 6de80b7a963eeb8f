import ArenaStressKit
import ArenaTestSupport
import Testing

/// The `arena-stress` executable the test target depends on, run as a child process (only to
/// test the command line: the workloads run in-process through `ArenaStressKit`).
enum StressTool {
    /// Where the executable is: `ARENA_STRESS_EXECUTABLE` if set, else in the products directory.
    static let path = BuiltExecutable.path("arena-stress", override: "ARENA_STRESS_EXECUTABLE")

    /// Runs `arena-stress arguments…` with no inherited jemalloc settings, and waits for it.
    static func run(_ arguments: [String]) throws -> ProcessResult {
        let path = try #require(path, "the arena-stress executable is not beside the test binary")
        return try runProcess(path, arguments, environment: ["MALLOC_CONF": nil, "LD_PRELOAD": nil], timeout: 120)
    }
}

/// Runs a workload in-process and expects it to pass; the failure names the seed.
func passingRun(_ configuration: StressConfiguration) throws -> Summary {
    let runner = Runner(configuration: configuration)
    let outcome = runner.run()
    let failure = runner.failure(for: outcome).map(\.description) ?? ""
    return try #require(outcome.summary, "\(failure) [\(TestSeed.replayHint)]")
}
