import ArenaBytes
import HeapModule

/// The keys and values of the cache, held in one arena of their own.
///
/// Every key and value is *copied* into the store's arena when it is written, the two together
/// in one exact-size region (`[key length][key][value]`): a request's arguments are zero-copy slices of a
/// connection's receive buffer, and keeping one of them would pin that whole buffer (tens of
/// KiB) for a value of a few bytes. The arena's limit is the `maxmemory` of the cache: a write
/// that would pass it fails with `ArenaError.limitExceeded` and changes nothing.
///
/// Chunks are carved by a bump pointer, so a chunk lives while any key or value in it lives:
/// overwritten and deleted values leave holes, and the arena counts such chunks as *pinned*
/// (`ArenaStatistics.pinnedBytes`). Compaction gives them back through the library: an entry
/// whose `retainedBytes` is at least twice its size (one carved from a chunk) is replaced by
/// its `compacted()` copy, a block of exactly its size that jemalloc packs with others of its
/// size class and whose slot is reused when it dies. Chunks thus hold only recent writes, and
/// entries that outlive them move once. ``startCompactionIfWorthIt(minimumGain:)`` decides from
/// the arena's pinned bytes; ``compactionStep(slots:)`` does a bounded slice of a pass, so a
/// server can spread it between requests; ``compact()`` does a whole pass at once.
///
/// Not thread-safe: ``KeyValueServer`` guards it with a lock.
public struct Store: Sendable {
    /// The arena that holds every key and value.
    public let arena: ArenaAllocator
    /// The current time in milliseconds, on any clock that does not go back.
    private let clock: @Sendable () -> Int64

    private var table = KeyTable()
    /// When each key with a time to live expires (milliseconds on `clock`).
    private var deadlines: [Bytes: Int64] = [:]
    /// The same deadlines in order, for active expiry; entries whose key has since been
    /// deleted or given another deadline are skipped when they come up.
    private var deadlineQueue = Heap<Deadline>()

    /// The bytes of all live keys and values (not counting each entry's 4-byte header).
    public private(set) var liveBytes = 0
    /// The most ``liveBytes`` has been.
    public private(set) var peakLiveBytes = 0
    /// What compaction has done so far.
    public private(set) var compactionTotals = CompactionReport()
    /// The bytes of the entries worth compacting (see `Entry.isWorthCompacting`): what a
    /// pass would copy at most. One sum, kept on every write and removal.
    public private(set) var compactableBytes = 0
    /// The storage of the latest entry stored: the chunk being carved, which a pass leaves.
    private var latestStorage: Region.StorageIdentity?
    /// The compaction pass under way, if any.
    private var pass: CompactionPass?

    /// A store whose keys and values live in `arena`.
    public init(arena: ArenaAllocator, clock: @escaping @Sendable () -> Int64) {
        self.arena = arena
        self.clock = clock
    }

    /// The number of keys, counting expired ones not yet removed.
    public var count: Int { table.count }
    /// The number of keys with a time to live.
    public var expiringCount: Int { deadlines.count }

    // MARK: Reading

    /// The value of `key`, or nil if it is absent or has expired (and is now removed).
    public mutating func value(for key: Bytes) -> Bytes? {
        if !deadlines.isEmpty && removeIfExpired(key) { return nil }
        return table.find(key).map { table[$0].unsafelyUnwrapped.value }
    }

    /// Whether `key` is present and has not expired.
    public mutating func contains(_ key: Bytes) -> Bool {
        if !deadlines.isEmpty && removeIfExpired(key) { return false }
        return table.find(key) != nil
    }

    /// The time `key` has left in milliseconds; see ``TimeToLive``.
    public mutating func timeToLive(of key: Bytes) -> TimeToLive {
        guard contains(key) else { return .missing }
        guard let deadline = deadlines[key] else { return .persistent }
        return .milliseconds(max(0, deadline - clock()))
    }

    // MARK: Writing

    /// Stores `value` under `key`, as `SET` does.
    ///
    /// - Returns: whether the value was stored (`NX`/`XX` may refuse) and the previous value.
    /// - Throws: the arena's error when it is full; the store is unchanged.
    public mutating func set(
        _ key: Bytes,
        to value: Bytes,
        condition: SetCondition = .always,
        expiry: SetExpiry = .none
    ) throws(ArenaError) -> (stored: Bool, previous: Bytes?) {
        if !deadlines.isEmpty { _ = removeIfExpired(key) }
        let slot = table.find(key)
        let previous = slot.map { table[$0].unsafelyUnwrapped.value }
        switch condition {
        case .always: break
        case .ifAbsent where previous != nil: return (false, previous)
        case .ifPresent where previous == nil: return (false, previous)
        case .ifAbsent, .ifPresent: break
        }
        let entry = try value.withUnsafeBytes { bytes throws(ArenaError) in try Entry(key: key, value: bytes, in: arena)
        }
        put(entry, at: slot, expiry: expiry)
        return (true, previous)
    }

    /// Stores `entry` in `slot` (where its key is) or, for a new key, in a new slot.
    private mutating func put(_ entry: Entry, at slot: Int?, expiry: SetExpiry) {
        if let slot {
            let old = table[slot].unsafelyUnwrapped
            table[slot] = entry
            release(old)
            // The deadline is filed under the old entry's key; file it under the new one's.
            if !deadlines.isEmpty, let deadline = deadlines.removeValue(forKey: old.key), expiry == .keep {
                fileDeadline(deadline, for: entry)
            }
        } else {
            table.insert(entry)
        }
        adopt(entry)
        latestStorage = entry.bytes.region.storageIdentity
        if case .after(let milliseconds) = expiry {
            if !deadlines.isEmpty { deadlines.removeValue(forKey: entry.key) }
            fileDeadline(clock() &+ milliseconds, for: entry)
        }
    }

    /// Stores every pair, as `MSET` does: all of them or, when the arena is full, none.
    ///
    /// `pairs` holds keys at even and values at odd positions.
    public mutating func setAll(_ pairs: ArraySlice<Bytes>) throws(ArenaError) {
        // Copy everything first, so a full arena leaves the store as it was.
        var entries: [Entry] = []
        entries.reserveCapacity(pairs.count / 2)
        var index = pairs.startIndex
        while index + 1 < pairs.endIndex {
            let key = pairs[index]
            entries.append(
                try pairs[index + 1].withUnsafeBytes { value throws(ArenaError) in
                    try Entry(key: key, value: value, in: arena)
                }
            )
            index += 2
        }
        for entry in entries {
            if !deadlines.isEmpty { _ = removeIfExpired(entry.key) }
            put(entry, at: table.find(entry.key), expiry: .none)
        }
    }

    /// Adds `amount` (1 by default) to the decimal integer under `key` (0 when absent), keeping
    /// its time to live, as `INCR`, `INCRBY`, `DECR` and `DECRBY` do.
    ///
    /// The new value is formatted on the stack and copied into the store's arena once: the
    /// only allocation. When the arena refuses it, the old value stays as it was.
    ///
    /// - Throws: ``IncrementError/notAnInteger`` or ``IncrementError/overflow`` (nothing
    ///   changes), or ``IncrementError/arena(_:)`` with the arena's error (nothing changes).
    public mutating func increment(_ key: Bytes, by amount: Int = 1) throws(IncrementError) -> Int {
        let current: Int
        if let value = value(for: key) {
            guard let parsed = Int(decimal: value) else { throw .notAnInteger }
            current = parsed
        } else {
            current = 0
        }
        let (next, overflow) = current.addingReportingOverflow(amount)
        if overflow { throw .overflow }
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        do {
            let entry = try withUnsafeMutableBytes(of: &scratch) { buffer throws(ArenaError) in
                let text = UnsafeRawBufferPointer(rebasing: buffer[..<formatDecimal(next, into: buffer)])
                return try Entry(key: key, value: text, in: arena)
            }
            put(entry, at: table.find(key), expiry: .keep)
        } catch {
            throw .arena(error)
        }
        return next
    }

    /// Appends `suffix` to `key`'s value (an absent key is empty), keeping its time to live, as
    /// `APPEND` does.
    ///
    /// The joined value is copied into the store's arena in one allocation, straight from the
    /// old value and `suffix`: when the arena refuses it, the old value stays as it was.
    ///
    /// - Returns: the new length.
    /// - Throws: the arena's error; the store is unchanged.
    public mutating func append(_ suffix: Bytes, to key: Bytes) throws(ArenaError) -> Int {
        if !deadlines.isEmpty { _ = removeIfExpired(key) }
        let slot = table.find(key)
        let value = slot.map { table[$0].unsafelyUnwrapped.value } ?? Bytes()
        let entry = try value.withUnsafeBytes { old throws(ArenaError) in
            try suffix.withUnsafeBytes { added throws(ArenaError) in
                try Entry(key: key, value: old, appending: added, in: arena)
            }
        }
        put(entry, at: slot, expiry: .keep)
        return value.count + suffix.count
    }

    /// Removes `key`; whether it was there (and had not expired).
    public mutating func remove(_ key: Bytes) -> Bool {
        guard contains(key) else { return false }
        removeEntry(key)
        return true
    }

    /// Removes every key.
    public mutating func removeAll() {
        table.removeAll()
        deadlines = [:]
        deadlineQueue = Heap()
        compactableBytes = 0
        liveBytes = 0
        pass = nil
    }

    // MARK: Expiry

    /// Removes keys whose time is up, at most `limit` of them; returns how many.
    ///
    /// Active expiry, for keys nobody reads again: run it now and then (the server does, ten
    /// times a second). Reading a key removes it too when its time is up.
    public mutating func removeExpired(limit: Int = 10_000) -> Int {
        let now = clock()
        var removed = 0
        while removed < limit, let first = deadlineQueue.min, first.time <= now {
            _ = deadlineQueue.removeMin()
            if deadlines[first.key] == first.time {
                removeEntry(first.key)
                removed += 1
            }
        }
        // Entries for keys that were deleted or re-timed pile up; rebuild when they outnumber
        // the live deadlines.
        if deadlineQueue.count > 2 * deadlines.count + 1024 { rebuildDeadlineQueue() }
        return removed
    }

    /// Files `time` as the deadline of `entry`'s key, under the key's bytes in the entry.
    private mutating func fileDeadline(_ time: Int64, for entry: Entry) {
        let key = entry.key
        deadlines[key] = time
        deadlineQueue.insert(Deadline(time: time, key: key))
    }

    /// Removes `key` if its deadline has passed; whether it did.
    private mutating func removeIfExpired(_ key: Bytes) -> Bool {
        guard let deadline = deadlines[key], deadline <= clock() else { return false }
        removeEntry(key)
        return true
    }

    private mutating func removeEntry(_ key: Bytes) {
        guard let slot = table.find(key) else { return }
        release(table.remove(at: slot))
        if !deadlines.isEmpty { deadlines.removeValue(forKey: key) }
    }

    private mutating func rebuildDeadlineQueue() {
        deadlineQueue = Heap(deadlines.map { Deadline(time: $0.value, key: $0.key) })
    }

    // MARK: Listing keys

    /// The keys that `isIncluded` accepts (given each key's bytes in place), leaving out keys
    /// whose time is up, as `KEYS` does: one walk of the whole table, in table order.
    ///
    /// - Complexity: O(*n*) for a table of *n* slots, plus `isIncluded` once per key.
    public func keys(where isIncluded: (UnsafeRawBufferPointer) -> Bool) -> [Bytes] {
        let now = deadlines.isEmpty ? 0 : clock()
        var keys: [Bytes] = []
        table.forEach { entry in
            guard entry.withUnsafeKeyBytes(isIncluded), !hasExpired(entry, at: now) else { return }
            keys.append(entry.key)
        }
        return keys
    }

    /// One call of `SCAN`: walks the table's home slots from `cursor` (0 to start) until it
    /// has collected at least `count` keys or looked at `10 * count` home slots, as Redis
    /// 7.0 does, then keeps the keys that `isIncluded` accepts and whose time is not up (it
    /// removes those whose time is up). Returns the cursor to pass next, 0 when the walk is
    /// done, and the keys.
    ///
    /// A walk from 0 back to 0 returns every key present throughout it, and a key more than
    /// once only if every key was removed meanwhile (``removeAll()``); keys added or removed
    /// during the walk may or may not come up. The cursor counts through the home slots of the key
    /// table (where each key's probe run starts) with its bits reversed, as Redis's `dictScan` does.
    ///
    /// - Complexity: O(`count`) home slots on average, each the run of entries from it on.
    public mutating func scan(
        from cursor: UInt64,
        count: Int,
        where isIncluded: (UnsafeRawBufferPointer) -> Bool
    ) -> (cursor: UInt64, keys: [Bytes]) {
        var collected: [Entry] = []
        var cursor = cursor
        var iterations = count.multipliedReportingOverflow(by: 10).overflow ? Int.max : count * 10
        while true {
            cursor = table.scan(home: cursor) { collected.append($0) }
            guard cursor != 0, iterations != 0 else { break }
            iterations -= 1
            guard collected.count < count else { break }
        }
        let now = deadlines.isEmpty ? 0 : clock()
        var keys: [Bytes] = []
        keys.reserveCapacity(collected.count)
        var expired: [Bytes] = []
        for entry in collected where entry.withUnsafeKeyBytes(isIncluded) {
            if hasExpired(entry, at: now) { expired.append(entry.key) } else { keys.append(entry.key) }
        }
        for key in expired { removeEntry(key) }
        return (cursor, keys)
    }

    /// Whether `entry`'s time to live ran out by `now`.
    private func hasExpired(_ entry: Entry, at now: Int64) -> Bool {
        guard !deadlines.isEmpty, let deadline = deadlines[entry.key] else { return false }
        return deadline <= now
    }

    // MARK: Accounting

    /// Counts an entry that the store now holds.
    private mutating func adopt(_ entry: Entry) {
        liveBytes += entry.bytes.count - 4
        peakLiveBytes = max(peakLiveBytes, liveBytes)
        if entry.isWorthCompacting { compactableBytes += entry.bytes.count }
    }

    /// Counts out an entry that the store no longer holds.
    private mutating func release(_ entry: Entry) {
        liveBytes -= entry.bytes.count - 4
        if entry.isWorthCompacting { compactableBytes -= entry.bytes.count }
    }

    /// The bytes of all entries: the live bytes and each entry's 4-byte header.
    public var storedBytes: Int { liveBytes + 4 * count }
}

// MARK: Compaction

extension Store {
    /// A compaction pass under way. It first walks the table, a slice at a time, gathering the
    /// entries worth compacting by the storage (chunk) they keep alive; then it compacts them a
    /// chunk at a time, the chunks with the fewest live bytes first, so each chunk goes back as
    /// soon as its last entry has moved, and the arena never holds many copies next to chunks
    /// not yet freed.
    private struct CompactionPass: Sendable {
        /// The next slot to look at while gathering; nil once gathering is done.
        var next: Int? = 0
        var generation: Int
        /// While gathering: the entries found, by the storage they keep alive.
        var gathered: [Region.StorageIdentity: [Entry]] = [:]
        /// While moving: the groups left, the one with the fewest bytes last.
        var groups: [[Entry]] = []
        var reservedBefore: Int
        var report = CompactionReport(passes: 1)
    }

    /// Whether a compaction pass is under way.
    public var isCompacting: Bool { pass != nil }

    /// What a pass would give back, at least: the arena's pinned bytes (chunks it no longer
    /// carves from, kept alive by entries) less the bytes of the entries it would copy out of
    /// them. Negative when the pinned chunks are mostly live.
    ///
    /// - Complexity: one `ArenaAllocator.statistics()` (O(live chunks), and a jemalloc epoch).
    public func reclaimableBytes() -> Int {
        arena.statistics().pinnedBytes - compactableBytes
    }

    /// Starts a compaction pass if it would give back at least `minimumGain` of the stored
    /// bytes (and 1 MiB), by ``reclaimableBytes()``. Whether a pass is under way after the call.
    ///
    /// Dense chunks (a bulk load) give nothing back and start nothing; chunks that overwrites
    /// and deletions have thinned out do. Every entry moves out of a chunk at most once, so the
    /// copying over a server's life is bounded by what it writes, however often passes run.
    public mutating func startCompactionIfWorthIt(minimumGain: Double = 0.25) -> Bool {
        if pass != nil { return true }
        guard compactableBytes > 0 else { return false }
        let threshold = max(Int(minimumGain * Double(storedBytes)), 1 << 20)
        guard reclaimableBytes() >= threshold else { return false }
        return startCompaction()
    }

    /// Starts a pass over every entry worth compacting (one that keeps at least twice its size
    /// alive, by `retainedBytes`), except those in the chunk being carved, unless one is under
    /// way; ``compactionStep(slots:)`` runs it. Whether a pass is under way after the call
    /// (none when no entry is worth compacting).
    @discardableResult
    public mutating func startCompaction() -> Bool {
        if pass != nil { return true }
        guard compactableBytes > 0 else { return false }
        pass = CompactionPass(generation: table.generation, reservedBefore: arena.bytesReserved)
        return true
    }

    /// Runs a slice of the pass under way: looks at up to `slots` slots of the table, or moves
    /// up to `slots` entries (whole chunks' worth) into their `compacted()` copies; returns the
    /// pass's report when this step finished it.
    ///
    /// Between steps the store serves requests as usual. An entry overwritten or removed in the
    /// meantime is left alone (it is no longer in the table); a key added meanwhile may be
    /// missed (it sits in the chunk being carved anyway); when the table grows while the pass
    /// gathers, gathering starts over. When the arena is full the pass ends early; when the
    /// allocator refuses one copy (out of memory), that entry stays where it is and the pass
    /// goes on. Nothing is lost either way, since an entry is replaced only by a finished copy.
    public mutating func compactionStep(slots budget: Int = 4096) -> CompactionReport? {
        guard var current = pass else { return nil }
        pass = nil
        if let next = current.next {
            gather(&current, from: next, budget: budget)
        } else {
            move(&current, budget: budget)
        }
        guard current.next == nil && current.groups.isEmpty else {
            pass = current
            return nil
        }
        // The deadline queue may still hold old key copies; rebuilding it lets their chunks go.
        if !deadlines.isEmpty { rebuildDeadlineQueue() }
        current.report.freedBytes = max(0, current.reservedBefore - arena.bytesReserved)
        compactionTotals.add(current.report)
        return current.report
    }

    /// Gathers the entries worth compacting in up to `budget` slots from `start`; when the
    /// walk is done, orders the groups for moving.
    private func gather(_ pass: inout CompactionPass, from start: Int, budget: Int) {
        var start = start
        if pass.generation != table.generation {
            pass.generation = table.generation
            pass.gathered = [:]
            start = 0
        }
        let end = min(start + budget, table.capacity)
        for index in start..<end {
            guard let entry = table[index], entry.isWorthCompacting else { continue }
            let storage = entry.bytes.region.storageIdentity
            if storage != latestStorage { pass.gathered[storage, default: []].append(entry) }
        }
        guard end >= table.capacity else {
            pass.next = end
            return
        }
        pass.next = nil
        pass.groups = pass.gathered.values.sorted { bytes(of: $0) > bytes(of: $1) }
        pass.gathered = [:]
    }

    /// Moves the entries of the groups (the last group first) until `budget` entries have
    /// been looked at or the arena is full.
    private mutating func move(_ pass: inout CompactionPass, budget: Int) {
        var looked = 0
        while looked < budget, var group = pass.groups.popLast() {
            let batch = group.suffix(budget - looked)
            group.removeLast(batch.count)
            if !group.isEmpty { pass.groups.append(group) }
            looked += batch.count
            for entry in batch {
                // Still the table's entry for its key (not overwritten or removed meanwhile)?
                guard let slot = table.find(entry.key), let stored = table[slot],
                    stored.bytes.region.baseAddress == entry.bytes.region.baseAddress
                else { continue }
                let moved: Entry
                do {
                    moved = Entry(bytes: try stored.bytes.compacted())
                } catch .limitExceeded {
                    // Full: every other copy would be refused too.
                    pass.report.stoppedByLimit = true
                    pass.groups = []
                    return
                } catch {
                    // The allocator refused this copy (out of memory): the entry stays where
                    // it is, as it was, and a later pass tries again.
                    pass.report.copiesRefused += 1
                    continue
                }
                table[slot] = moved
                release(stored)
                adopt(moved)
                pass.report.movedBytes += moved.bytes.count
                // The deadline is filed under the old copy's key bytes; file it under the new one's.
                if !deadlines.isEmpty, let deadline = deadlines.removeValue(forKey: stored.key) {
                    fileDeadline(deadline, for: moved)
                }
            }
        }
    }

    /// The bytes of a group's entries.
    private func bytes(of group: [Entry]) -> Int {
        group.reduce(0) { $0 + $1.bytes.count }
    }

    /// Runs a whole compaction pass at once; returns what it did (nothing when no entry is
    /// worth compacting).
    ///
    /// - Complexity: O(*n*) for a table of *n* slots.
    @discardableResult
    public mutating func compact() -> CompactionReport {
        if pass == nil { startCompaction() }
        while pass != nil {
            if let report = compactionStep(slots: .max / 2) { return report }
        }
        return CompactionReport()
    }
}

/// What compaction did.
public struct CompactionReport: Equatable, Sendable {
    /// Passes run.
    public var passes = 0
    /// Bytes of keys and values copied.
    public var movedBytes = 0
    /// Bytes the arena held less after the pass than before it.
    public var freedBytes = 0
    /// Whether a pass stopped early because the arena was full.
    public var stoppedByLimit = false
    /// Entries left where they were because the allocator refused their copy (out of memory,
    /// not the limit); a later pass tries them again.
    public var copiesRefused = 0

    /// Adds `other` to these totals.
    mutating func add(_ other: CompactionReport) {
        passes += other.passes
        movedBytes += other.movedBytes
        freedBytes += other.freedBytes
        stoppedByLimit = stoppedByLimit || other.stoppedByLimit
        copiesRefused += other.copiesRefused
    }
}

/// When `SET` may store: always, only if the key is absent (`NX`) or only if present (`XX`).
public enum SetCondition: Sendable {
    /// Store in any case.
    case always
    /// `NX`: only when the key does not exist.
    case ifAbsent
    /// `XX`: only when the key exists.
    case ifPresent
}

/// The time to live `SET` gives: none, the key's current one (`KEEPTTL`), or milliseconds.
public enum SetExpiry: Sendable, Equatable {
    /// No time to live (any previous one is removed).
    case none
    /// `KEEPTTL`: whatever the key had.
    case keep
    /// `EX`/`PX`: expires after this many milliseconds.
    case after(milliseconds: Int64)
}

/// The answer to `TTL`/`PTTL`.
public enum TimeToLive: Equatable, Sendable {
    /// No such key.
    case missing
    /// The key never expires.
    case persistent
    /// The key expires in this many milliseconds.
    case milliseconds(Int64)
}

/// Why `INCR` failed.
public enum IncrementError: Error, Equatable {
    /// The value is not a decimal 64-bit integer.
    case notAnInteger
    /// The result would not fit in 64 bits.
    case overflow
    /// The store's arena is full.
    case arena(ArenaError)
}

/// An entry of the deadline queue: a key's expiry time.
private struct Deadline: Comparable {
    var time: Int64
    var key: Bytes

    static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.time < rhs.time }
    static func == (lhs: Deadline, rhs: Deadline) -> Bool { lhs.time == rhs.time && lhs.key == rhs.key }
}

extension Int {
    /// Parses a decimal integer as Redis's `string2ll` does: an optional `-`, digits, nothing
    /// else, no leading zeros (but `0` itself), no overflow.
    init?(decimal bytes: Bytes) {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var index = bytes.startIndex
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.endIndex else { return nil }
        if bytes[index] == UInt8(ascii: "0") && (bytes.count - index > 1 || negative) { return nil }
        var magnitude: UInt64 = 0
        while index < bytes.endIndex {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            guard !o1 && !o2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int.max) + 1 else { return nil }
            self = magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude)
        } else {
            guard magnitude <= UInt64(Int.max) else { return nil }
            self = Int(magnitude)
        }
    }
}
