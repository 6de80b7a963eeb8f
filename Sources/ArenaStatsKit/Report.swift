/// What `arena-stats read` reports about one statistics document: where the memory is, how
/// much is fragmentation, and which size classes waste the most.
///
/// Built from a ``StatsDocument`` by ``init(document:source:options:)``; rendered as a table, JSON or CSV
/// (see ``ReportRendering``). Figures the document lacks are `nil` and left out of JSON.
package struct StatsReport: Sendable, Codable, Equatable {
    /// The input the figures come from (a path or `<stdin>`).
    package var source: String
    /// The jemalloc version, when the document has it.
    package var version: String?
    /// Process-wide figures and the ratios derived from them.
    package var totals: Totals?
    /// One row per arena entry of the document (merged, destroyed, numbered), in key order.
    package var arenas: [ArenaRow]
    /// Where the size-class rows come from: `merged`, `arena 3`, `sum of arenas 0, 1, 2`.
    package var sizeClassScope: String?
    /// Small size classes (bins) with slabs in use (all of them with `includeIdleClasses`).
    package var sizeClasses: [SizeClassRow]
    /// Large size classes with live allocations.
    package var largeClasses: [LargeClassRow]
    /// The small size classes wasting the most bytes, most first.
    package var topWasters: [SizeClassRow]
    /// What the document lacks and what that hides, one line each.
    package var absent: [String]
    /// What the reader did to the input (bytes skipped), one line each.
    package var notes: [String]
    /// Figures too large for 64 bits (a product or sum of input figures that overflows), shown
    /// as the largest 64-bit value rather than exact; empty for any real jemalloc dump.
    package var saturated: [String]

    /// How a report is built.
    package struct Options: Sendable, Equatable {
        /// Which arena's size classes to show; `nil` picks merged, else the only arena, else the sum.
        package var arena: ArenaKey?
        /// How many of the most wasteful size classes to list.
        package var top: Int
        /// Whether to list size classes with no slabs in use.
        package var includeIdleClasses: Bool

        /// Creates options.
        package init(arena: ArenaKey? = nil, top: Int = 5, includeIdleClasses: Bool = false) {
            self.arena = arena
            self.top = top
            self.includeIdleClasses = includeIdleClasses
        }
    }

    /// Process-wide figures (`stats.*`) and ratios.
    package struct Totals: Sendable, Codable, Equatable {
        /// Bytes in live allocations.
        package var allocated: Int?
        /// Bytes in active pages.
        package var active: Int?
        /// Bytes of jemalloc metadata.
        package var metadata: Int?
        /// Bytes resident.
        package var resident: Int?
        /// Bytes mapped.
        package var mapped: Int?
        /// Bytes retained (virtual, unmapped).
        package var retained: Int?
        /// `1 - allocated / active`: the share of active pages not holding live allocations.
        package var fragmentation: Double?
        /// `allocated / resident`: the share of resident memory holding live allocations.
        package var allocatedToResident: Double?
    }

    /// One arena's figures in bytes, with its fragmentation.
    package struct ArenaRow: Sendable, Codable, Equatable {
        /// The arena's key: `merged`, `destroyed` or its index.
        package var arena: ArenaKey
        /// Threads assigned to it.
        package var threads: Int?
        /// Bytes in live small allocations.
        package var smallAllocated: Int?
        /// Bytes in live large allocations.
        package var largeAllocated: Int?
        /// Small and large together.
        package var allocated: Int?
        /// Bytes in active pages (`pactive` × page size).
        package var active: Int?
        /// Bytes in dirty pages.
        package var dirty: Int?
        /// Bytes in muzzy pages.
        package var muzzy: Int?
        /// Bytes resident.
        package var resident: Int?
        /// Bytes mapped.
        package var mapped: Int?
        /// Bytes retained.
        package var retained: Int?
        /// Metadata bytes (`base + internal`).
        package var metadata: Int?
        /// Bytes held in thread caches.
        package var threadCache: Int?
        /// `1 - allocated / active` for this arena.
        package var fragmentation: Double?
    }

    /// One small size class: how full its slabs are and what the free regions cost.
    package struct SizeClassRow: Sendable, Codable, Equatable {
        /// The bin index.
        package var index: Int
        /// The region size in bytes; `nil` without general information.
        package var size: Int?
        /// Regions per slab.
        package var regionsPerSlab: Int?
        /// Regions in use (`curregs`).
        package var regionsInUse: Int
        /// Slabs in use (`curslabs`).
        package var slabs: Int
        /// Slabs with a free region (`nonfull_slabs`).
        package var nonfullSlabs: Int
        /// Regions the slabs hold: `slabs × regionsPerSlab`.
        package var capacity: Int?
        /// `regionsInUse / capacity`; `nil` with no slabs or no sizes.
        package var utilization: Double?
        /// Bytes in regions in use: `regionsInUse × size`.
        package var allocatedBytes: Int?
        /// Bytes in free regions of live slabs: `(capacity - regionsInUse) × size`.
        package var wastedBytes: Int?
        /// Allocations made (`nmalloc`).
        package var allocations: UInt64
        /// Deallocations made (`ndalloc`).
        package var deallocations: UInt64
    }

    /// One large size class with live allocations.
    package struct LargeClassRow: Sendable, Codable, Equatable {
        /// The large class index (`lextents[i]`).
        package var index: Int
        /// The class size in bytes; `nil` without general information.
        package var size: Int?
        /// Live allocations (`curlextents`).
        package var count: Int
        /// `count × size`.
        package var bytes: Int?
    }
}

// MARK: - Building

extension StatsReport {
    /// Analyzes a document.
    ///
    /// - Parameters:
    ///   - document: the parsed statistics.
    ///   - source: how to name the input in the report.
    ///   - options: which arena's size classes, how many top wasters.
    /// - Throws: ``StatsInputError`` of kind `notFound` when `options.arena` is not in the document.
    package init(document: StatsDocument, source: String, options: Options = .init()) throws(StatsInputError) {
        self.source = source
        self.version = document.version
        self.totals = document.totals.map(Self.totals)
        var saturation = document.saturation
        let pageSize = document.general?.pageSize
        self.arenas = document.arenas.sorted { $0.key < $1.key }.map {
            Self.arenaRow($0, pageSize: pageSize, saturation: &saturation)
        }
        self.absent = document.absences.map(\.description)
        self.notes = document.notes
        if document.general != nil && pageSize == nil {
            absent.append("page size absent: arena page counts are not converted to bytes")
        }

        let scope = try Self.scope(of: document, requested: options.arena, source: source)
        self.sizeClassScope = scope?.name
        let rows = Self.sizeClassRows(scope?.figures, general: document.general, saturation: &saturation)
        self.sizeClasses = options.includeIdleClasses ? rows : rows.filter { $0.slabs > 0 }
        self.largeClasses = Self.largeClassRows(scope?.figures, general: document.general, saturation: &saturation)
            .filter { $0.count > 0 }
        if let scope { saturation.merge(scope.saturation) }
        self.saturated = saturation.figures
        self.topWasters = Array(
            rows.filter { ($0.wastedBytes ?? 0) > 0 }
                .sorted { ($0.wastedBytes!, $1.index) > ($1.wastedBytes!, $0.index) }
                .prefix(max(0, options.top))
        )
    }

    static func totals(_ totals: StatsDocument.Totals) -> Totals {
        Totals(
            allocated: totals.allocated,
            active: totals.active,
            metadata: totals.metadata,
            resident: totals.resident,
            mapped: totals.mapped,
            retained: totals.retained,
            fragmentation: fragmentation(allocated: totals.allocated, active: totals.active),
            allocatedToResident: ratio(totals.allocated, totals.resident)
        )
    }

    static func arenaRow(_ arena: ArenaFigures, pageSize: Int?, saturation: inout Saturation) -> ArenaRow {
        func bytes(_ pages: Int?, _ name: String) -> Int? {
            guard let pages, let pageSize else { return nil }
            return saturation.product(pages, pageSize, "arena \(arena.key) \(name) (pages × page size)")
        }
        var allocated: Int?
        if let small = arena.smallAllocated, let large = arena.largeAllocated {
            allocated = saturation.sum(small, large, "arena \(arena.key) allocated (small + large)")
        }
        let active = bytes(arena.activePages, "active")
        return ArenaRow(
            arena: arena.key,
            threads: arena.threads,
            smallAllocated: arena.smallAllocated,
            largeAllocated: arena.largeAllocated,
            allocated: allocated,
            active: active,
            dirty: bytes(arena.dirtyPages, "dirty"),
            muzzy: bytes(arena.muzzyPages, "muzzy"),
            resident: arena.resident,
            mapped: arena.mapped,
            retained: arena.retained,
            metadata: arena.metadata,
            threadCache: arena.threadCacheBytes,
            fragmentation: fragmentation(allocated: allocated, active: active)
        )
    }

    /// `1 - allocated / active`, or `nil` when either is unknown or nothing is active.
    static func fragmentation(allocated: Int?, active: Int?) -> Double? {
        guard let share = ratio(allocated, active) else { return nil }
        return 1 - share
    }

    /// `numerator / denominator`, or `nil` when either is unknown or the denominator is zero.
    static func ratio(_ numerator: Int?, _ denominator: Int?) -> Double? {
        guard let numerator, let denominator, denominator > 0 else { return nil }
        return Double(numerator) / Double(denominator)
    }

    /// The figures size classes are read from, and how to name them.
    struct Scope {
        var name: String
        var figures: ArenaFigures
        /// Counters that saturated when arenas were summed.
        var saturation = Saturation()
    }

    /// Picks the requested arena, else merged, else the only arena, else the sum of all listed.
    static func scope(
        of document: StatsDocument,
        requested: ArenaKey?,
        source: String
    ) throws(StatsInputError) -> Scope? {
        if let requested {
            guard let figures = document.arena(requested) else {
                let listed = document.arenas.map(\.key).sorted().map(\.description).joined(separator: ", ")
                throw StatsInputError(
                    source: source,
                    kind: .notFound,
                    detail: "no arena \(requested) in the statistics (listed: \(listed.isEmpty ? "none" : listed))"
                )
            }
            return Scope(name: name(of: requested), figures: figures)
        }
        if let merged = document.arena(.merged) { return Scope(name: "merged", figures: merged) }
        let parts = document.arenas.sorted { $0.key < $1.key }
        guard let first = parts.first else { return nil }
        if parts.count == 1 { return Scope(name: name(of: first.key), figures: first) }
        let names = parts.map(\.key.description).joined(separator: ", ")
        var saturation = Saturation()
        let figures = sum(parts, saturation: &saturation)
        return Scope(name: "sum of arenas \(names)", figures: figures, saturation: saturation)
    }

    static func name(of key: ArenaKey) -> String {
        if case .index(let index) = key { return "arena \(index)" }
        return key.description
    }

    /// Sums the size-class counters of several arenas (what jemalloc's merged entry holds).
    static func sum(_ parts: [ArenaFigures], saturation: inout Saturation) -> ArenaFigures {
        var total = ArenaFigures(key: .merged)
        for part in parts {
            if let bins = part.bins {
                var sum = total.bins ?? []
                for (index, bin) in bins.enumerated() {
                    if index == sum.count {
                        sum.append(bin)
                        continue
                    }
                    let name = "size class \(index)"
                    var row = sum[index]
                    row.regionsInUse = saturation.sum(row.regionsInUse, bin.regionsInUse, "\(name) curregs (sum)")
                    row.slabs = saturation.sum(row.slabs, bin.slabs, "\(name) curslabs (sum)")
                    row.nonfullSlabs = saturation.sum(row.nonfullSlabs, bin.nonfullSlabs, "\(name) nonfull_slabs (sum)")
                    row.allocations = saturation.sum(row.allocations, bin.allocations, "\(name) nmalloc (sum)")
                    row.deallocations = saturation.sum(row.deallocations, bin.deallocations, "\(name) ndalloc (sum)")
                    row.requests = saturation.sum(row.requests, bin.requests, "\(name) nrequests (sum)")
                    sum[index] = row
                }
                total.bins = sum
            }
            if let counts = part.largeClassCounts {
                var sum = total.largeClassCounts ?? []
                for (index, count) in counts.enumerated() {
                    if index == sum.count {
                        sum.append(count)
                    } else {
                        sum[index] = saturation.sum(sum[index], count, "large class \(index) curlextents (sum)")
                    }
                }
                total.largeClassCounts = sum
            }
        }
        return total
    }

    /// Every small size class of `figures`, idle ones included.
    static func sizeClassRows(
        _ figures: ArenaFigures?,
        general: StatsDocument.General?,
        saturation: inout Saturation
    ) -> [SizeClassRow] {
        guard let bins = figures?.bins else { return [] }
        var rows: [SizeClassRow] = []
        rows.reserveCapacity(bins.count)
        for (index, bin) in bins.enumerated() {
            let sizeClass = general.flatMap { index < $0.binClasses.count ? $0.binClasses[index] : nil }
            let name = "size class \(index)"
            let capacity = sizeClass.map {
                saturation.product(bin.slabs, $0.regionsPerSlab, "\(name) capacity (slabs × regions per slab)")
            }
            let allocatedBytes = sizeClass.map {
                saturation.product(bin.regionsInUse, $0.size, "\(name) allocated bytes (regions × size)")
            }
            let wastedBytes = sizeClass.map {
                let free = max(0, saturation.difference(capacity!, bin.regionsInUse, "\(name) free regions"))
                return saturation.product(free, $0.size, "\(name) wasted bytes (free regions × size)")
            }
            rows.append(
                SizeClassRow(
                    index: index,
                    size: sizeClass?.size,
                    regionsPerSlab: sizeClass?.regionsPerSlab,
                    regionsInUse: bin.regionsInUse,
                    slabs: bin.slabs,
                    nonfullSlabs: bin.nonfullSlabs,
                    capacity: capacity,
                    utilization: ratio(bin.regionsInUse, capacity),
                    allocatedBytes: allocatedBytes,
                    wastedBytes: wastedBytes,
                    allocations: bin.allocations,
                    deallocations: bin.deallocations
                )
            )
        }
        return rows
    }

    /// Every large size class of `figures`, idle ones included.
    static func largeClassRows(
        _ figures: ArenaFigures?,
        general: StatsDocument.General?,
        saturation: inout Saturation
    ) -> [LargeClassRow] {
        guard let counts = figures?.largeClassCounts else { return [] }
        var rows: [LargeClassRow] = []
        rows.reserveCapacity(counts.count)
        for (index, count) in counts.enumerated() {
            let size = general.flatMap { index < $0.largeClassSizes.count ? $0.largeClassSizes[index] : nil }
            let bytes = size.map { saturation.product($0, count, "large class \(index) bytes (size × curlextents)") }
            rows.append(LargeClassRow(index: index, size: size, count: count, bytes: bytes))
        }
        return rows
    }
}
