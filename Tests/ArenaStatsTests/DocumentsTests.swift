import ArenaStatsKit
import ArenaTestSupport
import Foundation
import Testing

/// Inputs with several documents, text around them, duplicate keys: in-process.
@Suite(.timeLimit(.minutes(5))) struct DocumentsTests {
    @Test func readsEveryDocumentAndPicksTheLast() throws {
        let first = try JemallocDumps.full.get()
        let last = try JemallocDumps.small.get()
        let text = try JemallocDumps.text.get()
        let input = text + first + Array("\nprocess output\n".utf8) + text + last + Array("bye\n".utf8)
        let documents = try StatsDocument.parseAll(input, source: "run.log")
        #expect(documents.count == 2)
        let expectedFirst = try StatsDocument.parse(first, source: "a")
        let expectedLast = try StatsDocument.parse(last, source: "b")
        #expect(documents.first?.totals == expectedFirst.totals)
        #expect(documents.last?.totals == expectedLast.totals)
        #expect(documents.last?.offset == text.count + first.count + 16 + text.count)

        let chosen = try StatsDocument.parse(input, source: "run.log")
        #expect(chosen.totals == expectedLast.totals, "the last document by default")
        #expect(chosen.notes.contains { $0.contains("holds 2 statistics documents; this is the last") })
        #expect(chosen.notes.contains { $0.hasPrefix("skipped \(text.count) bytes of text-format reports") })
        #expect(chosen.notes.contains { $0.hasPrefix("ignored 4 bytes") })
        #expect(try StatsDocument.parse(input, source: "run.log", document: 1).totals == expectedFirst.totals)
        #expect(throws: StatsInputError.self) { try StatsDocument.parse(input, source: "run.log", document: 3) }
    }

    @Test func aCutLastDocumentIsNamedNotFatal() throws {
        let dump = try JemallocDumps.small.get()
        let documents = try StatsDocument.parseAll(dump + Array(dump.prefix(dump.count / 2)), source: "cut")
        #expect(documents.count == 1)
        #expect(documents[0].notes.contains { $0.hasPrefix("ignored document 2") && $0.contains("truncated") })
    }

    @Test func garbageIsRefusedFromItsStart() throws {
        var random = TestSeed.generator()
        var garbage = (0..<(StatsDocument.sniffLength + 1000)).map { _ in UInt8.random(in: 0...255, using: &random) }
        garbage[0] = UInt8(ascii: "x")
        #expect(throws: StatsInputError.self) { try StatsDocument.rejectEarly(garbage[...], source: "g") }
        // A prefix that is too short to decide says nothing; one with jemalloc's marker passes.
        #expect(throws: Never.self) { try StatsDocument.rejectEarly(Array("x {\"jem".utf8)[...], source: "g") }
        let marked = Array("log line\n".utf8) + (try JemallocDumps.small.get())
        #expect(throws: Never.self) { try StatsDocument.rejectEarly(marked[...], source: "g") }
    }

    @Test func duplicateKeysUseTheFirstAndWarnWhenTheyDiffer() throws {
        let same = #"{"jemalloc":{"version":"5.3.0","stats":{"allocated":10,"allocated":10,"active":4096}}}"#
        let differ = #"{"jemalloc":{"version":"5.3.0","stats":{"allocated":10,"active":4096,"allocated":99}}}"#
        let quiet = try StatsDocument.parse(Array(same.utf8), source: "same")
        #expect(quiet.warnings.isEmpty)
        let loud = try StatsDocument.parse(Array(differ.utf8), source: "differ")
        #expect(loud.totals?.allocated == 10, "the first occurrence wins")
        #expect(
            loud.warnings == [
                "the key \"allocated\" appears more than once with different values (line 1 on); the first occurrence is used"
            ]
        )
    }

    @Test func unrelatedMembersAreCheckedButNotKept() throws {
        let text = #"{"other": [1, {"a": "b"}, "\u00e9"], "jemalloc": {"stats": {"allocated": 1}}}"#
        let bytes = Array(text.utf8)
        let parsed = try bytes.withUnsafeBufferPointer { try JSONValue.parse($0, at: 0, keeping: "jemalloc") }
        #expect(parsed.end == bytes.count)
        #expect(parsed.value["other"] == .null)
        #expect(parsed.value["jemalloc"]?["stats"]?["allocated"] == .number("1"))
        let broken = Array(#"{"other": [1, 2,], "jemalloc": {}}"#.utf8)
        #expect(throws: JSONParseError.self) {
            try broken.withUnsafeBufferPointer { try JSONValue.parse($0, at: 0, keeping: "jemalloc") }
        }
    }
}

/// The input bounds and the several-document options through the executable.
@Suite(.timeLimit(.minutes(5))) struct InputCommandLineTests {
    @Test func devZeroEndsWithOneLine() throws {
        expectOneLineFailure(try ArenaStatsTool.run(["read", "/dev/zero"]), naming: "/dev/zero", problem: "not JSON")
        let piped = try ArenaStatsTool.run(["read", "-"], stdin: "/dev/zero")
        expectOneLineFailure(piped, naming: "<stdin>", problem: "not JSON")
        let limited = try ArenaStatsTool.run(["read", "-", "--max-input-bytes", "1M"], stdin: "/dev/zero")
        expectOneLineFailure(limited, naming: "<stdin>", problem: "more than 1048576 bytes")
    }

    @Test func inputPastTheLimitIsOneLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("full.json", try JemallocDumps.full.get())
        let result = try ArenaStatsTool.run(["read", file, "--max-input-bytes", "1K"])
        expectOneLineFailure(result, naming: file, problem: "more than 1024 bytes")
        let piped = try ArenaStatsTool.run(["read", "-", "--max-input-bytes", "1K"], stdin: file)
        expectOneLineFailure(piped, naming: "<stdin>", problem: "more than 1024 bytes")
        #expect(try ArenaStatsTool.run(["read", file, "--max-input-bytes", "64M"]).status == 0)
        expectOneLineFailure(
            try ArenaStatsTool.run(["read", file, "--max-input-bytes", "lots"]),
            naming: nil,
            problem: "not a byte count"
        )
    }

    @Test func documentListAndDiffOfOneFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try JemallocDumps.full.get()
        let last = try JemallocDumps.small.get()
        let file = try directory.write("run.log", try JemallocDumps.text.get() + first + last)
        let firstFile = try directory.write("first.json", first)
        let lastFile = try directory.write("last.json", last)

        let report = try ArenaStatsTool.json(StatsReport.self, ["read", file])
        #expect(report.totals == (try ArenaStatsTool.json(StatsReport.self, ["read", lastFile])).totals)
        let chosen = try ArenaStatsTool.json(StatsReport.self, ["read", file, "--document", "1"])
        #expect(chosen.totals == (try ArenaStatsTool.json(StatsReport.self, ["read", firstFile])).totals)

        let list = try ArenaStatsTool.json(DocumentList.self, ["read", file, "--list"])
        #expect(list.documents.map(\.document) == [1, 2])
        #expect(list.documents.last?.offset == (try JemallocDumps.text.get()).count + first.count)
        let table = try ArenaStatsTool.run(["read", file, "--list"])
        #expect(table.stdoutText.contains("2 statistics documents"))

        let diff = try ArenaStatsTool.json(StatsDiff.self, ["diff", file])
        #expect(diff.before.hasSuffix("(document 1)") && diff.after.hasSuffix("(document 2)"))
        let pair = try ArenaStatsTool.json(StatsDiff.self, ["diff", firstFile, lastFile])
        #expect(diff.figures == pair.figures)

        expectOneLineFailure(try ArenaStatsTool.run(["diff", lastFile]), naming: lastFile, problem: "one statistics")
        expectOneLineFailure(
            try ArenaStatsTool.run(["read", file, "--document", "3"]),
            naming: file,
            problem: "no document 3: the input holds 2 documents"
        )
    }

    @Test func aRepeatedKeyWithAnotherValueWarnsOnce() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = #"{"jemalloc":{"version":"5","stats":{"allocated":1,"allocated":2,"active":3,"active":4}}}"#
        let file = try directory.write("dup.json", Array(text.utf8))
        let result = try ArenaStatsTool.run(["read", file])
        #expect(result.status == 0)
        #expect(result.stderrLines.count == 1)
        #expect(result.stderrText.hasPrefix("arena-stats: warning: \(file): the key \"allocated\""))
    }

    @Test func helpVersionAndTopMessages() throws {
        let version = try ArenaStatsTool.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdoutText.hasPrefix("arena-stats 0.1.0-dev (jemalloc 5."), "\(version.stdoutText)")
        let help = try ArenaStatsTool.run(["--help"])
        #expect(help.stdoutText.contains("Examples:"))
        let readHelp = try ArenaStatsTool.run(["read", "--help"])
        #expect(readHelp.stdoutText.contains("List size classes with nothing in use too."))
        #expect(!readHelp.stdoutText.contains("diff:"))
        #expect(readHelp.stdoutText.contains("the first") && readHelp.stdoutText.contains("occurrence is used"))
        #expect(readHelp.stdoutText.contains("--max-input-bytes"))
        let top = try ArenaStatsTool.run(["read", "x.json", "--top", "-1"])
        expectOneLineFailure(top, naming: nil, problem: "--top must not be negative, not -1")
    }

    @Test func unknownUtilizationIsNotDrawnAsEmpty() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("nog.json", try JemallocDumps.dump(options: "Jg", count: 200, threads: 1))
        let result = try ArenaStatsTool.run(["read", file])
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.contains("|?···"))
        let totals = try ArenaStatsTool.run(["read", try directory.write("full.json", JemallocDumps.full.get())])
        #expect(totals.stdoutText.contains("readable / formula"))
    }
}
