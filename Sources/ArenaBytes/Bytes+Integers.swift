// Reading fixed-width integers, NIO style: `get*` at an offset, `read*` from the front.
// Short data gives `nil`, never a trap: the bytes may come from an untrusted peer.

extension Bytes {
    /// The integer stored at byte offset `index` in `byteOrder`, or `nil` when the view has
    /// fewer than `index + MemoryLayout<T>.size` bytes or `index` is negative.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func getInteger<T: FixedWidthInteger>(
        at index: Int,
        byteOrder: ByteOrder = .big,
        as type: T.Type = T.self
    ) -> T? {
        _loadInteger(from: _region.start, count: count, at: index, byteOrder: byteOrder)
    }

    /// Removes an integer stored in `byteOrder` from the front and returns it, or returns
    /// `nil` and consumes nothing when fewer than `MemoryLayout<T>.size` bytes are left.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func readInteger<T: FixedWidthInteger>(
        byteOrder: ByteOrder = .big,
        as type: T.Type = T.self
    ) -> T? {
        guard let value = getInteger(at: 0, byteOrder: byteOrder, as: T.self) else { return nil }
        let size = MemoryLayout<T>.size
        _region.start += size
        _region._count -= size
        return value
    }
}

/// The integer stored at `index` of the `count` bytes at `start`, or `nil` when they end
/// before it does: the one bounds check behind every `getInteger`.
@inlinable @inline(__always)
func _loadInteger<T: FixedWidthInteger>(
    from start: UnsafeRawPointer,
    count: Int,
    at index: Int,
    byteOrder: ByteOrder
) -> T? {
    guard index >= 0 && index <= count &- MemoryLayout<T>.size else { return nil }
    // SAFETY: `index + size <= count` was checked above; the load may be unaligned.
    return T(_storedIn: byteOrder, start.loadUnaligned(fromByteOffset: index, as: T.self))
}
