import ArenaBytes
import NIOCore

// KEYS and SCAN, with Redis 7.0's options, patterns (see `GlobPattern`) and error words.

extension CommandExecutor {
    /// `KEYS pattern`: every key that matches, in one reply (the store is locked meanwhile, as
    /// Redis is busy meanwhile).
    func keys(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        let pattern = GlobPattern(arguments[1])
        let keys = state.store.withLockedValue { store in
            pattern.matchesEverything ? store.keys { _ in true } : store.keys(where: pattern.matches)
        }
        replies.writeArrayHeader(keys.count)
        for key in keys { replies.writeBulkReply(key) }
    }

    /// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`: the next cursor (as a bulk
    /// string) and a few keys; see ``Store/scan(from:count:where:)``.
    ///
    /// Errors as Redis 7.0's, in its order: the cursor first (`ERR invalid cursor`), then each
    /// option from left to right (`ERR syntax error` for an unknown one or one without its
    /// argument, a `COUNT` that is not a number, then one below 1). Every key is a string, so
    /// `TYPE string` (any case) keeps them all and any other type none, as `TYPE hash` would
    /// on a store without hashes.
    func scan(_ arguments: [Bytes], into replies: inout ByteBuffer) {
        guard let cursor = UInt64(scanCursor: arguments[1]) else {
            replies.writeErrorReply("ERR invalid cursor")
            return
        }
        var count = 10
        var pattern: GlobPattern?
        var keepsStrings = true
        var index = 2
        while index < arguments.count {
            let option = arguments[index]
            guard index + 1 < arguments.count else {
                replies.writeErrorReply("ERR syntax error")
                return
            }
            let value = arguments[index + 1]
            if option.equalsIgnoringCase("COUNT") {
                guard let parsed = Int(decimal: value) else {
                    replies.writeErrorReply("ERR value is not an integer or out of range")
                    return
                }
                guard parsed >= 1 else {
                    replies.writeErrorReply("ERR syntax error")
                    return
                }
                count = parsed
            } else if option.equalsIgnoringCase("MATCH") {
                let glob = GlobPattern(value)
                pattern = glob.matchesEverything ? nil : glob
            } else if option.equalsIgnoringCase("TYPE") {
                keepsStrings = value.equalsIgnoringCase("STRING")
            } else {
                replies.writeErrorReply("ERR syntax error")
                return
            }
            index += 2
        }
        let (next, keys) = state.store.withLockedValue { store in
            store.scan(from: cursor, count: count) { pattern?.matches($0) ?? true }
        }
        replies.writeArrayHeader(2)
        replies.writeBulkReply(String(next))
        let kept = keepsStrings ? keys : []
        replies.writeArrayHeader(kept.count)
        for key in kept { replies.writeBulkReply(key) }
    }
}

extension UInt64 {
    /// A `SCAN` cursor, read as Redis reads it with `strtoul`: decimal digits after an optional
    /// `+` or `-` (which negates modulo 2^64, so `-1` is the largest cursor), nothing else,
    /// no leading white space, at most 2^64 - 1; the empty string is 0, and the text ends at a
    /// NUL byte, as a C string does. Nil where Redis says `invalid cursor`.
    init?(scanCursor text: Bytes) {
        let bytes = text.prefix { $0 != 0 }
        guard let first = bytes.first else {
            self = 0
            return
        }
        var digits = bytes[...]
        let negative = first == UInt8(ascii: "-")
        if negative || first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1 && !overflow2 else { return nil }
            value = sum
        }
        self = negative ? 0 &- value : value
    }
}
