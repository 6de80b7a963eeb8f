import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How `arena-kv` starts, refuses to start, and stops: its command line, its one line at start,
/// its shutdown on SIGINT and SIGTERM, and its exit statuses.
@Suite("Start and shutdown", .timeLimit(.minutes(5)))
struct LifecycleTests {
    /// The name the shutdown line uses for `signal`.
    static func name(of signal: Int32) -> String {
        signal == SIGINT ? "SIGINT" : "SIGTERM"
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func shutsDownCleanlyOnSignal(_ signal: Int32) throws {
        let server = try KVServer.start()
        #expect(try server.reply("PING") == "PONG")
        #expect(try server.reply("SET", "k", "v") == "OK")
        #expect(try server.reply("GET", "k") == "\"v\"")
        let result = try server.stop(signal: signal)
        #expect(result.status == 0)
        #expect(
            result.stdoutLines == [
                "arena-kv: listening on 127.0.0.1:\(server.port) (maxmemory 268435456)",
                "arena-kv: shut down on \(Self.name(of: signal)) after 3 commands",
            ]
        )
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        #expect(!server.isRunning)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func shutsDownWithAClientConnected(_ signal: Int32) throws {
        let server = try KVServer.start()
        let idle = try KVServer.RawConnection(server)
        let busy = try KVServer.RawConnection(server)
        try busy.send("PING\r\n")
        let pong = try busy.receive(count: 7)
        #expect(String(decoding: pong.bytes, as: UTF8.self) == "+PONG\r\n")
        // Half a request: the server is waiting for the rest when the signal comes.
        try busy.send("*2\r\n$3\r\nGET\r\n")
        let started = Date()
        let result = try server.stop(signal: signal)
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(result.status == 0)
        #expect(result.stdoutLines.last == "arena-kv: shut down on \(Self.name(of: signal)) after 1 commands")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        // Both connections were closed, with nothing more sent on them.
        let idleEnd = try idle.receive(timeout: 5)
        #expect(idleEnd.closed)
        #expect(idleEnd.bytes.isEmpty)
        let busyEnd = try busy.receive(timeout: 5)
        #expect(busyEnd.closed)
        #expect(busyEnd.bytes.isEmpty)
    }

    @Test(arguments: [
        ["--port", "-5"],
        ["--port", "70000"],
        ["--port", "http"],
        ["--port"],
        ["--maxmemory", "lots"],
        ["--maxmemory", "12xb"],
        ["--maxmemory", "-1mb"],
        ["--no-such-flag"],
        ["surplus-argument"],
    ])
    func badArgumentsExitWithStatus2(_ arguments: [String]) throws {
        let result = try Tool.run("arena-kv", arguments, timeout: 20)
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderrLines.first?.isEmpty == false)
        #expect(!result.stdout.contains("listening"), "\(result.stdout)")
    }

    @Test func portInUse() throws {
        let first = try KVServer.start()
        let result = try Tool.run("arena-kv", ["--port", "\(first.port)"], timeout: 20)
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        let prefix = "arena-kv: cannot listen on 127.0.0.1:\(first.port): "
        #expect(result.stderrLines.first?.hasPrefix(prefix) == true, "\(result.stderr)")
        #expect((result.stderrLines.first?.count ?? 0) > prefix.count, "no reason given: \(result.stderr)")
        #expect(!result.stdout.contains("listening"), "\(result.stdout)")
        // The first server is unharmed.
        #expect(try first.reply("PING") == "PONG")
        #expect(try first.stop().status == 0)
    }

    @Test(arguments: [
        ("1gb", 1 << 30), ("1GB", 1 << 30), ("1g", 1_000_000_000), ("2mb", 2 << 20), ("3M", 3_000_000),
        ("64kb", 64 << 10), ("1500k", 1_500_000), ("100000", 100_000), ("0", 0),
    ])
    func maxmemorySizes(_ text: String, _ bytes: Int) throws {
        let server = try KVServer.start(["--maxmemory", text])
        #expect(server.listeningLine == "arena-kv: listening on 127.0.0.1:\(server.port) (maxmemory \(bytes))")
        #expect(try info(server, "memory")["maxmemory"] == "\(bytes)")
    }

    @Test func defaultStartupLine() throws {
        let server = try KVServer.start()
        #expect(server.listeningLine == "arena-kv: listening on 127.0.0.1:\(server.port) (maxmemory 268435456)")
        #expect(try info(server, "memory")["maxmemory"] == "268435456")
        // Exactly one line on standard output while it runs.
        let result = try server.stop()
        #expect(result.stdoutLines.count == 2)
        #expect(result.stdoutLines.first == server.listeningLine)
    }
}
