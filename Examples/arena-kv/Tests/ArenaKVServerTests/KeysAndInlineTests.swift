import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `KEYS`, `SCAN` and inline commands with quotes and escapes, as redis-server 7.0 answers
/// them: fixed cases through redis-cli and raw sockets, and, where `redis-server` is installed,
/// seeded random patterns and inline lines sent to both servers, whose replies must agree.
@Suite("KEYS, SCAN and inline commands", .timeLimit(.minutes(5)))
struct KeysAndInlineTests {
    typealias C = CommandTests

    /// The lines of a redis-cli array reply, sorted (the order of KEYS and SCAN is the table's).
    static func sortedLines(_ reply: String) -> [String] {
        reply.split(separator: "\n").map(String.init).sorted()
    }

    @Test func keysMatchesRedisGlobs() throws {
        let server = try KVServer.start()
        #expect(
            try server.reply("MSET", "hello", "1", "hallo", "2", "hxllo", "3", "hllo", "4", "heeeello", "5") == "OK"
        )
        #expect(try server.reply("SET", "h*llo", "6") == "OK")
        #expect(try server.reply("KEYS", "nothing*") == "(empty array)")
        let all = try server.cli("--raw", "KEYS", "*").stdoutLines.sorted()
        #expect(all == ["h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"])
        let cases: [(String, [String])] = [
            ("h?llo", ["h*llo", "hallo", "hello", "hxllo"]),
            ("h*llo", ["h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]),
            ("h[ae]llo", ["hallo", "hello"]),
            ("h[^e]llo", ["h*llo", "hallo", "hxllo"]),
            ("h[a-b]llo", ["hallo"]),
            ("h\\*llo", ["h*llo"]),
        ]
        for (pattern, expected) in cases {
            #expect(try server.cli("--raw", "KEYS", pattern).stdoutLines.sorted() == expected, "KEYS \(pattern)")
        }
        // An expired key is not listed.
        #expect(try server.reply("SET", "gone", "v", "PX", "1") == "OK")
        usleep(20_000)
        #expect(!(try server.cli("--raw", "KEYS", "*").stdoutLines.contains("gone")))
        #expect(try server.reply("KEYS") == C.arity("keys"))
        #expect(try server.reply("KEYS", "a", "b") == C.arity("keys"))
    }

    @Test func scanWalksEveryKeyWithItsOptions() throws {
        let server = try KVServer.start()
        let client = try RESPClient(port: server.port)
        let pairs = (0..<300).flatMap { ["user:\($0)", "v"] } + (0..<100).flatMap { ["order:\($0)", "v"] }
        expectReply(try client.command((["MSET"] + pairs).map { Array($0.utf8) }), .simple("OK"))
        // redis-cli --scan walks SCAN with MATCH from cursor 0 back to 0.
        let users = try server.cli("--scan", "--pattern", "user:*").stdoutLines
        #expect(users.count == 300 && Set(users) == Set((0..<300).map { "user:\($0)" }))
        #expect(try server.cli("--scan").stdoutLines.count == 400)
        #expect(
            Set(try server.cli("--scan", "--pattern", "order:?").stdoutLines) == Set((0..<10).map { "order:\($0)" })
        )
        // One call: the next cursor and at least COUNT keys (whole runs of slots) unless it ends.
        guard case .array(let step?) = try client.command("SCAN", "0", "COUNT", "20"),
            step.count == 2, case .bulk(let cursor?) = step[0], case .array(let keys?) = step[1]
        else {
            Issue.record("SCAN 0 COUNT 20: not a cursor and a list")
            return
        }
        #expect(String(decoding: cursor, as: UTF8.self) != "0" && keys.count >= 20)
        // TYPE: every key is a string.
        guard case .array(let typed?) = try client.command("SCAN", "0", "COUNT", "1000", "TYPE", "STRING"),
            case .array(let all?) = typed[1]
        else {
            Issue.record("SCAN TYPE STRING: not a list")
            return
        }
        #expect(all.count == 400)
        expectReply(try client.command("SCAN", "0", "COUNT", "1000", "TYPE", "hash"), .array([.bulk("0"), .array([])]))
        // Cursors as strtoul reads them: empty is 0, -1 the largest, no spaces or trailing bytes.
        guard case .array(let empty?) = try client.command("SCAN", ""), case .bulk = empty[0] else {
            Issue.record("SCAN \"\": not a reply")
            return
        }
        for cursor in ["x", " 1", "1 ", "+", "-", "18446744073709551616", "0x10"] {
            expectReply(try client.command("SCAN", cursor), .error("ERR invalid cursor"), "SCAN '\(cursor)'")
        }
        guard case .array(let last?) = try client.command("SCAN", "-1"), case .bulk(let next?) = last[0] else {
            Issue.record("SCAN -1: not a reply")
            return
        }
        #expect(next == Array("0".utf8), "the largest cursor is the walk's last step")
        // Errors, in Redis's order: the cursor, then each option.
        expectReply(try client.command("SCAN", "x", "FOO"), .error("ERR invalid cursor"))
        expectReply(try client.command("SCAN", "0", "FOO", "1"), .error("ERR syntax error"))
        expectReply(try client.command("SCAN", "0", "MATCH"), .error("ERR syntax error"))
        expectReply(try client.command("SCAN", "0", "COUNT", "0"), .error("ERR syntax error"))
        expectReply(try client.command("SCAN", "0", "COUNT", "-1"), .error("ERR syntax error"))
        expectReply(
            try client.command("SCAN", "0", "COUNT", "x"),
            .error("ERR value is not an integer or out of range")
        )
        expectReply(try client.command("SCAN"), .error("ERR wrong number of arguments for 'scan' command"))
        // COMMAND INFO names both, as Redis does.
        expectReply(
            try client.command("COMMAND", "INFO", "KEYS", "SCAN"),
            .array([
                .array([
                    .bulk("keys"), .integer(2), .array([.simple("readonly")]), .integer(0), .integer(0), .integer(0),
                ]),
                .array([
                    .bulk("scan"), .integer(-2), .array([.simple("readonly")]), .integer(0), .integer(0), .integer(0),
                ]),
            ])
        )
    }

    /// Inline commands (what a person types into nc): quotes group words, `\r` splits them.
    @Test func inlineQuotesAndEscapes() throws {
        let server = try KVServer.start()
        let client = try KVServer.RawConnection(server)
        let requests = [
            #"set "two words" 'it is'"#, #"get "two words""#, "get two\rwords",
            #"set "k\x41\n" "a\tb\\\"c\x00\xff""#, #"set 'q\'s' 'back\\slash'"#, #"set joined"quoted part" x"#,
        ]
        try client.send(requests.joined(separator: "\r\n") + "\r\n")
        let expected = "+OK\r\n$5\r\nit is\r\n-ERR wrong number of arguments for 'get' command\r\n+OK\r\n+OK\r\n+OK\r\n"
        let reply = String(decoding: try client.receive(count: expected.utf8.count).bytes, as: UTF8.self)
        #expect(reply == expected)
        // The decoded keys and values, read back over RESP.
        let resp = try RESPClient(port: server.port)
        expectReply(try resp.command("GET", "kA\n"), .bulk(Array("a\tb\\\"c".utf8) + [0, 0xFF]))
        expectReply(try resp.command("GET", "q's"), .bulk(#"back\\slash"#))
        expectReply(try resp.command("GET", "joinedquoted part"), .bulk("x"))
    }

    /// A closing quote followed by something other than white space: Redis's protocol error,
    /// after the requests before it have run, and the connection closes.
    @Test(arguments: [#"echo "a"b"#, "echo x'a'y", #"echo "a" "b"c"#, #"echo "open\""#])
    func unbalancedQuotesCloseTheConnection(line: String) throws {
        let server = try KVServer.start()
        let client = try KVServer.RawConnection(server)
        try client.send("PING\r\n" + line + "\r\nPING\r\n")
        let (bytes, closed) = try client.receive()
        #expect(
            String(decoding: bytes, as: UTF8.self) == "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n"
        )
        #expect(closed)
    }

    // MARK: Against redis-server

    /// The seed of the differential tests; printed, so a failure can be replayed.
    static let seed = UInt64.random(in: 1...UInt64.max)

    /// Random inline lines of quotes, escapes and white space, after an unknown command name
    /// (whose error lists the arguments): each server gives the same bytes, and closes the
    /// connection on the same lines.
    @Test(.enabled(if: ReferenceRedis.isInstalled, "redis-server is not installed"))
    func inlineLinesAgreeWithRedisServer() throws {
        print("KeysAndInlineTests.inlineLinesAgreeWithRedisServer seed \(Self.seed)")
        let redis = try ReferenceRedis()
        let server = try KVServer.start()
        var random = FuzzTests.SplitMix64(seed: Self.seed)
        let alphabet: [String] = [
            "a", "b", " ", " ", "\"", "\"", "'", "'", "\\", "\\", "x", "4", "1", "f", "n", "t", "\t", "\r", "\u{0B}",
        ]
        var disagreements: [String] = []
        for _ in 0..<300 {
            let length = Int.random(in: 1...14, using: &random)
            let line = "NOSUCH " + (0..<length).map { _ in alphabet.randomElement(using: &random)! }.joined()
            let ours = try Self.rawReply(port: server.port, line: line)
            let theirs = try Self.rawReply(port: redis.port, line: line)
            if ours != theirs {
                disagreements.append(
                    "\"\(RESPValue.escape(Array(line.utf8)))\": ours \(ours), redis-server \(theirs)"
                )
            }
        }
        #expect(disagreements.isEmpty, "seed \(Self.seed): \(disagreements.prefix(5).joined(separator: "; "))")
    }

    /// The same keys in both servers, and random patterns of `*`, `?`, sets, ranges and
    /// escapes: `KEYS` lists the same keys, and a whole `SCAN … MATCH` walk finds them too.
    @Test(.enabled(if: ReferenceRedis.isInstalled, "redis-server is not installed"))
    func keysAndScanAgreeWithRedisServer() throws {
        print("KeysAndInlineTests.keysAndScanAgreeWithRedisServer seed \(Self.seed)")
        let redis = try ReferenceRedis()
        let server = try KVServer.start()
        let ours = try RESPClient(port: server.port)
        let theirs = try RESPClient(port: redis.port)
        var random = FuzzTests.SplitMix64(seed: Self.seed ^ 0xA5A5)
        let keyBytes = Array("abc-][\\^*?".utf8) + [0x80, 0xFF]
        var keys: Set<[UInt8]> = [[]]
        while keys.count < 200 {
            keys.insert(
                (0..<Int.random(in: 1...4, using: &random)).map { _ in keyBytes.randomElement(using: &random)! }
            )
        }
        for key in keys {
            expectReply(try ours.command([Array("SET".utf8), key, [1]]), .simple("OK"))
            expectReply(try theirs.command([Array("SET".utf8), key, [1]]), .simple("OK"))
        }
        for round in 0..<300 {
            let pattern = Self.randomPattern(from: keyBytes, using: &random)
            let shown = RESPValue.escape(pattern)
            let expected = try Self.sortedKeys(theirs.command([Array("KEYS".utf8), pattern]))
            let listed = try Self.sortedKeys(ours.command([Array("KEYS".utf8), pattern]))
            #expect(listed == expected, "seed \(Self.seed): KEYS \"\(shown)\"")
            guard round % 10 == 0 else { continue }
            var scanned: [[UInt8]] = []
            var cursor = Array("0".utf8)
            repeat {
                let reply = try ours.command([
                    Array("SCAN".utf8), cursor, Array("MATCH".utf8), pattern, Array("COUNT".utf8), [UInt8(ascii: "3")],
                ])
                guard case .array(let step?) = reply, case .bulk(let next?) = step[0] else {
                    Issue.record("SCAN: \(reply)")
                    return
                }
                scanned += try Self.sortedKeys(step[1])
                cursor = next
            } while cursor != Array("0".utf8)
            #expect(
                scanned.sorted { $0.lexicographicallyPrecedes($1) } == expected,
                "seed \(Self.seed): SCAN MATCH \"\(shown)\""
            )
        }
    }

    /// A glob of one to four parts: a byte (sometimes escaped), `*`, `?`, or a set of bytes and
    /// ranges (sometimes negated, sometimes left open) whose ends are key bytes, high ones too.
    static func randomPattern(from bytes: [UInt8], using random: inout FuzzTests.SplitMix64) -> [UInt8] {
        var pattern: [UInt8] = []
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<3:
                if random.next() % 4 == 0 { pattern.append(UInt8(ascii: "\\")) }
                pattern.append(bytes.randomElement(using: &random)!)
            case 3, 4: pattern.append(UInt8(ascii: "*"))
            case 5: pattern.append(UInt8(ascii: "?"))
            default:
                pattern.append(UInt8(ascii: "["))
                if random.next() % 3 == 0 { pattern.append(UInt8(ascii: "^")) }
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    pattern.append(bytes.randomElement(using: &random)!)
                    if random.next() % 2 == 0 {
                        pattern += [UInt8(ascii: "-"), bytes.randomElement(using: &random)!]
                    }
                }
                if random.next() % 8 != 0 { pattern.append(UInt8(ascii: "]")) }
            }
        }
        return pattern
    }

    /// The keys of an array reply, sorted bytewise.
    static func sortedKeys(_ reply: RESPValue) throws -> [[UInt8]] {
        guard case .array(let elements?) = reply else { throw HarnessError("not an array: \(reply)") }
        return try elements.map { element in
            guard case .bulk(let bytes?) = element else { throw HarnessError("not a bulk string: \(element)") }
            return bytes
        }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// What a server sends back to `line` on a fresh connection: its reply, and whether it
    /// closed the connection after a protocol error (it must) or without a reply.
    static func rawReply(port: Int, line: String) throws -> String {
        let client = try RESPClient(port: port, timeout: 5)
        try client.send(line + "\r\n")
        guard let reply = try client.readReply() else { return "<closed>" }
        guard case .error(let text) = reply, text.hasPrefix("ERR Protocol error") else { return reply.description }
        return reply.description + (try client.isClosedByPeer(within: 5) ? " <closed>" : " <open>")
    }
}
