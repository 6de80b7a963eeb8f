/// The order of an integer's bytes in memory.
///
/// Named `ByteOrder` so it never clashes with SwiftNIO's `Endianness` in files importing both.
public enum ByteOrder: Sendable, Hashable {
    /// Most significant byte first: network byte order.
    case big
    /// Least significant byte first.
    case little

    /// The byte order of the machine the code runs on.
    public static var host: ByteOrder {
        UInt16(1).littleEndian == 1 ? .little : .big
    }
}

extension FixedWidthInteger {
    /// The value as it must be stored to read back in `byteOrder`.
    @inlinable @inline(__always)
    func _converted(to byteOrder: ByteOrder) -> Self {
        byteOrder == .big ? bigEndian : littleEndian
    }

    /// The value stored in memory in `byteOrder`.
    @inlinable @inline(__always)
    init(_storedIn byteOrder: ByteOrder, _ raw: Self) {
        self = byteOrder == .big ? Self(bigEndian: raw) : Self(littleEndian: raw)
    }
}
