import ArenaBytes

/// The commands arena-kv knows.
enum CommandName: CaseIterable, Sendable {
    case ping, echo, set, get, del, exists, mget, mset, incr, dbsize, flushall, info, command, quit
    case select, config, ttl, pttl, memory
    case flushdb, expire, pexpire, expireat, pexpireat, persist, expiretime, pexpiretime, decr, incrby, decrby
    case append, strlen, setnx, setex, psetex, getdel, getex, type, unlink, keys, scan

    /// The name in lower case, as Redis names commands in replies.
    var name: String { String(describing: self) }

    /// Redis's arity: `n` means exactly `n` arguments counting the name; `-n` at least `n`.
    var arity: Int {
        switch self {
        case .ping, .flushall, .flushdb, .info, .command, .quit: -1
        case .dbsize: 1
        case .echo, .get, .incr, .select, .ttl, .pttl, .persist, .expiretime, .pexpiretime, .decr, .strlen, .getdel,
            .type, .keys:
            2
        case .incrby, .decrby, .append, .setnx: 3
        case .setex, .psetex: 4
        case .set, .mset, .expire, .pexpire, .expireat, .pexpireat: -3
        case .del, .exists, .mget, .config, .memory, .getex, .unlink, .scan: -2
        }
    }

    /// Whether `count` arguments (with the name) fit the arity.
    func accepts(argumentCount count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// Looks a command up by name, ignoring ASCII case.
    init?(_ name: Bytes) {
        if name.count > 8 {
            guard name.count <= 16, let found = Self.longTable[Self.pack(name.prefix(8))] else { return nil }
            guard
                let command = found.first(where: {
                    Self.pack($0.name.utf8.dropFirst(8)) == Self.pack(name.dropFirst(8))
                        && $0.name.utf8.count == name.count
                })
            else {
                return nil
            }
            self = command
            return
        }
        guard let found = Self.table[Self.pack(name)], found.length == name.count else {
            return nil
        }
        self = found.command
    }

    /// The names longer than 8 bytes (`expiretime`), by their first 8.
    private static let longTable: [UInt64: [CommandName]] = Dictionary(
        grouping: allCases.filter { $0.name.utf8.count > 8 },
        by: { pack($0.name.utf8.prefix(8)) }
    )

    /// Every name, packed into a `UInt64` (all names fit in 8 bytes), so the lookup hashes one
    /// word; with the name's length, since packing drops trailing zero bytes.
    private static let table: [UInt64: (command: CommandName, length: Int)] = Dictionary(
        uniqueKeysWithValues: allCases.filter { $0.name.utf8.count <= 8 }.map {
            (pack($0.name.utf8), ($0, $0.name.utf8.count))
        }
    )

    /// Up to 8 bytes, ASCII letters upper-cased, little-endian in a word.
    private static func pack(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var word: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes {
            let upper = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
            word |= UInt64(upper) << shift
            shift += 8
        }
        return word
    }
}

extension Bytes {
    /// Whether the bytes spell `word` (given in upper case), ignoring ASCII case.
    func equalsIgnoringCase(_ word: StaticString) -> Bool {
        guard count == word.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for (byte, upper) in zip(self, expected) {
            let folded = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
            if folded != upper { return false }
        }
        return true
    }
}
