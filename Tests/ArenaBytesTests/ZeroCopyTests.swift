import ArenaBytes
import Testing

/// Every zero-copy claim, checked by address and by allocation counts (ours and, with
/// jemalloc, every byte the thread allocated, Swift objects included).
@Suite("Zero copy", .timeLimit(.minutes(5)))
struct ZeroCopyTests {
    @Test(arguments: [false, true])
    func cloneSliceSplitFreezeMergeAllocateNothingAndShareAddresses(threadLocalChunks: Bool) {
        let arena = try! ArenaAllocator(.init(name: "zero-copy", threadLocalChunks: threadLocalChunks))
        var writer = BytesMut(capacity: 4096, in: arena)
        writer.append(contentsOf: (0..<4096).map { UInt8(truncatingIfNeeded: $0) })
        let base = writer.withUnsafeBytes { $0.baseAddress! }
        let counter = AllocationCounter(arena)
        let frozen = writer.freeze()
        let clone = frozen
        let sliced = frozen.slice(100..<200)
        var rest = frozen
        let front = rest.split(to: 1000)
        let back = rest.split(from: 2000)
        let merged = front.merged(with: rest)
        let counted = counter.finish()
        #expect(counted.regions == 0)
        #if !DEBUG  // unoptimized generic code allocates; Scripts/test runs -c release
        #expect(counted.threadBytes == 0)
        #endif
        #expect(frozen.region.baseAddress == base)
        #expect(clone.region.baseAddress == base)
        #expect(sliced.region.baseAddress == base + 100)
        #expect(front.region.baseAddress == base)
        #expect(back.region.baseAddress == base + 3000)
        #expect(merged?.region.baseAddress == base)
        #expect(merged?.count == 3000)
        #expect(Array(sliced) == (100..<200).map { UInt8($0) })
        #expect(Bytes(frozen[10..<20]).region.baseAddress == base + 10, "Bytes(slice) is zero-copy")
    }

    @Test(arguments: [false, true])
    func writerSplitAndAdjacentUnsplitAllocateNothing(threadLocalChunks: Bool) {
        let arena = try! ArenaAllocator(.init(name: "zero-copy", threadLocalChunks: threadLocalChunks))
        var writer = BytesMut(capacity: 1024, in: arena)
        writer.append(contentsOf: Array(repeating: 1, count: 600))
        let base = writer.withUnsafeBytes { $0.baseAddress! }
        var tailAddress: UnsafeRawPointer?
        var joinedAddress: UnsafeRawPointer?
        let counted = allocations(in: arena) {
            let tail = writer.split(from: 200)
            tailAddress = tail.withUnsafeBytes { $0.baseAddress }
            writer.unsplit(tail)
            joinedAddress = writer.withUnsafeBytes { $0.baseAddress }
        }
        #expect(counted.regions == 0)
        #if !DEBUG  // unoptimized generic code allocates; Scripts/test runs -c release
        #expect(counted.threadBytes == 0)
        #endif
        #expect(tailAddress == base + 200)
        #expect(joinedAddress == base)
        #expect(writer.count == 600 && writer.capacity == 1024)
    }

    @Test(arguments: [false, true])
    func frameSplittingAllocatesNothing(threadLocalChunks: Bool) {
        let arena = try! ArenaAllocator(.init(name: "zero-copy", threadLocalChunks: threadLocalChunks))
        var buffer = BytesMut(capacity: 64 << 10, in: arena)
        buffer.append(contentsOf: Array(repeating: 9, count: 64 << 10))
        var view = buffer.freeze()
        var frames = 0
        let counted = allocations(in: arena) {
            while let frame = view.readBytes(64) {
                frames += frame.count == 64 ? 1 : 0
            }
        }
        #expect(frames == 1024)
        #expect(counted.regions == 0)
        #if !DEBUG  // unoptimized generic code allocates; Scripts/test runs -c release
        #expect(counted.threadBytes == 0)
        #endif
    }

    @Test(arguments: [false, true])
    func aReadBufferCycledAThousandTimesAllocatesOnce(threadLocalChunks: Bool) {
        let arena = try! ArenaAllocator(.init(name: "zero-copy", threadLocalChunks: threadLocalChunks))
        var frames: [Bytes] = []
        frames.reserveCapacity(256)
        var buffer = BytesMut(in: arena)
        let counted = allocations(in: arena) {
            for cycle in 0..<1000 {
                buffer.reserveCapacity(16 << 10)
                buffer.withUnsafeMutableUninitializedCapacity { spare in
                    for index in 0..<(16 << 10) { spare[index] = UInt8(truncatingIfNeeded: cycle &+ index) }
                    return 16 << 10
                }
                while buffer.count >= 64 { frames.append(buffer.split(to: 64).freeze()) }
                frames.removeAll(keepingCapacity: true)
            }
        }
        #expect(counted.regions == 1)
    }

    @Test(arguments: [false, true])
    func reclaimingTheLastViewGivesItsMemoryBack(threadLocalChunks: Bool) {
        let arena = try! ArenaAllocator(.init(name: "zero-copy", threadLocalChunks: threadLocalChunks))
        var writer = BytesMut(capacity: 100, in: arena)
        writer.append(contentsOf: [1, 2, 3])
        let frozen = writer.freeze()
        let address = frozen.region.baseAddress
        let other = frozen
        let reclaimedShared: Bool
        switch BytesMut(reclaiming: consume frozen) {
        case .some: reclaimedShared = true
        case .none: reclaimedShared = false
        }
        #expect(!reclaimedShared, "another view lives")
        guard let reclaimed = BytesMut(reclaiming: consume other) else {
            Issue.record("the last view must reclaim")
            return
        }
        #expect(reclaimed.withUnsafeBytes { $0.baseAddress } == address)
        #expect(reclaimed.count == 3)
        #expect(reclaimed.capacity >= 100)
        let reclaimedEmpty: Bool
        switch BytesMut(reclaiming: Bytes()) {
        case .some: reclaimedEmpty = true
        case .none: reclaimedEmpty = false
        }
        #expect(!reclaimedEmpty)
    }

    @Test(arguments: [false, true])
    func growthAtTheTopOfTheChunkStaysInPlace(threadLocalChunks: Bool) {
        let arena = try! ArenaAllocator(.init(name: "zero-copy", threadLocalChunks: threadLocalChunks))
        var writer = BytesMut(capacity: 64, in: arena)
        writer.append(contentsOf: Array(repeating: 5, count: 64))
        let before = writer.withUnsafeBytes { $0.baseAddress }
        let regions = allocations(in: arena) { writer.append(contentsOf: Array(repeating: 6, count: 64)) }.regions
        #expect(regions == 0)
        #expect(writer.withUnsafeBytes { $0.baseAddress } == before)
        #expect(writer.withUnsafeBytes { Array($0) } == Array(repeating: 5, count: 64) + Array(repeating: 6, count: 64))
    }
}
