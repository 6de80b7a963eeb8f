import ArenaBytes
import ArenaStressKit
import ArenaTestSupport
import ArenaToolSupport
import Foundation
import Testing

/// The stress workloads, run in-process through `ArenaStressKit`: short seeded runs that must
/// pass with the arena back where it started, a replay that must repeat itself, a run at the
/// limit, and a corruption that must be caught.
///
/// Runs are kept small (the suite also runs under TSan and ASan), with few live bytes
/// (`maxLiveBytes`), so the whole target takes seconds. The seed is `ARENA_TEST_SEED` or random,
/// and every failure names it.
@Suite("arena-stress workloads", .timeLimit(.minutes(5)))
struct StressWorkloadTests {
    let seed = TestSeed.current
    /// Operations of a two-thread run (fewer under the sanitizers: `ARENA_TEST_SCALE`).
    let operations = TestScale.count(6000, minimum: 1500)

    /// Checks what every passing run must show: no violation, and the arena back at its baseline.
    func expectBackAtStart(_ summary: Summary, sourceLocation: SourceLocation = #_sourceLocation) {
        let hint = Comment(rawValue: TestSeed.replayHint)
        #expect(summary.passed && summary.endCheck.passed, hint, sourceLocation: sourceLocation)
        #expect(
            summary.endCheck.finalLiveChunks == summary.endCheck.baselineLiveChunks,
            hint,
            sourceLocation: sourceLocation
        )
        #expect(
            summary.endCheck.finalBytesHandedOut == summary.endCheck.baselineBytesHandedOut,
            hint,
            sourceLocation: sourceLocation
        )
        #expect(summary.endCheck.finalDedicatedBlocks == 0, hint, sourceLocation: sourceLocation)
        #expect(summary.endCheck.liveBytesLeft == 0, hint, sourceLocation: sourceLocation)
    }

    @Test("a short two-thread run passes, runs every kind of operation and settles back")
    func multiThreadRun() throws {
        let summary = try passingRun(
            StressConfiguration(seed: seed, threads: 2, operations: operations, maxLiveBytes: 8 << 20)
        )
        expectBackAtStart(summary)
        #expect(summary.seed == seed)
        #expect(summary.threads == 2)
        #expect(summary.totalOperations == operations)
        #expect(summary.operations.values.reduce(0, +) == operations)
        for kind in OperationKind.allCases {
            #expect(summary.operations[kind.name] ?? 0 > 0, "no '\(kind.name)' operation ran (\(TestSeed.replayHint))")
        }
        #expect(summary.outcomes.bytesVerified > 0)
        #expect(summary.outcomes.viewsReceived > 0, "no view crossed threads (\(TestSeed.replayHint))")
    }

    /// Exact only in a jemalloc arena of its own: which views are adjacent (and so merge)
    /// depends on the addresses the backend hands out, and the system allocator's (the
    /// sanitizer builds, jemalloc off) depend on everything else the process did.
    @Test(
        "the same seed in single-thread mode gives the same operations and outcomes twice",
        .enabled(if: (try? ArenaAllocator().statistics().jemalloc) != nil, "replays need jemalloc")
    )
    func replayIsExact() throws {
        let configuration = StressConfiguration(seed: seed, threads: 1, operations: 3000, maxLiveBytes: 4 << 20)
        let first = try passingRun(configuration)
        let second = try passingRun(configuration)
        #expect(first.operations == second.operations, "\(TestSeed.replayHint)")
        #expect(first.outcomes == second.outcomes, "\(TestSeed.replayHint)")
        #expect(first.arena.peakBytesReserved == second.arena.peakBytesReserved, "\(TestSeed.replayHint)")
        #expect(first.totalOperations == 3000)
        expectBackAtStart(first)
    }

    @Test("--compact: workers compact the views they keep, every byte checked, and the run settles back")
    func compactRun() throws {
        let summary = try passingRun(
            StressConfiguration(seed: seed, threads: 2, operations: operations, maxLiveBytes: 8 << 20, compact: true)
        )
        expectBackAtStart(summary)
        #expect(summary.compact)
        #expect(summary.outcomes.compacted > 0, "nothing was compacted (\(TestSeed.replayHint))")
        #expect(summary.table().contains("at stop: pinned chunks"))
        #expect(summary.table().contains("at stop: pinned by 1 reference"))
    }

    @Test("--sample-interval: a two-thread run reports the workload's own sites and the end check still settles back")
    func sampledRun() throws {
        let summary = try passingRun(
            StressConfiguration(
                seed: seed,
                threads: 2,
                operations: operations,
                maxLiveBytes: 8 << 20,
                sampleInterval: 4096
            )
        )
        expectBackAtStart(summary)
        #expect(summary.endCheck.finalSampledRegions == 0, "a sampled region outlived its views")
        let profile = try #require(summary.profile, "no profile with --sample-interval")
        #expect(profile.sampleInterval == 4096 && profile.sampleSeed == seed && profile.moment == "at stop")
        #expect(profile.sampledRegions > 0, "nothing sampled (\(TestSeed.replayHint))")
        #expect(!profile.sites.isEmpty && profile.sites.count <= 10)
        // Every allocation is the workload's: whichever regions the two threads happen to sample,
        // each site is a function of ArenaStressKit.
        for site in profile.sites {
            #expect(site.function.contains("ArenaStressKit."), "site \(site.function) (\(TestSeed.replayHint))")
        }
        let table = summary.table()
        #expect(table.contains(", sampling every 4.0 KiB"))
        #expect(
            table.contains("allocation sites at stop (one region sampled per 4.0 KiB on average, sample seed \(seed)")
        )
        #expect(table.contains(shortFunctionName(profile.sites[0].function)))
        #expect(table.contains("sampled regions left 0: ok"))
        let decoded = try JSONDecoder().decode(Summary.self, from: Data(summary.json().utf8))
        #expect(decoded.profile == profile)
        #expect(decoded.endCheck.finalSampledRegions == 0)
    }

    /// At a 1-byte interval nearly every allocation is sampled, and a sampled region is never
    /// reclaimed: the single-thread check that a unique view is reclaimed must allow for it, and
    /// the end check's probe, which must reclaim the arena's current chunk, is never sampled.
    @Test("sampling nearly every allocation, a single-thread run still reclaims, checks and settles back")
    func everyAllocationSampled() throws {
        let summary = try passingRun(
            StressConfiguration(seed: seed, threads: 1, operations: 2000, maxLiveBytes: 4 << 20, sampleInterval: 1)
        )
        expectBackAtStart(summary)
        let profile = try #require(summary.profile)
        #expect(profile.sampledRegions > 0)
        #expect(summary.outcomes.reclaimRefused > 0)
    }

    @Test("without --sample-interval nothing is sampled and the summary has no profile")
    func unsampledRun() throws {
        guard StressConfiguration.environmentSampleInterval == nil else { return }
        let summary = try passingRun(StressConfiguration(seed: seed, threads: 1, operations: 500))
        #expect(summary.profile == nil)
        #expect(!summary.table().contains("allocation sites"))
        #expect(!summary.table().contains("sampled regions left"))
    }

    @Test("a violation's replay line names the sample interval, which changes the run")
    func replayNamesTheInterval() throws {
        let configuration = StressConfiguration(
            seed: seed,
            threads: 1,
            operations: 2000,
            injectCorruption: true,
            sampleInterval: 8192
        )
        let runner = Runner(configuration: configuration)
        let failure = try #require(runner.failure(for: runner.run()), "the corruption was not caught")
        #expect(failure.description.contains(" --sample-interval 8192"), "\(failure)")
    }

    @Test("near its limit the arena refuses requests, the run counts them and loses nothing")
    func limitRun() throws {
        let limit = 256 << 10
        let summary = try passingRun(StressConfiguration(seed: seed, threads: 2, operations: operations, limit: limit))
        #expect(summary.outcomes.limitExceeded > 0, "no limit hit (\(TestSeed.replayHint))")
        #expect(summary.arena.limitHits >= summary.outcomes.limitExceeded)
        #expect(summary.arena.peakBytesReserved <= limit)
        expectBackAtStart(summary)
    }

    /// At 1% a short run may see no refusal at all (a run makes about 175 backend allocations:
    /// 0.99^175 is 17%), so only the end check is asserted there; at 25% and 100% refusals are
    /// certain (0.75^45 is 2e-6 even at the sanitizers' quarter scale).
    @Test(
        "with 1%, 25% or all of the backend allocations refused, a two-thread run counts each and loses nothing",
        arguments: [0.01, 0.25, 1.0]
    )
    func failRateRun(rate: Double) throws {
        let summary = try passingRun(
            StressConfiguration(seed: seed, threads: 2, operations: operations, maxLiveBytes: 8 << 20, failRate: rate)
        )
        let faults = try #require(summary.injectedFaults)
        #expect(faults.rate == rate)
        if rate >= 0.25 {
            #expect(faults.refused > 0, "nothing was refused (\(TestSeed.replayHint))")
            #expect(summary.outcomes.outOfMemory > 0, "no refusal reached the workload (\(TestSeed.replayHint))")
        }
        #expect(summary.outcomes.outOfMemory <= faults.refused, "more errors than refusals")
        if rate == 1.0 { #expect(faults.refused == faults.attempts) }
        #expect(summary.table().contains("out of memory (caught)"))
        expectBackAtStart(summary)
    }

    @Test("with thread-local chunks a two-thread run passes and the arena is back at its baseline")
    func threadLocalChunks() throws {
        let summary = try passingRun(
            StressConfiguration(
                seed: seed,
                threads: 2,
                operations: 4000,
                threadLocalChunks: true,
                maxLiveBytes: 4 << 20
            )
        )
        #expect(summary.threadLocalChunks)
        expectBackAtStart(summary)
    }

    @Test("large dedicated blocks only: a run passes and settles back")
    func largeSizes() throws {
        let summary = try passingRun(
            StressConfiguration(
                seed: seed,
                threads: 2,
                operations: 1500,
                sizes: .large,
                sizesText: "large",
                maxLiveBytes: 16 << 20
            )
        )
        expectBackAtStart(summary)
    }

    @Test("a corrupted byte stops the run with the operation and the values, and a replay finds it again")
    func corruptionIsCaught() throws {
        let configuration = StressConfiguration(seed: seed, threads: 1, operations: 2000, injectCorruption: true)
        let runner = Runner(configuration: configuration)
        let outcome = runner.run()
        guard case .violation(let violation) = outcome else {
            Issue.record("the corruption was not caught (\(TestSeed.replayHint))")
            return
        }
        #expect(violation.detail.contains("the pattern says"), "\(violation)")
        let failure = try #require(runner.failure(for: outcome))
        #expect(failure.exitStatus == 1)
        #expect(failure.description.hasPrefix("VIOLATION (seed \(seed))"), "\(failure)")
        // The replay line gives the operation count that reaches the violation again (a
        // corruption found only by the end check has no operation number: replay the whole run).
        var replay = configuration
        replay.operations = violation.operationIndex.map { $0 + 1 } ?? 2000
        guard case .violation(let again) = Runner(configuration: replay).run() else {
            Issue.record("the replay did not find the corruption (\(TestSeed.replayHint))")
            return
        }
        #expect(again.operationIndex == violation.operationIndex, "\(again) vs \(violation)")
        #expect(again.operation == violation.operation, "\(again) vs \(violation)")
    }
}

/// The command line of the built `arena-stress`: a short run succeeds, bad arguments give one
/// line on standard error and exit status 2.
@Suite("arena-stress command line", .timeLimit(.minutes(5)))
struct StressCommandLineTests {
    @Test("a short run prints the table summary and exits 0, without a progress line on a pipe")
    func shortRun() throws {
        let seed = TestSeed.current
        let result = try StressTool.run(["--threads", "2", "--operations", "500", "--seed", "\(seed)"])
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.contains("seed \(seed)"))
        #expect(result.stdoutText.contains("operations/s"))
        #expect(result.stdoutText.contains("end check: live chunks 0 -> 0, bytes handed out 0 -> 0"))
        #expect(result.stdoutText.hasSuffix("passed\n"))
        #expect(!result.stdoutText.contains("\r"), "a progress line was written to a pipe")
    }

    @Test("--version names the package and jemalloc; --help has examples")
    func versionAndHelp() throws {
        let version = try StressTool.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdoutText.hasPrefix("arena-stress 0.1.0-dev (jemalloc 5."), "\(version.stdoutText)")
        let help = try StressTool.run(["--help"])
        #expect(help.stdoutText.contains("Examples:"))
    }

    @Test("--json writes the summary on stdout and the seed line on stderr")
    func jsonRun() throws {
        let result = try StressTool.run(["--threads", "1", "--operations", "300", "--seed", "7", "--json"])
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.hasPrefix("{") && result.stdoutText.contains("\"endCheck\""))
        #expect(result.stderrText.contains("seed 7"))
    }

    @Test("--sample-interval prints the top allocation sites in the table and in the JSON")
    func sampledRunOutput() throws {
        let arguments = ["--threads", "2", "--operations", "1500", "--seed", "3", "--sample-interval", "4K"]
        let table = try StressTool.run(arguments)
        #expect(table.status == 0, "\(table.stderrText)")
        #expect(table.stdoutText.contains(", sampling every 4.0 KiB"))
        #expect(table.stdoutText.contains("allocation sites at stop (one region sampled per 4.0 KiB on average"))
        let sites = table.stdoutText.split(separator: "\n").filter { $0.hasPrefix("ArenaStressKit.") }
        #expect(!sites.isEmpty, "no site rows: \(table.stdoutText)")
        #expect(table.stdoutText.contains("sampled regions left 0: ok"))
        #expect(table.stdoutText.hasSuffix("passed\n"))

        let json = try StressTool.run(arguments + ["--json"])
        #expect(json.status == 0, "\(json.stderrText)")
        let summary = try JSONDecoder().decode(Summary.self, from: Data(json.stdout))
        let profile = try #require(summary.profile)
        #expect(profile.sampleInterval == 4096 && profile.sampleSeed == 3)
        #expect(!profile.sites.isEmpty && profile.sites.allSatisfy { $0.function.contains("ArenaStressKit.") })
        #expect(profile.sites.allSatisfy { $0.image == "arena-stress" }, "\(profile.sites.map(\.image))")
        #expect(summary.endCheck.passed && summary.endCheck.finalSampledRegions == 0)
    }

    /// The system's own refusal, not an injected one: under `ulimit -v` large blocks run out,
    /// and each refusal is counted and survived as `--fail-rate`'s are. One thread, so the same
    /// requests come every run (7 refused in release and debug builds here; the process needs
    /// under 120 MB of address space to start).
    @Test("a real out-of-memory (ulimit -v) is counted, not a violation")
    func realOutOfMemory() throws {
        let path = try #require(StressTool.path)
        let command =
            "ulimit -v 160000 && exec \"$0\" --threads 1 --operations 4000 --seed 1 --sizes large --max-live 2G --no-progress"
        let result = try runProcess("/bin/sh", ["-c", command, path], environment: ["MALLOC_CONF": nil], timeout: 120)
        #expect(result.status == 0, "\(result.stderrText)")
        let caught = result.stdoutText.split(separator: "\n").first { $0.hasPrefix("out of memory (caught)") }
        let count = caught.flatMap { Int($0.split(separator: " ").last ?? "") }
        #expect((count ?? 0) > 0, "no refusal under ulimit -v: \(caught ?? "no line")")
        #expect(result.stdoutText.contains("passed"))
    }

    @Test("a violation is one line on stderr and exit status 1")
    func violation() throws {
        let result = try StressTool.run([
            "--threads", "1", "--operations", "2000", "--seed", "1", "--inject-corruption",
        ])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1, "\(result.stderrText)")
        #expect(result.stderrText.hasPrefix("arena-stress: VIOLATION (seed 1)"), "\(result.stderrText)")
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
            ["--chunk-size", "2G"],
            ["--duration", "0"],
            ["--operations", "0"],
            ["--weights", "teleport=3"],
            ["--weights", "allocate=-1"],
            ["--threads", "many"],
            ["--fail-rate", "2"],
            ["--fail-rate", "-1%"],
            ["--fail-rate", "often"],
            ["--sample-interval", "0"],
            ["--sample-interval", "-4K"],
            ["--sample-interval", "often"],
            ["--sample-interval", "99999999999G"],
            ["--no-such-option"],
        ]
    )
    func badArguments(_ arguments: [String]) throws {
        let result = try StressTool.run(arguments)
        #expect(result.status == 2, "arena-stress \(arguments)")
        #expect(result.stdout.isEmpty, "arena-stress \(arguments) wrote to stdout: \(result.stdoutText)")
        #expect(result.stderrLines.count == 1, "not one line: \(result.stderrText)")
        #expect(result.stderrText.hasPrefix("arena-stress: "), "\(result.stderrText)")
    }
}
