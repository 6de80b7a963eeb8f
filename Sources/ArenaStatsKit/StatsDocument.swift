/// jemalloc's JSON statistics (`malloc_stats_print` with the `J` option), as typed figures.
///
/// This is what a jemalloc-linked process prints at exit with
/// `MALLOC_CONF=stats_print:true,stats_print_opts:J`, and what `Jemalloc.statisticsJSON()` returns.
///
/// ### Layout of the document
/// ```
/// {"jemalloc": {
///    "version": "5.3.0-…",                        general information (omitted with "g")
///    "arenas": {"page": 4096, "bin": [{"size", "nregs", "slab_size"}, …], "lextent": [{"size"}, …]},
///    "stats": {"allocated", "active", "metadata", "resident", "mapped", "retained", …},
///    "stats.arenas": {
///      "merged": {…},                             all arenas summed (omitted with "m")
///      "destroyed": {…},                          destroyed arenas summed (omitted with "d")
///      "0": {"pactive", "small": {"allocated"}, "large": {…}, "bins": [{"curregs", "curslabs"}, …],
///            "lextents": [{"curlextents"}, …], …} one per arena (omitted with "a")
///    }}}
/// ```
/// Sections printed away with `malloc_stats_print`'s omission letters are `nil` or empty here,
/// and ``absences`` says which and why, so reports can say what they could not show.
public struct StatsDocument: Sendable, Equatable {
    /// The jemalloc version string; `nil` when general information was omitted (`g`).
    public var version: String?
    /// Build-time constants: page size and size classes; `nil` when omitted (`g`).
    public var general: General?
    /// Process-wide figures (`stats.*`); `nil` only in a document that lacks them.
    public var totals: Totals?
    /// The arenas the document lists, in document order.
    public var arenas: [ArenaFigures]
    /// Sections the document lacks, and the omission letter that explains each.
    public var absences: [Absence]
    /// Things the reader did to the input that the user should know (skipped bytes).
    public var notes: [String]

    /// Creates a document from its parts.
    public init(
        version: String? = nil,
        general: General? = nil,
        totals: Totals? = nil,
        arenas: [ArenaFigures] = [],
        absences: [Absence] = [],
        notes: [String] = []
    ) {
        self.version = version
        self.general = general
        self.totals = totals
        self.arenas = arenas
        self.absences = absences
        self.notes = notes
    }

    /// The arena listed under `key`, if the document has it.
    public func arena(_ key: ArenaKey) -> ArenaFigures? {
        arenas.first { $0.key == key }
    }

    /// The numbered arenas (neither merged nor destroyed).
    public var numberedArenas: [ArenaFigures] {
        arenas.filter { if case .index = $0.key { true } else { false } }
    }
}

// MARK: - Parts

extension StatsDocument {
    /// Build-time constants from the `arenas` section.
    public struct General: Sendable, Equatable {
        /// The page size in bytes (`arenas.page`).
        public var pageSize: Int?
        /// The allocation quantum in bytes (`arenas.quantum`).
        public var quantum: Int?
        /// How many arenas exist (`arenas.narenas`).
        public var arenaCount: Int?
        /// The small size classes (bins), in index order (`arenas.bin`).
        public var binClasses: [BinClass]
        /// The sizes of the large size classes, in index order (`arenas.lextent`).
        public var largeClassSizes: [Int]

        /// Creates general information.
        public init(
            pageSize: Int? = nil,
            quantum: Int? = nil,
            arenaCount: Int? = nil,
            binClasses: [BinClass] = [],
            largeClassSizes: [Int] = []
        ) {
            self.pageSize = pageSize
            self.quantum = quantum
            self.arenaCount = arenaCount
            self.binClasses = binClasses
            self.largeClassSizes = largeClassSizes
        }
    }

    /// One small size class: regions of `size` bytes packed into slabs.
    public struct BinClass: Sendable, Equatable {
        /// The region size in bytes (`size`).
        public var size: Int
        /// Regions per slab (`nregs`).
        public var regionsPerSlab: Int
        /// The slab size in bytes (`slab_size`).
        public var slabSize: Int

        /// Creates a size class.
        public init(size: Int, regionsPerSlab: Int, slabSize: Int) {
            self.size = size
            self.regionsPerSlab = regionsPerSlab
            self.slabSize = slabSize
        }
    }

    /// The process-wide figures (`stats.*`), each `nil` if the document lacks it.
    public struct Totals: Sendable, Equatable {
        /// Bytes in live allocations (`stats.allocated`).
        public var allocated: Int?
        /// Bytes in active pages (`stats.active`).
        public var active: Int?
        /// Bytes of jemalloc's own metadata (`stats.metadata`).
        public var metadata: Int?
        /// Bytes in physically resident pages (`stats.resident`).
        public var resident: Int?
        /// Bytes in mapped extents (`stats.mapped`).
        public var mapped: Int?
        /// Bytes retained: virtual memory kept but not mapped (`stats.retained`).
        public var retained: Int?

        /// Creates totals.
        public init(
            allocated: Int? = nil,
            active: Int? = nil,
            metadata: Int? = nil,
            resident: Int? = nil,
            mapped: Int? = nil,
            retained: Int? = nil
        ) {
            self.allocated = allocated
            self.active = active
            self.metadata = metadata
            self.resident = resident
            self.mapped = mapped
            self.retained = retained
        }
    }

    /// A section the document lacks.
    public struct Absence: Sendable, Equatable, CustomStringConvertible {
        /// What is missing, e.g. "per-arena statistics".
        public var section: String
        /// The `malloc_stats_print` option letters that omit it (all of them together), if any.
        public var options: String
        /// What the report cannot show because of it.
        public var consequence: String

        /// Creates an absence.
        public init(section: String, options: String, consequence: String) {
            self.section = section
            self.options = options
            self.consequence = consequence
        }

        /// One line: "per-arena statistics absent (printed with 'a'): …".
        public var description: String {
            let letters = options.map { "'\($0)'" }.joined(separator: ", ")
            let why = options.isEmpty ? "" : " (printed with \(letters))"
            return "\(section) absent\(why): \(consequence)"
        }
    }
}

/// Which entry of `stats.arenas` a set of figures comes from.
public enum ArenaKey: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// All arenas summed (`stats.arenas.merged`).
    case merged
    /// Destroyed arenas summed (`stats.arenas.destroyed`).
    case destroyed
    /// One arena (`stats.arenas.<i>`).
    case index(Int)

    /// Parses `merged`, `destroyed` or a non-negative decimal index.
    public init?(_ text: String) {
        switch text {
        case "merged": self = .merged
        case "destroyed": self = .destroyed
        default:
            guard let index = Int(text), index >= 0, !text.hasPrefix("+") else { return nil }
            self = .index(index)
        }
    }

    /// The key as jemalloc writes it: `merged`, `destroyed` or the index.
    public var description: String {
        switch self {
        case .merged: "merged"
        case .destroyed: "destroyed"
        case .index(let index): String(index)
        }
    }

    /// `merged` first, then `destroyed`, then arenas by index.
    public static func < (lhs: ArenaKey, rhs: ArenaKey) -> Bool {
        func rank(_ key: ArenaKey) -> (Int, Int) {
            switch key {
            case .merged: (0, 0)
            case .destroyed: (1, 0)
            case .index(let index): (2, index)
            }
        }
        return rank(lhs) < rank(rhs)
    }

    /// Encodes as the string jemalloc uses.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Decodes the string jemalloc uses.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let key = ArenaKey(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an arena key: \(text)")
        }
        self = key
    }
}

/// One arena's figures (`stats.arenas.<key>`), each `nil` if the document lacks it.
public struct ArenaFigures: Sendable, Equatable {
    /// Which arena (or sum of arenas) these are.
    public var key: ArenaKey
    /// Threads assigned to the arena (`nthreads`).
    public var threads: Int?
    /// Active pages (`pactive`).
    public var activePages: Int?
    /// Dirty pages: unused, not yet purged (`pdirty`).
    public var dirtyPages: Int?
    /// Muzzy pages: advised away lazily (`pmuzzy`).
    public var muzzyPages: Int?
    /// Bytes in live small allocations (`small.allocated`).
    public var smallAllocated: Int?
    /// Bytes in live large allocations (`large.allocated`).
    public var largeAllocated: Int?
    /// Small allocations made (`small.nmalloc`).
    public var smallAllocations: UInt64?
    /// Small deallocations made (`small.ndalloc`).
    public var smallDeallocations: UInt64?
    /// Large allocations made (`large.nmalloc`).
    public var largeAllocations: UInt64?
    /// Large deallocations made (`large.ndalloc`).
    public var largeDeallocations: UInt64?
    /// Bytes mapped (`mapped`).
    public var mapped: Int?
    /// Bytes retained (`retained`).
    public var retained: Int?
    /// Bytes resident (`resident`).
    public var resident: Int?
    /// Metadata bytes (`base + internal`).
    public var metadata: Int?
    /// Bytes cached in thread caches (`tcache_bytes`).
    public var threadCacheBytes: Int?
    /// Per small size class counters (`bins`), in class order; `nil` when omitted (`b`).
    public var bins: [BinCounters]?
    /// Live allocations per large size class (`lextents[].curlextents`); `nil` when omitted (`l`).
    public var largeClassCounts: [Int]?

    /// Creates figures for `key`, all absent.
    public init(key: ArenaKey) {
        self.key = key
    }

    /// Small and large allocated bytes together, when both are known.
    public var allocated: Int? {
        guard let smallAllocated, let largeAllocated else { return nil }
        return smallAllocated + largeAllocated
    }
}

/// One small size class's counters in one arena (`stats.arenas.<i>.bins[j]`).
public struct BinCounters: Sendable, Equatable {
    /// Regions in use (`curregs`).
    public var regionsInUse: Int
    /// Slabs in use (`curslabs`).
    public var slabs: Int
    /// Slabs with at least one free region (`nonfull_slabs`).
    public var nonfullSlabs: Int
    /// Allocations made (`nmalloc`).
    public var allocations: UInt64
    /// Deallocations made (`ndalloc`).
    public var deallocations: UInt64
    /// Requests served, thread caches included (`nrequests`).
    public var requests: UInt64

    /// Creates counters.
    public init(
        regionsInUse: Int,
        slabs: Int,
        nonfullSlabs: Int = 0,
        allocations: UInt64 = 0,
        deallocations: UInt64 = 0,
        requests: UInt64 = 0
    ) {
        self.regionsInUse = regionsInUse
        self.slabs = slabs
        self.nonfullSlabs = nonfullSlabs
        self.allocations = allocations
        self.deallocations = deallocations
        self.requests = requests
    }
}
