#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one argument of a request lies in the receive buffer: a byte offset and a length.
public struct ArgumentSpan: Equatable, Sendable {
    /// The offset of the argument's first byte.
    public var start: Int
    /// The argument's length in bytes.
    public var count: Int

    /// Creates a span.
    public init(start: Int, count: Int) {
        self.start = start
        self.count = count
    }

    /// The span as a range of offsets.
    public var range: Range<Int> { start..<(start + count) }
}

/// A request the server cannot make sense of. The client gets ``message`` and its connection is
/// closed, as Redis does; other clients are not affected.
public enum ProtocolError: Error, Equatable, Sendable {
    /// A multibulk count that is not a number or is over ``RequestParser/maximumArguments``.
    case invalidMultibulkLength
    /// A bulk length that is not a number, is negative, or is over the bulk limit.
    case invalidBulkLength
    /// A multibulk argument that does not start with `$`.
    case expectedBulk(got: UInt8)
    /// A count line of a multibulk request longer than the inline limit without `\r`.
    case tooBigCountLine
    /// A bulk length line longer than the inline limit without `\r`.
    case tooBigBulkCountLine
    /// An inline request with a quote that does not close, or a closing quote followed by
    /// something other than a space.
    case unbalancedQuotes
    /// An inline request longer than the inline limit without a newline.
    case tooBigInlineRequest
    /// More than the per-connection limit buffered for one unfinished request.
    case queryBufferLimitExceeded

    /// The RESP error line (without `-` and `\r\n`).
    public var message: String {
        switch self {
        case .invalidMultibulkLength: "ERR Protocol error: invalid multibulk length"
        case .invalidBulkLength: "ERR Protocol error: invalid bulk length"
        case .expectedBulk(let byte):
            // As Redis does, a line break in an error becomes a space: the reply stays one line.
            "ERR Protocol error: expected '$', got '\(byte == 13 || byte == 10 ? " " : String(UnicodeScalar(byte)))'"
        case .tooBigCountLine: "ERR Protocol error: too big mbulk count string"
        case .tooBigBulkCountLine: "ERR Protocol error: too big bulk count string"
        case .unbalancedQuotes: "ERR Protocol error: unbalanced quotes in request"
        case .tooBigInlineRequest: "ERR Protocol error: too big inline request"
        case .queryBufferLimitExceeded: "ERR Protocol error: client query buffer limit exceeded"
        }
    }
}

/// Finds the complete requests at the front of a receive buffer, without copying: each
/// argument comes out as an ``ArgumentSpan`` into the buffer.
///
/// Both request forms of RESP2 are understood: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`,
/// what clients send) and inline (`GET k\r\n`, what a person types into `nc`; words split at
/// white space, a word may be quoted with `"` or `'`, and an unbalanced quote is an error; the
/// escapes inside quotes are not decoded, since arguments are spans of the request). The parser keeps no state between calls: an unfinished request
/// is parsed again from its start when more bytes arrive, which costs a look at its header lines
/// only, since a bulk's body is skipped by its length.
public struct RequestParser: Sendable {
    /// The most arguments one multibulk request may have (Redis's figure).
    public static let maximumArguments = 1024 * 1024
    /// The longest inline request, and the longest count line (Redis's figure, 64 KiB).
    public static let maximumInlineLength = 64 * 1024

    /// The longest bulk string accepted; longer ones are a protocol error.
    public var maximumBulkLength: Int

    /// Creates a parser that accepts bulk strings up to `maximumBulkLength` bytes.
    public init(maximumBulkLength: Int) {
        self.maximumBulkLength = maximumBulkLength
    }

    /// What one call found.
    public struct Outcome: Equatable, Sendable {
        /// The bytes taken by complete requests (and empty lines), from the front.
        public var consumed: Int
        /// The problem that stopped parsing, after the complete requests before it.
        public var error: ProtocolError?
        /// When the next request is unfinished and its size is known so far: the bytes it
        /// needs at least, counted from `consumed`. 0 when unknown.
        public var bytesNeeded: Int
    }

    /// Parses the complete requests at the front of `buffer`.
    ///
    /// Appends each argument's span to `spans` and each request's argument count to
    /// `requests`, in order; an unfinished request at the end adds nothing.
    public func parse(
        _ buffer: UnsafeRawBufferPointer,
        spans: inout [ArgumentSpan],
        requests: inout [Int]
    ) -> Outcome {
        var cursor = Cursor(buffer)
        var outcome = Outcome(consumed: 0, error: nil, bytesNeeded: 0)
        while !cursor.atEnd {
            let spansBefore = spans.count
            let step: Step =
                cursor.peek == UInt8(ascii: "*")
                ? multibulk(&cursor, spans: &spans) : inline(&cursor, spans: &spans)
            switch step {
            case .request(let arguments):
                if arguments > 0 { requests.append(arguments) }
                outcome.consumed = cursor.position
            case .unfinished(let needed):
                spans.removeSubrange(spansBefore...)
                outcome.bytesNeeded = needed == 0 ? 0 : needed - outcome.consumed
                return outcome
            case .failure(let error):
                spans.removeSubrange(spansBefore...)
                outcome.error = error
                return outcome
            }
        }
        return outcome
    }

    /// What parsing one request gave.
    private enum Step {
        /// A whole request with this many arguments (0: an empty one, which gets no reply).
        case request(Int)
        /// Not all there yet; the total bytes from the buffer's start it needs, or 0 if unknown.
        case unfinished(needed: Int)
        /// A protocol error.
        case failure(ProtocolError)
    }

    private func multibulk(_ cursor: inout Cursor, spans: inout [ArgumentSpan]) -> Step {
        guard let count = cursor.numberLine(after: UInt8(ascii: "*")) else {
            return cursor.remaining > Self.maximumInlineLength ? .failure(.tooBigCountLine) : .unfinished(needed: 0)
        }
        guard let count, count <= Self.maximumArguments else { return .failure(.invalidMultibulkLength) }
        guard count > 0 else { return .request(0) }
        for _ in 0..<count {
            if cursor.atEnd { return .unfinished(needed: 0) }
            let marker = cursor.peek
            guard marker == UInt8(ascii: "$") else { return .failure(.expectedBulk(got: marker)) }
            guard let length = cursor.numberLine(after: marker) else {
                return cursor.remaining > Self.maximumInlineLength
                    ? .failure(.tooBigBulkCountLine) : .unfinished(needed: 0)
            }
            guard let length, length >= 0, length <= maximumBulkLength else { return .failure(.invalidBulkLength) }
            // The body and its `\r\n`, which is skipped unread, as Redis does.
            guard cursor.remaining >= length + 2 else {
                return .unfinished(needed: cursor.position + length + 2)
            }
            spans.append(ArgumentSpan(start: cursor.position, count: length))
            cursor.position += length + 2
        }
        return .request(count)
    }

    private func inline(_ cursor: inout Cursor, spans: inout [ArgumentSpan]) -> Step {
        guard let newline = cursor.find(UInt8(ascii: "\n")) else {
            return cursor.remaining > Self.maximumInlineLength ? .failure(.tooBigInlineRequest) : .unfinished(needed: 0)
        }
        var end = newline
        if end > cursor.position && cursor[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var arguments = 0
        var index = cursor.position
        // Words split at white space (a `\r` inside the line too), as Redis's sdssplitargs;
        // a word that starts with a quote ends at the matching quote, which must be followed
        // by white space or the end of the line. The span is what lies between the quotes:
        // escapes inside (`\"`, `\x41`) are kept as written, not decoded.
        func isSpace(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || (byte >= 0x09 && byte <= 0x0D)
        }
        while index < end {
            while index < end && isSpace(cursor[index]) { index += 1 }
            guard index < end else { break }
            let quote = cursor[index]
            if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
                index += 1
                let start = index
                var closed = false
                while index < end {
                    if cursor[index] == UInt8(ascii: "\\") && index + 1 < end
                        && (quote == UInt8(ascii: "\"") || cursor[index + 1] == UInt8(ascii: "'"))
                    {
                        index += 2
                        continue
                    }
                    if cursor[index] == quote {
                        closed = true
                        break
                    }
                    index += 1
                }
                guard closed, index + 1 >= end || isSpace(cursor[index + 1]) else {
                    return .failure(.unbalancedQuotes)
                }
                spans.append(ArgumentSpan(start: start, count: index - start))
                arguments += 1
                index += 1
                continue
            }
            let start = index
            while index < end && !isSpace(cursor[index]) {
                if cursor[index] == UInt8(ascii: "\"") || cursor[index] == UInt8(ascii: "'") {
                    // A quote inside a word opens a quoted part Redis would join to the word:
                    // the word's bytes are then not contiguous in the request.
                    return .failure(.unbalancedQuotes)
                }
                index += 1
            }
            spans.append(ArgumentSpan(start: start, count: index - start))
            arguments += 1
        }
        cursor.position = newline + 1
        return .request(arguments)
    }
}

/// A read position in the buffer being parsed.
private struct Cursor {
    let base: UnsafePointer<UInt8>?
    let end: Int
    var position = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        end = buffer.count
    }

    var atEnd: Bool { position >= end }
    var remaining: Int { end - position }
    var peek: UInt8 { base.unsafelyUnwrapped[position] }

    subscript(index: Int) -> UInt8 { base.unsafelyUnwrapped[index] }

    /// The offset of the first `byte` at or after the position, or nil.
    func find(_ byte: UInt8) -> Int? {
        guard let base, position < end else { return nil }
        guard let found = memchr(base + position, Int32(byte), end - position) else { return nil }
        return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
    }

    /// Reads a `<marker><decimal>\r\n` line and moves past it.
    ///
    /// - Returns: nil when the line is not complete yet; `.some(nil)` when it is complete but
    ///   not a number (a leading `-` is allowed, at most 18 digits).
    mutating func numberLine(after marker: UInt8) -> Int?? {
        guard let carriageReturn = find(UInt8(ascii: "\r")), carriageReturn + 1 < end else { return nil }
        var index = position + 1
        let negative = index < carriageReturn && self[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digits = carriageReturn - index
        position = carriageReturn + 2
        guard digits > 0 && digits <= 18 else { return .some(nil) }
        // As Redis's string2ll: no leading zero (`*01`, `$04`) and no `-0`.
        if self[index] == UInt8(ascii: "0") && (digits > 1 || negative) { return .some(nil) }
        var value = 0
        while index < carriageReturn {
            let digit = self[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return .some(nil) }
            value = value * 10 + Int(digit)
            index += 1
        }
        return .some(negative ? -value : value)
    }
}
