import Arena
import ArenaBytes
import ArenaNIO
import NIOCore
import NIOEmbedded
import Testing

/// An `EmbeddedChannel` with an `ArenaFramingHandler` in front, fed `[UInt8]` reads.
final class FramingChannel<Decoder: ByteFrameDecoder> {
    let channel: EmbeddedChannel
    let handler: ArenaFramingHandler<Decoder>

    init(
        _ decoder: Decoder,
        arena: ArenaAllocator,
        maxBufferedBytes: Int = 1 << 20,
        backpressure: ArenaReadBackpressure? = nil,
        receiveCapacity: Int = 16 << 10
    ) throws {
        handler = ArenaFramingHandler(
            decoder: decoder,
            arena: arena,
            maxBufferedBytes: maxBufferedBytes,
            backpressure: backpressure,
            receiveCapacity: receiveCapacity
        )
        channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    /// Tears the pipeline down: an `EmbeddedChannel` and its pipeline refer to each other until
    /// `finish`, and LeakSanitizer reports what they hold (the handler's buffer included).
    deinit {
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    /// Sends one read; returns the error the pipeline caught, if any.
    @discardableResult
    func send(_ bytes: some Collection<UInt8>) -> (any Error)? {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        do {
            try channel.writeInbound(buffer)
            return nil
        } catch {
            return error
        }
    }

    /// The frames passed on so far, as `Bytes`, in order.
    func frames() throws -> [Bytes] where Decoder.Frame == Bytes {
        var frames: [Bytes] = []
        while let frame = try channel.readInbound(as: Bytes.self) { frames.append(frame) }
        return frames
    }

    /// The frames passed on so far, as arrays.
    func frameArrays() throws -> [[UInt8]] where Decoder.Frame == Bytes {
        try frames().map { Array($0) }
    }

    /// Whether the handler last set `autoRead` to `false`.
    var autoReadOff: Bool {
        let last = channel.options.last { $0.option is ChannelOptions.Types.AutoReadOption }
        return (last?.value as? Bool) == false
    }
}

/// A length-prefixed frame: `prefix` big-endian `UInt32` of the body's length, then the body.
func lengthPrefixed(_ body: [UInt8]) -> [UInt8] {
    withUnsafeBytes(of: UInt32(body.count).bigEndian) { Array($0) } + body
}

/// A body whose bytes say which frame it is: `index` in the first 4 bytes, then a pattern.
func patternBody(index: Int, count: Int) -> [UInt8] {
    (0..<count).map { offset in
        offset < 4 ? UInt8(truncatingIfNeeded: index >> (8 * offset)) : UInt8(truncatingIfNeeded: index &* 31 &+ offset)
    }
}

/// A fresh arena for one test.
func makeArena(_ name: String, chunkSize: Int = 64 << 10, limit: Int? = nil) throws -> ArenaAllocator {
    try ArenaAllocator(.init(name: name, chunkSize: chunkSize, limit: limit))
}
