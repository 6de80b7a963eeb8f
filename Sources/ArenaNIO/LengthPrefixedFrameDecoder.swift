public import ArenaBytes

/// Frames that start with their length: a fixed-width integer in either byte order, then that
/// many bytes (give or take a fixed adjustment).
///
/// ```
///  +--------+---------------------------+--------+----
///  | length |  body: length + adjustment | length |  …
///  +--------+---------------------------+--------+----
///  ^ split(to:) here, and here: each frame is a view of the receive buffer
/// ```
///
/// ```swift
/// // A 4-byte big-endian length that counts the body only, bodies of up
/// // to 1 MiB; yields the bodies.
/// let decoder = LengthPrefixedFrameDecoder(
///     lengthType: UInt32.self,
///     maximumFrameLength: 1 << 20
/// )
/// ```
///
/// Frames come out as `Bytes` over the receive buffer's memory: nothing is copied.
/// While a frame is unfinished, ``bytesNeeded`` tells the handler its whole size, so a large
/// frame is received into one allocation.
public struct LengthPrefixedFrameDecoder<Length: FixedWidthInteger & Sendable>: ByteFrameDecoder, Sendable {
    /// The byte order of the length prefix.
    public var byteOrder: ByteOrder
    /// Added to the prefix's value to give the body's length: `-4` when a 4-byte prefix counts
    /// itself, say.
    public var lengthAdjustment: Int
    /// The longest body accepted, in bytes (the prefix not counted).
    public var maximumFrameLength: Int
    /// Whether frames come out without their prefix (the default) or with it.
    public var stripsPrefix: Bool
    /// After a `nil` from ``decode(_:)``: the bytes the buffer must hold for the next frame.
    public private(set) var bytesNeeded: Int?

    /// Creates a decoder.
    ///
    /// - Parameters:
    ///   - lengthType: the prefix's integer type: `UInt8`, `UInt16`, `UInt32`, `UInt64` or a
    ///     signed one (whose negative values are errors).
    ///   - byteOrder: the prefix's byte order; big-endian by default.
    ///   - lengthAdjustment: added to the prefix's value to give the body's length.
    ///   - maximumFrameLength: the longest body accepted.
    ///   - stripsPrefix: whether frames come out without their prefix.
    /// - Precondition: `maximumFrameLength >= 0`.
    public init(
        lengthType: Length.Type,
        byteOrder: ByteOrder = .big,
        lengthAdjustment: Int = 0,
        maximumFrameLength: Int,
        stripsPrefix: Bool = true
    ) {
        precondition(
            maximumFrameLength >= 0,
            "LengthPrefixedFrameDecoder(maximumFrameLength: \(maximumFrameLength)): negative maximum"
        )
        self.byteOrder = byteOrder
        self.lengthAdjustment = lengthAdjustment
        self.maximumFrameLength = maximumFrameLength
        self.stripsPrefix = stripsPrefix
        self.bytesNeeded = nil
    }

    // The handler calls `decode` through its decoder's witness table, from code compiled once
    // for any decoder, so the user module's own specialization never reaches it. Without the
    // `@_specialize`s the prefix is read and converted through `FixedWidthInteger`'s witnesses
    // on every frame; with them the generic entry jumps to a copy compiled for the usual widths.

    /// Removes the first whole frame from `buffer` and returns it as a view of the same memory.
    ///
    /// - Throws: ``ByteFrameError`` with ``ByteFrameError/Code/frameTooLong`` when the body would
    ///   be longer than ``maximumFrameLength``, ``ByteFrameError/Code/invalidLength`` when it
    ///   would be negative. The error comes as soon as the prefix is in, before the body.
    /// - Complexity: O(1); nothing is copied or allocated.
    @_specialize(where Length == UInt8)
    @_specialize(where Length == UInt16)
    @_specialize(where Length == UInt32)
    @_specialize(where Length == UInt64)
    @_specialize(where Length == Int32)
    public mutating func decode(_ buffer: inout BytesMut) throws -> Bytes? {
        let prefixSize = MemoryLayout<Length>.size
        guard let raw = buffer.getInteger(at: 0, byteOrder: byteOrder, as: Length.self) else {
            bytesNeeded = nil
            return nil
        }
        guard let announced = Int(exactly: raw) else {
            // Wider than `Int`: an unsigned 64-bit length over `Int.max`.
            throw ByteFrameError(.frameTooLong, length: Int.max, limit: maximumFrameLength)
        }
        let (body, overflow) = announced.addingReportingOverflow(lengthAdjustment)
        guard !overflow, body >= 0 else { throw ByteFrameError(.invalidLength, length: announced, limit: 0) }
        guard body <= maximumFrameLength else {
            throw ByteFrameError(.frameTooLong, length: body, limit: maximumFrameLength)
        }
        let total = prefixSize + body
        guard buffer.count >= total else {
            bytesNeeded = total
            return nil
        }
        bytesNeeded = nil
        if stripsPrefix {
            _ = buffer.split(to: prefixSize)
            return buffer.split(to: body).freeze()
        }
        return buffer.split(to: total).freeze()
    }
}
