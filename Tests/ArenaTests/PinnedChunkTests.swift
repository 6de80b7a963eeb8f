import Arena
import Foundation
import Testing

@Suite("Pinned chunks", .timeLimit(.minutes(5)))
struct PinnedChunkTests {
    /// Fills the current chunk of a 4 KiB-chunk arena with regions it drops, keeping one
    /// 64-byte region at its start; returns the kept region.
    static func pinOneChunk(_ arena: ArenaAllocator) throws -> Region {
        let kept = try arena.allocate(byteCount: 64)
        let chunk = kept.storageIdentity
        while true {
            let filler = try arena.allocate(byteCount: 256)
            if filler.storageIdentity != chunk { return kept }
        }
    }

    @Test func hundredChunksEachPinnedByOneViewCountExactly() throws {
        let arena = try ArenaAllocator(.init(name: "pinned", chunkSize: 4096))
        var kept: [Region] = []
        for _ in 0..<100 { kept.append(try Self.pinOneChunk(arena)) }
        let statistics = arena.statistics()
        #expect(statistics.pinnedChunks == 100)
        #expect(statistics.pinnedBytes == 100 * 4096)
        #expect(statistics.pinningReferences == 100)
        #expect(statistics.pinningReferenceHistogram == .init(one: 100))
        #expect(statistics.liveChunks == 101, "the current chunk is live but not pinned")
        withExtendedLifetime(kept) {}

        // Three more views of the first chunk move it to the 2-4 bucket.
        do {
            let extra = (0..<3).map { _ in kept[0].slice(0..<8) }
            withExtendedLifetime(extra) {
                let more = arena.statistics()
                #expect(more.pinnedChunks == 100)
                #expect(more.pinningReferences == 103)
                #expect(more.pinningReferenceHistogram == .init(one: 99, twoToFour: 1))
            }
        }

        kept.removeAll()
        let after = arena.statistics()
        #expect(after.pinnedChunks == 0)
        #expect(after.pinningReferenceHistogram == .init())
    }

    @Test func histogramBucketsSplitAtFourAndSixteen() throws {
        let arena = try ArenaAllocator(.init(name: "buckets", chunkSize: 4096))
        var held: [[Region]] = []
        for references in [1, 2, 4, 5, 16, 17, 40] {
            let region = try Self.pinOneChunk(arena)
            held.append((0..<references).map { _ in region })
        }
        withExtendedLifetime(held) {
            let statistics = arena.statistics()
            #expect(statistics.pinnedChunks == 7)
            #expect(statistics.pinningReferences == 1 + 2 + 4 + 5 + 16 + 17 + 40)
            #expect(
                statistics.pinningReferenceHistogram
                    == .init(one: 1, twoToFour: 2, fiveToSixteen: 2, moreThanSixteen: 2)
            )
        }
    }

    @Test func threadLocalChunksArePinnedOnceTheThreadRetiresThem() throws {
        let arena = try ArenaAllocator(.init(name: "pinned-local", chunkSize: 4096, threadLocalChunks: true))
        var kept: [Region] = []
        for _ in 0..<10 { kept.append(try Self.pinOneChunk(arena)) }
        withExtendedLifetime(kept) {
            let statistics = arena.statistics()
            #expect(statistics.pinnedChunks == 10)
            #expect(statistics.pinningReferenceHistogram.one == 10)
        }
    }

    @Test func statisticsWithoutPinnedFiguresStillDecode() throws {
        let arena = try ArenaAllocator(.init(name: "old-json"))
        let region = try arena.allocate(byteCount: 10)
        var object =
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(arena.statistics())) as! [String: Any]
        for key in ["pinnedChunks", "pinnedBytes", "pinningReferences", "pinningReferenceHistogram"] {
            #expect(object.removeValue(forKey: key) != nil, "\(key) is encoded")
        }
        let old = try JSONSerialization.data(withJSONObject: object)
        let decoded = try JSONDecoder().decode(ArenaStatistics.self, from: old)
        #expect(decoded.pinnedChunks == 0)
        #expect(decoded.liveChunks == 1)
        withExtendedLifetime(region) {}
    }
}
