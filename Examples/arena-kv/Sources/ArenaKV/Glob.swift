/// Redis's glob patterns, for `KEYS`, `SCAN … MATCH` and `CONFIG GET`: a port of
/// `stringmatchlen` from Redis 7.0's `util.c`, quirks included, so a pattern selects what it
/// selects in redis-server.
///
/// - `*` matches any run of bytes, `?` any one byte, `\x` the byte `x` (a trailing `\` itself);
/// - `[abc]` one of a set, `[^abc]` one byte not in it, `[a-z]` a range (the ends may come in
///   either order; as in C on x86, a range compares bytes as *signed* `char`s, so `[a-\xff]`
///   holds `\x00`…`a` but not `b`), `\]` inside a set the byte `]`; a set left open runs to the
///   end of the pattern;
/// - the empty string matches only the empty pattern (`KEYS *` and `SCAN` without `MATCH` or
///   with `MATCH *` take every key without asking the matcher, as Redis does, so an empty key is
///   listed there);
/// - with `ignoringCase` (CONFIG GET), ASCII letters match either case.
///
/// As in Redis 7.0.9 and later, once the rest of a pattern after a `*` has failed at every
/// position of the string, the match stops ("skip longer matches"), so hostile patterns such as
/// `*a*a*a*a*b` cost polynomial time, not exponential. As in Redis 7.2.6 and later (not 7.0,
/// which would overflow its stack), a pattern nested more than 1,000 `*` deep matches nothing.
package struct GlobPattern: Sendable {
    /// The pattern's bytes.
    package let bytes: [UInt8]
    /// Whether ASCII letters match either case.
    package let ignoringCase: Bool

    /// A pattern of `bytes`.
    package init(_ bytes: some Sequence<UInt8>, ignoringCase: Bool = false) {
        self.bytes = Array(bytes)
        self.ignoringCase = ignoringCase
    }

    /// Whether the pattern is `*`, which Redis answers without consulting the matcher: every
    /// string matches, the empty one too.
    package var matchesEverything: Bool { bytes.count == 1 && bytes[0] == UInt8(ascii: "*") }

    /// Whether `text` matches, as `stringmatchlen(pattern, text, nocase)`.
    ///
    /// - Complexity: O(*p* × *t*) for a pattern of *p* and a text of *t* bytes, at worst.
    package func matches(_ text: UnsafeRawBufferPointer) -> Bool {
        bytes.withUnsafeBufferPointer { pattern in
            var skipLongerMatches = false
            return Self.match(
                pattern: pattern,
                text: UnsafeBufferPointer(
                    start: text.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    count: text.count
                ),
                ignoringCase: ignoringCase,
                skipLongerMatches: &skipLongerMatches,
                nesting: 0
            )
        }
    }

    /// Whether the bytes of `text` match.
    package func matches(_ text: some Sequence<UInt8>) -> Bool {
        Array(text).withUnsafeBytes { matches($0) }
    }

    /// `stringmatchlen_impl`, line by line. `p` and `s` are the C code's `pattern` and
    /// `string` as offsets, `patternLength` and `stringLength` its counts. Where the C code
    /// reads the byte after the pattern, it reads the string's terminating NUL: `byte(at:)`
    /// gives 0 there.
    private static func match(
        pattern: UnsafeBufferPointer<UInt8>,
        text: UnsafeBufferPointer<UInt8>,
        ignoringCase: Bool,
        skipLongerMatches: inout Bool,
        nesting: Int
    ) -> Bool {
        if nesting > 1000 { return false }
        var p = 0
        var patternLength = pattern.count
        var s = 0
        var stringLength = text.count
        func byte(at index: Int) -> UInt8 { index < pattern.count ? pattern[index] : 0 }
        /// C's `tolower` on a (signed) `char`.
        func lower(_ value: Int) -> Int { value >= 65 && value <= 90 ? value + 32 : value }
        func signed(_ byte: UInt8) -> Int { Int(Int8(bitPattern: byte)) }
        func same(_ a: UInt8, _ b: UInt8) -> Bool {
            ignoringCase ? lower(signed(a)) == lower(signed(b)) : a == b
        }
        while patternLength > 0 && stringLength > 0 {
            switch pattern[p] {
            case UInt8(ascii: "*"):
                while patternLength > 0 && byte(at: p + 1) == UInt8(ascii: "*") {
                    p += 1
                    patternLength -= 1
                }
                if patternLength == 1 { return true }
                while stringLength > 0 {
                    let rest = UnsafeBufferPointer(rebasing: pattern[(p + 1)...])
                    let tail = UnsafeBufferPointer(rebasing: text[s...])
                    if match(
                        pattern: rest,
                        text: tail,
                        ignoringCase: ignoringCase,
                        skipLongerMatches: &skipLongerMatches,
                        nesting: nesting + 1
                    ) {
                        return true
                    }
                    if skipLongerMatches { return false }
                    s += 1
                    stringLength -= 1
                }
                // The rest failed from every position: no `*` before this one can do better by
                // taking more bytes.
                skipLongerMatches = true
                return false
            case UInt8(ascii: "?"):
                s += 1
                stringLength -= 1
            case UInt8(ascii: "["):
                p += 1
                patternLength -= 1
                let negated = byte(at: p) == UInt8(ascii: "^") && patternLength > 0
                if negated {
                    p += 1
                    patternLength -= 1
                }
                var matched = false
                while true {
                    let current = patternLength > 0 ? pattern[p] : nil
                    if current == UInt8(ascii: "\\") && patternLength >= 2 {
                        p += 1
                        patternLength -= 1
                        if pattern[p] == text[s] { matched = true }
                    } else if current == UInt8(ascii: "]") {
                        break
                    } else if patternLength == 0 {
                        p -= 1
                        patternLength += 1
                        break
                    } else if patternLength >= 3 && pattern[p + 1] == UInt8(ascii: "-") {
                        var start = signed(pattern[p])
                        var end = signed(pattern[p + 2])
                        var character = signed(text[s])
                        if start > end { swap(&start, &end) }
                        if ignoringCase {
                            start = lower(start)
                            end = lower(end)
                            character = lower(character)
                        }
                        p += 2
                        patternLength -= 2
                        if character >= start && character <= end { matched = true }
                    } else if same(pattern[p], text[s]) {
                        matched = true
                    }
                    p += 1
                    patternLength -= 1
                }
                if negated { matched.toggle() }
                if !matched { return false }
                s += 1
                stringLength -= 1
            default:
                if pattern[p] == UInt8(ascii: "\\") && patternLength >= 2 {
                    p += 1
                    patternLength -= 1
                }
                if !same(pattern[p], text[s]) { return false }
                s += 1
                stringLength -= 1
            }
            p += 1
            patternLength -= 1
            if stringLength == 0 {
                while patternLength > 0 && pattern[p] == UInt8(ascii: "*") {
                    p += 1
                    patternLength -= 1
                }
                break
            }
        }
        return patternLength == 0 && stringLength == 0
    }
}
