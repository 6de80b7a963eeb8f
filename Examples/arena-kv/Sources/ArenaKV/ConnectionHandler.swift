import ArenaBytes
import ArenaNIO
import NIOCore

/// One client connection's requests: runs each ``RequestBatch`` that the framing handler in
/// front of it passes on and writes the replies.
///
/// ```
///  ArenaFramingHandler<RESPFrameDecoder>        ConnectionHandler
///  receive buffer (BytesMut, kv-io arena)        batch (Bytes, frozen, same memory)
///  +---------------------------+------+          +---------------------------+
///  | complete requests         | part |   --->   | *3 $3 SET $1 k $5 hello…  |  arguments are
///  +---------------------------+------+          +---------------------------+  slices of it
///                               ^ waits in the receive buffer for the rest
/// ```
///
/// ``addHandlers(to:state:)`` sets up a connection's pipeline. Receiving, framing and the
/// per-client buffer limit belong to the framing handler (`maxBufferedBytes` is the configured
/// client buffer limit); this handler only runs requests. When the client does not read its
/// replies (the channel is not writable) it stops running requests, holds the batches still
/// coming, and asks the framing handler to stop reading (`pauseReading(.writability)`), which
/// owns `autoRead` together with its own memory pause. A protocol error ends the connection
/// with Redis's words once the requests before it have run.
public final class ConnectionHandler: ChannelInboundHandler {
    /// Complete requests, cut by ``RESPFrameDecoder``.
    public typealias InboundIn = RequestBatch
    /// Replies.
    public typealias OutboundOut = ByteBuffer

    /// The framing handler of a connection of arena-kv.
    public typealias Framing = ArenaFramingHandler<RESPFrameDecoder>

    /// Replies are sent once this many bytes have piled up, even mid-batch.
    static let flushThreshold = 64 << 10

    private let state: ServerState
    private let executor: CommandExecutor
    /// The handler in front, which owns `autoRead`.
    private let framing: Framing

    /// Batches received and not yet run to the end; the first is being run.
    private var batches = CircularBuffer<RequestBatch>()
    /// Where the run of the first batch has got to.
    private var nextRequest = 0
    private var nextSpan = 0
    /// The current request's arguments, reused from request to request.
    private var arguments: [Bytes] = []
    /// Replies not yet written to the channel.
    private var replies: ByteBuffer?
    /// Waiting for the client to read its replies.
    private var paused = false
    private var closing = false

    /// Adds a connection's handlers to its pipeline: an `ArenaFramingHandler` receiving into
    /// `state.ioArena` with a ``RESPFrameDecoder``, then a `ConnectionHandler`.
    public static func addHandlers(to pipeline: ChannelPipeline.SynchronousOperations, state: ServerState) throws {
        let framing = Framing(
            decoder: RESPFrameDecoder(parser: state.parser),
            arena: state.ioArena,
            maxBufferedBytes: state.configuration.clientBufferLimit
        )
        try pipeline.addHandler(framing)
        try pipeline.addHandler(ConnectionHandler(state: state, framing: framing))
    }

    /// A handler for one connection of the server that `state` describes, after `framing`.
    public init(state: ServerState, framing: Framing) {
        self.state = state
        self.executor = CommandExecutor(state: state)
        self.framing = framing
    }

    /// Counts the connection.
    public func channelActive(context: ChannelHandlerContext) {
        state.connectionsReceived.add(1, ordering: .relaxed)
        state.connectedClients.add(1, ordering: .relaxed)
        context.fireChannelActive()
    }

    /// Counts the connection out.
    public func channelInactive(context: ChannelHandlerContext) {
        state.connectedClients.subtract(1, ordering: .relaxed)
        batches.removeAll()
        context.fireChannelInactive()
    }

    /// Runs the batch, or holds it while the client must read its replies first.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let batch = unwrapInboundIn(data)
        guard !batch.requests.isEmpty else { return }
        batches.append(batch)
        if !paused { run(context: context) }
    }

    /// Sends the replies of everything read so far.
    public func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
    }

    /// Resumes a paused connection once the client has read enough of its replies.
    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if paused && context.channel.isWritable {
            paused = false
            framing.resumeReading(.writability)
            run(context: context)
            flush(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// A protocol error (from the decoder, or the framing handler's buffer limit): runs the
    /// requests received before it, replies with Redis's words and lets the framing handler
    /// close the connection. Any other error closes it.
    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        let protocolError: ProtocolError? =
            switch error {
            case let error as ProtocolError: error
            case let error as ByteFrameError where error.code == .bufferLimitExceeded: .queryBufferLimitExceeded
            default: nil
            }
        guard let protocolError, !closing else {
            context.close(promise: nil)
            return
        }
        // The connection closes now: the requests before the error run whether or not the
        // client reads its replies.
        paused = false
        run(context: context)
        guard !closing else { return }
        state.protocolErrors.add(1, ordering: .relaxed)
        closing = true
        batches.removeAll()
        withReplies(context: context) { $0.writeErrorReply(protocolError.message) }
        flush(context: context)
        context.close(promise: nil)
    }

    // MARK: Running requests

    /// Runs the batches received, until none is left, the client must read first, or the
    /// connection ends.
    private func run(context: ChannelHandlerContext) {
        var commands = 0
        defer {
            state.commandsProcessed.add(commands, ordering: .relaxed)
            arguments.removeAll(keepingCapacity: true)
        }
        while let batch = batches.first {
            while nextRequest < batch.requests.count {
                if let pending = replies, pending.readableBytes >= Self.flushThreshold {
                    flush(context: context)
                    if !context.channel.isWritable {
                        paused = true
                        framing.pauseReading(.writability)
                        return
                    }
                }
                let count = batch.requests[nextRequest]
                arguments.removeAll(keepingCapacity: true)
                for span in batch.spans[nextSpan..<(nextSpan + count)] {
                    arguments.append(batch.bytes.slice(span.range))
                }
                nextSpan += count
                nextRequest += 1
                commands += 1
                let disposition = withReplies(context: context) { executor.execute(arguments, into: &$0) }
                if disposition == .close {
                    closing = true
                    batches.removeAll()
                    flush(context: context)
                    context.close(promise: nil)
                    return
                }
            }
            // The batch is done: dropping it lets the receive buffer reclaim its memory.
            batches.removeFirst()
            nextRequest = 0
            nextSpan = 0
        }
    }

    // MARK: Replies

    private func withReplies<Result>(
        context: ChannelHandlerContext,
        _ body: (inout ByteBuffer) -> Result
    ) -> Result {
        var buffer = replies ?? context.channel.allocator.buffer(capacity: 1024)
        replies = nil
        let result = body(&buffer)
        replies = buffer
        return result
    }

    private func flush(context: ChannelHandlerContext) {
        guard let buffer = replies, buffer.readableBytes > 0 else { return }
        replies = nil
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}
