import Arena
import Synchronization
import Testing

@Suite("ArenaAllocator", .timeLimit(.minutes(5)))
struct ArenaAllocatorTests {
    @Test func regionMemoryLivesWhileAnyCopyLivesAndTheChunkGoesBackAfterTheLast() throws {
        let arena = try ArenaAllocator(.init(name: "lifetime"))
        var copy: Region?
        do {
            let region = try arena.allocate(byteCount: 100)
            UnsafeMutableRawPointer(mutating: region.baseAddress).initializeMemory(
                as: UInt8.self,
                repeating: 0xAB,
                count: 100
            )
            copy = region
            #expect(arena.statistics().liveChunks == 1)
        }
        // The original is gone; the copy still reads the bytes.
        #expect(copy!.unsafeBytes.allSatisfy { $0 == 0xAB })
        // Retire the current chunk by filling it from another view, then drop everything.
        _ = try arena.allocate(byteCount: 64 << 10 / 8)
        var filler: [Region] = []
        for _ in 0..<8 { filler.append(try arena.allocate(byteCount: 64 << 10 / 8)) }
        #expect(arena.statistics().liveChunks == 2)
        filler.removeAll()
        copy = nil
        let statistics = arena.statistics()
        #expect(statistics.liveChunks == 1, "only the current chunk is left")
        #expect(statistics.cachedChunks == 1, "the retired chunk went to the cache")
    }

    @Test(arguments: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 65536])
    func regionsAreAligned(alignment: Int) throws {
        let arena = try ArenaAllocator(.init(name: "alignment"))
        var regions: [Region] = []
        for size in [1, 3, 17, 64, 100, 4000, 9000, 70000] {
            let region = try arena.allocate(byteCount: size, alignment: alignment)
            #expect(Int(bitPattern: region.baseAddress) % alignment == 0, "size \(size)")
            #expect(region.count == size)
            regions.append(region)
        }
    }

    @Test func smallRegionsShareAChunkAndLargeOnesDoNot() throws {
        let arena = try ArenaAllocator(.init(name: "sharing", chunkSize: 64 << 10))
        let a = try arena.allocate(byteCount: 64)
        let b = try arena.allocate(byteCount: 64)
        #expect(a.storageKind == .chunk)
        #expect(a.sharesStorage(with: b))
        #expect(b.baseAddress == a.baseAddress + 64, "carved by a bump pointer")
        let largeA = try arena.allocate(byteCount: 64 << 10 / 8 + 1)
        let largeB = try arena.allocate(byteCount: 64 << 10 / 8 + 1)
        #expect(largeA.storageKind == .dedicatedBlock)
        #expect(!largeA.sharesStorage(with: largeB))
        #expect(!largeA.sharesStorage(with: a))
        #expect(arena.statistics().dedicatedBlocks == 2)
    }

    @Test func statisticsMoveByExactAmounts() throws {
        let arena = try ArenaAllocator(.init(name: "exact", chunkSize: 64 << 10))
        let empty = arena.statistics()
        #expect(empty.bytesReserved == 0 && empty.liveChunks == 0 && empty.allocations == 0)
        let small = try arena.allocate(byteCount: 100)
        var after = arena.statistics()
        #expect(after.bytesHandedOut == 100)
        #expect(after.bytesReserved == 64 << 10)
        #expect(after.allocations == 1 && after.liveChunks == 1 && after.chunkRefills == 1)
        let large = try arena.allocate(byteCount: 100_000)
        after = arena.statistics()
        #expect(after.bytesHandedOut == 100_100)
        #expect(after.bytesReserved == 64 << 10 + 100_000)
        #expect(after.peakBytesReserved == 64 << 10 + 100_000)
        #expect(after.dedicatedBlocks == 1 && after.allocations == 2)
        _ = consume large
        after = arena.statistics()
        #expect(after.bytesReserved == 64 << 10)
        #expect(after.bytesHandedOut == 100)
        #expect(after.dedicatedBlocks == 0)
        #expect(after.peakBytesReserved == 64 << 10 + 100_000)
        _ = consume small
        #expect(arena.statistics().bytesHandedOut == 100, "the current chunk stays live with its carves")
        let zero = try arena.allocate(byteCount: 0)
        #expect(zero.count == 0 && arena.statistics().allocations == 2, "zero bytes allocate nothing")
    }

    @Test func theLimitThrowsWithTheFiguresAndLeavesExistingRegionsIntact() throws {
        let arena = try ArenaAllocator(.init(name: "limited", chunkSize: 64 << 10, limit: 256 << 10))
        let kept = try arena.allocate(byteCount: 200 << 10)
        UnsafeMutableRawPointer(mutating: kept.baseAddress).initializeMemory(
            as: UInt8.self,
            repeating: 7,
            count: kept.count
        )
        #expect(throws: ArenaError.limitExceeded(requested: 100 << 10, limit: 256 << 10, inUse: 200 << 10)) {
            _ = try arena.allocate(byteCount: 100 << 10)
        }
        #expect(kept.unsafeBytes.allSatisfy { $0 == 7 })
        #expect(arena.statistics().limitHits == 1)
        let fits = try arena.allocate(byteCount: 56 << 10)
        #expect(fits.count == 56 << 10)
        _ = consume kept
        // The bytes came back: a request that failed before now fits.
        let again = try arena.allocate(byteCount: 100 << 10)
        #expect(again.count == 100 << 10)
    }

    @Test func theLimitIsExactWithTwoThreadsRacingForTheLastBytes() async throws {
        for round in 0..<20 {
            let blockSize = 20_000
            let arena = try ArenaAllocator(.init(name: "race", chunkSize: 64 << 10, limit: 1 << 20))
            let expected = (1 << 20) / blockSize
            // Each thread keeps what it got and hands it back at the end: no shared lock (the
            // standard library's Mutex gives ThreadSanitizer false reports on Linux).
            let kept = await withTaskGroup(of: [Region].self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        var mine: [Region] = []
                        while let region = try? arena.allocate(byteCount: blockSize) { mine.append(region) }
                        return mine
                    }
                }
                return await group.reduce(into: []) { $0 += $1 }
            }
            let statistics = arena.statistics()
            #expect(kept.count == expected, "round \(round)")
            #expect(statistics.peakBytesReserved <= 1 << 20, "round \(round)")
            #expect(statistics.limitHits == 2)
        }
    }

    @Test func anyThreadMayAllocateAndDropTheLastView() async throws {
        let arena = try ArenaAllocator(.init(name: "threads"))
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var held: [Region] = []
                    for index in 0..<20_000 {
                        let size = 1 + (index * 7 + worker) % 700
                        let region = try! arena.allocate(byteCount: size)
                        let pointer = UnsafeMutableRawPointer(mutating: region.baseAddress)
                        pointer.initializeMemory(
                            as: UInt8.self,
                            repeating: UInt8(truncatingIfNeeded: worker),
                            count: size
                        )
                        held.append(region)
                        if held.count > 50 {
                            let victim = held.remove(at: index % held.count)
                            #expect(victim.unsafeBytes.allSatisfy { $0 == UInt8(truncatingIfNeeded: worker) })
                        }
                    }
                }
            }
        }
        let statistics = arena.statistics()
        #expect(statistics.liveChunks == 1, "every retired chunk was freed or cached")
        #expect(statistics.allocations == 80_000)
    }

    @Test func invalidConfigurationsThrow() {
        #expect(throws: ArenaError.invalidConfiguration("chunkSize 1000 is not a power of two")) {
            _ = try ArenaAllocator(.init(chunkSize: 1000))
        }
        #expect(throws: ArenaError.invalidConfiguration("chunkSize 1024 is outside 4096...1073741824")) {
            _ = try ArenaAllocator(.init(chunkSize: 1024))
        }
        #expect(throws: ArenaError.invalidConfiguration("limit 1000 is below one chunk (65536 bytes)")) {
            _ = try ArenaAllocator(.init(limit: 1000))
        }
    }

    @Test func purgeGivesCachedChunksBack() throws {
        let arena = try ArenaAllocator(.init(name: "purge", chunkSize: 64 << 10))
        do {
            var regions: [Region] = []
            for _ in 0..<40 { regions.append(try arena.allocate(byteCount: 8 << 10)) }
        }
        let before = arena.statistics()
        #expect(before.cachedChunks > 0)
        arena.purge()
        let after = arena.statistics()
        #expect(after.cachedChunks == 0)
        #expect(after.bytesReserved == before.bytesReserved - before.cachedChunks * (64 << 10))
    }

    @Test func regionsOutliveTheirAllocatorAndArenasAreDestroyedAfterTheirLastRegion() throws {
        var survivors: [Region] = []
        for index in 0..<64 {
            let arena = try ArenaAllocator(.init(name: "short-lived \(index)"))
            let region = try arena.allocate(byteCount: 32)
            UnsafeMutableRawPointer(mutating: region.baseAddress).initializeMemory(
                as: UInt8.self,
                repeating: UInt8(index),
                count: 32
            )
            survivors.append(region)
            survivors.append(try arena.allocate(byteCount: 50_000))
        }
        for (index, region) in survivors.enumerated() where index % 2 == 0 {
            #expect(region.unsafeBytes.allSatisfy { $0 == UInt8(index / 2) })
        }
        survivors.removeAll()
        // Creating more arenas still works: destroyed ones were given back to jemalloc.
        for _ in 0..<64 { _ = try ArenaAllocator().allocate(byteCount: 10) }
    }

    @Test func foreignMemoryIsReleasedExactlyOnceAfterTheLastView() throws {
        let released = Atomic<Int>(0)
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        let address = Int(bitPattern: memory.baseAddress)
        var copies: [Region] = []
        do {
            let region = Region(unsafeNoCopy: UnsafeRawBufferPointer(memory)) { buffer in
                #expect(Int(bitPattern: buffer.baseAddress) == address)
                released.add(1, ordering: .relaxed)
                UnsafeMutableRawBufferPointer(mutating: buffer).deallocate()
            }
            #expect(region.baseAddress == UnsafeRawPointer(memory.baseAddress))
            #expect(region.storageKind == .foreign)
            copies = [region, region.slice(8..<16)]
        }
        #expect(released.load(ordering: .relaxed) == 0)
        copies.removeFirst()
        #expect(released.load(ordering: .relaxed) == 0)
        copies.removeAll()
        #expect(released.load(ordering: .relaxed) == 1)
    }

    @Test func memoryOwnedByAnObjectLivesWhileAnyViewDoes() {
        final class Counter: Sendable { let released = Atomic<Int>(0) }
        final class Owner {
            let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
            let counter: Counter
            init(_ counter: Counter) { self.counter = counter }
            deinit {
                memory.deallocate()
                counter.released.add(1, ordering: .relaxed)
            }
        }
        let counter = Counter()
        var views: [Region] = []
        do {
            let owner = Owner(counter)
            owner.memory.initializeMemory(as: UInt8.self, repeating: 9)
            let region = Region(unsafeNoCopy: UnsafeRawBufferPointer(owner.memory), owner: owner)
            #expect(region.baseAddress == UnsafeRawPointer(owner.memory.baseAddress))
            #expect(region.storageKind == .foreign)
            views = [region.slice(0..<16), region.slice(16...)]
        }
        #expect(counter.released.load(ordering: .relaxed) == 0)
        #expect(views[1].unsafeBytes.allSatisfy { $0 == 9 })
        views.removeFirst()
        #expect(counter.released.load(ordering: .relaxed) == 0)
        views.removeAll()
        #expect(counter.released.load(ordering: .relaxed) == 1)
    }

    @Test func errorsDescribeThemselves() {
        #expect(
            ArenaError.limitExceeded(requested: 10, limit: 100, inUse: 95).description
                == "arena limit exceeded: 10 bytes requested with 95 of 100 bytes in use"
        )
        #expect(ArenaError.jemalloc(name: "x", code: 2).description.contains("ENOENT"))
    }
}

@Suite("Arena limits of about one chunk", .timeLimit(.minutes(5)))
struct OneChunkLimitTests {
    /// With a limit of one chunk, a full chunk that no view uses any more must be reused:
    /// the arena may not ask for a second chunk before giving back the first.
    @Test(arguments: [false, true])
    func aFullUnusedChunkIsReusedUnderALimitOfOneChunk(threadLocalChunks: Bool) throws {
        let arena = try ArenaAllocator(
            .init(name: "one chunk", chunkSize: 64 << 10, limit: 64 << 10, threadLocalChunks: threadLocalChunks)
        )
        for round in 0..<100 {
            let region = try arena.allocate(byteCount: 4 << 10)
            #expect(region.count == 4 << 10, "round \(round)")
        }
        let statistics = arena.statistics()
        #expect(statistics.limitHits == 0)
        #expect(statistics.bytesReserved == 64 << 10)
    }
}
