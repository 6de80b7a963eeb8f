// The spreadsheet output: one table in long form (one figure per row), so every report kind
// has fixed columns and a pivot table recovers any wide view.

/// Builds CSV with RFC 4180 quoting and LF line ends: a header row, then records.
struct CSVWriter {
    private(set) var text = ""
    let columns: Int

    init(header: [String]) {
        columns = header.count
        append(header)
    }

    mutating func append(_ fields: [String]) {
        precondition(fields.count == columns, "CSV record has \(fields.count) fields, expected \(columns)")
        text += fields.map(Self.escape).joined(separator: ",") + "\n"
    }

    static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension String {
    /// `self` with every `target` replaced (no Foundation needed).
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// A CSV field for an optional number: empty when absent.
private func field<T>(_ value: T?) -> String {
    value.map { "\($0)" } ?? ""
}

// MARK: - read

extension StatsReport {
    /// Columns: `section,scope,index,size,figure,value`. Sections: `info`, `total`, `arena`,
    /// `size_class`, `large_class`, `top_waste`, `absent`, `note`, `saturated`; figures are named as in the JSON.
    package func renderCSV() -> String {
        var csv = CSVWriter(header: ["section", "scope", "index", "size", "figure", "value"])
        csv.append(["info", "", "", "", "source", source])
        if let version { csv.append(["info", "", "", "", "version", version]) }
        if let totals {
            let figures: [(String, String)] = [
                ("allocated", field(totals.allocated)), ("active", field(totals.active)),
                ("metadata", field(totals.metadata)), ("resident", field(totals.resident)),
                ("mapped", field(totals.mapped)), ("retained", field(totals.retained)),
                ("fragmentation", field(totals.fragmentation)),
                ("allocatedToResident", field(totals.allocatedToResident)),
            ]
            for (name, value) in figures where !value.isEmpty {
                csv.append(["total", "total", "", "", name, value])
            }
        }
        for row in arenas {
            let figures: [(String, String)] = [
                ("threads", field(row.threads)), ("smallAllocated", field(row.smallAllocated)),
                ("largeAllocated", field(row.largeAllocated)), ("allocated", field(row.allocated)),
                ("active", field(row.active)), ("dirty", field(row.dirty)), ("muzzy", field(row.muzzy)),
                ("resident", field(row.resident)), ("mapped", field(row.mapped)), ("retained", field(row.retained)),
                ("metadata", field(row.metadata)), ("threadCache", field(row.threadCache)),
                ("fragmentation", field(row.fragmentation)),
            ]
            for (name, value) in figures where !value.isEmpty {
                csv.append(["arena", row.arena.description, "", "", name, value])
            }
        }
        let scope = sizeClassScope ?? ""
        for row in sizeClasses {
            for (name, value) in Self.csvFigures(row) where !value.isEmpty {
                csv.append(["size_class", scope, String(row.index), field(row.size), name, value])
            }
        }
        for row in largeClasses {
            csv.append(["large_class", scope, String(row.index), field(row.size), "count", String(row.count)])
            if let bytes = row.bytes {
                csv.append(["large_class", scope, String(row.index), field(row.size), "bytes", String(bytes)])
            }
        }
        for (rank, row) in topWasters.enumerated() {
            csv.append(["top_waste", scope, String(row.index), field(row.size), "rank", String(rank + 1)])
        }
        for line in absent { csv.append(["absent", "", "", "", "", line]) }
        for line in notes { csv.append(["note", "", "", "", "", line]) }
        for line in saturated { csv.append(["saturated", "", "", "", "", line]) }
        return csv.text
    }

    /// A size class's figures, named as in the JSON; absent ones are empty.
    static func csvFigures(_ row: SizeClassRow) -> [(String, String)] {
        [
            ("regionsPerSlab", field(row.regionsPerSlab)), ("regionsInUse", String(row.regionsInUse)),
            ("slabs", String(row.slabs)), ("nonfullSlabs", String(row.nonfullSlabs)),
            ("capacity", field(row.capacity)), ("utilization", field(row.utilization)),
            ("allocatedBytes", field(row.allocatedBytes)), ("wastedBytes", field(row.wastedBytes)),
            ("allocations", String(row.allocations)), ("deallocations", String(row.deallocations)),
        ]
    }
}

// MARK: - diff

extension StatsDiff {
    /// Columns: `section,scope,index,size,figure,before,after,change`. Sections: `info`,
    /// `arena_only` (an arena one side lists), `figure`, `ratio`, `size_class`, `large_class`,
    /// `absent`, `note`.
    package func renderCSV() -> String {
        var csv = CSVWriter(header: ["section", "scope", "index", "size", "figure", "before", "after", "change"])
        csv.append(["info", "", "", "", "source", before, after, ""])
        if versionBefore != nil || versionAfter != nil {
            csv.append(["info", "", "", "", "version", field(versionBefore), field(versionAfter), ""])
        }
        for key in arenasOnlyBefore { csv.append(["arena_only", "arena \(key)", "", "", "listed", "yes", "", ""]) }
        for key in arenasOnlyAfter { csv.append(["arena_only", "arena \(key)", "", "", "listed", "", "yes", ""]) }
        for change in figures {
            csv.append([
                "figure", change.scope, "", "", change.figure, field(change.before), field(change.after),
                field(change.change),
            ])
        }
        for change in ratios {
            csv.append([
                "ratio", change.scope, "", "", change.figure, field(change.before), field(change.after),
                field(change.change),
            ])
        }
        let scope = sizeClassScope ?? ""
        for row in sizeClasses {
            let changes: [(String, Change)] = [
                ("regionsInUse", row.regionsInUse), ("slabs", row.slabs), ("wastedBytes", row.wastedBytes),
                ("allocations", row.allocations),
            ]
            for (name, change) in changes {
                csv.append([
                    "size_class", scope, String(row.index), field(row.size), name, field(change.before),
                    field(change.after), field(change.change),
                ])
            }
            let utilizationChange = row.utilizationBefore.flatMap { a in row.utilizationAfter.map { $0 - a } }
            csv.append([
                "size_class", scope, String(row.index), field(row.size), "utilization", field(row.utilizationBefore),
                field(row.utilizationAfter), field(utilizationChange),
            ])
        }
        for row in largeClasses {
            for (name, change) in [("count", row.count), ("bytes", row.bytes)] {
                csv.append([
                    "large_class", scope, String(row.index), field(row.size), name, field(change.before),
                    field(change.after), field(change.change),
                ])
            }
        }
        for line in absent { csv.append(["absent", "", "", "", "", "", "", line]) }
        for line in notes { csv.append(["note", "", "", "", "", "", "", line]) }
        return csv.text
    }
}

// MARK: - run

extension RunReport {
    /// Columns: `phase,section,index,size,figure,ours,jemalloc`. Sections: `info`,
    /// `comparison`, `size_class`, `large_class` (size classes in the jemalloc column),
    /// `profile` (the sampling settings and totals), `site` (one row per figure of each top
    /// site, `index` its rank: `function`, `image`, `sampledRegions`, `estimatedLiveBytes`,
    /// `estimatedPinnedBytes`), `absent`, `note`.
    package func renderCSV() -> String {
        var csv = CSVWriter(header: ["phase", "section", "index", "size", "figure", "ours", "jemalloc"])
        let info: [(String, String)] = [
            ("workload", workload.rawValue), ("seed", String(seed)), ("scale", String(scale)),
            ("chunkSize", String(chunkSize)), ("limit", field(limit)), ("requests", String(requests)),
            ("requestedBytes", String(requestedBytes)), ("survivors", String(survivors)),
            ("survivingBytes", String(survivingBytes)),
        ]
        for (name, value) in info where !value.isEmpty { csv.append(["", "info", "", "", name, value, ""]) }
        if let jemallocArena { csv.append(["", "info", "", "", "jemallocArena", "", String(jemallocArena)]) }
        if let jemallocVersion { csv.append(["", "info", "", "", "jemallocVersion", "", jemallocVersion]) }
        for phase in phases {
            for comparison in phase.comparison {
                csv.append([
                    phase.name, "comparison", "", "", comparison.figure, field(comparison.ours),
                    field(comparison.jemalloc),
                ])
            }
            for row in phase.sizeClasses {
                for (name, value) in StatsReport.csvFigures(row) where !value.isEmpty {
                    csv.append([phase.name, "size_class", String(row.index), field(row.size), name, "", value])
                }
            }
            for row in phase.largeClasses {
                csv.append([
                    phase.name, "large_class", String(row.index), field(row.size), "count", "", String(row.count),
                ])
            }
        }
        let profileFigures: [(String, String)] = [
            ("sampleInterval", field(profile.sampleInterval)), ("sampleSeed", field(profile.sampleSeed)),
            ("sampledRegions", String(profile.sampledRegions)), ("siteCount", String(profile.siteCount)),
            ("estimatedLiveBytes", String(profile.estimatedLiveBytes)),
            ("estimatedPinnedBytes", String(profile.estimatedPinnedBytes)),
        ]
        for (name, value) in profileFigures where !value.isEmpty {
            csv.append([profile.moment, "profile", "", "", name, value, ""])
        }
        for (rank, site) in profile.sites.enumerated() {
            let figures: [(String, String)] = [
                ("function", site.function), ("image", site.image), ("sampledRegions", String(site.sampledRegions)),
                ("estimatedLiveBytes", String(site.estimatedLiveBytes)),
                ("estimatedPinnedBytes", String(site.estimatedPinnedBytes)),
            ]
            for (name, value) in figures {
                csv.append([profile.moment, "site", String(rank + 1), "", name, value, ""])
            }
        }
        for line in absent { csv.append(["", "absent", "", "", "", "", line]) }
        for line in notes { csv.append(["", "note", "", "", "", "", line]) }
        return csv.text
    }
}
