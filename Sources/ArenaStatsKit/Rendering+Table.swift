// The terminal output: a few titled sections of aligned tables, utilization as bar charts.

import Arena
import ArenaToolSupport

/// Accumulates titled sections separated by blank lines.
struct Sections {
    private(set) var lines: [String] = []

    mutating func title(_ text: String) {
        if !lines.isEmpty { lines.append("") }
        lines.append(text)
    }

    mutating func line(_ text: String) {
        lines.append(text)
    }

    mutating func table(_ table: TextTable) {
        lines.append(table.render())
    }

    mutating func list(_ title: String, _ items: [String]) {
        guard !items.isEmpty else { return }
        self.title(title)
        for item in items { lines.append("  - \(item)") }
    }

    var text: String { lines.joined(separator: "\n") }
}

// MARK: - read

extension StatsReport {
    /// The report as aligned tables: totals, arenas, size classes with a utilization chart,
    /// large classes, the most wasteful classes, then what is absent.
    package func renderTable(_ options: TableOptions) -> String {
        var out = Sections()
        out.line("\(source): jemalloc \(version ?? "(version absent)")")

        if let totals {
            out.title("Totals")
            var table = TextTable([.init("figure", .left), .init("bytes"), .init("readable / formula", .left)])
            let figures: [(String, Int?)] = [
                ("allocated", totals.allocated), ("active", totals.active), ("metadata", totals.metadata),
                ("resident", totals.resident), ("mapped", totals.mapped), ("retained", totals.retained),
            ]
            for (name, value) in figures {
                table.append([name, Format.cell(value), value == nil ? "absent" : Format.humanBytes(value)])
            }
            table.append(["fragmentation", Format.percent(totals.fragmentation), "1 - allocated/active"])
            table.append(["allocated/resident", Format.percent(totals.allocatedToResident), ""])
            out.table(table)
        }

        if !arenas.isEmpty {
            out.title("Arenas")
            var table = TextTable([
                .init("arena", .left), .init("threads"), .init("small"), .init("large"), .init("active"),
                .init("dirty"), .init("resident"), .init("mapped"), .init("metadata"), .init("frag"),
            ])
            for row in arenas {
                table.append([
                    row.arena.description, Format.cell(row.threads), Format.humanBytes(row.smallAllocated),
                    Format.humanBytes(row.largeAllocated), Format.humanBytes(row.active),
                    Format.humanBytes(row.dirty), Format.humanBytes(row.resident), Format.humanBytes(row.mapped),
                    Format.humanBytes(row.metadata), Format.percent(row.fragmentation),
                ])
            }
            out.table(table)
        }

        let scope = sizeClassScope.map { " (\($0))" } ?? ""
        if !sizeClasses.isEmpty {
            out.title("Small size classes\(scope)")
            out.table(Self.sizeClassTable(sizeClasses, barWidth: options.barWidth))
        }
        if !largeClasses.isEmpty {
            out.title("Large size classes in use\(scope)")
            var table = TextTable([.init("index"), .init("size"), .init("count"), .init("bytes")])
            for row in largeClasses {
                table.append([
                    String(row.index), Format.cell(row.size), String(row.count), Format.humanBytes(row.bytes),
                ])
            }
            out.table(table)
        }
        if !topWasters.isEmpty {
            out.title("Most wasteful size classes\(scope)")
            var table = TextTable([
                .init("rank"), .init("size"), .init("wasted"), .init("free regions"), .init("util"),
            ])
            for (rank, row) in topWasters.enumerated() {
                let free = row.capacity.map { $0 - row.regionsInUse }
                table.append([
                    String(rank + 1), Format.cell(row.size), Format.humanBytes(row.wastedBytes), Format.cell(free),
                    Format.percent(row.utilization),
                ])
            }
            out.table(table)
        }
        out.list("Absent", absent)
        out.list("Notes", notes)
        out.list("Saturated (too large for 64 bits; shown as 9223372036854775807, not exact)", saturated)
        return out.text
    }

    /// Size classes with their utilization as a bar chart (no chart when `barWidth` is 0).
    static func sizeClassTable(_ rows: [SizeClassRow], barWidth: Int) -> TextTable {
        var columns: [TextTable.Column] = [
            .init("index"), .init("size"), .init("regs/slab"), .init("slabs"), .init("in use"), .init("util"),
            .init("wasted"),
        ]
        if barWidth > 0 { columns.append(.init("utilization", .left)) }
        var table = TextTable(columns)
        for row in rows {
            var cells = [
                String(row.index), Format.cell(row.size), Format.cell(row.regionsPerSlab), String(row.slabs),
                String(row.regionsInUse), Format.percent(row.utilization), Format.humanBytes(row.wastedBytes),
            ]
            if barWidth > 0 {
                let bar =
                    row.size == nil ? Format.unknownBar(width: barWidth) : Format.bar(row.utilization, width: barWidth)
                cells.append("|" + bar + "|")
            }
            table.append(cells)
        }
        return table
    }
}

// MARK: - diff

extension StatsDiff {
    /// The changes as aligned tables: totals, changed arena figures, changed size classes.
    package func renderTable(_ options: TableOptions) -> String {
        var out = Sections()
        out.line("\(before) -> \(after)")
        if versionBefore != versionAfter {
            out.line("jemalloc \(versionBefore ?? "(version absent)") -> \(versionAfter ?? "(version absent)")")
        } else if let versionAfter {
            out.line("jemalloc \(versionAfter)")
        }

        let scopes = (figures.map(\.scope) + ratios.map(\.scope)).reduce(into: [String]()) { scopes, scope in
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        for (title, wanted) in [("Totals", true), ("Arena figures that changed", false)] {
            var table = TextTable([
                .init("scope", .left), .init("figure", .left), .init("before"), .init("after"), .init("change"),
            ])
            for scope in scopes where (scope == "total") == wanted {
                for change in figures where change.scope == scope {
                    let isCount = change.figure == "threads"
                    table.append([
                        change.scope, Format.words(change.figure),
                        isCount ? Format.cell(change.before) : Format.humanBytes(change.before),
                        isCount ? Format.cell(change.after) : Format.humanBytes(change.after),
                        isCount ? Format.signed(change.change) : Format.humanChange(change.change),
                    ])
                }
                for change in ratios where change.scope == scope {
                    let points = change.change.map { ($0 >= 0 ? "+" : "") + Format.fixed($0 * 100, digits: 1) + " pt" }
                    table.append([
                        change.scope, Format.words(change.figure), Format.percent(change.before),
                        Format.percent(change.after), points ?? "-",
                    ])
                }
            }
            guard !table.rows.isEmpty else { continue }
            out.title(title)
            out.table(table)
        }
        var listed: [String] = []
        if !arenasOnlyBefore.isEmpty {
            listed.append("only before: " + arenasOnlyBefore.map(\.description).joined(separator: ", "))
        }
        if !arenasOnlyAfter.isEmpty {
            listed.append("only after: " + arenasOnlyAfter.map(\.description).joined(separator: ", "))
        }
        out.list("Arenas listed on one side", listed)

        let scope = sizeClassScope.map { " (\($0))" } ?? ""
        if !sizeClasses.isEmpty {
            out.title("Small size classes that changed\(scope)")
            var columns: [TextTable.Column] = [
                .init("index"), .init("size"), .init("in use"), .init("change"), .init("slabs"), .init("change"),
                .init("wasted"), .init("change"), .init("util before"), .init("util after"),
            ]
            if options.barWidth > 0 { columns.append(.init("utilization after", .left)) }
            var table = TextTable(columns)
            for row in sizeClasses {
                var cells = [
                    String(row.index), Format.cell(row.size), Format.cell(row.regionsInUse.after),
                    Format.signed(row.regionsInUse.change), Format.cell(row.slabs.after),
                    Format.signed(row.slabs.change), Format.humanBytes(row.wastedBytes.after),
                    Format.humanChange(row.wastedBytes.change), Format.percent(row.utilizationBefore),
                    Format.percent(row.utilizationAfter),
                ]
                if options.barWidth > 0 {
                    let width = options.barWidth
                    let bar =
                        row.size == nil
                        ? Format.unknownBar(width: width) : Format.bar(row.utilizationAfter, width: width)
                    cells.append("|" + bar + "|")
                }
                table.append(cells)
            }
            out.table(table)
        }
        if !largeClasses.isEmpty {
            out.title("Large size classes that changed\(scope)")
            var table = TextTable([
                .init("index"), .init("size"), .init("before"), .init("after"), .init("change"), .init("bytes change"),
            ])
            for row in largeClasses {
                table.append([
                    String(row.index), Format.cell(row.size), Format.cell(row.count.before),
                    Format.cell(row.count.after), Format.signed(row.count.change), Format.humanChange(row.bytes.change),
                ])
            }
            out.table(table)
        }
        if sizeClasses.isEmpty && largeClasses.isEmpty && !notes.contains(where: { $0.hasSuffix("not compared") }) {
            out.title("No size class changed\(scope)")
        }
        out.list("Absent", absent)
        out.list("Notes", notes)
        return out.text
    }
}

// MARK: - run

extension RunReport {
    /// Figures that count things rather than bytes.
    static let countFigures: Set<String> = ["liveBlocks", "allocations", "chunkRefills", "limitHits"]

    /// Our figures beside jemalloc's for each phase, then the arena's size classes while the
    /// workload's regions are alive.
    package func renderTable(_ options: TableOptions) -> String {
        var out = Sections()
        out.line("workload \(workload): \(summary)")
        out.line(
            "  seed \(seed), scale \(scale), chunk size \(Format.humanBytes(chunkSize))"
                + (limit.map { ", limit \(Format.humanBytes($0))" } ?? "")
        )
        out.line(
            "  requested \(requests) regions, \(Format.humanBytes(requestedBytes)); "
                + "\(survivors) alive at the end, \(Format.humanBytes(survivingBytes))"
        )
        out.line(samplingLine)
        if let jemallocArena {
            out.line("  jemalloc arena \(jemallocArena), jemalloc \(jemallocVersion ?? "(version unknown)")")
        }

        out.title(
            "Ours beside jemalloc's, by phase (live: regions alive; released: all dropped; purged: after purge())"
        )
        var columns: [TextTable.Column] = [.init("figure", .left)]
        for phase in phases {
            columns.append(.init("\(phase.name): ours"))
            columns.append(.init("jemalloc"))
        }
        var table = TextTable(columns)
        let figures = phases.first?.comparison.map(\.figure) ?? []
        for (index, figure) in figures.enumerated() {
            let isCount = Self.countFigures.contains(figure)
            var cells = [Format.words(figure)]
            for phase in phases {
                let comparison = phase.comparison[index]
                cells.append(isCount ? Format.cell(comparison.ours) : Format.humanBytes(comparison.ours))
                cells.append(isCount ? Format.cell(comparison.jemalloc) : Format.humanBytes(comparison.jemalloc))
            }
            table.append(cells)
        }
        out.table(table)
        out.list("Figures", phases.first?.comparison.map { "\(Format.words($0.figure)): \($0.note)" } ?? [])

        out.title("Pinned chunks by phase (chunks no longer carved from, kept alive by views)")
        out.table(Self.pinnedTable(phases, barWidth: options.barWidth))

        out.title(profile.title)
        if profile.siteCount == 0 {
            out.line("  no sampled region alive")
        } else {
            let counted = phases.first { $0.name == profile.moment }.map {
                "; counted: \(Format.humanBytes(survivingBytes)) in surviving regions, "
                    + "\(Format.humanBytes($0.ours.pinnedBytes)) in pinned chunks"
            }
            out.line(
                "  all \(profile.siteCount) site\(profile.siteCount == 1 ? "" : "s"): estimated "
                    + "\(Format.humanBytes(profile.estimatedLiveBytes)) live, "
                    + "\(Format.humanBytes(profile.estimatedPinnedBytes)) pinned\(counted ?? "")"
            )
            if profile.sites.isEmpty {
                out.line("  none listed (--top 0)")
            } else if profile.sites.count < profile.siteCount {
                out.line("  the top \(profile.sites.count) listed (--top)")
            }
            if !profile.sites.isEmpty { out.table(profile.table(barWidth: options.barWidth)) }
        }

        if let live = phases.first, let jemallocArena {
            if !live.sizeClasses.isEmpty {
                out.title("Small size classes of jemalloc arena \(jemallocArena) (\(live.name))")
                out.table(StatsReport.sizeClassTable(live.sizeClasses, barWidth: options.barWidth))
            }
            if !live.largeClasses.isEmpty {
                out.title("Large size classes of jemalloc arena \(jemallocArena) (\(live.name))")
                var table = TextTable([.init("index"), .init("size"), .init("count"), .init("bytes")])
                for row in live.largeClasses {
                    table.append([
                        String(row.index), Format.cell(row.size), String(row.count), Format.humanBytes(row.bytes),
                    ])
                }
                out.table(table)
            }
        }
        out.list("Absent", absent)
        out.list("Notes", notes)
        return out.text
    }

    /// The sampling settings, in the run's header.
    var samplingLine: String {
        guard let interval = profile.sampleInterval else { return "  allocation sites not sampled" }
        let isDefault = interval == ArenaAllocator.Configuration.defaultSampleInterval
        return "  allocation sites sampled every \(Format.humanBytes(interval)) on average"
            + (isDefault ? " (the default interval)" : "") + (profile.sampleSeed.map { ", sample seed \($0)" } ?? "")
    }

    /// Pinned chunks, their bytes and references, and the chunks by references that keep each
    /// (1, 2-4, 5-16, >16) as a bar chart of each bucket's share of the phase's pinned chunks.
    static func pinnedTable(_ phases: [Phase], barWidth: Int) -> TextTable {
        var columns: [TextTable.Column] = [.init("phase", .left), .init("figure", .left), .init("value")]
        if barWidth > 0 { columns.append(.init("share", .left)) }
        var table = TextTable(columns)
        for phase in phases {
            let statistics = phase.ours
            table.append([phase.name, "pinned chunks", String(statistics.pinnedChunks)])
            table.append(["", "pinned bytes", Format.humanBytes(statistics.pinnedBytes)])
            table.append(["", "references pinning them", String(statistics.pinningReferences)])
            for bucket in statistics.pinningReferenceHistogram.buckets {
                let share = statistics.pinnedChunks > 0 ? Double(bucket.chunks) / Double(statistics.pinnedChunks) : 0
                var cells = ["", "chunks held by \(bucket.label)", String(bucket.chunks)]
                if barWidth > 0 { cells.append("|" + Format.bar(share, width: barWidth) + "|") }
                table.append(cells)
            }
        }
        return table
    }
}

extension ProfileSummary {
    /// The section's title: which phase, the sampled regions and that the figures are estimates.
    var title: String {
        "Top allocation sites (\(moment): \(sampledRegions) sampled region\(sampledRegions == 1 ? "" : "s") alive; "
            + "estimated live and pinned bytes, most pinned first)"
    }

    /// The top sites: the function (shortened), its sampled regions, estimated live and pinned
    /// bytes, and each site's share of the estimated live bytes of all sites as a bar chart.
    func table(barWidth: Int) -> TextTable {
        var columns: [TextTable.Column] = [
            .init("rank"), .init("function", .left), .init("samples"), .init("live (est.)"),
            .init("pinned (est.)"), .init("live share"),
        ]
        if barWidth > 0 { columns.append(.init("share of live", .left)) }
        var table = TextTable(columns)
        for (rank, site) in sites.enumerated() {
            let share = liveShare(of: site)
            var cells = [
                String(rank + 1), Format.siteName(site.function), String(site.sampledRegions),
                Format.humanBytes(site.estimatedLiveBytes), Format.humanBytes(site.estimatedPinnedBytes),
                Format.percent(share),
            ]
            if barWidth > 0 { cells.append("|" + Format.bar(share, width: barWidth) + "|") }
            table.append(cells)
        }
        return table
    }
}
