import ArenaBytes
import Testing

/// A replayable random number generator (SplitMix64): the same seed gives the same run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seed for randomized tests: `ARENA_TEST_SEED` when set (to replay a failure), else random.
func testSeed() -> UInt64 {
    if let text = getenvString("ARENA_TEST_SEED"), let seed = UInt64(text) { return seed }
    return UInt64.random(in: 0...UInt64.max)
}

private func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// What `body` allocated: regions handed out by `arena`, and (with jemalloc) bytes the calling
/// thread allocated through jemalloc, which also counts Swift objects and arrays.
func allocations(in arena: ArenaAllocator, _ body: () -> Void) -> (regions: Int, threadBytes: UInt64) {
    let counter = AllocationCounter(arena)
    body()
    return counter.finish()
}

/// Counts allocations between its creation and `finish()`, for code a closure cannot hold
/// (consuming a `~Copyable` local).
struct AllocationCounter {
    let arena: ArenaAllocator
    let regionsBefore: Int
    let bytesBefore: UInt64
    let readCost: UInt64

    init(_ arena: ArenaAllocator) {
        self.arena = arena
        self.regionsBefore = arena.statistics().allocations
        #if Jemalloc
        // Reading the counter allocates a little itself (mallctl's name lookup); start the count
        // one read early so that read's cost cancels out.
        let first = Jemalloc.threadAllocatedBytes
        let second = Jemalloc.threadAllocatedBytes
        self.bytesBefore = second
        self.readCost = second - first
        #else
        self.readCost = 0
        self.bytesBefore = 0
        #endif
    }

    /// Regions handed out by the arena, and bytes the thread allocated through jemalloc.
    func finish() -> (regions: Int, threadBytes: UInt64) {
        #if Jemalloc
        let bytes = Jemalloc.threadAllocatedBytes - bytesBefore - readCost
        #else
        let bytes: UInt64 = 0
        #endif
        return (arena.statistics().allocations - regionsBefore, bytes)
    }
}

#if canImport(Glibc)
import Glibc
#endif
