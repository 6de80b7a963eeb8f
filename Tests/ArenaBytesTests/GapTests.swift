import ArenaBytes
import Testing

/// One focused test for each gap that mutation testing found: each fails at once, with a
/// message, when its bug is planted, rather than surviving or being caught only by a hang.
@Suite("Gaps mutation testing found", .timeLimit(.minutes(5)))
struct GapTests {
    /// Two non-empty views whose memory touches but whose storage differs must never merge:
    /// the second's owner may release its memory while the merged view still reads it.
    @Test func viewsOfDifferentStorageThatTouchNeverMerge() throws {
        let arena = try ArenaAllocator(.init(name: "gap-merge"))
        var writer = try BytesMut.make(capacity: 16, in: arena)
        writer.append(contentsOf: 0..<16)
        let front = writer.freeze()
        // Four bytes of the same chunk, right after `front`, but kept alive by another owner.
        let touching = Bytes(
            Region(unsafeNoCopy: UnsafeRawBufferPointer(start: front.region.baseAddress + 16, count: 4)) { _ in }
        )
        #expect(front.region.baseAddress + front.count == touching.region.baseAddress)
        #expect(front.merged(with: touching) == nil, "different storage, even though the memory touches")
        #expect(touching.merged(with: front) == nil)
        #expect(Chain([front, touching]).coalesced().segmentCount == 2)
        let back = front.slice(8...)
        #expect(front.slice(..<8).merged(with: back).map(Array.init) == Array(0..<16), "same storage still merges")
    }

    /// Freed chunks beyond the cache's four go back to jemalloc at once.
    @Test func theChunkCacheKeepsAtMostFourChunks() throws {
        let chunkSize = 64 << 10
        let arena = try ArenaAllocator(.init(name: "gap-cache", chunkSize: chunkSize))
        var views: [Bytes] = []
        // 8 KiB is the largest carve of a 64 KiB chunk: eight fill one, and ten chunks fill.
        for _ in 0..<80 {
            var writer = try BytesMut.make(capacity: chunkSize / 8, in: arena)
            writer.append(1)
            views.append(writer.freeze())
        }
        let full = arena.statistics()
        #expect(full.liveChunks >= 10)
        var mostCached = 0
        while !views.isEmpty {
            views.removeFirst()  // the oldest chunks die first, while many are still live
            let statistics = arena.statistics()
            mostCached = max(mostCached, statistics.cachedChunks)
            #expect(statistics.bytesReserved == (statistics.liveChunks + statistics.cachedChunks) * chunkSize)
        }
        #expect(mostCached == 4, "at most \(mostCached) chunks cached while \(full.liveChunks) died")
    }

    /// The cache never holds more free chunks than the arena has live ones (at least one):
    /// when the views that pinned six chunks die, the cache keeps one, not four.
    @Test func theChunkCacheShrinksWithTheArena() throws {
        let chunkSize = 64 << 10
        let arena = try ArenaAllocator(.init(name: "gap-cache-shrinks", chunkSize: chunkSize))
        var views: [Bytes] = []
        for _ in 0..<48 {  // six chunks of eight 8 KiB views
            var writer = try BytesMut.make(capacity: chunkSize / 8, in: arena)
            writer.append(1)
            views.append(writer.freeze())
        }
        let current = try BytesMut.make(capacity: 64, in: arena)  // a seventh, the current one
        #expect(arena.statistics().liveChunks == 7)
        while !views.isEmpty {
            views.removeLast()
            let statistics = arena.statistics()
            #expect(statistics.cachedChunks <= max(1, statistics.liveChunks))
            #expect(statistics.bytesReserved == (statistics.liveChunks + statistics.cachedChunks) * chunkSize)
        }
        let drained = arena.statistics()
        #expect(drained.liveChunks == 1 && drained.cachedChunks == 1, "\(drained)")
        _ = current
    }

    /// A dedicated block that another view still shares is never grown or moved in place:
    /// growth copies, and the other view's bytes stay as they were.
    @Test func aSharedDedicatedBlockIsNeverGrownInPlace() throws {
        let arena = try ArenaAllocator(.init(name: "gap-block"))
        var writer = try BytesMut.make(capacity: 1 << 20, in: arena)
        writer.append(contentsOf: repeatElement(0xAA, count: 100))
        writer.append(contentsOf: repeatElement(0xBB, count: 100))
        let shared = writer.split(to: 100).freeze()
        #expect(shared.region.storageKind == .dedicatedBlock)
        let sharedAddress = shared.region.baseAddress
        try writer.tryReserveCapacity(4 << 20)
        #expect(writer.capacity >= 4 << 20)
        #expect(shared.region.baseAddress == sharedAddress)
        #expect(shared.allSatisfy { $0 == 0xAA }, "the other view's bytes were overwritten")
        let (written, address) = writer.withUnsafeMutableBytes { (Array($0), UnsafeRawPointer($0.baseAddress)) }
        #expect(written == Array(repeating: 0xBB, count: 100))
        #expect(address != sharedAddress + 100, "growth moved the writer to new memory")
    }

    /// `Chain.readBytes` exactly at, just before and just after each segment boundary.
    @Test func chainReadsAtEverySegmentBoundary() {
        let parts: [[UInt8]] = [[1, 2, 3], [4, 5, 6, 7, 8], [9], [10, 11]]
        let all = parts.flatMap { $0 }
        for first in 0...all.count {
            var chain = Chain(parts.map { Bytes($0) })
            let head = chain.readBytes(first)
            #expect(head.map(Array.init) == Array(all[..<first]), "readBytes(\(first))")
            #expect(chain.count == all.count - first)
            // The segments left: what remains of each part, empty ones gone.
            var skipped = first
            var left: [[UInt8]] = []
            for part in parts {
                let dropped = min(skipped, part.count)
                skipped -= dropped
                if dropped < part.count { left.append(Array(part[dropped...])) }
            }
            #expect(chain.segments.map(Array.init) == left, "segments after readBytes(\(first))")
            #expect(chain.segmentCount == left.count)
            let rest = chain.readBytes(all.count - first)
            #expect(rest.map(Array.init) == Array(all[first...]), "the rest after readBytes(\(first))")
            #expect(chain.isEmpty && chain.readBytes(1) == nil)
        }
    }
}
