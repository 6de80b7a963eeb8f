#if Jemalloc
import Arena
import Testing

@Suite("Jemalloc", .timeLimit(.minutes(5)))
struct JemallocTests {
    @Test func versionIsJemalloc5() {
        #expect(Jemalloc.version.hasPrefix("5."))
    }

    @Test func typedReadsAndWrites() throws {
        let arenas = try Jemalloc.read("arenas.narenas", as: UInt32.self)
        #expect(arenas >= 1)
        let page = try Jemalloc.read("arenas.page", as: Int.self)
        #expect(page >= 4096)
        #expect(try Jemalloc.readString("version") == Jemalloc.version)
        let arena = try ArenaAllocator()
        let index = try #require(arena.jemallocArenaIndex)
        try Jemalloc.write("arena.\(index).dirty_decay_ms", Int(5000))
        #expect(try Jemalloc.read("arena.\(index).dirty_decay_ms", as: Int.self) == 5000)
    }

    @Test func unknownNamesAndWrongSizesAreErrorsNotCrashes() {
        #expect(throws: ArenaError.jemalloc(name: "no.such.name", code: 2)) {
            _ = try Jemalloc.read("no.such.name", as: Int.self)
        }
        #expect(throws: ArenaError.jemalloc(name: "arenas.page", code: 22)) {
            _ = try Jemalloc.read("arenas.page", as: UInt8.self)
        }
        #expect(throws: ArenaError.jemalloc(name: "stats.nope", code: 2)) {
            try Jemalloc.write("stats.nope", Int(1))
        }
    }

    @Test func arenaStatisticsIncludeJemallocsFiguresForThatArena() throws {
        let arena = try ArenaAllocator(.init(name: "jemalloc-stats", chunkSize: 64 << 10))
        let region = try arena.allocate(byteCount: 64)
        let block = try arena.allocate(byteCount: 1 << 20)
        let figures = try #require(arena.statistics().jemalloc)
        #expect(figures.arenaIndex == arena.jemallocArenaIndex)
        #expect(figures.largeAllocated == (64 << 10) + (1 << 20), "one chunk and one block, both large classes")
        #expect(figures.largeAllocations == 2)
        #expect(figures.activeBytes >= figures.allocated)
        #expect(figures.resident > 0 && figures.mapped > 0)
        _ = (region, block)
    }

    /// jemalloc's stats printer walks every arena and aborts the process when one disappears
    /// under it (an `epoch` refresh by `statistics()` after an arena was destroyed); creating,
    /// reading and destroying arenas while another thread prints must be safe.
    @Test func statisticsJSONWhileArenasComeAndGo() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for _ in 0..<200 { #expect(Jemalloc.statisticsJSON().hasPrefix("{")) }
            }
            group.addTask {
                for _ in 0..<2_000 {
                    let arena = try! ArenaAllocator(.init(name: "short-lived"))
                    _ = try! arena.allocate(byteCount: 64)
                    _ = arena.statistics()
                }
            }
        }
    }

    @Test func statisticsJSONCoversOurArena() throws {
        let arena = try ArenaAllocator(.init(name: "json"))
        let region = try arena.allocate(byteCount: 10)
        let json = Jemalloc.statisticsJSON()
        #expect(json.hasPrefix("{"))
        #expect(json.contains("\"jemalloc\""))
        #expect(json.contains("\"\(arena.jemallocArenaIndex!)\""))
        _ = region
    }
}
#endif
