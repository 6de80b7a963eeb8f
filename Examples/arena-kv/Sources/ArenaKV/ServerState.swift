import ArenaBytes
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an arena-kv server is set up.
public struct ServerConfiguration: Sendable, Equatable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 picks a free one.
    public var port: Int
    /// The most bytes the store's arena may hold (keys and values); 0 for no limit.
    public var maxMemory: Int
    /// The longest bulk string a request may carry.
    public var maxBulkLength: Int
    /// The most bytes one connection may have buffered for a request not yet complete.
    public var clientBufferLimit: Int
    /// Event-loop threads.
    public var threads: Int
    /// Seconds between metrics updates; 0 publishes none.
    public var metricsInterval: Int
    /// Whether the store compacts entries that pin chunks (see
    /// ``Store/startCompactionIfWorthIt(minimumGain:)``).
    public var compaction: Bool
    /// The mean bytes between two sampled regions of each arena, for `MEMORY PROFILE`; `nil`
    /// leaves sampling off unless the environment variable `ARENA_SAMPLE_INTERVAL` sets it.
    public var sampleInterval: Int?
    /// Allocations refused on purpose, for tests only (see ``InjectedFaults``); `nil`, the
    /// default, refuses none.
    package var faults: InjectedFaults?

    /// Creates a configuration; the defaults are the command line's.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6380,
        maxMemory: Int = 256 << 20,
        maxBulkLength: Int = 64 << 20,
        clientBufferLimit: Int = 128 << 20,
        threads: Int = 1,
        metricsInterval: Int = 1,
        compaction: Bool = true,
        sampleInterval: Int? = nil
    ) {
        self.host = host
        self.port = port
        self.maxMemory = maxMemory
        self.maxBulkLength = maxBulkLength
        self.clientBufferLimit = clientBufferLimit
        self.threads = threads
        self.metricsInterval = metricsInterval
        self.compaction = compaction
        self.sampleInterval = sampleInterval
    }
}

/// What every connection of a server shares: the store behind its lock, the arenas and the
/// counters. Independent of the network, so a handler can be tested on an `EmbeddedChannel`.
public final class ServerState: Sendable {
    /// The configuration the server started with.
    public let configuration: ServerConfiguration
    /// Keys and values, in ``storeArena``.
    public let store: NIOLockedValueBox<Store>
    /// Holds every key and value; its limit is `maxmemory`.
    public let storeArena: ArenaAllocator
    /// Holds the connections' receive buffers.
    public let ioArena: ArenaAllocator
    /// Parses requests with the configured bulk limit.
    let parser: RequestParser

    /// Commands run.
    let commandsProcessed = Atomic<Int>(0)
    /// Connections accepted.
    let connectionsReceived = Atomic<Int>(0)
    /// Connections open now.
    let connectedClients = Atomic<Int>(0)
    /// Writes refused because the store was full.
    let rejectedWrites = Atomic<Int>(0)
    /// Writes refused because the allocator refused their memory (out of memory, or injected).
    let failedAllocations = Atomic<Int>(0)
    /// Connections closed for a protocol error or a buffer limit.
    let protocolErrors = Atomic<Int>(0)
    /// The longest compaction step so far, in microseconds (it holds the store's lock).
    let longestCompaction = Atomic<Int>(0)
    /// The port the server listens on (the one picked, when configured with 0).
    let listeningPort = Atomic<Int>(0)
    /// Whether the server's chain of compaction steps is running.
    let compactionChainActive = Atomic<Bool>(false)
    /// When the server started, on the monotonic clock.
    let startedAt: Int64
    /// Calls, time and failures per command, for `INFO commandstats`.
    let commandStatistics = Mutex<[String: CommandCounts]>([:])
    /// Error replies by their first word (`ERR`, `WRONGTYPE`, `OOM`), for `INFO errorstats`.
    let errorStatistics = Mutex<[String: Int]>([:])

    /// Creates the arenas and an empty store.
    ///
    /// - Throws: `ArenaError` when an arena cannot be created.
    public init(
        configuration: ServerConfiguration,
        clock: @escaping @Sendable () -> Int64 = monotonicMilliseconds
    ) throws(ArenaError) {
        self.configuration = configuration
        let limit = configuration.maxMemory > 0 ? configuration.maxMemory : nil
        var storeSettings = ArenaAllocator.Configuration(name: "kv-store", limit: limit)
        storeSettings.sampleInterval = configuration.sampleInterval
        var ioSettings = ArenaAllocator.Configuration(name: "kv-io", threadLocalChunks: true)
        ioSettings.sampleInterval = configuration.sampleInterval
        storeArena = try ArenaAllocator(storeSettings)
        ioArena = try ArenaAllocator(ioSettings)
        configuration.faults?.apply(store: storeArena, io: ioArena)
        store = NIOLockedValueBox(Store(arena: storeArena, clock: clock))
        parser = RequestParser(maximumBulkLength: configuration.maxBulkLength)
        startedAt = clock()
    }

    /// Removes expired keys and, when `compaction` is on, starts a compaction pass if one is
    /// worth it and runs a slice of the pass under way. Whether a pass is still under way.
    ///
    /// The server calls it ten times a second, and every millisecond while a pass is under
    /// way, so that a pass over millions of keys never holds the store for long.
    public func housekeeping(compaction: Bool) -> Bool {
        let started = monotonicMicroseconds()
        let (compacting, stepped) = store.withLockedValue { store in
            _ = store.removeExpired()
            guard compaction, store.startCompactionIfWorthIt() else { return (false, false) }
            _ = store.compactionStep()
            return (store.isCompacting, true)
        }
        if stepped { record(pause: Int(monotonicMicroseconds() - started)) }
        return compacting
    }

    /// Keeps the longest compaction step.
    private func record(pause: Int) {
        var longest = longestCompaction.load(ordering: .relaxed)
        while pause > longest {
            let (exchanged, current) = longestCompaction.compareExchange(
                expected: longest,
                desired: pause,
                ordering: .relaxed
            )
            if exchanged { break }
            longest = current
        }
    }

    /// Commands run so far.
    public var totalCommands: Int { commandsProcessed.load(ordering: .relaxed) }
    /// Connections open now.
    public var clients: Int { connectedClients.load(ordering: .relaxed) }
}

/// Milliseconds on the monotonic clock (`CLOCK_MONOTONIC`).
@Sendable
public func monotonicMilliseconds() -> Int64 {
    monotonicMicroseconds() / 1000
}

/// Microseconds on the monotonic clock (`CLOCK_MONOTONIC`).
func monotonicMicroseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
}

/// What `INFO commandstats` shows for one command.
struct CommandCounts: Sendable {
    /// Times the command ran (with the right number of arguments).
    var calls = 0
    /// Microseconds spent in it.
    var microseconds = 0
    /// Calls that replied with an error.
    var failed = 0
    /// Calls refused before running (wrong number of arguments).
    var rejected = 0
}
