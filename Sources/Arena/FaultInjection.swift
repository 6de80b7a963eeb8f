import Synchronization

/// Makes chosen allocations of one arena fail, so tests and tools can show that a refused
/// allocation loses nothing: the error is an ``ArenaError``, every existing view keeps its
/// bytes, and the budget is as before.
///
/// The way SQLite tests out-of-memory: run an operation with the 1st allocation failing, then
/// the 2nd, and so on, until a run in which the planned failure is never reached
/// (``Plan/failNth(_:)``); or let a whole workload run with a seeded share of its allocations
/// refused (``Plan/failAtRate(_:seed:)``).
///
/// It covers every call the arena makes to its backend (jemalloc, or the system allocator with
/// the `Jemalloc` trait off), listed in ``Site``: chunk refills, dedicated blocks (large
/// regions, compacted copies, and the copies of `Chain.tryFlattened`, `Bytes.make(copying:in:)`
/// and the C ABI's `arena_bytes_copy` when they do not fit a chunk), and the growth of a
/// block in place or by moving it. It does not cover `ByteBufferAllocator.arena`, whose
/// callers (NIO) cannot handle a failed allocation, nor the Swift runtime's own allocations.
///
/// Reached through `@_spi(FaultInjection) import Arena` only: it is for tests and the tools,
/// not part of the API. Off, the default, it costs one relaxed atomic load on the paths that
/// call the backend, and nothing where regions are carved from a chunk.
@_spi(FaultInjection)
public final class FaultInjection: Sendable {
    /// A call into the backend: each distinct place the arena asks for memory.
    public enum Site: Int, CaseIterable, Sendable, Comparable, CustomStringConvertible {
        /// A new chunk when the cache has none (`mallocx`).
        case chunkRefill
        /// A block of its own for a large region or a copy (`mallocx`).
        case dedicatedBlock
        /// A unique block grown where it is (`xallocx`); refusing it makes growth move the block.
        case growInPlace
        /// A unique block moved to a larger one (`rallocx`).
        case moveBlock

        /// The site's name, as the tools print it.
        public var description: String {
            switch self {
            case .chunkRefill: "chunk refill"
            case .dedicatedBlock: "dedicated block"
            case .growInPlace: "grow in place"
            case .moveBlock: "move block"
            }
        }

        /// In declaration order.
        public static func < (lhs: Site, rhs: Site) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Which allocations fail.
    public enum Plan: Sendable, Equatable {
        /// None.
        case off
        /// The `n`-th allocation from now (1 is the next one); the others succeed.
        case failNth(Int)
        /// Each allocation with probability `rate` (0 to 1), drawn from a generator seeded
        /// with `seed`, so a single-threaded run fails the same allocations every time.
        case failAtRate(Double, seed: UInt64)
    }

    /// What happened since the plan was set.
    public struct Counts: Sendable, Equatable {
        /// The allocations asked of the backend.
        public var attempts = 0
        /// The allocations refused.
        public var injected = 0
        /// The sites asked at least once.
        public var sitesReached: Set<Site> = []
    }

    private struct State {
        var plan = Plan.off
        /// The thread whose allocations the plan counts, or `nil` for every thread's.
        var thread: UInt?
        var counts = Counts()
        var random = SplitMix64(seed: 0)
    }

    /// Whether a plan other than `.off` is set: the only thing the allocation paths read when
    /// none is.
    private let armed = Atomic<Bool>(false)
    /// `Locked`, not `Mutex`: ThreadSanitizer sees the ordering of pthread mutexes only.
    private let state = Locked(State())

    init() {}

    /// Sets the plan and starts the counts again.
    ///
    /// - Parameter onlyThisThread: whether the plan counts and refuses only the allocations of
    ///   the calling thread, so that other threads using the same arena (the shared one, say,
    ///   in tests that run in parallel) are left alone.
    public func set(_ plan: Plan, onlyThisThread: Bool = false) {
        let thread = onlyThisThread ? ThreadChunks.currentThread : nil
        state.withLock { state in
            state.plan = plan
            state.thread = thread
            state.counts = Counts()
            if case .failAtRate(_, let seed) = plan { state.random = SplitMix64(seed: seed) }
        }
        armed.store(plan != .off, ordering: .relaxed)
    }

    /// The plan in force.
    public var plan: Plan { state.withLock { $0.plan } }

    /// What happened since the plan was set.
    public var counts: Counts { state.withLock { $0.counts } }

    /// Whether the allocation about to be asked of the backend at `site` must be refused;
    /// called once per backend allocation.
    @inline(__always)
    func refuses(_ site: Site) -> Bool {
        guard armed.load(ordering: .relaxed) else { return false }
        return refusesWhenArmed(site)
    }

    @inline(never)
    private func refusesWhenArmed(_ site: Site) -> Bool {
        let thread = ThreadChunks.currentThread
        return state.withLock { state in
            if let planned = state.thread, planned != thread { return false }
            state.counts.attempts += 1
            state.counts.sitesReached.insert(site)
            let refuse: Bool
            switch state.plan {
            case .off:
                refuse = false
            case .failNth(let n):
                refuse = state.counts.attempts == n
            case .failAtRate(let rate, _):
                refuse = Double(state.random.next() >> 11) / Double(1 << 53) < rate
            }
            if refuse { state.counts.injected += 1 }
            return refuse
        }
    }
}

extension ArenaAllocator {
    /// This arena's fault injection: off unless a test or a tool sets a plan.
    @_spi(FaultInjection)
    public var faultInjection: FaultInjection { core.faults }
}
