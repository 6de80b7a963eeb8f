import Foundation
import Testing

/// The commands and replies of Redis 7.0 beyond the first set, through redis-cli and raw
/// sockets: the same replies and error words as redis-server 7.0.
@Suite("Redis 7.0 fidelity", .timeLimit(.minutes(5)))
struct RedisFidelityTests {
    typealias C = CommandTests

    @Test func flushdb() throws {
        let server = try KVServer.start()
        #expect(try server.reply("MSET", "a", "1", "b", "2") == "OK")
        #expect(try server.reply("FLUSHDB") == "OK")
        #expect(try server.reply("DBSIZE") == "(integer) 0")
        #expect(try server.reply("FLUSHDB", "ASYNC") == "OK")
        #expect(try server.reply("FLUSHDB", "sync") == "OK")
        #expect(try server.reply("FLUSHDB", "LATER") == C.syntaxError)
    }

    @Test func expirePersistAndExpiretime() throws {
        let server = try KVServer.start()
        #expect(try server.reply("EXPIRE", "absent", "100") == "(integer) 0")
        #expect(try server.reply("SET", "k", "v") == "OK")
        #expect(try server.reply("EXPIRETIME", "k") == "(integer) -1")
        #expect(try server.reply("EXPIRE", "k", "100") == "(integer) 1")
        #expect((90...100).contains(try C.integer(server.reply("TTL", "k"))))
        let now = Int(Date().timeIntervalSince1970)
        #expect((now + 90...now + 101).contains(try C.integer(server.reply("EXPIRETIME", "k"))))
        #expect(((now + 90) * 1000...(now + 101) * 1000).contains(try C.integer(server.reply("PEXPIRETIME", "k"))))
        #expect(try server.reply("GET", "k") == "\"v\"", "the value survives")
        // NX, XX, GT, LT.
        #expect(try server.reply("EXPIRE", "k", "200", "NX") == "(integer) 0")
        #expect(try server.reply("EXPIRE", "k", "50", "GT") == "(integer) 0")
        #expect(try server.reply("EXPIRE", "k", "200", "GT") == "(integer) 1")
        #expect(try server.reply("EXPIRE", "k", "300", "LT") == "(integer) 0")
        #expect(try server.reply("PEXPIRE", "k", "150000", "LT", "XX") == "(integer) 1")
        #expect((140...150).contains(try C.integer(server.reply("TTL", "k"))))
        #expect(try server.reply("PERSIST", "k") == "(integer) 1")
        #expect(try server.reply("PERSIST", "k") == "(integer) 0")
        #expect(try server.reply("TTL", "k") == "(integer) -1")
        #expect(try server.reply("EXPIRE", "k", "100", "XX") == "(integer) 0")
        #expect(try server.reply("EXPIRE", "k", "100", "GT") == "(integer) 0", "no TTL counts as infinite")
        #expect(try server.reply("EXPIRE", "k", "100", "LT") == "(integer) 1")
        #expect(try server.reply("EXPIREAT", "k", String(now + 1000)) == "(integer) 1")
        #expect((990...1000).contains(try C.integer(server.reply("TTL", "k"))))
        // A time in the past removes the key.
        #expect(try server.reply("EXPIRE", "k", "-1") == "(integer) 1")
        #expect(try server.reply("EXISTS", "k") == "(integer) 0")
        #expect(try server.reply("EXPIRETIME", "k") == "(integer) -2")
        // Errors, in Redis's order: options first, then the number.
        #expect(try server.reply("EXPIRE", "k", "abc", "FOO") == C.error("ERR Unsupported option FOO"))
        #expect(try server.reply("EXPIRE", "k", "abc") == C.notAnInteger)
        #expect(
            try server.reply("EXPIRE", "k", "10", "NX", "XX")
                == C.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        )
        #expect(
            try server.reply("EXPIRE", "k", "10", "GT", "LT")
                == C.error("ERR GT and LT options at the same time are not compatible")
        )
        #expect(
            try server.reply("EXPIRE", "k", "9223372036854775807")
                == C.error("ERR invalid expire time in 'expire' command")
        )
        #expect(try server.reply("PERSIST") == C.arity("persist"))
    }

    @Test func countersAndStrings() throws {
        let server = try KVServer.start()
        #expect(try server.reply("DECR", "n") == "(integer) -1")
        #expect(try server.reply("INCRBY", "n", "11") == "(integer) 10")
        #expect(try server.reply("DECRBY", "n", "4") == "(integer) 6")
        #expect(try server.reply("INCRBY", "n", "x") == C.notAnInteger)
        #expect(try server.reply("DECRBY", "n", "-9223372036854775808") == C.error("ERR decrement would overflow"))
        #expect(try server.reply("SET", "max", "9223372036854775807") == "OK")
        #expect(try server.reply("INCRBY", "max", "1") == C.error("ERR increment or decrement would overflow"))
        #expect(try server.reply("SET", "s", "abc", "EX", "100") == "OK")
        #expect(try server.reply("DECR", "s") == C.notAnInteger)
        #expect(try server.reply("APPEND", "s", "def") == "(integer) 6")
        #expect(try server.reply("GET", "s") == "\"abcdef\"")
        #expect((90...100).contains(try C.integer(server.reply("TTL", "s"))), "APPEND keeps the TTL")
        #expect(try server.reply("APPEND", "new", "xy") == "(integer) 2")
        #expect(try server.reply("STRLEN", "s") == "(integer) 6")
        #expect(try server.reply("STRLEN", "absent") == "(integer) 0")
        #expect(try server.reply("SETNX", "s", "other") == "(integer) 0")
        #expect(try server.reply("SETNX", "fresh", "1") == "(integer) 1")
        #expect(try server.reply("SETEX", "t", "100", "v") == "OK")
        #expect((90...100).contains(try C.integer(server.reply("TTL", "t"))))
        #expect(try server.reply("SETEX", "t", "0", "v") == C.error("ERR invalid expire time in 'setex' command"))
        #expect(try server.reply("SETEX", "t", "x", "v") == C.notAnInteger)
        #expect(try server.reply("PSETEX", "t", "-1", "v") == C.error("ERR invalid expire time in 'psetex' command"))
        #expect(try server.reply("GETDEL", "t") == "\"v\"")
        #expect(try server.reply("GETDEL", "t") == "(nil)")
        #expect(try server.reply("TYPE", "s") == "string")
        #expect(try server.reply("TYPE", "absent") == "none")
        #expect(try server.reply("UNLINK", "s", "new", "absent") == "(integer) 2")
    }

    @Test func getex() throws {
        let server = try KVServer.start()
        #expect(try server.reply("GETEX", "absent", "EX", "10") == "(nil)")
        #expect(try server.reply("SET", "k", "v") == "OK")
        #expect(try server.reply("GETEX", "k", "EX", "100") == "\"v\"")
        #expect((90...100).contains(try C.integer(server.reply("TTL", "k"))))
        #expect(try server.reply("GETEX", "k", "PERSIST") == "\"v\"")
        #expect(try server.reply("TTL", "k") == "(integer) -1")
        #expect(try server.reply("GETEX", "k", "KEEPTTL") == C.syntaxError)
        #expect(try server.reply("GETEX", "k", "EX", "10", "PERSIST") == C.syntaxError)
        #expect(try server.reply("GETEX", "k", "EX", "0") == C.error("ERR invalid expire time in 'getex' command"))
        #expect(try server.reply("GETEX", "k") == "\"v\"")
    }

    @Test func setOptionsAsRedis7() throws {
        let server = try KVServer.start()
        let now = Int(Date().timeIntervalSince1970)
        #expect(try server.reply("SET", "k", "v", "EXAT", String(now + 100)) == "OK")
        #expect((90...100).contains(try C.integer(server.reply("TTL", "k"))))
        #expect(try server.reply("SET", "k", "v", "PXAT", String((now + 200) * 1000)) == "OK")
        #expect((190...200).contains(try C.integer(server.reply("TTL", "k"))))
        // Repeated options are accepted; the last time counts.
        #expect(try server.reply("SET", "k", "v", "ex", "10", "ex", "20") == "OK")
        #expect((15...20).contains(try C.integer(server.reply("TTL", "k"))))
        #expect(try server.reply("SET", "k", "v", "keepttl", "keepttl") == "OK")
        #expect(try server.reply("SET", "k", "v", "NX", "NX") == "(nil)")
        // A syntax error anywhere comes before a bad number.
        #expect(try server.reply("SET", "k", "v", "ex", "abc", "foo") == C.syntaxError)
        #expect(try server.reply("SET", "k", "v", "ex", "abc") == C.notAnInteger)
        #expect(try server.reply("SET", "k", "v", "EX", "10", "PXAT", "1") == C.syntaxError)
        // A PX near the top of the range is accepted, one past what now allows is not.
        #expect(try server.reply("SET", "k", "v", "PX", "9223370000000000000") == "OK")
        #expect(try server.reply("SET", "k", "v", "PX", "9223372036854775807") == C.invalidExpire)
        #expect(try server.reply("SET", "k", "v", "EX", "9223372036854775") == C.invalidExpire)
        // An EXAT in the past stores and expires at once.
        #expect(try server.reply("SET", "old", "v", "EXAT", "1") == "OK")
        #expect(try server.reply("EXISTS", "old") == "(integer) 0")
    }

    @Test func infoSectionsAndConfigPatterns() throws {
        let server = try KVServer.start()
        _ = try server.reply("SET", "k", "v")
        _ = try server.reply("GET", "k")
        _ = try server.reply("INCR", "k")
        let cpu = try info(server, "cpu")
        #expect(cpu["used_cpu_user"] != nil && cpu["used_cpu_sys"] != nil, "\(cpu)")
        #expect(try info(server, "replication")["role"] == "master")
        let commands = try info(server, "commandstats")
        #expect(commands["cmdstat_set"]?.hasPrefix("calls=1,usec=") == true, "\(commands)")
        #expect(commands["cmdstat_incr"]?.hasSuffix("rejected_calls=0,failed_calls=1") == true, "\(commands)")
        #expect(try info(server, "errorstats")["errorstat_ERR"] == "count=1")
        #expect(try info(server)["cmdstat_get"] == nil, "commandstats is not a default section")
        #expect(try info(server, "everything")["cmdstat_get"] != nil)

        let config = try server.reply("CONFIG", "GET", "max*")
        #expect(config.contains("\"maxmemory\"") && config.contains("\"maxmemory-policy\""), "\(config)")
        #expect(!config.contains("\"save\""))
        #expect(try server.reply("CONFIG", "GET", "SAV?").contains("\"save\""))
        #expect(try server.reply("CONFIG", "GET", "[ab]ppendonly").contains("\"appendonly\""))
        #expect(try server.reply("CONFIG", "GET", "nothing*") == "(empty array)")
    }

    @Test func memorySubcommandsAsRedis70() throws {
        let server = try KVServer.start()
        #expect(try server.reply("SET", "key", "value") == "OK")
        #expect(try server.reply("MEMORY", "USAGE", "key") == "(integer) 8")
        #expect(try server.reply("MEMORY", "USAGE", "key", "SAMPLES", "5") == "(integer) 8")
        #expect(try server.reply("MEMORY", "USAGE", "absent") == "(nil)")
        #expect(
            try server.reply("MEMORY", "USAGE") == C.error("ERR wrong number of arguments for 'memory|usage' command")
        )
        #expect(try server.reply("MEMORY", "USAGE", "key", "SAMPLES") == C.syntaxError)
        #expect(try server.reply("MEMORY", "USAGE", "key", "SAMPLES", "x") == C.notAnInteger)
        #expect(try server.reply("MEMORY", "FOO") == C.error("ERR unknown subcommand 'FOO'. Try MEMORY HELP."))
        let help = try server.cli("MEMORY", "HELP").stdoutLines
        #expect(help.first == "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
        #expect(help.contains("USAGE <key> [SAMPLES <count>]") && help.contains("HELP"), "\(help)")
    }

    @Test func versionNamesRedisAndJemalloc() throws {
        let result = try Tool.run("arena-kv", ["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("arena-kv 1.0 (answers as redis 7.0.0; jemalloc 5."), "\(result.stdout)")
    }

    /// Inline commands (what a person types into nc): quotes group words, `\r` splits them.
    @Test func inlineQuoting() throws {
        let server = try KVServer.start()
        let client = try KVServer.RawConnection(server)
        try client.send("set \"two words\" 'it is'\r\nget \"two words\"\r\nget two\rwords\r\n")
        let expected = "+OK\r\n$5\r\nit is\r\n-ERR wrong number of arguments for 'get' command\r\n"
        let reply = String(decoding: try client.receive(count: expected.utf8.count).bytes, as: UTF8.self)
        #expect(reply == expected)
    }
}
