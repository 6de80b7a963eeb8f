public import Arena
import ArenaBytes
public import NIOCore

/// Receives a connection's bytes into an arena and passes on whole frames: the first handler
/// of a pipeline, with a ``ByteFrameDecoder`` saying where frames end.
///
/// ```swift
/// let arena = try ArenaAllocator(
///     .init(name: "requests", limit: 256 << 20)
/// )
/// let backpressure = ArenaReadBackpressure(arena: arena)
/// ServerBootstrap(group: group).childChannelInitializer { channel in
///     channel.eventLoop.makeCompletedFuture {
///         let decoder = LengthPrefixedFrameDecoder(
///             lengthType: UInt32.self,
///             maximumFrameLength: 1 << 20
///         )
///         let framing = ArenaFramingHandler(
///             decoder: decoder,
///             arena: arena,
///             maxBufferedBytes: 2 << 20,
///             backpressure: backpressure
///         )
///         try channel.pipeline.syncOperations.addHandlers([
///             framing,
///             MyRequestHandler(),  // its InboundIn is Bytes
///         ])
///     }
/// }
/// ```
///
/// ### Layout
/// ```
///  NIO's read (ByteBuffer)    receive buffer (BytesMut, in `arena`)
///  +-----------------+        +---------+---------+------+-------------+
///  | bytes of a read |  -->   | frame 1 | frame 2 | part |    spare    |
///  +-----------------+ copy   +---------+---------+------+-------------+
///                               Bytes     Bytes     ^ waits for more bytes
/// ```
/// Each read is copied once into the connection's receive buffer; frames are cut off its front
/// without copying and passed on as views of it. When the frames are gone, the next read that
/// does not fit rewinds the buffer to the start of its storage: a steady connection allocates
/// nothing. A buffer that grew for an exceptionally large frame goes with that frame, so an
/// idle connection does not keep it.
///
/// ### Limits
/// - An unfinished frame may hold at most `maxBufferedBytes`; past that, or when the decoder
///   throws, the handler fires the error (``ByteFrameError`` or the decoder's) and closes this
///   connection only. The frames before it are passed on first.
/// - With an ``ArenaReadBackpressure``, the connection stops reading while the arena is over its
///   high-water mark, and resumes below the low-water mark.
/// - When the arena refuses memory (its limit), the read is kept as NIO gave it and the
///   connection pauses until the memory is there: nothing is lost, nothing reordered.
///
/// ### Pausing: one owner of autoRead
/// The handler is the only one to set the channel's `autoRead`. It keeps a set of
/// ``ReadPauseReasons``: ``ReadPauseReasons/memory`` is its own (the two limits above); a handler
/// after it that must stop the reading for a reason of its own, a peer that does not read its
/// replies say, calls ``pauseReading(_:)`` and later ``resumeReading(_:)`` instead of setting
/// `autoRead` itself. Reading stops when the set becomes non-empty and resumes when it is empty
/// again, so the memory pause and the writability pause cannot undo each other.
///
/// ```swift
/// let framing = ArenaFramingHandler(
///     decoder: decoder,
///     arena: arena,
///     maxBufferedBytes: 1 << 20
/// )
/// try channel.pipeline.syncOperations.addHandlers([
///     framing,
///     MyRequestHandler(framing: framing),
/// ])
///
/// // In MyRequestHandler, which keeps `framing`:
/// func channelWritabilityChanged(context: ChannelHandlerContext) {
///     if context.channel.isWritable {
///         framing.resumeReading(.writability)
///     } else {
///         framing.pauseReading(.writability)
///     }
///     context.fireChannelWritabilityChanged()
/// }
/// ```
///
/// A pause stops the reads, not the frames: the frames of the bytes already received are still
/// passed on, and the handler that paused holds them until it resumes.
///
/// The handler belongs to one channel and is used on its event loop only.
public final class ArenaFramingHandler<Decoder: ByteFrameDecoder>: ChannelInboundHandler {
    /// Bytes as NIO read them.
    public typealias InboundIn = ByteBuffer
    /// What the decoder yields.
    public typealias InboundOut = Decoder.Frame

    /// Counters of one connection, for tests and monitoring.
    public struct Statistics: Sendable, Hashable {
        /// The bytes received from NIO.
        public var bytesReceived = 0
        /// The bytes copied: each received byte once, plus the bytes of unfinished frames moved
        /// when the receive buffer had to move to grow.
        public var bytesCopied = 0
        /// The frames passed on.
        public var frames = 0
        /// How many times the connection stopped reading (`autoRead` off), for any reason.
        public var pauses = 0
    }

    /// The arena the receive buffer lives in.
    public let arena: ArenaAllocator
    /// The most bytes an unfinished frame may hold.
    public let maxBufferedBytes: Int
    /// The backpressure shared with the other connections on `arena`, if any.
    public let backpressure: ArenaReadBackpressure?
    /// The receive buffer's usual size: what it grows to at least, and what it rewinds within.
    public let receiveCapacity: Int

    /// The connection's counters so far.
    public private(set) var statistics = Statistics()

    private var decoder: Decoder
    private var buffer: BytesMut
    /// Whether the buffer last grew past 4 x `receiveCapacity` for a large frame or read: such
    /// storage goes with its last frame.
    private var holdsLargeStorage = false
    /// Reads the arena had no room for, in order, waiting for memory.
    private var pending = CircularBuffer<ByteBuffer>()
    private var state = State.reading
    private var resumeCheck: RepeatedTask?
    /// Why the connection is not reading; `autoRead` is off while it is not empty.
    public private(set) var pauseReasons: ReadPauseReasons = []
    /// The handler's place in its pipeline, from `handlerAdded` to `handlerRemoved`.
    private var context: ChannelHandlerContext?

    private enum State {
        case reading
        case paused
        case closed
    }

    /// Creates the handler of one connection.
    ///
    /// - Parameters:
    ///   - decoder: where frames end.
    ///   - arena: where the receive buffer lives; the same as `backpressure.arena` when given.
    ///   - maxBufferedBytes: the most an unfinished frame may hold: at least the largest frame.
    ///   - backpressure: the arena's read backpressure, shared by its connections.
    ///   - receiveCapacity: the receive buffer's usual size; 16 KiB by default.
    /// - Precondition: `maxBufferedBytes > 0`, `receiveCapacity > 0`, and `backpressure` watches
    ///   `arena`.
    public init(
        decoder: Decoder,
        arena: ArenaAllocator,
        maxBufferedBytes: Int,
        backpressure: ArenaReadBackpressure? = nil,
        receiveCapacity: Int = 16 << 10
    ) {
        precondition(maxBufferedBytes > 0, "ArenaFramingHandler(maxBufferedBytes: \(maxBufferedBytes)): not positive")
        precondition(receiveCapacity > 0, "ArenaFramingHandler(receiveCapacity: \(receiveCapacity)): not positive")
        precondition(
            backpressure == nil || backpressure?.arena === arena,
            "ArenaFramingHandler: the backpressure watches arena '\(backpressure?.arena.configuration.name ?? "")', "
                + "not '\(arena.configuration.name)'"
        )
        self.decoder = decoder
        self.arena = arena
        self.maxBufferedBytes = maxBufferedBytes
        self.backpressure = backpressure
        self.receiveCapacity = receiveCapacity
        self.buffer = BytesMut(capacity: 0, in: arena)
    }

    /// The bytes received and not yet passed on in a frame.
    public var bufferedBytes: Int {
        buffer.count + pending.reduce(0) { $0 + $1.readableBytes }
    }

    /// Whether the connection is paused for memory (``ReadPauseReasons/memory``): over the
    /// arena's high-water mark, or waiting for memory. ``pauseReasons`` holds every reason.
    public var isPaused: Bool { state == .paused }

    // MARK: - Pausing for the handlers after this one

    /// Stops reading for `reasons`, on top of any other reason already held; reading resumes
    /// when ``resumeReading(_:)`` has removed every reason.
    ///
    /// Call it on the channel's event loop. Pausing again for a reason already held changes
    /// nothing: reasons are a set, not a count.
    ///
    /// - Parameter reasons: ``ReadPauseReasons/writability``, ``ReadPauseReasons/application``
    ///   or reasons of one's own.
    /// - Precondition: `reasons` does not hold ``ReadPauseReasons/memory``, the handler's own.
    public func pauseReading(_ reasons: ReadPauseReasons) {
        precondition(!reasons.contains(.memory), "ArenaFramingHandler.pauseReading: .memory is the handler's own")
        insert(reasons)
    }

    /// Removes `reasons` from those the connection is paused for; reading resumes if none
    /// remains (a memory pause, say, stays until the arena has room).
    ///
    /// Call it on the channel's event loop. Removing a reason not held changes nothing.
    ///
    /// - Precondition: `reasons` does not hold ``ReadPauseReasons/memory``, the handler's own.
    public func resumeReading(_ reasons: ReadPauseReasons) {
        precondition(!reasons.contains(.memory), "ArenaFramingHandler.resumeReading: .memory is the handler's own")
        remove(reasons)
    }

    private func insert(_ reasons: ReadPauseReasons) {
        context?.eventLoop.preconditionInEventLoop()
        let wasReading = pauseReasons.isEmpty
        pauseReasons.formUnion(reasons)
        if wasReading && !pauseReasons.isEmpty {
            statistics.pauses += 1
            setAutoRead(false)
        }
    }

    private func remove(_ reasons: ReadPauseReasons) {
        context?.eventLoop.preconditionInEventLoop()
        let wasPaused = !pauseReasons.isEmpty
        pauseReasons.subtract(reasons)
        if wasPaused && pauseReasons.isEmpty { setAutoRead(true) }
    }

    // MARK: - Channel events

    /// Appends the bytes to the receive buffer, passes on every whole frame, and pauses reading
    /// when the arena is short of memory.
    ///
    /// - Complexity: O(n) in the bytes read, plus the decoder's work.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state != .closed else { return }
        let incoming = unwrapInboundIn(data)
        statistics.bytesReceived += incoming.readableBytes
        if !pending.isEmpty {
            pending.append(incoming)
        } else if let rest = receive(incoming, context: context) {
            pending.append(rest)
        }
        if state == .reading, !pending.isEmpty || backpressure?.shouldPause() == true {
            pause(context: context)
        }
    }

    /// Remembers the pipeline, for ``pauseReading(_:)``; a reason given before is applied now.
    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if !pauseReasons.isEmpty {
            statistics.pauses += 1
            setAutoRead(false)
        }
    }

    /// Stops the resume checks and lets go of the buffered bytes.
    public func channelInactive(context: ChannelHandlerContext) {
        close()
        context.fireChannelInactive()
    }

    /// Stops the resume checks and lets go of the buffered bytes.
    public func handlerRemoved(context: ChannelHandlerContext) {
        close()
        self.context = nil
    }

    // MARK: - Receiving

    /// Copies `incoming` into the receive buffer, no more than `maxBufferedBytes` at a time,
    /// passing on the frames as they complete. Returns what the arena had no room for.
    private func receive(_ incoming: ByteBuffer, context: ChannelHandlerContext) -> ByteBuffer? {
        var incoming = incoming
        while incoming.readableBytes > 0 && state != .closed {
            let room = maxBufferedBytes - buffer.count
            guard room > 0 else {
                fail(ByteFrameError(.bufferLimitExceeded, length: buffer.count + 1, limit: maxBufferedBytes), context)
                return nil
            }
            let take = Swift.min(room, incoming.readableBytes)
            guard makeRoom(for: take) else { return incoming }
            incoming.withUnsafeReadableBytes { bytes in
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(take)))
            }
            statistics.bytesCopied += take
            incoming.moveReaderIndex(forwardBy: take)
            decodeFrames(context: context)
        }
        return nil
    }

    /// Grows the receive buffer to take `count` more bytes: to the frame's whole size when the
    /// decoder knows it, else to at least `receiveCapacity`. Whether the arena had the memory.
    private func makeRoom(for count: Int) -> Bool {
        let needed = buffer.count + count
        guard needed > buffer.capacity else { return true }
        let wanted = Swift.max(needed, receiveCapacity, Swift.min(decoder.bytesNeeded ?? 0, maxBufferedBytes))
        let before = buffer.withUnsafeBytes { $0.baseAddress }
        do {
            try buffer.tryReserveCapacity(wanted)
        } catch {
            guard wanted > needed, (try? buffer.tryReserveCapacity(needed)) != nil else { return false }
        }
        if buffer.count > 0 && buffer.withUnsafeBytes({ $0.baseAddress }) != before {
            statistics.bytesCopied += buffer.count
        }
        holdsLargeStorage = wanted > 4 * receiveCapacity
        return true
    }

    /// Passes on every whole frame at the front of the receive buffer.
    private func decodeFrames(context: ChannelHandlerContext) {
        while state != .closed {
            let frame: Decoder.Frame?
            do {
                frame = try decoder.decode(&buffer)
            } catch {
                fail(error, context)
                return
            }
            guard let frame else { break }
            statistics.frames += 1
            context.fireChannelRead(wrap(frame))
        }
        guard state != .closed else { return }
        if let needed = decoder.bytesNeeded, needed > maxBufferedBytes {
            fail(ByteFrameError(.bufferLimitExceeded, length: needed, limit: maxBufferedBytes), context)
        } else if buffer.isEmpty && holdsLargeStorage {
            // The storage grew for a large frame: let it go with the frame; the next read
            // starts a buffer of the usual size.
            buffer = BytesMut(capacity: 0, in: arena)
            holdsLargeStorage = false
        }
    }

    /// `wrapInboundOut(frame)`, without its dynamic casts when the frames are `Bytes`.
    ///
    /// This class is compiled once for every decoder, so `NIOAny`'s initializer runs
    /// unspecialized here: four dynamic casts per frame (is it a `ByteBuffer`, a `FileRegion`,
    /// an `IOData`, an `AddressedEnvelope`?) before it boxes the value. For `Bytes`, the type
    /// of every frame of this module's decoders, a metatype comparison picks the specialized
    /// initializer, which the compiler resolves to the box alone.
    @inline(__always)
    private func wrap(_ frame: Decoder.Frame) -> NIOAny {
        if Decoder.Frame.self == Bytes.self {
            // SAFETY: `Decoder.Frame` is `Bytes`, checked just above; `load` copies the value
            // (retaining its storage), and `frame` is released as usual.
            let bytes = withUnsafePointer(to: frame) { UnsafeRawPointer($0).load(as: Bytes.self) }
            return NIOAny(bytes)
        }
        return wrapInboundOut(frame)
    }

    // MARK: - Pausing

    private func pause(context: ChannelHandlerContext) {
        state = .paused
        backpressure?.connectionPaused()
        insert(.memory)
        let interval = TimeAmount(backpressure?.checkInterval ?? .milliseconds(5))
        resumeCheck = scheduleResumeCheck(of: self, context: context, every: interval)
    }

    /// Resumes a paused connection when the arena is below its low-water mark and the reads
    /// kept aside fit in it.
    func resumeIfPossible(context: ChannelHandlerContext) {
        guard state == .paused else { return }
        if buffer.isEmpty {
            // A paused connection keeps no memory it does not need.
            buffer = BytesMut(capacity: 0, in: arena)
            holdsLargeStorage = false
        }
        if let backpressure, !backpressure.mayResume(ownBytes: buffer.capacity) { return }
        let framesBefore = statistics.frames
        defer {
            // Frames passed on outside a read, as after one: a handler that writes its replies
            // at the end of a read (`channelReadComplete`) writes them now.
            if statistics.frames > framesBefore { context.fireChannelReadComplete() }
        }
        while let next = pending.popFirst() {
            if let rest = receive(next, context: context) {
                pending.prepend(rest)  // still no memory: keep the order
                return
            }
            guard state == .paused else { return }
        }
        state = .reading
        resumeCheck?.cancel()
        resumeCheck = nil
        backpressure?.connectionResumed()
        remove(.memory)
    }

    /// Sets `autoRead`: the one place that does.
    private func setAutoRead(_ on: Bool) {
        guard state != .closed, let context else { return }
        if let options = context.channel.syncOptions {
            try? options.setOption(ChannelOptions.autoRead, value: on)
        } else {
            context.channel.setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
        }
    }

    // MARK: - Ending

    private func fail(_ error: any Error, _ context: ChannelHandlerContext) {
        close()
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func close() {
        if state == .paused { backpressure?.connectionResumed(counted: false) }
        state = .closed
        resumeCheck?.cancel()
        resumeCheck = nil
        pending.removeAll()
        buffer = BytesMut(capacity: 0, in: arena)
    }
}

@available(*, unavailable)
extension ArenaFramingHandler: Sendable {}

extension ArenaFramingHandler: PausedConnection {}

/// A paused handler, seen without its generic parameter (a closure of a generic context would
/// capture the decoder's metatype, which need not be `Sendable`).
protocol PausedConnection: AnyObject {
    func resumeIfPossible(context: ChannelHandlerContext)
}

/// Calls `connection.resumeIfPossible(context:)` on the channel's event loop every `interval`.
private func scheduleResumeCheck(
    of connection: any PausedConnection,
    context: ChannelHandlerContext,
    every interval: TimeAmount
) -> RepeatedTask {
    let bound = NIOLoopBound((connection, context), eventLoop: context.eventLoop)
    return context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
        let (connection, context) = bound.value
        connection.resumeIfPossible(context: context)
    }
}
