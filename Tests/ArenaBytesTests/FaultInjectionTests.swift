@_spi(FaultInjection) import Arena
import ArenaBytes
import ArenaTestSupport
import Testing

/// Every throwing operation, run the way SQLite tests out-of-memory: the 1st backend allocation
/// refused, then the 2nd, … until a run that never reaches the refusal. After each failure the
/// error is `.outOfMemory`, the views that existed before read the same bytes, the arena holds
/// the same memory (no chunk, block or reserved byte left over), and the next attempt works.
@Suite("Every allocation may fail", .timeLimit(.minutes(5)))
struct FaultInjectionTests {
    /// An arena of 4 KiB chunks (carves up to 512 bytes) whose first chunk is full of views,
    /// plus a view of a dedicated block and a writer: what must survive every failure.
    struct Before: FaultLoopFixture, ~Copyable {
        let arena: ArenaAllocator
        let views: [Bytes]
        let contents: [[UInt8]]
        let blocksBefore: Int
        /// A writer the operation may grow, with `written` in it.
        var writer: BytesMut
        let written: [UInt8]

        /// - Parameters:
        ///   - writerCapacity: the writer's capacity: 0 (no storage), up to 512 (carved from a
        ///     second chunk), else a dedicated block.
        ///   - writerShared: whether a frozen view shares the writer's storage.
        init(writerCapacity: Int = 0, writerShared: Bool = false) {
            // `try!`: the loop never refuses the set-up's allocations.
            let arena = try! ArenaAllocator(.init(name: "faults", chunkSize: 4096))
            self.arena = arena
            var views = (0..<8).map { try! Bytes.make(copying: pattern(512, seed: $0), in: arena) }
            views.append(try! Bytes.make(copying: pattern(2000, seed: 8), in: arena))
            writer = try! BytesMut.make(capacity: writerCapacity, in: arena)
            if writerShared {
                writer.append(contentsOf: pattern(10, seed: 10))
                views.append(writer.split(to: 10).freeze())
            }
            written = pattern(min(writerCapacity, 90), seed: 9)
            writer.append(contentsOf: written)
            self.views = views
            contents = views.map { Array($0) }
            blocksBefore = arena.statistics().dedicatedBlocks
        }

        /// The checks after a refused allocation.
        func expectNothingLost(after error: ArenaError, _ comment: Comment) {
            guard case .outOfMemory = error else {
                Issue.record("\(comment): \(error), not .outOfMemory")
                return
            }
            #expect(views.map { Array($0) } == contents, "views changed: \(comment)")
            #expect(writer.withUnsafeBytes { Array($0) } == written, "the writer's bytes changed: \(comment)")
            #expect(arena.statistics().dedicatedBlocks == blocksBefore, "a block outlived the failure: \(comment)")
        }
    }

    /// A copyable stand-in for an operation, so tests can be parameterized.
    enum Operation: String, CaseIterable, CustomTestStringConvertible {
        case makeSmall, makeLarge
        case reserveOutOfAChunk, reserveAUniqueBlock, reserveASharedBlock
        case appendThroughReserve
        case copyContiguous, copyLarge, copyASequenceOfUnknownLength
        case flattenAChain, readAStraddlingFrame, compact

        var testDescription: String { rawValue }

        /// The writer's set-up for this operation.
        var before: Before {
            switch self {
            case .reserveOutOfAChunk, .appendThroughReserve: Before(writerCapacity: 100)
            case .reserveAUniqueBlock: Before(writerCapacity: 3000)
            case .reserveASharedBlock: Before(writerCapacity: 3000, writerShared: true)
            default: Before()
            }
        }

        /// Runs the operation; returns what it made (as bytes) and what they should be.
        func run(_ before: inout Before) throws(ArenaError) -> (made: [UInt8], expected: [UInt8]) {
            let arena = before.arena
            switch self {
            case .makeSmall:
                var writer = try BytesMut.make(capacity: 100, in: arena)
                writer.append(contentsOf: pattern(100, seed: 20))
                return (Array(writer.freeze()), pattern(100, seed: 20))
            case .makeLarge:
                var writer = try BytesMut.make(capacity: 3000, in: arena)
                writer.append(contentsOf: pattern(3000, seed: 24))
                return (Array(writer.freeze()), pattern(3000, seed: 24))
            case .reserveOutOfAChunk, .reserveAUniqueBlock, .reserveASharedBlock:
                try before.writer.tryReserveCapacity(20_000)
                let roomy: UInt8 = before.writer.capacity >= 20_000 ? 1 : 0
                return (before.writer.withUnsafeBytes { Array($0) } + [roomy], before.written + [1])
            case .appendThroughReserve:
                let more = pattern(5000, seed: 21)
                try before.writer.tryReserveCapacity(before.writer.count + more.count)
                before.writer.append(contentsOf: more)
                return (before.writer.withUnsafeBytes { Array($0) }, before.written + more)
            case .copyContiguous:
                return (Array(try Bytes.make(copying: pattern(300, seed: 22), in: arena)), pattern(300, seed: 22))
            case .copyLarge:
                return (Array(try Bytes.make(copying: pattern(9000, seed: 23), in: arena)), pattern(9000, seed: 23))
            case .copyASequenceOfUnknownLength:
                // No contiguous storage and an underestimated count of 0: the copy grows, from
                // a carve to a block.
                let sequence = Swift.sequence(state: 0) { (index: inout Int) -> UInt8? in
                    index += 1
                    return index <= 6000 ? UInt8(truncatingIfNeeded: index &* 7) : nil
                }
                return (Array(try Bytes.make(copying: sequence, in: arena)), Array(sequence))
            case .flattenAChain:
                // Three segments apart from each other: flattening copies.
                let chain = Chain([before.views[0].slice(0..<100), before.views[2].slice(0..<200), before.views[8]])
                let expected = before.contents[0][0..<100] + before.contents[2][0..<200] + before.contents[8]
                return (Array(try chain.tryFlattened(in: arena)), Array(expected))
            case .readAStraddlingFrame:
                var chain = Chain([before.views[0].slice(0..<100), before.views[2].slice(0..<100)])
                do {
                    let frame = try chain.tryReadContiguousBytes(150, in: arena)
                    let expected = before.contents[0][0..<100] + before.contents[2][0..<50]
                    return (frame.map { Array($0) } ?? [], Array(expected))
                } catch {
                    #expect(chain.count == 200, "a refused copy consumed part of the chain")
                    throw error
                }
            case .compact:
                let slice = before.views[3].slice(10..<110)
                return (Array(try slice.compacted()), Array(before.contents[3][10..<110]))
            }
        }
    }

    @Test(arguments: Operation.allCases)
    func aRefusedAllocationLosesNothing(_ operation: Operation) {
        let loop = failEachAllocation(
            setUp: { operation.before },
            operation: { (before: inout Before) throws(ArenaError) in try operation.run(&before) },
            afterFailure: { error, before in before.expectNothingLost(after: error, "\(operation)") },
            afterSuccess: { result, _ in #expect(result.made == result.expected, "\(operation)") }
        )
        #expect(loop.failures >= 1, "\(operation): no run failed, so nothing was tested")
        #expect(loop.failedRetries == 0, "\(operation): an attempt after a failure failed too")
        #expect(loop.leaks.isEmpty, "\(operation): memory left over: \(loop.leaks)")
        print("faults: \(operation): \(loop)")
    }

    /// A read loop as a server runs one: packets appended to a reader, length-prefixed frames
    /// cut from it without copying, every three frames chained and flattened into one message.
    /// Whichever of its allocations is refused, the messages received before are intact, and
    /// once the loop's views are gone, so is all of its memory.
    @Test func aReadLoopThatSplitsAndChainsLosesNothing() {
        struct Connection: FaultLoopFixture {
            let arena: ArenaAllocator
            /// Messages from before the loop ran.
            let earlier: [Bytes]
        }
        var random = SplitMix64(seed: 0xFA17)
        var wire: [UInt8] = []
        var frames: [[UInt8]] = []
        for index in 0..<60 {
            let body = pattern(Int.random(in: 0..<700, using: &random), seed: index)
            wire += withUnsafeBytes(of: UInt32(body.count).bigEndian) { Array($0) } + body
            frames.append(body)
        }
        var packets: [ArraySlice<UInt8>] = []
        var offset = 0
        while offset < wire.count {
            let length = min(wire.count - offset, Int.random(in: 1...900, using: &random))
            packets.append(wire[offset..<offset + length])
            offset += length
        }
        let messages = stride(from: 0, to: frames.count, by: 3).map { frames[$0..<$0 + 3].flatMap { $0 } }
        let earlier = (0..<4).map { pattern(300, seed: 100 + $0) }

        let loop = failEachAllocation(
            setUp: {
                let arena = try! ArenaAllocator(.init(name: "read-loop-faults", chunkSize: 4096))
                return Connection(arena: arena, earlier: earlier.map { try! Bytes.make(copying: $0, in: arena) })
            },
            operation: { (connection: inout Connection) throws(ArenaError) -> [[UInt8]] in
                var reader = try BytesMut.make(capacity: 256, in: connection.arena)
                var chain = Chain()
                var received: [[UInt8]] = []
                for packet in packets {
                    try reader.tryReserveCapacity(reader.count + packet.count)
                    packet.withUnsafeBytes { reader.append(contentsOf: $0) }
                    while let length = reader.getInteger(at: 0, as: UInt32.self), reader.count >= 4 + Int(length) {
                        var frame = reader.split(to: 4 + Int(length)).freeze()
                        _ = frame.readInteger(as: UInt32.self)
                        chain.append(frame)
                        if chain.segmentCount == 3 {
                            received.append(Array(try chain.tryFlattened(in: connection.arena)))
                            chain = Chain()
                        }
                    }
                }
                return received
            },
            afterFailure: { error, connection in
                guard case .outOfMemory = error else {
                    Issue.record("\(error), not .outOfMemory")
                    return
                }
                #expect(connection.earlier.map { Array($0) } == earlier, "earlier messages changed")
            },
            afterSuccess: { received, _ in #expect(received == messages) }
        )
        #expect(loop.failures >= 10, "a loop of \(packets.count) packets allocates more than that")
        #expect(loop.failedRetries == 0)
        #expect(loop.leaks.isEmpty, "memory left over: \(loop.leaks)")
        print("faults: read loop: \(loop)")
    }

    /// Together, the operations reach every place the arena calls its backend.
    @Test func theLoopsReachEverySite() {
        var sites: Set<FaultInjection.Site> = []
        for operation in Operation.allCases {
            sites.formUnion(
                failEachAllocation(
                    setUp: { operation.before },
                    operation: { (before: inout Before) throws(ArenaError) in try operation.run(&before) },
                    afterFailure: { _, _ in },
                    afterSuccess: { _, _ in }
                ).sites
            )
        }
        #expect(sites == Set(FaultInjection.Site.allCases))
    }
}

/// `count` bytes that depend on `seed`.
func pattern(_ count: Int, seed: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 101 &+ 7) }
}
