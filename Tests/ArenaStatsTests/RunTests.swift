import Arena
import ArenaStatsKit
import Foundation
import Testing

/// `arena-stats run`: workloads on a real ArenaAllocator, our figures beside jemalloc's.
@Suite(.timeLimit(.minutes(5))) struct RunTests {
    @Test(arguments: Workload.allCases)
    func reportsOursBesideJemallocs(_ workload: Workload) throws {
        let report = try ArenaStatsTool.json(RunReport.self, ["run", workload.rawValue, "--seed", "7"])
        #expect(report.workload == workload && report.seed == 7)
        #expect(report.phases.map(\.name) == ["live", "released", "purged"])
        let live = report.phases[0].ours
        #expect(report.survivors > 0 && report.survivingBytes > 0 && report.requests >= report.survivors)
        #expect(live.bytesHandedOut >= report.survivingBytes)
        #expect(live.bytesReserved >= live.bytesHandedOut)
        #expect(report.phases[1].ours.dedicatedBlocks == 0, "every region was dropped")
        #expect(report.phases[1].ours.cachedBlocks <= 4, "at most four free blocks are kept")
        #expect(report.phases[2].ours.cachedChunks == 0, "purge() empties the chunk cache")
        #expect(report.phases[2].ours.cachedBlocks == 0, "purge() empties the block cache")
        if workload == .large {
            #expect(live.dedicatedBlocks == report.survivors && live.liveChunks == 0)
            #expect(live.bytesHandedOut == report.survivingBytes)
        }
        if workload == .small {
            #expect(live.dedicatedBlocks == 0)
            // Every chunk but the current one is retired and kept by its survivors.
            #expect(live.pinnedChunks == live.liveChunks - 1)
            #expect(live.pinningReferences > 0 && live.pinningReferences < report.survivors)
            #expect(live.pinningReferenceHistogram.moreThanSixteen == live.pinnedChunks)
        }
        #expect(report.phases[1].ours.pinnedChunks == 0, "every region was dropped")

        #if Jemalloc
        #expect(report.jemallocArena != nil && report.jemallocVersion != nil)
        for phase in report.phases {
            func figure(_ name: String) -> RunReport.Comparison? { phase.comparison.first { $0.figure == name } }
            let mallctl = try #require(phase.ours.jemalloc, "\(phase.name): jemalloc's figures")
            // Every chunk and dedicated block (live or cached) is one jemalloc allocation, made
            // without a thread cache, so jemalloc's live count is ours exactly.
            let blocks =
                phase.ours.liveChunks + phase.ours.cachedChunks + phase.ours.dedicatedBlocks + phase.ours.cachedBlocks
            #expect(figure("liveBlocks")?.ours == blocks)
            #expect(figure("liveBlocks")?.jemalloc == blocks, "\(phase.name)")
            // jemalloc rounds blocks up to size classes; chunks (64 KiB) are a size class.
            #expect(figure("bytesInBlocks")?.ours == phase.ours.bytesReserved)
            #expect(mallctl.allocated >= phase.ours.bytesReserved, "\(phase.name)")
            if phase.ours.dedicatedBlocks + phase.ours.cachedBlocks == 0 {
                #expect(mallctl.allocated == phase.ours.bytesReserved, "\(phase.name): chunks only")
            }
            // The JSON statistics agree with mallctl about the same arena at the same moment.
            let document = try #require(phase.jemallocDocumentArena, "\(phase.name): the arena's JSON entry")
            #expect(document.arena == .index(Int(mallctl.arenaIndex)))
            #expect(document.allocated == mallctl.allocated)
            #expect(document.active == mallctl.activeBytes)
            #expect(document.smallAllocated == mallctl.smallAllocated)
        }
        let sizeClassBytes =
            report.phases[0].sizeClasses.reduce(0) { $0 + ($1.allocatedBytes ?? 0) }
            + report.phases[0].largeClasses.reduce(0) { $0 + ($1.bytes ?? 0) }
        #expect(sizeClassBytes == live.jemalloc?.allocated, "size classes add up to the arena's allocated bytes")
        #else
        #expect(report.jemallocArena == nil)
        #expect(report.phases.allSatisfy { $0.ours.jemalloc == nil && $0.jemallocDocumentArena == nil })
        #expect(report.absent.contains { $0.contains("Jemalloc trait") })
        #endif
    }

    @Test func tableAndCSV() throws {
        let table = try ArenaStatsTool.run(["run", "churn", "--bar-width", "10"])
        try #require(table.status == 0, "\(table.stderrText)")
        expectAlignedTables(table.stdoutText)
        #expect(table.stdoutText.contains("live: ours"))
        #expect(table.stdoutText.contains("live blocks"))
        #expect(table.stdoutText.contains("Pinned chunks by phase"))
        #expect(table.stdoutText.contains("chunks held by 2-4"))

        let csv = try ArenaStatsTool.run(["run", "churn", "--csv"])
        try #require(csv.status == 0, "\(csv.stderrText)")
        let records = parseCSV(csv.stdoutText)
        #expect(records.first == ["phase", "section", "index", "size", "figure", "ours", "jemalloc"])
        #expect(records.allSatisfy { $0.count == 7 })
        let liveBlocks = try #require(records.first { $0[0] == "live" && $0[4] == "liveBlocks" })
        #if Jemalloc
        #expect(liveBlocks[5] == liveBlocks[6])
        #else
        #expect(liveBlocks[6].isEmpty)
        #endif
    }

    /// The arena samples at the default interval with the workload's seed, so which regions are
    /// sampled, and so the sites and their estimates, are the same every run.
    @Test func theProfileNamesTheWorkloadsOwnFunctions() throws {
        let mixed = try RunReport.run(.mixed, configuration: .init(name: "profiled-mixed"), seed: 7).profile
        #expect(mixed.moment == "live")
        #expect(mixed.sampleInterval == ArenaAllocator.Configuration.defaultSampleInterval)
        #expect(mixed.sampleSeed == 7)
        #expect(mixed.sampledRegions > 0 && mixed.siteCount == mixed.sites.count)
        #expect(mixed.sampledRegions == mixed.sites.reduce(0) { $0 + $1.sampledRegions })
        for kind in ["small", "medium", "large"] {
            #expect(
                mixed.sites.contains { $0.function.contains("Workload.Requests.\(kind)(") },
                "no site for \(kind) requests: \(mixed.sites.map(\.function))"
            )
        }
        // Large requests are dedicated blocks: they pin no chunk. The sites come most pinned first.
        let large = try #require(mixed.sites.first { $0.function.contains("Workload.Requests.large(") })
        #expect(large.estimatedPinnedBytes == 0)
        #expect(mixed.sites.first?.estimatedPinnedBytes ?? 0 > 0)
        #expect(mixed.sites.map(\.estimatedPinnedBytes) == mixed.sites.map(\.estimatedPinnedBytes).sorted(by: >))

        // Small regions survive in retired chunks: their one site pins memory.
        let smallReport = try RunReport.run(.small, configuration: .init(name: "profiled-small"), seed: 7)
        let small = smallReport.profile
        #expect(small.sites.count == 1)
        #expect(small.sites.first?.function.contains("Workload.Requests.small(") == true, "\(small.sites)")
        #expect(small.sites.first?.estimatedPinnedBytes ?? 0 > 0)
        #expect(!smallReport.notes.contains { $0.contains("sampled regions") }, "\(smallReport.notes)")
        let again = try RunReport.run(.small, configuration: .init(name: "profiled-small"), seed: 7).profile
        #expect(again == small, "the same seed samples the same regions")

        // Large regions, each sampled with a high probability, are estimated closely.
        let largeReport = try RunReport.run(.large, configuration: .init(name: "profiled-large"), seed: 7, top: 1)
        let estimate = try #require(largeReport.profile.sites.first).estimatedLiveBytes
        let truth = largeReport.survivingBytes
        #expect(abs(Double(estimate - truth)) <= 0.25 * Double(truth), "estimated \(estimate), true \(truth)")
    }

    @Test func theTopSitesAppearInTheTableJSONAndCSV() throws {
        let table = try ArenaStatsTool.run(["run", "mixed", "--seed", "7", "--top", "2", "--bar-width", "10"])
        try #require(table.status == 0, "\(table.stderrText)")
        let text = table.stdoutText
        expectAlignedTables(text)
        #expect(
            text.contains("allocation sites sampled every 512.0 KiB on average (the default interval), sample seed 7")
        )
        #expect(text.contains("Top allocation sites (live: "))
        #expect(text.contains("all 3 sites: estimated "))
        #expect(text.contains("the top 2 listed (--top)"))
        let rows = text.split(separator: "\n").filter { $0.contains("ArenaStatsKit.Workload.Requests.") }
        #expect(rows.count == 2, "\(text)")
        #expect(rows.allSatisfy { $0.contains("|") && $0.contains("%") }, "each site has its share and bar")

        let report = try ArenaStatsTool.json(RunReport.self, ["run", "mixed", "--seed", "7", "--top", "2"])
        #expect(report.profile.siteCount == 3 && report.profile.sites.count == 2)
        #expect(report.profile.sites.allSatisfy { $0.function.contains("ArenaStatsKit.Workload.Requests.") })
        #expect(report.profile.sites.allSatisfy { $0.image == "arena-stats" }, "\(report.profile.sites.map(\.image))")

        let csv = try ArenaStatsTool.run(["run", "small", "--seed", "7", "--csv"])
        try #require(csv.status == 0, "\(csv.stderrText)")
        let records = parseCSV(csv.stdoutText)
        #expect(records.allSatisfy { $0.count == 7 })
        let interval = records.first { $0[1] == "profile" && $0[4] == "sampleInterval" }
        #expect(interval?[5] == "524288")
        let function = try #require(records.first { $0[1] == "site" && $0[2] == "1" && $0[4] == "function" })
        #expect(function[5].contains("ArenaStatsKit.Workload.Requests.small("), "\(function)")
        let pinned = records.first { $0[1] == "site" && $0[2] == "1" && $0[4] == "estimatedPinnedBytes" }
        #expect(Int(pinned?[5] ?? "") ?? 0 > 0)
    }

    @Test func aNegativeTopIsABadArgument() throws {
        let result = try ArenaStatsTool.run(["run", "small", "--top", "-1"])
        expectOneLineFailure(result, naming: nil, problem: "--top must not be negative")
    }

    @Test func aWorkloadTheLimitRefusesFailsWithOneLine() throws {
        let result = try ArenaStatsTool.run(["run", "large", "--limit", "1M", "--chunk-size", "16K"])
        expectOneLineFailure(result, naming: nil, problem: "workload large failed", status: 1)
    }

    @Test func workloadsReplayExactly() throws {
        func outcome(_ workload: Workload, seed: UInt64) throws -> [Int] {
            let arena = try ArenaAllocator(.init(name: "replay"))
            return try workload.perform(on: arena, seed: seed).survivors.map(\.count)
        }
        for workload in Workload.allCases {
            #expect(try outcome(workload, seed: 1) == (try outcome(workload, seed: 1)), "\(workload)")
            #expect(try outcome(workload, seed: 1) != (try outcome(workload, seed: 2)), "\(workload)")
        }
    }
}
