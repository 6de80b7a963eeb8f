// One run: make the arena, settle it for a baseline, start the workers, watch them (progress
// line, memory samples), collect what they hand back, check and drop every view, check that
// the arena is back where it started, and report.

@_spi(FaultInjection) import Arena
import ArenaBytes
import ArenaToolSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a run ended.
package enum StressOutcome: Sendable {
    /// No violation: the summary (also printed by `arena-stress`).
    case passed(Summary)
    /// The first broken promise found.
    case violation(Violation)
    /// The arena could not be made.
    case noArena(ArenaError)

    /// The summary of a run that passed.
    package var summary: Summary? {
        if case .passed(let summary) = self { summary } else { nil }
    }
}

/// A failed run as `arena-stress` reports it: one line on standard error and an exit status.
package struct StressFailure: ToolFailure {
    /// The line, without the tool's name.
    package var description: String
    /// 1 for a violation or an arena that could not be made, 2 for an invalid configuration.
    package var exitStatus: Int32
}

/// Runs the stress test for a configuration.
package struct Runner {
    /// The run's settings.
    package let configuration: StressConfiguration

    /// A runner for `configuration`.
    package init(configuration: StressConfiguration) {
        self.configuration = configuration
    }

    /// Runs the workload and the end check.
    ///
    /// - Parameter announce: gets the seed line before the workers start (so a run that
    ///   crashes can still be replayed).
    package func run(announce: (String) -> Void = { _ in }) -> StressOutcome {
        let arena: ArenaAllocator
        do {
            arena = try ArenaAllocator(configuration.arena)
        } catch {
            return .noArena(error)
        }
        let baseline: ArenaStatistics
        do {
            baseline = try Self.settle(arena)
        } catch {
            return .violation(error)
        }
        announce(announceLine)
        if let rate = configuration.failRate {
            arena.faultInjection.set(.failAtRate(rate, seed: configuration.seed))
        }

        let shared = SharedState(threads: configuration.threads)
        let start = ContinuousClock.now
        let deadline = configuration.duration.map { start + .milliseconds(Int64(($0 * 1000).rounded())) }
        let configuration = self.configuration
        let threads = (0..<configuration.threads).map { index in
            let quota = configuration.operations.map { total in
                total / configuration.threads + (index < total % configuration.threads ? 1 : 0)
            }
            return WorkerThread {
                Worker(
                    index: index,
                    configuration: configuration,
                    arena: arena,
                    shared: shared,
                    quota: quota,
                    deadline: deadline
                ).run()
            }
        }
        let memory = watch(shared, arena: arena, start: start)
        for thread in threads { thread.join() }
        let seconds = Self.seconds(ContinuousClock.now - start)
        let faults = arena.faultInjection.counts
        arena.faultInjection.set(.off)
        let atStop = arena.statistics()
        // The profile with every view still alive; with sampling off it is empty and costs nothing.
        let profile = arena.memoryProfile()
        if let violation = shared.violation { return .violation(violation) }

        // Every worker handed back its views: check and drop them, and those still queued.
        var counts = Array(repeating: 0, count: OperationKind.allCases.count)
        var outcomes = Outcomes()
        do {
            try checkAndDropLeftovers(shared, counts: &counts, outcomes: &outcomes)
        } catch {
            return .violation(error)
        }
        let endCheck: EndCheck
        do {
            endCheck = try check(arena, baseline: baseline, atStop: atStop, shared: shared, outcomes: outcomes)
        } catch {
            return .violation(error)
        }
        let total = counts.reduce(0, +)
        let peakReserved = atStop.peakBytesReserved
        let summary = Summary(
            seed: configuration.seed,
            threads: configuration.threads,
            sizes: configuration.sizesText,
            chunkSize: configuration.chunkSize,
            threadLocalChunks: configuration.threadLocalChunks,
            compact: configuration.compact,
            injectedFaults: configuration.failRate.map {
                InjectedFaults(rate: $0, attempts: faults.attempts, refused: faults.injected)
            },
            limit: configuration.limit,
            weights: configuration.weights.description,
            requestedDurationSeconds: configuration.duration,
            requestedOperations: configuration.operations,
            durationSeconds: seconds,
            operations: Dictionary(uniqueKeysWithValues: OperationKind.allCases.map { ($0.name, counts[$0.rawValue]) }),
            totalOperations: total,
            operationsPerSecond: seconds > 0 ? Double(total) / seconds : 0,
            outcomes: outcomes,
            memory: MemoryFigures(
                peakReservedBytes: peakReserved,
                peakLiveBytes: memory.peakLive,
                peakReservedToLiveRatio: memory.peakLive > 0 ? Double(peakReserved) / Double(memory.peakLive) : nil,
                samples: memory.samples
            ),
            arena: atStop,
            profile: profile.sampleInterval == nil
                ? nil
                : ProfileSummary(
                    profile,
                    moment: "at stop",
                    sampleSeed: configuration.seed,
                    top: configuration.topSites
                ),
            sampleIntervalFromEnvironment: configuration.sampleIntervalFromEnvironment,
            endCheck: endCheck,
            jemallocVersion: Self.jemallocVersion,
            passed: true
        )
        return .passed(summary)
    }

    /// The seed line, first thing: a run that crashes can still be replayed.
    package var announceLine: String {
        var replay = "--seed \(configuration.seed)"
        if configuration.threads > 1 { replay += " --threads 1" }
        return "arena-stress: seed \(configuration.seed), \(configuration.threads) threads "
            + "(replay a single-thread run with \(replay) and the same options)"
    }

    /// How `arena-stress` reports an outcome that is not a pass: the violation with the seed
    /// and how to replay it (status 1), or why the arena could not be made.
    package func failure(for outcome: StressOutcome) -> StressFailure? {
        switch outcome {
        case .passed:
            return nil
        case .noArena(let error):
            if case .invalidConfiguration = error { return StressFailure(description: "\(error)", exitStatus: 2) }
            return StressFailure(description: "cannot create the arena: \(error)", exitStatus: 1)
        case .violation(let violation):
            var replay = "--seed \(configuration.seed) --threads 1"
            if let index = violation.operationIndex, configuration.threads == 1 {
                replay += " --operations \(index + 1)"
            }
            replay += configuration.optionsForReplay
            return StressFailure(
                description: "VIOLATION (seed \(configuration.seed)): \(violation). Replay: arena-stress \(replay)"
                    + (configuration.threads > 1 ? " (exact only for single-thread runs)" : ""),
                exitStatus: 1
            )
        }
    }

    // MARK: - Watching the workers

    /// Samples live and reserved memory every 10 ms and rewrites the progress line every
    /// 250 ms until every worker has stopped.
    private func watch(
        _ shared: SharedState,
        arena: ArenaAllocator,
        start: ContinuousClock.Instant
    ) -> (peakLive: Int, samples: Int) {
        var progress = ProgressLine(enabled: configuration.progress)
        var peakLive = 0
        var samples = 0
        var tick = 0
        while shared.finishedWorkers < configuration.threads {
            usleep(10_000)
            let live = shared.counters.reduce(0) { $0 + $1.live.bytes.load(ordering: .relaxed) }
            peakLive = max(peakLive, live)
            samples += 1
            tick += 1
            if progress.enabled && tick % 25 == 0 {
                let seconds = Self.seconds(ContinuousClock.now - start)
                let operations = shared.counters.reduce(0) { $0 + $1.operations.load(ordering: .relaxed) }
                let statistics = arena.statistics()
                progress.update(
                    seconds: seconds,
                    operations: operations,
                    rate: seconds > 0 ? Double(operations) / seconds : 0,
                    liveBytes: live,
                    reservedBytes: statistics.bytesReserved,
                    limitHits: statistics.limitHits
                )
            }
        }
        progress.clear()
        return (peakLive, samples)
    }

    // MARK: - The end

    /// Adds up the workers' counts, then checks every byte of every view they handed back and
    /// of every view still in a queue, and drops them all.
    private func checkAndDropLeftovers(
        _ shared: SharedState,
        counts: inout [Int],
        outcomes: inout Outcomes
    ) throws(Violation) {
        for result in shared.takeResults() {
            for kind in OperationKind.allCases { counts[kind.rawValue] += result.counts[kind.rawValue] }
            outcomes.add(result.outcomes)
            for view in result.views { try Self.verify(view, what: "view held at the end") }
        }
        for queue in shared.queues {
            for view in queue.drain() { try Self.verify(view, what: "view still queued at the end") }
        }
    }

    private static func verify(_ tracked: Tracked, what: String) throws(Violation) {
        guard tracked.bytes.count == tracked.provenance.count else {
            throw Violation(
                "end check",
                "\(what) has \(tracked.bytes.count) bytes, expected \(tracked.provenance.count)"
            )
        }
        if let mismatch = tracked.bytes.withUnsafeBytes({ tracked.provenance.firstMismatch(in: $0) }) {
            throw Violation(
                "end check",
                "\(what) at \(hex(tracked.address)): byte \(mismatch) is \(hex(UInt(tracked.bytes[mismatch]))), "
                    + "the pattern says \(hex(UInt(tracked.provenance.expectedByte(at: mismatch))))"
            )
        }
    }

    /// With every view gone, checks that the arena is back at its baseline, that the limit was
    /// never passed, and that the workload's own accounting is back at zero.
    private func check(
        _ arena: ArenaAllocator,
        baseline: ArenaStatistics,
        atStop: ArenaStatistics,
        shared: SharedState,
        outcomes: Outcomes
    ) throws(Violation) -> EndCheck {
        let final = try Self.settle(arena)
        let liveLeft = shared.counters.reduce(0) { $0 + $1.live.bytes.load(ordering: .relaxed) }
        let sampledLeft = arena.memoryProfile().sampledRegions
        let endCheck = EndCheck(
            baselineLiveChunks: baseline.liveChunks,
            finalLiveChunks: final.liveChunks,
            baselineBytesHandedOut: baseline.bytesHandedOut,
            finalBytesHandedOut: final.bytesHandedOut,
            finalDedicatedBlocks: final.dedicatedBlocks,
            finalBytesReserved: final.bytesReserved,
            finalCachedChunks: final.cachedChunks,
            finalCachedBlockBytes: final.cachedBlockBytes,
            liveBytesLeft: liveLeft,
            finalSampledRegions: sampledLeft,
            passed: true
        )
        let back =
            final.liveChunks == baseline.liveChunks
            && final.bytesHandedOut == baseline.bytesHandedOut
            && final.dedicatedBlocks == 0
            && final.bytesReserved == final.bytesInChunksAndCaches
        guard back else {
            throw Violation(
                "end check",
                "with every view dropped the arena has \(final.liveChunks) live chunks (baseline "
                    + "\(baseline.liveChunks)), "
                    + "\(final.bytesHandedOut) bytes handed out (baseline \(baseline.bytesHandedOut)), "
                    + "\(final.dedicatedBlocks) dedicated blocks, \(final.bytesReserved) bytes reserved with "
                    + "\(final.cachedChunks) cached chunks and \(final.cachedBlockBytes) bytes in cached blocks"
            )
        }
        // A sampled region's wrapper keeps its chunk or block alive; with every view gone the
        // sampler must list none, or a wrapper (and the memory behind it) leaked.
        guard sampledLeft == 0 else {
            throw Violation(
                "end check",
                "with every view dropped the memory profile still lists \(sampledLeft) sampled regions"
            )
        }
        guard liveLeft == 0 else {
            throw Violation("end check", "the workload still counts \(liveLeft) live bytes with every view dropped")
        }
        if let limit = configuration.limit {
            guard atStop.peakBytesReserved <= limit else {
                throw Violation(
                    "end check",
                    "peak reserved \(atStop.peakBytesReserved) bytes passed the limit \(limit)"
                )
            }
        }
        guard atStop.limitHits >= outcomes.limitExceeded else {
            throw Violation(
                "end check",
                "the workload caught \(outcomes.limitExceeded) limit errors but the arena counts \(atStop.limitHits)"
            )
        }
        return endCheck
    }

    /// Makes the arena let go of its current chunk, then reads its figures.
    ///
    /// The arena keeps a reference to the chunk it carves from, so with every view gone that
    /// chunk still counts as live and its carved bytes as handed out. Comparing raw figures
    /// would depend on how full that chunk happens to be. Instead, before the workload (the
    /// baseline) and after it, the same probe runs: carve one byte, freeze it and reclaim it
    /// with `BytesMut(reclaiming:)`. Reclaiming succeeds only when no other view of the current
    /// chunk lives, and it takes the chunk from the arena; dropping the probe then retires the
    /// chunk to the cache. Afterwards live chunks and bytes handed out count only what views
    /// still hold: zero on a fresh arena, and zero again at the end unless something leaked.
    /// A refused reclaim at the end is itself a leak: some reference to the chunk survived.
    ///
    /// The probe is never sampled (`allocateUnsampled`): a sampled region has a storage of its
    /// own and is never reclaimed, so a sampled probe could not take the chunk. Nor does it count
    /// against the sampling countdown, so the workload samples the same allocations either way.
    ///
    /// With `--thread-local-chunks` each thread carves from a chunk of its own. The workers'
    /// threads have exited by the end (a thread lets its chunks go when it exits), and the
    /// probe, run on the main thread, settles the main thread's chunk the same way.
    ///
    static func settle(_ arena: ArenaAllocator) throws(Violation) -> ArenaStatistics {
        let probe: Bytes
        do {
            probe = Bytes(try arena.allocateUnsampled(byteCount: 1))
        } catch {
            throw Violation("end check", "the probe allocation failed with every view dropped: \(error)")
        }
        let address = UInt(bitPattern: probe.region.baseAddress)
        guard let reclaimed = BytesMut(reclaiming: consume probe) else {
            throw Violation(
                "end check",
                "the arena's current chunk (probe at \(hex(address))) is still referenced with every view dropped"
            )
        }
        _ = consume reclaimed
        return arena.statistics()
    }

    /// Seconds in a duration.
    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The jemalloc version, or `nil` when the `Jemalloc` trait is off.
    package static var jemallocVersion: String? {
        #if Jemalloc
        Jemalloc.version
        #else
        nil
        #endif
    }
}
