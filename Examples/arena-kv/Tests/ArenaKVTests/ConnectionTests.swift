import ArenaBytes
import ArenaKV
import NIOCore
import NIOEmbedded
import Testing

/// `ConnectionHandler` on an `EmbeddedChannel`: pipelining, requests split at every byte,
/// replies in Redis's words, and the connection closed after a protocol error.
@Suite(.timeLimit(.minutes(5))) struct ConnectionTests {
    typealias R = EmbeddedConnection

    @Test func pipelinedRequestsGetTheirRepliesInOrder() throws {
        let connection = try EmbeddedConnection()
        let replies = try connection.send(
            R.request("SET", "k", "hello") + R.request("GET", "k") + R.request("GET", "nope") + "PING\r\n"
                + R.request("INCR", "n") + R.request("MSET", "a", "1", "b", "2") + R.request("MGET", "a", "zz", "b")
                + R.request("DEL", "a", "b", "c") + R.request("EXISTS", "k", "k", "a") + R.request("DBSIZE")
                + R.request("ECHO", "x\r\ny") + R.request("PING", "hi")
        )
        #expect(
            replies == "+OK\r\n$5\r\nhello\r\n$-1\r\n+PONG\r\n:1\r\n+OK\r\n*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n"
                + ":2\r\n:2\r\n:2\r\n$4\r\nx\r\ny\r\n$2\r\nhi\r\n"
        )
        #expect(connection.channel.isActive)
        #expect(connection.state.totalCommands == 12)
    }

    @Test func aRequestSentByteByByteIsRunOnce() throws {
        let connection = try EmbeddedConnection()
        var replies = ""
        for byte in (R.request("SET", "key", "value") + R.request("GET", "key")).utf8 {
            replies += try connection.send([byte])
        }
        #expect(replies == "+OK\r\n$5\r\nvalue\r\n")
    }

    @Test func setOptionsAndTheirErrors() throws {
        let connection = try EmbeddedConnection()
        #expect(try connection.send(R.request("SET", "k", "1", "NX")) == "+OK\r\n")
        #expect(try connection.send(R.request("SET", "k", "2", "NX")) == "$-1\r\n")
        #expect(try connection.send(R.request("SET", "k", "3", "XX", "GET")) == "$1\r\n1\r\n")
        #expect(try connection.send(R.request("SET", "k", "4", "px", "5000")) == "+OK\r\n")
        #expect(try connection.send(R.request("PTTL", "k")).hasPrefix(":"))
        #expect(try connection.send(R.request("SET", "k", "4", "NX", "XX")) == "-ERR syntax error\r\n")
        #expect(try connection.send(R.request("SET", "k", "4", "EX", "1", "PX", "1")) == "-ERR syntax error\r\n")
        #expect(try connection.send(R.request("SET", "k", "4", "EX")) == "-ERR syntax error\r\n")
        #expect(
            try connection.send(R.request("SET", "k", "4", "EX", "ten"))
                == "-ERR value is not an integer or out of range\r\n"
        )
        #expect(
            try connection.send(R.request("SET", "k", "4", "EX", "0"))
                == "-ERR invalid expire time in 'set' command\r\n"
        )
        for (unit, amount) in [
            ("PX", "9223372036854775807"), ("PX", "9223372036854775000"), ("EX", "9223372036854775"),
        ] {
            #expect(
                try connection.send(R.request("SET", "k", "5", unit, amount))
                    == "-ERR invalid expire time in 'set' command\r\n"
            )
        }
        #expect(try connection.send(R.request("GET", "k")) == "$1\r\n4\r\n", "refused SETs change nothing")
    }

    @Test func unknownCommandsAndWrongArityKeepTheConnection() throws {
        let connection = try EmbeddedConnection()
        #expect(
            try connection.send(R.request("FROB", "a", "b\r\nc"))
                == "-ERR unknown command 'FROB', with args beginning with: 'a' 'b  c' \r\n"
        )
        #expect(try connection.send(R.request("get")) == "-ERR wrong number of arguments for 'get' command\r\n")
        #expect(try connection.send(R.request("MSET", "a")) == "-ERR wrong number of arguments for 'mset' command\r\n")
        #expect(
            try connection.send(R.request("MSET", "a", "1", "b"))
                == "-ERR wrong number of arguments for 'mset' command\r\n"
        )
        #expect(
            try connection.send(R.request("incr", "a", "b")) == "-ERR wrong number of arguments for 'incr' command\r\n"
        )
        #expect(try connection.send("PING\r\n") == "+PONG\r\n")
        #expect(connection.channel.isActive)
    }

    @Test func aProtocolErrorRepliesAndClosesAfterTheRequestsBeforeIt() throws {
        let connection = try EmbeddedConnection()
        let replies = try connection.send(R.request("SET", "k", "v") + "*1\r\n$-3\r\n" + R.request("PING"))
        #expect(replies == "+OK\r\n-ERR Protocol error: invalid bulk length\r\n")
        #expect(!connection.channel.isActive)
    }

    @Test func aRequestLargerThanTheClientLimitIsRefusedBeforeItArrives() throws {
        let connection = try EmbeddedConnection(
            ServerConfiguration(maxMemory: 0, maxBulkLength: 1 << 20, clientBufferLimit: 64 << 10)
        )
        let replies = try connection.send("*2\r\n$4\r\nECHO\r\n$100000\r\nabc")
        #expect(replies == "-ERR Protocol error: client query buffer limit exceeded\r\n")
        #expect(!connection.channel.isActive)
    }

    @Test func aBulkOverTheLimitIsRefused() throws {
        let connection = try EmbeddedConnection(ServerConfiguration(maxMemory: 0, maxBulkLength: 1000))
        #expect(try connection.send("*2\r\n$4\r\nECHO\r\n$1001\r\n") == "-ERR Protocol error: invalid bulk length\r\n")
        #expect(!connection.channel.isActive)
    }

    @Test func quitRepliesAndCloses() throws {
        let connection = try EmbeddedConnection()
        #expect(try connection.send(R.request("QUIT") + R.request("PING")) == "+OK\r\n")
        #expect(!connection.channel.isActive)
    }

    @Test func aFullStoreRefusesWritesWithRedisWordsAndServesReads() throws {
        let connection = try EmbeddedConnection(ServerConfiguration(maxMemory: 128 << 10))
        #expect(try connection.send(R.request("SET", "kept", "value")) == "+OK\r\n")
        let big = String(repeating: "x", count: 200 << 10)
        #expect(
            try connection.send(R.request("SET", "big", big))
                == "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
        )
        #expect(
            try connection.send(R.request("MSET", "a", "1", "big", big))
                == "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
        )
        #expect(try connection.send(R.request("MGET", "kept", "a")) == "*2\r\n$5\r\nvalue\r\n$-1\r\n")
        let info = try connection.send(R.request("INFO", "stats"))
        #expect(info.contains("rejected_writes_oom:2\r\n"))
    }

    /// The receive buffer is cut into frozen batches and reclaimed once they are gone: after
    /// warming up, a thousand pipelined rounds allocate nothing more in the io arena.
    @Test func theReceiveBufferIsReused() throws {
        let connection = try EmbeddedConnection()
        let round = R.request("SET", "k", String(repeating: "v", count: 100)) + R.request("GET", "k")
        for _ in 0..<10 { try connection.send(round) }
        let before = connection.state.ioArena.statistics().allocations
        for _ in 0..<1000 { try connection.send(round + round) }
        #expect(connection.state.ioArena.statistics().allocations == before)
    }

    /// A large request grows the receive buffer; once it is done the memory goes back.
    @Test func aLargeRequestsBufferIsReleasedAfterwards() throws {
        let connection = try EmbeddedConnection()
        let large = String(repeating: "x", count: 4 << 20)
        #expect(try connection.send(R.request("SET", "big", large)) == "+OK\r\n")
        #expect(connection.state.ioArena.bytesReserved < 1 << 20)
        #expect(try connection.send(R.request("STRLEN", "big")) == ":4194304\r\n")
        #expect(connection.state.ioArena.bytesReserved < 1 << 20)
    }

    /// A client that does not read its replies pauses its connection through the framing
    /// handler, the one owner of `autoRead`; once it reads again, the held requests run.
    @Test func aClientThatDoesNotReadIsPausedThroughTheFramingHandler() throws {
        let connection = try EmbeddedConnection()
        let value = String(repeating: "v", count: 10_000)
        #expect(try connection.send(R.request("SET", "k", value)) == "+OK\r\n")
        let framing = try connection.channel.pipeline.syncOperations.handler(type: ConnectionHandler.Framing.self)
        connection.channel.isWritable = false
        let reply = "$10000\r\n\(value)\r\n"
        // Replies go out every 64 KiB: after the first 7 the channel is still not writable.
        let replies = try connection.send(String(repeating: R.request("GET", "k"), count: 20))
        #expect(replies == String(repeating: reply, count: 7))
        #expect(framing.pauseReasons == .writability)
        let autoRead = connection.channel.options.last { $0.option is ChannelOptions.Types.AutoReadOption }
        #expect((autoRead?.value as? Bool) == false)
        // Requests arriving meanwhile wait behind the held ones.
        #expect(try connection.send(R.request("PING")) == "")
        connection.channel.isWritable = true
        connection.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try connection.replies() == String(repeating: reply, count: 13) + "+PONG\r\n")
        #expect(framing.pauseReasons.isEmpty)
        let resumed = connection.channel.options.last { $0.option is ChannelOptions.Types.AutoReadOption }
        #expect((resumed?.value as? Bool) == true)
    }

    @Test func infoCommandConfigAndSelect() throws {
        let connection = try EmbeddedConnection(ServerConfiguration(maxMemory: 1 << 20))
        try connection.send(R.request("SET", "k", "v", "EX", "100"))
        let memory = try connection.send(R.request("INFO", "memory"))
        #expect(memory.contains("# Memory\r\n"))
        #expect(memory.contains("\r\nmaxmemory:1048576\r\n"))
        #expect(memory.contains("\r\nused_memory_dataset:2\r\n"))
        #expect(!memory.contains("# Stats"))
        let keyspace = try connection.send(R.request("INFO", "keyspace"))
        #expect(keyspace.contains("db0:keys=1,expires=1,avg_ttl=0\r\n"))
        #expect(try connection.send(R.request("COMMAND", "COUNT")) == ":41\r\n")
        #expect(try connection.send(R.request("COMMAND", "DOCS")) == "*0\r\n")
        #expect(
            try connection.send(R.request("CONFIG", "GET"))
                == "-ERR wrong number of arguments for 'config|get' command\r\n"
        )
        #expect(
            try connection.send(R.request("CONFIG", "GET", "appendonly")) == "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        )
        #expect(try connection.send(R.request("SELECT", "0")) == "+OK\r\n")
        #expect(try connection.send(R.request("SELECT", "1")) == "-ERR DB index is out of range\r\n")
        #expect(try connection.send(R.request("FLUSHALL")) == "+OK\r\n")
        #expect(try connection.send(R.request("DBSIZE")) == ":0\r\n")
        #expect(try connection.send(R.request("MEMORY", "USAGE", "k")) == "$-1\r\n")
    }
}
