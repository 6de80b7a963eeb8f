import ArenaNIO
import Metrics
import NIOCore
import NIOPosix

/// The arena-kv server: a listening socket on SwiftNIO, an `ArenaFramingHandler` and a
/// ``ConnectionHandler`` per client,
/// and the housekeeping timers (active expiry and compaction ten times a second, metrics).
///
/// ```swift
/// let server = try KeyValueServer.start(ServerConfiguration(port: 6380, maxMemory: 256 << 20))
/// try server.closeFuture.wait()       // until `close()`, from a signal handler say
/// try server.shutdown()
/// ```
public final class KeyValueServer: Sendable {
    /// The shared state: store, arenas, counters.
    public let state: ServerState
    /// The port it listens on (the one picked, when configured with 0).
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let listener: any Channel
    private let housekeeping: RepeatedTask
    private let metrics: MetricsPublisher?

    private init(
        state: ServerState,
        group: MultiThreadedEventLoopGroup,
        listener: any Channel,
        housekeeping: RepeatedTask,
        metrics: MetricsPublisher?
    ) {
        self.state = state
        self.group = group
        self.listener = listener
        self.port = listener.localAddress?.port ?? state.configuration.port
        state.listeningPort.store(port, ordering: .relaxed)
        self.housekeeping = housekeeping
        self.metrics = metrics
    }

    /// Creates the arenas and starts listening.
    ///
    /// - Parameters:
    ///   - configuration: the address, limits and threads.
    ///   - metricsFactory: where the arena gauges go; the global `MetricsSystem` factory by
    ///     default.
    /// - Throws: `ArenaError` when an arena cannot be made; NIO's error when the address
    ///   cannot be bound (the threads are shut down again).
    public static func start(
        _ configuration: ServerConfiguration,
        metricsFactory: (any MetricsFactory)? = nil
    ) throws -> KeyValueServer {
        let state = try ServerState(configuration: configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let listener: any Channel
        do {
            listener = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 511)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.allocator, value: .arena)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try ConnectionHandler.addHandlers(to: channel.pipeline.syncOperations, state: state)
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        let loop = listener.eventLoop
        let housekeeping = loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) {
            _ in
            // While a compaction pass runs, its own chain of steps does the housekeeping.
            if !state.compactionChainActive.load(ordering: .relaxed) {
                continueCompaction(state, on: loop, compaction: configuration.compaction)
            }
        }
        var metrics: MetricsPublisher?
        if configuration.metricsInterval > 0 {
            let publisher = MetricsPublisher(state: state, factory: metricsFactory ?? MetricsSystem.factory)
            publisher.start(on: loop, every: .seconds(Int64(configuration.metricsInterval)))
            metrics = publisher
        }
        return KeyValueServer(
            state: state,
            group: group,
            listener: listener,
            housekeeping: housekeeping,
            metrics: metrics
        )
    }

    /// Completes when the listening socket has closed.
    public var closeFuture: EventLoopFuture<Void> { listener.closeFuture }

    /// Stops accepting connections; ``closeFuture`` completes. Safe from any thread, and twice.
    public func close() {
        listener.close(promise: nil)
    }

    /// Closes the listener and every connection and stops the threads.
    public func shutdown() throws {
        housekeeping.cancel()
        metrics?.stop()
        close()
        try group.syncShutdownGracefully()
    }
}

/// Runs the store's housekeeping and, while a compaction pass is under way, runs it again a
/// millisecond later: requests get the loop in between.
private func continueCompaction(_ state: ServerState, on loop: any EventLoop, compaction: Bool) {
    let compacting = state.housekeeping(compaction: compaction)
    state.compactionChainActive.store(compacting, ordering: .relaxed)
    guard compacting else { return }
    loop.scheduleTask(in: .milliseconds(1)) { continueCompaction(state, on: loop, compaction: compaction) }
}
