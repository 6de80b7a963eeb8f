/// jemalloc's JSON statistics (`malloc_stats_print` with the `J` option), as typed figures.
///
/// This is what a jemalloc-linked process prints at exit with
/// `MALLOC_CONF=stats_print:true,stats_print_opts:J`, and what `Jemalloc.statisticsJSON()` returns.
///
/// ### Layout of the document
/// ```
/// {"jemalloc": {
///    "version": "5.3.0-…",     general information (omitted with "g")
///    "arenas": {"page": 4096,  general information (omitted with "g")
///      "bin": [{"size", "nregs", "slab_size"}, …],
///      "lextent": [{"size"}, …]},
///    "stats": {"allocated", "active", "metadata", "resident", "mapped",
///      "retained", …},
///    "stats.arenas": {
///      "merged": {…},          all arenas summed (omitted with "m")
///      "destroyed": {…},       destroyed arenas summed (omitted with "d")
///      "0": {                  one per arena (omitted with "a")
///        "pactive", "small": {"allocated"}, "large": {…},
///        "bins": [{"curregs", "curslabs"}, …],
///        "lextents": [{"curlextents"}, …], …}
///    }}}
/// ```
/// Sections printed away with `malloc_stats_print`'s omission letters are `nil` or empty here,
/// and ``absences`` says which and why, so reports can say what they could not show.
package struct StatsDocument: Sendable, Equatable {
    /// The jemalloc version string; `nil` when general information was omitted (`g`).
    package var version: String?
    /// Build-time constants: page size and size classes; `nil` when omitted (`g`).
    package var general: General?
    /// Process-wide figures (`stats.*`); `nil` only in a document that lacks them.
    package var totals: Totals?
    /// The arenas the document lists, in document order.
    package var arenas: [ArenaFigures]
    /// Sections the document lacks, and the omission letter that explains each.
    package var absences: [Absence]
    /// Things the reader did to the input that the user should know (skipped bytes).
    package var notes: [String]
    /// Figures the reader computed that overflowed 64 bits and were saturated (`base + internal`).
    package var saturation = Saturation()
    /// Where the document starts in the input: the byte offset and the 1-based line.
    package var offset = 0
    /// The 1-based line the document starts on.
    package var line = 1
    /// Things worth a warning on standard error (a repeated key with different values).
    package var warnings: [String] = []

    /// Creates a document from its parts.
    package init(
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
    package func arena(_ key: ArenaKey) -> ArenaFigures? {
        arenas.first { $0.key == key }
    }

    /// The numbered arenas (neither merged nor destroyed).
    package var numberedArenas: [ArenaFigures] {
        arenas.filter { if case .index = $0.key { true } else { false } }
    }
}

// MARK: - Parts

extension StatsDocument {
    /// Build-time constants from the `arenas` section.
    package struct General: Sendable, Equatable {
        /// The page size in bytes (`arenas.page`).
        package var pageSize: Int?
        /// The allocation quantum in bytes (`arenas.quantum`).
        package var quantum: Int?
        /// How many arenas exist (`arenas.narenas`).
        package var arenaCount: Int?
        /// The small size classes (bins), in index order (`arenas.bin`).
        package var binClasses: [BinClass]
        /// The sizes of the large size classes, in index order (`arenas.lextent`).
        package var largeClassSizes: [Int]

        /// Creates general information.
        package init(
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
    package struct BinClass: Sendable, Equatable {
        /// The region size in bytes (`size`).
        package var size: Int
        /// Regions per slab (`nregs`).
        package var regionsPerSlab: Int
        /// The slab size in bytes (`slab_size`).
        package var slabSize: Int

        /// Creates a size class.
        package init(size: Int, regionsPerSlab: Int, slabSize: Int) {
            self.size = size
            self.regionsPerSlab = regionsPerSlab
            self.slabSize = slabSize
        }
    }

    /// The process-wide figures (`stats.*`), each `nil` if the document lacks it.
    package struct Totals: Sendable, Equatable {
        /// Bytes in live allocations (`stats.allocated`).
        package var allocated: Int?
        /// Bytes in active pages (`stats.active`).
        package var active: Int?
        /// Bytes of jemalloc's own metadata (`stats.metadata`).
        package var metadata: Int?
        /// Bytes in physically resident pages (`stats.resident`).
        package var resident: Int?
        /// Bytes in mapped extents (`stats.mapped`).
        package var mapped: Int?
        /// Bytes retained: virtual memory kept but not mapped (`stats.retained`).
        package var retained: Int?

        /// Creates totals.
        package init(
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
    package struct Absence: Sendable, Equatable, CustomStringConvertible {
        /// What is missing, e.g. "per-arena statistics".
        package var section: String
        /// The `malloc_stats_print` option letters that omit it (all of them together), if any.
        package var options: String
        /// What the report cannot show because of it.
        package var consequence: String

        /// Creates an absence.
        package init(section: String, options: String, consequence: String) {
            self.section = section
            self.options = options
            self.consequence = consequence
        }

        /// One line: "per-arena statistics absent (printed with 'a'): …".
        package var description: String {
            let letters = options.map { "'\($0)'" }.joined(separator: ", ")
            let why = options.isEmpty ? "" : " (printed with \(letters))"
            return "\(section) absent\(why): \(consequence)"
        }
    }
}

/// Which entry of `stats.arenas` a set of figures comes from.
package enum ArenaKey: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// All arenas summed (`stats.arenas.merged`).
    case merged
    /// Destroyed arenas summed (`stats.arenas.destroyed`).
    case destroyed
    /// One arena (`stats.arenas.<i>`).
    case index(Int)

    /// Parses `merged`, `destroyed` or a non-negative decimal index.
    package init?(_ text: String) {
        switch text {
        case "merged": self = .merged
        case "destroyed": self = .destroyed
        default:
            guard let index = Int(text), index >= 0, !text.hasPrefix("+") else { return nil }
            self = .index(index)
        }
    }

    /// The key as jemalloc writes it: `merged`, `destroyed` or the index.
    package var description: String {
        switch self {
        case .merged: "merged"
        case .destroyed: "destroyed"
        case .index(let index): String(index)
        }
    }

    /// `merged` first, then `destroyed`, then arenas by index.
    package static func < (lhs: ArenaKey, rhs: ArenaKey) -> Bool {
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
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Decodes the string jemalloc uses.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let key = ArenaKey(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an arena key: \(text)")
        }
        self = key
    }
}

/// One arena's figures (`stats.arenas.<key>`), each `nil` if the document lacks it.
package struct ArenaFigures: Sendable, Equatable {
    /// Which arena (or sum of arenas) these are.
    package var key: ArenaKey
    /// Threads assigned to the arena (`nthreads`).
    package var threads: Int?
    /// Active pages (`pactive`).
    package var activePages: Int?
    /// Dirty pages: unused, not yet purged (`pdirty`).
    package var dirtyPages: Int?
    /// Muzzy pages: advised away lazily (`pmuzzy`).
    package var muzzyPages: Int?
    /// Bytes in live small allocations (`small.allocated`).
    package var smallAllocated: Int?
    /// Bytes in live large allocations (`large.allocated`).
    package var largeAllocated: Int?
    /// Small allocations made (`small.nmalloc`).
    package var smallAllocations: UInt64?
    /// Small deallocations made (`small.ndalloc`).
    package var smallDeallocations: UInt64?
    /// Large allocations made (`large.nmalloc`).
    package var largeAllocations: UInt64?
    /// Large deallocations made (`large.ndalloc`).
    package var largeDeallocations: UInt64?
    /// Bytes mapped (`mapped`).
    package var mapped: Int?
    /// Bytes retained (`retained`).
    package var retained: Int?
    /// Bytes resident (`resident`).
    package var resident: Int?
    /// Metadata bytes (`base + internal`).
    package var metadata: Int?
    /// Bytes cached in thread caches (`tcache_bytes`).
    package var threadCacheBytes: Int?
    /// Per small size class counters (`bins`), in class order; `nil` when omitted (`b`).
    package var bins: [BinCounters]?
    /// Live allocations per large size class (`lextents[].curlextents`); `nil` when omitted (`l`).
    package var largeClassCounts: [Int]?

    /// Creates figures for `key`, all absent.
    package init(key: ArenaKey) {
        self.key = key
    }

    /// Small and large allocated bytes together, when both are known; `Int.max` when the sum
    /// overflows (``StatsReport`` marks it as saturated).
    package var allocated: Int? {
        guard let smallAllocated, let largeAllocated else { return nil }
        return smallAllocated.saturatingAdd(largeAllocated)
    }
}

/// One small size class's counters in one arena (`stats.arenas.<i>.bins[j]`).
package struct BinCounters: Sendable, Equatable {
    /// Regions in use (`curregs`).
    package var regionsInUse: Int
    /// Slabs in use (`curslabs`).
    package var slabs: Int
    /// Slabs with at least one free region (`nonfull_slabs`).
    package var nonfullSlabs: Int
    /// Allocations made (`nmalloc`).
    package var allocations: UInt64
    /// Deallocations made (`ndalloc`).
    package var deallocations: UInt64
    /// Requests served, thread caches included (`nrequests`).
    package var requests: UInt64

    /// Creates counters.
    package init(
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
