import Foundation
import Testing

/// What `arena-kv --help` and the README's arena-kv section say against what the server does:
/// every command `COMMAND` names, and every `MEMORY` subcommand `MEMORY HELP` names, appears in
/// both; the defaults the help states for the sized options are the ones a server without them
/// has.
@Suite("--help and README against the server", .timeLimit(.minutes(5)))
struct HelpAndReadmeTests {
    /// The upper-cased words (letters, digits and `-`) of `text`.
    static func words(_ text: String) -> Set<String> {
        Set(
            text.uppercased().split { !($0.isLetter || $0.isNumber || $0 == "-") }.map(String.init)
        )
    }

    /// The README's paragraph that lists arena-kv's commands: from its section heading to
    /// "Where it differs from Redis on purpose".
    static func readmeCommandList() throws -> String {
        // This file is Examples/arena-kv/Tests/ArenaKVServerTests/HelpAndReadmeTests.swift.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url.deleteLastPathComponent() }
        let readme = try Tool.readText(url.appendingPathComponent("README.md").path)
        guard let start = readme.range(of: "### arena-kv: a Redis-protocol cache on the arena"),
            let end = readme.range(
                of: "Where it differs from Redis on purpose",
                range: start.upperBound..<readme.endIndex
            )
        else { throw HarnessError("no arena-kv command list in \(url.path)/README.md") }
        return String(readme[start.upperBound..<end.lowerBound])
    }

    /// `arena-kv --help`, its white space collapsed to single spaces (the help wraps lines).
    static func help() throws -> String {
        let result = try Tool.run("arena-kv", ["--help"])
        guard result.status == 0 else { throw HarnessError("arena-kv --help exited with \(result.status)") }
        return result.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test func everyCommandIsInHelpAndReadme() throws {
        let server = try KVServer.start()
        let client = try RESPClient(port: server.port)
        guard case .array(let entries?) = try client.command("COMMAND") else {
            Issue.record("COMMAND did not answer an array")
            return
        }
        let names = entries.compactMap { entry -> String? in
            guard case .array(let fields?) = entry, case .bulk(let name?) = fields.first else { return nil }
            return String(decoding: name, as: UTF8.self).uppercased()
        }
        #expect(names.count == entries.count && names.count >= 40, "\(names)")
        let help = Self.words(try Self.help())
        let readme = Self.words(try Self.readmeCommandList())
        #expect(names.filter { !help.contains($0) } == [], "commands missing from arena-kv --help")
        #expect(names.filter { !readme.contains($0) } == [], "commands missing from the README's list")
        // MEMORY's subcommands, as MEMORY HELP names them (the lines not indented, after the first).
        guard case .array(let lines?) = try client.command("MEMORY", "HELP") else {
            Issue.record("MEMORY HELP did not answer an array")
            return
        }
        let subcommands = lines.dropFirst().compactMap { line -> String? in
            guard case .simple(let text) = line, !text.hasPrefix(" ") else { return nil }
            return text.split(separator: " ").first.map { String($0).uppercased() }
        }
        #expect(subcommands.contains("USAGE") && subcommands.contains("MALLOC-STATS"), "\(subcommands)")
        #expect(subcommands.filter { !help.contains($0) } == [], "MEMORY subcommands missing from --help")
        #expect(subcommands.filter { !readme.contains($0) } == [], "MEMORY subcommands missing from the README")
    }

    /// `--maxmemory`, `--max-bulk-length` and `--client-buffer-limit` state their defaults
    /// (`(default: 256mb (256 MiB))`), and a server started without them has those.
    @Test func helpStatesTheRealDefaults() throws {
        let help = try Self.help()
        let server = try KVServer.start()
        let client = try RESPClient(port: server.port)
        for (option, setting) in [
            ("--maxmemory", "maxmemory"), ("--max-bulk-length", "proto-max-bulk-len"),
            ("--client-buffer-limit", "client-query-buffer-limit"),
        ] {
            guard let options = help.range(of: "OPTIONS:"),
                let start = help.range(of: "\(option) <", range: options.upperBound..<help.endIndex),
                let stated = help[start.upperBound...].range(
                    of: #"\(default: [0-9]+mb \([0-9]+ MiB\)\)"#,
                    options: .regularExpression
                )
            else {
                Issue.record("\(option): no '(default: Nmb (N MiB))' in --help: \(help)")
                continue
            }
            let text = help[stated]
            let megabytes = Int(text.dropFirst("(default: ".count).prefix { $0.isNumber })
            #expect(help[start.upperBound..<stated.lowerBound].range(of: " --") == nil, "\(option)'s own text")
            let actual = try client.command("CONFIG", "GET", setting)
            expectReply(actual, .array([.bulk(setting), .bulk(String((megabytes ?? 0) << 20))]), "\(option): \(text)")
        }
        #expect(
            help.contains(
                "--maxmemory <maxmemory> The most memory keys and values may take, 0 for no limit (default: 256mb (256 MiB))"
            )
        )
    }
}
