@_spi(FaultInjection) import Arena
import ArenaBytes
import ArenaKV
import Testing

/// The writing commands when the store's arena refuses memory, through a connection: each
/// command runs with the 1st, 2nd, … backend allocation refused until a run that never reaches
/// the refusal. A refused run answers the allocation `OOM` line and leaves the store as it was;
/// the run that gets through answers what a twin server without refusals answers to the same
/// command, and both stores then hold the same (the twin is the model).
@Suite("Commands: every allocation may fail", .timeLimit(.minutes(5)))
struct CommandFaultTests {
    /// The reply to a write whose memory the allocator refused.
    static let refusal = "-OOM command not allowed when the allocator refuses memory.\r\n"

    /// A key this long makes an entry larger than a chunk's carving limit (8 KiB), so every
    /// write of it asks for a block; with the arena's free blocks given back before each run
    /// (`purge()`), the backend is asked and the refusal always reached.
    static let long = String(repeating: "k", count: 9000)

    @Test func everyWritingCommandAnswersOOMAndChangesNothingWhenRefused() throws {
        let clock = ManualClock()
        let faulty = try EmbeddedConnection(state: ServerState(configuration: .init(maxMemory: 0)) { clock.read() })
        let twin = try EmbeddedConnection(state: ServerState(configuration: .init(maxMemory: 0)) { clock.read() })
        let big = String(repeating: "v", count: 20_000)
        let (a, b, c, d, e, n) = (
            "a" + Self.long, "b" + Self.long, "c" + Self.long, "d" + Self.long, "e" + Self.long, "n" + Self.long
        )
        let script: [[String]] = [
            ["SET", a, big], ["SET", a, "small", "GET"], ["SET", b, "v", "EX", "100"], ["SET", b, "w", "KEEPTTL"],
            ["SET", b, "x", "XX", "PX", "2500"], ["SET", "short", big, "NX"], ["SETNX", c, "1"],
            ["SETEX", d, "100", "x"],
            ["PSETEX", d, "5000", "y"], ["APPEND", d, "zz"], ["APPEND", e, "new"], ["APPEND", "short", "!"],
            ["INCR", n], ["INCRBY", n, "41"], ["DECR", n], ["DECRBY", n, "10"], ["INCR", c],
            ["GETEX", a, "EX", "100"], ["GETEX", a, "PERSIST"], ["EXPIRE", b, "300"], ["PEXPIRE", b, "1234"],
            ["PERSIST", b], ["MSET", "m1" + Self.long, "1", "m2" + Self.long, "2", a, "3"],
        ]
        var refusedTotal = 0
        for command in script {
            let name = "\(command[0]) \(command[1].prefix(1))…"
            var refused = 0
            for attempt in 1...10 {
                let before = faulty.snapshot()
                // A write whose entry has the size of one freed before would reuse that block.
                faulty.state.storeArena.purge()
                let faults = faulty.state.storeArena.faultInjection
                faults.set(.failNth(attempt), onlyThisThread: true)
                let reply = try faulty.send(Self.encode(command))
                let injected = faults.counts.injected
                faults.set(.off)
                if injected == 0 {
                    let expected = try twin.send(Self.encode(command))
                    #expect(reply == expected, "\(name)")
                    #expect(!reply.hasPrefix("-"), "\(name): \(reply)")
                    #expect(faulty.snapshot() == twin.snapshot(), "\(name)")
                    break
                }
                refused += 1
                #expect(reply == Self.refusal, "\(name), allocation \(attempt) refused")
                #expect(faulty.snapshot() == before, "\(name), allocation \(attempt) refused")
            }
            #expect(refused > 0, "\(name) never met a refusal")
            refusedTotal += refused
        }
        let stats = try faulty.send(Self.encode(["INFO", "stats"])) + faulty.send(Self.encode(["INFO", "errorstats"]))
        #expect(stats.contains("rejected_writes_allocation:\(refusedTotal)\r\n"), "\(stats)")
        #expect(stats.contains("rejected_writes_oom:0\r\n"), "\(stats)")
        #expect(stats.contains("errorstat_OOM:count=\(refusedTotal)\r\n"), "\(stats)")
        print("CommandFaultTests: \(script.count) commands survived \(refusedTotal) refused allocations")
    }

    /// With every store allocation refused (`ARENA_KV_FAIL_RATE=1`), writes answer the `OOM`
    /// line and change nothing, reads and deletions work, and `INFO stats` counts the refusals;
    /// the I/O arena, without a rate of its own, refuses nothing.
    @Test func aServerWithFaultsRefusesEveryWriteAndServesReads() throws {
        var configuration = ServerConfiguration(maxMemory: 0)
        let state = try ServerState(configuration: configuration)
        let connection = try EmbeddedConnection(state: state)
        #expect(try connection.send(Self.encode(["SET", "kept", "value"])) == "+OK\r\n")
        configuration.faults = InjectedFaults(storeRate: 1, seed: 7)
        let faulty = try EmbeddedConnection(configuration)
        #expect(faulty.state.faultCounts != nil)
        for command in [["SET", "k", "v"], ["APPEND", "k", "v"], ["INCR", "k"], ["MSET", "k", "1", "l", "2"]] {
            #expect(try faulty.send(Self.encode(command)) == Self.refusal, "\(command)")
        }
        #expect(try faulty.send(Self.encode(["GET", "k"])) == "$-1\r\n")
        #expect(try faulty.send(Self.encode(["DEL", "k"])) == ":0\r\n")
        #expect(try faulty.send(Self.encode(["PING"])) == "+PONG\r\n")
        let stats = try faulty.send(Self.encode(["INFO", "stats"]))
        #expect(stats.contains("rejected_writes_allocation:4\r\n"), "\(stats)")
        #expect(stats.contains("fault_injection_store:rate=1.0,attempts=4,refused=4\r\n"), "\(stats)")
        #expect(stats.contains("fault_injection_io:rate=0.0,attempts=0,refused=0\r\n"), "\(stats)")
        #expect(
            faulty.state.faultSummary == "fault injection refused 4 of 4 store allocations and 0 of 0 I/O allocations"
        )
        // Without faults, INFO has no fault lines and the server no summary.
        let plain = try connection.send(Self.encode(["INFO", "stats"]))
        #expect(!plain.contains("fault_injection"), "\(plain)")
        #expect(state.faultSummary == nil)
    }

    @Test func theEnvironmentSetsTheRates() throws {
        #expect(try InjectedFaults.fromEnvironment([:]) == nil)
        #expect(try InjectedFaults.fromEnvironment(["ARENA_KV_FAIL_SEED": "3"]) == nil, "a seed alone sets nothing")
        #expect(
            try InjectedFaults.fromEnvironment(["ARENA_KV_FAIL_RATE": "1%"]) == InjectedFaults(storeRate: 0.01, seed: 1)
        )
        #expect(
            try InjectedFaults.fromEnvironment([
                "ARENA_KV_FAIL_RATE": "0.25", "ARENA_KV_IO_FAIL_RATE": "50%", "ARENA_KV_FAIL_SEED": "42",
            ]) == InjectedFaults(storeRate: 0.25, ioRate: 0.5, seed: 42)
        )
        for (name, value) in [
            ("ARENA_KV_FAIL_RATE", "2"), ("ARENA_KV_FAIL_RATE", "abc"), ("ARENA_KV_FAIL_RATE", "-1%"),
            ("ARENA_KV_IO_FAIL_RATE", "101%"), ("ARENA_KV_FAIL_RATE", "nan"),
        ] {
            #expect(throws: InjectedFaultsError.self, "\(name)=\(value)") {
                try InjectedFaults.fromEnvironment([name: value])
            }
        }
        #expect(throws: InjectedFaultsError.self) {
            try InjectedFaults.fromEnvironment(["ARENA_KV_FAIL_RATE": "1%", "ARENA_KV_FAIL_SEED": "-1"])
        }
    }

    /// A multibulk request of `arguments`.
    static func encode(_ arguments: [String]) -> String {
        "*\(arguments.count)\r\n" + arguments.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }
}

extension EmbeddedConnection {
    /// What the server's store holds.
    func snapshot() -> StoreModel {
        state.store.withLockedValue { StoreModel(reading: &$0) }
    }
}
