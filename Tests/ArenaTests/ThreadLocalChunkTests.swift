import Arena
import ArenaTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Arenas whose threads carve from chunks of their own.
@Suite("Thread-local chunks", .timeLimit(.minutes(5)))
struct ThreadLocalChunkTests {
    @Test func statisticsStayExact() throws {
        let arena = try ArenaAllocator(.init(name: "tlc", threadLocalChunks: true))
        let a = try arena.allocate(byteCount: 100)
        let b = try arena.allocate(byteCount: 28)
        let statistics = arena.statistics()
        #expect(statistics.bytesHandedOut == 128)
        #expect(statistics.allocations == 2)
        #expect(statistics.liveChunks == 1)
        #expect(a.sharesStorage(with: b))
        #expect(b.baseAddress == a.baseAddress + 112, "bump pointer, 16-byte aligned")
    }

    @Test func eachThreadCarvesFromItsOwnChunkAndGivesItBackWhenItExits() throws {
        let arena = try ArenaAllocator(.init(name: "tlc-threads", threadLocalChunks: true))
        let local = try arena.allocate(byteCount: 64)
        let box = RegionBox()
        TestThread.run {
            box.region = try! arena.allocate(byteCount: 64)
        }
        let remote = try #require(box.region)
        #expect(!remote.sharesStorage(with: local), "the other thread had a chunk of its own")
        #expect(arena.statistics().liveChunks == 2)
        box.region = nil
        _ = consume remote
        // The thread has exited, releasing its chunk; the last region of it is gone too.
        let statistics = arena.statistics()
        #expect(statistics.liveChunks == 1)
        #expect(statistics.cachedChunks == 1)
        #expect(statistics.bytesHandedOut == 64)
    }

    @Test func aThreadMovesOnFromMoreArenasThanItHasSlotsFor() throws {
        var arenas: [ArenaAllocator] = []
        var regions: [Region] = []
        for index in 0..<10 {
            let arena = try ArenaAllocator(.init(name: "tlc-\(index)", threadLocalChunks: true))
            regions.append(try arena.allocate(byteCount: 10))
            arenas.append(arena)
        }
        regions.removeAll()
        // The oldest six were evicted from this thread's slots, so their chunks went back.
        #expect(arenas.prefix(6).allSatisfy { $0.statistics().liveChunks == 0 })
        #expect(arenas.suffix(4).allSatisfy { $0.statistics().liveChunks == 1 })
    }

    @Test func theSharedArenaUsesThreadLocalChunks() {
        #expect(ArenaAllocator.shared.configuration.threadLocalChunks)
    }
}

/// A region handed from a thread to the one that joins it (`pthread_join` orders the two).
private final class RegionBox: @unchecked Sendable {
    var region: Region?
}
