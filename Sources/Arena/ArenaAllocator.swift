/// A jemalloc-backed arena: memory for byte views, in large aligned chunks, with a byte limit
/// and statistics.
///
/// Each allocator owns a dedicated jemalloc arena (`arenas.create`). Small requests (up to an
/// eighth of the chunk size) are carved from the current chunk by a bump pointer; larger ones get
/// a dedicated jemalloc block. Every region is refcounted: a chunk goes back (to a small cache,
/// then to jemalloc) when the last region carved from it dies, and so does a block (one of at
/// most a chunk's size waits in a cache of four for a request of its exact size: a server's
/// read buffers are reused without a jemalloc call).
///
/// ```swift
/// let arena = try ArenaAllocator(.init(name: "requests", limit: 64 << 20))
/// let region = try arena.allocate(byteCount: 512)
/// print(arena.statistics().bytesHandedOut)  // 512
/// ```
///
/// ### Thread safety
/// Any thread may allocate, and any thread may drop the last view of a region. A small region
/// is carved by a bump pointer from a current chunk, with a reference the carver prepaid (no
/// atomic increment): under a short spin lock from the arena's one chunk, or with no lock at
/// all from the calling thread's own chunk when the arena has ``Configuration/threadLocalChunks``
/// (the shared arena does). jemalloc is called only to refill a chunk or for a large region.
/// The limit is exact under concurrency.
///
/// ### Lifetime
/// The jemalloc arena lives while the allocator or any region of it lives, and is destroyed
/// after the last one is gone.
public final class ArenaAllocator: Sendable {
    /// How an arena is set up.
    public struct Configuration: Sendable, Equatable {
        /// A name for statistics and error messages.
        public var name: String
        /// The size of the chunks small regions are carved from: a power of two, 4 KiB to 1 GiB.
        public var chunkSize: Int
        /// The most bytes the arena may hold from the system (chunks and dedicated blocks), or
        /// `nil` for no limit. At least one chunk.
        public var limit: Int?
        /// Whether each thread carves small regions from a chunk of its own, with no lock:
        /// faster, at the cost of one partly used chunk per thread (and a thread keeps its
        /// chunk of a dropped arena until it next needs a new chunk or exits). Off by default;
        /// on for ``ArenaAllocator/shared``. A 64-byte allocation and drop took 10.2 ns with
        /// it and 15.9 ns without, on one thread (`Scripts/bench` 1a, 2026-12-06), where
        /// `malloc`+`free` took 11.5 ns.
        public var threadLocalChunks: Bool
        /// The mean bytes allocated between two sampled regions, for ``ArenaAllocator/memoryProfile()``;
        /// `nil` (the default) leaves sampling off unless the environment variable
        /// `ARENA_SAMPLE_INTERVAL` gives an interval. 512 KiB (jemalloc's default) costs little
        /// on small allocations: about 7% on a 64-byte allocation and drop in `Scripts/bench`
        /// (median of 7 runs, 2026-12-06), about 80% on 4 KiB ones, which are sampled 64 times
        /// as often.
        ///
        /// With sampling off, allocation does no more work than without this setting; with it on,
        /// each allocation subtracts its size from a countdown (a relaxed load and store), and a
        /// sampled one also records its call stack.
        public var sampleInterval: Int?
        /// The seed of the sampling countdown, so tests sample the same regions every run;
        /// random when `nil`.
        package var sampleSeed: UInt64?

        /// A sample interval that costs little and still finds the sites that keep megabytes alive:
        /// 512 KiB, jemalloc's `lg_prof_sample` default.
        public static let defaultSampleInterval = 512 << 10

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - name: a name for statistics and error messages.
        ///   - chunkSize: a power of two from 4 KiB to 1 GiB; 64 KiB by default.
        ///   - limit: the byte limit, at least `chunkSize`; none by default.
        ///   - threadLocalChunks: whether each thread carves from a chunk of its own.
        ///
        /// Sampling (``sampleInterval``) is off; set the property to turn it on.
        public init(
            name: String = "arena",
            chunkSize: Int = 64 << 10,
            limit: Int? = nil,
            threadLocalChunks: Bool = false
        ) {
            self.name = name
            self.chunkSize = chunkSize
            self.limit = limit
            self.threadLocalChunks = threadLocalChunks
        }

        /// Checks the settings: a chunk size that is a power of two from 4 KiB to 1 GiB, a limit of at
        /// least one chunk. `init(_:)` calls it; tools call it to check options before making an arena.
        package func validate() throws(ArenaError) {
            guard chunkSize > 0 && chunkSize & (chunkSize - 1) == 0 else {
                throw .invalidConfiguration("chunkSize \(chunkSize) is not a power of two")
            }
            guard (4 << 10)...(1 << 30) ~= chunkSize else {
                throw .invalidConfiguration("chunkSize \(chunkSize) is outside 4096...\(1 << 30)")
            }
            if let limit, limit < chunkSize {
                throw .invalidConfiguration("limit \(limit) is below one chunk (\(chunkSize) bytes)")
            }
            if let sampleInterval, sampleInterval <= 0 {
                throw .invalidConfiguration("sampleInterval \(sampleInterval) is not positive")
            }
        }
    }

    /// The configuration the arena was made with.
    ///
    /// - Complexity: O(1).
    public let configuration: Configuration
    /// The state shared with the arena's chunks and blocks.
    package let core: ArenaCore

    /// Creates an arena with its own jemalloc arena.
    ///
    /// - Throws: `ArenaError.invalidConfiguration` for a chunk size that is not a power of two
    ///   or a limit below one chunk; `ArenaError.jemalloc` when jemalloc cannot create another
    ///   arena (it allows 4095).
    /// - Complexity: O(1): one `mallctl("arenas.create")`; no memory is taken until the first
    ///   allocation.
    public init(_ configuration: Configuration = .init()) throws(ArenaError) {
        self.configuration = configuration
        self.core = try Self.makeCore(configuration, isShared: false)
    }

    /// The shared arena.
    private init(shared configuration: Configuration) throws(ArenaError) {
        self.configuration = configuration
        self.core = try Self.makeCore(configuration, isShared: true)
    }

    private static func makeCore(_ configuration: Configuration, isShared: Bool) throws(ArenaError) -> ArenaCore {
        try configuration.validate()
        return try ArenaCore(
            name: configuration.name,
            chunkSize: configuration.chunkSize,
            limit: configuration.limit,
            threadLocalChunks: configuration.threadLocalChunks,
            sampleInterval: configuration.sampleInterval,
            sampleSeed: configuration.sampleSeed,
            isShared: isShared
        )
    }

    deinit {
        core.close()
    }

    /// The process-wide arena, with no limit and thread-local chunks: where views are
    /// allocated when no arena is named.
    ///
    /// - Complexity: O(1); made on first use.
    public static let shared: ArenaAllocator = {
        do {
            let configuration = Configuration(name: "shared", chunkSize: sharedChunkSize, threadLocalChunks: true)
            return try ArenaAllocator(shared: configuration)
        } catch {
            fatalError("cannot create the shared arena: \(error)")
        }
    }()

    /// The shared arena's core, reachable without retaining anything: the shared arena lives
    /// for the whole process, and a default argument of `.shared` would cost a retain and a
    /// release of it on every call.
    package static let sharedCore = Unmanaged.passUnretained(shared.core)

    /// The shared arena's chunk size: a constant, so the default path needs no lookup.
    static let sharedChunkSize = 64 << 10

    /// `allocate(byteCount:alignment:)` on the shared arena, without touching its refcount.
    ///
    /// The default path of `BytesMut(capacity:)`: a small request carves from the calling
    /// thread's chunk of the shared arena, found in a C thread-local, with no lookup of the arena
    /// (its lazy initialization included) and no lock; anything else takes the general path.
    @usableFromInline
    package static func allocateShared(byteCount: Int) throws(ArenaError) -> Region {
        precondition(byteCount >= 0, "ArenaAllocator.allocate(byteCount: \(byteCount)): negative byte count")
        if byteCount == 0 { return Region() }
        if byteCount <= sharedChunkSize / 8,
            let region = ThreadChunks.carveShared(byteCount: byteCount, chunkSize: sharedChunkSize)
        {
            return region
        }
        return try allocateSharedSlowly(byteCount: byteCount)
    }

    @inline(never)
    private static func allocateSharedSlowly(byteCount: Int) throws(ArenaError) -> Region {
        let result = sharedCore._withUnsafeGuaranteedRef { core in
            Result { () throws(ArenaError) in try core.allocate(byteCount: byteCount, alignment: 16) }
        }
        return try result.get()
    }

    /// Hands out a region of `byteCount` bytes whose address is a multiple of `alignment`.
    ///
    /// A zero-byte request returns an empty region and allocates nothing.
    ///
    /// - Throws: `ArenaError.limitExceeded` when the arena would pass its limit,
    ///   `ArenaError.outOfMemory` when jemalloc has no memory. Nothing already allocated changes.
    /// - Precondition: `byteCount >= 0`; `alignment` is a positive power of two.
    /// - Complexity: O(1); a jemalloc call only to refill a chunk or for a large request.
    public func allocate(byteCount: Int, alignment: Int = 16) throws(ArenaError) -> Region {
        precondition(byteCount >= 0, "ArenaAllocator.allocate(byteCount: \(byteCount)): negative byte count")
        precondition(
            alignment > 0 && alignment & (alignment - 1) == 0,
            "ArenaAllocator.allocate(alignment: \(alignment)): not a power of two"
        )
        if byteCount == 0 { return emptyRegion }
        return try core.allocate(byteCount: byteCount, alignment: alignment)
    }

    /// An empty region that remembers this arena: views grown from it take memory from here.
    ///
    /// - Complexity: O(1); allocates nothing after the first call.
    public var emptyRegion: Region {
        let storage = core.emptyStorage
        return Region(storage: storage, start: storage.base, count: 0)
    }

    /// Our figures and jemalloc's for this arena.
    ///
    /// For one figure on a hot path, ``bytesReserved`` is a single atomic load.
    ///
    /// - Complexity: O(live chunks) under the arena's lock (it reads each chunk's carved bytes
    ///   and, for the pinned figures, its reference count), plus jemalloc's `epoch` refresh
    ///   (tens of microseconds): keep it off hot paths.
    public func statistics() -> ArenaStatistics {
        core.statistics()
    }

    /// Where the live memory was allocated, estimated from sampled regions: per allocation
    /// site, the sampled regions still alive, their estimated live bytes and the estimated
    /// bytes of pinned chunks they keep. Empty, with a `nil` interval, when sampling is off
    /// (see ``Configuration/sampleInterval``).
    ///
    /// Call stacks are symbolicated here, not when a region is sampled: the first profile of
    /// many new sites takes longer than the next.
    ///
    /// - Complexity: O(s) for `s` live sampled regions, under the sampler's lock (sampled
    ///   allocations and deaths wait); no cost to unsampled allocations.
    public func memoryProfile() -> MemoryProfile {
        core.memoryProfile()
    }

    /// The largest request carved from a chunk (an eighth of the chunk size); larger ones get
    /// a dedicated block. A region of at most this many bytes (and more than 0) shares its
    /// chunk with others and keeps the whole chunk alive.
    package var largestCarve: Int {
        core.largestCarve
    }

    /// The bytes the arena holds now (live and cached chunks and dedicated blocks): the figure
    /// its limit bounds.
    ///
    /// It is the ``ArenaStatistics/bytesReserved`` figure of ``statistics()``, read without
    /// gathering the other statistics.
    ///
    /// - Complexity: O(1), one relaxed atomic load; cheap enough for every request.
    public var bytesReserved: Int {
        core.reserved.load(ordering: .relaxed)
    }

    /// Hands unused memory back: frees the cached chunks and blocks and asks jemalloc to return
    /// the arena's dirty pages to the operating system.
    ///
    /// The corresponding jemalloc call is `mallctl("arena.<i>.purge", …)`.
    ///
    /// - Complexity: O(cached chunks and blocks + the arena's dirty pages).
    public func purge() {
        core.purge()
    }

    /// The jemalloc arena index behind this allocator; `nil` when the `Jemalloc` trait is off.
    ///
    /// - Complexity: O(1).
    public var jemallocArenaIndex: UInt32? {
        core.jemallocArena
    }
}

extension ArenaAllocator {
    /// Frees the cached chunks and blocks (no `purge` of jemalloc's pages); returns how many
    /// there were. For a caller waiting for ``bytesReserved`` to fall: the caches count in it.
    ///
    /// - Complexity: O(1): two trips through the arena's lock and at most eight frees.
    @discardableResult
    package func dropCaches() -> Int {
        core.dropChunkCache() + core.dropBlockCache()
    }

    /// ``allocate(byteCount:alignment:)`` that is never sampled and leaves the sampling
    /// countdown as it is: for a tool's probe that must behave alike with sampling on or off
    /// (a sampled region is never reclaimed, so `arena-stress`'s end-of-run probe could not
    /// take back the arena's current chunk), without shifting which later regions are sampled.
    ///
    /// - Complexity: O(1), as ``allocate(byteCount:alignment:)``.
    package func allocateUnsampled(byteCount: Int, alignment: Int = 16) throws(ArenaError) -> Region {
        precondition(byteCount >= 0, "ArenaAllocator.allocateUnsampled(byteCount: \(byteCount)): negative byte count")
        if byteCount == 0 { return emptyRegion }
        return try core.allocateUnsampled(byteCount: byteCount, alignment: alignment)
    }
}

extension ArenaAllocator.Configuration {
    /// The interval `ARENA_SAMPLE_INTERVAL` gives (a positive decimal byte count), which an arena
    /// whose ``sampleInterval`` is `nil` samples at; `nil` when the variable is unset or invalid.
    /// Tools read it to say, and to replay, what their arena does.
    ///
    /// - Complexity: O(1); the environment is read once per process.
    package static var environmentSampleInterval: Int? {
        Sampler.environmentInterval
    }
}
