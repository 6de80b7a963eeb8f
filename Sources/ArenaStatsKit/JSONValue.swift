/// A JSON value, as read from a statistics document.
///
/// Numbers keep their literal text, so 64-bit counters survive exactly (a `Double` would round
/// them past 2^53) and each figure is converted once, by the reader that knows its type.
/// Objects keep their members in document order; jemalloc repeats some keys (`opt.stats_print`
/// appears twice in 5.3.0), and lookups return the first occurrence.
package enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as its literal text (validated JSON number syntax).
    case number(String)
    /// A string, unescaped.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, members in document order.
    case object(JSONObject)

    /// The member named `key` of an object; `nil` for a missing key or a value that is not an object.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    /// A short name of the value's kind for error messages: "an object", "a string", ….
    package var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses one JSON text.
    ///
    /// Trailing whitespace is allowed; anything else after the value is an error unless
    /// `allowTrailing` is set, in which case the number of bytes after the value is returned.
    ///
    /// - Throws: ``JSONParseError`` naming what was wrong and where.
    /// - Complexity: O(n) in the length of `bytes`; nesting deeper than 256 levels is rejected
    ///   rather than risking the stack.
    package static func parse(
        _ bytes: [UInt8],
        allowTrailing: Bool = false
    ) throws(JSONParseError) -> (value: JSONValue, trailingBytes: Int) {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var parser = JSONParser(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            let trailing = buffer.count - parser.offset
            if trailing > 0 && !allowTrailing {
                throw JSONParseError(
                    reason: .unexpected("\(describeByte(buffer[parser.offset])) after the end of the JSON value"),
                    offset: parser.offset,
                    in: buffer
                )
            }
            return (value, trailing)
        }
    }

    /// Parses one JSON value that starts at `offset` of `bytes`, and says where it ends.
    ///
    /// - Parameters:
    ///   - keeping: when set and the value is an object, the values of its other members are
    ///     checked but not kept (they read as `null`), so unrelated JSON costs no memory; inside
    ///     that member, only the sections of jemalloc's statistics that reports read are kept
    ///   (see `JSONParser.keeps(_:depth:)`).
    /// - Returns: the value, the offset just after it, and the keys that repeat in an object
    ///   with a different value (lookups use the first occurrence).
    /// - Throws: ``JSONParseError``, its offset counted from the start of `bytes`.
    package static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>,
        at offset: Int,
        keeping: String? = nil
    ) throws(JSONParseError) -> (value: JSONValue, end: Int, conflictingKeys: [String]) {
        var parser = JSONParser(bytes: bytes)
        parser.offset = offset
        parser.keepOnly = keeping
        let value = try parser.parseValue(depth: 0)
        return (value, parser.offset, parser.conflictingKeys)
    }
}

/// The members of a JSON object, in document order, with lookup by key.
package struct JSONObject: Sendable, Equatable {
    /// One `"key": value` member.
    package struct Member: Sendable, Equatable {
        /// The member's key.
        package var key: String
        /// The member's value.
        package var value: JSONValue
    }

    /// The members in document order (keys may repeat).
    package private(set) var members: [Member] = []
    /// The position of each key's first member, once the object has more than
    /// `indexThreshold` members (smaller ones are searched: a dictionary per small object
    /// would double the memory a document takes).
    private var firstIndex: [String: Int] = [:]
    private static let indexThreshold = 16

    /// An empty object.
    package init() {}

    /// Appends a member; a repeated key keeps its first value for lookups.
    ///
    /// - Returns: `true` when `key` is already a member with a different value.
    @discardableResult
    package mutating func append(key: String, value: JSONValue) -> Bool {
        var conflicts = false
        if let first = position(of: key) {
            conflicts = members[first].value != value
        } else if members.count >= Self.indexThreshold {
            firstIndex[key] = members.count
        }
        members.append(Member(key: key, value: value))
        if members.count == Self.indexThreshold {
            for (offset, member) in members.enumerated() where firstIndex[member.key] == nil {
                firstIndex[member.key] = offset
            }
        }
        return conflicts
    }

    /// The position of the first member named `key`.
    private func position(of key: String) -> Int? {
        if members.count >= Self.indexThreshold { return firstIndex[key] }
        return members.firstIndex { $0.key == key }
    }

    /// The value of the first member named `key`.
    package subscript(key: String) -> JSONValue? {
        guard let index = position(of: key) else { return nil }
        return members[index].value
    }

    /// The keys, in document order, each once.
    package var keys: [String] {
        members.enumerated().compactMap { position(of: $0.element.key) == $0.offset ? $0.element.key : nil }
    }

    /// Two objects are equal when they have the same members in the same order.
    package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members == rhs.members
    }
}

/// Why a JSON text could not be parsed, and where.
package struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    package enum Reason: Sendable, Equatable {
        /// The input ended inside a value; the associated text says inside what ("an object").
        case truncated(inside: String)
        /// Something other than what the grammar allows at this point.
        case unexpected(String)
        /// Nesting deeper than the parser accepts.
        case tooDeep
    }

    /// What went wrong.
    package var reason: Reason
    /// The byte offset of the problem.
    package var offset: Int
    /// The 1-based line of the problem.
    package var line: Int
    /// The 1-based column (in bytes) of the problem.
    package var column: Int

    /// Creates an error at `offset` of `bytes`, computing its line and column.
    init<Bytes: RandomAccessCollection<UInt8>>(reason: Reason, offset: Int, in bytes: Bytes) where Bytes.Index == Int {
        self.reason = reason
        self.offset = offset
        var line = 1
        var lineStart = 0
        for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        self.line = line
        self.column = offset - lineStart + 1
    }

    /// Whether the input simply stopped early (as a dump cut off mid-write does).
    package var isTruncation: Bool {
        if case .truncated = reason { return true }
        return false
    }

    /// One line: what is wrong and where.
    package var description: String {
        switch reason {
        case .truncated(let inside):
            "the input ends inside \(inside) at line \(line), column \(column)"
        case .unexpected(let what):
            "unexpected \(what) at line \(line), column \(column)"
        case .tooDeep:
            "nesting deeper than \(JSONParser.maximumDepth) levels at line \(line), column \(column)"
        }
    }
}

/// Describes a byte for an error message: `'x'`, or `byte 0xC3` when not printable ASCII.
func describeByte(_ byte: UInt8) -> String {
    if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
    return "byte 0x" + String(byte, radix: 16, uppercase: true)
}

// MARK: - Parser

/// A recursive-descent parser over UTF-8 bytes (RFC 8259).
///
/// It reads through a buffer pointer, valid for the duration of ``JSONValue/parse(_:allowTrailing:)``,
/// so that even debug builds read a byte without touching a reference count.
struct JSONParser {
    static let maximumDepth = 256

    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0
    /// When set, a top-level object keeps only this member's value (see `JSONValue.parse(_:at:keeping:)`).
    var keepOnly: String?
    /// Whether values are being checked without being kept.
    var skipping = false
    /// Keys that repeated with a different value.
    var conflictingKeys: [String] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private func error(_ reason: JSONParseError.Reason, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(reason: reason, offset: offset ?? self.offset, in: bytes)
    }

    private var atEnd: Bool { offset >= bytes.count }

    /// The sections of jemalloc's statistics a report reads. Others are checked, not kept:
    /// at the top level all but `keepOnly`; inside it all but these; at any depth the mutex,
    /// extent and HPA statistics (their presence is kept, as `null`).
    static let statisticsSections: Set<String> = ["version", "arenas", "stats", "stats.arenas"]
    static let unreadSections: Set<String> = ["mutexes", "extents", "hpa_shard"]

    static func keeps(_ key: String, depth: Int, keepOnly: String) -> Bool {
        switch depth {
        case 1: key == keepOnly
        case 2: statisticsSections.contains(key)
        default: !unreadSections.contains(key)
        }
    }

    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard !atEnd else { throw error(.truncated(inside: "the document, where a value was expected")) }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error(.unexpected("\(describeByte(bytes[offset])) where a value was expected"))
        }
    }

    private mutating func parseLiteral(_ word: String, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        for expected in word.utf8 {
            guard !atEnd else { throw error(.truncated(inside: "the literal \(word)")) }
            guard bytes[offset] == expected else {
                throw error(.unexpected("\(describeByte(bytes[offset])) in what looks like \(word)"))
            }
            offset += 1
        }
        return value
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error(.tooDeep) }
        offset += 1  // {
        var object = JSONObject()
        skipWhitespace()
        if !atEnd && bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard !atEnd else { throw error(.truncated(inside: "an object")) }
            guard bytes[offset] == UInt8(ascii: "\"") else {
                throw error(.unexpected("\(describeByte(bytes[offset])) where an object key was expected"))
            }
            let key = try parseString()
            skipWhitespace()
            guard !atEnd else { throw error(.truncated(inside: "an object")) }
            guard bytes[offset] == UInt8(ascii: ":") else {
                throw error(.unexpected("\(describeByte(bytes[offset])) where ':' was expected"))
            }
            offset += 1
            skipWhitespace()
            guard !atEnd else { throw error(.truncated(inside: "an object")) }
            if skipping {
                _ = try parseValue(depth: depth)
            } else if let keepOnly, !Self.keeps(key, depth: depth, keepOnly: keepOnly) {
                skipping = true
                _ = try parseValue(depth: depth)
                skipping = false
                object.append(key: key, value: .null)
            } else {
                let value = try parseValue(depth: depth)
                if object.append(key: key, value: value) { conflictingKeys.append(key) }
            }
            skipWhitespace()
            guard !atEnd else { throw error(.truncated(inside: "an object")) }
            switch bytes[offset] {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                return .object(object)
            default: throw error(.unexpected("\(describeByte(bytes[offset])) where ',' or '}' was expected"))
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error(.tooDeep) }
        offset += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if !atEnd && bytes[offset] == UInt8(ascii: "]") {
            offset += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            guard !atEnd else { throw error(.truncated(inside: "an array")) }
            let element = try parseValue(depth: depth)
            if !skipping { elements.append(element) }
            skipWhitespace()
            guard !atEnd else { throw error(.truncated(inside: "an array")) }
            switch bytes[offset] {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                return .array(elements)
            default: throw error(.unexpected("\(describeByte(bytes[offset])) where ',' or ']' was expected"))
            }
        }
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        offset += 1  // "
        var scalars = String.UnicodeScalarView()
        var runStart = offset
        // Appends the unescaped run before `offset`, validating its UTF-8.
        func flushRun(_ parser: inout JSONParser) throws(JSONParseError) {
            guard runStart < parser.offset else { return }
            let run = UnsafeBufferPointer(rebasing: parser.bytes[runStart..<parser.offset])
            if parser.skipping {
                var decoder = UTF8()
                var iterator = run.makeIterator()
                while true {
                    switch decoder.decode(&iterator) {
                    case .scalarValue: continue
                    case .emptyInput: return
                    case .error: throw parser.error(.unexpected("invalid UTF-8 in a string"), at: runStart)
                    }
                }
            }
            guard let run = String(validating: run, as: UTF8.self) else {
                throw parser.error(.unexpected("invalid UTF-8 in a string"), at: runStart)
            }
            scalars.append(contentsOf: run.unicodeScalars)
        }
        while true {
            guard !atEnd else { throw error(.truncated(inside: "a string")) }
            let byte = bytes[offset]
            switch byte {
            case UInt8(ascii: "\""):
                try flushRun(&self)
                offset += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flushRun(&self)
                offset += 1
                scalars.append(try parseEscape())
                runStart = offset
            case 0x00..<0x20:
                throw error(.unexpected("control character \(describeByte(byte)) in a string"))
            default:
                offset += 1
            }
        }
    }

    private mutating func parseEscape() throws(JSONParseError) -> Unicode.Scalar {
        guard !atEnd else { throw error(.truncated(inside: "a string escape")) }
        let byte = bytes[offset]
        offset += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let first = try parseHex4()
            if (0xD800..<0xDC00).contains(first) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard offset + 1 < bytes.count else { throw error(.truncated(inside: "a string escape")) }
                guard bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                    throw error(.unexpected("lone surrogate \\u\(String(first, radix: 16)) in a string"))
                }
                offset += 2
                let second = try parseHex4()
                guard (0xDC00..<0xE000).contains(second) else {
                    throw error(.unexpected("invalid surrogate pair in a string"))
                }
                let value = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                return Unicode.Scalar(value)!
            }
            guard let scalar = Unicode.Scalar(first) else {
                throw error(.unexpected("lone surrogate \\u\(String(first, radix: 16)) in a string"))
            }
            return scalar
        default:
            throw error(.unexpected("escape '\\\(Character(Unicode.Scalar(byte)))' in a string"), at: offset - 2)
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard !atEnd else { throw error(.truncated(inside: "a string escape")) }
            let byte = bytes[offset]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error(.unexpected("\(describeByte(byte)) in a \\u escape"))
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = offset
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        func digits(_ parser: inout JSONParser) throws(JSONParseError) {
            guard !parser.atEnd else { throw parser.error(.truncated(inside: "a number")) }
            guard isDigit(parser.bytes[parser.offset]) else {
                throw parser.error(.unexpected("\(describeByte(parser.bytes[parser.offset])) in a number"))
            }
            while !parser.atEnd && isDigit(parser.bytes[parser.offset]) { parser.offset += 1 }
        }
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard !atEnd else { throw error(.truncated(inside: "a number")) }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else {
            try digits(&self)
        }
        if !atEnd && bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            try digits(&self)
        }
        if !atEnd && (bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E")) {
            offset += 1
            if !atEnd && (bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-")) { offset += 1 }
            try digits(&self)
        }
        if skipping { return .null }
        return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self))
    }
}
