import ArenaBytes
import NIOCore

/// One client connection: receives bytes into an arena `BytesMut`, cuts complete requests out
/// of it without copying, runs them and writes the replies.
///
/// ```
///  received (BytesMut, kv-io arena)          batch (Bytes, frozen, same memory)
///  +---------------------------+------+      +---------------------------+
///  | complete requests         | part |  ->  | *3 $3 SET $1 k $5 hello…  |  arguments are
///  +---------------------------+------+      +---------------------------+  slices of it
///                               ^ stays in `received` until the rest arrives
/// ```
///
/// Memory per client is bounded: an unfinished request may hold at most the configured
/// client buffer limit, and when the client does not read its replies (the channel is not
/// writable) the handler stops running requests and stops reading until it drains.
public final class ConnectionHandler: ChannelInboundHandler {
    /// Bytes as NIO read them.
    public typealias InboundIn = ByteBuffer
    /// Replies.
    public typealias OutboundOut = ByteBuffer

    /// Replies are sent once this many bytes have piled up, even mid-batch.
    static let flushThreshold = 64 << 10
    /// The receive buffer's smallest size.
    static let receiveBufferSize = 16 << 10

    private let state: ServerState
    private let executor: CommandExecutor

    /// Bytes received and not yet cut into requests.
    private var received: BytesMut
    /// The complete requests being run: their bytes, the arguments' spans into them, and the
    /// argument count of each request.
    private var batch = Bytes()
    private var spans: [ArgumentSpan] = []
    private var requests: [Int] = []
    /// Where the run of the batch has got to.
    private var nextRequest = 0
    private var nextSpan = 0
    /// The current request's arguments, reused from request to request.
    private var arguments: [Bytes] = []
    /// The protocol error that ends this connection once the requests before it have run.
    private var pendingError: ProtocolError?
    /// Replies not yet written to the channel.
    private var replies: ByteBuffer?
    /// Waiting for the client to read its replies.
    private var paused = false
    private var closing = false

    /// A handler for one connection of the server that `state` describes.
    public init(state: ServerState) {
        self.state = state
        self.executor = CommandExecutor(state: state)
        self.received = BytesMut(capacity: 0, in: state.ioArena)
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
        context.fireChannelInactive()
    }

    /// Appends the bytes to the receive buffer (or closes the connection when they pass its
    /// limit) and runs the requests that are complete.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let buffer = unwrapInboundIn(data)
        let needed = received.count + buffer.readableBytes
        guard needed <= state.configuration.clientBufferLimit + Self.receiveBufferSize else {
            fail(.queryBufferLimitExceeded, context: context)
            return
        }
        do {
            try received.tryReserveCapacity(max(needed, Self.receiveBufferSize))
        } catch {
            fail(.queryBufferLimitExceeded, context: context)
            return
        }
        buffer.withUnsafeReadableBytes { received.append(contentsOf: $0) }
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
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            run(context: context)
            flush(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// Closes the connection; other clients are not affected.
    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    // MARK: Running requests

    /// Runs the parsed requests, then parses and runs more, until the received bytes hold no
    /// complete request, the client must read first, or the connection ends.
    private func run(context: ChannelHandlerContext) {
        var commands = 0
        defer { state.commandsProcessed.add(commands, ordering: .relaxed) }
        while true {
            while nextRequest < requests.count {
                if let pending = replies, pending.readableBytes >= Self.flushThreshold {
                    flush(context: context)
                    if !context.channel.isWritable {
                        pause(context: context)
                        return
                    }
                }
                let count = requests[nextRequest]
                arguments.removeAll(keepingCapacity: true)
                for span in spans[nextSpan..<(nextSpan + count)] { arguments.append(batch.slice(span.range)) }
                nextSpan += count
                nextRequest += 1
                commands += 1
                let disposition = withReplies(context: context) { executor.execute(arguments, into: &$0) }
                if disposition == .close {
                    closing = true
                    flush(context: context)
                    context.close(promise: nil)
                    return
                }
            }
            batch = Bytes()
            arguments.removeAll(keepingCapacity: true)
            spans.removeAll(keepingCapacity: true)
            requests.removeAll(keepingCapacity: true)
            nextRequest = 0
            nextSpan = 0
            if let error = pendingError {
                fail(error, context: context)
                return
            }
            guard parse(context: context) else { return }
        }
    }

    /// Cuts the complete requests out of `received` into `batch`; whether there are any to run.
    private func parse(context: ChannelHandlerContext) -> Bool {
        let outcome = received.withUnsafeBytes { state.parser.parse($0, spans: &spans, requests: &requests) }
        if outcome.consumed > 0 {
            batch = received.split(to: outcome.consumed).freeze()
            // An empty remainder still holds the batch's memory, which a large request grew:
            // start afresh, so the memory goes with the batch and an idle client keeps none.
            if received.isEmpty && batch.count > 4 * Self.receiveBufferSize {
                received = BytesMut(capacity: 0, in: state.ioArena)
            }
        }
        pendingError = outcome.error
        if outcome.error == nil {
            let limit = state.configuration.clientBufferLimit
            if received.count > limit || outcome.bytesNeeded > limit {
                pendingError = .queryBufferLimitExceeded
            } else if outcome.bytesNeeded > received.capacity {
                // One allocation for a large bulk rather than a doubling series of copies.
                do {
                    try received.tryReserveCapacity(outcome.bytesNeeded)
                } catch {
                    pendingError = .queryBufferLimitExceeded
                }
            }
        }
        return !requests.isEmpty || pendingError != nil
    }

    private func pause(context: ChannelHandlerContext) {
        paused = true
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }

    /// Sends the error reply, then closes the connection.
    private func fail(_ error: ProtocolError, context: ChannelHandlerContext) {
        state.protocolErrors.add(1, ordering: .relaxed)
        closing = true
        withReplies(context: context) { $0.writeErrorReply(error.message) }
        flush(context: context)
        context.close(promise: nil)
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
