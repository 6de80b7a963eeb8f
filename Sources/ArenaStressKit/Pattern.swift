// The bytes the stress test writes, and how it knows what every byte it reads must be.
//
// Every allocation gets an identity (a `Lease`); the byte at logical offset `i` of an
// allocation is a function of the run's seed, the identity and `i` alone. A view remembers
// which pieces of which allocations it shows (its `Provenance`), so any byte of any view, after
// any number of splits, merges, hand-offs, copies and reclaims, can be checked on its own.

import Arena
import ArenaBytes
import ArenaToolSupport
import Synchronization

/// The pattern: bytes derived from the run's seed, an allocation's identity and an offset.
///
/// Words of 8 bytes are generated at once (one multiply each), stored little-endian, so writing
/// and checking run at memory speed; the byte at offset `i` is byte `i % 8` of word `i / 8`.
enum Pattern {
    /// The SplitMix64 finalizer: a bijective mix of 64 bits.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        SplitMix64.mix(value)
    }

    /// The key of one allocation's pattern.
    static func key(seed: UInt64, identity: UInt64) -> UInt64 {
        mix(seed ^ mix(identity &+ 0x9E37_79B9_7F4A_7C15))
    }

    /// Word `index` (bytes `8 * index ..< 8 * index + 8`) of the pattern of `key`.
    @inline(__always)
    static func word(key: UInt64, index: Int) -> UInt64 {
        let z = (key ^ UInt64(truncatingIfNeeded: index)) &* 0x9E37_79B9_7F4A_7C15
        return z ^ (z >> 29)
    }

    /// The byte at `offset` of the pattern of `key`.
    @inline(__always)
    static func byte(key: UInt64, offset: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: word(key: key, index: offset >> 3) >> (UInt64(offset & 7) &* 8))
    }

    /// Writes the pattern of `key`, from logical offset `offset` on, into all of `buffer`.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, key: UInt64, offset: Int) {
        let total = buffer.count
        var index = 0
        while index < total && (offset + index) & 7 != 0 {
            buffer[index] = byte(key: key, offset: offset + index)
            index += 1
        }
        while index + 8 <= total {
            let value = word(key: key, index: (offset + index) >> 3).littleEndian
            // SAFETY: `index + 8 <= buffer.count`; an unaligned store of a trivial type is allowed.
            buffer.storeBytes(of: value, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < total {
            buffer[index] = byte(key: key, offset: offset + index)
            index += 1
        }
    }

    /// The first position in `buffer` that differs from the pattern of `key` starting at logical
    /// offset `offset`, or `nil` when every byte matches.
    static func firstMismatch(in buffer: UnsafeRawBufferPointer, key: UInt64, offset: Int) -> Int? {
        let total = buffer.count
        var index = 0
        while index < total && (offset + index) & 7 != 0 {
            if buffer[index] != byte(key: key, offset: offset + index) { return index }
            index += 1
        }
        while index + 8 <= total {
            // SAFETY: `index + 8 <= buffer.count`; the load may be unaligned.
            let found = buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if found != word(key: key, index: (offset + index) >> 3).littleEndian { break }
            index += 8
        }
        while index < total {
            if buffer[index] != byte(key: key, offset: offset + index) { return index }
            index += 1
        }
        return nil
    }
}

/// The bytes of the program's views that are alive, per worker: what the workload uses, as
/// opposed to what the arena holds. Leases add to it when made and subtract when they die, on
/// whichever thread that happens.
final class LiveCounter: Sendable {
    /// Bytes of allocations some view still refers to.
    let bytes = Atomic<Int>(0)

    /// Creates a counter at zero.
    init() {}
}

/// The memory of one allocation, as the workload accounts for it: its bytes count as live in
/// its worker's figure while any view that keeps the memory alive (see ``Owners``) exists.
final class Lease: Sendable {
    /// The bytes this allocation accounts for.
    let accountedBytes: Int
    /// Where the bytes are accounted.
    let counter: LiveCounter

    /// Creates a lease and adds `accountedBytes` to `counter` until it dies.
    init(accountedBytes: Int, counter: LiveCounter) {
        self.accountedBytes = accountedBytes
        self.counter = counter
        counter.bytes.add(accountedBytes, ordering: .relaxed)
    }

    deinit {
        counter.bytes.subtract(accountedBytes, ordering: .relaxed)
    }
}

/// The leases of the memory a view keeps alive: one for most views; several for a view merged
/// from separate allocations or a reclaimed view written on. Kept apart from the ``Provenance``
/// (what the bytes must be), because a copy shows another allocation's pattern without keeping
/// that allocation's memory alive.
struct Owners: Sendable {
    /// The first lease, if any.
    private var first: Lease?
    /// The leases after the first.
    private var rest: [Lease] = []

    /// No lease.
    init() {}

    /// One lease.
    init(_ lease: Lease) {
        first = lease
    }

    /// Adds the leases of `other`.
    mutating func formUnion(_ other: Owners) {
        for lease in other.all where !contains(lease) {
            if first == nil { first = lease } else { rest.append(lease) }
        }
    }

    /// Adds one lease.
    mutating func insert(_ lease: Lease) {
        formUnion(Owners(lease))
    }

    /// The leases and those of `other`.
    func union(_ other: Owners) -> Owners {
        var result = self
        result.formUnion(other)
        return result
    }

    private var all: [Lease] {
        guard let first else { return [] }
        return [first] + rest
    }

    private func contains(_ lease: Lease) -> Bool {
        first === lease || rest.contains { $0 === lease }
    }
}

/// A run of bytes of one allocation's pattern: `count` bytes from logical offset `offset` on.
struct Piece: Sendable {
    /// The allocation's identity: the worker in the top 16 bits, a serial number below.
    var identity: UInt64
    /// The pattern key, from the seed and the identity.
    var key: UInt64
    /// The first logical offset in the allocation's pattern.
    var offset: Int
    /// The number of bytes.
    var count: Int
}

/// Which pieces of which allocations a view shows, in order.
///
/// Most views show one piece, kept inline; merged views, flattened chains and reclaimed views
/// that were written on show several. Adjacent pieces of one allocation are joined, so splitting
/// a view and merging it back gives the original provenance.
struct Provenance: Sendable {
    /// The first piece, if any.
    private(set) var first: Piece?
    /// The pieces after the first.
    private(set) var rest: [Piece] = []
    /// The bytes in all pieces.
    private(set) var count = 0

    /// No pieces: the provenance of an empty view.
    init() {}

    /// One piece.
    init(_ piece: Piece) {
        append(piece)
    }

    /// The number of pieces.
    var pieceCount: Int { first == nil ? 0 : 1 + rest.count }

    /// Calls `body` with each piece and the position in the view where it starts.
    func forEach<Failure: Error>(_ body: (Piece, Int) throws(Failure) -> Void) throws(Failure) {
        guard let first else { return }
        try body(first, 0)
        var position = first.count
        for piece in rest {
            try body(piece, position)
            position += piece.count
        }
    }

    /// Adds a piece at the end, joining it to the last one when it continues it.
    mutating func append(_ piece: Piece) {
        guard piece.count > 0 else { return }
        count += piece.count
        guard var last = rest.last ?? first else {
            first = piece
            return
        }
        if last.identity == piece.identity && last.offset + last.count == piece.offset {
            last.count += piece.count
            if rest.isEmpty { first = last } else { rest[rest.count - 1] = last }
        } else {
            rest.append(piece)
        }
    }

    /// Adds all pieces of `other` at the end.
    mutating func append(contentsOf other: Provenance) {
        other.forEach { piece, _ in append(piece) }
    }

    /// The provenance of view positions `range` (0-based, within `0...count`).
    func slice(_ range: Range<Int>) -> Provenance {
        var result = Provenance()
        if let first, range.upperBound <= first.count {
            // The common case: one piece covers the range.
            result.append(
                Piece(
                    identity: first.identity,
                    key: first.key,
                    offset: first.offset + range.lowerBound,
                    count: range.count
                )
            )
            return result
        }
        forEach { piece, start in
            let lower = max(range.lowerBound, start)
            let upper = min(range.upperBound, start + piece.count)
            if lower < upper {
                result.append(
                    Piece(
                        identity: piece.identity,
                        key: piece.key,
                        offset: piece.offset + lower - start,
                        count: upper - lower
                    )
                )
            }
        }
        return result
    }

    /// The pattern byte at view position `position` (within `0..<count`).
    func expectedByte(at position: Int) -> UInt8 {
        var found: UInt8 = 0
        forEach { piece, start in
            if position >= start && position < start + piece.count {
                found = Pattern.byte(key: piece.key, offset: piece.offset + position - start)
            }
        }
        return found
    }

    /// The first view position whose byte in `buffer` differs from the pattern, or `nil`.
    ///
    /// - Precondition: `buffer.count == count`.
    func firstMismatch(in buffer: UnsafeRawBufferPointer) -> Int? {
        var mismatch: Int?
        forEach { piece, start in
            guard mismatch == nil else { return }
            let part = UnsafeRawBufferPointer(rebasing: buffer[start..<start + piece.count])
            if let index = Pattern.firstMismatch(in: part, key: piece.key, offset: piece.offset) {
                mismatch = start + index
            }
        }
        return mismatch
    }
}

/// A view the workload holds, with what it must contain and the memory it keeps alive.
struct Tracked: Sendable {
    /// The view.
    var bytes: Bytes
    /// Which allocations' patterns it shows.
    var provenance: Provenance
    /// The leases of the memory it keeps alive.
    var owners: Owners

    /// A tracked view; `bytes.count` must equal `provenance.count`.
    init(_ bytes: Bytes, _ provenance: Provenance, owners: Owners) {
        self.bytes = bytes
        self.provenance = provenance
        self.owners = owners
    }

    /// The address of the view's first byte, as a number.
    var address: UInt {
        UInt(bitPattern: bytes.region.baseAddress)
    }

    /// The tracked view of positions `range` of this one, built with `Bytes.slice`; it keeps the
    /// same memory alive (a slice keeps its whole storage).
    func slice(_ range: Range<Int>) -> Tracked {
        Tracked(bytes.slice(range), provenance.slice(range), owners: owners)
    }
}
