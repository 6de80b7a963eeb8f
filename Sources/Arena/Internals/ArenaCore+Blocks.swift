// Dedicated blocks, and the cache of free ones kept for reuse by a request of the same size.
//
// Chunks and blocks bypass jemalloc's thread cache (`MALLOCX_TCACHE_NONE`), so that the arena's
// memory is exactly what it accounts for and can be destroyed with the arena. For a carve that
// costs nothing (one jemalloc call per 1,024 small regions), but every dedicated block went
// through jemalloc's locked extent path: a 32 KiB alloc+drop took about 300 ns, where a cached
// `malloc` takes 20 to 40. Servers allocate buffers of one or two fixed sizes (a 16 or 32 KiB
// read buffer, say), so a few free blocks matched by exact size and alignment serve nearly every
// request, and the cache stays small and visible: at most `blockCacheLimit` blocks of at most
// a chunk each, counted as reserved (and in `ArenaStatistics.cachedBlocks`), given back under
// the limit, by `purge()` and when the arena closes.
//
// The block counters live under the arena's lock with the cache, so a block's birth or death
// is one trip through the lock and no atomic read-modify-write.

/// A free dedicated block: its memory, still reserved from the budget.
struct FreeBlock: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    let alignment: Int
}

extension ArenaCore {
    /// The most free blocks the cache keeps; the oldest goes when another comes.
    var blockCacheLimit: Int { 4 }

    /// Whether a block of `capacity` bytes is kept when it dies: one too large to carve (a
    /// smaller block is a compacted copy, rarely of a size asked again) and at most a chunk.
    @inline(__always)
    func isCacheable(blockOf capacity: Int) -> Bool {
        capacity > largestCarve && capacity <= chunkSize
    }

    /// A dedicated block of exactly `byteCount` bytes: a cached free one of that size and
    /// alignment (its bytes are still reserved), else a new one from jemalloc.
    func allocateBlock(byteCount: Int, alignment: Int) throws(ArenaError) -> Region {
        let alignment = max(alignment, 16)
        let base: UnsafeMutableRawPointer
        if let cached = takeCachedBlock(capacity: byteCount, alignment: alignment) {
            base = cached
        } else {
            try reserveEvictingCache(byteCount)
            guard let fresh = allocateMemory(byteCount, alignment: alignment, site: .dedicatedBlock) else {
                unreserve(byteCount)
                throw .outOfMemory(requested: byteCount)
            }
            lock.lock()
            guarded.countBlockBorn(byteCount)
            lock.unlock()
            base = fresh
        }
        let block = DedicatedBlock(core: self, base: base, capacity: byteCount, alignment: alignment)
        return Region(storage: block, start: base, count: byteCount)
    }

    /// Takes a cached block of exactly `capacity` bytes and `alignment` out of the cache, if
    /// there is one, and counts it live. Its bytes stay reserved: they pass to the new block.
    private func takeCachedBlock(capacity: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        guard isCacheable(blockOf: capacity) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        // The most recent match: the one most likely still in the processor's caches.
        var index = guarded.blockCache.endIndex
        while index > 0 {
            index -= 1
            let block = guarded.blockCache[index]
            guard block.capacity == capacity && block.alignment == alignment else { continue }
            guarded.blockCache.remove(at: index)
            guarded.countBlockBorn(capacity)
            return block.base
        }
        return nil
    }

    /// Called by a block's `deinit`: keeps it for reuse when it is cacheable and the arena
    /// open (a full cache gives its oldest block back to make room), else frees it.
    func blockDied(_ base: UnsafeMutableRawPointer, capacity: Int, alignment: Int) {
        let block = FreeBlock(base: base, capacity: capacity, alignment: alignment)
        let keep = isCacheable(blockOf: capacity)
        lock.lock()
        guarded.liveBlocks -= 1
        guarded.blockBytes -= capacity
        // The block itself when it is not kept, else the oldest cached one when the cache is full.
        var freed: FreeBlock?
        if keep && !isClosed.load(ordering: .relaxed) {
            if guarded.blockCache.count == blockCacheLimit { freed = guarded.blockCache.removeFirst() }
            guarded.blockCache.append(block)
        } else {
            freed = block
        }
        _invariantCheckLocked()
        lock.unlock()
        if let freed { releaseBlockMemory(freed) }
    }

    /// Accounts for a unique dedicated block that grew or moved from `oldCapacity` bytes.
    func blockResized(from oldCapacity: Int, to newCapacity: Int) {
        lock.lock()
        guarded.blockBytes += newCapacity - oldCapacity
        lock.unlock()
    }

    /// Frees every cached block; returns how many there were.
    @discardableResult
    func dropBlockCache() -> Int {
        var blocks: [FreeBlock] = []
        lock.lock()
        swap(&blocks, &guarded.blockCache)
        lock.unlock()
        for block in blocks { releaseBlockMemory(block) }
        return blocks.count
    }

    /// Gives a free block's memory back to jemalloc and its bytes to the budget.
    func releaseBlockMemory(_ block: FreeBlock) {
        Backend.deallocate(block.base, size: block.capacity, alignment: block.alignment, arena: jemallocArena)
        unreserve(block.capacity)
    }
}

extension ArenaCore.State {
    /// Counts a block handed out, new or from the cache. Call with the lock held.
    @inline(__always)
    mutating func countBlockBorn(_ capacity: Int) {
        liveBlocks += 1
        blockBytes += capacity
        blockAllocations += 1
    }
}
