// Out-of-memory tests the SQLite way (`do_faultsim_test -faults oom*`): run an operation with
// the 1st allocation refused, then the 2nd, and so on, until a run in which the refusal is
// never reached. After each run that fails, the caller checks that nothing was lost.

@_spi(FaultInjection) import Arena

/// What a fault loop runs on: a fresh arena and the views that exist before the operation.
package protocol FaultLoopFixture: ~Copyable {
    /// The arena whose allocations are refused, made for this run alone.
    var arena: ArenaAllocator { get }
}

/// What one fault loop did.
package struct FaultLoop: Sendable, CustomStringConvertible {
    /// Runs with a refusal planned (the last one, which never reached it, included).
    package var runs = 0
    /// Runs that threw.
    package var failures = 0
    /// Runs that succeeded although an allocation was refused (a fallback took over: growth
    /// that moves a block when it cannot grow in place, a smaller request when the wanted one
    /// is refused).
    package var survived = 0
    /// Attempts after a failure that failed again with nothing refused (0 when the next
    /// attempt always works).
    package var failedRetries = 0
    /// Runs after which the arena held memory that no view and no current chunk accounts for
    /// (see ``leftoverMemory(_:)``), with what it held.
    package var leaks: [String] = []
    /// The backend call sites asked at least once.
    package var sites: Set<FaultInjection.Site> = []

    /// One line for the test log: runs, failures, survivals and sites.
    package var description: String {
        let names = sites.sorted().map(\.description).joined(separator: ", ")
        return "\(runs) runs, \(failures) failed, \(survived) survived; sites: \(names)"
    }
}

/// Runs `operation` with the 1st, 2nd, … backend allocation of the fixture's arena refused,
/// each time on a fresh fixture, until a run that never reaches the planned refusal (the
/// operation made fewer allocations than planned), or `maxRuns`.
///
/// - `setUp` makes the arena and the views that exist before the operation; its own
///   allocations are never refused.
/// - After a run that throws, `afterFailure` gets the error and the fixture (to check that its
///   views are intact); then the operation runs once more with nothing refused, and
///   `afterSuccess` checks it: the next attempt works.
/// - After a run that succeeds, `afterSuccess` gets its result and the fixture.
/// - When the fixture and everything made from it are gone, the arena must hold nothing but
///   its current chunk and cache (``leftoverMemory(_:)``); ``FaultLoop/leaks`` lists the runs
///   after which it did.
///
/// The plan counts only the calling thread's allocations, so an arena shared with tests that
/// run in parallel is not disturbed.
package func failEachAllocation<Fixture: FaultLoopFixture & ~Copyable, Output>(
    maxRuns: Int = 500,
    setUp: () -> Fixture,
    operation: (inout Fixture) throws(ArenaError) -> Output,
    afterFailure: (ArenaError, inout Fixture) -> Void,
    afterSuccess: (Output, inout Fixture) -> Void
) -> FaultLoop {
    var loop = FaultLoop()
    for n in 1...maxRuns {
        var fixture = setUp()
        let arena = fixture.arena
        let faults = arena.faultInjection
        faults.set(.failNth(n), onlyThisThread: true)
        let result = Result { () throws(ArenaError) in try operation(&fixture) }
        let counts = faults.counts
        faults.set(.off)
        loop.runs += 1
        loop.sites.formUnion(counts.sitesReached)
        switch result {
        case .failure(let error):
            loop.failures += 1
            afterFailure(error, &fixture)
            if let output = try? operation(&fixture) {
                afterSuccess(output, &fixture)
            } else {
                loop.failedRetries += 1
            }
        case .success(let output):
            if counts.injected > 0 { loop.survived += 1 }
            afterSuccess(output, &fixture)
        }
        _ = consume fixture
        if let leftover = leftoverMemory(arena) { loop.leaks.append("run \(n): \(leftover)") }
        if counts.injected == 0 { break }
    }
    return loop
}

/// What `arena` holds beyond its current chunk and its chunk and block caches, once no view
/// of it is left: `nil` when nothing (every chunk, block and reserved byte came back), else a
/// description of what remains.
package func leftoverMemory(_ arena: ArenaAllocator) -> String? {
    let statistics = arena.statistics()
    let clean =
        statistics.dedicatedBlocks == 0 && statistics.pinnedChunks == 0 && statistics.liveChunks <= 1
        && statistics.bytesReserved == statistics.bytesInChunksAndCaches
    if clean { return nil }
    return "\(statistics.bytesReserved) bytes reserved for \(statistics.liveChunks) live chunks "
        + "(\(statistics.pinnedChunks) pinned), \(statistics.cachedChunks) cached, "
        + "\(statistics.dedicatedBlocks) dedicated blocks, \(statistics.cachedBlocks) cached"
}
