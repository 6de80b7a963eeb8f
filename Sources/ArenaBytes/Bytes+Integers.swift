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
        let size = MemoryLayout<T>.size
        guard index >= 0 && index <= count &- size else { return nil }
        // SAFETY: `index + size <= count` was checked above; the load may be unaligned.
        let raw = _region.start.loadUnaligned(fromByteOffset: index, as: T.self)
        return T(_storedIn: byteOrder, raw)
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
