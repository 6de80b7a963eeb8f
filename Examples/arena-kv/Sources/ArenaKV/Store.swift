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
/// overwritten and deleted values leave holes. The store keeps each chunk's live bytes up to
/// date, and compaction copies the survivors of sparse chunks into fresh ones so the old chunks
/// can go: ``compactionStep(slots:)`` does a bounded slice of a pass, so a server
/// can spread it between requests; ``compact(sparserThan:)`` does a whole pass at once.
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
    /// The live bytes in each chunk, kept up to date on every write and removal, so that
    /// compaction knows which chunks are sparse without walking the keys.
    private var chunkTally = ChunkTally()
    /// The chunk of the latest key or value stored: the one being carved.
    private var latestChunk: Region.StorageIdentity?
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

    /// Adds one to the decimal integer under `key` (0 when absent), keeping its time to live,
    /// as `INCR` does.
    public mutating func increment(_ key: Bytes) throws(IncrementError) -> Int {
        let current: Int
        if let value = value(for: key) {
            guard let parsed = Int(decimal: value) else { throw .notAnInteger }
            current = parsed
        } else {
            current = 0
        }
        let (next, overflow) = current.addingReportingOverflow(1)
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
        chunkTally = ChunkTally()
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
        if sharesChunk(entry) {
            let chunk = entry.bytes.region.storageIdentity
            chunkTally.add(entry.bytes.count, to: chunk)
            latestChunk = chunk
        }
    }

    /// Counts out an entry that the store no longer holds.
    private mutating func release(_ entry: Entry) {
        liveBytes -= entry.bytes.count - 4
        if sharesChunk(entry) { chunkTally.add(-entry.bytes.count, to: entry.bytes.region.storageIdentity) }
    }

    /// Whether `entry` was carved from a chunk (only those keep memory of others alive).
    private func sharesChunk(_ entry: Entry) -> Bool {
        entry.bytes.region.storageKind == .chunk
    }
}

// MARK: Compaction

extension Store {
    /// A compaction pass under way: the chunks it empties and how far its walk has got.
    private struct CompactionPass: Sendable {
        var sparse: ChunkTally
        var next = 0
        var generation: Int
        var reservedBefore: Int
        var report = CompactionReport(passes: 1)
    }

    /// Whether a compaction pass is under way.
    public var isCompacting: Bool { pass != nil }

    /// Starts a compaction pass if it would give back at least a quarter of the live bytes
    /// (and 1 MiB): the sizes of the chunks under `threshold` full, less the bytes to copy out
    /// of them. Whether a pass is under way after the call.
    ///
    /// The per-chunk live bytes are kept on every write, so the check costs a look at one
    /// entry per chunk; a pass walks every key, so it starts only when it pays, and copying
    /// stays proportional to the memory freed.
    public mutating func startCompactionIfWorthIt(sparserThan threshold: Double = 0.5) -> Bool {
        if pass != nil { return true }
        let chunkSize = arena.configuration.chunkSize
        let limit = Int(threshold * Double(chunkSize))
        let gain = chunkTally.reduce(0) { gain, live in live < limit ? gain + chunkSize - live : gain }
        guard gain >= max(liveBytes / 4, 1 << 20) else { return false }
        return startCompaction(sparserThan: threshold)
    }

    /// Starts a pass over the chunks under `threshold` full (but not the one being carved),
    /// unless one is under way; ``compactionStep(slots:)`` runs it. Whether a pass is under way
    /// after the call (none when no chunk is that sparse).
    @discardableResult
    public mutating func startCompaction(sparserThan threshold: Double = 0.5) -> Bool {
        if pass != nil { return true }
        let limit = Int(threshold * Double(arena.configuration.chunkSize))
        var sparse = chunkTally.filter { $0 < limit }
        if let latestChunk { sparse.remove(latestChunk) }
        guard !sparse.isEmpty else { return false }
        pass = CompactionPass(sparse: sparse, generation: table.generation, reservedBefore: arena.bytesReserved)
        return true
    }

    /// Walks up to `slots` slots of the pass under way, copying the keys and values that sit
    /// in its sparse chunks; returns the pass's report when this step finished it.
    ///
    /// Between steps the store serves requests as usual. A key added in the meantime may be
    /// missed (it sits in a fresh chunk anyway); when the table grows, the walk starts over.
    /// When the arena is full the pass ends early; nothing is lost, since an entry is replaced
    /// only by a finished copy.
    public mutating func compactionStep(slots budget: Int = 4096) -> CompactionReport? {
        guard var current = pass else { return nil }
        pass = nil
        if current.generation != table.generation {
            current.generation = table.generation
            current.next = 0
        }
        let end = min(current.next + budget, table.capacity)
        var index = current.next
        while index < end {
            defer { index += 1 }
            guard let entry = table[index], sharesChunk(entry),
                current.sparse[entry.bytes.region.storageIdentity] > 0
            else { continue }
            guard let moved = try? Entry(copying: entry, in: arena) else {
                current.report.stoppedByLimit = true
                index = table.capacity
                break
            }
            table[index] = moved
            release(entry)
            adopt(moved)
            current.report.movedBytes += moved.bytes.count
            // The deadline is filed under the old copy's key bytes; file it under the new one's.
            if !deadlines.isEmpty, let deadline = deadlines.removeValue(forKey: entry.key) {
                fileDeadline(deadline, for: moved)
            }
        }
        current.next = index
        guard current.next >= table.capacity else {
            pass = current
            return nil
        }
        // The deadline queue may still hold old key copies; rebuilding it lets their chunks go.
        if !deadlines.isEmpty { rebuildDeadlineQueue() }
        chunkTally.dropEmpty()
        current.report.freedBytes = max(0, current.reservedBefore - arena.bytesReserved)
        compactionTotals.add(current.report)
        return current.report
    }

    /// Runs a whole compaction pass at once over the chunks under `threshold` full; returns
    /// what it did (nothing when no chunk is that sparse).
    ///
    /// - Complexity: O(*n*) for a table of *n* slots.
    @discardableResult
    public mutating func compact(sparserThan threshold: Double = 0.5) -> CompactionReport {
        if pass == nil { startCompaction(sparserThan: threshold) }
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

    /// Adds `other` to these totals.
    mutating func add(_ other: CompactionReport) {
        passes += other.passes
        movedBytes += other.movedBytes
        freedBytes += other.freedBytes
        stoppedByLimit = stoppedByLimit || other.stoppedByLimit
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

/// Live bytes per chunk, keyed by the storage identity and updated on every write and
/// removal. Chunks whose count drops to zero keep their entry until ``dropEmpty()`` (a freed
/// chunk's identity may come back as a new chunk; counting from zero again is right).
private struct ChunkTally {
    private var counts: [Region.StorageIdentity: Int] = [:]

    /// Adds `bytes` (negative to take away) to the count of `storage`.
    mutating func add(_ bytes: Int, to storage: Region.StorageIdentity) {
        counts[storage, default: 0] += bytes
    }

    /// Whether no chunk holds live bytes.
    var isEmpty: Bool { !counts.values.contains { $0 > 0 } }

    /// The live bytes of `storage`.
    subscript(storage: Region.StorageIdentity) -> Int {
        counts[storage] ?? 0
    }

    /// The chunks whose live bytes (more than 0) satisfy `isIncluded`.
    func filter(_ isIncluded: (Int) -> Bool) -> ChunkTally {
        var result = ChunkTally()
        result.counts = counts.filter { $0.value > 0 && isIncluded($0.value) }
        return result
    }

    /// Forgets `storage`.
    mutating func remove(_ storage: Region.StorageIdentity) {
        counts.removeValue(forKey: storage)
    }

    /// Folds the live counts of the chunks that hold live bytes.
    func reduce<Result>(_ initial: Result, _ next: (Result, Int) -> Result) -> Result {
        var result = initial
        for count in counts.values where count > 0 { result = next(result, count) }
        return result
    }

    /// Forgets the chunks with nothing live in them.
    mutating func dropEmpty() {
        counts = counts.filter { $0.value != 0 }
    }
}
