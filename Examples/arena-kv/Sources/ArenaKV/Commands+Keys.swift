import Arena
import ArenaBytes
import NIOCore

// The commands of Redis 7.0 on keys and strings beyond GET/SET/INCR, with its error words:
// FLUSHDB, EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT, PERSIST, EXPIRETIME/PEXPIRETIME, DECR, INCRBY,
// DECRBY, APPEND, STRLEN, SETNX, SETEX, PSETEX, GETDEL, GETEX, TYPE, UNLINK.

extension CommandExecutor {
    /// Runs one of the commands above; the arity is checked.
    func executeKeyCommand(_ command: CommandName, _ arguments: [Bytes], into replies: inout ByteBuffer) {
        if command == .flushdb {
            flush(arguments, into: &replies)
            return
        }
        let key = arguments[1]
        switch command {
        case .unlink:
            let removed = state.store.withLockedValue { store in
                arguments.dropFirst().reduce(0) { $0 + (store.remove($1) ? 1 : 0) }
            }
            replies.writeIntegerReply(removed)
        case .expire, .pexpire, .expireat, .pexpireat:
            expire(command, arguments, into: &replies)
        case .persist:
            let result = state.store.withLockedValue { store in
                Result { () throws(ArenaError) in try store.persist(key) }
            }
            switch result {
            case .success(let changed): replies.writeIntegerReply(changed ? 1 : 0)
            case .failure(let error): rejectWrite(error, into: &replies)
            }
        case .expiretime, .pexpiretime:
            switch state.store.withLockedValue({ $0.timeToLive(of: key) }) {
            case .missing: replies.writeIntegerReply(-2)
            case .persistent: replies.writeIntegerReply(-1)
            case .milliseconds(let left):
                let deadline = Int(unixMilliseconds() + left)
                replies.writeIntegerReply(command == .pexpiretime ? deadline : (deadline + 500) / 1000)
            }
        case .decr:
            increment(key, by: -1, into: &replies)
        case .incrby, .decrby:
            guard let amount = Int(decimal: arguments[2]) else {
                replies.writeErrorReply("ERR value is not an integer or out of range")
                return
            }
            if command == .decrby && amount == .min {
                replies.writeErrorReply("ERR decrement would overflow")
                return
            }
            increment(key, by: command == .decrby ? -amount : amount, into: &replies)
        case .append:
            let result = state.store.withLockedValue { store in
                Result { () throws(ArenaError) in try store.append(arguments[2], to: key) }
            }
            switch result {
            case .success(let length): replies.writeIntegerReply(length)
            case .failure(let error): rejectWrite(error, into: &replies)
            }
        case .strlen:
            replies.writeIntegerReply(state.store.withLockedValue { $0.value(for: key)?.count ?? 0 })
        case .setnx:
            let result = state.store.withLockedValue { store in
                Result { () throws(ArenaError) in try store.set(key, to: arguments[2], condition: .ifAbsent) }
            }
            switch result {
            case .success(let outcome): replies.writeIntegerReply(outcome.stored ? 1 : 0)
            case .failure(let error): rejectWrite(error, into: &replies)
            }
        case .setex, .psetex:
            let unit: ExpiryUnit = command == .setex ? .seconds : .milliseconds
            switch SetOptions.milliseconds(arguments[2], unit: unit, absolute: false, command: command.name) {
            case .failure(let error): replies.writeErrorReply(error.message)
            case .success(let milliseconds):
                let result = state.store.withLockedValue { store in
                    Result { () throws(ArenaError) in
                        try store.set(key, to: arguments[3], expiry: .after(milliseconds: milliseconds))
                    }
                }
                switch result {
                case .success: replies.writeOK()
                case .failure(let error): rejectWrite(error, into: &replies)
                }
            }
        case .getdel:
            let value = state.store.withLockedValue { store in
                let value = store.value(for: key)
                if value != nil { _ = store.remove(key) }
                return value
            }
            replies.writeBulkReply(value)
        case .getex:
            getex(arguments, into: &replies)
        case .type:
            let exists = state.store.withLockedValue { $0.contains(key) }
            replies.writeSimpleString(exists ? "string" : "none")
        default:
            preconditionFailure("\(command.name) is not a key command")
        }
    }

    /// `INCR`, `INCRBY`, `DECR`, `DECRBY`: adds `amount` and replies with the new value.
    func increment(_ key: Bytes, by amount: Int, into replies: inout ByteBuffer) {
        let result = state.store.withLockedValue { store in
            Result { () throws(IncrementError) in try store.increment(key, by: amount) }
        }
        switch result {
        case .success(let value): replies.writeIntegerReply(value)
        case .failure(.notAnInteger): replies.writeErrorReply("ERR value is not an integer or out of range")
        case .failure(.overflow): replies.writeErrorReply("ERR increment or decrement would overflow")
        case .failure(.arena(let error)): rejectWrite(error, into: &replies)
        }
    }

    /// `EXPIRE key seconds [NX|XX|GT|LT]` and its millisecond and absolute forms.
    private func expire(_ command: CommandName, _ arguments: [Bytes], into replies: inout ByteBuffer) {
        var flags: Set<String> = []
        for option in arguments.dropFirst(3) {
            let word = option.text.uppercased()
            guard ["NX", "XX", "GT", "LT"].contains(word) else {
                replies.writeErrorReply("ERR Unsupported option \(option.text)")
                return
            }
            flags.insert(word)
        }
        if flags.contains("NX") && !flags.isDisjoint(with: ["XX", "GT", "LT"]) {
            replies.writeErrorReply("ERR NX and XX, GT or LT options at the same time are not compatible")
            return
        }
        if flags.contains("GT") && flags.contains("LT") {
            replies.writeErrorReply("ERR GT and LT options at the same time are not compatible")
            return
        }
        guard var when = Int64(decimal: arguments[2]) else {
            replies.writeErrorReply("ERR value is not an integer or out of range")
            return
        }
        let invalid = "ERR invalid expire time in '\(command.name)' command"
        if command == .expire || command == .expireat {
            guard when <= .max / 1000 && when >= .min / 1000 else {
                replies.writeErrorReply(invalid)
                return
            }
            when *= 1000
        }
        let now = unixMilliseconds()
        let absolute = command == .expireat || command == .pexpireat
        if !absolute {
            guard when <= .max - now else {
                replies.writeErrorReply(invalid)
                return
            }
            when += now
        }
        let condition: ExpireCondition =
            flags.contains("NX")
            ? .ifPersistent
            : flags.contains("XX")
                ? .ifExpiring : flags.contains("GT") ? .ifLater : flags.contains("LT") ? .ifEarlier : .always
        let (relative, overflow) = when.subtractingReportingOverflow(now)
        let key = arguments[1]
        let result = state.store.withLockedValue { store in
            Result { () throws(ArenaError) in
                try store.expire(key, inMilliseconds: overflow ? .min : relative, condition: condition)
            }
        }
        switch result {
        case .success(let changed): replies.writeIntegerReply(changed ? 1 : 0)
        case .failure(let error): rejectWrite(error, into: &replies)
        }
    }

    /// `GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]`.
    private func getex(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        let options: SetOptions
        switch SetOptions.parse(arguments[2...], command: "getex") {
        case .success(let parsed): options = parsed
        case .failure(let error):
            replies.writeErrorReply(error.message)
            return
        }
        let key = arguments[1]
        let result = state.store.withLockedValue { store in
            Result { () throws(ArenaError) -> Bytes? in
                guard let value = store.value(for: key) else { return nil }
                switch options.expiry {
                case .after(let milliseconds):
                    if milliseconds <= 0 {
                        _ = store.remove(key)
                    } else {
                        _ = try store.set(key, to: value, expiry: .after(milliseconds: milliseconds))
                    }
                case .none where options.persist:
                    _ = try store.persist(key)
                default: break
                }
                return value
            }
        }
        switch result {
        case .success(let value): replies.writeBulkReply(value)
        case .failure(let error): rejectWrite(error, into: &replies)
        }
    }
}

/// Whether an expiry option counts seconds or milliseconds.
enum ExpiryUnit {
    case seconds, milliseconds
}

/// The options of `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]`, and of
/// `GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]`: Redis 7.0's rules, error words and order
/// (a syntax error anywhere comes before a bad number).
struct SetOptions {
    var condition = SetCondition.always
    var expiry = SetExpiry.none
    var returnPrevious = false
    /// `GETEX … PERSIST`.
    var persist = false

    /// Parses the options; `command` is `set` or `getex`.
    static func parse(_ options: ArraySlice<Bytes>, command: String) -> Result<SetOptions, SetOptionError> {
        let isSet = command == "set"
        var parsed = SetOptions()
        var nx = false
        var xx = false
        var keepTTL = false
        // The expiry option last given, and its argument (EX may repeat: the last counts).
        var timed: (unit: ExpiryUnit, absolute: Bool, value: Bytes)?
        var index = options.startIndex
        while index < options.endIndex {
            let option = options[index]
            let next = index + 1 < options.endIndex ? options[index + 1] : nil
            index += 1
            let expiryWord: (ExpiryUnit, Bool)? =
                option.equalsIgnoringCase("EX")
                ? (.seconds, false)
                : option.equalsIgnoringCase("PX")
                    ? (.milliseconds, false)
                    : option.equalsIgnoringCase("EXAT")
                        ? (.seconds, true) : option.equalsIgnoringCase("PXAT") ? (.milliseconds, true) : nil
            if isSet && option.equalsIgnoringCase("NX") && !xx {
                nx = true
            } else if isSet && option.equalsIgnoringCase("XX") && !nx {
                xx = true
            } else if isSet && option.equalsIgnoringCase("GET") {
                parsed.returnPrevious = true
            } else if isSet && option.equalsIgnoringCase("KEEPTTL") && timed == nil {
                keepTTL = true
            } else if !isSet && option.equalsIgnoringCase("PERSIST") && timed == nil {
                parsed.persist = true
            } else if let (unit, absolute) = expiryWord, !keepTTL, !parsed.persist, let next,
                timed == nil || (timed!.unit == unit && timed!.absolute == absolute)
            {
                timed = (unit, absolute, next)
                index += 1
            } else {
                return .failure(SetOptionError("ERR syntax error"))
            }
        }
        parsed.condition = nx ? .ifAbsent : xx ? .ifPresent : .always
        if keepTTL { parsed.expiry = .keep }
        if let timed {
            switch milliseconds(timed.value, unit: timed.unit, absolute: timed.absolute, command: command) {
            case .success(let milliseconds): parsed.expiry = .after(milliseconds: milliseconds)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(parsed)
    }

    /// An expiry argument as milliseconds from now (0 or less: already past), with Redis's
    /// checks: a number, more than 0, and a deadline that fits 64 bits.
    static func milliseconds(
        _ text: Bytes,
        unit: ExpiryUnit,
        absolute: Bool,
        command: String
    ) -> Result<Int64, SetOptionError> {
        guard var value = Int64(decimal: text) else {
            return .failure(SetOptionError("ERR value is not an integer or out of range"))
        }
        let invalid = SetOptionError("ERR invalid expire time in '\(command)' command")
        guard value > 0, unit == .milliseconds || value <= .max / 1000 else { return .failure(invalid) }
        if unit == .seconds { value *= 1000 }
        let now = unixMilliseconds()
        if absolute { return .success(value - now) }
        guard value <= .max - now else { return .failure(invalid) }
        return .success(value)
    }
}
