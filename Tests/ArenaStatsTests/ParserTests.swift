import Arena
import ArenaStatsKit
import ArenaToolSupport
import Testing

/// The JSON reader and the document model, on hand-made and real input.
@Suite(.timeLimit(.minutes(5))) struct ParserTests {
    @Test func parsesValuesExactly() throws {
        let text =
            #"{"a": [1, -2.5e3, 18446744073709551615], "s": "tab\there \"q\" \u00e9 \ud83d\ude00", "t": true, "n": null, "a": 0}"#
        let (value, trailing) = try JSONValue.parse(Array(text.utf8))
        #expect(trailing == 0)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .number("18446744073709551615")]))
        #expect(value["s"] == .string("tab\there \"q\" é 😀"))
        #expect(value["t"] == .bool(true))
        #expect(value["n"] == .null)
        guard case .object(let object) = value else { Issue.record("not an object"); return }
        #expect(object.keys == ["a", "s", "t", "n"], "a repeated key is listed once")
        #expect(object.members.count == 5, "and kept in the members")
    }

    @Test(arguments: [
        (#"{"a" 1}"#, "unexpected '1' where ':' was expected at line 1, column 6"),
        ("[1,,2]", "unexpected ',' where a value was expected at line 1, column 4"),
        ("{\n  \"a\": tru }", "unexpected ' ' in what looks like true at line 2, column 11"),
        (#"["\x"]"#, #"unexpected escape '\x' in a string at line 1, column 3"#),
        ("[01]", "unexpected '1' where ',' or ']' was expected at line 1, column 3"),
        ("[1] [2]", "unexpected '[' after the end of the JSON value at line 1, column 5"),
    ])
    func reportsWhereJSONIsWrong(text: String, message: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(text.utf8)) }
        do {
            _ = try JSONValue.parse(Array(text.utf8))
        } catch {
            #expect(error.description == message)
            #expect(!error.isTruncation)
        }
    }

    @Test func everyCutOfADocumentIsTruncation() throws {
        let text =
            #"{"jemalloc": {"version": "5.3.0", "stats": {"allocated": 12, "active": 4096}, "x": [true, null, -1.5e2, "\u00e9"]}}"#
        let bytes = Array(text.utf8)
        for cut in 1..<bytes.count {
            do {
                _ = try StatsDocument.parse(Array(bytes[..<cut]), source: "cut")
                Issue.record("a document cut at \(cut) was accepted")
            } catch {
                #expect(error.kind == .truncated, "cut at \(cut): \(error)")
            }
        }
    }

    @Test func cutsOfARealDumpAreTruncation() throws {
        let dump = try JemallocDumps.full.get()
        let lastBrace = try #require(dump.lastIndex(of: UInt8(ascii: "}")))
        let step = max(1, lastBrace / 40)
        for cut in stride(from: 1, to: lastBrace, by: step) {
            do {
                _ = try StatsDocument.parse(Array(dump[..<cut]), source: "cut")
                Issue.record("a dump cut at \(cut) of \(dump.count) bytes was accepted")
            } catch {
                #expect(error.kind == .truncated, "cut at \(cut): \(error)")
            }
        }
        #expect(throws: Never.self) { try StatsDocument.parse(Array(dump[...lastBrace]), source: "whole") }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000)
        do {
            _ = try JSONValue.parse(deep)
            Issue.record("accepted")
        } catch {
            #expect(error.reason == .tooDeep)
        }
    }

    @Test func readsTheOwnProcessStatistics() throws {
        #if Jemalloc
        let arena = try ArenaAllocator(.init(name: "own"))
        let region = try arena.allocate(byteCount: 100)
        let document = try StatsDocument.parse(Array(Jemalloc.statisticsJSON().utf8), source: "own")
        let index = try #require(arena.jemallocArenaIndex)
        let figures = try #require(document.arena(.index(Int(index))))
        #expect(figures.largeAllocated == arena.configuration.chunkSize)
        #expect(document.version == Jemalloc.version)
        withExtendedLifetime(region) {}
        #endif
    }

    @Test func sumsArenasWhenMergedIsAbsent() throws {
        var first = ArenaFigures(key: .index(0))
        first.bins = [BinCounters(regionsInUse: 3, slabs: 1), BinCounters(regionsInUse: 0, slabs: 0)]
        first.largeClassCounts = [1]
        var second = ArenaFigures(key: .index(2))
        second.bins = [BinCounters(regionsInUse: 5, slabs: 2), BinCounters(regionsInUse: 1, slabs: 1)]
        second.largeClassCounts = [2]
        let general = StatsDocument.General(
            pageSize: 4096,
            binClasses: [
                .init(size: 8, regionsPerSlab: 512, slabSize: 4096),
                .init(size: 16, regionsPerSlab: 256, slabSize: 4096),
            ],
            largeClassSizes: [16384]
        )
        let document = StatsDocument(general: general, arenas: [first, second])
        let report = try StatsReport(document: document, source: "made")
        #expect(report.sizeClassScope == "sum of arenas 0, 2")
        #expect(report.sizeClasses.map(\.regionsInUse) == [8, 1])
        #expect(report.sizeClasses.map(\.wastedBytes) == [(3 * 512 - 8) * 8, 255 * 16])
        #expect(report.largeClasses.map(\.bytes) == [3 * 16384])
        #expect(report.topWasters.map(\.index) == [0, 1])
    }
}

@Suite(.timeLimit(.minutes(5))) struct FormatTests {
    @Test func numbers() {
        #expect(Format.fixed(0.26154, digits: 1) == "0.3")
        #expect(Format.fixed(-1.25, digits: 1) == "-1.3")
        #expect(Format.fixed(-0.01, digits: 1) == "0.0")
        #expect(Format.fixed(12, digits: 0) == "12")
        #expect(Format.percent(0.2615) == "26.2%")
        #expect(Format.percent(nil) == "-")
        #expect(Format.humanBytes(1000) == "1000 B")
        #expect(Format.humanBytes(950_480) == "928.2 KiB")
        #expect(Format.humanBytes(3 << 30) == "3.0 GiB")
        #expect(Format.humanChange(-16) == "-16 B")
        #expect(Format.humanChange(2048) == "+2.0 KiB")
    }

    @Test func bars() {
        #expect(Format.bar(0.5, width: 4) == "██  ")
        #expect(Format.bar(1, width: 3) == "███")
        #expect(Format.bar(0, width: 3) == "   ")
        #expect(Format.bar(0.5, width: 1) == "▌")
        #expect(Format.bar(1 / 16, width: 1) == "▏")
        #expect(Format.bar(nil, width: 2) == "  ")
        #expect(Format.unknownBar(width: 3) == "?··", "unknown does not read as 0%")
        #expect(Format.bar(7, width: 2) == "██")
        for step in 0...64 {
            #expect(Format.bar(Double(step) / 64, width: 8).count == 8)
        }
    }

    @Test func siteNamesKeepTheFunctionAndItsLabels() {
        let cases: [(String, String)] = [
            (
                "ArenaStatsKit.Workload.Requests.small(Swift.Int) throws(Arena.ArenaError) -> Arena.Region",
                "ArenaStatsKit.Workload.Requests.small(_:)"
            ),
            (
                "ArenaStressKit.makeWriter(capacity: Swift.Int, in: Arena.ArenaAllocator, into: inout "
                    + "Swift.Optional<ArenaBytes.BytesMut>) -> Swift.Optional<Arena.ArenaError>",
                "ArenaStressKit.makeWriter(capacity:in:into:)"
            ),
            (
                "request #1 (Swift.Int) throws(Arena.ArenaError) -> Arena.Region in ArenaStatsKit.Workload"
                    + ".perform(on: Arena.ArenaAllocator, seed: Swift.UInt64, scale: Swift.Int) -> ()",
                "request #1 in ArenaStatsKit.Workload.perform(on:seed:scale:)"
            ),
            ("Demo.keep(_: [Swift.String : (Swift.Int, Swift.Int)], by: (Swift.Int) -> ())", "Demo.keep(_:by:)"),
            (
                "generic specialization <Swift.Int> of Demo.run<A>(A) -> A",
                "generic specialization <Swift.Int> of Demo.run<A>(_:)"
            ),
            ("Demo.Worker.run() throws(Demo.Violation) -> ()", "Demo.Worker.run()"),
            ("malloc", "malloc"),
            ("libfoo.so+0x1f0", "libfoo.so+0x1f0"),
            ("Demo.broken(x: Swift.Int", "Demo.broken(x: Swift.Int"),
        ]
        for (name, short) in cases {
            #expect(shortFunctionName(name) == short, "\(name)")
        }
        let long = "Module." + String(repeating: "a", count: 100) + "()"
        #expect(Format.siteName(long).count == Format.siteNameWidth && Format.siteName(long).hasSuffix("…"))
    }

    @Test func tablesAlign() {
        var table = TextTable([.init("name", .left), .init("bytes")])
        table.append(["a", "1"])
        table.append(["longer", "123456"])
        #expect(table.render(indent: 0) == "name     bytes\n------  ------\na            1\nlonger  123456")
    }
}
