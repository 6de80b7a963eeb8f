#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

// Equality and hashing by content; a description that previews the bytes in hex.

extension Bytes: Hashable {
    /// Whether the two views hold the same bytes (wherever they live).
    ///
    /// - Complexity: O(n); O(1) for views of the same address and count.
    public static func == (lhs: Bytes, rhs: Bytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs._region.start == rhs._region.start || lhs.count == 0 { return true }
        // SAFETY: both buffers hold `count` bytes and stay alive for the call.
        return memcmp(lhs._region.start, rhs._region.start, lhs.count) == 0
    }

    /// Hashes the bytes (not the address).
    ///
    /// - Complexity: O(n).
    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension Bytes: CustomStringConvertible, CustomDebugStringConvertible {
    /// The count and the bytes in hex: all of them up to 32, then the first 16 and the last 8.
    public var description: String {
        let hex = { (bytes: Bytes) in bytes.map { byte in Self.hexDigits(byte) }.joined(separator: " ") }
        if count == 0 { return "Bytes(0 bytes)" }
        if count <= 32 { return "Bytes(\(count) bytes: \(hex(self)))" }
        return "Bytes(\(count) bytes: \(hex(slice(0..<16))) … \(hex(slice((count - 8)...))))"
    }

    /// The description, plus the storage kind and address.
    public var debugDescription: String {
        "\(description) [\(_region.storageKind) at \(_region.baseAddress)]"
    }

    private static func hexDigits(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }
}
