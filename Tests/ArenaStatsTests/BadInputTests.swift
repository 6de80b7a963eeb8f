import ArenaTestSupport
import Foundation
import Testing

/// Bad input gets one line on standard error naming the file and the problem, exit code 2,
/// nothing on standard output, and never a crash or a stack trace.
@Suite(.timeLimit(.minutes(5))) struct BadInputTests {
    enum Case: String, CaseIterable, CustomTestStringConvertible {
        case emptyFile, whitespaceOnly, truncatedJSON, truncatedAtStart, otherObject, topLevelArray, wrongFigureType
        case textFormatDump, missingFile, directory, plainText

        var testDescription: String { rawValue }

        /// The phrase the error line must contain.
        var problem: String {
            switch self {
            case .emptyFile, .whitespaceOnly: "empty input"
            case .truncatedJSON, .truncatedAtStart: "truncated JSON"
            case .otherObject: "not jemalloc statistics: no \"jemalloc\" member"
            case .topLevelArray: "not jemalloc statistics: the top level is an array"
            case .wrongFigureType: "\"jemalloc.stats.allocated\" is a string, expected a non-negative integer"
            case .textFormatDump: "text-format statistics"
            case .missingFile: "No such file or directory"
            case .directory: "Is a directory"
            case .plainText: "not JSON"
            }
        }

        /// Makes the input in `directory` and returns its path.
        func make(in directory: TemporaryDirectory) throws -> String {
            switch self {
            case .emptyFile: return try directory.write("empty.json", [])
            case .whitespaceOnly: return try directory.write("blank.json", Array(" \n\t\n".utf8))
            case .truncatedJSON:
                let dump = try JemallocDumps.full.get()
                return try directory.write("cut.json", Array(dump.prefix(dump.count / 2)))
            case .truncatedAtStart: return try directory.write("cut-early.json", Array(#"{"jemalloc":{"ver"#.utf8))
            case .otherObject: return try directory.write("other.json", Array(#"{"name": "x", "items": [1, 2]}"#.utf8))
            case .topLevelArray: return try directory.write("array.json", Array("[1, 2, 3]".utf8))
            case .wrongFigureType:
                return try directory.write("typed.json", Array(#"{"jemalloc":{"stats":{"allocated":"many"}}}"#.utf8))
            case .textFormatDump: return try directory.write("text.txt", try JemallocDumps.text.get())
            case .missingFile: return directory.file("does-not-exist.json")
            case .directory: return directory.path
            case .plainText: return try directory.write("notes.txt", Array("hello, world\n".utf8))
            }
        }
    }

    @Test(arguments: Case.allCases)
    func readRejects(_ input: Case) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try input.make(in: directory)

        let result = try ArenaStatsTool.run(["read", path])
        expectOneLineFailure(result, naming: path, problem: input.problem)
    }

    @Test(arguments: [Case.truncatedJSON, .textFormatDump, .missingFile])
    func diffNamesTheBadFile(_ input: Case) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bad = try input.make(in: directory)
        let good = try directory.write("good.json", try JemallocDumps.full.get())

        expectOneLineFailure(try ArenaStatsTool.run(["diff", good, bad]), naming: bad, problem: input.problem)
        expectOneLineFailure(try ArenaStatsTool.run(["diff", bad, good]), naming: bad, problem: input.problem)
    }

    @Test func emptyStandardInput() throws {
        let result = try ArenaStatsTool.run(["read", "-"], stdin: "/dev/null")
        expectOneLineFailure(result, naming: "<stdin>", problem: "empty input")
    }

    @Test func arenaNotInTheDump() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("full.json", try JemallocDumps.full.get())
        expectOneLineFailure(
            try ArenaStatsTool.run(["read", file, "--arena", "4000"]),
            naming: file,
            problem: "no arena 4000"
        )
    }

    @Test(arguments: [
        ["read"],
        ["read", "a.json", "--json", "--csv"],
        ["read", "a.json", "--arena", "nonsense"],
        ["read", "a.json", "--top", "-1"],
        ["diff", "a.json"],
        ["diff", "-", "-"],
        ["run", "no-such-workload"],
        ["run", "small", "--scale", "0"],
        ["run", "small", "--chunk-size", "1000"],
        ["run", "small", "--chunk-size", "64Q"],
        ["run", "small", "--limit", "-1M"],
        ["frobnicate"],
    ])
    func badArguments(_ arguments: [String]) throws {
        let result = try ArenaStatsTool.run(arguments)
        expectOneLineFailure(result, naming: nil, problem: nil)
    }
}

/// Exit code 2, nothing on standard output, exactly one line on standard error that names
/// `file` and `problem`, and no trace of a crash.
func expectOneLineFailure(
    _ result: ProcessResult,
    naming file: String?,
    problem: String?,
    status: Int32 = 2,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(!result.signaled, "crashed: \(result.stderrText)", sourceLocation: sourceLocation)
    #expect(result.status == status, "stderr: \(result.stderrText)", sourceLocation: sourceLocation)
    #expect(result.stdout.isEmpty, "stdout: \(result.stdoutText)", sourceLocation: sourceLocation)
    #expect(result.stderrLines.count == 1, "stderr: \(result.stderrText)", sourceLocation: sourceLocation)
    let line = result.stderrLines.first.map(String.init) ?? ""
    #expect(line.hasPrefix("arena-stats: "), "\(line)", sourceLocation: sourceLocation)
    if let file { #expect(line.contains("arena-stats: \(file): "), "\(line)", sourceLocation: sourceLocation) }
    if let problem { #expect(line.contains(problem), "\(line)", sourceLocation: sourceLocation) }
    for crash in ["Fatal error", "Stack dump", "backtrace", "Current stack trace", "Illegal instruction"] {
        #expect(!result.stderrText.contains(crash), "\(result.stderrText)", sourceLocation: sourceLocation)
    }
}
