public import ArenaBytes

/// Lines ending in `\n` or `\r\n`, as text protocols (SMTP, Redis inline commands, logs) send
/// them; each comes out without its delimiter.
///
/// ```swift
/// let decoder = LineFrameDecoder(maximumLineLength: 8 << 10)
/// ```
///
/// Lines come out as `Bytes` over the receive buffer's memory: nothing is copied.
/// The decoder remembers how far it has looked for a newline, so a long line arriving in many
/// small reads is scanned once, not once per read.
public struct LineFrameDecoder: ByteFrameDecoder, Sendable {
    /// The longest line accepted, in bytes, without its delimiter.
    public var maximumLineLength: Int
    /// How many bytes at the front of the buffer are known to hold no newline.
    private var scanned = 0

    /// Creates a decoder of lines of up to `maximumLineLength` bytes (delimiter not counted).
    ///
    /// - Precondition: `maximumLineLength >= 0`.
    public init(maximumLineLength: Int) {
        precondition(maximumLineLength >= 0, "LineFrameDecoder(maximumLineLength: \(maximumLineLength)): negative")
        self.maximumLineLength = maximumLineLength
    }

    /// Removes the first whole line, with its `\n` or `\r\n`, from `buffer` and returns it
    /// without the delimiter, as a view of the same memory.
    ///
    /// - Throws: ``ByteFrameError`` with ``ByteFrameError/Code/lineTooLong`` as soon as the line
    ///   is known to be longer than ``maximumLineLength``, even before its newline arrives.
    /// - Complexity: O(n) in the bytes not scanned before; nothing is copied or allocated.
    public mutating func decode(_ buffer: inout BytesMut) throws -> Bytes? {
        let from = Swift.min(scanned, buffer.count)
        let newline = buffer.withUnsafeBytes { bytes in bytes[from...].firstIndex(of: UInt8(ascii: "\n")) }
        guard let newline else {
            // A line of the maximum length may still be followed by `\r` before its `\n`.
            guard buffer.count - 1 <= maximumLineLength else {
                scanned = 0
                throw ByteFrameError(.lineTooLong, length: buffer.count, limit: maximumLineLength)
            }
            scanned = buffer.count
            return nil
        }
        scanned = 0
        var end = newline
        if end > 0 && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard end <= maximumLineLength else {
            throw ByteFrameError(.lineTooLong, length: end, limit: maximumLineLength)
        }
        var line = buffer.split(to: newline + 1)
        line.truncate(end)
        return line.freeze()
    }
}
