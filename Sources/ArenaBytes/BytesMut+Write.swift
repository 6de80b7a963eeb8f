// Appending bytes and integers (NIO's `write*`/`set*` verbs). Each grows the writer when the
// spare capacity is short, geometrically, and traps only when the arena cannot give memory.

extension BytesMut {
    /// Appends one byte.
    ///
    /// - Complexity: amortized O(1).
    @inlinable
    public mutating func append(_ byte: UInt8) {
        _reserveSpare(1)
        // SAFETY: `_reserveSpare` made room for one byte at `count`.
        _region.start.storeBytes(of: byte, toByteOffset: _count, as: UInt8.self)
        _count &+= 1
    }

    /// Appends the bytes of a sequence; contiguous ones (arrays, `Bytes`, `Data`) with one
    /// `memcpy`.
    ///
    /// - Complexity: O(n), amortized.
    @inlinable
    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            _appendUnsafe(UnsafeRawBufferPointer(buffer))
        }
        if done != nil { return }
        _reserveSpare(bytes.underestimatedCount)
        for byte in bytes { append(byte) }
    }

    /// Appends the bytes of a view with one `memcpy`.
    ///
    /// - Complexity: O(n), amortized.
    @inlinable
    public mutating func append(_ bytes: Bytes) {
        bytes.withUnsafeBytes { _appendUnsafe($0) }
    }

    /// Appends the bytes of a raw buffer with one `memcpy`.
    ///
    /// - Complexity: O(n), amortized.
    @inlinable
    public mutating func append(contentsOf buffer: UnsafeRawBufferPointer) {
        _appendUnsafe(buffer)
    }

    @inlinable
    mutating func _appendUnsafe(_ buffer: UnsafeRawBufferPointer) {
        defer { _invariantCheck() }
        guard let source = buffer.baseAddress, buffer.count > 0 else { return }
        _reserveSpare(buffer.count)
        // SAFETY: `_reserveSpare` made room for `buffer.count` bytes at `count`; the source is a
        // different live buffer (a writer's spare capacity is never visible to anyone else).
        (_region.start + _count).copyMemory(from: source, byteCount: buffer.count)
        _count &+= buffer.count
    }

    /// Appends `value` in `byteOrder`; returns the number of bytes written.
    ///
    /// - Complexity: amortized O(1).
    @inlinable
    @discardableResult
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T, byteOrder: ByteOrder = .big) -> Int {
        defer { _invariantCheck() }
        let size = MemoryLayout<T>.size
        _reserveSpare(size)
        // SAFETY: `_reserveSpare` made room for `size` bytes at `count`; the store may be unaligned.
        _region.start.storeBytes(of: value._converted(to: byteOrder), toByteOffset: _count, as: T.self)
        _count &+= size
        return size
    }

    /// Overwrites the bytes at `index` with `value` in `byteOrder` (a length prefix written
    /// after the body, say); returns the number of bytes written.
    ///
    /// - Precondition: `0 <= index` and `index + MemoryLayout<T>.size <= count`.
    /// - Complexity: O(1).
    @inlinable
    @discardableResult
    public mutating func setInteger<T: FixedWidthInteger>(_ value: T, at index: Int, byteOrder: ByteOrder = .big) -> Int
    {
        defer { _invariantCheck() }
        let size = MemoryLayout<T>.size
        precondition(
            index >= 0 && index <= _count - size,
            "BytesMut.setInteger(at: \(index)) of \(size) bytes out of bounds 0...\(_count)"
        )
        // SAFETY: the bounds were checked just above; the store may be unaligned.
        _region.start.storeBytes(of: value._converted(to: byteOrder), toByteOffset: index, as: T.self)
        return size
    }

    /// The integer stored at `index` in `byteOrder`, or `nil` when the written bytes end
    /// before it does.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func getInteger<T: FixedWidthInteger>(
        at index: Int,
        byteOrder: ByteOrder = .big,
        as type: T.Type = T.self
    ) -> T? {
        _loadInteger(from: _region.start, count: _count, at: index, byteOrder: byteOrder)
    }
}
