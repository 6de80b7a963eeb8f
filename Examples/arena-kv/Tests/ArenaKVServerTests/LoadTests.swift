import Foundation
import Testing

/// `arena-kv` under `redis-benchmark` (redis-tools 7.0): many clients, pipelined, with and
/// without a memory limit in the way.
@Suite("Load through redis-benchmark", .timeLimit(.minutes(5)))
struct LoadTests {
    /// Requests per benchmarked command. Smaller where jemalloc is off, which is the sanitizer
    /// run, where everything is several times slower.
    #if Jemalloc
    static let requests = 100_000
    #else
    static let requests = 20_000
    #endif

    /// `redis-benchmark -q` prints `NAME: <n> requests per second, …` once per test, after
    /// progress lines separated by `\r`.
    static func summaryLines(_ output: String) -> [String] {
        output.split(whereSeparator: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }).map(String.init)
            .filter { $0.contains("requests per second") }
    }

    @Test func benchmarkCompletesWithoutErrors() throws {
        let server = try KVServer.start()
        let result = try Tool.run(
            "redis-benchmark",
            ["-p", "\(server.port)", "-t", "set,get,incr,mset", "-n", "\(Self.requests)", "-P", "16", "-q"],
            timeout: 300
        )
        #expect(result.status == 0, "\(result.stdout.suffix(2000)) \(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        #expect(!result.stdout.contains("Error"), "\(result.stdout.suffix(2000))")
        let summaries = Self.summaryLines(result.stdout)
        for name in ["SET", "GET", "INCR", "MSET (10 keys)"] {
            #expect(summaries.contains { $0.hasPrefix(name + ": ") }, "no \(name) result in \(summaries)")
        }

        // Without -r every request uses the same key: `key:__rand_int__` (SET, GET and MSET, with
        // redis-benchmark's 3 bytes of generated data) and `counter:__rand_int__` (INCR, once per
        // request: redis-benchmark sends whole pipelines, and `requests` is a multiple of 16).
        #expect(try server.reply("DBSIZE") == "(integer) 2")
        let value = try server.cli("GET", "key:__rand_int__")
        #expect(value.stdout.utf8.count == 3 + 1, "\(value.stdout)")
        #expect(value.stdout.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x7E || $0 == 0x0A }, "\(value.stdout)")
        #expect(try server.reply("GET", "counter:__rand_int__") == "\"\(Self.requests)\"")
        #expect(try server.reply("SET", "after", "benchmark") == "OK")
        #expect(try server.reply("GET", "after") == "\"benchmark\"")
        let commands = try infoInt(server, "total_commands_processed", section: "stats")
        #expect(commands >= 4 * Self.requests)
        #expect(server.isRunning)
    }

    @Test func maxmemoryHoldsUnderLoad() throws {
        let maxmemory = 8 << 20
        let server = try KVServer.start(["--maxmemory", "8mb"])
        #expect(server.listeningLine.hasSuffix("(maxmemory \(maxmemory))"))
        var known: [String: String] = [:]
        for index in 0..<8 {
            let value =
                "known-\(index)-" + String(repeating: Character(UnicodeScalar(UInt8(97 + index))), count: 16 << 10)
            known["known:\(index)"] = value
            #expect(try server.reply("SET", "known:\(index)", value) == "OK")
        }

        // redis-benchmark 7.0 exits with status 1 at the first error reply, printing
        // `Error from server: <message>` on standard error (its old -e option now does nothing).
        let result = try Tool.run(
            "redis-benchmark",
            ["-p", "\(server.port)", "-t", "set", "-n", "200000", "-r", "1000000", "-d", "100", "-P", "16", "-q"],
            timeout: 300
        )
        #expect(result.status == 1, "\(result.stdout.suffix(2000)) \(result.stderr)")
        #expect(
            result.stderr.contains("Error from server: OOM command not allowed when used memory > 'maxmemory'."),
            "\(result.stderr)"
        )

        #expect(try server.reply("PING") == "PONG")
        for (key, value) in known.sorted(by: { $0.key < $1.key }) {
            let stored = try server.cli("GET", key)
            #expect(stored.stdout == value + "\n", "\(key) lost its value")
        }
        #expect(try CommandTests.integer(server.reply("DBSIZE")) > known.count)
        let memory = try info(server, "memory")
        let used = try #require(memory["used_memory"].flatMap { Int($0) })
        #expect(used <= maxmemory)
        #expect(try #require(memory["arena_limit_hits"].flatMap { Int($0) }) > 0)
        #expect(try infoInt(server, "rejected_writes_oom", section: "stats") > 0)
        #if Jemalloc
        // Beyond the store arena's maxmemory the process holds the key index (a Swift dictionary
        // of ~60k keys), the Swift and NIO runtimes with their event-loop threads, NIO's socket
        // buffers for redis-benchmark's 50 pipelining clients, and jemalloc's own metadata: well
        // under 96 MiB. (Not checked under the sanitizers, whose shadow memory and quarantine
        // inflate the resident size many times.)
        let rss = try server.rssBytes()
        #expect(rss <= maxmemory + 96 << 20, "RSS \(rss) bytes")
        #endif

        // Still full: another write of the benchmark's shape (16-byte key, 100-byte value) is
        // refused, with Redis's message.
        let value = String(repeating: "v", count: 100)
        #expect(try server.reply("SET", "key:one-more-abc", value) == CommandTests.outOfMemory)
        // Deleting makes room again, and nothing else is lost.
        #expect(try server.reply("DEL", "known:0", "known:1", "known:2", "known:3") == "(integer) 4")
        #expect(try server.reply("SET", "key:one-more-abc", value) == "OK")
        #expect(try server.reply("GET", "key:one-more-abc") == "\"\(value)\"")
        for index in 4..<8 {
            #expect(try server.cli("GET", "known:\(index)").stdout == known["known:\(index)"]! + "\n")
        }
        #expect(try server.reply("FLUSHALL") == "OK")
        #expect(try server.reply("SET", "after-flush", value) == "OK")
        #expect(try infoInt(server, "used_memory", section: "memory") <= maxmemory)
    }
}
