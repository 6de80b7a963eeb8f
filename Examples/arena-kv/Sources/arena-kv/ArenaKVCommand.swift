import ArenaKV
import ArgumentParser
import Dispatch
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `arena-kv`: a Redis-protocol cache whose keys and values live in an arena.
@main
struct ArenaKVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arena-kv",
        abstract: "A Redis-protocol (RESP2) cache on SwiftNIO whose keys and values live in a jemalloc arena.",
        discussion: """
            Speaks enough of Redis 7.0 that redis-cli, redis-benchmark and cache clients drive it: \
            PING, ECHO, SET (NX, XX, EX, PX, EXAT, PXAT, KEEPTTL, GET), GET, GETEX, GETDEL, SETNX, \
            SETEX, PSETEX, APPEND, STRLEN, DEL, UNLINK, EXISTS, TYPE, MGET, MSET, INCR, INCRBY, DECR, \
            DECRBY, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST, TTL, PTTL, EXPIRETIME, PEXPIRETIME, \
            DBSIZE, FLUSHALL, FLUSHDB, KEYS, SCAN (MATCH, COUNT, TYPE), INFO, COMMAND (COUNT, INFO, \
            DOCS), CONFIG GET, MEMORY MALLOC-STATS, MEMORY USAGE, MEMORY PROFILE, MEMORY HELP, SELECT 0, \
            QUIT; as RESP or inline commands (with Redis's quoting). One database, no persistence, no replication.

            Examples:
              arena-kv --port 6380 --maxmemory 256mb
              redis-cli -p 6380 set greeting hello ex 60

            Sizes take Redis's suffixes: k=1000, kb=1024, m=1000^2, mb=1024^2, g=1000^3, gb=1024^3. \
            At --maxmemory, writes get Redis's OOM error and reads keep working.

            Prints one line when listening; SIGINT or SIGTERM shuts it down cleanly (exit 0). Bad \
            arguments: one line on standard error, exit status 2; cannot listen: exit status 1.
            """,
        version: ArenaKVVersion.description
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 6380

    /// The defaults of the sized options: the library's (``ServerConfiguration``).
    private static let defaults = ServerConfiguration()

    @Option(
        help:
            "The most memory keys and values may take, 0 for no limit (default: \(ByteSize.describe(defaults.maxMemory))).",
        transform: ByteSize.parse
    )
    var maxmemory = defaults.maxMemory

    @Option(
        help: "The longest bulk string a request may carry (default: \(ByteSize.describe(defaults.maxBulkLength))).",
        transform: ByteSize.parse
    )
    var maxBulkLength = defaults.maxBulkLength

    @Option(
        help: """
            The most bytes a client may have buffered for one unfinished request \
            (default: \(ByteSize.describe(defaults.clientBufferLimit))).
            """,
        transform: ByteSize.parse
    )
    var clientBufferLimit = defaults.clientBufferLimit

    @Option(help: "Event-loop threads.")
    var threads = 1

    @Option(help: "Seconds between swift-metrics gauge updates (0: none).")
    var metricsInterval = 1

    @Flag(inversion: .prefixedNo, help: "Compact keys and values that keep thinned-out chunks alive.")
    var compaction = true

    @Option(help: "Serve the metrics for Prometheus at http://HOST:PORT/metrics (0 picks a free port).")
    var metricsPort: Int?

    @Option(
        help: """
            Sample one region per this many bytes allocated (on average) for MEMORY PROFILE; \
            512kb costs little (default: off, unless ARENA_SAMPLE_INTERVAL sets it).
            """,
        transform: ByteSize.parse
    )
    var sampleInterval: Int?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535, not \(port)") }
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be 1...256, not \(threads)") }
        guard maxBulkLength > 0 else { throw ValidationError("--max-bulk-length must be positive") }
        guard clientBufferLimit > 0 else { throw ValidationError("--client-buffer-limit must be positive") }
        guard metricsInterval >= 0 else { throw ValidationError("--metrics-interval must not be negative") }
        if let sampleInterval, sampleInterval <= 0 {
            throw ValidationError("--sample-interval must be positive")
        }
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be 0...65535, not \(metricsPort)")
        }
    }

    func run() throws {
        var configuration = ServerConfiguration(
            host: host,
            port: port,
            maxMemory: maxmemory,
            maxBulkLength: maxBulkLength,
            clientBufferLimit: clientBufferLimit,
            threads: threads,
            metricsInterval: metricsInterval,
            compaction: compaction,
            sampleInterval: sampleInterval
        )
        // For tests only, and so not an option: allocations refused on purpose (InjectedFaults).
        do {
            configuration.faults = try InjectedFaults.fromProcessEnvironment()
        } catch {
            Self.fail(error.description, status: 2)
        }
        if let faults = configuration.faults {
            Self.warn("arena-kv: refusing allocations on purpose, for tests only (\(faults.description))")
        }
        // The endpoint bootstraps the metrics system, so it comes first.
        var endpoint: PrometheusEndpoint?
        if let metricsPort {
            do {
                endpoint = try PrometheusEndpoint(host: host, port: metricsPort)
            } catch {
                Self.fail("cannot listen on \(host):\(metricsPort) for metrics: \(Self.reason(error))", status: 1)
            }
        }
        let server: KeyValueServer
        do {
            server = try KeyValueServer.start(configuration)
        } catch {
            Self.fail("cannot listen on \(host):\(port): \(Self.reason(error))", status: 1)
        }
        if let endpoint { Self.say("arena-kv: metrics on http://\(host):\(endpoint.port)/metrics") }
        let stop = SignalWatch(signals: [SIGINT, SIGTERM]) { _ in server.close() }
        Self.say("arena-kv: listening on \(host):\(server.port) (maxmemory \(maxmemory))")
        try server.closeFuture.wait()
        try server.shutdown()
        endpoint?.close()
        let name = stop.received.map { $0 == SIGINT ? "SIGINT" : "SIGTERM" } ?? "close"
        if let summary = server.state.faultSummary { Self.say("arena-kv: \(summary)") }
        Self.say("arena-kv: shut down on \(name) after \(server.state.totalCommands) commands")
    }

    /// Runs the command; usage errors are one line on standard error and exit status 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success || error is ExitCode { exit(withError: error) }
            let message = message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            fail("\(message) (see arena-kv --help)", status: 2)
        }
    }

    /// The system's words for a bind failure ("Address already in use"), else the error.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }

    /// Prints a line on standard output, at once (unbuffered, so a supervisor sees it).
    static func say(_ line: String) {
        writeAll(STDOUT_FILENO, line + "\n")
    }

    /// Prints a line on standard error, at once.
    static func warn(_ line: String) {
        writeAll(STDERR_FILENO, line + "\n")
    }

    /// Prints `arena-kv: message` on standard error and exits with `status`.
    static func fail(_ message: String, status: Int32) -> Never {
        writeAll(STDERR_FILENO, "arena-kv: " + String(message.map { $0.isNewline ? " " : $0 }) + "\n")
        terminate(status)
    }
}

/// Writes all of `text` to `descriptor`.
private func writeAll(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

/// Ends the process with `status`.
private func terminate(_ status: Int32) -> Never {
    exit(status)
}

/// Turns SIGINT and SIGTERM into a call, on a Dispatch queue, instead of ending the process.
final class SignalWatch: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "arena-kv.signals")
    /// The first signal received (read after the server has closed).
    private(set) var received: Int32?

    init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        for signalNumber in signals {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [unowned self] in
                if received == nil { received = signalNumber }
                handler(signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// Sizes as Redis writes them in its configuration.
enum ByteSize {
    /// `bytes` as the option takes it and in binary units: `256mb (256 MiB)`; a size that is
    /// not a whole number of MiB in bytes.
    static func describe(_ bytes: Int) -> String {
        guard bytes > 0, bytes % (1 << 20) == 0 else { return "\(bytes) bytes" }
        return "\(bytes >> 20)mb (\(bytes >> 20) MiB)"
    }

    /// `256mb`, `1gb`, `100k`, `4096`: k=1000, kb=1024, m=10^6, mb=2^20, g=10^9, gb=2^30.
    static func parse(_ text: String) throws -> Int {
        let lower = text.lowercased()
        let units: [(String, Int)] = [
            ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1000), ("m", 1_000_000), ("g", 1_000_000_000),
        ]
        var digits = Substring(lower)
        var scale = 1
        if let (suffix, factor) = units.first(where: { lower.hasSuffix($0.0) }) {
            digits = digits.dropLast(suffix.count)
            scale = factor
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int(digits), value >= 0 else {
            throw ValidationError("'\(text)' is not a size (bytes, or a number with k, kb, m, mb, g or gb)")
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow else { throw ValidationError("'\(text)' is too large") }
        return bytes
    }
}
