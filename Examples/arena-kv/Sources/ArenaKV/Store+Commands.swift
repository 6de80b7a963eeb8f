import Arena
import ArenaBytes

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Operations of the Redis commands that Store.swift does not have, built from its public
// operations (a value is stored again to change its time to live: Store keeps its deadlines to
// itself).

/// Which keys `EXPIRE … NX|XX|GT|LT` may change.
enum ExpireCondition: Equatable {
    /// Any key.
    case always
    /// `NX`: only a key without a time to live.
    case ifPersistent
    /// `XX`: only a key with a time to live.
    case ifExpiring
    /// `GT`: only when the new deadline is later (a key without one never qualifies).
    case ifLater
    /// `LT`: only when the new deadline is earlier (a key without one always qualifies).
    case ifEarlier
}

extension Store {
    /// Gives `key` a time to live of `milliseconds` from now, as `PEXPIRE` does; a time of 0
    /// or less removes the key.
    ///
    /// - Returns: whether the key exists and `condition` let the time to live change.
    mutating func expire(
        _ key: Bytes,
        inMilliseconds milliseconds: Int64,
        condition: ExpireCondition
    ) throws(ArenaError) -> Bool {
        let current: Int64?
        switch timeToLive(of: key) {
        case .missing: return false
        case .persistent: current = nil
        case .milliseconds(let left): current = left
        }
        switch condition {
        case .always: break
        case .ifPersistent: guard current == nil else { return false }
        case .ifExpiring: guard current != nil else { return false }
        case .ifLater: guard let current, milliseconds > current else { return false }
        case .ifEarlier: if let current, milliseconds >= current { return false }
        }
        if milliseconds <= 0 { return remove(key) }
        guard let value = value(for: key) else { return false }
        _ = try set(key, to: value, condition: .ifPresent, expiry: .after(milliseconds: milliseconds))
        return true
    }

    /// Removes `key`'s time to live, as `PERSIST` does.
    ///
    /// - Returns: whether the key had one.
    mutating func persist(_ key: Bytes) throws(ArenaError) -> Bool {
        guard case .milliseconds = timeToLive(of: key), let value = value(for: key) else { return false }
        _ = try set(key, to: value, condition: .ifPresent, expiry: .none)
        return true
    }
}

/// Milliseconds since the Unix epoch (`CLOCK_REALTIME`): what `EXAT`, `PXAT`, `EXPIREAT` and
/// `EXPIRETIME` count in.
func unixMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}

extension Int64 {
    /// Parses a decimal integer as Redis's `string2ll` does (see `Int(decimal:)`).
    init?(decimal bytes: Bytes) {
        guard let value = Int(decimal: bytes) else { return nil }
        self = Int64(value)
    }
}
