import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bad requests over raw sockets: a protocol error gets the documented reply and closes only the
/// client that sent it, command errors leave the connection open, and a client that never reads
/// its replies is throttled instead of growing the server's memory.
@Suite(.timeLimit(.minutes(5))) struct BadInputTests {
    /// One malformed request, the error reply it must get, and the server options it needs.
    struct ProtocolCase: CustomTestStringConvertible, Sendable {
        /// Shown as the test case's name.
        let name: String
        /// Extra `arena-kv` options.
        let options: [String]
        /// The bytes sent after a working `PING`.
        let request: [UInt8]
        /// The error reply (without the leading `-`).
        let reply: String

        var testDescription: String { name }

        init(_ name: String, _ request: String, _ reply: String, options: [String] = []) {
            self.init(name, Array(request.utf8), reply, options: options)
        }

        init(_ name: String, _ request: [UInt8], _ reply: String, options: [String] = []) {
            self.name = name
            self.options = options
            self.request = request
            self.reply = reply
        }
    }

    /// The reply to a bad `*` count.
    static let multibulkLength = "ERR Protocol error: invalid multibulk length"
    /// The reply to a bad `$` length.
    static let bulkLength = "ERR Protocol error: invalid bulk length"

    /// Every malformed request, with the spec's reply for it.
    static let protocolCases: [ProtocolCase] = [
        ProtocolCase("count not a number", "*abc\r\n", multibulkLength),
        ProtocolCase("count absurd", "*99999999999\r\n", multibulkLength),
        ProtocolCase("count one over 1048576", "*1048577\r\n", multibulkLength),
        ProtocolCase("bulk length negative", "*1\r\n$-5\r\n", bulkLength),
        ProtocolCase("bulk length absurd", "*2\r\n$3\r\nGET\r\n$99999999999999\r\n", bulkLength),
        ProtocolCase("bulk length not a number", "*1\r\n$x1\r\n", bulkLength),
        ProtocolCase(
            "bulk over --max-bulk-length",
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n",
            bulkLength,
            options: ["--max-bulk-length", "1kb"]
        ),
        ProtocolCase(
            "bulk one byte over --max-bulk-length",
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1025\r\n",
            bulkLength,
            options: ["--max-bulk-length", "1kb"]
        ),
        ProtocolCase("inline where a bulk belongs", "*1\r\nPING\r\n", "ERR Protocol error: expected '$', got 'P'"),
        // Redis turns CR and LF in an error message into spaces, so the reply stays one line.
        ProtocolCase("CR where a bulk belongs", "*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '"),
        ProtocolCase(
            "integer where a bulk belongs",
            "*2\r\n$4\r\nECHO\r\n:5\r\n",
            "ERR Protocol error: expected '$', got ':'"
        ),
        // Numbers as Redis's string2ll reads them: no leading zero, no -0.
        ProtocolCase("count with a leading zero", "*01\r\n$4\r\nPING\r\n", multibulkLength),
        ProtocolCase("count minus zero", "*-0\r\n", multibulkLength),
        ProtocolCase("bulk length with a leading zero", "*1\r\n$04\r\nPING\r\n", bulkLength),
        ProtocolCase(
            "bulk length line over 64 KiB",
            "*1\r\n$" + String(repeating: "1", count: 64 * 1024 + 10),
            "ERR Protocol error: too big bulk count string"
        ),
        ProtocolCase(
            "inline quotes that do not close",
            "set \"\"\"test-key\"\"\" test-value\r\n",
            "ERR Protocol error: unbalanced quotes in request"
        ),
        ProtocolCase("inline quote left open", "get \"k\r\n", "ERR Protocol error: unbalanced quotes in request"),
        ProtocolCase("inline single quote left open", "get 'k\r\n", "ERR Protocol error: unbalanced quotes in request"),
        ProtocolCase(
            "inline line over 64 KiB",
            [UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024 + 4096),
            "ERR Protocol error: too big inline request"
        ),
    ]

    /// A malformed request gets exactly its error reply, then the server closes that connection,
    /// while a client connected before keeps working.
    @Test(arguments: protocolCases)
    func protocolErrorClosesOnlyThatClient(_ input: ProtocolCase) throws {
        let server = try KVServer.start(input.options)
        defer { _ = try? server.stop() }
        let bystander = try Bystander(port: server.port)
        let client = try RESPClient(port: server.port, timeout: 5)
        try expectReply(client.command("PING"), .simple("PONG"))

        try client.send(input.request)
        try expectReply(client.readReply(), .error(input.reply))
        #expect(try client.isClosedByPeer(), "the server keeps the connection open after \(input.reply)")
        try expectReply(client.readReply(), nil, "a reply after the protocol error")

        try bystander.expectServed()
        #expect(server.isRunning)
    }

    /// A bulk of exactly `--max-bulk-length` bytes is accepted; one byte more is not.
    @Test func bulkOfExactlyTheLimitIsAccepted() throws {
        let server = try KVServer.start(["--max-bulk-length", "1kb"])
        defer { _ = try? server.stop() }
        let client = try RESPClient(port: server.port)
        let value = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try expectReply(client.command([Array("SET".utf8), Array("k".utf8), value]), .simple("OK"))
        try expectReply(client.command("GET", "k"), .bulk(value))
        try client.send(RESPClient.encode([Array("SET".utf8), Array("k".utf8), value + [1]]))
        try expectReply(client.readReply(), .error(Self.bulkLength))
        #expect(try client.isClosedByPeer())
        let other = try RESPClient(port: server.port)
        try expectReply(other.command("GET", "k"), .bulk(value), "the rejected SET changed the value")
    }

    /// A request over `--client-buffer-limit 1mb`, sent slowly in 64 KiB pieces: one 2 MB bulk
    /// (`--max-bulk-length 4mb` allows it), or an `MSET` of four 500 KB bulks (each under
    /// `--max-bulk-length 512kb`, together 2 MB).
    enum OversizedRequest: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case oneBigBulk, manyBulks

        var testDescription: String { rawValue }

        /// The server's options.
        var options: [String] {
            switch self {
            case .oneBigBulk: ["--client-buffer-limit", "1mb", "--max-bulk-length", "4mb"]
            case .manyBulks: ["--client-buffer-limit", "1mb", "--max-bulk-length", "512kb"]
            }
        }

        /// The keys the request would set.
        var keys: [String] {
            switch self {
            case .oneBigBulk: ["big"]
            case .manyBulks: ["big1", "big2", "big3", "big4"]
            }
        }

        /// The whole request.
        var bytes: [UInt8] {
            switch self {
            case .oneBigBulk:
                return RESPClient.encode([
                    Array("SET".utf8), Array("big".utf8), [UInt8](repeating: 120, count: 2 << 20),
                ])
            case .manyBulks:
                let pairs = keys.flatMap { [Array($0.utf8), [UInt8](repeating: 120, count: 500_000)] }
                return RESPClient.encode([Array("MSET".utf8)] + pairs)
            }
        }
    }

    /// A request over `--client-buffer-limit` gets the error reply, that client is closed,
    /// nothing of it is stored, and the other client is still served; a request under the limit
    /// works.
    @Test(arguments: OversizedRequest.allCases)
    func requestOverTheClientBufferLimit(_ request: OversizedRequest) throws {
        let server = try KVServer.start(request.options)
        defer { _ = try? server.stop() }
        let bystander = try Bystander(port: server.port)

        // Under both limits works: 400 KB in one request.
        let fits = (0..<400_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 3) }
        try expectReply(bystander.client.command([Array("SET".utf8), Array("fits".utf8), fits]), .simple("OK"))
        try expectReply(bystander.client.command("GET", "fits"), .bulk(fits))

        let client = try RESPClient(port: server.port)
        let bytes = request.bytes
        var sent = 0
        while sent < bytes.count {
            // Stop at the first sign of a reply; the server may also have closed already.
            if try client.waitUntilReadable(milliseconds: 5) { break }
            let end = min(sent + 64 * 1024, bytes.count)
            do { try client.send(Array(bytes[sent..<end])) } catch RESPClientError.closedByPeer { break }
            sent = end
        }
        #expect(sent < bytes.count, "all \(bytes.count) bytes went in without a reply")
        try expectReply(client.readReply(), .error("ERR Protocol error: client query buffer limit exceeded"))
        #expect(try client.isClosedByPeer())
        let exists = try bystander.client.command(
            ["EXISTS"].map { Array($0.utf8) } + request.keys.map { Array($0.utf8) }
        )
        #expect(exists == .integer(0), "part of the rejected request was stored")
        try bystander.expectServed()
        #expect(server.isRunning)
    }

    /// Expire times whose deadline does not fit in 64 bits of milliseconds get Redis's
    /// `invalid expire time` error, and the key keeps its value (not `+OK` and the key gone).
    @Test func absurdExpireTimes() throws {
        let server = try KVServer.start()
        defer { _ = try? server.stop() }
        let client = try RESPClient(port: server.port)
        let invalid = RESPValue.error("ERR invalid expire time in 'set' command")
        for (unit, amount) in [
            ("PX", "9223372036854775807"), ("PX", "9223372036854775000"), ("EX", "9223372036854775807"),
            ("EX", "9223372036854775"), ("EX", "0"), ("PX", "-1"),
        ] {
            try expectReply(client.command("SET", "k", "before"), .simple("OK"))
            try expectReply(client.command("SET", "k", "after", unit, amount), invalid, "SET k after \(unit) \(amount)")
            try expectReply(client.command("GET", "k"), .bulk("before"), "after SET k after \(unit) \(amount)")
        }
        // A long but representable expire time works.
        try expectReply(client.command("SET", "k", "later", "EX", "4611686018427"), .simple("OK"))
        try expectReply(client.command("TTL", "k"), .integer(4_611_686_018_427))
        try expectReply(client.command("GET", "k"), .bulk("later"))
    }

    /// Unknown commands and wrong arity get Redis's error replies and the connection stays open.
    @Test func commandErrorsKeepTheConnection() throws {
        let server = try KVServer.start()
        defer { _ = try? server.stop() }
        let client = try RESPClient(port: server.port)
        let cases: [([String], String)] = [
            (["foo", "a", "b"], "ERR unknown command 'foo', with args beginning with: 'a' 'b' "),
            (["foo"], "ERR unknown command 'foo', with args beginning with: "),
            (["GET"], "ERR wrong number of arguments for 'get' command"),
            (["GET", "a", "b"], "ERR wrong number of arguments for 'get' command"),
            (["SET", "k"], "ERR wrong number of arguments for 'set' command"),
            (["incr"], "ERR wrong number of arguments for 'incr' command"),
            (["MSET", "a", "1", "b"], "ERR wrong number of arguments for 'mset' command"),
        ]
        for (arguments, error) in cases {
            try expectReply(client.command(arguments.map { Array($0.utf8) }), .error(error), "\(arguments)")
            try expectReply(client.command("PING"), .simple("PONG"), "after \(arguments)")
        }
        // The same, pipelined in one send, as inline commands.
        try client.send("foo a b\r\nGET\r\nPING\r\n")
        try expectReply(client.readReply(), .error(cases[0].1))
        try expectReply(client.readReply(), .error(cases[2].1))
        try expectReply(client.readReply(), .simple("PONG"))
        try expectReply(client.command("SET", "k", "v"), .simple("OK"))
        try expectReply(client.command("GET", "k"), .bulk("v"))
    }

    /// Inline commands (a line of space-separated words) work, alone, pipelined and split.
    @Test func inlineCommands() throws {
        let server = try KVServer.start()
        defer { _ = try? server.stop() }
        let client = try RESPClient(port: server.port)
        try client.send("PING\r\n")
        try expectReply(client.readReply(), .simple("PONG"))
        try client.send("SET a b\r\n")
        try expectReply(client.readReply(), .simple("OK"))
        try expectReply(client.command("GET", "a"), .bulk("b"))
        try client.send("GET a\r\nECHO hello\r\nPING\r\n")
        try expectReply(client.readReply(), .bulk("b"))
        try expectReply(client.readReply(), .bulk("hello"))
        try expectReply(client.readReply(), .simple("PONG"))
        // One line in three sends.
        try client.send("SE")
        Thread.sleep(forTimeInterval: 0.02)
        try client.send("T c ")
        Thread.sleep(forTimeInterval: 0.02)
        try client.send("d\r\n")
        try expectReply(client.readReply(), .simple("OK"))
        try expectReply(client.command("GET", "c"), .bulk("d"))
        // Inline and multibulk mixed in one send.
        try client.send(Array("INCR n\r\n".utf8) + RESPClient.encode([Array("INCR".utf8), Array("n".utf8)]))
        try expectReply(client.readReply(), .integer(1))
        try expectReply(client.readReply(), .integer(2))
    }

    /// A client that pipelines 200k `GET`s of a 10 KB value and never reads is throttled: the
    /// server stops reading from it (it processes far fewer than 200k commands), its memory stays
    /// bounded, other clients are served meanwhile, and the slow client's replies are correct
    /// when it finally reads.
    @Test func clientThatNeverReadsIsThrottled() throws {
        let server = try KVServer.start()
        defer { _ = try? server.stop() }
        let control = try RESPClient(port: server.port)
        let value = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 8) }
        try expectReply(control.command([Array("SET".utf8), Array("key".utf8), value]), .simple("OK"))
        try expectReply(control.command("GET", "key"), .bulk(value))
        let rssBefore = try server.rssBytes()
        let processedBefore = try commandsProcessed(control)

        let requests = 200_000
        let slow = try RESPClient(port: server.port)
        let request = RESPClient.encode([Array("GET".utf8), Array("key".utf8)])
        var pipeline: [UInt8] = []
        pipeline.reserveCapacity(request.count * requests)
        for _ in 0..<requests { pipeline += request }
        // Send what the kernel takes until no more goes in for half a second (or all of it went
        // in, or 3 s passed: the kernel may keep taking a little now and then).
        var offset = 0
        let start = Date()
        var lastProgress = start
        while offset < pipeline.count && Date().timeIntervalSince(lastProgress) < 0.5
            && Date().timeIntervalSince(start) < 3
        {
            let sent = try slow.sendWithoutBlocking(pipeline[offset...])
            if sent > 0 {
                offset += sent
                lastProgress = Date()
            } else {
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        let sentRequests = offset / request.count
        #expect(sentRequests >= 20_000, "only \(sentRequests) GETs went in: too little to test throttling")
        // Let the server process whatever it is going to process (each INFO counts itself).
        var processed = try commandsProcessed(control) - processedBefore
        for _ in 0..<40 {
            Thread.sleep(forTimeInterval: 0.1)
            let now = try commandsProcessed(control) - processedBefore
            if now - processed <= 1 { break }
            processed = now
        }
        // A server that kept reading would have processed every GET that went in.
        #expect(
            processed < sentRequests / 2 && processed < requests / 2,
            "the server processed \(processed) of \(sentRequests) pipelined GETs sent without reading"
        )
        #if Jemalloc
        let growth = try server.rssBytes() - rssBefore
        #expect(growth < 64 << 20, "RSS grew by \(growth >> 20) MiB while the slow client did not read")
        #endif

        // Others are served meanwhile.
        let other = try RESPClient(port: server.port)
        try expectReply(other.command("PING"), .simple("PONG"))
        try expectReply(other.command("GET", "key"), .bulk(value))
        try expectReply(other.command("SET", "other", "x"), .simple("OK"))
        try expectReply(control.command("GET", "other"), .bulk("x"))

        // The slow client's replies, when it reads, are whole and in order.
        for index in 0..<1000 {
            let reply = try slow.readReply()
            guard reply == .bulk(value) else {
                Issue.record("reply \(index) to the slow client: \(reply.map(\.description) ?? "closed")")
                break
            }
        }
        slow.close()
        try expectReply(other.command("PING"), .simple("PONG"))
        #expect(server.isRunning)
    }

    /// `total_commands_processed` from `INFO stats`, asked over `client`.
    private func commandsProcessed(_ client: RESPClient) throws -> Int {
        let reply = try client.command("INFO", "stats")
        guard case .bulk(let bytes?) = reply else {
            Issue.record("INFO stats: \(reply)")
            return 0
        }
        let fields = Self.infoFields(String(decoding: bytes, as: UTF8.self))
        return try #require(fields["total_commands_processed"].flatMap { Int($0) }, "INFO stats: \(fields)")
    }
}

extension BadInputTests {
    /// The `name:value` lines of an `INFO` reply.
    private static func infoFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// A second client connected before the misbehaving one: it stores a binary value first and
    /// checks afterwards that it is still served (`PING`, and `GET` of that value byte for byte).
    fileprivate struct Bystander {
        /// The connection, opened by `init`.
        let client: RESPClient
        let key: [UInt8] = Array("bystander\r\n\u{0}key".utf8)
        let value: [UInt8] = (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 251 &+ 17) }

        /// Connects and stores the value.
        init(port: Int) throws {
            client = try RESPClient(port: port)
            try expectReply(client.command([Array("SET".utf8), key, value]), .simple("OK"))
        }

        /// `PING` answers `PONG` and `GET` returns the stored bytes.
        func expectServed(sourceLocation: SourceLocation = #_sourceLocation) throws {
            try expectReply(client.command("PING"), .simple("PONG"), sourceLocation: sourceLocation)
            try expectReply(client.command([Array("GET".utf8), key]), .bulk(value), sourceLocation: sourceLocation)
        }
    }
}
