import Foundation
import Synchronization
import Testing

/// `arena-kv` with allocations refused on purpose (`ARENA_KV_FAIL_RATE`, for tests only), under
/// redis-benchmark and a pipelining client whose every acknowledged write is checked afterwards.
@Suite("Load with refused allocations", .timeLimit(.minutes(10)))
struct FaultLoadTests {
    /// The reply to a write whose memory the allocator refused.
    static let refusal = "OOM command not allowed when the allocator refuses memory."

    /// Keys the writer sets in each round. Fewer where jemalloc is off, which is the sanitizer
    /// run, where everything is several times slower.
    #if Jemalloc
    static let keys = 1500
    #else
    static let keys = 400
    #endif

    /// 1% of the store arena's backend allocations refused, while redis-benchmark sets keys of
    /// its own (`-t set -r 10000 -d 100 -P 16`) and a client pipelines `SET`, `APPEND` and
    /// `INCRBY` on keys whose values it knows, recording each reply. Afterwards redis-cli reads
    /// every key: those the client wrote hold exactly what their acknowledged writes made
    /// (refused ones changed nothing), those redis-benchmark wrote hold a whole 100-byte value.
    /// Some writes were refused, each with the allocation `OOM` line, and the server counted
    /// them.
    @Test func everyAcknowledgedWriteSurvivesOnePercentOfRefusals() throws {
        let server = try KVServer.start(
            [],
            environment: ["ARENA_KV_FAIL_RATE": "1%", "ARENA_KV_FAIL_SEED": "16"]
        )
        let benchmark = BenchmarkLoop(port: server.port)
        benchmark.start()

        var writer = KnownWriter()
        let client = try RESPClient(port: server.port, timeout: 60)
        for round in 0..<3 {
            var batch: [KnownWriter.Command] = []
            for index in 0..<Self.keys {
                batch.append(.set("ack:\(index)", KnownWriter.value(index, round)))
                if index % 4 == 0 { batch.append(.append("log:\(index % 50)", KnownWriter.piece(index, round))) }
                if index % 8 == 0 { batch.append(.incrementBy("counter:\(index % 100)", index % 17 + 1)) }
                if batch.count >= 16 {
                    try writer.run(batch, on: client)
                    batch = []
                }
            }
            try writer.run(batch, on: client)
        }
        let runs = benchmark.finish()

        // redis-benchmark stops at its first error reply: a run either completed, or ended
        // on a refused write with the allocation line, never on anything else.
        #expect(!runs.isEmpty)
        for run in runs where run.status != 0 {
            #expect(run.status == 1 && run.stderr.contains("Error from server: \(Self.refusal)"), "\(run.stderr)")
        }
        #expect(writer.unexpected.isEmpty, "\(writer.unexpected.prefix(5))")
        #expect(writer.refused > 0, "no write of the client was refused")

        // Every key the client wrote reads back as its acknowledged writes made it.
        let keys = writer.model.keys.sorted()
        let read = try server.cli([], stdin: keys.map { "GET \($0)\n" }.joined())
        #expect(read.status == 0)
        let lines = read.stdoutLines
        #expect(lines.count == keys.count)
        var wrong: [String] = []
        for (key, line) in zip(keys, lines) where line != writer.model[key] { wrong.append(key) }
        #expect(wrong.isEmpty, "\(wrong.count) keys read back wrong: \(wrong.prefix(10))")

        // Every key redis-benchmark wrote holds one whole value.
        let benchmarkKeys = try server.cli("--scan", "--pattern", "key:*").stdoutLines
        #expect(!benchmarkKeys.isEmpty)
        let values = try server.cli([], stdin: benchmarkKeys.map { "GET \($0)\n" }.joined()).stdoutLines
        #expect(values.count == benchmarkKeys.count)
        #expect(values.allSatisfy { $0.utf8.count == 100 }, "\(values.filter { $0.utf8.count != 100 }.prefix(3))")

        // The server refused on purpose, and each refusal was either a write's, answered with
        // the OOM line and counted once, or a compaction copy's, which left its entry in place.
        // (One INFO: the event loop runs it between compaction steps, so its figures agree.)
        let fields = try info(server, "everything")
        let injected = try #require(fields["fault_injection_store"].flatMap { Self.field("refused", in: $0) })
        let attempts = try #require(fields["fault_injection_store"].flatMap { Self.field("attempts", in: $0) })
        #expect(injected > 0)
        let rejected = try #require(fields["rejected_writes_allocation"].flatMap { Int($0) })
        let copiesRefused = try #require(fields["arena_compaction_copies_refused"].flatMap { Int($0) })
        #expect(rejected >= writer.refused)
        #expect(rejected + copiesRefused == injected, "\(rejected) writes and \(copiesRefused) copies refused")
        #expect(fields["errorstat_OOM"] == "count=\(rejected)")
        #expect(fields["rejected_writes_oom"] == "0")
        #expect(server.isRunning)
        let stopped = try server.stop(signal: SIGTERM)
        #expect(stopped.status == 0)
        #expect(stopped.stdout.contains("arena-kv: fault injection refused \(injected) of "), "\(stopped.stdout)")
        #expect(stopped.stderr.contains("refusing allocations on purpose, for tests only"), "\(stopped.stderr)")

        let completed = runs.filter { $0.status == 0 }.count
        print(
            """
            FaultLoadTests: store allocations refused \(injected) of \(attempts); writes refused \(rejected) \
            (the client's \(writer.refused) of \(writer.sent), acknowledged \(writer.acknowledged)); compaction \
            copies refused \(copiesRefused); redis-benchmark runs: \(runs.count), \
            \(completed) completed, \(runs.count - completed) ended by a refusal; \
            \(runs.flatMap { LoadTests.summaryLines($0.stdout) })
            """
        )
    }

    /// Half of the I/O arena's backend allocations refused (`ARENA_KV_IO_FAIL_RATE=50%`): the
    /// receive buffers' growth is refused now and then, the connection pauses and retries, and
    /// nothing shows to clients. redis-benchmark, which stops at any error reply, completes,
    /// and large pipelined values (which grow the receive buffer) come back whole.
    @Test func refusedReceiveBuffersDelayReadsAndLoseNothing() throws {
        let server = try KVServer.start([], environment: ["ARENA_KV_IO_FAIL_RATE": "50%", "ARENA_KV_FAIL_SEED": "5"])
        let result = try Tool.run(
            "redis-benchmark",
            ["-p", "\(server.port)", "-t", "set,get", "-n", "20000", "-r", "1000", "-d", "100", "-P", "16", "-q"],
            timeout: 300
        )
        #expect(result.status == 0, "\(result.stdout.suffix(2000)) \(result.stderr)")
        #expect(!result.stdout.contains("Error"), "\(result.stdout.suffix(2000))")

        for connection in 0..<8 {
            let client = try RESPClient(port: server.port, timeout: 60)
            var request: [UInt8] = []
            var values: [[UInt8]] = []
            for index in 0..<4 {
                let value = Array(KnownWriter.value(connection * 10 + index, 9, size: 20_000 + index * 25_000).utf8)
                values.append(value)
                request += RESPClient.encode([Array("SET".utf8), Array("big:\(connection):\(index)".utf8), value])
                request += RESPClient.encode([Array("GET".utf8), Array("big:\(connection):\(index)".utf8)])
            }
            try client.send(request)
            for value in values {
                expectReply(try client.readReply(), .simple("OK"))
                expectReply(try client.readReply(), .bulk(value))
            }
        }
        let stats = try info(server, "stats")
        let io = try #require(stats["fault_injection_io"])
        #expect(Self.field("refused", in: io) ?? 0 > 0, "\(io)")
        #expect(stats["fault_injection_store"] == "rate=0.0,attempts=0,refused=0")
        #expect(stats["rejected_writes_allocation"] == "0")
        let stopped = try server.stop(signal: SIGTERM)
        #expect(stopped.status == 0)
        print("FaultLoadTests: I/O arena \(io); \(LoadTests.summaryLines(result.stdout))")
    }

    /// The number after `name=` in `a=1,b=2`.
    static func field(_ name: String, in text: String) -> Int? {
        text.split(separator: ",").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
    }
}

/// A client's writes whose outcome it records: the value each key must hold, from the writes the
/// server acknowledged, in order.
struct KnownWriter {
    enum Command {
        case set(String, String)
        case append(String, String)
        case incrementBy(String, Int)

        var arguments: [String] {
            switch self {
            case .set(let key, let value): ["SET", key, value]
            case .append(let key, let piece): ["APPEND", key, piece]
            case .incrementBy(let key, let amount): ["INCRBY", key, "\(amount)"]
            }
        }
    }

    /// What each key holds after the acknowledged writes.
    var model: [String: String] = [:]
    var sent = 0
    var acknowledged = 0
    var refused = 0
    /// Replies that were neither the expected one nor the refusal.
    var unexpected: [String] = []

    /// Sends `commands` in one pipeline, then reads their replies in order and applies each
    /// acknowledged write to the model.
    mutating func run(_ commands: [Command], on client: RESPClient) throws {
        guard !commands.isEmpty else { return }
        try client.send(commands.flatMap { RESPClient.encode($0.arguments.map { Array($0.utf8) }) })
        sent += commands.count
        for command in commands {
            guard let reply = try client.readReply() else { throw RESPClientError.closedByPeer("\(command)") }
            if reply == .error(FaultLoadTests.refusal) {
                refused += 1
                continue
            }
            switch command {
            case .set(let key, let value):
                guard reply == .simple("OK") else { break }
                model[key] = value
                acknowledged += 1
                continue
            case .append(let key, let piece):
                let joined = (model[key] ?? "") + piece
                guard reply == .integer(joined.utf8.count) else { break }
                model[key] = joined
                acknowledged += 1
                continue
            case .incrementBy(let key, let amount):
                let next = (model[key].flatMap { Int($0) } ?? 0) + amount
                guard reply == .integer(next) else { break }
                model[key] = "\(next)"
                acknowledged += 1
                continue
            }
            unexpected.append("\(command.arguments.prefix(2)): \(reply)")
        }
    }

    /// Round `round`'s value of key `index`: a quarter of the keys over 8 KiB (a block of its
    /// own in the arena), the rest carved from chunks; printable, no spaces or newlines.
    static func value(_ index: Int, _ round: Int, size: Int? = nil) -> String {
        let size =
            size ?? (index % 4 == 0 ? 9000 + (index * 37 + round * 101) % 6000 : 50 + (index * 13 + round * 7) % 400)
        let head = "v\(index)/\(round)/"
        let letters = (0..<max(0, size - head.utf8.count)).map {
            Character(UnicodeScalar(UInt8(97 + (index &* 7 &+ round &+ $0) % 26)))
        }
        return head + String(letters)
    }

    /// A 1000-byte piece to append.
    static func piece(_ index: Int, _ round: Int) -> String {
        value(index, round, size: 1000)
    }
}

/// redis-benchmark runs one after another on a thread of their own, until ``finish()``; each
/// run sets random keys until it completes or meets its first error reply.
final class BenchmarkLoop: Sendable {
    let port: Int
    private let stopping = Atomic<Bool>(false)
    private let results = Mutex<[RunResult]>([])
    private let done = DispatchSemaphore(value: 0)

    init(port: Int) { self.port = port }

    /// Starts the runs.
    func start() {
        DispatchQueue.global().async { [self] in
            defer { done.signal() }
            repeat {
                guard
                    let result = try? Tool.run(
                        "redis-benchmark",
                        ["-p", "\(port)", "-t", "set", "-r", "10000", "-n", "20000", "-d", "100", "-P", "16", "-q"],
                        timeout: 300
                    )
                else { return }
                results.withLock { $0.append(result) }
                if result.status != 0 && result.status != 1 { return }
            } while !stopping.load(ordering: .relaxed) && results.withLock({ $0.count }) < 50
        }
    }

    /// Lets the run under way end, and returns every run's result.
    func finish() -> [RunResult] {
        stopping.store(true, ordering: .relaxed)
        done.wait()
        return results.withLock { $0 }
    }
}
