import Arena
import ArenaBytes
import ArenaNIO
import ArenaTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Real sockets on 127.0.0.1: a client that sends far faster than the server's consumer drains,
/// into an arena with a small limit. A 10-minute limit: these tests await, and Swift Testing
/// counts the wait for a free thread of the cooperative pool (busy with the sanitizers' long
/// tests on 2 cores) in the limit; under TSan the suite finished 196 s into a 200 s run.
@Suite("ArenaFramingHandler over loopback", .serialized, .timeLimit(.minutes(10)))
struct LoopbackFramingTests {
    /// 3 MB of frames, far over the arena's 256 KiB limit (at the sanitizers' quarter scale,
    /// 750 KB: still three times the limit, so reading must pause).
    static let frameCount = TestScale.count(3000, minimum: 750)
    static let bodySize = 1000

    struct Timeout: Error {}

    /// The client: connects and writes every frame at once, as fast as the socket takes them.
    static func sendAllFrames(group: any EventLoopGroup, to address: SocketAddress) async throws -> any Channel {
        let client = try await ClientBootstrap(group: group).connect(to: address).get()
        var stream = client.allocator.buffer(capacity: frameCount * (bodySize + 4))
        for index in 0..<frameCount {
            stream.writeBytes(lengthPrefixed(patternBody(index: index, count: bodySize)))
        }
        try await client.writeAndFlush(stream)
        return client
    }

    /// Holds every frame it receives and lets go of a few per tick (a millisecond, or more on a
    /// loaded machine), checking each one's content and order as it goes. A tick's 40 frames are
    /// far fewer than the client keeps sending, so the arena still fills and reading pauses.
    final class SlowConsumer: ChannelInboundHandler {
        typealias InboundIn = Bytes

        struct Outcome: Sendable {
            var checked: Int
            var mismatches: Int
            var peakReserved: Int
        }

        static let framesPerTick = 40

        let done: EventLoopPromise<Outcome>
        let arena: ArenaAllocator
        var held: [Bytes] = []
        var checked = 0
        var mismatches = 0
        var peakReserved = 0
        var drain: RepeatedTask?

        init(done: EventLoopPromise<Outcome>, arena: ArenaAllocator) {
            self.done = done
            self.arena = arena
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            drain = context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(1)) {
                _ in bound.value.drainSome()
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            held.append(unwrapInboundIn(data))
            peakReserved = max(peakReserved, arena.bytesReserved)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            drain?.cancel()
            done.fail(error)
        }

        private func drainSome() {
            for frame in held.prefix(Self.framesPerTick) {
                if Array(frame) != patternBody(index: checked, count: LoopbackFramingTests.bodySize) { mismatches += 1 }
                checked += 1
            }
            held.removeFirst(min(Self.framesPerTick, held.count))
            if checked == LoopbackFramingTests.frameCount {
                drain?.cancel()
                done.succeed(Outcome(checked: checked, mismatches: mismatches, peakReserved: peakReserved))
            }
        }
    }

    @Test func aFastClientIsPausedAndNothingIsLostOrReordered() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let limit = 256 << 10
        let arena = try makeArena("loopback", chunkSize: 16 << 10, limit: limit)
        let backpressure = ArenaReadBackpressure(arena: arena, high: .fractionOfLimit(0.5), low: .fractionOfLimit(0.25))
        let serverLoop = group.next()
        let done = serverLoop.makePromise(of: SlowConsumer.Outcome.self)
        let framing = Mutex<ArenaFramingHandler<LengthPrefixedFrameDecoder<UInt32>>.Statistics?>(nil)
        let server = try await ServerBootstrap(group: serverLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ArenaFramingHandler(
                        decoder: LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 4096),
                        arena: arena,
                        maxBufferedBytes: 64 << 10,
                        backpressure: backpressure
                    )
                    let slow = SlowConsumer(done: done, arena: arena)
                    try channel.pipeline.syncOperations.addHandlers(handler, slow)
                    let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                    done.futureResult.whenComplete { _ in framing.withLock { $0 = bound.value.statistics } }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let timeout = serverLoop.scheduleTask(in: .seconds(60)) { done.fail(Timeout()) }
        let client = try await Self.sendAllFrames(group: group, to: server.localAddress!)
        let outcome = try await done.futureResult.get()
        timeout.cancel()

        #expect(outcome.checked == Self.frameCount)
        #expect(outcome.mismatches == 0, "frames lost, changed or reordered")
        #expect(backpressure.pauses > 0, "the fast client was paused")
        #expect(backpressure.resumes > 0, "and resumed")
        #expect(outcome.peakReserved <= limit && arena.statistics().peakBytesReserved <= limit)
        let statistics = try #require(framing.withLock { $0 })
        #expect(statistics.frames == Self.frameCount)
        #expect(statistics.bytesReceived == Self.frameCount * (Self.bodySize + 4))
        // Copied bytes per received byte, printed for the record.
        print("loopback: copied/received = \(Double(statistics.bytesCopied) / Double(statistics.bytesReceived))")
        try? await client.close()
        try await server.close()
    }

    @Test func framesArriveInAsyncCodeThroughNIOAsyncChannel() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let arena = try makeArena("async", chunkSize: 16 << 10, limit: 512 << 10)
        let backpressure = ArenaReadBackpressure(arena: arena, high: .fractionOfLimit(0.5), low: .fractionOfLimit(0.25))
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ArenaFramingHandler(
                            decoder: LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 4096),
                            arena: arena,
                            maxBufferedBytes: 64 << 10,
                            backpressure: backpressure
                        )
                    )
                    // A deep stream buffer, so that the arena, not the stream, is what fills.
                    return try NIOAsyncChannel<Bytes, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 5000, highWatermark: 10_000))
                    )
                }
            }
        let address = try #require(server.channel.localAddress)
        let client = try await Self.sendAllFrames(group: group, to: address)

        let received = try await withThrowingTaskGroup(of: Int?.self) { tasks in
            tasks.addTask {
                try await Task.sleep(for: .seconds(60))
                throw Timeout()
            }
            tasks.addTask {
                var received = 0
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        try await connection.executeThenClose { inbound, _ in
                            for try await frame in inbound {
                                #expect(Array(frame) == patternBody(index: received, count: Self.bodySize))
                                received += 1
                                if received % 100 == 0 { try await Task.sleep(for: .milliseconds(2)) }
                                if received == Self.frameCount { break }
                            }
                        }
                        break
                    }
                }
                return received
            }
            let first = try await tasks.next()!
            tasks.cancelAll()
            return first
        }
        #expect(received == Self.frameCount)
        #expect(arena.statistics().peakBytesReserved <= 512 << 10)
        try? await client.close()
    }
}
