import ArenaStatsKit
import ArenaTestSupport
import Foundation
import Testing

/// `arena-stats read` on dumps printed by real jemalloc-linked processes, checked against
/// figures computed independently from the same JSON.
@Suite(.timeLimit(.minutes(5))) struct ReadTests {
    @Test func reportsTheFiguresOfARealDump() throws {
        let dump = try JemallocDumps.full.get()
        let expected = try Expected(dump: dump)
        try #require(!expected.sizeClasses.isEmpty && !expected.arenas.isEmpty, "the dump should have arenas and bins")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("full.json", dump)

        let report = try ArenaStatsTool.json(StatsReport.self, ["read", file])
        check(report, against: expected)
        #expect(report.source == file)
        #expect(report.absent.isEmpty)
        #expect(report.notes.isEmpty)
    }

    @Test func csvCarriesTheSameFigures() throws {
        let dump = try JemallocDumps.full.get()
        let expected = try Expected(dump: dump)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("full.json", dump)

        let result = try ArenaStatsTool.run(["read", file, "--csv"])
        try #require(result.status == 0, "\(result.stderrText)")
        let records = parseCSV(result.stdoutText)
        #expect(records.first == ["section", "scope", "index", "size", "figure", "value"])
        #expect(records.allSatisfy { $0.count == 6 })
        func value(_ section: String, _ figure: String, index: Int? = nil) -> String? {
            records.first { $0[0] == section && $0[4] == figure && (index == nil || $0[2] == String(index!)) }?[5]
        }
        for (name, figure) in expected.totals {
            #expect(value("total", name) == String(figure), "total \(name)")
        }
        #expect(close(value("total", "fragmentation").flatMap(Double.init), expected.fragmentation))
        for sizeClass in expected.sizeClasses {
            #expect(value("size_class", "regionsInUse", index: sizeClass.index) == String(sizeClass.regionsInUse))
            #expect(
                value("size_class", "wastedBytes", index: sizeClass.index) == sizeClass.wastedBytes.map(String.init)
            )
            #expect(
                close(
                    value("size_class", "utilization", index: sizeClass.index).flatMap(Double.init),
                    sizeClass.utilization
                )
            )
        }
        let ranked = records.filter { $0[0] == "top_waste" }.map { Int($0[2])! }
        #expect(ranked == expected.topWasters)
    }

    @Test func tableIsAlignedAndChartsUtilization() throws {
        let dump = try JemallocDumps.full.get()
        let expected = try Expected(dump: dump)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("full.json", dump)

        let result = try ArenaStatsTool.run(["read", file, "--bar-width", "16"])
        try #require(result.status == 0, "\(result.stderrText)")
        let text = result.stdoutText
        expectAlignedTables(text)
        #expect(text.contains("\(expected.totals["allocated"]!)"))
        #expect(text.contains("fragmentation"))

        let section = try #require(tableSection(text, titled: "Small size classes (\(expected.scope!))"))
        let rows = section.dropFirst(2)  // header and rule
        #expect(rows.count == expected.sizeClasses.count)
        for (row, sizeClass) in zip(rows, expected.sizeClasses) {
            let cells = row.split(separator: " ", omittingEmptySubsequences: true)
            #expect(cells.first.map(String.init) == String(sizeClass.index))
            // The bar between the pipes: full blocks for each whole eighth-column step.
            let bar = try #require(row.split(separator: "|", omittingEmptySubsequences: false).dropFirst().first)
            #expect(bar.count == 16)
            let eighths = Int((sizeClass.utilization! * 16 * 8).rounded())
            #expect(bar.filter { $0 == "█" }.count == eighths / 8, "bar of class \(sizeClass.index): \(bar)")
        }
        let wasters = try #require(tableSection(text, titled: "Most wasteful size classes (\(expected.scope!))"))
        let sizes = wasters.dropFirst(2).map { $0.split(separator: " ")[1] }
        let expectedSizes = expected.topWasters.map { index in
            String(expected.sizeClasses.first { $0.index == index }!.size!)
        }
        #expect(sizes.map(String.init) == expectedSizes)
    }

    @Test func readsStandardInput() throws {
        let dump = try JemallocDumps.full.get()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("full.json", dump)

        let result = try ArenaStatsTool.run(["read", "-", "--json"], stdin: file)
        try #require(result.status == 0, "\(result.stderrText)")
        var report = try JSONDecoder().decode(StatsReport.self, from: Data(result.stdout))
        #expect(report.source == "<stdin>")
        report.source = file
        #expect(report == (try ArenaStatsTool.json(StatsReport.self, ["read", file])))
    }

    @Test func skipsOtherOutputAroundTheJSON() throws {
        let dump = try JemallocDumps.full.get()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prefix = Array("Warning: something the process printed\n".utf8)
        let file = try directory.write("mixed.log", prefix + dump + Array("Goodbye\n".utf8))

        let report = try ArenaStatsTool.json(StatsReport.self, ["read", file])
        check(report, against: try Expected(dump: dump))
        #expect(report.notes.contains("skipped \(prefix.count) bytes of other output before the JSON statistics"))
        #expect(report.notes.contains { $0.hasPrefix("ignored") })
    }

    @Test func picksTheArenaAskedFor() throws {
        let dump = try JemallocDumps.full.get()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("full.json", dump)

        let report = try ArenaStatsTool.json(StatsReport.self, ["read", file, "--arena", "0", "--top", "2"])
        #expect(report.sizeClassScope == "arena 0")
        #expect(report.topWasters.count <= 2)
        // Arena 0's bins, read independently.
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump)) as? [String: Any])
        let jemalloc = root["jemalloc"] as! [String: Any]
        let arena = (jemalloc["stats.arenas"] as! [String: Any])["0"] as! [String: Any]
        let bins = arena["bins"] as! [[String: Any]]
        let used = bins.enumerated().filter { ($0.element["curslabs"] as! NSNumber).intValue > 0 }
        #expect(report.sizeClasses.map(\.index) == used.map(\.offset))
        #expect(report.sizeClasses.map(\.regionsInUse) == used.map { ($0.element["curregs"] as! NSNumber).intValue })

        let all = try ArenaStatsTool.json(StatsReport.self, ["read", file, "--arena", "0", "--all-classes"])
        #expect(all.sizeClasses.map(\.index) == Array(bins.indices), "--all-classes lists idle classes too")
    }

    /// What each printing option leaves out, and how the report must say so.
    static let omissionCases: [(options: String, mentions: [String])] = [
        ("Jg", ["'g'"]),
        ("Jm", []),
        ("Ja", []),
        ("Jb", ["'b'"]),
        ("Jl", ["'l'"]),
        ("Jx", ["'x'"]),
        ("Jgbl", ["'g'", "'b'", "'l'"]),
        ("Jmdablxeh", ["'m', 'd', 'a'", "'x'"]),
        ("Jgmdablxeh", ["'g'", "'m', 'd', 'a'", "'x'"]),
    ]

    @Test(arguments: omissionCases.map(\.options))
    func summarizesDocumentsPrintedWithOmissions(options: String) throws {
        let mentions = Self.omissionCases.first { $0.options == options }!.mentions
        let dump = try JemallocDumps.dump(options: options)
        let expected = try Expected(dump: dump)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("\(options).json", dump)

        let report = try ArenaStatsTool.json(StatsReport.self, ["read", file])
        check(report, against: expected)
        for mention in mentions {
            #expect(report.absent.contains { $0.contains(mention) }, "\(options): absent should mention \(mention)")
        }
        let numbered = expected.arenas.filter { Int($0.key) != nil }
        if options.contains("m") && !options.contains("a") && numbered.count > 1 {
            #expect(report.absent.contains { $0.contains("'m'") })
            #expect(report.sizeClassScope?.hasPrefix("sum of arenas") == true)
        }
        if options.contains("a") && !options.contains("m") && expected.arenas.map(\.key) == ["merged"] {
            #expect(report.absent.contains { $0.contains("'a'") })
        }
        if options.contains("b") { #expect(report.sizeClasses.isEmpty) }
        if options.contains("l") { #expect(report.largeClasses.isEmpty) }
        if options.contains("g") {
            #expect(report.version == nil)
            #expect(report.sizeClasses.allSatisfy { $0.size == nil && $0.wastedBytes == nil })
        }

        let table = try ArenaStatsTool.run(["read", file])
        #expect(table.status == 0)
        expectAlignedTables(table.stdoutText)
        for mention in mentions { #expect(table.stdoutText.contains(mention)) }
    }
}

// MARK: - Helpers

/// Checks every figure of `report` against the independent walk.
func check(_ report: StatsReport, against expected: Expected, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(report.version == expected.version, sourceLocation: sourceLocation)
    for (name, value) in expected.totals {
        let figure: Int? =
            switch name {
            case "allocated": report.totals?.allocated
            case "active": report.totals?.active
            case "metadata": report.totals?.metadata
            case "resident": report.totals?.resident
            case "mapped": report.totals?.mapped
            case "retained": report.totals?.retained
            default: nil
            }
        #expect(figure == value, "total \(name)", sourceLocation: sourceLocation)
    }
    #expect(close(report.totals?.fragmentation, expected.fragmentation), sourceLocation: sourceLocation)
    #expect(close(report.totals?.allocatedToResident, expected.allocatedToResident), sourceLocation: sourceLocation)

    let arenas = report.arenas.map {
        Expected.Arena(
            key: $0.arena.description,
            smallAllocated: $0.smallAllocated,
            largeAllocated: $0.largeAllocated,
            active: $0.active
        )
    }
    #expect(arenas == expected.arenas, sourceLocation: sourceLocation)
    #expect(report.sizeClassScope == expected.scope, sourceLocation: sourceLocation)

    let classes = report.sizeClasses.map {
        Expected.SizeClass(
            index: $0.index,
            size: $0.size,
            regionsPerSlab: $0.regionsPerSlab,
            regionsInUse: $0.regionsInUse,
            slabs: $0.slabs,
            utilization: $0.utilization,
            wastedBytes: $0.wastedBytes
        )
    }
    #expect(classes.count == expected.sizeClasses.count, sourceLocation: sourceLocation)
    for (got, want) in zip(classes, expected.sizeClasses) {
        var gotRounded = got
        gotRounded.utilization = nil
        var wantRounded = want
        wantRounded.utilization = nil
        #expect(gotRounded == wantRounded, sourceLocation: sourceLocation)
        #expect(close(got.utilization, want.utilization), "class \(want.index)", sourceLocation: sourceLocation)
    }
    #expect(report.largeClasses.map(\.index) == expected.largeClasses.map(\.index), sourceLocation: sourceLocation)
    #expect(report.largeClasses.map(\.count) == expected.largeClasses.map(\.count), sourceLocation: sourceLocation)
    #expect(report.largeClasses.map(\.bytes) == expected.largeClasses.map(\.bytes), sourceLocation: sourceLocation)
    #expect(report.topWasters.map(\.index) == expected.topWasters, sourceLocation: sourceLocation)
}

/// The lines of the table under the line `title` (header, rule, rows), up to the next blank line.
func tableSection(_ text: String, titled title: String) -> [Substring]? {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let start = lines.firstIndex(where: { $0 == title }) else { return nil }
    return Array(lines[(start + 1)...].prefix { !$0.isEmpty })
}

/// Checks that every table in `text` is aligned: wherever a table's rule of dashes has the
/// gap between two columns, every line of that table has spaces too.
func expectAlignedTables(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
    var tables = 0
    for (index, line) in lines.enumerated()
    where index > 0 && line.contains("-") && line.allSatisfy({ $0 == " " || $0 == "-" }) {
        tables += 1
        var gaps: [Int] = []
        for (column, character) in line.enumerated() where character == " " && column > 0 && line[column - 1] == "-" {
            gaps.append(column)
            if column + 1 < line.count { gaps.append(column + 1) }
        }
        var members = [lines[index - 1]]
        var next = index + 1
        while next < lines.count && !lines[next].isEmpty {
            members.append(lines[next])
            next += 1
        }
        for member in members {
            for gap in gaps where gap < member.count {
                #expect(member[gap] == " ", "misaligned: \(String(member))", sourceLocation: sourceLocation)
            }
        }
    }
    #expect(tables > 0, "no tables in the output", sourceLocation: sourceLocation)
}

/// A small RFC 4180 reader for the tool's CSV.
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var quoted = false
    var iterator = Array(text).makeIterator()
    var pending: Character? = nil
    while let character = pending ?? iterator.next() {
        pending = nil
        if quoted {
            if character == "\"" {
                if let next = iterator.next() {
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else {
                    quoted = false
                }
            } else {
                field.append(character)
            }
            continue
        }
        switch character {
        case "\"": quoted = true
        case ",":
            record.append(field)
            field = ""
        case "\n":
            record.append(field)
            records.append(record)
            record = []
            field = ""
        default: field.append(character)
        }
    }
    if !field.isEmpty || !record.isEmpty { records.append(record + [field]) }
    return records
}
