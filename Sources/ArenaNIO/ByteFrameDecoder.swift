public import ArenaBytes

/// Cuts frames off the front of a connection's receive buffer: the arena's counterpart of
/// SwiftNIO's `ByteToMessageDecoder`, over `BytesMut` instead of `ByteBuffer`.
///
/// ``ArenaFramingHandler`` appends the bytes of each read to a `BytesMut` and calls
/// ``decode(_:)`` until it returns `nil`. A decoder removes a whole frame from the front of the
/// buffer and returns it, or returns `nil` and leaves the buffer as it is when the frame is not
/// all there yet. Frames are best cut without copying, with `split(to:)` and `freeze()`:
///
/// ```swift
/// struct FixedSizeDecoder: ByteFrameDecoder {
///     var size: Int
///     mutating func decode(_ buffer: inout BytesMut) throws -> Bytes? {
///         buffer.count >= size ? buffer.split(to: size).freeze() : nil
///     }
///     var bytesNeeded: Int? { size }
/// }
/// ```
///
/// A decoder that knows the size of the unfinished frame (a length prefix, a bulk length)
/// reports it in ``bytesNeeded``, so the handler reserves room for it once instead of growing
/// the buffer by doubling as the frame arrives.
public protocol ByteFrameDecoder {
    /// What the decoder yields: `Bytes` for the decoders of this module, or a
    /// parsed message of the decoder's protocol.
    associatedtype Frame

    /// Removes the first complete frame from the front of `buffer` and returns it, or returns
    /// `nil` when `buffer` does not hold a whole frame yet.
    ///
    /// The decoder may keep state between calls (how far it has scanned, say), but must not
    /// hold on to the buffer's memory beyond the frames it returns.
    ///
    /// - Throws: when the bytes can never become a valid frame (a frame over the decoder's
    ///   maximum, a malformed header); ``ArenaFramingHandler`` then closes the connection.
    mutating func decode(_ buffer: inout BytesMut) throws -> Frame?

    /// After ``decode(_:)`` returned `nil`: how many bytes the buffer must hold, counted from its
    /// start, before the next frame can be complete; `nil` when the decoder cannot tell.
    ///
    /// The default is `nil`.
    var bytesNeeded: Int? { get }
}

extension ByteFrameDecoder {
    /// `nil`: the decoder cannot tell how large the next frame is.
    public var bytesNeeded: Int? { nil }
}

/// Why framing a connection's bytes failed: a frame or line over its maximum, a length prefix
/// that cannot be a length, or more bytes buffered for one frame than the handler allows.
///
/// Compare ``code`` with the static members (`error.code == .frameTooLong`); new codes may be
/// added, so never switch over them exhaustively.
public struct ByteFrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case frameTooLong
            case invalidLength
            case lineTooLong
            case bufferLimitExceeded
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// A length prefix announced a frame longer than the decoder's maximum.
        public static let frameTooLong = Code(.frameTooLong)
        /// A length prefix that, with its adjustment, gives a negative length.
        public static let invalidLength = Code(.invalidLength)
        /// A line longer than the decoder's maximum, with or without its delimiter seen yet.
        public static let lineTooLong = Code(.lineTooLong)
        /// An unfinished frame needs more than the handler's `maxBufferedBytes`.
        public static let bufferLimitExceeded = Code(.bufferLimitExceeded)

        /// The code's name.
        public var description: String {
            switch base {
            case .frameTooLong: "frame too long"
            case .invalidLength: "invalid length"
            case .lineTooLong: "line too long"
            case .bufferLimitExceeded: "buffer limit exceeded"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// The length met: the frame's announced length, the line's length so far, or the bytes the
    /// unfinished frame needs.
    public var length: Int
    /// The limit it broke (0 for ``Code/invalidLength``).
    public var limit: Int

    /// Creates an error.
    public init(_ code: Code, length: Int, limit: Int) {
        self.code = code
        self.length = length
        self.limit = limit
    }

    /// The error in words, with the length and the limit.
    public var description: String {
        code == .invalidLength
            ? "ByteFrameError: \(code) (\(length))" : "ByteFrameError: \(code) (\(length) bytes, limit \(limit))"
    }
}
