import ArenaKV
import Testing

/// `GlobPattern`: Redis 7.0's `stringmatchlen`, quirks included. Each row's answer is what
/// redis-server 7.0.15 gave to `KEYS pattern` with only that key stored.
@Suite(.timeLimit(.minutes(2))) struct GlobTests {
    /// `text` as bytes, one per scalar (the scalars here are below 256).
    static func bytes(_ text: String) -> [UInt8] { text.unicodeScalars.map { UInt8($0.value) } }

    static let redisAnswers: [(String, String, Bool)] = [
        ("h?llo", "hello", true),
        ("h?llo", "hllo", false),
        ("h*llo", "hllo", true),
        ("h*llo", "heeeello", true),
        ("h[ae]llo", "hello", true),
        ("h[ae]llo", "hillo", false),
        ("h[^e]llo", "hallo", true),
        ("h[^e]llo", "hello", false),
        ("h[a-b]llo", "hbllo", true),
        ("h[b-a]llo", "hallo", true),
        ("h\\*llo", "h*llo", true),
        ("h\\*llo", "hello", false),
        ("*", "x", true),
        ("**", "x", true),
        ("a*", "a", true),
        ("a**", "a", true),
        ("a?*", "a", false),
        ("*a", "a", true),
        ("*a*", "bab", true),
        ("[abc", "b", true),
        ("[abc", "[abc", false),
        ("[", "[", false),
        ("[^", "x", true),
        ("[]", "]", false),
        ("[]a]", "a]", false),
        ("[\\]]", "]", true),
        ("[a-]", "]", true),
        ("[a-]", "-", false),
        ("[a-\u{FF}]", "b", false),
        ("[a-\u{FF}]", "\u{00}", true),
        ("[\u{80}-c]", "\u{80}", true),
        ("[\u{80}-c]", "\u{FF}", true),
        ("a\\", "a\\", true),
        ("a\\", "a", false),
        ("\\", "\\", true),
        ("?", "\u{E9}", true),
        ("[^a-c]", "d", true),
        ("[^a-c]", "b", false),
        ("*b*b*b*b*b*b*b*b*b*c", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", false),
        ("a*b?c", "aXXbYc", true),
        ("a*b?c", "abc", false),
        ("*x", "x", true),
        ("x*y*z", "xyz", true),
        ("x*y*z", "xaybz", true),
        ("[A-Z]", "a", false),
        ("[a-z]", "A", false),
        ("HeLLo", "hello", false),
        ("[\\a-c]", "b", false),
        ("[\\a-c]", "-", true),
        ("[a\\-c]", "b", false),
        ("[a\\-c]", "-", true),
    ]

    @Test(arguments: redisAnswers)
    func matchesAsRedis70(pattern: String, key: String, matches: Bool) {
        #expect(GlobPattern(Self.bytes(pattern)).matches(Self.bytes(key)) == matches)
    }

    /// The empty string matches only the empty pattern; `*` alone is the caller's short cut.
    @Test func emptyStrings() {
        #expect(GlobPattern(Self.bytes("")).matches([UInt8]()))
        #expect(!GlobPattern(Self.bytes("*")).matches([UInt8]()))
        #expect(!GlobPattern(Self.bytes("**")).matches([UInt8]()))
        #expect(GlobPattern(Self.bytes("*")).matchesEverything)
        #expect(!GlobPattern(Self.bytes("**")).matchesEverything)
    }

    /// CONFIG GET's patterns ignore ASCII case, ranges too.
    @Test func ignoringCase() {
        #expect(GlobPattern(Self.bytes("MAX*"), ignoringCase: true).matches(Self.bytes("maxmemory")))
        #expect(GlobPattern(Self.bytes("[A-Z]"), ignoringCase: true).matches(Self.bytes("q")))
        #expect(!GlobPattern(Self.bytes("MAX*")).matches(Self.bytes("maxmemory")))
    }

    /// Stars that a backtracking matcher would try in every combination (2^40 here) end at
    /// once, as in Redis 7.0.9 and later; the suite's time limit catches a matcher without it.
    @Test func hostilePatternsEnd() {
        let pattern = GlobPattern(Array(String(repeating: "a*", count: 40).utf8) + [UInt8(ascii: "b")])
        #expect(!pattern.matches([UInt8](repeating: UInt8(ascii: "a"), count: 4000)))
        #expect(pattern.matches([UInt8](repeating: UInt8(ascii: "a"), count: 4000) + [UInt8(ascii: "b")]))
    }

    /// Patterns nested deeper than 1,000 stars match nothing (Redis 7.2.6's guard; 7.0 would
    /// overflow its stack), and deep ones do not overflow ours.
    @Test func deepNestingMatchesNothing() {
        let text = [UInt8](repeating: UInt8(ascii: "a"), count: 2000)
        let shallow = GlobPattern(Array(String(repeating: "*a", count: 900).utf8))
        #expect(shallow.matches(text))
        let deep = GlobPattern(Array(String(repeating: "*a", count: 1500).utf8))
        #expect(!deep.matches(text))
    }
}
