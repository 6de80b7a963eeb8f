import ArenaBytes
import NIOCore

/// RESP2 replies, written straight into the outbound buffer.
extension ByteBuffer {
    /// `+OK\r\n`.
    mutating func writeOK() {
        writeStaticString("+OK\r\n")
    }

    /// `+<text>\r\n`: a simple string (no `\r` or `\n` in `text`).
    mutating func writeSimpleString(_ text: String) {
        writeStaticString("+")
        writeString(text)
        writeStaticString("\r\n")
    }

    /// `-<message>\r\n`: an error reply; `message` starts with its code (`ERR`, `OOM`, ...).
    mutating func writeErrorReply(_ message: String) {
        writeStaticString("-")
        writeString(message)
        writeStaticString("\r\n")
    }

    /// `:<value>\r\n`.
    mutating func writeIntegerReply(_ value: Int) {
        writeStaticString(":")
        writeDecimal(value)
        writeStaticString("\r\n")
    }

    /// `$-1\r\n`: the null bulk string.
    mutating func writeNullReply() {
        writeStaticString("$-1\r\n")
    }

    /// `*<count>\r\n`: the header of an array of `count` replies.
    mutating func writeArrayHeader(_ count: Int) {
        writeStaticString("*")
        writeDecimal(count)
        writeStaticString("\r\n")
    }

    /// `$<length>\r\n<bytes>\r\n`: a bulk string.
    mutating func writeBulkReply(_ bytes: Bytes) {
        writeStaticString("$")
        writeDecimal(bytes.count)
        writeStaticString("\r\n")
        bytes.withUnsafeBytes { _ = writeBytes($0) }
        writeStaticString("\r\n")
    }

    /// A bulk string of UTF-8 text.
    mutating func writeBulkReply(_ text: String) {
        writeStaticString("$")
        writeDecimal(text.utf8.count)
        writeStaticString("\r\n")
        writeString(text)
        writeStaticString("\r\n")
    }

    /// The bulk string, or the null bulk string for nil.
    mutating func writeBulkReply(_ bytes: Bytes?) {
        if let bytes { writeBulkReply(bytes) } else { writeNullReply() }
    }

    /// `value` in decimal ASCII, with no allocation.
    mutating func writeDecimal(_ value: Int) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { buffer in
            formatDecimal(value, into: buffer)
        }
    }
}

/// Writes `value` in decimal at the start of `buffer` (20 bytes suffice) and returns the length.
func formatDecimal(_ value: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    var magnitude = value.magnitude
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
    return withUnsafeMutableBytes(of: &digits) { scratch in
        var index = scratch.count
        repeat {
            index -= 1
            scratch[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude != 0
        if value < 0 {
            index -= 1
            scratch[index] = UInt8(ascii: "-")
        }
        let length = scratch.count - index
        buffer.baseAddress.unsafelyUnwrapped.copyMemory(
            from: scratch.baseAddress.unsafelyUnwrapped + index,
            byteCount: length
        )
        return length
    }
}
