import ArenaBytes
import NIOCore

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

    /// Runs `arguments` (the command name first) and appends the reply to `replies`.
    func execute(_ arguments: [Bytes], into replies: inout ByteBuffer) -> Disposition {
        guard let command = CommandName(arguments[0]) else {
            replies.writeUnknownCommand(arguments)
            return .proceed
        }
        guard command.accepts(argumentCount: arguments.count) else {
            replies.writeErrorReply("ERR wrong number of arguments for '\(command.name)' command")
            return .proceed
        }
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
            if case .success = result { replies.writeOK() } else { rejectWrite(into: &replies) }
        case .incr:
            increment(arguments[1], into: &replies)
        case .dbsize:
            replies.writeIntegerReply(state.store.withLockedValue { $0.count })
        case .flushall:
            guard arguments.count == 1 || (arguments.count == 2 && isFlushMode(arguments[1])) else {
                replies.writeErrorReply("ERR syntax error")
                break
            }
            state.store.withLockedValue { $0.removeAll() }
            replies.writeOK()
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
        case .quit:
            replies.writeOK()
            return .close
        }
        return .proceed
    }

    private func rejectWrite(into replies: inout ByteBuffer) {
        state.rejectedWrites.add(1, ordering: .relaxed)
        replies.writeErrorReply("OOM command not allowed when used memory > 'maxmemory'.")
    }

    private func isFlushMode(_ argument: Bytes) -> Bool {
        argument.equalsIgnoringCase("ASYNC") || argument.equalsIgnoringCase("SYNC")
    }

    // MARK: SET

    private func set(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        let options: SetOptions
        switch SetOptions.parse(arguments[3...]) {
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
        guard case .success(let outcome) = result else {
            rejectWrite(into: &replies)
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

    // MARK: INCR

    private func increment(_ key: Bytes, into replies: inout ByteBuffer) {
        let result = state.store.withLockedValue { store in
            Result { () throws(IncrementError) in try store.increment(key) }
        }
        switch result {
        case .success(let value): replies.writeIntegerReply(value)
        case .failure(.notAnInteger): replies.writeErrorReply("ERR value is not an integer or out of range")
        case .failure(.overflow): replies.writeErrorReply("ERR increment or decrement would overflow")
        case .failure(.arena): rejectWrite(into: &replies)
        }
    }

    // MARK: CONFIG and MEMORY

    /// `CONFIG GET pattern…`: the few settings clients ask for (redis-benchmark asks for `save`
    /// and `appendonly`); `*` lists them all.
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
        let patterns = arguments.dropFirst(2).map { $0.text.lowercased() }
        let matches = settings.filter { setting in patterns.contains { $0 == "*" || $0 == setting.key } }
        replies.writeArrayHeader(matches.count * 2)
        for (name, value) in matches {
            replies.writeBulkReply(name)
            replies.writeBulkReply(value)
        }
    }

    /// `MEMORY MALLOC-STATS`: jemalloc's statistics as JSON, for `arena-stats read -`;
    /// `MEMORY USAGE key`: the bytes of a key and its value.
    private func memory(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        if arguments[1].equalsIgnoringCase("MALLOC-STATS") {
            #if Jemalloc
            replies.writeBulkReply(Jemalloc.statisticsJSON())
            #else
            replies.writeErrorReply("ERR MEMORY MALLOC-STATS needs jemalloc (built without the Jemalloc trait)")
            #endif
        } else if arguments[1].equalsIgnoringCase("USAGE") && arguments.count == 3 {
            let key = arguments[2]
            let value = state.store.withLockedValue { $0.value(for: key) }
            if let value { replies.writeIntegerReply(key.count + value.count) } else { replies.writeNullReply() }
        } else {
            replies.writeErrorReply("ERR unknown subcommand '\(arguments[1].text)'. Try MEMORY MALLOC-STATS.")
        }
    }
}

/// The options of `SET key value [NX|XX] [GET] [EX s|PX ms|KEEPTTL]`.
struct SetOptions {
    var condition = SetCondition.always
    var expiry = SetExpiry.none
    var returnPrevious = false

    /// Parses the options after the value, with Redis's error messages.
    static func parse(_ options: ArraySlice<Bytes>) -> Result<SetOptions, SetOptionError> {
        var parsed = SetOptions()
        var hasExpiry = false
        var index = options.startIndex
        while index < options.endIndex {
            let option = options[index]
            index += 1
            if option.equalsIgnoringCase("NX") && parsed.condition != .ifPresent {
                parsed.condition = .ifAbsent
            } else if option.equalsIgnoringCase("XX") && parsed.condition != .ifAbsent {
                parsed.condition = .ifPresent
            } else if option.equalsIgnoringCase("GET") {
                parsed.returnPrevious = true
            } else if option.equalsIgnoringCase("KEEPTTL") && !hasExpiry {
                parsed.expiry = .keep
                hasExpiry = true
            } else if (option.equalsIgnoringCase("EX") || option.equalsIgnoringCase("PX")) && !hasExpiry
                && index < options.endIndex
            {
                guard let amount = Int(decimal: options[index]) else {
                    return .failure(SetOptionError("ERR value is not an integer or out of range"))
                }
                index += 1
                let scale = option.equalsIgnoringCase("EX") ? 1000 : 1
                let (milliseconds, overflow) = amount.multipliedReportingOverflow(by: scale)
                // Redis refuses a time whose deadline (now, in Unix milliseconds, plus the time)
                // would overflow; 2^42 ms covers any "now" until the year 2109.
                guard amount > 0, !overflow, milliseconds <= Int.max - (1 << 42) else {
                    return .failure(SetOptionError("ERR invalid expire time in 'set' command"))
                }
                parsed.expiry = .after(milliseconds: Int64(milliseconds))
                hasExpiry = true
            } else {
                return .failure(SetOptionError("ERR syntax error"))
            }
        }
        return .success(parsed)
    }
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
