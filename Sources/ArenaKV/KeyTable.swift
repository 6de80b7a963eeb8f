import ArenaBytes

/// The store's index: an open-addressing hash table (linear probing, backward-shift deletion,
/// at most 70% full) from keys to values.
///
/// Unlike `Dictionary`, its slots are addressable and stay where they are until the table
/// grows, so the store's compaction can walk it a slice at a time between requests, and can
/// replace a key by an equal copy in place (same hash, same slot) with no rehashing.
///
/// Keys hash with the standard library's `Hasher` (SipHash, seeded per process), so a client
/// cannot choose keys that collide.
struct KeyTable: Sendable {
    /// One slot: a key (nil when empty) and its value.
    struct Slot: Sendable {
        var key: Bytes?
        var value: Bytes
    }

    private(set) var slots: [Slot]
    /// The number of keys.
    private(set) var count = 0
    /// Bumped whenever slots move (growth), so that a walk in progress can start over.
    private(set) var generation = 0

    init() {
        slots = Array(repeating: Slot(key: nil, value: Bytes()), count: 16)
    }

    /// The number of slots.
    var capacity: Int { slots.count }

    private var mask: Int { slots.count &- 1 }

    /// The slot holding `key`, or nil.
    func find(_ key: Bytes) -> Int? {
        var index = key.hashValue & mask
        while let candidate = slots[index].key {
            if candidate == key { return index }
            index = (index &+ 1) & mask
        }
        return nil
    }

    /// The value of `key`, or nil.
    subscript(key: Bytes) -> Bytes? {
        find(key).map { slots[$0].value }
    }

    /// The value in slot `index` (which holds a key).
    subscript(valueAt index: Int) -> Bytes {
        get { slots[index].value }
        set { slots[index].value = newValue }
    }

    /// The key in slot `index`, or nil when the slot is empty.
    func key(at index: Int) -> Bytes? {
        slots[index].key
    }

    /// Puts `newKey`, equal to the key in slot `index`, in its place (a copy elsewhere in memory).
    mutating func replaceKey(at index: Int, with newKey: Bytes) {
        precondition(slots[index].key == newKey, "KeyTable.replaceKey: the keys differ")
        slots[index].key = newKey
    }

    /// Adds `key`, which must not be in the table, with `value`.
    mutating func insert(_ key: Bytes, _ value: Bytes) {
        if (count &+ 1) * 10 > slots.count * 7 { grow() }
        var index = key.hashValue & mask
        while slots[index].key != nil { index = (index &+ 1) & mask }
        slots[index] = Slot(key: key, value: value)
        count &+= 1
    }

    /// Removes the key in slot `index` and returns it with its value.
    ///
    /// Backward-shift deletion: the keys after it in its probe run move up to fill the gap,
    /// so no tombstones are left behind.
    @discardableResult
    mutating func remove(at index: Int) -> (key: Bytes, value: Bytes) {
        let removed = (key: slots[index].key!, value: slots[index].value)
        var hole = index
        var next = index
        while true {
            next = (next &+ 1) & mask
            guard let key = slots[next].key else { break }
            let home = key.hashValue & mask
            // Move the key at `next` into the hole unless its home lies cyclically in (hole, next].
            let homeAfterHole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !homeAfterHole {
                slots[hole] = slots[next]
                hole = next
            }
        }
        slots[hole] = Slot(key: nil, value: Bytes())
        count &-= 1
        return removed
    }

    /// Removes every key and gives the memory back.
    mutating func removeAll() {
        self = KeyTable()
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(key: nil, value: Bytes()), count: old.count * 2)
        generation &+= 1
        for slot in old {
            guard let key = slot.key else { continue }
            var index = key.hashValue & mask
            while slots[index].key != nil { index = (index &+ 1) & mask }
            slots[index] = slot
        }
    }
}
