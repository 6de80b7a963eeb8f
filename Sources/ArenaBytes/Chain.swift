#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#elseif canImport(Darwin)
public import Darwin
#endif

/// Many `Bytes` views read as one sequence of bytes, without copying them together: a message
/// made of several packets, a header and a body from different buffers.
///
/// ```swift
/// var message: Chain = [header, body]
/// let length = message.readInteger(as: UInt32.self)   // may span both segments
/// let whole = message.flattened()                      // zero-copy if they are adjacent
/// ```
///
/// ### Layout
/// ```
///  segments:  [ Bytes ][ Bytes ][ Bytes ]   (an array of views; empty views are dropped)
///               ^ reading consumes from the front
/// ```
///
/// ### Sharing
/// A chain is a value: copying it copies the segment array (copy-on-write) and retains the
/// segments' storage, never the bytes. Equality is by content, wherever the bytes live.
public struct Chain: Sendable {
    @usableFromInline var _segments: [Bytes]
    @usableFromInline var _count: Int

    /// An empty chain.
    ///
    /// - Complexity: O(1).
    @inlinable
    public init() {
        _segments = []
        _count = 0
    }

    /// A chain of the given views, in order; empty ones are dropped.
    ///
    /// - Complexity: O(n) in the number of segments; no byte is copied.
    @inlinable
    public init(_ segments: some Sequence<Bytes>) {
        self.init()
        _segments.reserveCapacity(segments.underestimatedCount)
        for segment in segments { append(segment) }
    }

    /// The views the chain is made of, in order, none of them empty.
    @inlinable
    public var segments: [Bytes] { _segments }

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
        guard !segment.isEmpty else { return }
        _segments.append(segment)
        _count += segment.count
    }

    /// Adds every segment of another chain at the end.
    ///
    /// - Complexity: O(segments); no byte is copied.
    @inlinable
    public mutating func append(contentsOf other: Chain) {
        _segments.append(contentsOf: other._segments)
        _count += other._count
    }

    /// Reserves room for `segments` segments, so appending them does not reallocate the array.
    @inlinable
    public mutating func reserveCapacity(segments: Int) {
        _segments.reserveCapacity(segments)
    }
}

// MARK: - Reading across segments

extension Chain {
    /// Removes the first `count` bytes and returns them as a chain of views of the same memory,
    /// or returns `nil` and consumes nothing when there are fewer (or `count` is negative).
    ///
    /// - Complexity: O(segments touched); no byte is copied.
    @inlinable
    public mutating func readBytes(_ count: Int) -> Chain? {
        guard count >= 0 && count <= _count else { return nil }
        var taken = Chain()
        var remaining = count
        var whole = 0
        while whole < _segments.count && _segments[whole].count <= remaining {
            remaining -= _segments[whole].count
            whole += 1
        }
        taken._segments.reserveCapacity(whole + (remaining > 0 ? 1 : 0))
        for index in 0..<whole { taken.append(_segments[index]) }
        _segments.removeFirst(whole)
        if remaining > 0 { taken.append(_segments[0].split(to: remaining)) }
        _count -= count
        return taken
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
        let size = MemoryLayout<T>.size
        guard _count >= size else { return nil }
        if _segments[0].count > size {
            _count -= size
            return _segments[0].readInteger(byteOrder: byteOrder, as: T.self)
        }
        var raw = T.zero
        withUnsafeMutableBytes(of: &raw) { destination in
            var filled = 0
            while filled < size {
                let take = Swift.min(size - filled, _segments[0].count)
                let piece = _segments[0].split(to: take)
                piece.withUnsafeBytes { source in
                    // SAFETY: `take <= size - filled` bytes fit in the destination.
                    (destination.baseAddress! + filled).copyMemory(from: source.baseAddress!, byteCount: take)
                }
                filled += take
                if _segments[0].isEmpty { _segments.removeFirst() }
            }
        }
        _count -= size
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
        result._segments.reserveCapacity(_segments.count)
        for segment in _segments {
            if let last = result._segments.last, let joined = last.merged(with: segment) {
                result._segments[result._segments.count - 1] = joined
            } else {
                result._segments.append(segment)
            }
        }
        result._count = _count
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
        if joined._segments.count <= 1 { return joined._segments.first ?? Bytes() }
        var writer = BytesMut(capacity: _count, in: arena)
        for segment in joined._segments { writer.append(segment) }
        return writer.freeze()
    }

    /// All the bytes as one view, as ``flattened(in:)``, throwing when the arena is full.
    ///
    /// - Throws: `ArenaError.limitExceeded` or `.outOfMemory`; the chain is unchanged.
    public func tryFlattened(in arena: ArenaAllocator = .shared) throws(ArenaError) -> Bytes {
        let joined = coalesced()
        if joined._segments.count <= 1 { return joined._segments.first ?? Bytes() }
        var writer = try BytesMut.make(capacity: _count, in: arena)
        for segment in joined._segments { writer.append(segment) }
        return writer.freeze()
    }

    /// Calls `body` with one `iovec` per segment, for `writev(2)` or `sendmsg(2)`.
    ///
    /// The vectors point into the segments' memory and are valid only during the call.
    /// `writev` accepts at most `IOV_MAX` (1024 on Linux) vectors per call.
    ///
    /// - Complexity: O(segments); the vectors live on the stack when there are few.
    public func withIOVectors<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<iovec>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: _segments.count)
        defer { vectors.deallocate() }
        for (index, segment) in _segments.enumerated() {
            // SAFETY: `withExtendedLifetime(self)` below keeps every segment alive for the call.
            vectors[index] = iovec(
                iov_base: UnsafeMutableRawPointer(mutating: segment.region.baseAddress),
                iov_len: segment.count
            )
        }
        return try withExtendedLifetime(self) { () throws(Failure) -> Result in
            try body(UnsafeBufferPointer(vectors))
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
        @inlinable
        public static func < (lhs: Index, rhs: Index) -> Bool {
            (lhs.segment, lhs.offset) < (rhs.segment, rhs.offset)
        }
    }

    /// The first byte's position.
    @inlinable
    public var startIndex: Index { Index(segment: 0, offset: 0) }

    /// The position after the last byte.
    @inlinable
    public var endIndex: Index { Index(segment: _segments.count, offset: 0) }

    /// The position after `position`.
    @inlinable
    public func index(after position: Index) -> Index {
        precondition(position.segment < _segments.count, "Chain index past the end")
        if position.offset + 1 < _segments[position.segment].count {
            return Index(segment: position.segment, offset: position.offset + 1)
        }
        return Index(segment: position.segment + 1, offset: 0)
    }

    /// The byte at `position`.
    ///
    /// - Precondition: `position` is a valid index before `endIndex`.
    @inlinable
    public subscript(position: Index) -> UInt8 {
        precondition(position.segment < _segments.count, "Chain index past the end")
        return _segments[position.segment][position.offset]
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
            let step = Swift.min(left._segments[0].count, right._segments[0].count)
            guard left.readBytes(step)!.flattened() == right.readBytes(step)!.flattened() else { return false }
        }
        return true
    }
}

extension Chain: ExpressibleByArrayLiteral {
    /// A chain of the given views.
    @inlinable
    public init(arrayLiteral segments: Bytes...) {
        self.init(segments)
    }
}

extension Chain: CustomStringConvertible {
    /// The byte count and the segment sizes.
    public var description: String {
        "Chain(\(_count) bytes in \(_segments.count) segments: \(_segments.map(\.count)))"
    }
}

extension Bytes {
    /// A chain of this view followed by `next`, without copying either.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func chain(_ next: Bytes) -> Chain {
        Chain([self, next])
    }
}
