import Arena
import ArenaBytes
import ArenaNIO
import NIOCore
import NIOEmbedded
import Testing

@Suite("Frame decoders behind ArenaFramingHandler", .timeLimit(.minutes(5)))
struct FrameDecoderTests {
    static let bodies: [[UInt8]] = [
        [], [7], Array("hello".utf8), patternBody(index: 3, count: 300), [0, 0, 0, 0], patternBody(index: 5, count: 17),
    ]

    // MARK: - Length-prefixed

    @Test func lengthPrefixedFramesSplitAtEveryByteBoundaryComeOutWhole() throws {
        let arena = try makeArena("split-lp")
        let stream = Self.bodies.flatMap(lengthPrefixed)
        for cut in 0...stream.count {
            let connection = try FramingChannel(
                LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 1000),
                arena: arena
            )
            #expect(connection.send(stream[..<cut]) == nil)
            #expect(connection.send(stream[cut...]) == nil)
            #expect(try connection.frameArrays() == Self.bodies, "cut at \(cut)")
            #expect(connection.handler.bufferedBytes == 0)
        }
    }

    @Test func lengthPrefixedFramesSentByteByByteComeOutWhole() throws {
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 1000),
            arena: try makeArena("bytewise-lp")
        )
        var frames: [[UInt8]] = []
        for byte in Self.bodies.flatMap(lengthPrefixed) {
            #expect(connection.send([byte]) == nil)
            frames += try connection.frameArrays()
        }
        #expect(frames == Self.bodies)
    }

    @Test func littleEndianPrefixWithAdjustmentKeptInTheFrame() throws {
        // A 2-byte little-endian length that counts itself; frames keep their prefix.
        let decoder = LengthPrefixedFrameDecoder(
            lengthType: UInt16.self,
            byteOrder: .little,
            lengthAdjustment: -2,
            maximumFrameLength: 100,
            stripsPrefix: false
        )
        let frames: [[UInt8]] = [[5, 0, 1, 2, 3], [2, 0], [4, 0, 9, 9]]
        let stream = frames.flatMap { $0 }
        for cut in 0...stream.count {
            let connection = try FramingChannel(decoder, arena: try makeArena("le-adjust"))
            #expect(connection.send(stream[..<cut]) == nil)
            #expect(connection.send(stream[cut...]) == nil)
            #expect(try connection.frameArrays() == frames, "cut at \(cut)")
        }
    }

    @Test func manyFramesInOneReadAreViewsOfOneBuffer() throws {
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 1000),
            arena: try makeArena("many")
        )
        let bodies = (0..<1000).map { patternBody(index: $0, count: 4 + $0 % 50) }
        #expect(connection.send(bodies.flatMap(lengthPrefixed)) == nil)
        let frames = try connection.frames()
        #expect(frames.map { Array($0) } == bodies)
        // Zero-copy: each frame starts right after the previous one and its 4-byte prefix.
        for (previous, next) in zip(frames, frames.dropFirst()) {
            #expect(previous.region.baseAddress + previous.count + 4 == next.region.baseAddress)
        }
        #expect(connection.handler.statistics.frames == 1000)
    }

    @Test func aFrameOfTheMaximumLengthPassesAndOneByteMoreClosesTheConnection() throws {
        let decoder = LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 64)
        let ok = try FramingChannel(decoder, arena: try makeArena("max-ok"))
        #expect(ok.send(lengthPrefixed(patternBody(index: 1, count: 64))) == nil)
        #expect(try ok.frameArrays() == [patternBody(index: 1, count: 64)])
        #expect(ok.channel.isActive)

        let tooLong = try FramingChannel(decoder, arena: try makeArena("max-over"))
        // The frame before the bad one is passed on; the error comes with the prefix alone.
        let error = tooLong.send(lengthPrefixed([1, 2]) + lengthPrefixed(Array(repeating: 0, count: 65)).prefix(4))
        let frameError = try #require(error as? ByteFrameError)
        #expect(frameError.code == .frameTooLong)
        #expect(frameError.length == 65 && frameError.limit == 64)
        #expect(try tooLong.frameArrays() == [[1, 2]])
        #expect(!tooLong.channel.isActive, "the connection is closed")
        #expect(tooLong.send([1, 2, 3]) == nil, "later reads are ignored")
        #expect(try tooLong.frameArrays().isEmpty)
    }

    @Test func aNegativeLengthIsAnInvalidLength() throws {
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: Int32.self, maximumFrameLength: 64),
            arena: try makeArena("negative")
        )
        let error = connection.send(withUnsafeBytes(of: Int32(-1).bigEndian) { Array($0) })
        #expect((error as? ByteFrameError)?.code == .invalidLength)
        #expect(!connection.channel.isActive)
    }

    @Test func aUInt64LengthOverIntMaxIsTooLong() throws {
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt64.self, maximumFrameLength: 64),
            arena: try makeArena("huge")
        )
        let error = connection.send(Array(repeating: 0xFF, count: 8))
        #expect((error as? ByteFrameError)?.code == .frameTooLong)
    }

    @Test func anUnfinishedFrameOverMaxBufferedBytesClosesTheConnection() throws {
        // The decoder would take 1 MiB, the handler buffers at most 1000 bytes: the prefix alone
        // is enough to refuse, through `bytesNeeded`.
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 1 << 20),
            arena: try makeArena("buffered"),
            maxBufferedBytes: 1000
        )
        #expect(connection.send(lengthPrefixed(Array(repeating: 1, count: 996))) == nil, "exactly the limit")
        #expect(try connection.frames().count == 1)
        let error = connection.send(lengthPrefixed(Array(repeating: 1, count: 997)).prefix(10))
        let frameError = try #require(error as? ByteFrameError)
        #expect(frameError.code == .bufferLimitExceeded)
        #expect(frameError.length == 1001 && frameError.limit == 1000)
        #expect(!connection.channel.isActive)
    }

    @Test func aDecoderThatCannotTellItsSizeIsStoppedAtMaxBufferedBytes() throws {
        let connection = try FramingChannel(
            LineFrameDecoder(maximumLineLength: 1 << 20),
            arena: try makeArena("buffered-line"),
            maxBufferedBytes: 100
        )
        #expect(connection.send(Array(repeating: UInt8(ascii: "a"), count: 99)) == nil)
        let error = connection.send(Array(repeating: UInt8(ascii: "a"), count: 50))
        #expect((error as? ByteFrameError)?.code == .bufferLimitExceeded)
        #expect(!connection.channel.isActive)
    }

    @Test func aLargeFrameIsReceivedIntoOneAllocation() throws {
        let arena = try makeArena("large")
        let connection = try FramingChannel(
            LengthPrefixedFrameDecoder(lengthType: UInt32.self, maximumFrameLength: 4 << 20),
            arena: arena,
            maxBufferedBytes: 8 << 20
        )
        let body = patternBody(index: 9, count: 1 << 20)
        let stream = lengthPrefixed(body)
        let before = arena.statistics().allocations
        var offset = 0
        while offset < stream.count {
            let end = min(offset + 8192, stream.count)
            #expect(connection.send(stream[offset..<end]) == nil)
            offset = end
        }
        #expect(try connection.frameArrays() == [body])
        // One for the first read, then one growth to the whole frame's size once the prefix told
        // it (a doubling series would copy the partial frame six times over).
        #expect(arena.statistics().allocations - before <= 2)
        #expect(connection.handler.statistics.bytesCopied <= stream.count + (16 << 10))
    }

    // MARK: - Lines

    static let lines = ["", "GET key", "x", String(repeating: "y", count: 40), "", "last one"]

    @Test(arguments: ["\n", "\r\n"])
    func linesSplitAtEveryByteBoundaryComeOutWithoutDelimiters(_ delimiter: String) throws {
        let arena = try makeArena("split-line")
        let stream = Array(Self.lines.map { $0 + delimiter }.joined().utf8)
        let expected = Self.lines.map { Array($0.utf8) }
        for cut in 0...stream.count {
            let connection = try FramingChannel(LineFrameDecoder(maximumLineLength: 40), arena: arena)
            #expect(connection.send(stream[..<cut]) == nil)
            #expect(connection.send(stream[cut...]) == nil)
            #expect(try connection.frameArrays() == expected, "cut at \(cut)")
        }
        let bytewise = try FramingChannel(LineFrameDecoder(maximumLineLength: 40), arena: arena)
        var frames: [[UInt8]] = []
        for byte in stream {
            #expect(bytewise.send([byte]) == nil)
            frames += try bytewise.frameArrays()
        }
        #expect(frames == expected)
    }

    @Test func mixedDelimitersAndABareCarriageReturnInsideALine() throws {
        let connection = try FramingChannel(LineFrameDecoder(maximumLineLength: 10), arena: try makeArena("mixed"))
        #expect(connection.send(Array("a\r\nb\nc\rd\n\r\n".utf8)) == nil)
        #expect(try connection.frameArrays() == [Array("a".utf8), Array("b".utf8), Array("c\rd".utf8), []])
    }

    @Test func aLineOfTheMaximumLengthPassesAndLongerOnesFail() throws {
        let arena = try makeArena("line-max")
        let ok = try FramingChannel(LineFrameDecoder(maximumLineLength: 8), arena: arena)
        // The maximum with `\r\n`, the `\r` and `\n` arriving separately.
        #expect(ok.send(Array("12345678\r".utf8)) == nil)
        #expect(ok.send(Array("\n12345678\n".utf8)) == nil)
        #expect(try ok.frameArrays() == [Array("12345678".utf8), Array("12345678".utf8)])

        let complete = try FramingChannel(LineFrameDecoder(maximumLineLength: 8), arena: arena)
        let error = complete.send(Array("ok\n123456789\n".utf8))
        #expect((error as? ByteFrameError)?.code == .lineTooLong)
        #expect((error as? ByteFrameError)?.length == 9)
        #expect(try complete.frameArrays() == [Array("ok".utf8)])
        #expect(!complete.channel.isActive)

        // No newline yet, but already too long: refused before the rest arrives.
        let unfinished = try FramingChannel(LineFrameDecoder(maximumLineLength: 8), arena: arena)
        #expect(unfinished.send(Array("123456789".utf8)) == nil, "9 bytes may still be 8 and a \\r")
        let late = unfinished.send(Array("0".utf8))
        #expect((late as? ByteFrameError)?.code == .lineTooLong)
        #expect(!unfinished.channel.isActive)
    }

    @Test func errorsDescribeThemselves() {
        let error = ByteFrameError(.frameTooLong, length: 65, limit: 64)
        #expect(error.description == "ByteFrameError: frame too long (65 bytes, limit 64)")
        #expect(
            ByteFrameError(.invalidLength, length: -1, limit: 0).description == "ByteFrameError: invalid length (-1)"
        )
        #expect(ByteFrameError.Code.lineTooLong != .frameTooLong)
    }
}
