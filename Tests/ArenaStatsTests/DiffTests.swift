import ArenaStatsKit
import ArenaTestSupport
import Foundation
import Testing

/// `arena-stats diff` between dumps of two real processes, checked against the dumps.
@Suite(.timeLimit(.minutes(5))) struct DiffTests {
    /// Two dumps of single-threaded runs, one making four times the requests of the other.
    static let pair = Result {
        (try JemallocDumps.dump(count: 1500, threads: 1), try JemallocDumps.dump(count: 6000, threads: 1))
    }

    /// Per bin of the size-class scope: (curregs, curslabs, nmalloc), read independently.
    static func bins(_ dump: [UInt8]) throws -> [[Int]] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump)) as? [String: Any])
        let arenas = (root["jemalloc"] as! [String: Any])["stats.arenas"] as! [String: Any]
        let keys = arenas["merged"] != nil ? ["merged"] : Array(arenas.keys)
        var sums: [[Int]] = []
        for key in keys {
            let bins = (arenas[key] as! [String: Any])["bins"] as! [[String: Any]]
            for (index, bin) in bins.enumerated() {
                let values = ["curregs", "curslabs", "nmalloc"].map { (bin[$0] as! NSNumber).intValue }
                if index == sums.count { sums.append(values) } else { sums[index] = zip(sums[index], values).map(+) }
            }
        }
        return sums
    }

    @Test func reportsWhatChangedBetweenTwoRealDumps() throws {
        let (first, second) = try Self.pair.get()
        let a = try Expected(dump: first)
        let b = try Expected(dump: second)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let before = try directory.write("before.json", first)
        let after = try directory.write("after.json", second)

        let diff = try ArenaStatsTool.json(StatsDiff.self, ["diff", before, after])
        #expect(diff.before == before && diff.after == after)
        for name in ["allocated", "active", "metadata", "resident", "mapped", "retained"] {
            let change = try #require(diff.figures.first { $0.scope == "total" && $0.figure == name })
            #expect(change.before == a.totals[name])
            #expect(change.after == b.totals[name])
            #expect(change.change == b.totals[name]! - a.totals[name]!)
        }
        let fragmentation = try #require(diff.ratios.first { $0.scope == "total" && $0.figure == "fragmentation" })
        #expect(close(fragmentation.before, a.fragmentation) && close(fragmentation.after, b.fragmentation))
        #expect(diff.sizeClassScope == (a.scope == b.scope ? a.scope : "\(a.scope ?? "none") -> \(b.scope ?? "none")"))

        // Size classes: exactly those whose counters differ, with both values.
        let binsA = try Self.bins(first)
        let binsB = try Self.bins(second)
        let changed = binsA.indices.filter { binsA[$0] != binsB[$0] }
        try #require(!changed.isEmpty, "four times the work should change some size class")
        #expect(diff.sizeClasses.map(\.index) == changed)
        for row in diff.sizeClasses {
            #expect(row.regionsInUse.before == binsA[row.index][0] && row.regionsInUse.after == binsB[row.index][0])
            #expect(row.slabs.before == binsA[row.index][1] && row.slabs.after == binsB[row.index][1])
            #expect(row.allocations.change == binsB[row.index][2] - binsA[row.index][2])
        }

        // Arena figures that changed are listed with both values.
        for arena in b.arenas {
            guard let old = a.arenas.first(where: { $0.key == arena.key }), old.smallAllocated != arena.smallAllocated
            else { continue }
            let change = try #require(
                diff.figures.first { $0.scope == "arena \(arena.key)" && $0.figure == "smallAllocated" }
            )
            #expect(change.before == old.smallAllocated && change.after == arena.smallAllocated)
        }

        let table = try ArenaStatsTool.run(["diff", before, after])
        #expect(table.status == 0)
        expectAlignedTables(table.stdoutText)
        #expect(table.stdoutText.contains("Small size classes that changed"))

        let csv = try ArenaStatsTool.run(["diff", before, after, "--csv"])
        let records = parseCSV(csv.stdoutText)
        #expect(records.first == ["section", "scope", "index", "size", "figure", "before", "after", "change"])
        let allocated = try #require(records.first { $0[0] == "figure" && $0[1] == "total" && $0[4] == "allocated" })
        #expect(
            allocated[5...7] == [
                String(a.totals["allocated"]!), String(b.totals["allocated"]!),
                String(b.totals["allocated"]! - a.totals["allocated"]!),
            ]
        )
    }

    @Test func aDumpAgainstItselfChangesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("full.json", try JemallocDumps.full.get())

        let diff = try ArenaStatsTool.json(StatsDiff.self, ["diff", file, file])
        #expect(diff.figures.allSatisfy { $0.scope == "total" && $0.change == 0 })
        #expect(diff.ratios.allSatisfy { $0.scope == "total" && $0.change == 0 })
        #expect(diff.sizeClasses.isEmpty && diff.largeClasses.isEmpty)
        #expect(diff.arenasOnlyBefore.isEmpty && diff.arenasOnlyAfter.isEmpty)

        let table = try ArenaStatsTool.run(["diff", file, file])
        #expect(table.stdoutText.contains("No size class changed"))
    }

    @Test func arenasOnOneSideAreNamedNotCompared() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let full = try JemallocDumps.full.get()
        let mergedOnly = try JemallocDumps.dump(options: "Ja")
        let merged = try directory.write("merged-only.json", mergedOnly)
        let file = try directory.write("full.json", full)
        let listedBefore = Set(try Expected(dump: mergedOnly).arenas.map(\.key))
        let onlyAfter = try Expected(dump: full).arenas.map(\.key).filter { !listedBefore.contains($0) }
        try #require(!onlyAfter.isEmpty, "a dump printed with 'a' lists fewer arenas")

        let diff = try ArenaStatsTool.json(StatsDiff.self, ["diff", merged, file])
        #expect(diff.arenasOnlyAfter.map(\.description) == onlyAfter)
        #expect(diff.arenasOnlyBefore.isEmpty)
        #expect(!diff.figures.contains { onlyAfter.map { "arena \($0)" }.contains($0.scope) })
    }
}
