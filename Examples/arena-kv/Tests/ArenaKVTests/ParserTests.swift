import ArenaKV
import Testing

/// `RequestParser`: both request forms, requests split anywhere, and every protocol error.
@Suite(.timeLimit(.minutes(5))) struct ParserTests {
    let parser = RequestParser(maximumBulkLength: 1 << 20)

    /// Parses `text` and returns the arguments as strings, grouped by request, and the outcome.
    func parse(_ text: String, parser: RequestParser? = nil) -> ([[String]], RequestParser.Outcome) {
        let bytes = Array(text.utf8)
        var spans: [ArgumentSpan] = []
        var requests: [Int] = []
        let outcome = bytes.withUnsafeBytes { (parser ?? self.parser).parse($0, spans: &spans, requests: &requests) }
        var grouped: [[String]] = []
        var next = 0
        for count in requests {
            grouped.append(spans[next..<(next + count)].map { String(decoding: bytes[$0.range], as: UTF8.self) })
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
