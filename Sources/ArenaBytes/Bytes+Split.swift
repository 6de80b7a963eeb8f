// Slicing, splitting, merging and reading views: all O(1), none copies a byte.

extension Bytes {
    /// A 0-based view of `bounds` of this one, sharing its memory.
    ///
    /// - Precondition: `bounds` lies within `0...count`.
    /// - Complexity: O(1); nothing is copied or allocated.
    @inlinable
    public func slice(_ bounds: some RangeExpression<Int>) -> Bytes {
        let range = bounds.relative(to: 0..<count)
        precondition(
            range.lowerBound >= 0 && range.upperBound <= count,
            "Bytes.slice(\(range.lowerBound)..<\(range.upperBound)) out of bounds 0...\(count)"
        )
        return Bytes(
            Region(storage: _region.storage, start: _region.start + range.lowerBound, count: range.count)
        )
    }

    /// Removes the first `index` bytes from this view and returns them, sharing the memory.
    ///
    /// Afterwards `self` holds what was `[index, count)`.
    ///
    /// - Precondition: `0 <= index <= count`.
    /// - Complexity: O(1); nothing is copied or allocated.
    @inlinable
    public mutating func split(to index: Int) -> Bytes {
        precondition(index >= 0 && index <= count, "Bytes.split(to: \(index)) out of bounds 0...\(count)")
        let front = Bytes(Region(storage: _region.storage, start: _region.start, count: index))
        _region.start += index
        _region._count -= index
        return front
    }

    /// Removes the bytes from `index` on from this view and returns them, sharing the memory.
    ///
    /// Afterwards `self` holds what was `[0, index)`.
    ///
    /// - Precondition: `0 <= index <= count`.
    /// - Complexity: O(1); nothing is copied or allocated.
    @inlinable
    public mutating func split(from index: Int) -> Bytes {
        precondition(index >= 0 && index <= count, "Bytes.split(from: \(index)) out of bounds 0...\(count)")
        let back = Bytes(Region(storage: _region.storage, start: _region.start + index, count: count - index))
        _region._count = index
        return back
    }

    /// This view and `next` as one view, without copying, when `next` starts where this one
    /// ends in the same storage; `nil` otherwise.
    ///
    /// Views of different storage are never joined, even when their memory happens to touch.
    /// An empty view merges with anything, giving the other.
    ///
    /// - Complexity: O(1); nothing is copied or allocated.
    @inlinable
    public func merged(with next: Bytes) -> Bytes? {
        if next.isEmpty { return self }
        if isEmpty { return next }
        guard _region.storage === next._region.storage, _region.start + count == next._region.start else {
            return nil
        }
        return Bytes(Region(storage: _region.storage, start: _region.start, count: count + next.count))
    }

    /// Removes the first `count` bytes and returns them as a view of the same memory, or
    /// returns `nil` and consumes nothing when there are fewer (or `count` is negative).
    ///
    /// - Complexity: O(1); nothing is copied or allocated.
    @inlinable
    public mutating func readBytes(_ count: Int) -> Bytes? {
        guard count >= 0 && count <= self.count else { return nil }
        return split(to: count)
    }
}
