import ArenaBytes
import Testing

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
