import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every command of the spec (/work/notes/kv-spec.md) round-tripped through `redis-cli` against a
/// real `arena-kv` process, with the exact replies Redis gives. Each test starts its own server.
@Suite("Commands through redis-cli", .timeLimit(.minutes(5)))
struct CommandTests {
    /// `redis-cli --no-raw` prints an error reply this way.
    static func error(_ message: String) -> String { "(error) " + message }

    /// Redis's wrong-arity error for `command` (lowercase).
    static func arity(_ command: String) -> String {
        error("ERR wrong number of arguments for '\(command)' command")
    }

    static let syntaxError = error("ERR syntax error")
    static let notAnInteger = error("ERR value is not an integer or out of range")
    static let invalidExpire = error("ERR invalid expire time in 'set' command")
    static let outOfMemory = error("OOM command not allowed when used memory > 'maxmemory'.")

    /// The integer in a `(integer) N` reply.
    static func integer(_ reply: String) throws -> Int {
        try #require(reply.hasPrefix("(integer) ") ? Int(reply.dropFirst("(integer) ".count)) : nil, "\(reply)")
    }

    @Test func ping() throws {
        let server = try KVServer.start()
        #expect(try server.reply("PING") == "PONG")
        #expect(try server.reply("PING", "hello world") == "\"hello world\"")
        #expect(try server.reply("ping") == "PONG")
        #expect(try server.reply("PING", "a", "b") == Self.arity("ping"))
    }

    @Test func echo() throws {
        let server = try KVServer.start()
        #expect(try server.reply("ECHO", "hi there") == "\"hi there\"")
        #expect(try server.reply("ECHO", "") == "\"\"")
        #expect(try server.reply("ECHO") == Self.arity("echo"))
        #expect(try server.reply("ECHO", "a", "b") == Self.arity("echo"))
    }

    @Test func setAndGet() throws {
        let server = try KVServer.start()
        #expect(try server.reply("GET", "k") == "(nil)")
        #expect(try server.reply("SET", "k", "v") == "OK")
        #expect(try server.reply("GET", "k") == "\"v\"")
        #expect(try server.reply("SET", "k", "a longer value") == "OK")
        #expect(try server.reply("GET", "k") == "\"a longer value\"")
        #expect(try server.reply("SET", "empty", "") == "OK")
        #expect(try server.reply("GET", "empty") == "\"\"")
        // Command names are case-insensitive; keys are not.
        #expect(try server.reply("sEt", "K", "upper") == "OK")
        #expect(try server.reply("get", "K") == "\"upper\"")
        #expect(try server.reply("GET", "k") == "\"a longer value\"")
        // Wrong arity names the command in lowercase, however it was sent.
        #expect(try server.reply("GET") == Self.arity("get"))
        #expect(try server.reply("GET", "a", "b") == Self.arity("get"))
        #expect(try server.reply("SET", "k") == Self.arity("set"))
        #expect(try server.reply("SeT") == Self.arity("set"))
        #expect(try server.reply("SET", "k", "v", "BOGUS") == Self.syntaxError)
        #expect(try server.reply("GET", "k") == "\"a longer value\"")
    }

    @Test func setNXAndXX() throws {
        let server = try KVServer.start()
        #expect(try server.reply("SET", "k", "first", "NX") == "OK")
        #expect(try server.reply("SET", "k", "second", "NX") == "(nil)")
        #expect(try server.reply("GET", "k") == "\"first\"")
        #expect(try server.reply("SET", "absent", "v", "XX") == "(nil)")
        #expect(try server.reply("GET", "absent") == "(nil)")
        #expect(try server.reply("SET", "k", "third", "xx") == "OK")
        #expect(try server.reply("GET", "k") == "\"third\"")
        #expect(try server.reply("SET", "k", "v", "NX", "XX") == Self.syntaxError)
        #expect(try server.reply("SET", "other", "v", "XX", "NX") == Self.syntaxError)
        #expect(try server.reply("GET", "k") == "\"third\"")
        #expect(try server.reply("EXISTS", "other") == "(integer) 0")
    }

    @Test func setGet() throws {
        let server = try KVServer.start()
        #expect(try server.reply("SET", "k", "a", "GET") == "(nil)")
        #expect(try server.reply("GET", "k") == "\"a\"")
        #expect(try server.reply("SET", "k", "b", "GET") == "\"a\"")
        #expect(try server.reply("GET", "k") == "\"b\"")
        #expect(try server.reply("SET", "k", "c", "XX", "GET") == "\"b\"")
        #expect(try server.reply("GET", "k") == "\"c\"")
        #expect(try server.reply("SET", "absent", "v", "XX", "GET") == "(nil)")
        #expect(try server.reply("GET", "absent") == "(nil)")
        #expect(try server.reply("SET", "k", "d", "GET", "EX", "100") == "\"c\"")
        #expect(try Self.integer(server.reply("TTL", "k")) > 0)
    }

    @Test func expireOptionsAndTTL() throws {
        let server = try KVServer.start()
        #expect(try server.reply("SET", "k", "v", "EX", "100") == "OK")
        #expect((90...100).contains(try Self.integer(server.reply("TTL", "k"))))
        #expect((90_000...100_000).contains(try Self.integer(server.reply("PTTL", "k"))))
        // KEEPTTL keeps it; a plain SET drops it.
        #expect(try server.reply("SET", "k", "v2", "KEEPTTL") == "OK")
        #expect((90...100).contains(try Self.integer(server.reply("TTL", "k"))))
        #expect(try server.reply("GET", "k") == "\"v2\"")
        #expect(try server.reply("SET", "k", "v3") == "OK")
        #expect(try server.reply("TTL", "k") == "(integer) -1")
        #expect(try server.reply("PTTL", "k") == "(integer) -1")
        #expect(try server.reply("SET", "p", "v", "px", "100000") == "OK")
        #expect((90_000...100_000).contains(try Self.integer(server.reply("PTTL", "p"))))
        #expect((90...100).contains(try Self.integer(server.reply("TTL", "p"))))
        #expect(try server.reply("TTL", "absent") == "(integer) -2")
        #expect(try server.reply("PTTL", "absent") == "(integer) -2")
        #expect(try server.reply("TTL") == Self.arity("ttl"))
        #expect(try server.reply("PTTL", "a", "b") == Self.arity("pttl"))

        // Bad expiry options store nothing.
        #expect(try server.reply("SET", "bad", "v", "EX", "0") == Self.invalidExpire)
        #expect(try server.reply("SET", "bad", "v", "EX", "-1") == Self.invalidExpire)
        #expect(try server.reply("SET", "bad", "v", "PX", "0") == Self.invalidExpire)
        #expect(try server.reply("SET", "bad", "v", "PX", "-5") == Self.invalidExpire)
        #expect(try server.reply("SET", "bad", "v", "EX", "abc") == Self.notAnInteger)
        #expect(try server.reply("SET", "bad", "v", "PX", "1.5") == Self.notAnInteger)
        #expect(try server.reply("SET", "bad", "v", "EX") == Self.syntaxError)
        #expect(try server.reply("SET", "bad", "v", "EX", "10", "PX", "10000") == Self.syntaxError)
        #expect(try server.reply("SET", "bad", "v", "EX", "10", "KEEPTTL") == Self.syntaxError)
        #expect(try server.reply("EXISTS", "bad") == "(integer) 0")
    }

    @Test func keysExpire() throws {
        let server = try KVServer.start()
        #expect(try server.reply("SET", "short", "v", "PX", "200") == "OK")
        #expect(try server.reply("SET", "long", "w", "PX", "60000") == "OK")
        usleep(600_000)
        #expect(try server.reply("GET", "short") == "(nil)")
        #expect(try server.reply("EXISTS", "short") == "(integer) 0")
        #expect(try server.reply("TTL", "short") == "(integer) -2")
        #expect(try server.reply("GET", "long") == "\"w\"")
    }

    @Test func delAndExists() throws {
        let server = try KVServer.start()
        #expect(try server.reply("MSET", "a", "1", "b", "2", "c", "3") == "OK")
        #expect(try server.reply("EXISTS", "a") == "(integer) 1")
        // A key named twice counts twice.
        #expect(try server.reply("EXISTS", "a", "b", "absent", "a") == "(integer) 3")
        #expect(try server.reply("DEL", "a", "absent") == "(integer) 1")
        #expect(try server.reply("EXISTS", "a") == "(integer) 0")
        #expect(try server.reply("GET", "a") == "(nil)")
        #expect(try server.reply("DEL", "a") == "(integer) 0")
        #expect(try server.reply("DEL", "b", "c") == "(integer) 2")
        #expect(try server.reply("DBSIZE") == "(integer) 0")
        #expect(try server.reply("DEL") == Self.arity("del"))
        #expect(try server.reply("EXISTS") == Self.arity("exists"))
    }

    @Test func msetAndMget() throws {
        let server = try KVServer.start()
        #expect(try server.reply("MSET", "a", "1", "b", "two words") == "OK")
        #expect(try server.reply("MGET", "a", "absent", "b") == "1) \"1\"\n2) (nil)\n3) \"two words\"")
        #expect(try server.reply("MGET", "absent") == "1) (nil)")
        #expect(try server.reply("MSET", "a", "one", "c", "3") == "OK")
        #expect(try server.reply("MGET", "a", "c", "a") == "1) \"one\"\n2) \"3\"\n3) \"one\"")
        #expect(try server.reply("MSET", "a") == Self.arity("mset"))
        #expect(try server.reply("MSET", "a", "1", "b") == Self.arity("mset"))
        #expect(try server.reply("MGET") == Self.arity("mget"))
        #expect(try server.reply("GET", "a") == "\"one\"")
    }

    @Test func incr() throws {
        let server = try KVServer.start()
        #expect(try server.reply("INCR", "counter") == "(integer) 1")
        #expect(try server.reply("INCR", "counter") == "(integer) 2")
        #expect(try server.reply("GET", "counter") == "\"2\"")
        #expect(try server.reply("SET", "n", "41") == "OK")
        #expect(try server.reply("INCR", "n") == "(integer) 42")
        #expect(try server.reply("GET", "n") == "\"42\"")
        #expect(try server.reply("SET", "n", "-5") == "OK")
        #expect(try server.reply("INCR", "n") == "(integer) -4")
        #expect(try server.reply("SET", "n", "-9223372036854775808") == "OK")
        #expect(try server.reply("INCR", "n") == "(integer) -9223372036854775807")

        for bad in ["abc", "1.5", " 1", "1 ", "", "9223372036854775808", "0x10"] {
            #expect(try server.reply("SET", "bad", bad) == "OK")
            #expect(try server.reply("INCR", "bad") == Self.notAnInteger, "INCR of \"\(bad)\"")
        }
        #expect(try server.reply("SET", "max", "9223372036854775807") == "OK")
        #expect(try server.reply("INCR", "max") == Self.error("ERR increment or decrement would overflow"))
        #expect(try server.reply("GET", "max") == "\"9223372036854775807\"")
        #expect(try server.reply("INCR") == Self.arity("incr"))
        #expect(try server.reply("INCR", "a", "b") == Self.arity("incr"))
    }

    @Test func dbsizeAndFlushall() throws {
        let server = try KVServer.start()
        #expect(try server.reply("DBSIZE") == "(integer) 0")
        #expect(try server.reply("MSET", "a", "1", "b", "2", "c", "3") == "OK")
        #expect(try server.reply("DBSIZE") == "(integer) 3")
        #expect(try server.reply("FLUSHALL") == "OK")
        #expect(try server.reply("DBSIZE") == "(integer) 0")
        #expect(try server.reply("GET", "a") == "(nil)")
        #expect(try server.reply("MSET", "a", "1", "b", "2") == "OK")
        #expect(try server.reply("FLUSHALL", "ASYNC") == "OK")
        #expect(try server.reply("DBSIZE") == "(integer) 0")
        #expect(try server.reply("SET", "a", "1") == "OK")
        #expect(try server.reply("FLUSHALL", "sync") == "OK")
        #expect(try server.reply("DBSIZE") == "(integer) 0")
        #expect(try server.reply("SET", "a", "1") == "OK")
        #expect(try server.reply("FLUSHALL", "bogus") == Self.syntaxError)
        #expect(try server.reply("DBSIZE") == "(integer) 1")
        #expect(try server.reply("DBSIZE", "x") == Self.arity("dbsize"))
    }

    @Test func infoMemory() throws {
        let server = try KVServer.start(["--maxmemory", "64mb"])
        let raw = try server.cli("INFO", "memory")
        #expect(raw.stdout.hasPrefix("# Memory\r\n"), "\(raw.stdout)")
        var fields = try info(server, "memory")
        for name in [
            "used_memory", "used_memory_human", "used_memory_peak", "used_memory_dataset", "used_memory_rss",
            "maxmemory", "maxmemory_human", "maxmemory_policy", "mem_allocator", "arena_limit_hits",
            "arena_compactions", "arena_pinned_chunks", "arena_pinned_bytes", "arena_pinning_references",
            "arena_pinned_chunks_by_references", "arena_compactable_bytes", "io_arena_pinned_bytes",
            "arena_cached_blocks",
        ] {
            #expect(fields[name]?.isEmpty == false, "INFO memory has no \(name)")
        }
        #expect(fields["maxmemory"] == "67108864")
        #expect(fields["maxmemory_policy"] == "noeviction")
        #if Jemalloc
        #expect(fields["mem_allocator"] == "jemalloc-5.3.0")
        #else
        #expect(fields["mem_allocator"] == "libc")
        #endif
        #expect(fields["arena_limit_hits"] == "0")
        #expect(fields["arena_compactions"].flatMap { Int($0) } != nil)
        #expect(fields["used_memory_dataset"] == "0")
        #expect(try #require(fields["used_memory_rss"].flatMap { Int($0) }) > 1 << 20)

        // used_memory_dataset counts live key and value bytes exactly.
        let value = String(repeating: "x", count: 1000)
        #expect(try server.reply("SET", "ten-bytes!", value) == "OK")
        #expect(try server.reply("SET", "k2", "abc") == "OK")
        fields = try info(server, "memory")
        #expect(fields["used_memory_dataset"] == "\(10 + 1000 + 2 + 3)")
        let used = try #require(fields["used_memory"].flatMap { Int($0) })
        let peak = try #require(fields["used_memory_peak"].flatMap { Int($0) })
        #expect(used >= 1015)
        #expect(used <= 64 << 20)
        #expect(peak >= used)
        #expect(try server.reply("DEL", "ten-bytes!") == "(integer) 1")
        #expect(try info(server, "memory")["used_memory_dataset"] == "5")
        #expect(try server.reply("FLUSHALL") == "OK")
        #expect(try info(server, "memory")["used_memory_dataset"] == "0")

        // Plain INFO includes the memory section.
        let all = try server.cli("INFO")
        #expect(all.stdout.contains("# Memory\r\n"))
        #expect(try info(server)["maxmemory"] == "67108864")
    }

    @Test func infoMaxmemoryZeroMeansNoLimit() throws {
        let server = try KVServer.start(["--maxmemory", "0"])
        #expect(try info(server, "memory")["maxmemory"] == "0")
        #expect(try server.reply("SET", "k", String(repeating: "v", count: 100_000)) == "OK")
    }

    @Test func infoKeyspaceAndStats() throws {
        let server = try KVServer.start()
        #expect(try server.reply("MSET", "a", "1", "b", "2") == "OK")
        #expect(try server.reply("SET", "c", "3", "EX", "100") == "OK")
        let keyspace = try server.cli("INFO", "keyspace")
        #expect(keyspace.stdoutLines.first == "# Keyspace", "\(keyspace.stdout)")
        #expect(try info(server, "keyspace")["db0"] == "keys=3,expires=1,avg_ttl=0")
        #expect(try server.reply("SET", "a", "1", "PX", "100000") == "OK")
        #expect(try info(server, "keyspace")["db0"] == "keys=3,expires=2,avg_ttl=0")

        let stats = try server.cli("INFO", "stats")
        #expect(stats.stdoutLines.first == "# Stats", "\(stats.stdout)")
        let before = try info(server, "stats")
        let commands = try #require(before["total_commands_processed"].flatMap { Int($0) })
        let connections = try #require(before["total_connections_received"].flatMap { Int($0) })
        #expect(before["rejected_writes_oom"] == "0")
        // Each redis-cli run is one connection and one command.
        #expect(try server.reply("PING") == "PONG")
        #expect(try server.reply("GET", "a") == "\"1\"")
        let after = try info(server, "stats")
        let commandsAfter = try #require(after["total_commands_processed"].flatMap { Int($0) })
        // The first INFO stats may or may not count itself; PING, GET and it make 2 to 4.
        #expect((commands + 2...commands + 4).contains(commandsAfter), "\(commands) then \(commandsAfter)")
        #expect(after["total_connections_received"] == "\(connections + 3)")
    }

    @Test func commandIntrospection() throws {
        let server = try KVServer.start()
        // Name and arity, as Redis has them.
        let arities: [String: Int] = [
            "ping": -1, "echo": 2, "set": -3, "get": 2, "del": -2, "exists": -2, "mget": -2, "mset": -3,
            "incr": 2, "dbsize": 1, "flushall": -1, "info": -1, "command": -1, "quit": -1, "select": 2,
            "config": -2, "ttl": 2, "pttl": 2, "memory": -2,
        ]
        let count = try Self.integer(server.reply("COMMAND", "COUNT"))
        #expect(count >= arities.count)

        // `COMMAND` lists `count` entries, each led by its name; every command of the spec is there.
        let listing = try server.reply("COMMAND")
        let width = String(count).count
        var names: [String] = []
        for line in listing.split(separator: "\n") {
            let head = line.prefix(width + 1)
            guard head.last == ")", head.dropLast().allSatisfy({ $0 == " " || $0.isNumber }) else { continue }
            let entry = line.dropFirst(width + 1).drop { $0 == " " }
            let name = try #require(entry.firstMatch(of: /^1\) "([^"]*)"/), "\(line)")
            names.append(String(name.1))
        }
        #expect(names.count == count, "\(listing)")
        for name in arities.keys.sorted() { #expect(names.contains(name), "COMMAND does not list \(name)") }

        for (name, arity) in arities.sorted(by: { $0.key < $1.key }) {
            let entry = try server.cli("COMMAND", "INFO", name).stdoutLines
            #expect(entry.prefix(2) == [name, "\(arity)"], "COMMAND INFO \(name): \(entry.prefix(2))")
        }
        #expect(try server.reply("COMMAND", "INFO", "get", "nosuchcommand").hasSuffix("\n2) (nil)"))

        // DOCS: the spec leaves the documentation open (an empty array is redis-cli's "no hints"),
        // but it is an array reply, and any entry it has is led by a command's name.
        for arguments in [["COMMAND", "DOCS"], ["COMMAND", "DOCS", "get"]] {
            let docs = try server.cli(["--no-raw"] + arguments).stdoutLines
            #expect(docs == ["(empty array)"] || docs.first?.hasPrefix("1) \"") == true, "\(arguments): \(docs)")
        }
        let getDocs = try server.cli("--no-raw", "COMMAND", "DOCS", "get").stdoutLines
        #expect(getDocs == ["(empty array)"] || getDocs.first == "1) \"get\"", "\(getDocs)")
    }

    @Test func quit() throws {
        let server = try KVServer.start()
        #expect(try server.reply("QUIT") == "OK")
        // Pipelined: replies up to QUIT's OK, then the server closes the connection and runs
        // nothing after it.
        let connection = try KVServer.RawConnection(server)
        try connection.send("SET before 1\r\nQUIT\r\nSET after 1\r\n")
        let (bytes, closed) = try connection.receive()
        #expect(String(decoding: bytes, as: UTF8.self) == "+OK\r\n+OK\r\n")
        #expect(closed)
        #expect(try server.reply("GET", "before") == "\"1\"")
        #expect(try server.reply("GET", "after") == "(nil)")
        #expect(try server.reply("PING") == "PONG")
    }

    @Test func selectAndConfigGet() throws {
        let server = try KVServer.start()
        #expect(try server.reply("SELECT", "0") == "OK")
        #expect(try server.reply("SELECT", "1").hasPrefix("(error) ERR "))
        #expect(try server.reply("SELECT") == Self.arity("select"))
        #expect(try server.reply("CONFIG", "GET", "save").hasPrefix("1) \"save\"\n2) \""))
        #expect(try server.reply("CONFIG", "GET", "appendonly") == "1) \"appendonly\"\n2) \"no\"")
        #expect(try server.reply("CONFIG", "GET", "no-such-parameter") == "(empty array)")
    }

    @Test func unknownCommand() throws {
        let server = try KVServer.start()
        #expect(
            try server.reply("foo", "a", "b")
                == Self.error("ERR unknown command 'foo', with args beginning with: 'a' 'b' ")
        )
        #expect(try server.reply("foo") == Self.error("ERR unknown command 'foo', with args beginning with: "))
        #expect(try server.reply("PING") == "PONG")
    }

    @Test func severalCommandsOnOneConnection() throws {
        let server = try KVServer.start()
        let result = try server.cli("--no-raw", stdin: "SET a 1\nINCR a\nGET a\nMGET a b\nPING\nDEL a\nGET a\n")
        #expect(result.status == 0)
        #expect(
            result.stdoutLines == [
                "OK", "(integer) 2", "\"2\"", "1) \"2\"", "2) (nil)", "PONG", "(integer) 1", "(nil)",
            ]
        )
    }

    @Test func pipelinedBatch() throws {
        let server = try KVServer.start()
        func multibulk(_ arguments: String...) -> String {
            "*\(arguments.count)\r\n" + arguments.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
        }
        var batch = ""
        for index in 0..<1000 {
            batch += multibulk("SET", "key:\(index)", "value:\(index)")
            batch += index % 2 == 0 ? multibulk("INCR", "counter") : "INCR counter\r\n"  // inline as well
        }
        batch += "PING\r\n" + multibulk("MGET", "key:0", "key:999")
        let result = try server.cli("--pipe", stdin: batch)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(result.stdoutLines.last == "errors: 0, replies: 2002", "\(result.stdout)")
        #expect(try server.reply("DBSIZE") == "(integer) 1001")
        #expect(try server.reply("GET", "counter") == "\"1000\"")
        #expect(
            try server.reply("MGET", "key:0", "key:500", "key:999")
                == "1) \"value:0\"\n2) \"value:500\"\n3) \"value:999\""
        )

        // One error reply in a batch: the rest still runs.
        let failing = try server.cli("--pipe", stdin: "SET s abc\r\nINCR s\r\nSET after ok\r\n")
        #expect(failing.status == 1)
        #expect(failing.stdoutLines.last == "errors: 1, replies: 3", "\(failing.stdout)")
        #expect(failing.stderr.contains("ERR value is not an integer or out of range"))
        #expect(try server.reply("GET", "after") == "\"ok\"")
    }

    @Test func binarySafeValues() throws {
        let server = try KVServer.start()
        let value = "a\r\nb\0c\r\n*1\r\n$4\r\n\u{1}\u{7f}\u{e9}"
        let set = try server.cli("-x", "SET", "bin", stdin: value)
        #expect(set.status == 0)
        #expect(set.stdout == "OK\n")
        #expect(try server.reply("GET", "bin") == #""a\r\nb\x00c\r\n*1\r\n$4\r\n\x01\x7f\xc3\xa9""#)
        // Raw output: the bytes exactly, then redis-cli's newline.
        let raw = try server.cli("GET", "bin")
        #expect(Array(raw.stdout.utf8) == Array(value.utf8) + [UInt8(ascii: "\n")])
        // Keys with control bytes too (an argument cannot hold NUL).
        #expect(try server.reply("SET", "key\twith\r\nbytes", "v") == "OK")
        #expect(try server.reply("GET", "key\twith\r\nbytes") == "\"v\"")
        #expect(try server.reply("EXISTS", "key") == "(integer) 0")
        #expect(try server.reply("DBSIZE") == "(integer) 2")
    }

    @Test func writesBeyondMaxmemoryAreRefused() throws {
        let server = try KVServer.start(["--maxmemory", "4mb"])
        #expect(try server.reply("SET", "keep", "precious") == "OK")
        let big = String(repeating: "b", count: 64 << 10)
        var refused = 0
        var last = ""
        for index in 0..<200 {
            last = try server.reply("SET", "big:\(index)", big)
            if last != "OK" {
                refused = index
                break
            }
        }
        #expect(last == Self.outOfMemory)
        #expect(refused > 0)
        #expect(try server.reply("GET", "keep") == "\"precious\"")
        #expect(try server.reply("EXISTS", "big:0") == "(integer) 1")
        #expect(try server.reply("DBSIZE") == "(integer) \(refused + 1)")
        #expect(try server.reply("PING") == "PONG")
        let memory = try info(server, "memory")
        #expect(try #require(memory["used_memory"].flatMap { Int($0) }) <= 4 << 20)
        #expect(try #require(memory["arena_limit_hits"].flatMap { Int($0) }) > 0)
        #expect(try #require(info(server, "stats")["rejected_writes_oom"].flatMap { Int($0) }) > 0)
        // Deleting makes room again.
        for index in 0..<refused { #expect(try server.reply("DEL", "big:\(index)") == "(integer) 1") }
        #expect(try server.reply("SET", "big:again", big) == "OK")
        #expect(try server.reply("GET", "keep") == "\"precious\"")
    }

    @Test func mallocStats() throws {
        let server = try KVServer.start()
        #expect(try server.reply("SET", "k", "v") == "OK")
        let stats = try server.cli("MEMORY", "MALLOC-STATS")
        #expect(stats.status == 0)
        #if Jemalloc
        #expect(stats.stdout.hasPrefix("{"), "\(stats.stdout.prefix(200))")
        let read = try Tool.run("arena-stats", ["read", "-"], stdin: stats.stdout)
        #expect(read.status == 0, "\(read.stderr)")
        #expect(read.stderr.isEmpty)
        #expect(read.stdout.lowercased().contains("arena"), "\(read.stdout)")
        let json = try Tool.run("arena-stats", ["read", "-", "--json"], stdin: stats.stdout)
        #expect(json.status == 0, "\(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((object?["arenas"] as? [Any])?.isEmpty == false, "\(json.stdout.prefix(500))")
        #else
        #expect(stats.stdout.hasPrefix("ERR "), "\(stats.stdout.prefix(200))")
        #endif
        #expect(try server.reply("MEMORY") == Self.arity("memory"))
    }
}
