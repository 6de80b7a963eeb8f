/// Where an arena's memory is: our own figures, and jemalloc's for the arena behind it.
///
/// Our figures are exact and cheap to read. jemalloc's are refreshed (an `epoch` advance,
/// tens of microseconds) each time ``ArenaAllocator/statistics()`` is called, and are `nil`
/// when the `Jemalloc` trait is off.
///
/// ### Reserved and handed out
/// *Reserved* bytes are what the arena holds from the system: live chunks, cached free chunks
/// and dedicated blocks. The limit applies to them. *Handed out* bytes are what regions were
/// carved for, in chunks and blocks still alive. A chunk stays reserved while any region carved
/// from it lives, so `bytesReserved - bytesHandedOut` is what chunking costs.
public struct ArenaStatistics: Sendable, Codable, Equatable {
    /// The arena's configured name.
    public var name: String
    /// The configured chunk size in bytes.
    public var chunkSize: Int
    /// Chunks that are current or still referenced by a region.
    public var liveChunks: Int
    /// Free chunks kept for reuse (reserved, not handed out).
    public var cachedChunks: Int
    /// Live dedicated blocks (requests too large to carve from a chunk).
    public var dedicatedBlocks: Int
    /// Bytes held from the system: live and cached chunks plus dedicated blocks.
    public var bytesReserved: Int
    /// Bytes carved for regions in live chunks, plus the bytes of live dedicated blocks.
    public var bytesHandedOut: Int
    /// The highest `bytesReserved` seen.
    public var peakBytesReserved: Int
    /// The configured limit, if any.
    public var limit: Int?
    /// How many requests failed with `ArenaError.limitExceeded`.
    public var limitHits: Int
    /// Regions handed out since the arena was made (chunk carves and dedicated blocks).
    public var allocations: Int
    /// Chunks obtained from the system allocator (cache hits excluded).
    public var chunkRefills: Int
    /// Handles exported to foreign code (the C ABI) and not yet released.
    public var liveForeignExports: Int
    /// jemalloc's own figures for this arena; `nil` without the `Jemalloc` trait.
    public var jemalloc: Jemalloc?

    /// Creates a statistics value; the arena fills it in ``ArenaAllocator/statistics()``.
    public init(
        name: String,
        chunkSize: Int,
        liveChunks: Int = 0,
        cachedChunks: Int = 0,
        dedicatedBlocks: Int = 0,
        bytesReserved: Int = 0,
        bytesHandedOut: Int = 0,
        peakBytesReserved: Int = 0,
        limit: Int? = nil,
        limitHits: Int = 0,
        allocations: Int = 0,
        chunkRefills: Int = 0,
        liveForeignExports: Int = 0,
        jemalloc: Jemalloc? = nil
    ) {
        self.name = name
        self.chunkSize = chunkSize
        self.liveChunks = liveChunks
        self.cachedChunks = cachedChunks
        self.dedicatedBlocks = dedicatedBlocks
        self.bytesReserved = bytesReserved
        self.bytesHandedOut = bytesHandedOut
        self.peakBytesReserved = peakBytesReserved
        self.limit = limit
        self.limitHits = limitHits
        self.allocations = allocations
        self.chunkRefills = chunkRefills
        self.liveForeignExports = liveForeignExports
        self.jemalloc = jemalloc
    }

    /// jemalloc's figures for one arena (`stats.arenas.<i>.*`), read after an `epoch` refresh.
    public struct Jemalloc: Sendable, Codable, Equatable {
        /// The jemalloc arena index (`arenas.create`'s result).
        public var arenaIndex: UInt32
        /// Bytes in live allocations: `small.allocated + large.allocated`.
        public var allocated: Int
        /// Bytes in live small allocations (`small.allocated`).
        public var smallAllocated: Int
        /// Bytes in live large allocations (`large.allocated`).
        public var largeAllocated: Int
        /// Bytes in active pages (`pactive` × page size).
        public var activeBytes: Int
        /// Bytes in dirty pages, unused but not yet given back (`pdirty` × page size).
        public var dirtyBytes: Int
        /// Bytes in muzzy pages, advised away lazily (`pmuzzy` × page size).
        public var muzzyBytes: Int
        /// Bytes in physically resident pages (`resident`).
        public var resident: Int
        /// Bytes mapped (`mapped`).
        public var mapped: Int
        /// Bytes retained: virtual memory kept but not mapped (`retained`).
        public var retained: Int
        /// Metadata bytes (`base + internal`).
        public var metadata: Int
        /// Small allocations made (`small.nmalloc`).
        public var smallAllocations: UInt64
        /// Small deallocations made (`small.ndalloc`).
        public var smallDeallocations: UInt64
        /// Large allocations made (`large.nmalloc`).
        public var largeAllocations: UInt64
        /// Large deallocations made (`large.ndalloc`).
        public var largeDeallocations: UInt64

        /// Creates a value; ``ArenaAllocator/statistics()`` fills it in from jemalloc.
        public init(
            arenaIndex: UInt32,
            allocated: Int,
            smallAllocated: Int,
            largeAllocated: Int,
            activeBytes: Int,
            dirtyBytes: Int,
            muzzyBytes: Int,
            resident: Int,
            mapped: Int,
            retained: Int,
            metadata: Int,
            smallAllocations: UInt64,
            smallDeallocations: UInt64,
            largeAllocations: UInt64,
            largeDeallocations: UInt64
        ) {
            self.arenaIndex = arenaIndex
            self.allocated = allocated
            self.smallAllocated = smallAllocated
            self.largeAllocated = largeAllocated
            self.activeBytes = activeBytes
            self.dirtyBytes = dirtyBytes
            self.muzzyBytes = muzzyBytes
            self.resident = resident
            self.mapped = mapped
            self.retained = retained
            self.metadata = metadata
            self.smallAllocations = smallAllocations
            self.smallDeallocations = smallDeallocations
            self.largeAllocations = largeAllocations
            self.largeDeallocations = largeDeallocations
        }
    }
}
