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
/// what clients send) and inline (`GET k\r\n`, what a person types into `nc`), split into words
/// as Redis's `sdssplitargs` does:
///
/// - words are separated by white space; a space, tab or `\r` ends a word;
/// - `"…"` may hold spaces and the escapes `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` (any other
///   escaped byte stands for itself: `\\`, `\"`);
/// - `'…'` may hold spaces and only `\'` is an escape;
/// - a quoted part may follow unquoted bytes in a word (`a"b c"` is `ab c`), but a closing quote
///   must be followed by white space or the end of the line, and a quote must close: otherwise
///   the request is ``ProtocolError/unbalancedQuotes``;
/// - a line with a NUL byte before its `\n` does not end there, as in Redis (which looks for
///   the `\n` with `strchr`): it waits for more, up to the inline limit.
///
/// Decoding happens in place: a decoded word is never longer than its text, so its bytes are
/// written over the request, from the word's first byte on, and its span points at them. The
/// parser keeps no state between calls: an unfinished request is parsed again from its start
/// when more bytes arrive, which costs a look at its header lines only, since a bulk's body is
/// skipped by its length (an inline line is decoded only once it is complete).
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
    /// `requests`, in order; an unfinished request at the end adds nothing. The words of a
    /// complete inline request are decoded in place (see the type's comment); multibulk requests
    /// and unfinished ones are left as they are.
    public func parse(
        _ buffer: UnsafeMutableRawBufferPointer,
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
        // Redis finds the line's end with `strchr`, which stops at a NUL byte: a NUL before
        // the `\n` leaves the line unfinished.
        guard let newline = cursor.find(UInt8(ascii: "\n")), !cursor.contains(0, before: newline) else {
            return cursor.remaining > Self.maximumInlineLength ? .failure(.tooBigInlineRequest) : .unfinished(needed: 0)
        }
        var end = newline
        if end > cursor.position && cursor[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var arguments = 0
        var index = cursor.position
        while true {
            while index < end && isSpace(cursor[index]) { index += 1 }
            guard index < end else { break }
            guard let span = Self.decodeWord(&cursor, at: &index, end: end) else { return .failure(.unbalancedQuotes) }
            spans.append(span)
            arguments += 1
        }
        cursor.position = newline + 1
        return .request(arguments)
    }

    /// Decodes the word that starts at `index` (not white space) in place, as `sdssplitargs`
    /// does, and moves `index` past it. Returns where its decoded bytes are (from where the word
    /// started), or nil for unbalanced quotes.
    ///
    /// A `nil` byte below stands for the end of the line, where the C code sees the string's
    /// terminating NUL.
    private static func decodeWord(_ cursor: inout Cursor, at index: inout Int, end: Int) -> ArgumentSpan? {
        let start = index
        var write = index
        var quote: UInt8?
        func byte(_ offset: Int) -> UInt8? { index + offset < end ? cursor[index + offset] : nil }
        func emit(_ value: UInt8) {
            cursor[write] = value
            write += 1
        }
        word: while true {
            let current = byte(0)
            if quote == UInt8(ascii: "\"") {
                if current == UInt8(ascii: "\\"), byte(1) == UInt8(ascii: "x"), let high = byte(2).flatMap(hexValue),
                    let low = byte(3).flatMap(hexValue)
                {
                    emit(high << 4 | low)
                    index += 3
                } else if current == UInt8(ascii: "\\"), let escaped = byte(1) {
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "n"): emit(UInt8(ascii: "\n"))
                    case UInt8(ascii: "r"): emit(UInt8(ascii: "\r"))
                    case UInt8(ascii: "t"): emit(UInt8(ascii: "\t"))
                    case UInt8(ascii: "b"): emit(0x08)
                    case UInt8(ascii: "a"): emit(0x07)
                    default: emit(escaped)
                    }
                } else if current == UInt8(ascii: "\"") {
                    // A closing quote must be followed by white space or nothing at all.
                    if let next = byte(1), !isSpace(next) { return nil }
                    index += 1
                    break word
                } else if let current {
                    emit(current)
                } else {
                    return nil
                }
            } else if quote == UInt8(ascii: "'") {
                if current == UInt8(ascii: "\\") && byte(1) == UInt8(ascii: "'") {
                    index += 1
                    emit(UInt8(ascii: "'"))
                } else if current == UInt8(ascii: "'") {
                    if let next = byte(1), !isSpace(next) { return nil }
                    index += 1
                    break word
                } else if let current {
                    emit(current)
                } else {
                    return nil
                }
            } else {
                switch current {
                case nil, UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    break word
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    quote = current
                case let current?:
                    emit(current)
                }
            }
            index += 1
        }
        return ArgumentSpan(start: start, count: write - start)
    }
}

/// C's `isspace` in the C locale: space, `\t`, `\n`, `\v`, `\f`, `\r`. Words are separated by
/// it; an unquoted word ends only at a space, `\t`, `\n` or `\r` (a `\v` inside a word is kept).
private func isSpace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || (byte >= 0x09 && byte <= 0x0D)
}

/// The value of a hexadecimal digit (either case), or nil.
private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// A read position in the buffer being parsed.
private struct Cursor {
    let base: UnsafeMutablePointer<UInt8>?
    let end: Int
    var position = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        end = buffer.count
    }

    var atEnd: Bool { position >= end }
    var remaining: Int { end - position }
    var peek: UInt8 { base.unsafelyUnwrapped[position] }

    subscript(index: Int) -> UInt8 {
        get { base.unsafelyUnwrapped[index] }
        nonmutating set { base.unsafelyUnwrapped[index] = newValue }
    }

    /// Whether `byte` occurs between the position and `limit`.
    func contains(_ byte: UInt8, before limit: Int) -> Bool {
        guard let base, position < limit else { return false }
        return memchr(base + position, Int32(byte), limit - position) != nil
    }

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
