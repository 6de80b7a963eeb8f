import ArenaBytes
import ArenaTestSupport
import Testing

@Suite("Compaction", .timeLimit(.minutes(5)))
struct CompactionTests {
    /// Random views (chunk slices, frozen writers with spare capacity, dedicated blocks,
    /// foreign memory, empty views), compacted once and twice: the content never changes and
    /// `retainedBytes` never grows. A failure prints the seed.
    @Test(arguments: [false, true])
    func compactionNeverChangesContentAndNeverRetainsMore(threadLocalChunks: Bool) throws {
        var random = TestSeed.generator()
        let arena = try ArenaAllocator(
            .init(name: "compaction", chunkSize: 16 << 10, threadLocalChunks: threadLocalChunks)
        )
        var kept: [Bytes] = []
        var failures = 0
        func check(_ condition: Bool, _ what: @autoclosure () -> String, step: Int) {
            if !condition && failures < 5 {
                failures += 1
                Issue.record("\(TestSeed.replayHint), step \(step): \(what())")
            }
        }
        // 2,000 steps; the content is a seeded pattern rather than a random draw per byte, so
        // the test stays quick in the sanitizer builds (debug, instrumented).
        for step in 0..<2_000 {
            let size = Int.random(in: 0...(random.next() % 4 == 0 ? 20_000 : 600), using: &random)
            let base = random.next()
            let content = (0..<size).map {
                UInt8(truncatingIfNeeded: (base &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15) >> 56)
            }
            var view: Bytes
            switch random.next() % 5 {
            case 0:
                // A slice of a larger frame.
                var writer = BytesMut(capacity: size + 64, in: arena)
                writer.append(contentsOf: [UInt8](repeating: 7, count: 32))
                writer.append(contentsOf: content)
                writer.append(contentsOf: [UInt8](repeating: 9, count: 32))
                view = writer.freeze().slice(32..<(32 + size))
            case 1:
                // A frozen writer with much spare capacity.
                var writer = BytesMut(capacity: size * 3 + 1, in: arena)
                writer.append(contentsOf: content)
                view = writer.freeze()
            case 2:
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
                buffer.copyBytes(from: content)
                view = Bytes(
                    Region(unsafeNoCopy: UnsafeRawBufferPointer(buffer)) { $0.deallocate() }
                )
            default:
                view = Bytes(content, in: arena)
            }
            let once = try view.compacted()
            let twice = try once.compacted()
            check(Array(once) == content, "compacted() changed the content of \(size) bytes", step: step)
            check(Array(twice) == content, "compacting twice changed the content", step: step)
            check(
                once.retainedBytes <= view.retainedBytes,
                "retainedBytes grew from \(view.retainedBytes) to \(once.retainedBytes) (\(size) bytes)",
                step: step
            )
            check(twice.retainedBytes <= once.retainedBytes, "retainedBytes grew on a second compaction", step: step)
            check(
                twice.region.baseAddress == once.region.baseAddress,
                "a compacted view was copied again",
                step: step
            )
            check(Array(view) == content, "the original changed", step: step)
            if random.next() % 3 == 0 { kept.append(once) }
        }
        for (index, view) in kept.enumerated() where view.count > 0 {
            check(view.retainedBytes > 0, "a kept non-empty view retains nothing", step: index)
        }
    }

    @Test func viewsThatKeepAboutThemselvesAreReturnedAsTheyAre() throws {
        let arena = try ArenaAllocator(.init(name: "as-is", chunkSize: 16 << 10))
        let empty = Bytes()
        #expect(empty.retainedBytes == 0)
        #expect(try empty.compacted().retainedBytes == 0)

        let large = Bytes(Array(repeating: UInt8(1), count: 40_000), in: arena)
        #expect(large.retainedBytes == 40_000)
        #expect(try large.compacted().region.baseAddress == large.region.baseAddress)

        let small = Bytes([1, 2, 3], in: arena)
        #expect(small.retainedBytes == 16 << 10, "a small view keeps its whole chunk")
        let compacted = try small.compacted()
        #expect(compacted.region.baseAddress != small.region.baseAddress)
        #expect(Array(compacted) == [1, 2, 3])
        #expect(try compacted.compacted().region.baseAddress == compacted.region.baseAddress)
    }

    /// An empty view made by slicing keeps its whole chunk alive, pinned once the arena moves
    /// on; compacted, it keeps nothing and the chunk goes back.
    @Test func anEmptySliceKeepsItsChunkUntilCompacted() throws {
        let chunkSize = 4096
        let arena = try ArenaAllocator(.init(name: "empty-slice", chunkSize: chunkSize))
        var empty = Bytes(Array(repeating: UInt8(7), count: 100), in: arena).slice(50..<50)
        #expect(empty.isEmpty && empty.retainedBytes == chunkSize)
        for _ in 0..<16 { _ = Bytes(Array(repeating: UInt8(1), count: 400), in: arena) }  // moves on
        #expect(arena.statistics().pinnedChunks == 1, "the empty slice pins its chunk")
        empty = try empty.compacted()
        #expect(empty.isEmpty && empty.retainedBytes == 0)
        #expect(arena.statistics().pinnedChunks == 0)
    }

    @Test func compactedSurvivorsPackTogetherAndUnpinTheirChunks() throws {
        let arena = try ArenaAllocator(.init(name: "survivors", chunkSize: 4096))
        var survivors: [Bytes] = []
        for index in 0..<200 {
            var frame = BytesMut(capacity: 64, in: arena)
            frame.append(contentsOf: (0..<64).map { UInt8(truncatingIfNeeded: index &+ $0) })
            survivors.append(frame.freeze())
            // Short-lived traffic that fills the rest of the chunk and dies.
            for _ in 0..<15 { _ = Bytes(Array(repeating: UInt8(0), count: 256), in: arena) }
        }
        let before = arena.statistics()
        #expect(before.pinnedChunks >= 150, "each survivor pins a chunk of dead traffic")
        #expect(before.pinningReferenceHistogram.one >= 150)

        let expected = survivors.map { Array($0) }
        survivors = try survivors.map { survivor throws(ArenaError) in try survivor.compacted() }
        #expect(survivors.map { Array($0) } == expected)
        let after = arena.statistics()
        // The 200 copies are blocks of 64 bytes; only the current chunk and the cache remain.
        #expect(after.pinnedChunks == 0, "pinned \(after.pinnedChunks)")
        #expect(after.dedicatedBlocks == 200)
        #expect(after.bytesReserved <= 200 * 64 + 5 * 4096, "reserved \(after.bytesReserved)")
        #expect(survivors.allSatisfy { $0.retainedBytes == 64 })
    }

    @Test func compactionHonoursTheLimitAndLeavesTheOriginal() throws {
        let arena = try ArenaAllocator(.init(name: "limited", chunkSize: 4096, limit: 4096))
        var writer = BytesMut(capacity: 200, in: arena)
        writer.append(contentsOf: Array(repeating: UInt8(5), count: 100))
        let view = writer.freeze()
        // The arena's one chunk is in use: a 100-byte block would pass the limit.
        let error = Self.error { () throws(ArenaError) in _ = try view.compacted() }
        #expect(error == .limitExceeded(requested: 100, limit: 4096, inUse: 4096))
        #expect(Array(view) == Array(repeating: UInt8(5), count: 100))
        #expect(arena.statistics().bytesReserved == 4096)
    }

    static func error(_ body: () throws(ArenaError) -> Void) -> ArenaError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }
}
