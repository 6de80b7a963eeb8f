import Arena
import ArenaBytes
import ArenaNIO
import NIOCore
import NIOEmbedded
import Testing

/// One owner of `autoRead`: the framing handler's memory pause and a downstream handler's
/// writability pause, overlapping in either order, never undo each other.
@Suite("ArenaFramingHandler: pause reasons", .timeLimit(.minutes(5)))
struct ReadPauseTests {
    typealias Decoder = LengthPrefixedFrameDecoder<UInt32>

    /// A connection over an arena whose backpressure pauses above 64 KiB and resumes below 48 KiB.
    private func makeConnection(_ name: String) throws -> (FramingChannel<Decoder>, ArenaReadBackpressure) {
        let arena = try makeArena(name, chunkSize: 4096)
        let backpressure = ArenaReadBackpressure(arena: arena, high: .bytes(64 << 10), low: .bytes(48 << 10))
        let connection = try FramingChannel(
            Decoder(lengthType: UInt32.self, maximumFrameLength: 1 << 20),
            arena: arena,
            backpressure: backpressure
        )
        return (connection, backpressure)
    }

    /// Sends frames the test holds on to until the arena passes the high mark.
    private func fillUntilMemoryPause(_ connection: FramingChannel<Decoder>) throws -> [Bytes] {
        var held: [Bytes] = []
        var index = 0
        while !connection.handler.pauseReasons.contains(.memory) && index < 100 {
            #expect(connection.send(lengthPrefixed(patternBody(index: index, count: 8 << 10))) == nil)
            held += try connection.frames()
            index += 1
        }
        #expect(connection.handler.isPaused)
        return held
    }

    @Test func aDownstreamPauseStopsAndResumesReading() throws {
        let (connection, _) = try makeConnection("pause-user")
        #expect(connection.handler.pauseReasons.isEmpty && !connection.autoReadOff)
        connection.handler.pauseReading(.writability)
        #expect(connection.handler.pauseReasons == .writability && connection.autoReadOff)
        connection.handler.pauseReading([.writability, .application])
        #expect(connection.handler.pauseReasons == [.writability, .application])
        #expect(connection.handler.statistics.pauses == 1, "a second reason is not a second pause")
        // Frames of bytes already received are still passed on while paused.
        #expect(connection.send(lengthPrefixed([1, 2, 3])) == nil)
        #expect(try connection.frameArrays() == [[1, 2, 3]])
        connection.handler.resumeReading(.writability)
        #expect(connection.autoReadOff, "the application's reason remains")
        connection.handler.resumeReading(.application)
        #expect(connection.handler.pauseReasons.isEmpty && !connection.autoReadOff)
        connection.handler.resumeReading(.writability)
        #expect(!connection.autoReadOff, "removing a reason not held changes nothing")
        #expect(connection.handler.statistics.pauses == 1)
    }

    @Test func memoryFirstThenWritabilityResumesOnlyWhenBothAreGone() throws {
        let (connection, backpressure) = try makeConnection("pause-memory-first")
        var held = try fillUntilMemoryPause(connection)
        #expect(connection.handler.pauseReasons == .memory && connection.autoReadOff)
        connection.handler.pauseReading(.writability)
        #expect(connection.handler.pauseReasons == [.memory, .writability])
        // The memory comes back: the memory reason goes, the writability reason keeps reading off.
        held.removeAll()
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
        #expect(!connection.handler.isPaused && backpressure.pausedConnections == 0)
        #expect(connection.handler.pauseReasons == .writability && connection.autoReadOff)
        connection.handler.resumeReading(.writability)
        #expect(connection.handler.pauseReasons.isEmpty && !connection.autoReadOff)
        #expect(connection.handler.statistics.pauses == 1, "reading stopped once")
        #expect(connection.send(lengthPrefixed([7])) == nil)
        #expect(try connection.frameArrays() == [[7]])
    }

    @Test func writabilityFirstThenMemoryResumesOnlyWhenBothAreGone() throws {
        let (connection, backpressure) = try makeConnection("pause-writability-first")
        connection.handler.pauseReading(.writability)
        #expect(connection.autoReadOff)
        // Reads already on their way go on; they push the arena over its high mark.
        var held = try fillUntilMemoryPause(connection)
        #expect(connection.handler.pauseReasons == [.memory, .writability])
        #expect(backpressure.pausedConnections == 1)
        // The client reads its replies: memory still holds reading off.
        connection.handler.resumeReading(.writability)
        #expect(connection.handler.pauseReasons == .memory && connection.autoReadOff)
        withExtendedLifetime(held) {
            connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
            #expect(connection.autoReadOff, "still over the low mark")
        }
        held.removeAll()
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
        #expect(connection.handler.pauseReasons.isEmpty && !connection.autoReadOff)
        #expect(connection.handler.statistics.pauses == 1, "reading stopped once")
    }

    @Test func aReasonGivenBeforeTheHandlerIsAddedAppliesWhenItIs() throws {
        let arena = try makeArena("pause-early")
        let handler = ArenaFramingHandler(
            decoder: Decoder(lengthType: UInt32.self, maximumFrameLength: 1 << 10),
            arena: arena,
            maxBufferedBytes: 1 << 10
        )
        handler.pauseReading(.application)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        let last = channel.options.last { $0.option is ChannelOptions.Types.AutoReadOption }
        #expect((last?.value as? Bool) == false)
        handler.resumeReading(.application)
        let now = channel.options.last { $0.option is ChannelOptions.Types.AutoReadOption }
        #expect((now?.value as? Bool) == true)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func reasonsPrintByName() {
        #expect(ReadPauseReasons([.memory, .writability]).description == "[memory, writability]")
        #expect(ReadPauseReasons(rawValue: 1 << 16 | 1 << 2).description == "[application, bit 16]")
    }
}
