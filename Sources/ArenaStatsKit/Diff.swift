/// What changed between two statistics documents: per figure and per size class.
///
/// Process-wide figures are always listed; arena figures and size classes only when they
/// changed (size classes: all of them with `includeIdleClasses`). Arenas are matched by key,
/// size classes by index. A figure one side lacks has a `nil` value there and no change; an
/// arena or a kind of size class that only one side lists is named, not compared.
package struct StatsDiff: Sendable, Codable, Equatable {
    /// The earlier input.
    package var before: String
    /// The later input.
    package var after: String
    /// jemalloc's version in the earlier input.
    package var versionBefore: String?
    /// jemalloc's version in the later input.
    package var versionAfter: String?
    /// Arenas only the earlier input lists (their figures are not compared).
    package var arenasOnlyBefore: [ArenaKey]
    /// Arenas only the later input lists (their figures are not compared).
    package var arenasOnlyAfter: [ArenaKey]
    /// Integer figures (bytes, counts), process-wide first, then by arena.
    package var figures: [FigureChange]
    /// Ratios (fragmentation, allocated/resident), process-wide first, then by arena.
    package var ratios: [RatioChange]
    /// Where the size classes come from, when both sides agree (else both names, `A -> B`).
    package var sizeClassScope: String?
    /// Small size classes that changed.
    package var sizeClasses: [SizeClassChange]
    /// Large size classes whose live count changed.
    package var largeClasses: [LargeClassChange]
    /// What either side lacks, prefixed by the side.
    package var absent: [String]
    /// What the reader did to either input, prefixed by the side.
    package var notes: [String]

    /// Two values of an integer figure and the change.
    package struct Change: Sendable, Codable, Equatable {
        /// The earlier value.
        package var before: Int?
        /// The later value.
        package var after: Int?
        /// `after - before`, when both are known.
        package var change: Int?

        /// Creates a change; `change` is computed.
        package init(before: Int?, after: Int?) {
            self.before = before
            self.after = after
            self.change = before.flatMap { before in after.flatMap { $0.checkedSubtract(before) } }
        }

        /// Whether the values differ (including one being absent).
        package var changed: Bool { before != after }
    }

    /// An integer figure of one scope.
    package struct FigureChange: Sendable, Codable, Equatable {
        /// `total` or `arena <key>`.
        package var scope: String
        /// The figure, named as in ``StatsReport``'s JSON (`allocated`, `smallAllocated`, …).
        package var figure: String
        /// The earlier value.
        package var before: Int?
        /// The later value.
        package var after: Int?
        /// `after - before`.
        package var change: Int?
    }

    /// A ratio of one scope.
    package struct RatioChange: Sendable, Codable, Equatable {
        /// `total` or `arena <key>`.
        package var scope: String
        /// `fragmentation` or `allocatedToResident`.
        package var figure: String
        /// The earlier value.
        package var before: Double?
        /// The later value.
        package var after: Double?
        /// `after - before`.
        package var change: Double?
    }

    /// One small size class, before and after.
    package struct SizeClassChange: Sendable, Codable, Equatable {
        /// The bin index.
        package var index: Int
        /// The region size, when known.
        package var size: Int?
        /// Regions in use.
        package var regionsInUse: Change
        /// Slabs in use.
        package var slabs: Change
        /// Bytes in free regions of live slabs.
        package var wastedBytes: Change
        /// Allocations made (`nmalloc`), as a running count.
        package var allocations: Change
        /// Utilization before.
        package var utilizationBefore: Double?
        /// Utilization after.
        package var utilizationAfter: Double?
    }

    /// One large size class, before and after.
    package struct LargeClassChange: Sendable, Codable, Equatable {
        /// The large class index.
        package var index: Int
        /// The class size, when known.
        package var size: Int?
        /// Live allocations.
        package var count: Change
        /// Bytes in live allocations.
        package var bytes: Change
    }
}

// MARK: - Building

extension StatsDiff {
    /// Compares two documents.
    ///
    /// - Parameters:
    ///   - before: the earlier document and its name.
    ///   - after: the later document and its name.
    ///   - options: which arena's size classes (`top` is not used); with `includeIdleClasses`,
    ///     unchanged size classes are listed too.
    /// - Throws: ``StatsInputError`` of kind `notFound` when `options.arena` is missing on a side.
    package init(
        before: (document: StatsDocument, source: String),
        after: (document: StatsDocument, source: String),
        options: StatsReport.Options = .init()
    ) throws(StatsInputError) {
        var full = options
        full.includeIdleClasses = true
        let old = try StatsReport(document: before.document, source: before.source, options: full)
        let new = try StatsReport(document: after.document, source: after.source, options: full)
        // All large classes, idle ones included (reports list only live ones).
        typealias Side = (document: StatsDocument, source: String)
        func largeRows(_ side: Side) throws(StatsInputError) -> [StatsReport.LargeClassRow] {
            let scope = try StatsReport.scope(of: side.document, requested: options.arena, source: side.source)
            var saturation = Saturation()  // already named by the side's report
            return StatsReport.largeClassRows(scope?.figures, general: side.document.general, saturation: &saturation)
        }
        self.init(
            old,
            new,
            oldLarge: try largeRows(before),
            newLarge: try largeRows(after),
            listUnchangedClasses: options.includeIdleClasses
        )
    }

    /// Compares two reports built with idle classes included, and their large classes, idle
    /// ones included (empty for a side without large-class statistics).
    init(
        _ old: StatsReport,
        _ new: StatsReport,
        oldLarge: [StatsReport.LargeClassRow],
        newLarge: [StatsReport.LargeClassRow],
        listUnchangedClasses: Bool
    ) {
        before = old.source
        after = new.source
        versionBefore = old.version
        versionAfter = new.version
        var figures: [FigureChange] = []
        var ratios: [RatioChange] = []

        func add(_ scope: String, _ figure: String, _ a: Int?, _ b: Int?, always: Bool) {
            let change = Change(before: a, after: b)
            guard always || change.changed else { return }
            figures.append(
                FigureChange(scope: scope, figure: figure, before: a, after: b, change: change.change)
            )
        }
        func add(_ scope: String, _ figure: String, _ a: Double?, _ b: Double?, always: Bool) {
            guard always || a != b else { return }
            let change = a.flatMap { a in b.map { $0 - a } }
            ratios.append(RatioChange(scope: scope, figure: figure, before: a, after: b, change: change))
        }

        let a = old.totals
        let b = new.totals
        if a != nil || b != nil {
            add("total", "allocated", a?.allocated, b?.allocated, always: true)
            add("total", "active", a?.active, b?.active, always: true)
            add("total", "metadata", a?.metadata, b?.metadata, always: true)
            add("total", "resident", a?.resident, b?.resident, always: true)
            add("total", "mapped", a?.mapped, b?.mapped, always: true)
            add("total", "retained", a?.retained, b?.retained, always: true)
            add("total", "fragmentation", a?.fragmentation, b?.fragmentation, always: true)
            add("total", "allocatedToResident", a?.allocatedToResident, b?.allocatedToResident, always: true)
        }

        let oldKeys = Set(old.arenas.map(\.arena))
        let newKeys = Set(new.arenas.map(\.arena))
        arenasOnlyBefore = oldKeys.subtracting(newKeys).sorted()
        arenasOnlyAfter = newKeys.subtracting(oldKeys).sorted()
        for key in oldKeys.intersection(newKeys).sorted() {
            let a = old.arenas.first { $0.arena == key }
            let b = new.arenas.first { $0.arena == key }
            let scope = "arena \(key)"
            add(scope, "threads", a?.threads, b?.threads, always: false)
            add(scope, "smallAllocated", a?.smallAllocated, b?.smallAllocated, always: false)
            add(scope, "largeAllocated", a?.largeAllocated, b?.largeAllocated, always: false)
            add(scope, "allocated", a?.allocated, b?.allocated, always: false)
            add(scope, "active", a?.active, b?.active, always: false)
            add(scope, "dirty", a?.dirty, b?.dirty, always: false)
            add(scope, "muzzy", a?.muzzy, b?.muzzy, always: false)
            add(scope, "resident", a?.resident, b?.resident, always: false)
            add(scope, "mapped", a?.mapped, b?.mapped, always: false)
            add(scope, "retained", a?.retained, b?.retained, always: false)
            add(scope, "metadata", a?.metadata, b?.metadata, always: false)
            add(scope, "threadCache", a?.threadCache, b?.threadCache, always: false)
            add(scope, "fragmentation", a?.fragmentation, b?.fragmentation, always: false)
        }

        self.figures = figures
        self.ratios = ratios

        switch (old.sizeClassScope, new.sizeClassScope) {
        case (let x?, let y?) where x == y: sizeClassScope = x
        case (nil, nil): sizeClassScope = nil
        case (let x, let y): sizeClassScope = "\(x ?? "none") -> \(y ?? "none")"
        }

        sizeClasses = []
        let compareSmall = !old.sizeClasses.isEmpty && !new.sizeClasses.isEmpty
        let oldClasses = Dictionary(old.sizeClasses.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        let newClasses = Dictionary(new.sizeClasses.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        for index in Set(oldClasses.keys).union(newClasses.keys).sorted() where compareSmall {
            let x = oldClasses[index]
            let y = newClasses[index]
            let row = SizeClassChange(
                index: index,
                size: y?.size ?? x?.size,
                regionsInUse: Change(before: x?.regionsInUse, after: y?.regionsInUse),
                slabs: Change(before: x?.slabs, after: y?.slabs),
                wastedBytes: Change(before: x?.wastedBytes, after: y?.wastedBytes),
                allocations: Change(
                    before: x.map { Int(clamping: $0.allocations) },
                    after: y.map { Int(clamping: $0.allocations) }
                ),
                utilizationBefore: x?.utilization,
                utilizationAfter: y?.utilization
            )
            let changed = row.regionsInUse.changed || row.slabs.changed || row.allocations.changed
            if changed || listUnchangedClasses { sizeClasses.append(row) }
        }

        largeClasses = []
        let compareLarge = !oldLarge.isEmpty && !newLarge.isEmpty
        for index in 0..<max(oldLarge.count, newLarge.count) where compareLarge {
            let x = index < oldLarge.count ? oldLarge[index] : nil
            let y = index < newLarge.count ? newLarge[index] : nil
            let row = LargeClassChange(
                index: index,
                size: y?.size ?? x?.size,
                count: Change(before: x?.count, after: y?.count),
                bytes: Change(before: x?.bytes, after: y?.bytes)
            )
            let live = (x?.count ?? 0) > 0 || (y?.count ?? 0) > 0
            if live && (row.count.changed || listUnchangedClasses) { largeClasses.append(row) }
        }

        absent = old.absent.map { "before: \($0)" } + new.absent.map { "after: \($0)" }
        notes = old.notes.map { "before: \($0)" } + new.notes.map { "after: \($0)" }
        notes += old.saturated.map { "before: saturated at 64 bits: \($0)" }
        notes += new.saturated.map { "after: saturated at 64 bits: \($0)" }
        if old.sizeClasses.isEmpty != new.sizeClasses.isEmpty {
            notes.append("small size classes are listed on one side only: not compared")
        }
        if oldLarge.isEmpty != newLarge.isEmpty {
            notes.append("large size classes are listed on one side only: not compared")
        }
    }
}
