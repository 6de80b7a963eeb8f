import Synchronization

/// The state behind an `ArenaAllocator`: the jemalloc arena, where small regions are carved,
/// the chunk cache, the budget and the counters.
///
/// Chunks and blocks hold their core strongly, so a core outlives every region of it; the
/// public `ArenaAllocator` holds it too and closes it when the user lets go (dropping the
/// current chunk, which breaks the core -> chunk -> core cycle). The jemalloc arena is destroyed
/// when the core dies, after its last chunk and block are gone (never with live blocks:
/// jemalloc#1535), and chunks and blocks never use jemalloc's thread cache
/// (`MALLOCX_TCACHE_NONE`).
///
/// ### Carving
/// Small regions are carved by a bump pointer from a *current chunk*: one per arena, taken
/// under a short spin lock (`ArenaCore+Carving.swift`), or, for arenas made with
/// `threadLocalChunks`, one per thread and arena, with no lock (`ThreadChunks.swift`). Either
/// way a `ChunkCursor` does the carving: it owns one reference to its chunk plus a batch of
/// prepaid ones, each handed to a region without an atomic increment.
///
/// ### Locking
/// A chunk's or a dedicated block's `deinit` takes the lock, so no code may release either while
/// holding it: retired chunks and evicted blocks leave the lock as values and die outside it.
package final class ArenaCore: @unchecked Sendable {
    package let name: String
    package let chunkSize: Int
    /// The largest request carved from a chunk; larger ones get a dedicated block.
    package let largestCarve: Int
    package let limit: Int?
    /// Whether each thread carves from a chunk of its own.
    let threadLocalChunks: Bool
    /// Whether this is the shared arena's core (`ArenaAllocator.shared`), whose threads' chunks
    /// the default allocation path carves from directly.
    let isShared: Bool
    /// Free chunks kept for reuse before they go back to jemalloc: at most this many, and at
    /// most as many as are live (at least one), so an arena that shrinks keeps a cache in
    /// proportion (`cacheLimit`).
    let chunkCacheLimit = 4
    let jemallocArena: UInt32?
    /// The sampling state when allocation sites are sampled (`sampleInterval`), else `nil`.
    let sampler: Sampler?
    /// `sampler`, unretained: the allocation path asks it without a retain and release, which
    /// cost as much as the rest of a 64-byte allocation. `sampler` keeps it alive.
    private let samplerReference: Unmanaged<Sampler>?
    /// Refuses chosen backend allocations when a test or tool sets a plan; off by default.
    let faults = FaultInjection()

    struct State {
        /// Where the shared current chunk is carved (arenas without `threadLocalChunks`).
        var cursor = ChunkCursor()
        var cache: [SendablePointer] = []
        /// Free dedicated blocks kept for reuse, oldest first (`ArenaCore+Blocks.swift`).
        var blockCache: [FreeBlock] = []
        /// Live dedicated blocks, their bytes, and the blocks handed out since the start.
        var liveBlocks = 0
        var blockBytes = 0
        var blockAllocations = 0
        /// Every live chunk, linked through `Chunk.next`, for the statistics (unretained).
        var firstLive: Unmanaged<Chunk>?
        var liveChunks = 0
        /// Carves counted in chunks that have died.
        var carvesInDeadChunks = 0
        var refills = 0
    }

    let lock = SpinLock()
    /// Guarded by `lock`.
    @exclusivity(unchecked) var guarded = State()
    /// Whether the `ArenaAllocator` is gone (`close()`). Set under the lock; read under it by
    /// the shared paths and without it by threads deciding whether to keep their chunks.
    let isClosed = Atomic<Bool>(false)

    let reserved = Atomic<Int>(0)
    let peakReserved = Atomic<Int>(0)
    let limitHits = Atomic<Int>(0)
    let foreignExports = Atomic<Int>(0)

    init(
        name: String,
        chunkSize: Int,
        limit: Int?,
        threadLocalChunks: Bool,
        sampleInterval: Int? = nil,
        sampleSeed: UInt64? = nil,
        isShared: Bool = false
    ) throws(ArenaError) {
        self.name = name
        self.isShared = isShared
        let sampler = (sampleInterval ?? Sampler.environmentInterval).map { interval in
            Sampler(interval: interval, seed: sampleSeed ?? Sampler.randomSeed())
        }
        self.sampler = sampler
        self.samplerReference = sampler.map { Unmanaged.passUnretained($0) }
        self.chunkSize = chunkSize
        self.largestCarve = chunkSize / 8
        self.limit = limit
        self.threadLocalChunks = threadLocalChunks
        self.jemallocArena = try Backend.createArena()
        guarded.cache.reserveCapacity(chunkCacheLimit)
        guarded.blockCache.reserveCapacity(blockCacheLimit)
    }

    deinit {
        for base in guarded.cache { releaseChunkMemory(base.pointer) }
        for block in guarded.blockCache { releaseBlockMemory(block) }
        if !hasRawBlocks.load(ordering: .relaxed) { Backend.destroyArena(jemallocArena) }
    }

    /// Stops keeping a current chunk and a cache: the `ArenaAllocator` is gone, so only
    /// existing views may still ask for memory (growth), and each such request gets a
    /// dedicated block. Threads drop their chunks of a closed arena the next time they need a
    /// chunk of any arena, or when they exit.
    func close() {
        lock.lock()
        // Set under the lock: no chunk or block that dies after it goes to a cache.
        isClosed.store(true, ordering: .relaxed)
        let retired = guarded.cursor.retire()
        lock.unlock()
        dropChunkCache()
        dropBlockCache()
        retired?.release()
    }

    // MARK: - Budget

    /// Takes `bytes` from the budget, exactly: two threads racing for the last bytes never
    /// overshoot the limit.
    func reserve(_ bytes: Int) throws(ArenaError) {
        var current = reserved.load(ordering: .relaxed)
        while true {
            let next = current + bytes
            if let limit, next > limit {
                limitHits.add(1, ordering: .relaxed)
                throw .limitExceeded(requested: bytes, limit: limit, inUse: current)
            }
            let (exchanged, original) = reserved.compareExchange(
                expected: current,
                desired: next,
                ordering: .relaxed
            )
            if exchanged {
                var peak = peakReserved.load(ordering: .relaxed)
                while peak < next {
                    let (done, seen) = peakReserved.compareExchange(expected: peak, desired: next, ordering: .relaxed)
                    if done { break }
                    peak = seen
                }
                return
            }
            current = original
        }
    }

    /// Like `reserve`, but first gives cached chunks and blocks back when the limit is in the
    /// way.
    func reserveEvictingCache(_ bytes: Int) throws(ArenaError) {
        do {
            try reserve(bytes)
        } catch {
            guard dropChunkCache() + dropBlockCache() > 0 else { throw error }
            limitHits.subtract(1, ordering: .relaxed)
            try reserve(bytes)
        }
    }

    func unreserve(_ bytes: Int) {
        reserved.subtract(bytes, ordering: .relaxed)
    }

    /// Frees every cached chunk; returns how many there were.
    @discardableResult
    func dropChunkCache() -> Int {
        lock.lock()
        let cache = SendablePointers(guarded.cache)
        guarded.cache.removeAll(keepingCapacity: true)
        lock.unlock()
        for base in cache.pointers { releaseChunkMemory(base) }
        return cache.pointers.count
    }

    private func releaseChunkMemory(_ base: UnsafeMutableRawPointer) {
        Backend.deallocate(base, size: chunkSize, alignment: chunkSize, arena: jemallocArena)
        unreserve(chunkSize)
    }

    // MARK: - Allocation

    /// Hands out a region of `byteCount` bytes aligned to `alignment`.
    @inline(__always)
    func allocate(byteCount: Int, alignment: Int) throws(ArenaError) -> Region {
        if let sampling = samplerReference,
            sampling._withUnsafeGuaranteedRef({ $0.shouldSample(byteCount) })
        {
            let sampler = sampling.takeUnretainedValue()
            return try allocateSampled(byteCount: byteCount, alignment: alignment, sampler: sampler)
        }
        return try allocateUnsampled(byteCount: byteCount, alignment: alignment)
    }

    /// `allocate` without the sampling check.
    @inline(__always)
    func allocateUnsampled(byteCount: Int, alignment: Int) throws(ArenaError) -> Region {
        if byteCount <= largestCarve && alignment <= 4096 {
            let carved =
                threadLocalChunks
                ? try carveFromThreadChunk(byteCount: byteCount, alignment: alignment)
                : try carveFromSharedChunk(byteCount: byteCount, alignment: alignment)
            if let carved { return carved }
        }
        return try allocateBlock(byteCount: byteCount, alignment: alignment)
    }

    /// A new chunk, from the cache or from jemalloc, registered as live; `nil` when the arena
    /// is closed.
    func obtainChunk() throws(ArenaError) -> Chunk? {
        lock.lock()
        let closed = isClosed.load(ordering: .relaxed)
        let cached = closed ? nil : guarded.cache.popLast()
        lock.unlock()
        if closed { return nil }
        var base = cached?.pointer
        if base == nil {
            try reserveEvictingCache(chunkSize)
            base = allocateMemory(chunkSize, alignment: chunkSize, site: .chunkRefill)
            guard base != nil else {
                unreserve(chunkSize)
                throw .outOfMemory(requested: chunkSize)
            }
        }
        let chunk = Chunk(core: self, base: base.unsafelyUnwrapped, capacity: chunkSize)
        lock.lock()
        let link = Unmanaged.passUnretained(chunk)
        chunk.next = guarded.firstLive
        guarded.firstLive?._withUnsafeGuaranteedRef { $0.previous = link }
        guarded.firstLive = link
        guarded.liveChunks += 1
        if cached == nil { guarded.refills += 1 }
        lock.unlock()
        return chunk
    }

    // MARK: - The backend, behind fault injection

    /// `Backend.allocate` in this arena, unless fault injection refuses it at `site`.
    func allocateMemory(_ size: Int, alignment: Int, site: FaultInjection.Site) -> UnsafeMutableRawPointer? {
        if faults.refuses(site) { return nil }
        return Backend.allocate(size, alignment: alignment, arena: jemallocArena)
    }

    /// `Backend.growInPlace` of a block of this arena, unless fault injection refuses it.
    func growBlockInPlace(_ base: UnsafeMutableRawPointer, to newSize: Int, alignment: Int) -> Bool {
        if faults.refuses(.growInPlace) { return false }
        return Backend.growInPlace(base, to: newSize, alignment: alignment, arena: jemallocArena)
    }

    /// `Backend.reallocate` of a block of this arena, unless fault injection refuses it (the
    /// block is then untouched, as when the backend refuses).
    func moveBlock(
        _ base: UnsafeMutableRawPointer,
        size: Int,
        to newSize: Int,
        preserving: Int,
        alignment: Int
    ) -> UnsafeMutableRawPointer? {
        if faults.refuses(.moveBlock) { return nil }
        return Backend.reallocate(
            base,
            size: size,
            to: newSize,
            preserving: preserving,
            alignment: alignment,
            arena: jemallocArena
        )
    }

    // MARK: - Storage life cycle

    func chunkDied(_ chunk: Chunk) {
        lock.lock()
        // SAFETY: a linked chunk's memory lives until its own `chunkDied` has run, which needs
        // the lock we hold; following a link without retaining cannot start a deinit here.
        if let previous = chunk.previous {
            previous._withUnsafeGuaranteedRef { $0.next = chunk.next }
        } else {
            guarded.firstLive = chunk.next
        }
        chunk.next?._withUnsafeGuaranteedRef { $0.previous = chunk.previous }
        guarded.liveChunks -= 1
        guarded.carvesInDeadChunks += chunk.carves.load(ordering: .relaxed)
        // A cache as large as the live chunks serves an arena whose chunks cycle (each dies as
        // its successor fills); more would only hold memory a shrunk arena no longer uses, as
        // when compaction empties the chunks its survivors pinned. One death lowers the limit
        // by at most one, so at most one cached chunk is over it.
        let limit = cacheLimit
        let keep = !isClosed.load(ordering: .relaxed) && guarded.cache.count < limit
        if keep { guarded.cache.append(SendablePointer(chunk.base)) }
        let evicted = guarded.cache.count > limit ? guarded.cache.popLast() : nil
        _invariantCheckLocked()
        lock.unlock()
        if !keep { releaseChunkMemory(chunk.base) }
        if let evicted { releaseChunkMemory(evicted.pointer) }
    }

    /// How many free chunks the cache may hold now: as many as are live, at least one, at most
    /// `chunkCacheLimit`. Call with the lock held.
    var cacheLimit: Int { min(chunkCacheLimit, max(1, guarded.liveChunks)) }

    // MARK: - Raw blocks

    /// Whether raw blocks were handed out: such an arena is never destroyed, since jemalloc's
    /// thread caches may still hold its freed blocks (jemalloc#1535).
    let hasRawBlocks = Atomic<Bool>(false)

    /// A malloc-style block in this arena, freed with `rawDeallocate` (for allocators such as
    /// NIO's that free without a size). Outside the limit: such callers cannot handle failure.
    package func rawAllocate(_ size: Int) -> UnsafeMutableRawPointer? {
        hasRawBlocks.store(true, ordering: .relaxed)
        return Backend.rawAllocate(size, arena: jemallocArena)
    }

    /// `realloc` of a raw block, staying in this arena.
    package func rawReallocate(_ pointer: UnsafeMutableRawPointer?, to size: Int) -> UnsafeMutableRawPointer? {
        hasRawBlocks.store(true, ordering: .relaxed)
        return Backend.rawReallocate(pointer, to: size, arena: jemallocArena)
    }

    /// `free` of a raw block.
    package func rawDeallocate(_ pointer: UnsafeMutableRawPointer) {
        Backend.rawDeallocate(pointer)
    }

    // MARK: - Statistics

    func statistics() -> ArenaStatistics {
        lock.lock()
        var carved = 0
        var carves = guarded.carvesInDeadChunks
        var pinned = ArenaStatistics.Pinned()
        var chunk = guarded.firstLive
        while let link = chunk {
            // Unretained, as in `chunkDied`: a retain and release here could run a deinit.
            link._withUnsafeGuaranteedRef { live in
                carved += live.carved.load(ordering: .relaxed)
                carves += live.carves.load(ordering: .relaxed)
                chunk = live.next
            }
            // SAFETY: the chunk's memory lives while we hold the lock (its deinit needs it);
            // a retired chunk's references are its views' alone (the carver gave its own back).
            if link._withUnsafeGuaranteedRef({ $0.isRetired.load(ordering: .relaxed) }),
                let references = swiftStrongReferences(link.toOpaque())
            {
                pinned.count(chunkOf: chunkSize, references: references)
            }
        }
        let snapshot = (guarded.liveChunks, guarded.cache.count, guarded.refills)
        let blocks = (guarded.liveBlocks, guarded.blockBytes, guarded.blockAllocations)
        let cachedBlocks = (guarded.blockCache.count, guarded.blockCache.reduce(0) { $0 + $1.capacity })
        _invariantCheckLocked()
        lock.unlock()
        var statistics = ArenaStatistics(
            name: name,
            chunkSize: chunkSize,
            liveChunks: snapshot.0,
            cachedChunks: snapshot.1,
            dedicatedBlocks: blocks.0,
            bytesReserved: reserved.load(ordering: .relaxed),
            bytesHandedOut: carved + blocks.1,
            peakBytesReserved: peakReserved.load(ordering: .relaxed),
            limit: limit,
            limitHits: limitHits.load(ordering: .relaxed),
            allocations: carves + blocks.2,
            chunkRefills: snapshot.2,
            liveForeignExports: foreignExports.load(ordering: .relaxed),
            jemalloc: Backend.arenaStatistics(jemallocArena)
        )
        statistics.cachedBlocks = cachedBlocks.0
        statistics.cachedBlockBytes = cachedBlocks.1
        statistics.pinnedChunks = pinned.chunks
        statistics.pinnedBytes = pinned.bytes
        statistics.pinningReferences = pinned.references
        statistics.pinningReferenceHistogram = pinned.histogram
        return statistics
    }

    func purge() {
        dropChunkCache()
        dropBlockCache()
        Backend.purge(jemallocArena)
    }

    // MARK: - Empty regions

    /// The arena's empty storage, made on demand; weak, since it holds the core strongly.
    private weak var cachedEmptyStorage: EmptyStorage?

    /// The storage of this arena's empty regions: writers grown from them take memory here.
    package var emptyStorage: EmptyStorage {
        lock.lock()
        defer { lock.unlock() }
        if let storage = cachedEmptyStorage { return storage }
        let storage = EmptyStorage(core: self)
        cachedEmptyStorage = storage
        return storage
    }
}

extension Chunk {
    /// Counts a carve of `byteCount` bytes. Only the chunk's one carver (the lock holder, the
    /// owning thread, or a unique owner) writes, so a load and a store suffice: no atomic
    /// read-modify-write on the fast path, and readers see whole values.
    @inline(__always)
    func countCarve(_ byteCount: Int) {
        carved.store(carved.load(ordering: .relaxed) &+ byteCount, ordering: .relaxed)
        carves.store(carves.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// Counts `byteCount` more bytes carved by an extension in place.
    @inline(__always)
    func countExtension(_ byteCount: Int) {
        carved.store(carved.load(ordering: .relaxed) &+ byteCount, ordering: .relaxed)
    }
}
