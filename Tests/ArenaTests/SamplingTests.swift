import Arena
import Foundation
import Testing

/// Allocates 7 regions of 8 KiB and keeps them: with `churn`, they fill a 64 KiB chunk.
@inline(never)
func keepLongLivedRegions(_ arena: ArenaAllocator, into kept: inout [Region]) throws {
    for _ in 0..<7 { kept.append(try arena.allocate(byteCount: 8 << 10)) }
}

/// Allocates an 8 KiB region and drops it.
@inline(never)
func churnShortLivedRegion(_ arena: ArenaAllocator) throws {
    let region = try arena.allocate(byteCount: 8 << 10)
    withExtendedLifetime(region) {}
}

@Suite("Sampled allocation sites", .timeLimit(.minutes(5)))
struct SamplingTests {
    @Test func theTopSiteByPinnedBytesIsTheFunctionThatKeepsItsRegions() throws {
        var configuration = ArenaAllocator.Configuration(name: "profiled", chunkSize: 64 << 10)
        configuration.sampleInterval = ArenaAllocator.Configuration.defaultSampleInterval
        configuration.sampleSeed = 42
        let arena = try ArenaAllocator(configuration)
        var kept: [Region] = []
        // 56 MiB kept, about 112 samples; each chunk is pinned by the 7 regions kept from it.
        for _ in 0..<1024 {
            try keepLongLivedRegions(arena, into: &kept)
            try churnShortLivedRegion(arena)
        }
        let statistics = arena.statistics()
        let profile = arena.memoryProfile()
        #expect(profile.sampleInterval == 512 << 10)
        #expect(statistics.pinnedChunks >= 1000)
        let top = try #require(profile.sites.first)
        #expect(top.function.contains("keepLongLivedRegions"), "top site: \(top.function)")
        let truth = Double(statistics.pinnedBytes)
        let error = abs(Double(top.estimatedPinnedBytes) - truth) / truth
        #expect(error <= 0.25, "estimated \(top.estimatedPinnedBytes) pinned bytes, true \(statistics.pinnedBytes)")
        let liveBytes = Double(kept.count * (8 << 10))
        let liveError = abs(Double(top.estimatedLiveBytes) - liveBytes) / liveBytes
        #expect(liveError <= 0.25, "estimated \(top.estimatedLiveBytes) live bytes")
        #expect(
            !profile.sites.contains { $0.function.contains("churnShortLivedRegion") },
            "the churning site's regions are all dead"
        )
        withExtendedLifetime(kept) {}

        kept.removeAll()
        let after = arena.memoryProfile()
        #expect(after.sampledRegions == 0)
        #expect(after.sites.isEmpty)
    }

    @Test func aSampledRegionThatCrossesThreadsDiesThere() async throws {
        var configuration = ArenaAllocator.Configuration(name: "crossing")
        configuration.sampleInterval = 1
        configuration.sampleSeed = 7
        let arena = try ArenaAllocator(configuration)
        let region = try arena.allocate(byteCount: 100)
        UnsafeMutableRawPointer(mutating: region.baseAddress).initializeMemory(as: UInt8.self, repeating: 3, count: 100)
        #expect(arena.memoryProfile().sampledRegions == 1)
        #expect(region.storageKind == .chunk)
        let sum = await Task.detached { [region] in
            region.unsafeBytes.reduce(0) { $0 + Int($1) }
        }.value
        #expect(sum == 300)
        // The last view dies on other threads, while they allocate and drop sampled regions.
        var moved: Region? = region
        _ = consume region
        await withTaskGroup(of: Void.self) { group in
            let last = moved!
            moved = nil
            group.addTask { withExtendedLifetime(last) {} }
            for _ in 0..<4 {
                group.addTask {
                    for size in 1...500 {
                        let other = try? arena.allocate(byteCount: size * 7)
                        withExtendedLifetime(other) {}
                    }
                }
            }
        }
        let profile = arena.memoryProfile()
        #expect(profile.sampledRegions == 0)
        #expect(profile.sites.isEmpty)
    }

    @Test func everySampledRegionIsAttributedWhenTheIntervalIsOneByte() throws {
        var configuration = ArenaAllocator.Configuration(name: "every", chunkSize: 4096)
        configuration.sampleInterval = 1
        configuration.sampleSeed = 1
        let arena = try ArenaAllocator(configuration)
        var kept: [Region] = []
        try keepLongLivedRegions(arena, into: &kept)  // 8 KiB: dedicated blocks in 4 KiB chunks
        for _ in 0..<10 { kept.append(try arena.allocate(byteCount: 50)) }
        let profile = arena.memoryProfile()
        #expect(profile.sampledRegions == 17)
        let keeper = try #require(profile.sites.first { $0.function.contains("keepLongLivedRegions") })
        #expect(keeper.sampledRegions == 7)
        #expect(keeper.estimatedLiveBytes == 7 * (8 << 10))
        #expect(keeper.estimatedPinnedBytes == 0, "dedicated blocks pin no chunk")
        #expect(profile.sites.contains { $0.function.contains("SamplingTests") && $0.sampledRegions == 10 })
        let json = try JSONEncoder().encode(profile)
        #expect(try JSONDecoder().decode(MemoryProfile.self, from: json) == profile)
        withExtendedLifetime(kept) {}
    }

    @Test func sampledViewsGrowAndReadLikeOthers() throws {
        var configuration = ArenaAllocator.Configuration(name: "views")
        configuration.sampleInterval = 1
        configuration.sampleSeed = 3
        let arena = try ArenaAllocator(configuration)
        let region = try arena.allocate(byteCount: 64)
        #expect(region.slice(0..<8).sharesStorage(with: region))
        let other = try arena.allocate(byteCount: 64)
        #expect(!other.sharesStorage(with: region), "each sampled region has its own storage")
        #expect(arena.statistics().allocations == 2)
    }

    @Test func withoutAnIntervalNothingIsSampled() throws {
        guard ProcessInfo.processInfo.environment["ARENA_SAMPLE_INTERVAL"] == nil else { return }
        let arena = try ArenaAllocator(.init(name: "unsampled"))
        let region = try arena.allocate(byteCount: 64)
        let profile = arena.memoryProfile()
        #expect(profile.sampleInterval == nil)
        #expect(profile.sampledRegions == 0)
        withExtendedLifetime(region) {}
        var invalid = ArenaAllocator.Configuration()
        invalid.sampleInterval = 0
        #expect(throws: ArenaError.self) { try ArenaAllocator(invalid) }
    }
}
