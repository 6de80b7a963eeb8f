/// Where an arena's memory is: our own figures, and jemalloc's for the arena behind it.
///
/// Our figures are exact, gathered by one walk of the live chunks under the arena's lock.
/// jemalloc's are refreshed (an `epoch` advance, tens of microseconds) each time
/// ``ArenaAllocator/statistics()`` is called, and are `nil` when the `Jemalloc` trait is off.
///
/// ### Reserved and handed out
/// *Reserved* bytes are what the arena holds from the system: live chunks, cached free chunks,
/// dedicated blocks and cached free blocks. The limit applies to them. *Handed out* bytes are what regions were
/// carved for, in chunks and blocks still alive. A chunk stays reserved while any region carved
/// from it lives, so `bytesReserved - bytesHandedOut` is what chunking costs.
///
/// ### Pinned chunks
/// A chunk is *pinned* when the arena no longer carves from it (it filled up, or a writer took
/// it whole) and a view still keeps it alive: a 20-byte slice that outlives its frame keeps
/// its whole chunk. ``pinnedChunks`` and ``pinnedBytes`` count them; ``pinningReferences`` and
/// ``pinningReferenceHistogram`` count the references (views) that keep them, so a chunk held
/// by one view, the cheapest to give back with `Bytes.compacted()`, shows in the
/// histogram's ``ReferenceHistogram/one`` bucket. The figures are exact: each is read from the
/// chunk's reference count when the statistics are taken, nothing is counted per allocation
/// (a chunk that another thread retires at that very instant may count one reference high).
/// A sampled region (see ``ArenaAllocator/Configuration/sampleInterval``) counts as one
/// reference, however many views of it live.
/// The current chunks (the shared one, and each thread's) are never pinned.
public struct ArenaStatistics: Sendable, Codable, Equatable {
    /// The arena's configured name.
    public var name: String
    /// The configured chunk size in bytes.
    public var chunkSize: Int
    /// Chunks that are current or still referenced by a region.
    public var liveChunks: Int
    /// Free chunks kept for reuse (reserved, not handed out): at most four, and a chunk that
    /// dies is kept only while the cache holds fewer than the live chunks (at least one).
    public var cachedChunks: Int
    /// Live dedicated blocks (requests too large to carve from a chunk).
    public var dedicatedBlocks: Int
    /// Free dedicated blocks kept for reuse by a request of the same size and alignment
    /// (reserved, not handed out): at most four, the most recently freed, each larger than a
    /// chunk carves (an eighth of ``chunkSize``) and at most ``chunkSize``. The limit, `purge()`
    /// and the arena's closing give them back.
    public var cachedBlocks: Int
    /// The bytes of the ``cachedBlocks``.
    public var cachedBlockBytes: Int
    /// Bytes held from the system: live and cached chunks plus live and cached dedicated blocks.
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
    /// Live chunks the arena no longer carves from, kept alive by views (see "Pinned chunks").
    public var pinnedChunks: Int
    /// The bytes of the pinned chunks: `pinnedChunks * chunkSize`.
    public var pinnedBytes: Int
    /// The references (views) keeping the pinned chunks alive, summed over them.
    public var pinningReferences: Int
    /// The pinned chunks by how many references keep each alive.
    public var pinningReferenceHistogram: ReferenceHistogram
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
        self.cachedBlocks = 0
        self.cachedBlockBytes = 0
        self.pinnedChunks = 0
        self.pinnedBytes = 0
        self.pinningReferences = 0
        self.pinningReferenceHistogram = ReferenceHistogram()
        self.jemalloc = jemalloc
    }

    /// Pinned chunks counted by the references that keep each alive: 1, 2 to 4, 5 to 16, more.
    public struct ReferenceHistogram: Sendable, Codable, Equatable {
        /// Chunks kept by exactly one reference.
        public var one: Int
        /// Chunks kept by 2 to 4 references.
        public var twoToFour: Int
        /// Chunks kept by 5 to 16 references.
        public var fiveToSixteen: Int
        /// Chunks kept by more than 16 references.
        public var moreThanSixteen: Int

        /// Creates a histogram; all buckets 0 by default.
        ///
        /// - Complexity: O(1).
        public init(one: Int = 0, twoToFour: Int = 0, fiveToSixteen: Int = 0, moreThanSixteen: Int = 0) {
            self.one = one
            self.twoToFour = twoToFour
            self.fiveToSixteen = fiveToSixteen
            self.moreThanSixteen = moreThanSixteen
        }

        /// The buckets with their labels ("1", "2-4", "5-16", ">16"), in order: for tools.
        ///
        /// - Complexity: O(1).
        public var buckets: [(label: String, chunks: Int)] {
            [("1", one), ("2-4", twoToFour), ("5-16", fiveToSixteen), (">16", moreThanSixteen)]
        }
    }

    /// What the arena reserves when no view of it is left: its live chunks (the current ones)
    /// and the cached chunks and blocks. For end-of-run checks in the tools and tests.
    package var bytesInChunksAndCaches: Int {
        (liveChunks + cachedChunks) * chunkSize + cachedBlockBytes
    }

    /// The pinned figures, added up chunk by chunk while the statistics are taken.
    struct Pinned {
        var chunks = 0
        var bytes = 0
        var references = 0
        var histogram = ReferenceHistogram()

        mutating func count(chunkOf size: Int, references count: Int) {
            chunks += 1
            bytes += size
            references += count
            switch count {
            case ...1: histogram.one += 1
            case 2...4: histogram.twoToFour += 1
            case 5...16: histogram.fiveToSixteen += 1
            default: histogram.moreThanSixteen += 1
            }
        }
    }

    private enum CodingKeys: String, CodingKey {
        case name, chunkSize, liveChunks, cachedChunks, dedicatedBlocks, bytesReserved, bytesHandedOut
        case peakBytesReserved, limit, limitHits, allocations, chunkRefills, liveForeignExports
        case cachedBlocks, cachedBlockBytes
        case pinnedChunks, pinnedBytes, pinningReferences, pinningReferenceHistogram, jemalloc
    }

    /// Decodes statistics; the pinned and cached-block figures, added later, default to 0 when
    /// absent, so JSON written by earlier versions still decodes.
    ///
    /// - Complexity: O(1).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            chunkSize: try container.decode(Int.self, forKey: .chunkSize),
            liveChunks: try container.decode(Int.self, forKey: .liveChunks),
            cachedChunks: try container.decode(Int.self, forKey: .cachedChunks),
            dedicatedBlocks: try container.decode(Int.self, forKey: .dedicatedBlocks),
            bytesReserved: try container.decode(Int.self, forKey: .bytesReserved),
            bytesHandedOut: try container.decode(Int.self, forKey: .bytesHandedOut),
            peakBytesReserved: try container.decode(Int.self, forKey: .peakBytesReserved),
            limit: try container.decodeIfPresent(Int.self, forKey: .limit),
            limitHits: try container.decode(Int.self, forKey: .limitHits),
            allocations: try container.decode(Int.self, forKey: .allocations),
            chunkRefills: try container.decode(Int.self, forKey: .chunkRefills),
            liveForeignExports: try container.decode(Int.self, forKey: .liveForeignExports),
            jemalloc: try container.decodeIfPresent(Jemalloc.self, forKey: .jemalloc)
        )
        cachedBlocks = try container.decodeIfPresent(Int.self, forKey: .cachedBlocks) ?? 0
        cachedBlockBytes = try container.decodeIfPresent(Int.self, forKey: .cachedBlockBytes) ?? 0
        pinnedChunks = try container.decodeIfPresent(Int.self, forKey: .pinnedChunks) ?? 0
        pinnedBytes = try container.decodeIfPresent(Int.self, forKey: .pinnedBytes) ?? 0
        pinningReferences = try container.decodeIfPresent(Int.self, forKey: .pinningReferences) ?? 0
        pinningReferenceHistogram =
            try container.decodeIfPresent(ReferenceHistogram.self, forKey: .pinningReferenceHistogram) ?? .init()
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
