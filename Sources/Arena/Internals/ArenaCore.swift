import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The state behind an `ArenaAllocator`: the jemalloc arena, the current chunk and its bump
/// pointer, the chunk cache, the budget and the counters.
///
/// Chunks and blocks hold their core strongly, so a core outlives every region of it; the
/// public `ArenaAllocator` holds it too and closes it when the user lets go (dropping the
/// current chunk, which breaks the core -> chunk -> core cycle). The jemalloc arena is destroyed
/// when the core dies, after its last chunk and block are gone (never with live blocks:
/// jemalloc#1535), and only arenas that never use the thread cache exist (`MALLOCX_TCACHE_NONE`).
///
/// ### Locking
/// The small-region fast path takes `state`'s lock, bumps, retains the chunk and unlocks: no
/// jemalloc call unless the chunk must be refilled. A chunk's `deinit` takes the lock too, so
/// no code may release a chunk while holding it: retired chunks leave the lock as a return
/// value and die outside it.
package final class ArenaCore: @unchecked Sendable {
    package let name: String
    package let chunkSize: Int
    /// The largest request carved from a chunk; larger ones get a dedicated block.
    package let largestCarve: Int
    package let limit: Int?
    /// Free chunks kept for reuse before they go back to jemalloc.
    let chunkCacheLimit = 4
    let jemallocArena: UInt32?

    struct State {
        /// The chunk being carved. The arena owns one reference to it plus `prepaid` more,
        /// each handed to a region without an atomic increment.
        var current: Unmanaged<Chunk>?
        var prepaid = 0
        var offset = 0
        var cache: [SendablePointer] = []
        var liveChunks = 0
        var carvedInLiveChunks = 0
        var carves = 0
        var refills = 0
        var closed = false
    }

    private let lock = SpinLock()
    /// Guarded by `lock`; only touched through `withLock`.
    @exclusivity(unchecked) private var guarded = State()

    /// Runs `body` on the guarded state under the lock. `body` must not release a chunk.
    @inline(__always)
    private func withLock<Result, Failure: Error>(
        _ body: (inout State) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&guarded)
    }
    let reserved = Atomic<Int>(0)
    let peakReserved = Atomic<Int>(0)
    let limitHits = Atomic<Int>(0)
    let liveBlocks = Atomic<Int>(0)
    let blockBytes = Atomic<Int>(0)
    let blockAllocations = Atomic<Int>(0)
    let foreignExports = Atomic<Int>(0)

    init(name: String, chunkSize: Int, limit: Int?) throws(ArenaError) {
        self.name = name
        self.chunkSize = chunkSize
        self.largestCarve = chunkSize / 8
        self.limit = limit
        self.jemallocArena = try Backend.createArena()
        withLock { $0.cache.reserveCapacity(chunkCacheLimit) }
    }

    deinit {
        let cache = withLock { state in
            let cache = state.cache
            state.cache = []
            return SendablePointers(cache)
        }
        for base in cache.pointers { releaseChunkMemory(base) }
        if !hasRawBlocks.load(ordering: .relaxed) { Backend.destroyArena(jemallocArena) }
    }

    /// Stops keeping a current chunk and a cache: the `ArenaAllocator` is gone, so only
    /// existing views may still ask for memory (growth), and each such request gets a
    /// dedicated block.
    func close() {
        lock.lock()
        guarded.closed = true
        let cache = SendablePointers(guarded.cache)
        guarded.cache = []
        let retired = retireCurrent()
        lock.unlock()
        for base in cache.pointers { releaseChunkMemory(base) }
        retired?.release()
    }

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

    /// Like `reserve`, but first gives cached chunks back when the limit is in the way.
    func reserveEvictingCache(_ bytes: Int) throws(ArenaError) {
        do {
            try reserve(bytes)
        } catch {
            guard dropChunkCache() > 0 else { throw error }
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
        let cache = withLock { state in
            let cache = state.cache
            state.cache.removeAll(keepingCapacity: true)
            return SendablePointers(cache)
        }
        for base in cache.pointers { releaseChunkMemory(base) }
        return cache.pointers.count
    }

    private func releaseChunkMemory(_ base: UnsafeMutableRawPointer) {
        Backend.deallocate(base, size: chunkSize, alignment: chunkSize, arena: jemallocArena)
        unreserve(chunkSize)
    }

    // MARK: - Allocation

    /// Hands out a region of `byteCount` bytes aligned to `alignment`.
    func allocate(byteCount: Int, alignment: Int) throws(ArenaError) -> Region {
        if byteCount <= largestCarve && alignment <= 4096 {
            // The fast path, written out so nothing but the lock's two atomics and the chunk's
            // retain stands between the caller and its region.
            lock.lock()
            if let region = carveFromCurrent(byteCount: byteCount, alignment: alignment) {
                lock.unlock()
                return region
            }
            lock.unlock()
            if let refilled = try carveFromNewChunk(byteCount: byteCount, alignment: alignment) { return refilled }
        }
        return try allocateBlock(byteCount: byteCount, alignment: alignment)
    }

    /// Carves from the current chunk if it has room; `nil` otherwise. Call with the lock held.
    @inline(__always)
    private func carveFromCurrent(byteCount: Int, alignment: Int) -> Region? {
        guard let current = guarded.current else { return nil }
        let start = (guarded.offset &+ alignment &- 1) & ~(alignment &- 1)
        guard start &+ byteCount <= chunkSize else { return nil }
        if guarded.prepaid == 0 {
            swiftRetainN(current.toOpaque(), UInt32(Self.prepaidBatch))
            guarded.prepaid = Self.prepaidBatch
        }
        guarded.prepaid &-= 1
        guarded.offset = start &+ byteCount
        guarded.carvedInLiveChunks &+= byteCount
        guarded.carves &+= 1
        // SAFETY: one of the arena's prepaid references becomes the region's.
        let chunk = current.takeRetainedValue()
        chunk.carved &+= byteCount
        return Region(storage: chunk, start: chunk.base + start, count: byteCount)
    }

    /// How many references the arena takes at once with `swift_retain_n`.
    static let prepaidBatch = 256

    /// A chunk the arena stopped carving from, with the references it still owns; released
    /// outside the lock (the release may run the chunk's deinit, which takes the lock).
    struct RetiredChunk: @unchecked Sendable {
        let chunk: Unmanaged<Chunk>
        let references: Int

        func release() {
            swiftReleaseN(chunk.toOpaque(), UInt32(references))
        }
    }

    /// Stops carving from the current chunk. Call with the lock held; release the result after.
    private func retireCurrent() -> RetiredChunk? {
        guard let current = guarded.current else { return nil }
        let retired = RetiredChunk(chunk: current, references: guarded.prepaid + 1)
        guarded.current = nil
        guarded.prepaid = 0
        return retired
    }

    /// Retires the current chunk, installs a fresh one (cached or new) and carves from it;
    /// `nil` when the arena is closed.
    private func carveFromNewChunk(byteCount: Int, alignment: Int) throws(ArenaError) -> Region? {
        // Take a chunk's memory from the cache, or from jemalloc outside the lock.
        var base = withLock { state in state.cache.popLast() }?.pointer
        var fresh = false
        if base == nil {
            try reserveEvictingCache(chunkSize)
            guard let memory = Backend.allocate(chunkSize, alignment: chunkSize, arena: jemallocArena) else {
                unreserve(chunkSize)
                throw .outOfMemory(requested: chunkSize)
            }
            base = memory
            fresh = true
        }
        let chunk = Chunk(core: self, base: base.unsafelyUnwrapped, capacity: chunkSize)
        lock.lock()
        guarded.liveChunks += 1
        if fresh { guarded.refills += 1 }
        if guarded.closed {
            lock.unlock()
            return nil  // the fresh chunk dies unused, its memory freed
        }
        // Another thread may have installed a chunk meanwhile: carve from it if it has room
        // (the fresh chunk then dies unused, into the cache).
        if let region = carveFromCurrent(byteCount: byteCount, alignment: alignment) {
            lock.unlock()
            return region
        }
        let retired = retireCurrent()
        guarded.current = Unmanaged.passRetained(chunk)
        guarded.offset = 0
        let region = carveFromCurrent(byteCount: byteCount, alignment: alignment)
        lock.unlock()
        retired?.release()
        return region
    }

    private func allocateBlock(byteCount: Int, alignment: Int) throws(ArenaError) -> Region {
        let alignment = max(alignment, 16)
        try reserveEvictingCache(byteCount)
        guard let base = Backend.allocate(byteCount, alignment: alignment, arena: jemallocArena) else {
            unreserve(byteCount)
            throw .outOfMemory(requested: byteCount)
        }
        liveBlocks.add(1, ordering: .relaxed)
        blockBytes.add(byteCount, ordering: .relaxed)
        blockAllocations.add(1, ordering: .relaxed)
        let block = DedicatedBlock(core: self, base: base, capacity: byteCount, alignment: alignment)
        return Region(storage: block, start: base, count: byteCount)
    }

    // MARK: - Storage life cycle

    func chunkDied(_ base: UnsafeMutableRawPointer, carved: Int) {
        let release = withLock { state -> SendablePointer? in
            state.liveChunks -= 1
            state.carvedInLiveChunks -= carved
            if !state.closed && state.cache.count < chunkCacheLimit {
                state.cache.append(SendablePointer(base))
                return nil
            }
            return SendablePointer(base)
        }
        if let release { releaseChunkMemory(release.pointer) }
    }

    func blockDied(_ base: UnsafeMutableRawPointer, capacity: Int, alignment: Int) {
        Backend.deallocate(base, size: capacity, alignment: alignment, arena: jemallocArena)
        unreserve(capacity)
        liveBlocks.subtract(1, ordering: .relaxed)
        blockBytes.subtract(capacity, ordering: .relaxed)
    }

    // MARK: - Growth support

    /// Extends a region that ends at the bump pointer of the current chunk by up to
    /// `wanted` bytes (at least `needed`); returns the bytes added, or 0.
    func extendAtTop(of chunk: Chunk, end: UnsafeMutableRawPointer, needed: Int, wanted: Int) -> Int {
        withLock { state in
            guard state.current?.toOpaque() == Unmanaged.passUnretained(chunk).toOpaque(),
                chunk.base + state.offset == end
            else { return 0 }
            let room = chunkSize - state.offset
            guard room >= needed else { return 0 }
            let added = min(room, wanted)
            state.offset += added
            chunk.carved += added
            state.carvedInLiveChunks += added
            return added
        }
    }

    /// Whether `storage` (a chunk of this arena) has no reference but the caller's, not
    /// counting the arena's own reference to its current chunk. When it is unique it becomes
    /// the caller's alone: the arena stops carving from it, and all of it counts as carved.
    func takeChunkIfUnique(_ storage: inout RegionStorage) -> Bool {
        // No strong local may refer to the chunk here: it would count as another reference.
        let address = Unmanaged.passUnretained(storage).toOpaque()
        lock.lock()
        defer { lock.unlock() }
        let isCurrent = guarded.current?.toOpaque() == address
        if isCurrent {
            // SAFETY: the caller's reference keeps the chunk alive, so dropping the arena's
            // references cannot run its deinit (which takes this lock); nobody can get a new
            // reference from the arena while we hold the lock.
            swiftReleaseN(address, UInt32(guarded.prepaid + 1))
            guarded.current = nil
            guarded.prepaid = 0
        }
        guard isKnownUniquelyReferenced(&storage) else {
            if isCurrent { guarded.current = Unmanaged.passRetained(unsafeDowncast(storage, to: Chunk.self)) }
            return false
        }
        let chunk = unsafeDowncast(storage, to: Chunk.self)
        guarded.carvedInLiveChunks += chunk.capacity - chunk.carved
        chunk.carved = chunk.capacity
        return true
    }

    /// Accounts for a unique dedicated block that grew or moved from `oldCapacity` bytes.
    func blockResized(from oldCapacity: Int, to newCapacity: Int) {
        blockBytes.add(newCapacity - oldCapacity, ordering: .relaxed)
    }

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
        let snapshot = withLock { state in
            (state.liveChunks, state.cache.count, state.carvedInLiveChunks, state.carves, state.refills)
        }
        return ArenaStatistics(
            name: name,
            chunkSize: chunkSize,
            liveChunks: snapshot.0,
            cachedChunks: snapshot.1,
            dedicatedBlocks: liveBlocks.load(ordering: .relaxed),
            bytesReserved: reserved.load(ordering: .relaxed),
            bytesHandedOut: snapshot.2 + blockBytes.load(ordering: .relaxed),
            peakBytesReserved: peakReserved.load(ordering: .relaxed),
            limit: limit,
            limitHits: limitHits.load(ordering: .relaxed),
            allocations: snapshot.3 + blockAllocations.load(ordering: .relaxed),
            chunkRefills: snapshot.4,
            liveForeignExports: foreignExports.load(ordering: .relaxed),
            jemalloc: Backend.arenaStatistics(jemallocArena)
        )
    }

    func purge() {
        dropChunkCache()
        Backend.purge(jemallocArena)
    }
}

// The runtime's batch reference counting (`swift_retain_n`/`swift_release_n`, C calling
// convention, exported by libswiftCore), so a carve hands out a prepaid reference instead of
// paying an atomic increment: that increment was half the cost of a small allocation on our
// machines. Looked up once with `dlsym`, since Swift reserves the names for the compiler.
private typealias RetainN = @convention(c) (UnsafeMutableRawPointer, UInt32) -> UnsafeMutableRawPointer
private typealias ReleaseN = @convention(c) (UnsafeMutableRawPointer, UInt32) -> Void

nonisolated(unsafe) private let runtimeRetainN: RetainN = runtimeFunction("swift_retain_n")
nonisolated(unsafe) private let runtimeReleaseN: ReleaseN = runtimeFunction("swift_release_n")

private func runtimeFunction<F>(_ name: String) -> F {
    guard let symbol = dlsym(nil, name) else { fatalError("the Swift runtime does not export \(name)") }
    return unsafeBitCast(symbol, to: F.self)
}

/// Adds `count` strong references to `object` in one atomic operation.
@inline(__always)
private func swiftRetainN(_ object: UnsafeMutableRawPointer, _ count: UInt32) {
    _ = runtimeRetainN(object, count)
}

/// Drops `count` strong references from `object` in one atomic operation.
@inline(__always)
private func swiftReleaseN(_ object: UnsafeMutableRawPointer, _ count: UInt32) {
    runtimeReleaseN(object, count)
}

/// A pointer that crosses a lock boundary; the lock is what makes that safe.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}

/// Pointers that cross a lock boundary; the lock is what makes that safe.
struct SendablePointers: @unchecked Sendable {
    let pointers: [UnsafeMutableRawPointer]
    init(_ pointers: [SendablePointer]) { self.pointers = pointers.map(\.pointer) }
}
