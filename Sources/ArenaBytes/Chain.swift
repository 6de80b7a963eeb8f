#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#elseif canImport(Darwin)
public import Darwin
#endif

/// Many ``Bytes`` views read as one sequence of bytes, without copying them together: a message
/// made of several packets, a header and a body from different buffers.
///
/// ```swift
/// var message: Chain = [header, body]
/// // The integer may span both segments.
/// let length = message.readInteger(as: UInt32.self)
/// // The rest as one view: no copy when the segments are adjacent.
/// let rest = message.flattened()
/// ```
///
/// ### Layout
/// ```
///  head        tail (an array; the consumed front is skipped, not shifted)
///  [ Bytes ]   [ consumed | Bytes | Bytes | ... ]
///  ^ reading consumes from here          ^ tailStart
/// ```
/// The first segment is stored inline, so a chain of one segment (what `readBytes` returns
/// when the bytes lie in one segment) allocates nothing. Empty views are never stored.
///
/// Reading never writes to the tail array, so reading a copy of a chain never copies the array:
/// consumed entries stay in it (and keep their storage alive) until the whole tail is consumed,
/// when the array is let go, or until an `append` finds at least half of it consumed and drops
/// the consumed part.
///
/// ### Sharing
/// A chain is a value: copying it copies the segment array (copy-on-write) and retains the
/// segments' storage, never the bytes. Equality is by content, wherever the bytes live.
public struct Chain: Sendable {
    /// The first segment; empty only when the chain is.
    @usableFromInline var _head: Bytes
    /// The segments after the head, from `_tailStart` on; the entries before it are consumed.
    @usableFromInline var _tail: [Bytes]
    @usableFromInline var _tailStart: Int
    @usableFromInline var _count: Int

    /// An empty chain.
    ///
    /// - Complexity: O(1).
    @inlinable
    public init() {
        _head = Bytes()
        _tail = []
        _tailStart = 0
        _count = 0
    }

    /// A chain of one view; allocates nothing.
    @inlinable
    init(single segment: Bytes) {
        self.init()
        append(segment)
    }

    /// A chain of the given views, in order; empty ones are dropped.
    ///
    /// - Complexity: O(n) in the number of segments; no byte is copied.
    @inlinable
    public init(_ segments: some Sequence<Bytes>) {
        self.init()
        _tail.reserveCapacity(Swift.max(0, segments.underestimatedCount - 1))
        for segment in segments { append(segment) }
    }

    /// The number of segments.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var segmentCount: Int {
        _head.isEmpty ? 0 : 1 + _tail.count - _tailStart
    }

    /// The segment at `index` (0 is the head).
    @inlinable
    func _segment(_ index: Int) -> Bytes {
        index == 0 ? _head : _tail[_tailStart + index - 1]
    }

    /// The views the chain is made of, in order, none of them empty.
    ///
    /// - Complexity: O(segments); the array is made on each call.
    @inlinable
    public var segments: [Bytes] {
        (0..<segmentCount).map(_segment)
    }

    /// Calls `body` with each segment's bytes in order, without making an array of them (as
    /// ``segments`` does) and without retaining a segment: the chain, borrowed for the call,
    /// keeps them all alive.
    @inlinable
    package func forEachSegmentBuffer(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard !_head.isEmpty else { return }
        try withExtendedLifetime(self) {
            try _head._withUnretainedBytes(body)
            try _tail.withUnsafeBufferPointer { tail in
                for index in _tailStart..<tail.count { try tail[index]._withUnretainedBytes(body) }
            }
        }
    }

    /// The number of bytes in all segments.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var count: Int { _count }

    /// Whether the chain has no bytes.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var isEmpty: Bool { _count == 0 }

    /// Adds a view at the end; an empty view is dropped.
    ///
    /// - Complexity: amortized O(1); no byte is copied.
    @inlinable
    public mutating func append(_ segment: Bytes) {
        defer { _invariantCheck() }
        guard !segment.isEmpty else { return }
        if _head.isEmpty {
            _head = segment
        } else {
            if _tailStart > 0 && 2 * _tailStart >= _tail.count {
                // Amortized O(1): at most one shift per consumed entry.
                _tail.removeFirst(_tailStart)
                _tailStart = 0
            }
            _tail.append(segment)
        }
        _count += segment.count
    }

    /// Adds every segment of another chain at the end.
    ///
    /// - Complexity: O(segments); no byte is copied.
    @inlinable
    public mutating func append(contentsOf other: Chain) {
        for index in 0..<other.segmentCount { append(other._segment(index)) }
    }

    /// Reserves room for `segments` segments, so appending them does not reallocate.
    ///
    /// - Complexity: O(segments) when the segment array grows, else O(1).
    @inlinable
    public mutating func reserveCapacity(segments: Int) {
        _tail.reserveCapacity(_tail.count - _tailStart + Swift.max(0, segments - 1))
    }

    /// Drops the (emptied) head and makes the next segment the head. The tail array is only
    /// read, or let go once consumed, never written: reading a copy of a chain copies nothing.
    @inlinable
    mutating func _advanceHead() {
        // No invariant check here: callers advance in the middle of a read, before `_count` is
        // settled; they check when they are done.
        if _tailStart < _tail.count {
            _head = _tail[_tailStart]
            _tailStart += 1
            if _tailStart == _tail.count {
                _tail = []  // lets the consumed segments go (no allocation)
                _tailStart = 0
            }
        } else {
            _head = Bytes()
        }
    }
}

// MARK: - Reading across segments

extension Chain {
    /// Removes the first `count` bytes and returns them as a chain of views of the same memory,
    /// or returns `nil` and consumes nothing when there are fewer (or `count` is negative).
    ///
    /// - Complexity: O(segments touched); no byte is copied, and nothing is allocated when the
    ///   bytes lie in one segment.
    @inlinable
    public mutating func readBytes(_ count: Int) -> Chain? {
        defer { _invariantCheck() }
        guard count >= 0 && count <= _count else { return nil }
        var taken = Chain()
        var remaining = count
        while remaining > 0 {
            // The count promised these bytes; trap rather than loop if the segments lack them.
            precondition(!_head.isEmpty, "Chain: \(remaining) bytes short of its count")
            if _head.count <= remaining {
                remaining -= _head.count
                taken.append(_head)
                _advanceHead()
            } else {
                taken.append(_head.split(to: remaining))
                remaining = 0
            }
        }
        _count -= count
        return taken
    }

    /// Removes the first `count` bytes and returns them as one view, or returns `nil` and
    /// consumes nothing when there are fewer (or `count` is negative): a view of the segment's
    /// own memory when the bytes lie in one segment, else one copy of exactly `count` bytes
    /// into `arena`. The way to read frames that may straddle packets.
    ///
    /// Traps when the arena cannot provide the copy; ``tryReadContiguousBytes(_:in:)`` throws.
    ///
    /// - Complexity: O(1) within one segment, with nothing copied or allocated; O(`count`)
    ///   across segments.
    @inlinable
    public mutating func readContiguousBytes(_ count: Int, in arena: ArenaAllocator = .shared) -> Bytes? {
        if count >= 0 && count < _head.count {
            _count -= count
            return _head.split(to: count)
        }
        return _readContiguousBytesSlowly(count, in: arena)
    }

    @usableFromInline
    mutating func _readContiguousBytesSlowly(_ count: Int, in arena: ArenaAllocator) -> Bytes? {
        do {
            return try tryReadContiguousBytes(count, in: arena)
        } catch {
            BytesMut.allocationFailed(error, requested: count, in: arena.configuration)
        }
    }

    /// Removes the first `count` bytes and returns them as one view, as
    /// ``readContiguousBytes(_:in:)``, throwing when the arena cannot provide the copy.
    ///
    /// - Throws: `ArenaError.limitExceeded` or `.outOfMemory` when the bytes span segments and
    ///   the copy is refused; the chain is unchanged.
    /// - Complexity: as ``readContiguousBytes(_:in:)``.
    public mutating func tryReadContiguousBytes(
        _ count: Int,
        in arena: ArenaAllocator = .shared
    ) throws(ArenaError) -> Bytes? {
        defer { _invariantCheck() }
        guard count >= 0 && count <= _count else { return nil }
        if count <= _head.count {
            _count -= count
            let taken = _head.split(to: count)
            if _head.isEmpty { _advanceHead() }
            return taken
        }
        var copy = try BytesMut.make(capacity: count, in: arena)
        var remaining = count
        while remaining > 0 {
            precondition(!_head.isEmpty, "Chain: \(remaining) bytes short of its count")
            let take = Swift.min(remaining, _head.count)
            copy.append(_head.split(to: take))
            remaining -= take
            if _head.isEmpty { _advanceHead() }
        }
        _count -= count
        return copy.freeze()
    }

    /// Removes an integer stored in `byteOrder` from the front, even when it spans segments,
    /// or returns `nil` and consumes nothing when fewer than `MemoryLayout<T>.size` bytes are left.
    ///
    /// - Complexity: O(1) within one segment; O(size) across segments.
    @inlinable
    public mutating func readInteger<T: FixedWidthInteger>(
        byteOrder: ByteOrder = .big,
        as type: T.Type = T.self
    ) -> T? {
        defer { _invariantCheck() }
        let size = MemoryLayout<T>.size
        guard _count >= size else { return nil }
        _count -= size
        if _head.count > size {
            return _head.readInteger(byteOrder: byteOrder, as: T.self)
        }
        var raw = T.zero
        withUnsafeMutableBytes(of: &raw) { destination in
            var filled = 0
            while filled < size {
                precondition(!_head.isEmpty, "Chain: \(size - filled) bytes short of its count")
                let take = Swift.min(size - filled, _head.count)
                _head.split(to: take).withUnsafeBytes { source in
                    // SAFETY: `take <= size - filled` bytes fit in the destination.
                    (destination.baseAddress! + filled).copyMemory(from: source.baseAddress!, byteCount: take)
                }
                filled += take
                if _head.isEmpty { _advanceHead() }
            }
        }
        return T(_storedIn: byteOrder, raw)
    }

    /// The integer stored at byte offset `index` in `byteOrder`, or `nil` when the chain ends
    /// before it does or `index` is negative.
    ///
    /// - Complexity: O(segments).
    @inlinable
    public func getInteger<T: FixedWidthInteger>(
        at index: Int,
        byteOrder: ByteOrder = .big,
        as type: T.Type = T.self
    ) -> T? {
        guard index >= 0 && index <= _count - MemoryLayout<T>.size else { return nil }
        var copy = self
        _ = copy.readBytes(index)
        return copy.readInteger(byteOrder: byteOrder, as: T.self)
    }
}

// MARK: - Joining

extension Chain {
    /// The same bytes with each run of adjacent segments of one storage joined into one view,
    /// without copying.
    ///
    /// - Complexity: O(segments); no byte is copied.
    public func coalesced() -> Chain {
        var result = Chain()
        var pending = Bytes()
        for index in 0..<segmentCount {
            let segment = _segment(index)
            if let joined = pending.merged(with: segment) {
                pending = joined
            } else {
                result.append(pending)
                pending = segment
            }
        }
        result.append(pending)
        return result
    }

    /// All the bytes as one view: zero-copy when the segments are adjacent in one storage (or
    /// there is only one), one copy into `arena` otherwise.
    ///
    /// Traps when the arena cannot provide the memory; ``tryFlattened(in:)`` throws.
    ///
    /// - Complexity: O(segments) without a copy; O(count) with one.
    public func flattened(in arena: ArenaAllocator = .shared) -> Bytes {
        let joined = coalesced()
        if joined.segmentCount <= 1 { return joined._head }
        var writer = BytesMut(capacity: _count, in: arena)
        for index in 0..<joined.segmentCount { writer.append(joined._segment(index)) }
        return writer.freeze()
    }

    /// All the bytes as one view, as ``flattened(in:)``, throwing when the arena is full.
    ///
    /// - Throws: `ArenaError.limitExceeded` or `.outOfMemory`; the chain is unchanged.
    /// - Complexity: O(segments) when the segments are adjacent (no copy); O(count) otherwise.
    public func tryFlattened(in arena: ArenaAllocator = .shared) throws(ArenaError) -> Bytes {
        let joined = coalesced()
        if joined.segmentCount <= 1 { return joined._head }
        var writer = try BytesMut.make(capacity: _count, in: arena)
        for index in 0..<joined.segmentCount { writer.append(joined._segment(index)) }
        return writer.freeze()
    }

    /// Calls `body` with one `iovec` per segment, for `writev(2)` or `sendmsg(2)`.
    ///
    /// The vectors point into the segments' memory and are valid only during the call. They
    /// live on the stack for chains of up to a few dozen segments (nothing is allocated), on
    /// the heap beyond. `writev` accepts at most `IOV_MAX` (1024 on Linux) vectors per call.
    ///
    /// - Complexity: O(segments).
    public func withIOVectors<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<iovec>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withUnsafeTemporaryAllocation(of: iovec.self, capacity: segmentCount) {
            (vectors) throws(Failure) -> Result in
            var filled = 0
            // SAFETY: the chain is borrowed for the whole call, which keeps every segment alive.
            forEachSegmentBuffer { segment in
                vectors.initializeElement(
                    at: filled,
                    to: iovec(iov_base: UnsafeMutableRawPointer(mutating: segment.baseAddress), iov_len: segment.count)
                )
                filled += 1
            }
            defer { _ = vectors[..<filled].deinitialize() }
            return try withExtendedLifetime(self) { () throws(Failure) -> Result in
                try body(UnsafeBufferPointer(rebasing: vectors[..<filled]))
            }
        }
    }
}

// MARK: - Collection of bytes

extension Chain: Collection {
    /// A position in a chain: a segment and an offset in it.
    public struct Index: Comparable, Sendable {
        @usableFromInline let segment: Int
        @usableFromInline let offset: Int

        @inlinable
        init(segment: Int, offset: Int) {
            self.segment = segment
            self.offset = offset
        }

        /// Orders positions by segment, then offset.
        ///
        /// - Complexity: O(1).
        @inlinable
        public static func < (lhs: Index, rhs: Index) -> Bool {
            (lhs.segment, lhs.offset) < (rhs.segment, rhs.offset)
        }
    }

    /// The first byte's position.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var startIndex: Index { Index(segment: 0, offset: 0) }

    /// The position after the last byte.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var endIndex: Index { Index(segment: segmentCount, offset: 0) }

    /// The position after `position`.
    ///
    /// - Precondition: `position` is before `endIndex`.
    /// - Complexity: O(1).
    @inlinable
    public func index(after position: Index) -> Index {
        precondition(position.segment < segmentCount, "Chain index past the end")
        if position.offset + 1 < _segment(position.segment).count {
            return Index(segment: position.segment, offset: position.offset + 1)
        }
        return Index(segment: position.segment + 1, offset: 0)
    }

    /// The byte at `position`.
    ///
    /// - Precondition: `position` is a valid index before `endIndex`.
    /// - Complexity: O(1).
    @inlinable
    public subscript(position: Index) -> UInt8 {
        precondition(position.segment < segmentCount, "Chain index past the end")
        return _segment(position.segment)[position.offset]
    }
}

extension Chain: Equatable {
    /// Whether the two chains hold the same bytes, however they are split into segments.
    ///
    /// - Complexity: O(count).
    public static func == (lhs: Chain, rhs: Chain) -> Bool {
        guard lhs._count == rhs._count else { return false }
        var left = lhs
        var right = rhs
        while !left.isEmpty {
            let step = Swift.min(left._head.count, right._head.count)
            // A non-empty chain never has an empty head; trap rather than loop if it did.
            precondition(step > 0, "Chain: an empty head in a chain of \(left._count) bytes")
            guard left.readBytes(step)!.flattened() == right.readBytes(step)!.flattened() else { return false }
        }
        return true
    }
}

extension Chain: ExpressibleByArrayLiteral {
    /// A chain of the given views; empty ones are dropped.
    ///
    /// - Complexity: O(segments); no byte is copied.
    @inlinable
    public init(arrayLiteral segments: Bytes...) {
        self.init(segments)
    }
}

extension Chain: CustomStringConvertible {
    /// The byte count and the segment sizes.
    ///
    /// - Complexity: O(segments).
    public var description: String {
        "Chain(\(_count) bytes in \(segmentCount) segments: \(segments.map(\.count)))"
    }
}

extension Bytes {
    /// A chain of this view followed by `next`, without copying either.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func chain(_ next: Bytes) -> Chain {
        var chain = Chain(single: self)
        chain.append(next)
        return chain
    }
}
