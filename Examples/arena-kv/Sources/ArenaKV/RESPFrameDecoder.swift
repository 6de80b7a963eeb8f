import ArenaBytes
import ArenaNIO

/// The complete requests of one parse: their bytes, frozen, and where each argument lies in them.
///
/// ```
///  bytes   *2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n
///  spans           [8, 3)         [17, 1)  [22, 4)
///  requests        2                       1
/// ```
public struct RequestBatch {
    /// The requests' bytes: a frozen view of the connection's receive buffer.
    public var bytes: Bytes
    /// Every argument of every request, in order, as offsets into ``bytes``.
    public var spans: [ArgumentSpan]
    /// The argument count of each request, in order; empty requests are left out.
    public var requests: [Int]

    /// Creates a batch.
    public init(bytes: Bytes, spans: [ArgumentSpan], requests: [Int]) {
        self.bytes = bytes
        self.spans = spans
        self.requests = requests
    }
}

/// RESP2 framing for `ArenaFramingHandler`: ``RequestParser`` over the connection's receive
/// buffer, each frame a ``RequestBatch`` of every complete request at its front.
///
/// - A protocol error after complete requests is held back: the batch before it comes out
///   first, so those requests run, and the next ``decode(_:)`` throws the ``ProtocolError``.
/// - ``bytesNeeded`` is the parser's `Outcome.bytesNeeded`: the handler reserves a large bulk's
///   room once, and refuses a request over its `maxBufferedBytes` before it arrives.
/// - An unfinished request is not parsed again until more bytes arrive.
/// - The words of inline requests are decoded in place (quotes and escapes, see
///   ``RequestParser``) before the batch is frozen, so they too are slices of it.
public struct RESPFrameDecoder: ByteFrameDecoder {
    /// The parser, with its bulk limit.
    public let parser: RequestParser
    /// After a `nil` from ``decode(_:)``: the bytes the unfinished request needs, when known.
    public private(set) var bytesNeeded: Int?

    /// Reused from batch to batch: a batch shares them until it is dropped.
    private var spans: [ArgumentSpan] = []
    private var requests: [Int] = []
    /// The error found after the last batch, thrown at the next call.
    private var heldError: ProtocolError?
    /// The buffer's count when its bytes were last found to hold no complete request.
    private var unfinishedCount: Int?

    /// Creates a decoder around `parser`.
    public init(parser: RequestParser) {
        self.parser = parser
    }

    /// Cuts every complete request off the front of `buffer` as one batch.
    ///
    /// - Throws: the ``ProtocolError`` that stopped parsing, once the requests before it have
    ///   come out.
    /// - Complexity: O(n) in the header lines not parsed before; a bulk's body is skipped.
    public mutating func decode(_ buffer: inout BytesMut) throws(ProtocolError) -> RequestBatch? {
        if let error = heldError {
            heldError = nil
            throw error
        }
        guard buffer.count != unfinishedCount else { return nil }
        spans.removeAll(keepingCapacity: true)
        requests.removeAll(keepingCapacity: true)
        let outcome = buffer.withUnsafeMutableBytes { parser.parse($0, spans: &spans, requests: &requests) }
        bytesNeeded = outcome.bytesNeeded > 0 ? outcome.bytesNeeded : nil
        unfinishedCount = outcome.error == nil ? buffer.count - outcome.consumed : nil
        guard outcome.consumed > 0 else {
            if let error = outcome.error { throw error }
            return nil
        }
        heldError = outcome.error
        let bytes = buffer.split(to: outcome.consumed).freeze()
        return RequestBatch(bytes: bytes, spans: spans, requests: requests)
    }
}
