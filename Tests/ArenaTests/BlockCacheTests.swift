@_spi(FaultInjection) import Arena
import Foundation
import Testing

/// Free dedicated blocks kept for reuse: a request of a freed block's exact size and
/// alignment takes it back without a jemalloc call; the cache is small, counted as reserved,
/// and given back under the limit, by `purge()` and when the arena closes.
@Suite("Dedicated-block cache", .timeLimit(.minutes(5)))
struct BlockCacheTests {
    static let chunkSize = 64 << 10
    static let readBuffer = 32 << 10

    static func arena(_ name: String, limit: Int? = nil) throws -> ArenaAllocator {
        try ArenaAllocator(.init(name: name, chunkSize: chunkSize, limit: limit))
    }

    /// The pattern of a server's read buffer: allocate, fill, drop, a thousand times. Only the
    /// first allocation reaches the backend: with every backend allocation refused after it,
    /// the rest still succeed, each in the block the one before freed.
    @Test func aBlockFreedAndAskedForAgainIsReusedWithoutTheBackend() throws {
        let arena = try Self.arena("block-reuse")
        let first = try arena.allocate(byteCount: Self.readBuffer)
        #expect(first.storageKind == .dedicatedBlock)
        let address = first.baseAddress
        _ = consume first
        var statistics = arena.statistics()
        #expect(statistics.dedicatedBlocks == 0 && statistics.cachedBlocks == 1)
        #expect(statistics.cachedBlockBytes == Self.readBuffer)
        #expect(statistics.bytesReserved == Self.readBuffer, "a cached block stays reserved")

        arena.faultInjection.set(.failAtRate(1, seed: 1))
        defer { arena.faultInjection.set(.off) }
        for round in 0..<1000 {
            let region = try arena.allocate(byteCount: Self.readBuffer)
            #expect(region.baseAddress == address, "round \(round)")
            #expect(region.count == Self.readBuffer)
            UnsafeMutableRawPointer(mutating: region.baseAddress).initializeMemory(
                as: UInt8.self,
                repeating: UInt8(truncatingIfNeeded: round),
                count: region.count
            )
            withExtendedLifetime(region) {
                #expect(arena.statistics().cachedBlocks == 0, "the block left the cache while in use")
            }
        }
        #expect(arena.faultInjection.counts.injected == 0, "no backend allocation was attempted")
        statistics = arena.statistics()
        #expect(statistics.allocations == 1001)
        #expect(statistics.cachedBlocks == 1 && statistics.bytesReserved == Self.readBuffer)
    }

    /// Reuse needs the exact size and alignment: a block never comes back larger than asked,
    /// nor less aligned.
    @Test func onlyTheExactSizeAndAlignmentAreReused() throws {
        let arena = try Self.arena("block-exact")
        let address = try arena.allocate(byteCount: Self.readBuffer).baseAddress
        #expect(arena.statistics().cachedBlocks == 1)
        arena.faultInjection.set(.failAtRate(1, seed: 1))
        defer { arena.faultInjection.set(.off) }
        #expect(throws: ArenaError.self) { try arena.allocate(byteCount: Self.readBuffer - 16) }
        #expect(throws: ArenaError.self) { try arena.allocate(byteCount: Self.readBuffer + 16) }
        #expect(throws: ArenaError.self) { try arena.allocate(byteCount: Self.readBuffer, alignment: 8192) }
        #expect(arena.statistics().cachedBlocks == 1, "refused requests leave the cache as it was")
        #expect(try arena.allocate(byteCount: Self.readBuffer).baseAddress == address)

        // A block of an alignment of its own is reused by the same alignment.
        arena.faultInjection.set(.off)
        let aligned = try arena.allocate(byteCount: 20_000, alignment: 8192)
        let alignedAddress = aligned.baseAddress
        _ = consume aligned
        arena.faultInjection.set(.failAtRate(1, seed: 1))
        let again = try arena.allocate(byteCount: 20_000, alignment: 8192)
        #expect(again.baseAddress == alignedAddress)
        #expect(Int(bitPattern: again.baseAddress) % 8192 == 0)
    }

    /// At most four blocks, the most recently freed; blocks a chunk carves (compacted copies) or
    /// larger than a chunk are never kept. The reserved bytes always add up.
    @Test func theCacheKeepsAtMostFourBlocksOfCacheableSizes() throws {
        let arena = try Self.arena("block-bound")
        let sizes = [9000, 10_000, 20_000, 30_000, 40_000, 50_000]
        var blocks = try sizes.map { try arena.allocate(byteCount: $0) }
        let addresses = blocks.map(\.baseAddress)
        let live = arena.statistics()
        #expect(live.dedicatedBlocks == 6 && live.cachedBlocks == 0)
        while !blocks.isEmpty { blocks.removeFirst() }
        let cached = arena.statistics()
        #expect(cached.dedicatedBlocks == 0 && cached.cachedBlocks == 4)
        #expect(cached.cachedBlockBytes == 20_000 + 30_000 + 40_000 + 50_000, "the last four freed")
        #expect(cached.bytesReserved == cached.liveChunks * Self.chunkSize + cached.cachedBlockBytes)
        arena.faultInjection.set(.failAtRate(1, seed: 1))
        #expect(try arena.allocate(byteCount: 50_000).baseAddress == addresses[5])
        #expect(throws: ArenaError.self) { try arena.allocate(byteCount: 9000) }
        arena.faultInjection.set(.off)

        // Too large to keep: a block of more than a chunk goes straight back.
        _ = try arena.allocate(byteCount: Self.chunkSize + 1)
        // Small enough to carve, made as a block: a compacted copy.
        let carved = try arena.allocate(byteCount: 200)
        _ = try carved.compacted()
        let after = arena.statistics()
        #expect(after.cachedBlocks == 4 && after.cachedBlockBytes == cached.cachedBlockBytes, "\(after)")
        #expect(after.bytesReserved == after.liveChunks * Self.chunkSize + after.cachedBlockBytes)
    }

    /// Cached blocks are reserved bytes: when the limit is in the way they go back first, and
    /// the request succeeds.
    @Test func aLimitGivesCachedBlocksBackBeforeRefusing() throws {
        let limit = 100 << 10
        let arena = try Self.arena("block-limit", limit: limit)
        for size in [40_000, 41_000] { _ = try arena.allocate(byteCount: size) }
        #expect(arena.statistics().cachedBlockBytes == 81_000)
        let region = try arena.allocate(byteCount: 60_000)
        let statistics = arena.statistics()
        #expect(statistics.cachedBlocks == 0, "\(statistics)")
        #expect(statistics.limitHits == 0, "the cache made room: no request was refused")
        #expect(statistics.bytesReserved == 60_000)
        _ = consume region
        #expect(arena.statistics().cachedBlocks == 1)
        #expect(throws: ArenaError.self) { try arena.allocate(byteCount: limit + 1) }
        #expect(arena.statistics().cachedBlocks == 0, "even a refused request empties the cache")
    }

    /// `purge()` gives every cached block back; so does the arena when it closes, while views
    /// of it live on (a leak would show in the AddressSanitizer run).
    @Test func purgeAndCloseGiveCachedBlocksBack() throws {
        let arena = try Self.arena("block-purge")
        _ = try arena.allocate(byteCount: Self.readBuffer)
        #expect(arena.statistics().cachedBlocks == 1)
        arena.purge()
        let purged = arena.statistics()
        #expect(purged.cachedBlocks == 0 && purged.cachedBlockBytes == 0)
        #expect(purged.bytesReserved == purged.liveChunks * Self.chunkSize)

        var closing: ArenaAllocator? = try Self.arena("block-close")
        let survivor = try closing!.allocate(byteCount: Self.readBuffer)
        _ = try closing!.allocate(byteCount: Self.readBuffer)
        #expect(closing!.statistics().cachedBlocks == 1)
        closing = nil
        // The survivor keeps the closed arena's core and its bytes; when it dies, its block goes
        // back to jemalloc, not to the closed arena's cache.
        UnsafeMutableRawPointer(mutating: survivor.baseAddress).storeBytes(of: 7, as: UInt8.self)
        #expect(survivor.unsafeBytes[0] == 7)
    }

    /// Statistics written before the block cache existed still decode, with no cached block.
    @Test func statisticsWithoutCachedBlocksDecode() throws {
        let arena = try Self.arena("block-codable")
        _ = try arena.allocate(byteCount: Self.readBuffer)
        let statistics = arena.statistics()
        let encoded = try JSONEncoder().encode(statistics)
        #expect(try JSONDecoder().decode(ArenaStatistics.self, from: encoded) == statistics)
        var object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["cachedBlocks"] as? Int == 1)
        object["cachedBlocks"] = nil
        object["cachedBlockBytes"] = nil
        let old = try JSONDecoder().decode(
            ArenaStatistics.self,
            from: try JSONSerialization.data(withJSONObject: object)
        )
        #expect(old.cachedBlocks == 0 && old.cachedBlockBytes == 0)
    }
}
