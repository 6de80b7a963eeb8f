import Arena
import ArenaBytes
import ArenaNIO
import NIOCore
import NIOEmbedded
import Testing

@Suite("ArenaFramingHandler: buffer reuse and backpressure", .timeLimit(.minutes(5)))
struct FramingHandlerTests {
    /// 1,000 rounds of reads whose frames straddle the reads, every frame dropped by the next
    /// round: after a warm-up, not one new arena allocation (block or carve), not one refill.
    @Test(arguments: [16 << 10, 2 << 10])  // a dedicated block; a region carved from a chunk
    func aSteadyConnectionAllocatesNothing(receiveCapacity: Int) throws {
        let arena = try makeArena("steady-\(receiveCapacity)")
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 1000),
            arena: arena,
            receiveCapacity: receiveCapacity
        )
        // 100-byte bodies, 104-byte frames, 1000-byte reads: frames straddle the reads.
        let stream = (0..<2000).flatMap { lengthPrefixed(patternBody(index: $0, count: 100)) }
        var offset = 0
        var next = 0
        func round() throws {
            #expect(connection.send(stream[offset..<(offset + 1000)]) == nil)
            offset = (offset + 1000) % stream.count
            for frame in try connection.frameArrays() {
                #expect(frame == patternBody(index: next, count: 100))
                next = (next + 1) % 2000
            }
        }
        for _ in 0..<20 { try round() }
        let before = arena.statistics()
        for _ in 0..<1000 { try round() }
        let after = arena.statistics()
        #expect(after.allocations == before.allocations, "new arena allocations in 1,000 steady rounds")
        #expect(after.chunkRefills == before.chunkRefills)
        #expect(after.bytesReserved == before.bytesReserved)
        #expect(connection.handler.statistics.frames > 9000)
        // Copied bytes per received byte: 1, plus the unfinished frame moved back at each rewind.
        let stats = connection.handler.statistics
        #expect(stats.bytesCopied >= stats.bytesReceived)
        #expect(Double(stats.bytesCopied) / Double(stats.bytesReceived) < 1.1)
    }

    @Test func aBufferGrownForALargeFrameGoesWithIt() throws {
        let arena = try makeArena("grown")
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 4 << 20),
            arena: arena,
            maxBufferedBytes: 8 << 20
        )
        #expect(connection.send(lengthPrefixed(Array(repeating: 3, count: 2 << 20))) == nil)
        do {
            // A scope of its own: in a debug build a local lives to the end of its scope.
            let frames = try connection.frames()
            withExtendedLifetime(frames) {
                #expect(frames.map(\.count) == [2 << 20])
                #expect(arena.bytesReserved >= 2 << 20)
            }
        }
        #expect(arena.bytesReserved < 1 << 20, "the idle connection keeps no large buffer")
    }

    @Test func overTheHighMarkReadingPausesAndBelowTheLowMarkItResumes() throws {
        let arena = try makeArena("marks", chunkSize: 4096)
        let backpressure = ArenaReadBackpressure(
            arena: arena,
            high: .bytes(64 << 10),
            low: .bytes(48 << 10),
            checkInterval: .milliseconds(5)
        )
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 1 << 20),
            arena: arena,
            maxBufferedBytes: 1 << 20,
            backpressure: backpressure
        )
        let other = try FramingChannel(
            LineFrameDecoder(maximumLineLength: 100),
            arena: arena,
            backpressure: backpressure
        )
        // Frames the consumer holds on to: the arena fills past the high mark.
        var held: [Bytes] = []
        var index = 0
        while !connection.handler.isPaused && index < 100 {
            #expect(connection.send(lengthPrefixed(patternBody(index: index, count: 8 << 10))) == nil)
            held += try connection.frames()
            index += 1
        }
        #expect(connection.handler.isPaused && connection.autoReadOff)
        #expect(arena.bytesReserved > 64 << 10)
        #expect(backpressure.isOverHighWatermark && backpressure.pausedConnections == 1)
        // Another connection of the same arena pauses at its next read, after handling it.
        #expect(other.send(Array("line\n".utf8)) == nil)
        #expect(try other.frameArrays() == [Array("line".utf8)])
        #expect(other.handler.isPaused && other.autoReadOff)
        #expect(backpressure.pausedConnections == 2)

        // Still over the low mark: the periodic check keeps them paused.
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        #expect(connection.handler.isPaused)
        // The consumer drops the frames: the next check resumes both.
        let count = held.count
        held.removeAll()
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
        other.channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
        #expect(!connection.handler.isPaused && !connection.autoReadOff)
        #expect(!other.handler.isPaused && !other.autoReadOff)
        #expect(backpressure.pausedConnections == 0 && backpressure.resumes == 2 && backpressure.pauses == 2)
        #expect(!backpressure.isOverHighWatermark)
        // And reading goes on where it stopped.
        #expect(connection.send(lengthPrefixed(patternBody(index: count, count: 10))) == nil)
        #expect(try connection.frameArrays() == [patternBody(index: count, count: 10)])
    }

    @Test func whenTheArenaRefusesMemoryTheReadWaitsAndNothingIsLost() throws {
        // A limit of 64 KiB, no backpressure: the handler holds NIO's buffers until memory is back.
        let arena = try makeArena("refused", chunkSize: 4096, limit: 64 << 10)
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 1 << 20),
            arena: arena,
            receiveCapacity: 4096
        )
        var held: [Bytes] = []
        var sent = 0
        while !connection.handler.isPaused && sent < 100 {
            #expect(connection.send(lengthPrefixed(patternBody(index: sent, count: 6000))) == nil)
            held += try connection.frames()
            sent += 1
        }
        #expect(connection.handler.isPaused, "the arena's limit stopped the reading")
        // Reads already on their way are kept in order while paused.
        for index in sent..<(sent + 3) {
            #expect(connection.send(lengthPrefixed(patternBody(index: index, count: 6000))) == nil)
        }
        #expect(connection.handler.bufferedBytes >= 3 * 6004)
        #expect(arena.bytesReserved <= 64 << 10)
        held += try connection.frames()
        let received = held.map { Array($0) }
        held.removeAll()
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
        #expect(!connection.handler.isPaused)
        let all = received + (try connection.frameArrays())
        #expect(all == (0..<(sent + 3)).map { patternBody(index: $0, count: 6000) })
    }

    @Test func fractionsOfTheLimitResolveToBytes() throws {
        let arena = try makeArena("fractions", limit: 1 << 20)
        let backpressure = ArenaReadBackpressure(arena: arena, high: .fractionOfLimit(0.75), low: .fractionOfLimit(0.5))
        #expect(backpressure.highWatermark == 768 << 10 && backpressure.lowWatermark == 512 << 10)
    }
}

/// A handler behind the framing handler that keeps a copy of each frame in a sampled arena: the
/// profile names it, not NIO's pipeline that called the framing handler that called it.
final class FrameKeeper: ChannelInboundHandler {
    typealias InboundIn = Bytes
    let arena: ArenaAllocator
    var kept: [Bytes] = []

    init(arena: ArenaAllocator) { self.arena = arena }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        kept.append(try! Bytes.make(copying: Array(frame), in: arena))
    }
}

@Suite("Sampled sites behind the framing handler", .timeLimit(.minutes(5)))
struct SampledSiteTests {
    @Test func theSiteIsTheHandlerThatAllocatesNotThePipelineThatCalledIt() throws {
        var configuration = ArenaAllocator.Configuration(name: "kept-frames")
        configuration.sampleInterval = 1
        configuration.sampleSeed = 3
        let kept = try ArenaAllocator(configuration)
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 4096),
            arena: try makeArena("frames")
        )
        let keeper = FrameKeeper(arena: kept)
        try connection.channel.pipeline.syncOperations.addHandler(keeper)
        for index in 0..<20 { #expect(connection.send(lengthPrefixed(patternBody(index: index, count: 100))) == nil) }
        #expect(keeper.kept.count == 20)
        let top = try #require(kept.memoryProfile().sites.first)
        #expect(top.function.contains("FrameKeeper"), "the site is \(top.function)")
    }
}
