@_spi(FaultInjection) import Arena
import ArenaBytes
import ArenaNIO
import NIOCore
import Testing

/// The framing handler when the arena refuses a share of its allocations: a refused read waits
/// (the connection pauses and tries again), and every frame still arrives whole and in order.
@Suite("ArenaFramingHandler: refused allocations", .timeLimit(.minutes(5)))
struct FramingFaultTests {
    @Test(arguments: [0.1, 0.5])
    func everyFrameArrivesInOrderWhenAllocationsAreRefused(rate: Double) throws {
        let arena = try makeArena("framing-faults", chunkSize: 4096)
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 1 << 20),
            arena: arena,
            receiveCapacity: 4096
        )
        // Frames of 100 bytes to 30 KB, so the buffer carves, grows into blocks and moves them.
        let bodies = (0..<200).map { patternBody(index: $0, count: 100 + ($0 * 7919) % 30_000) }
        arena.faultInjection.set(.failAtRate(rate, seed: 0xF4), onlyThisThread: true)
        var received: [[UInt8]] = []
        var paused = 0  // steps of 10 ms spent paused
        for body in bodies {
            #expect(connection.send(lengthPrefixed(body)) == nil)
            received += try connection.frameArrays()
            // A paused connection retries every few milliseconds.
            while connection.handler.isPaused {
                paused += 1
                connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
                received += try connection.frameArrays()
            }
        }
        let counts = arena.faultInjection.counts
        arena.faultInjection.set(.off)
        #expect(counts.injected > 0, "no allocation was refused, so nothing was tested")
        #expect(paused > 0, "a refused read pauses the connection")
        #expect(received == bodies, "frames lost, changed or reordered")
        #expect(connection.channel.isActive, "a refused allocation is no reason to close")
        print("faults: framing at \(rate): \(counts.attempts) allocations, \(counts.injected) refused, \(paused) waits")
    }
}
