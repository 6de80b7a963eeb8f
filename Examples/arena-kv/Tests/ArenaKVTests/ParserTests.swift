import ArenaKV
import Testing

/// `RequestParser`: both request forms, requests split anywhere, and every protocol error.
@Suite(.timeLimit(.minutes(5))) struct ParserTests {
    let parser = RequestParser(maximumBulkLength: 1 << 20)

    /// Parses `text` and returns the arguments as strings, grouped by request, and the outcome.
    func parse(_ text: String, parser: RequestParser? = nil) -> ([[String]], RequestParser.Outcome) {
        let (requests, outcome) = parse(bytes: Array(text.utf8), parser: parser)
        return (requests.map { $0.map { String(decoding: $0, as: UTF8.self) } }, outcome)
    }

    /// Parses `bytes` (in a copy, since inline words are decoded in place) and returns the
    /// arguments' bytes, grouped by request, and the outcome.
    func parse(bytes: [UInt8], parser: RequestParser? = nil) -> ([[[UInt8]]], RequestParser.Outcome) {
        var buffer = bytes
        var spans: [ArgumentSpan] = []
        var requests: [Int] = []
        let outcome = buffer.withUnsafeMutableBytes {
            (parser ?? self.parser).parse($0, spans: &spans, requests: &requests)
        }
        var grouped: [[[UInt8]]] = []
        var next = 0
        for count in requests {
            grouped.append(spans[next..<(next + count)].map { Array(buffer[$0.range]) })
            next += count
        }
        #expect(next == spans.count, "spans left over for an unfinished request")
        return (grouped, outcome)
    }

    @Test func multibulkRequestsArePipelined() {
        let text = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        let (requests, outcome) = parse(text)
        #expect(requests == [["SET", "k", "hello"], ["GET", "k"]])
        #expect(outcome.consumed == text.utf8.count)
        #expect(outcome.error == nil)
    }

    @Test func bulkBodiesAreBinarySafe() {
        let text = "*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\0b\r\r\n"
        let (requests, _) = parse(text)
        #expect(requests == [["ECHO", "a\r\n\0b\r"]])
    }

    @Test func inlineRequestsSplitAtSpacesAndTabs() {
        let text = "PING\r\n  SET\tk  v \r\nGET k\n\r\n"
        let (requests, outcome) = parse(text)
        #expect(requests == [["PING"], ["SET", "k", "v"], ["GET", "k"]])
        #expect(outcome.consumed == text.utf8.count)
    }

    /// Inline words as Redis's `sdssplitargs` splits them (each case checked against
    /// redis-server 7.0.15 with raw sockets): escapes in double quotes, only `\'` in single
    /// quotes, quoted parts joined to the bytes before them, `\r` ending a word but `\v` not.
    @Test(
        arguments: [
            (
                #"ECHO "a\x41\n\r\t\b\a\\\"z\q""#,
                [Array("ECHO".utf8), Array("aA\n\r\t".utf8) + [8, 7] + Array(#"\"zq"#.utf8)]
            ),
            (
                #"ECHO "\x4a\x4A" "\xZZ" "\x4" "\X41""#,
                [Array("ECHO".utf8), Array("JJ".utf8), Array("xZZ".utf8), Array("x4".utf8), Array("X41".utf8)]
            ),
            (#"ECHO "\x00\xff""#, [Array("ECHO".utf8), [0, 255]]),
            (#"ECHO 'a\'b\n' 'c\\d'"#, [Array("ECHO".utf8), Array(#"a'b\n"#.utf8), Array(#"c\\d"#.utf8)]),
            (#"ECHO a"b c" x'y z'"#, [Array("ECHO".utf8), Array("ab c".utf8), Array("xy z".utf8)]),
            (#"ECHO "" '' """#, [Array("ECHO".utf8), [], [], []]),
            ("ECHO \"a\rb\"", [Array("ECHO".utf8), Array("a\rb".utf8)]),
            ("ECHO a\rb", [Array("ECHO".utf8), Array("a".utf8), Array("b".utf8)]),
            ("ECHO a\u{0B}b \u{0B}c", [Array("ECHO".utf8), Array("a\u{0B}b".utf8), Array("c".utf8)]),
            ("ECHO \"a\"\u{0C}\"b\"\t'c'\r", [Array("ECHO".utf8), Array("a".utf8), Array("b".utf8), Array("c".utf8)]),
        ] as [(String, [[UInt8]])]
    )
    func inlineWordsAreDecodedAsRedisDoes(line: String, words: [[UInt8]]) {
        let text = Array((line + "\r\n").utf8)
        let (requests, outcome) = parse(bytes: text)
        #expect(requests == [words])
        #expect(outcome.consumed == text.count)
        #expect(outcome.error == nil)
    }

    /// A quote that does not close, or a closing quote followed by anything but white space,
    /// is Redis's protocol error; the requests before it still run.
    @Test(arguments: [
        #"set """test-key""" test-value"#, #"ECHO "a"b"#, "ECHO 'a'b", #"ECHO x'a'y"#, "ECHO a'b", #"ECHO "ab\"#,
        #"ECHO "a\""#, #"ECHO """"#, #"ECHO "a" "b"c"#, "ECHO 'a' 'b",
    ])
    func unbalancedQuotesAreProtocolErrors(line: String) {
        let (requests, outcome) = parse("PING\r\n" + line + "\r\n")
        #expect(requests == [["PING"]])
        #expect(outcome.consumed == 6)
        #expect(outcome.error == .unbalancedQuotes)
    }

    /// A NUL byte before the line's end hides the end, as Redis's `strchr` does: the line waits
    /// for more, and is too big once over the inline limit.
    @Test func aNulByteHidesTheLineEnd() {
        let (requests, outcome) = parse(bytes: Array("PING\r\nECHO a\0b\r\nPING\r\n".utf8))
        #expect(requests == [[Array("PING".utf8)]])
        #expect(outcome.consumed == 6)
        #expect(outcome.error == nil)
        let long =
            Array("ECHO \0\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: RequestParser.maximumInlineLength)
        #expect(parse(bytes: long).1.error == .tooBigInlineRequest)
    }

    /// Counts of zero or below are skipped with no reply, as Redis does.
    @Test func emptyRequestsGetNothing() {
        let text = "*0\r\n*-1\r\n*-2\r\n\r\n*1\r\n$4\r\nPING\r\n"
        let (requests, outcome) = parse(text)
        #expect(requests == [["PING"]])
        #expect(outcome.consumed == text.utf8.count)
    }

    /// Every prefix of a pipelined stream parses to the requests complete in it, and consumes
    /// exactly their bytes: a request split at any byte waits for the rest.
    @Test func everySplitPointWaitsForTheRest() {
        let requests = ["*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n", "PING\r\n", "*1\r\n$4\r\nPING\r\n"]
        let text = requests.joined()
        var ends: [Int] = []
        var total = 0
        for request in requests {
            total += request.utf8.count
            ends.append(total)
        }
        for length in 0...text.utf8.count {
            let prefix = String(decoding: Array(text.utf8)[..<length], as: UTF8.self)
            let (parsed, outcome) = parse(prefix)
            let complete = ends.filter { $0 <= length }
            #expect(parsed.count == complete.count, "prefix of \(length) bytes")
            #expect(outcome.consumed == (complete.last ?? 0), "prefix of \(length) bytes")
            #expect(outcome.error == nil)
        }
    }

    @Test func anUnfinishedBulkSaysHowManyBytesItNeeds() {
        let (requests, outcome) = parse("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nSET\r\n$1000\r\nabc")
        #expect(requests == [["PING"]])
        #expect(outcome.consumed == 14)
        // "*2\r\n$3\r\nSET\r\n$1000\r\n" is 20 bytes, then 1000 and "\r\n".
        #expect(outcome.bytesNeeded == 20 + 1000 + 2)
    }

    @Test(arguments: [
        ("*abc\r\n", ProtocolError.invalidMultibulkLength),
        ("*99999999999\r\n", .invalidMultibulkLength),
        ("*1048577\r\n", .invalidMultibulkLength),
        ("*\r\n", .invalidMultibulkLength),
        ("*1\r\n$-5\r\n", .invalidBulkLength),
        ("*1\r\n$99999999999999\r\n", .invalidBulkLength),
        ("*1\r\n$1048577\r\n", .invalidBulkLength),
        ("*1\r\n$x\r\n", .invalidBulkLength),
        ("*1\r\n:5\r\n", .expectedBulk(got: UInt8(ascii: ":"))),
    ])
    func malformedRequestsAreProtocolErrors(text: String, error: ProtocolError) {
        let (requests, outcome) = parse("PING\r\n" + text)
        #expect(requests == [["PING"]], "requests before the error still run")
        #expect(outcome.consumed == 6)
        #expect(outcome.error == error)
    }

    @Test func overlongLinesWithoutAnEndAreProtocolErrors() {
        let inline = String(repeating: "a", count: RequestParser.maximumInlineLength + 1)
        #expect(parse(inline).1.error == .tooBigInlineRequest)
        #expect(parse(String(inline.prefix(1000))).1.error == nil)
        let count = "*" + String(repeating: "1", count: RequestParser.maximumInlineLength + 1)
        #expect(parse(count).1.error == .tooBigCountLine)
    }

    @Test func bulksLongerThanTheLimitAreRefusedBeforeTheyArrive() {
        let small = RequestParser(maximumBulkLength: 10)
        #expect(parse("*1\r\n$10\r\n0123456789\r\n", parser: small).1.error == nil)
        #expect(parse("*1\r\n$11\r\n", parser: small).1.error == .invalidBulkLength)
    }

    @Test func errorRepliesAreRedisWords() {
        #expect(ProtocolError.invalidMultibulkLength.message == "ERR Protocol error: invalid multibulk length")
        #expect(ProtocolError.invalidBulkLength.message == "ERR Protocol error: invalid bulk length")
        #expect(
            ProtocolError.expectedBulk(got: UInt8(ascii: "x")).message == "ERR Protocol error: expected '$', got 'x'"
        )
        #expect(ProtocolError.tooBigInlineRequest.message == "ERR Protocol error: too big inline request")
    }
}
