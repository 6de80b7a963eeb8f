// Splitting one writer into two, joining them back, freezing and reclaiming: all O(1) and
// copy-free, except `unsplit` of two writers that are not adjacent (an append).

extension BytesMut {
    /// Removes the first `index` written bytes and returns them as a writer of their own
    /// (capacity `index`); `self` keeps the rest and the spare capacity.
    ///
    /// - Precondition: `0 <= index <= count`.
    /// - Complexity: O(1); nothing is copied or allocated.
    @inlinable
    public mutating func split(to index: Int) -> BytesMut {
        defer { _invariantCheck() }
        precondition(index >= 0 && index <= _count, "BytesMut.split(to: \(index)) out of bounds 0...\(_count)")
        let front = BytesMut(
            region: Region(storage: _region.storage, start: _region.start, count: index),
            count: index
        )
        _region.start += index
        _region._count -= index
        _count -= index
        return front
    }

    /// Removes the written bytes from `index` on and returns them as a writer of their own,
    /// with the spare capacity; `self` keeps `[0, index)` with capacity `index`.
    ///
    /// - Precondition: `0 <= index <= count`.
    /// - Complexity: O(1); nothing is copied or allocated.
    @inlinable
    public mutating func split(from index: Int) -> BytesMut {
        defer { _invariantCheck() }
        precondition(index >= 0 && index <= _count, "BytesMut.split(from: \(index)) out of bounds 0...\(_count)")
        let back = BytesMut(
            region: Region(storage: _region.storage, start: _region.start + index, count: _region._count - index),
            count: _count - index
        )
        _region._count = index
        _count = index
        return back
    }

    /// Appends `next`'s bytes: without copying when `next` starts right where this writer's
    /// bytes end in the same storage (it was split off this one), by copying otherwise.
    ///
    /// When joined without copying, `self` also takes over `next`'s spare capacity.
    ///
    /// - Complexity: O(1) when adjacent; O(next.count) otherwise.
    @inlinable
    public mutating func unsplit(_ next: consuming BytesMut) {
        defer { _invariantCheck() }
        if _count == _region._count, _region.storage === next._region.storage,
            _region.start + _count == next._region.start
        {
            _region._count += next._region._count
            _count += next._count
            return
        }
        if _count == 0 && _region._count == 0 {
            self = next
            return
        }
        next.withUnsafeBytes { _appendUnsafe($0) }
    }

    /// Ends the writer and returns its bytes as an immutable view of the same memory.
    ///
    /// - Complexity: O(1); nothing is copied or allocated.
    @inlinable
    public consuming func freeze() -> Bytes {
        Bytes(Region(storage: _region.storage, start: _region.start, count: _count))
    }

    /// Turns a view back into a writer, without copying, when it is the last view of its
    /// storage; `nil` (and the view is gone) otherwise.
    ///
    /// The writer holds the view's bytes and can append up to the end of the storage.
    /// An empty view gives `nil`: it has no storage to reclaim.
    ///
    /// Only memory the arena allocated is ever reclaimed. A view of foreign memory
    /// (`Region(unsafeNoCopy:…)`, `Bytes(ByteBuffer)`, an import through the C ABI) gives `nil`
    /// even when it is the last view: its owner may still read that memory, or it may be
    /// read-only, so no writer is ever made over it.
    ///
    /// Pass the view with `consume` when it is a variable: otherwise the variable itself is
    /// another view that lives across the call.
    ///
    /// ```swift
    /// let frozen = writer.freeze()
    /// send(frozen)  // returns when the copies it made are gone
    /// if var again = BytesMut(reclaiming: consume frozen) {
    ///     again.removeAll(keepingCapacity: true)
    /// }
    /// ```
    ///
    /// - Complexity: O(1).
    public init?(reclaiming bytes: consuming Bytes) {
        var region = bytes._region
        _ = consume bytes
        guard region.takeStorageIfUnique() else { return nil }
        let count = region.count
        region.extendToEndOfStorage()
        self.init(region: region, count: count)
        _invariantCheck()
    }
}
