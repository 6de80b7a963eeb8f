// Workload 11: a length-prefixed echo server over real loopback sockets (issue 13), ours against
// the same server built on NIO's `ByteToMessageHandler` and `ByteBuffer`.
//
// The wire format: a 4-byte big-endian length, then that many bytes of body. The client sends a
// batch of frames (8,192 of 64 B, or 256 of 4 KiB) and the server writes every frame back whole,
// prefix included, so the echoed stream is byte for byte the stream sent; the client checks it
// with `memcmp` as it arrives. One sample is one batch: from the first byte written to the last
// byte echoed.
//
// What is the same on both sides:
// - the client (below): one nonblocking POSIX socket on the benchmark thread, writing and reading
//   as the kernel allows, with no allocation (so ordo-one's process-wide malloc count is the
//   server's);
// - the server's NIO setup: `ServerBootstrap` on a one-thread `MultiThreadedEventLoopGroup`,
//   NIO's default channel allocator and receive buffers (malloc, so the malloc interposer sees
//   them), `TCP_NODELAY` on both ends;
// - the framing: a frame is the prefix plus the body it announces, bodies over 1 MiB are an
//   error, and the frame passed on keeps its prefix;
// - the application handler after the framing, in two forms: write each frame as it comes
//   (NIO: the frame's `ByteBuffer` slice, zero-copy; ours: `ByteBuffer(frame)`, a copy, the only
//   way to hand `Bytes` to NIO), or copy the frames of a read into one reply buffer, reused from
//   read to read, written and flushed at `channelReadComplete`.
// What differs, and is what is measured: how the bytes are received and cut into frames.
// NIO's `ByteToMessageHandler` keeps the read `ByteBuffer` as its cumulation buffer and cuts
// frames with `readSlice`; `ArenaFramingHandler` copies each read into a per-connection arena
// `BytesMut` and cuts frames with `split(to:)`/`freeze()`.
//
// Not compared: TLS, many connections, a client that does not read (backpressure), latency
// (only batch wall clock). The client runs on the same 2 cores as the server, so the figures
// are end-to-end and the server's share of them is not isolated.
//
// Metrics: `ops` = frames in the batch, `bytes` = bytes sent (and echoed) in the batch,
// `cpuTime` (the process's CPU time over the batch, client and server threads together),
// `mallocCountTotal` (ordo-one's interposer, every thread), `peakMemoryResident` (ordo-one,
// sampled), and for ours the arena's regions and jemalloc calls (`mallocx`, which the
// interposer does not see). Allocations per frame are mallocs plus jemalloc calls, over frames.

import ArenaBytes
import ArenaNIO
import Benchmark
import NIOCore
import NIOEmbedded
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The largest body either server accepts.
let echoMaximumFrameLength = 1 << 20

// MARK: - Servers

/// How the server's application handler writes the frames back.
enum EchoReplies {
    /// One write per frame, one flush per read.
    case eachFrame
    /// The frames of a read copied into one reply buffer, written and flushed once per read.
    case onePerRead
}

/// Ours: frames are `Bytes` views of the connection's arena receive buffer.
final class ArenaEchoHandler: ChannelInboundHandler {
    typealias InboundIn = Bytes
    typealias OutboundOut = ByteBuffer

    private let replies: EchoReplies
    private var pending: ByteBuffer

    init(replies: EchoReplies) {
        self.replies = replies
        self.pending = ByteBuffer()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        pending = context.channel.allocator.buffer(capacity: 64 << 10)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch replies {
        case .eachFrame:
            context.write(wrapOutboundOut(ByteBuffer(frame, allocator: context.channel.allocator)), promise: nil)
        case .onePerRead:
            frame.withUnsafeBytes { _ = pending.writeBytes($0) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pending.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(pending), promise: nil)
            // Unique again once the socket took the bytes (loopback usually takes them all
            // within the flush), so the buffer is reused; while NIO still holds it, clearing
            // allocates a new one.
            pending.clear()
        } else {
            context.flush()
        }
    }
}

/// NIO's: the same length-prefixed framing as a `ByteToMessageDecoder` (NIOCore has no length
/// field decoder; NIOExtras' `LengthFieldBasedFrameDecoder` strips the prefix): frames are
/// `ByteBuffer` slices of the cumulation buffer, prefix included.
struct NIOLengthPrefixedDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct FrameTooLong: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return .needMoreData
        }
        guard Int(length) <= echoMaximumFrameLength else { throw FrameTooLong() }
        guard let frame = buffer.readSlice(length: 4 + Int(length)) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// NIO's application handler: the same two ways of writing back, over `ByteBuffer` frames.
final class NIOEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let replies: EchoReplies
    private var pending: ByteBuffer

    init(replies: EchoReplies) {
        self.replies = replies
        self.pending = ByteBuffer()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        pending = context.channel.allocator.buffer(capacity: 64 << 10)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch replies {
        case .eachFrame:
            context.write(data, promise: nil)
        case .onePerRead:
            let frame = unwrapInboundIn(data)
            pending.writeImmutableBuffer(frame)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pending.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(pending), promise: nil)
            pending.clear()
        } else {
            context.flush()
        }
    }
}

/// Which server a benchmark runs.
enum EchoServerKind {
    case arena(EchoReplies)
    case nio(EchoReplies)
}

/// A server on 127.0.0.1 and one connected client, made in a benchmark's setup hook.
final class EchoFixture: @unchecked Sendable {
    let kind: EchoServerKind
    let frameSize: Int
    let framesPerBatch: Int
    /// The arena of ours, made by `start()`; `nil` for NIO's.
    private(set) var arena: ArenaAllocator?

    private var group: MultiThreadedEventLoopGroup?
    private var server: Channel?
    private(set) var client: EchoClient?

    init(kind: EchoServerKind, frameSize: Int, framesPerBatch: Int) {
        self.kind = kind
        self.frameSize = frameSize
        self.framesPerBatch = framesPerBatch
    }

    /// Whether the server is ours (and has an arena).
    var isArena: Bool {
        if case .arena = kind { return true }
        return false
    }

    func start() throws {
        if isArena { arena = try ArenaAllocator(.init(name: "echo")) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let kind = self.kind
        let arena = self.arena
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    switch kind {
                    case .arena(let replies):
                        let decoder = LengthPrefixedFrameDecoder(
                            lengthType: UInt32.self,
                            maximumFrameLength: echoMaximumFrameLength,
                            stripsPrefix: false
                        )
                        try pipeline.addHandler(
                            ArenaFramingHandler(
                                decoder: decoder,
                                arena: arena!,
                                maxBufferedBytes: 4 + echoMaximumFrameLength
                            )
                        )
                        try pipeline.addHandler(ArenaEchoHandler(replies: replies))
                    case .nio(let replies):
                        try pipeline.addHandler(ByteToMessageHandler(NIOLengthPrefixedDecoder()))
                        try pipeline.addHandler(NIOEchoHandler(replies: replies))
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        self.server = server
        guard let port = server.localAddress?.port else { fatalError("echo: the server has no port") }
        client = EchoClient(port: port, frameSize: frameSize, frames: framesPerBatch)
    }

    func stop() throws {
        client = nil
        try server?.close().wait()
        try group?.syncShutdownGracefully()
        server = nil
        group = nil
    }
}

// MARK: - Client

/// The client both servers get: a nonblocking socket that writes a prebuilt batch of frames and
/// reads the echo, checking it against what was sent. Allocates nothing per batch.
final class EchoClient {
    private let socket: Int32
    /// The batch, encoded once: a 4-byte big-endian length and a patterned body per frame.
    private let batch: UnsafeMutableRawBufferPointer
    private let receiveBuffer: UnsafeMutableRawBufferPointer

    init(port: Int, frameSize: Int, frames: Int) {
        let frameBytes = 4 + frameSize
        batch = .allocate(byteCount: frames * frameBytes, alignment: 16)
        for frame in 0..<frames {
            let start = frame * frameBytes
            batch.storeBytes(of: UInt32(frameSize).bigEndian, toByteOffset: start, as: UInt32.self)
            for index in 0..<frameSize {
                batch[start + 4 + index] = UInt8(truncatingIfNeeded: frame &* 7 &+ index)
            }
        }
        receiveBuffer = .allocate(byteCount: 256 << 10, alignment: 16)

        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(socket >= 0, "echo client: socket() failed, errno \(errno)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(connected == 0, "echo client: connect() to 127.0.0.1:\(port) failed, errno \(errno)")
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(socket)
        batch.deallocate()
        receiveBuffer.deallocate()
    }

    /// The bytes one batch sends (and gets back).
    var bytesPerBatch: Int { batch.count }

    /// Sends the batch and reads until all of it came back; traps on a wrong byte, a closed
    /// connection or 10 s without progress.
    func runBatch() {
        let total = batch.count
        var sent = 0
        var received = 0
        while received < total {
            var progressed = false
            if sent < total {
                let written = write(socket, batch.baseAddress! + sent, total - sent)
                if written > 0 {
                    sent += written
                    progressed = true
                } else if written < 0 && errno != EAGAIN && errno != EINTR {
                    fatalError("echo client: write failed, errno \(errno)")
                }
            }
            let count = read(socket, receiveBuffer.baseAddress!, receiveBuffer.count)
            if count > 0 {
                precondition(count <= total - received, "echo client: \(count - (total - received)) bytes too many")
                guard memcmp(receiveBuffer.baseAddress!, batch.baseAddress! + received, count) == 0 else {
                    fatalError(
                        "echo client: the echo differs from what was sent, within bytes \(received)..<\(received + count)"
                    )
                }
                received += count
                progressed = true
            } else if count == 0 {
                fatalError("echo client: the server closed the connection after \(received) of \(total) bytes")
            } else if errno != EAGAIN && errno != EINTR {
                fatalError("echo client: read failed, errno \(errno)")
            }
            if !progressed {
                var events = Int16(POLLIN)
                if sent < total { events |= Int16(POLLOUT) }
                var descriptor = pollfd(fd: socket, events: events, revents: 0)
                let ready = poll(&descriptor, 1, 10_000)
                precondition(
                    ready != 0,
                    "echo client: no progress for 10 s (\(sent) sent, \(received) echoed of \(total))"
                )
            }
        }
    }
}

// MARK: - Benchmarks

func registerEcho() {
    let workloads = [
        ("11a echo 64 B frames over loopback", 64, 8192), ("11b echo 4 KiB frames over loopback", 4096, 256),
    ]
    let servers: [(Role, String, EchoServerKind)] = [
        (.ours, "ArenaFramingHandler + one reply buffer per read", .arena(.onePerRead)),
        (.oursVariant, "ArenaFramingHandler + ByteBuffer(frame) per frame", .arena(.eachFrame)),
        (.peer, "ByteToMessageHandler + write each slice", .nio(.eachFrame)),
        (.peer, "ByteToMessageHandler + one reply buffer per read", .nio(.onePerRead)),
    ]
    for (workload, frameSize, frames) in workloads {
        for (role, implementation, kind) in servers {
            let fixture = EchoFixture(kind: kind, frameSize: frameSize, framesPerBatch: frames)
            registerServerBenchmark(
                workload,
                role,
                implementation,
                arena: fixture.isArena,
                setup: { try fixture.start() },
                teardown: { try fixture.stop() },
                arenaOfRun: { fixture.arena }
            ) {
                guard let client = fixture.client else { fatalError("echo: setup did not run") }
                client.runBatch()
                return (frames, client.bytesPerBatch)
            }
        }
    }
}

// MARK: - Framing alone

/// The end of ours in-process pipeline: counts the frames and lets them go. Not generic, so
/// `unwrapInboundIn` is specialized as in a real handler.
final class BytesFrameSink: ChannelInboundHandler {
    typealias InboundIn = Bytes
    var bytes = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes &+= unwrapInboundIn(data).count
    }
}

/// The end of NIO's in-process pipeline.
final class ByteBufferFrameSink: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var bytes = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes &+= unwrapInboundIn(data).readableBytes
    }
}

/// An `EmbeddedChannel` with one of the two framing handlers and a sink, made in a setup hook.
final class FramingFixture: @unchecked Sendable {
    let ours: Bool
    private(set) var arena: ArenaAllocator?
    private(set) var channel: EmbeddedChannel?

    init(ours: Bool) { self.ours = ours }

    func start() throws {
        let channel = EmbeddedChannel()
        if ours {
            let arena = try ArenaAllocator(.init(name: "framing"))
            self.arena = arena
            let decoder = LengthPrefixedFrameDecoder(
                lengthType: UInt32.self,
                maximumFrameLength: echoMaximumFrameLength,
                stripsPrefix: false
            )
            try channel.pipeline.syncOperations.addHandlers([
                ArenaFramingHandler(decoder: decoder, arena: arena, maxBufferedBytes: 4 + echoMaximumFrameLength),
                BytesFrameSink(),
            ])
        } else {
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(NIOLengthPrefixedDecoder()), ByteBufferFrameSink(),
            ])
        }
        self.channel = channel
    }

    func stop() throws {
        _ = try channel?.finish()
        channel = nil
    }
}

/// Workload 11c: the two framing layers alone, without sockets or the client: 16 reads of
/// 64 KiB holding 64 B frames (a frame straddles most read boundaries) through an
/// `EmbeddedChannel`, into a handler that drops each frame. The reads are built once and passed
/// again each batch, as NIO passes a pooled receive buffer. One thread, so the wall clock is
/// the framing's own cost, less disturbed by the kernel and the client than 11a.
func registerFramingAlone() {
    let workload = "11c frame 64 B frames in process (EmbeddedChannel)"
    let frameBytes = 4 + 64
    let reads: [ByteBuffer] = {
        var stream = ByteBuffer()
        for frame in 0..<(16 * (64 << 10) / frameBytes) {
            stream.writeInteger(UInt32(64))
            stream.writeBytes((0..<64).map { UInt8(truncatingIfNeeded: frame &+ $0) })
        }
        var reads: [ByteBuffer] = []
        while stream.readableBytes > 0 {
            // Each read in storage of its own, as a socket read would be.
            reads.append(ByteBuffer(buffer: stream.readSlice(length: Swift.min(64 << 10, stream.readableBytes))!))
        }
        return reads
    }()
    let bytes = reads.reduce(0) { $0 + $1.readableBytes }
    let frames = bytes / frameBytes
    for (role, implementation, ours) in [
        (Role.ours, "ArenaFramingHandler", true), (.peer, "ByteToMessageHandler", false),
    ] {
        let fixture = FramingFixture(ours: ours)
        registerServerBenchmark(
            workload,
            role,
            implementation,
            arena: ours,
            setup: { try fixture.start() },
            teardown: { try fixture.stop() },
            arenaOfRun: { fixture.arena }
        ) {
            guard let channel = fixture.channel else { fatalError("framing: setup did not run") }
            for read in reads { try! channel.writeInbound(read) }
            return (frames, bytes)
        }
    }
}

// MARK: - Registration

/// Registers one benchmark of workload 11: `batch` runs one batch and returns its frames and
/// bytes; the fixture is made by `setup` and torn down by `teardown`, once per benchmark (each
/// benchmark runs in a process of its own).
func registerServerBenchmark(
    _ workload: String,
    _ role: Role,
    _ implementation: String,
    arena: Bool,
    setup: @escaping () throws -> Void,
    teardown: @escaping () throws -> Void,
    arenaOfRun: @escaping () -> ArenaAllocator?,
    batch: @escaping () -> (frames: Int, bytes: Int)
) {
    let name = "\(workload) | \(role.rawValue) | \(implementation)"
    precondition(!name.contains("_"), "benchmark name '\(name)' must not contain '_'")
    Benchmark(
        name,
        configuration: serverConfiguration(arena: arena),
        closure: { benchmark in
            let arena = arenaOfRun()
            let before = arena.map(ArenaCounters.init)
            benchmark.startMeasurement()
            let cpuBefore = processCPUTime()
            let (frames, bytes) = batch()
            let cpuAfter = processCPUTime()
            benchmark.stopMeasurement()
            benchmark.measurement(Metric.ops, frames)
            benchmark.measurement(Metric.bytes, bytes)
            benchmark.measurement(Metric.cpuTime, Int(cpuAfter &- cpuBefore))
            if let arena, let before {
                let after = ArenaCounters(arena)
                benchmark.measurement(Metric.arenaAllocations, after.allocations - before.allocations)
                benchmark.measurement(Metric.jemallocCalls, Int(after.jemallocCalls &- before.jemallocCalls))
            }
        },
        setup: { try setup() },
        teardown: { try teardown() }
    )
}

/// Wall clock per batch, the CPU time of every thread, the malloc count of every thread, peak
/// RSS, and for ours the arena's counters.
func serverConfiguration(arena: Bool) -> Benchmark.Configuration {
    var metrics: [BenchmarkMetric] = [
        .wallClock, .mallocCountTotal, .peakMemoryResident, Metric.ops, Metric.bytes, Metric.cpuTime,
    ]
    if arena { metrics += [Metric.arenaAllocations, Metric.jemallocCalls] }
    var units: [BenchmarkMetric: BenchmarkUnits] = [:]
    for metric in metrics { units[metric] = .count }
    return .init(
        metrics: metrics,
        timeUnits: .nanoseconds,
        units: units,
        warmupIterations: 10,
        scalingFactor: .one,
        maxDuration: benchmarkDuration,
        maxIterations: 10_000_000
    )
}

/// The CPU time of every thread of the process so far, in nanoseconds: steadier than the wall
/// clock on a machine shared with other work, since time spent waiting for a core is not in it.
///
/// The corresponding libc call is `clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)`.
func processCPUTime() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
