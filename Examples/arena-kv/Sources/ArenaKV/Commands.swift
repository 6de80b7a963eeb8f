import ArenaBytes
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the connection does after a command.
enum Disposition {
    /// Reads the next request.
    case proceed
    /// Sends the replies so far and closes (`QUIT`).
    case close
}

/// Runs one request against the server's state and writes its reply.
struct CommandExecutor {
    let state: ServerState

    /// Runs `arguments` (the command name first) and appends the reply to `replies`; counts
    /// the call, its time and an error reply for `INFO commandstats` and `INFO errorstats`.
    func execute(_ arguments: [Bytes], into replies: inout ByteBuffer) -> Disposition {
        let replyStart = replies.writerIndex
        guard let command = CommandName(arguments[0]) else {
            replies.writeUnknownCommand(arguments)
            countError(in: replies, from: replyStart)
            return .proceed
        }
        guard command.accepts(argumentCount: arguments.count) else {
            replies.writeErrorReply("ERR wrong number of arguments for '\(command.name)' command")
            state.commandStatistics.withLock { $0[command.name, default: CommandCounts()].rejected += 1 }
            countError(in: replies, from: replyStart)
            return .proceed
        }
        let started = monotonicMicroseconds()
        let disposition = run(command, arguments, into: &replies)
        let elapsed = Int(monotonicMicroseconds() - started)
        let failed = countError(in: replies, from: replyStart)
        state.commandStatistics.withLock { statistics in
            var counts = statistics[command.name, default: CommandCounts()]
            counts.calls += 1
            counts.microseconds += elapsed
            if failed { counts.failed += 1 }
            statistics[command.name] = counts
        }
        return disposition
    }

    /// Counts the reply written from `start` in `INFO errorstats` when it is an error.
    @discardableResult
    private func countError(in replies: ByteBuffer, from start: Int) -> Bool {
        guard replies.writerIndex > start, replies.getInteger(at: start, as: UInt8.self) == UInt8(ascii: "-") else {
            return false
        }
        let length = min(replies.writerIndex - start - 1, 32)
        let head = replies.getBytes(at: start + 1, length: length) ?? []
        let word = String(decoding: head.prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        state.errorStatistics.withLock { $0[word, default: 0] += 1 }
        return true
    }

    private func run(_ command: CommandName, _ arguments: [Bytes], into replies: inout ByteBuffer) -> Disposition {
        switch command {
        case .get:
            replies.writeBulkReply(state.store.withLockedValue { $0.value(for: arguments[1]) })
        case .set:
            set(arguments, into: &replies)
        case .ping:
            switch arguments.count {
            case 1: replies.writeStaticString("+PONG\r\n")
            case 2: replies.writeBulkReply(arguments[1])
            default: replies.writeErrorReply("ERR wrong number of arguments for 'ping' command")
            }
        case .echo:
            replies.writeBulkReply(arguments[1])
        case .del:
            let removed = state.store.withLockedValue { store in
                arguments.dropFirst().reduce(0) { $0 + (store.remove($1) ? 1 : 0) }
            }
            replies.writeIntegerReply(removed)
        case .exists:
            let found = state.store.withLockedValue { store in
                arguments.dropFirst().reduce(0) { $0 + (store.contains($1) ? 1 : 0) }
            }
            replies.writeIntegerReply(found)
        case .mget:
            replies.writeArrayHeader(arguments.count - 1)
            state.store.withLockedValue { store in
                for key in arguments.dropFirst() { replies.writeBulkReply(store.value(for: key)) }
            }
        case .mset:
            guard arguments.count % 2 == 1 else {
                replies.writeErrorReply("ERR wrong number of arguments for 'mset' command")
                break
            }
            let result = state.store.withLockedValue { store in
                Result { () throws(ArenaError) in try store.setAll(arguments[1...]) }
            }
            switch result {
            case .success: replies.writeOK()
            case .failure(let error): rejectWrite(error, into: &replies)
            }
        case .incr:
            increment(arguments[1], by: 1, into: &replies)
        case .dbsize:
            replies.writeIntegerReply(state.store.withLockedValue { $0.count })
        case .flushall:
            flush(arguments, into: &replies)
        case .ttl, .pttl:
            switch state.store.withLockedValue({ $0.timeToLive(of: arguments[1]) }) {
            case .missing: replies.writeIntegerReply(-2)
            case .persistent: replies.writeIntegerReply(-1)
            case .milliseconds(let left):
                replies.writeIntegerReply(command == .pttl ? Int(left) : Int((left + 500) / 1000))
            }
        case .info:
            replies.writeBulkReply(ServerInfo(state: state).text(sections: arguments.dropFirst().map { $0.text }))
        case .command:
            CommandIntrospection.reply(to: arguments, into: &replies)
        case .config:
            config(arguments, into: &replies)
        case .memory:
            memory(arguments, into: &replies)
        case .select:
            switch Int(decimal: arguments[1]) {
            case 0: replies.writeOK()
            case nil: replies.writeErrorReply("ERR value is not an integer or out of range")
            default: replies.writeErrorReply("ERR DB index is out of range")
            }
        case .keys:
            keys(arguments, into: &replies)
        case .scan:
            scan(arguments, into: &replies)
        case .quit:
            replies.writeOK()
            return .close
        case .flushdb, .expire, .pexpire, .expireat, .pexpireat, .persist, .expiretime, .pexpiretime, .decr, .incrby,
            .decrby, .append, .strlen, .setnx, .setex, .psetex, .getdel, .getex, .type, .unlink:
            executeKeyCommand(command, arguments, into: &replies)
        }
        return .proceed
    }

    /// Answers a write that the store's arena refused, which changed nothing.
    ///
    /// At the limit (`maxmemory`), Redis's own words. When the allocator itself refused the
    /// memory (out of memory, or a refusal injected by a test), Redis has no reply, since it
    /// aborts; this one keeps Redis's `OOM` error code, which clients and `INFO errorstats`
    /// classify as "refused for lack of memory, retry later", and Redis's phrasing, but does not
    /// blame `maxmemory`, so that nobody raises the limit for it.
    func rejectWrite(_ error: ArenaError, into replies: inout ByteBuffer) {
        if case .limitExceeded = error {
            state.rejectedWrites.add(1, ordering: .relaxed)
            replies.writeErrorReply(Self.maxMemoryRefusal)
        } else {
            state.failedAllocations.add(1, ordering: .relaxed)
            replies.writeErrorReply(Self.allocationRefusal)
        }
    }

    /// The reply to a write past `maxmemory`: Redis's.
    static let maxMemoryRefusal = "OOM command not allowed when used memory > 'maxmemory'."
    /// The reply to a write whose memory the allocator refused.
    static let allocationRefusal = "OOM command not allowed when the allocator refuses memory."

    /// `FLUSHALL` and `FLUSHDB` (one database: the same), `ASYNC` or `SYNC` allowed.
    func flush(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        let mode = arguments.count == 2 ? arguments[1] : nil
        guard
            arguments.count == 1
                || (arguments.count == 2 && (mode!.equalsIgnoringCase("ASYNC") || mode!.equalsIgnoringCase("SYNC")))
        else {
            replies.writeErrorReply("ERR syntax error")
            return
        }
        state.store.withLockedValue { $0.removeAll() }
        replies.writeOK()
    }

    // MARK: SET

    private func set(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        let options: SetOptions
        switch SetOptions.parse(arguments[3...], command: "set") {
        case .success(let parsed): options = parsed
        case .failure(let error):
            replies.writeErrorReply(error.message)
            return
        }
        let result = state.store.withLockedValue { store in
            Result { () throws(ArenaError) in
                try store.set(arguments[1], to: arguments[2], condition: options.condition, expiry: options.expiry)
            }
        }
        let outcome: (stored: Bool, previous: Bytes?)
        switch result {
        case .success(let done): outcome = done
        case .failure(let error):
            rejectWrite(error, into: &replies)
            return
        }
        if options.returnPrevious {
            replies.writeBulkReply(outcome.previous)
        } else if outcome.stored {
            replies.writeOK()
        } else {
            replies.writeNullReply()
        }
    }

    // MARK: CONFIG and MEMORY

    /// `CONFIG GET pattern…`: the few settings clients ask for (redis-benchmark asks for `save`
    /// and `appendonly`); patterns are Redis's globs (`*`, `?`, `[a-z]`, `\\`), ignoring case.
    private func config(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        guard arguments[1].equalsIgnoringCase("GET") else {
            replies.writeErrorReply("ERR unknown subcommand '\(arguments[1].text)'. Try CONFIG GET.")
            return
        }
        guard arguments.count >= 3 else {
            replies.writeErrorReply("ERR wrong number of arguments for 'config|get' command")
            return
        }
        let settings: KeyValuePairs<String, String> = [
            "save": "", "appendonly": "no", "maxmemory": String(state.configuration.maxMemory),
            "maxmemory-policy": "noeviction", "proto-max-bulk-len": String(state.configuration.maxBulkLength),
            "client-query-buffer-limit": String(state.configuration.clientBufferLimit), "databases": "1",
        ]
        let patterns = arguments.dropFirst(2).map { GlobPattern($0, ignoringCase: true) }
        let matches = settings.filter { setting in patterns.contains { $0.matches(setting.key.utf8) } }
        replies.writeArrayHeader(matches.count * 2)
        for (name, value) in matches {
            replies.writeBulkReply(name)
            replies.writeBulkReply(value)
        }
    }

    /// `MEMORY MALLOC-STATS`: jemalloc's statistics as JSON, for `arena-stats read -`;
    /// `MEMORY USAGE key [SAMPLES count]`: the bytes of a key and its value; `MEMORY PROFILE
    /// [STORE|IO]`: an arena's `memoryProfile()` as JSON; `MEMORY HELP`. Errors in Redis 7.0's
    /// words.
    private func memory(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        let subcommand = arguments[1]
        if subcommand.equalsIgnoringCase("MALLOC-STATS") {
            #if Jemalloc
            replies.writeBulkReply(Jemalloc.statisticsJSON())
            #else
            replies.writeErrorReply("ERR MEMORY MALLOC-STATS needs jemalloc (built without the Jemalloc trait)")
            #endif
        } else if subcommand.equalsIgnoringCase("USAGE") {
            guard arguments.count >= 3 else {
                replies.writeErrorReply("ERR wrong number of arguments for 'memory|usage' command")
                return
            }
            // `SAMPLES count` is accepted and has nothing to sample: values are strings.
            if arguments.count > 3 {
                guard arguments.count == 5, arguments[3].equalsIgnoringCase("SAMPLES") else {
                    replies.writeErrorReply("ERR syntax error")
                    return
                }
                guard Int(decimal: arguments[4]) != nil else {
                    replies.writeErrorReply("ERR value is not an integer or out of range")
                    return
                }
            }
            let key = arguments[2]
            let value = state.store.withLockedValue { $0.value(for: key) }
            if let value { replies.writeIntegerReply(key.count + value.count) } else { replies.writeNullReply() }
        } else if subcommand.equalsIgnoringCase("PROFILE") {
            let which = arguments.count > 2 ? arguments[2] : nil
            guard arguments.count <= 3 else {
                replies.writeErrorReply("ERR wrong number of arguments for 'memory|profile' command")
                return
            }
            if which == nil || which!.equalsIgnoringCase("STORE") {
                replies.writeBulkReply(profileJSON(state.storeArena.memoryProfile()))
            } else if which!.equalsIgnoringCase("IO") {
                replies.writeBulkReply(profileJSON(state.ioArena.memoryProfile()))
            } else {
                replies.writeErrorReply("ERR syntax error")
            }
        } else if subcommand.equalsIgnoringCase("HELP") {
            replies.writeArrayHeader(Self.memoryHelp.count)
            for line in Self.memoryHelp { replies.writeSimpleString(line) }
        } else {
            replies.writeErrorReply("ERR unknown subcommand '\(subcommand.text.prefix(128))'. Try MEMORY HELP.")
        }
    }

    /// The lines of `MEMORY HELP`, in the form of Redis's: each subcommand arena-kv has.
    static let memoryHelp = [
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "MALLOC-STATS",
        "    Return jemalloc's statistics for every arena, as JSON (for arena-stats read -).",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value.",
        "PROFILE [STORE|IO]",
        "    Return the sampled allocation sites of the store's (or receive buffers') arena, as JSON:",
        "    live and pinned bytes per site. Sampling is on with --sample-interval or ARENA_SAMPLE_INTERVAL.",
        "HELP",
        "    Prints this help.",
    ]
}

/// A `SET` option the parser refused, with the reply's message.
struct SetOptionError: Error {
    var message: String

    init(_ message: String) { self.message = message }
}

extension ByteBuffer {
    /// Redis's reply to an unknown command: its name and the start of its arguments, 128 bytes
    /// at most each, with `\r` and `\n` turned into spaces so the reply stays one line.
    mutating func writeUnknownCommand(_ arguments: [Bytes]) {
        var message: [UInt8] = Array("-ERR unknown command '".utf8)
        message += arguments[0].prefix(128)
        message += Array("', with args beginning with: ".utf8)
        var listed = 0
        for argument in arguments.dropFirst() where listed < 128 {
            let part = [UInt8(ascii: "'")] + argument.prefix(128 - listed) + Array("' ".utf8)
            listed += part.count
            message += part
        }
        for index in message.indices where message[index] == UInt8(ascii: "\r") || message[index] == UInt8(ascii: "\n")
        {
            message[index] = UInt8(ascii: " ")
        }
        writeBytes(message)
        writeStaticString("\r\n")
    }
}

extension Bytes {
    /// The bytes as text (invalid UTF-8 repaired), for messages and settings.
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// `profile` as JSON, its keys sorted: what `MEMORY PROFILE` returns.
func profileJSON(_ profile: MemoryProfile) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let data = try? encoder.encode(profile) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
}
