import ArenaBytes

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A key and its value, stored together in one region of the store's arena:
///
/// ```
/// +----------------+-----------+-------------+
/// | key length (4) | key bytes | value bytes |
/// +----------------+-----------+-------------+
/// ```
///
/// One allocation and one copy per write, one view (24 bytes) per slot of the key table, and
/// one region for compaction to move (`Bytes.compacted()`). Reading hands out slices of it.
struct Entry: Sendable {
    /// The whole region.
    let bytes: Bytes

    /// An entry of `key` and `value` followed by `suffix` (`APPEND`'s joined value), copied into
    /// an exact-size region of `arena`.
    ///
    /// The one allocation of a write: when `arena` refuses it (its limit, or the allocator out
    /// of memory), this throws before anything is copied, and the caller has changed nothing.
    ///
    /// - Throws: the arena's `ArenaError`.
    init(
        key: Bytes,
        value: UnsafeRawBufferPointer,
        appending suffix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        in arena: ArenaAllocator
    ) throws(ArenaError) {
        let region = try arena.allocate(byteCount: 4 + key.count + value.count + suffix.count, alignment: 1)
        let base = UnsafeMutableRawPointer(mutating: region.baseAddress)
        base.storeBytes(of: UInt32(key.count).littleEndian, as: UInt32.self)
        key.withUnsafeBytes {
            if let source = $0.baseAddress { (base + 4).copyMemory(from: source, byteCount: $0.count) }
        }
        let valueStart = base + 4 + key.count
        if let source = value.baseAddress { valueStart.copyMemory(from: source, byteCount: value.count) }
        if let source = suffix.baseAddress {
            (valueStart + value.count).copyMemory(from: source, byteCount: suffix.count)
        }
        bytes = Bytes(region)
    }

    /// The entry whose region is `bytes` (a compacted copy of another entry's).
    init(bytes: Bytes) {
        self.bytes = bytes
    }

    /// Whether the entry keeps at least twice its own size alive (``Bytes/retainedBytes``):
    /// a region carved from a chunk keeps the whole chunk, and is worth compacting once it
    /// outlives its neighbours; a compacted copy, or a dedicated block for a large entry, keeps
    /// only itself.
    var isWorthCompacting: Bool { bytes.retainedBytes >= 2 * bytes.count }

    /// The key's length.
    var keyCount: Int {
        Int(UInt32(littleEndian: bytes.region.baseAddress.loadUnaligned(as: UInt32.self)))
    }

    /// The key, a slice of the entry.
    var key: Bytes { bytes.slice(4..<(4 + keyCount)) }

    /// The value, a slice of the entry.
    var value: Bytes { bytes.slice((4 + keyCount)...) }

    /// The value's length.
    var valueCount: Int { bytes.count - 4 - keyCount }

    /// Whether the entry's key is `key`, compared in place.
    func hasKey(_ key: Bytes) -> Bool {
        guard keyCount == key.count else { return false }
        return key.withUnsafeBytes { other in
            guard let otherBase = other.baseAddress else { return true }
            return memcmp(bytes.region.baseAddress + 4, otherBase, other.count) == 0
        }
    }

    /// The key's hash: the same as the hash of a `Bytes` holding the key.
    var keyHash: Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(start: bytes.region.baseAddress + 4, count: keyCount))
        return hasher.finalize()
    }

    /// Calls `body` with the key's bytes, in place.
    func withUnsafeKeyBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        body(UnsafeRawBufferPointer(start: bytes.region.baseAddress + 4, count: keyCount))
    }
}

/// The store's index: an open-addressing hash table of entries (linear probing, backward-shift
/// deletion, at most 70% full), 24 bytes a slot.
///
/// Unlike `Dictionary`, its slots are addressable and stay where they are until the table
/// grows, so the store's compaction can walk it a slice at a time between requests and put an
/// entry's copy in the same slot.
///
/// `SCAN` walks it too, a few *home slots* per call (see ``scan(home:_:)``): an entry lies in
/// the run of occupied slots that starts at its home slot (its hash masked to the capacity),
/// and stays in that run whatever is inserted or removed, so a walk by home slot finds every
/// entry that is present throughout it exactly once, although deletions shift entries back.
///
/// Keys hash with the standard library's `Hasher` (SipHash, seeded per process), so a client
/// cannot choose keys that collide.
struct KeyTable: Sendable {
    private(set) var slots: [Entry?]
    /// The number of keys.
    private(set) var count = 0
    /// Bumped whenever slots move (growth), so that a walk in progress can start over.
    private(set) var generation = 0

    init() {
        slots = Array(repeating: nil, count: 16)
    }

    /// The number of slots.
    var capacity: Int { slots.count }

    private var mask: Int { slots.count &- 1 }

    /// The slot holding `key`, or nil.
    func find(_ key: Bytes) -> Int? {
        var index = key.hashValue & mask
        while let entry = slots[index] {
            if entry.hasKey(key) { return index }
            index = (index &+ 1) & mask
        }
        return nil
    }

    /// The entry in slot `index` (nil when empty); set only to an entry with the same key.
    subscript(index: Int) -> Entry? {
        get { slots[index] }
        set {
            precondition(newValue.map { $0.hasKey(slots[index]!.key) } ?? false, "KeyTable: another key")
            slots[index] = newValue
        }
    }

    /// Adds `entry`, whose key must not be in the table.
    mutating func insert(_ entry: Entry) {
        if (count &+ 1) * 10 > slots.count * 7 { grow() }
        var index = entry.keyHash & mask
        while slots[index] != nil { index = (index &+ 1) & mask }
        slots[index] = entry
        count &+= 1
    }

    /// Removes the entry in slot `index` and returns it.
    ///
    /// Backward-shift deletion: the entries after it in its probe run move up to fill the gap,
    /// so no tombstones are left behind.
    @discardableResult
    mutating func remove(at index: Int) -> Entry {
        let removed = slots[index]!
        var hole = index
        var next = index
        while true {
            next = (next &+ 1) & mask
            guard let entry = slots[next] else { break }
            let home = entry.keyHash & mask
            // Move the entry at `next` into the hole unless its home lies cyclically in (hole, next].
            let homeAfterHole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !homeAfterHole {
                slots[hole] = entry
                hole = next
            }
        }
        slots[hole] = nil
        count &-= 1
        return removed
    }

    /// Removes every entry and gives the memory back.
    mutating func removeAll() {
        self = KeyTable()
    }

    // MARK: Walking the entries

    /// Calls `body` with every entry, in slot order.
    ///
    /// - Complexity: O(*n*) for *n* slots.
    func forEach(_ body: (Entry) -> Void) {
        for case let entry? in slots { body(entry) }
    }

    /// One step of a `SCAN`-style walk: calls `body` with each entry whose home slot is
    /// `cursor`'s (its low bits, masked to the capacity), then returns the next cursor, 0 once
    /// every home slot has had its turn.
    ///
    /// The cursor counts through the home slots with its bits reversed, as Redis's `dictScan`
    /// does. When the table doubles between two steps, home slot `h` becomes `h` and
    /// `h + oldCapacity`, which lie next to each other in that order: both behind the cursor if
    /// `h` was, both ahead if not. So a walk from cursor 0 back to 0 reports every entry present
    /// throughout it once, growth or not. Only a shrink (``removeAll()``, after which the walk
    /// sees the new keys) can report a key twice: a small table's home slot stands for several
    /// of a large one's. Redis promises no more than "may be returned twice".
    ///
    /// - Complexity: O(1) on average at most 70% full: the run of occupied slots from the home
    ///   slot on, one hash per entry in it.
    func scan(home cursor: UInt64, _ body: (Entry) -> Void) -> UInt64 {
        let home = Int(truncatingIfNeeded: cursor) & mask
        var index = home
        while let entry = slots[index] {
            if entry.keyHash & mask == home { body(entry) }
            index = (index &+ 1) & mask
        }
        // Set the bits above the mask, so that incrementing the reversed cursor carries
        // through the masked bits only.
        var next = cursor | ~UInt64(mask)
        next = next.bitReversed &+ 1
        return next.bitReversed
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: nil, count: old.count * 2)
        generation &+= 1
        for case let entry? in old {
            var index = entry.keyHash & mask
            while slots[index] != nil { index = (index &+ 1) & mask }
            slots[index] = entry
        }
    }
}

extension UInt64 {
    /// The bits in reverse order: bit 0 becomes bit 63.
    var bitReversed: UInt64 {
        var value = self
        value = (value >> 1) & 0x5555_5555_5555_5555 | (value & 0x5555_5555_5555_5555) << 1
        value = (value >> 2) & 0x3333_3333_3333_3333 | (value & 0x3333_3333_3333_3333) << 2
        value = (value >> 4) & 0x0F0F_0F0F_0F0F_0F0F | (value & 0x0F0F_0F0F_0F0F_0F0F) << 4
        return value.byteSwapped
    }
}
