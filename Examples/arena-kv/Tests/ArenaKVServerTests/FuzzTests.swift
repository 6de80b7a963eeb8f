import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Seeded fuzzing of `arena-kv` over raw sockets: pipelined valid commands checked against a
/// dictionary model, and valid commands mixed with malformed RESP frames on several connections
/// at once, after which the server must still be alive, serve fresh connections and hold every
/// value a well-behaved client stored.
///
/// The seed comes from `ARENA_TEST_SEED` (decimal or `0x` hex) if set, else at random; each test
/// prints it first, so `ARENA_TEST_SEED=<seed> swift test --filter FuzzTests` replays the inputs
/// (each connection's bytes; how the four connections interleave is up to the scheduler).
@Suite(.timeLimit(.minutes(5))) struct FuzzTests {
    /// The seed of this run.
    static let seed: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["ARENA_TEST_SEED"] {
            let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
            if let parsed { return parsed }
            print("FuzzTests: ignoring ARENA_TEST_SEED=\(text), not a number")
        }
        return UInt64.random(in: 0...UInt64.max)
    }()

    /// Batches per fuzzing connection: `ARENA_FUZZ_BATCHES` if set (for a longer hunt), else 100,
    /// or 10 in the sanitizer runs (debug builds, Jemalloc off), where 100 took over 15 minutes
    /// under ThreadSanitizer.
    static let batches =
        ProcessInfo.processInfo.environment["ARENA_FUZZ_BATCHES"].flatMap { Int($0) }
        ?? {
            #if Jemalloc
            100
            #else
            10
            #endif
        }()

    /// Pipelined batches of valid commands on one connection, each batch split at random byte
    /// boundaries over several sends; every reply must match the model's.
    @Test func validCommandsMatchTheModel() throws {
        print("FuzzTests.validCommandsMatchTheModel: seed \(Self.seed) (ARENA_TEST_SEED=\(Self.seed) replays it)")
        var random = SplitMix64(seed: Self.seed)
        let generator = CommandGenerator(random: &random, keyCount: 48, keyPrefix: [])
        let server = try KVServer.start()
        defer { _ = try? server.stop() }
        let client = try RESPClient(port: server.port)
        var model = KeyValueModel()
        var mismatches = 0

        for batch in 0..<(Self.batches * 3 / 2) {
            let count = Int.random(in: 1...120, using: &random)
            var commands: [FuzzCommand] = []
            var bytes: [UInt8] = []
            for _ in 0..<count {
                let command = generator.command(using: &random)
                commands.append(command)
                bytes += RESPClient.encode(command.arguments)
            }
            try Self.sendSplit(bytes, over: client, using: &random)
            for (index, command) in commands.enumerated() {
                let expected = model.apply(command)
                let reply = try #require(try client.readReply(), "closed at batch \(batch), command \(index)")
                if reply != expected {
                    mismatches += 1
                    Issue.record(
                        "seed \(Self.seed), batch \(batch), command \(index): \(command) replied \(reply), expected \(expected)"
                    )
                    if mismatches >= 10 { return }
                }
            }
        }
        // The whole model, read back with single GETs and one MGET.
        let keys = Array(model.store.keys)
        for key in keys {
            try expectReply(
                client.command([Array("GET".utf8), key]),
                .bulk(model.store[key]),
                "GET \"\(RESPValue.escape(key))\""
            )
        }
        let everything = try client.command([Array("MGET".utf8)] + generator.keys)
        #expect(everything == .array(generator.keys.map { .bulk(model.store[$0]) }))
        try expectReply(client.command("DBSIZE"), .integer(model.store.count))
        #expect(server.isRunning)
    }

    /// Four connections at once send batches that mix valid commands with malformed frames,
    /// reconnecting whenever the server closes one. The server must stay up, answer `PING` on a
    /// fresh connection after every batch, close a connection only after a protocol error reply
    /// (and send nothing after it), and a control client's values must read back byte for byte.
    /// With one event loop thread and with four (`--threads`), where connections run in parallel.
    @Test(arguments: [1, 4])
    func malformedFramesDoNotHurtOtherClients(threads: Int) throws {
        print(
            "FuzzTests.malformedFramesDoNotHurtOtherClients(threads: \(threads)): seed \(Self.seed) "
                + "(ARENA_TEST_SEED=\(Self.seed) replays it)"
        )
        let server = try KVServer.start(["--threads", "\(threads)"])
        defer { _ = try? server.stop() }
        var random = SplitMix64(seed: Self.seed ^ 0x9E37_79B9_7F4A_7C15)

        // The control client's values: keys no fuzzing connection ever names.
        let control = try RESPClient(port: server.port)
        var controlValues: [([UInt8], [UInt8])] = []
        for index in 0..<40 {
            let key = Array("control:\(index):".utf8) + Self.randomBytes(count: index % 9, using: &random)
            let length = [0, 1, 2, 17, 100, 4096, 100_000][index % 7]
            let value = Self.randomBytes(count: length, using: &random)
            controlValues.append((key, value))
            try expectReply(control.command([Array("SET".utf8), key, value]), .simple("OK"))
        }

        let port = server.port
        let seeds = (0..<4).map { _ in random.next() }
        let results = Self.runOnThreads(seeds.count) { worker in
            var fuzzer = MixedFuzzer(worker: worker, port: port, seed: seeds[worker])
            fuzzer.run(batches: Self.batches)
            return fuzzer.report
        }

        #expect(server.isRunning, "the server died; seed \(Self.seed)")
        for report in results {
            for failure in report.failures { Issue.record("seed \(Self.seed), worker \(report.worker): \(failure)") }
        }
        let protocolErrors = results.map(\.protocolErrors).reduce(0, +)
        let sentinels = results.map(\.sentinels).reduce(0, +)
        print(
            "FuzzTests (threads: \(threads)): \(results.map(\.frames).reduce(0, +)) frames over \(results.map(\.connections).reduce(0, +)) "
                + "connections, \(protocolErrors) protocol errors, \(sentinels) batches answered to the end"
        )
        #expect(protocolErrors > 0, "no malformed frame got a protocol error reply")
        #expect(sentinels > 0, "no batch was answered to the end")

        try expectReply(control.command("PING"), .simple("PONG"))
        for (key, value) in controlValues {
            try expectReply(
                control.command([Array("GET".utf8), key]),
                .bulk(value),
                "control key \"\(RESPValue.escape(key))\""
            )
        }
        let fresh = try RESPClient(port: server.port)
        let all = try fresh.command([Array("MGET".utf8)] + controlValues.map(\.0))
        #expect(all == .array(controlValues.map { .bulk($0.1) }))
    }
}

extension FuzzTests {
    // MARK: - Random numbers and inputs

    /// SplitMix64 (Steele, Lea and Flood): a tiny seeded generator, so a run can be replayed.
    struct SplitMix64: RandomNumberGenerator {
        private var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// `true` with probability `probability`.
        mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }
    }

    /// `count` random bytes, every value possible (CR, LF, NUL and bytes over 0x7F included).
    static func randomBytes(count: Int, using random: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    /// Sends `bytes` cut at random byte boundaries: usually a few pieces, sometimes byte by byte,
    /// with short pauses so the server sees the pieces in separate reads.
    static func sendSplit(_ bytes: [UInt8], over client: RESPClient, using random: inout SplitMix64) throws {
        var cuts: [Int]
        if bytes.count <= 200 && random.chance(0.1) {
            cuts = Array(1..<max(bytes.count, 1))
        } else {
            cuts = (0..<Int.random(in: 0...6, using: &random)).map { _ in
                Int.random(in: 0...bytes.count, using: &random)
            }
        }
        cuts = Array(Set(cuts + [0, bytes.count])).sorted()
        for (from, to) in zip(cuts, cuts.dropFirst()) where from < to {
            try client.send(Array(bytes[from..<to]))
            if random.chance(0.2) { usleep(UInt32.random(in: 50...500, using: &random)) }
        }
    }

    /// One valid command of the fuzzed subset.
    enum FuzzCommand: CustomStringConvertible {
        /// `SET key value`, with `NX`, `XX` or `GET` if `option` says so.
        case set([UInt8], [UInt8], option: String?)
        case get([UInt8])
        case incr([UInt8])
        case mset([([UInt8], [UInt8])])
        case del([[UInt8]])
        case exists([[UInt8]])
        case mget([[UInt8]])

        /// The command's arguments, name first.
        var arguments: [[UInt8]] {
            switch self {
            case .set(let key, let value, let option):
                return [Array("SET".utf8), key, value] + (option.map { [Array($0.utf8)] } ?? [])
            case .get(let key): return [Array("GET".utf8), key]
            case .incr(let key): return [Array("INCR".utf8), key]
            case .mset(let pairs): return [Array("MSET".utf8)] + pairs.flatMap { [$0.0, $0.1] }
            case .del(let keys): return [Array("DEL".utf8)] + keys
            case .exists(let keys): return [Array("EXISTS".utf8)] + keys
            case .mget(let keys): return [Array("MGET".utf8)] + keys
            }
        }

        var description: String {
            arguments.map { "\"\(RESPValue.escape($0.prefix(40)))\"\($0.count > 40 ? "…(\($0.count) bytes)" : "")" }
                .joined(separator: " ")
        }
    }

    /// Makes valid commands over a fixed pool of binary keys, so commands hit each other's keys.
    struct CommandGenerator {
        /// The key pool: the empty key, keys with CR, LF and NUL, bytes over 0x7F, all distinct.
        let keys: [[UInt8]]

        init(random: inout SplitMix64, keyCount: Int, keyPrefix: [UInt8]) {
            var keys: [[UInt8]] = [keyPrefix, keyPrefix + Array("\r\n".utf8), keyPrefix + [0]]
            while keys.count < keyCount {
                let key =
                    keyPrefix + FuzzTests.randomBytes(count: Int.random(in: 1...12, using: &random), using: &random)
                if !keys.contains(key) { keys.append(key) }
            }
            self.keys = keys
        }

        /// A key from the pool.
        func key(using random: inout SplitMix64) -> [UInt8] { keys.randomElement(using: &random)! }

        /// A value: a decimal integer (some next to the 64-bit limits), empty, or random bytes.
        func value(using random: inout SplitMix64) -> [UInt8] {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<30: return Array(String(Int.random(in: -100...100, using: &random)).utf8)
            case 30..<34: return Array(String(Int64.max - Int64.random(in: 0...2, using: &random)).utf8)
            case 34..<36: return Array(String(Int64.min + Int64.random(in: 0...2, using: &random)).utf8)
            case 36..<40:
                return ["007", "-0", "+5", " 5", "5 ", "12a", "99999999999999999999"].randomElement(using: &random)!
                    .utf8.map { $0 }
            case 40..<45: return []
            case 45..<50:
                return FuzzTests.randomBytes(count: Int.random(in: 100...3000, using: &random), using: &random)
            default: return FuzzTests.randomBytes(count: Int.random(in: 1...40, using: &random), using: &random)
            }
        }

        /// A random command.
        func command(using random: inout SplitMix64) -> FuzzCommand {
            let keys = (0..<Int.random(in: 1...5, using: &random)).map { _ in key(using: &random) }
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<25:
                let option = [nil, nil, nil, "NX", "XX", "GET"].randomElement(using: &random)!
                return .set(keys[0], value(using: &random), option: option)
            case 25..<45: return .get(keys[0])
            case 45..<60: return .incr(keys[0])
            case 60..<72: return .mset(keys.map { ($0, value(using: &random)) })
            case 72..<82: return .del(keys)
            case 82..<90: return .exists(keys)
            default: return .mget(keys)
            }
        }
    }

    /// What Redis does with the fuzzed commands, on a dictionary.
    struct KeyValueModel {
        /// Every key's value.
        var store: [[UInt8]: [UInt8]] = [:]

        /// Applies `command` and returns the reply Redis gives.
        mutating func apply(_ command: FuzzCommand) -> RESPValue {
            switch command {
            case .set(let key, let value, let option):
                let old = store[key]
                switch option {
                case "NX" where old != nil, "XX" where old == nil: return .bulk(nil)
                case "GET":
                    store[key] = value
                    return .bulk(old)
                default:
                    store[key] = value
                    return .simple("OK")
                }
            case .get(let key): return .bulk(store[key])
            case .incr(let key):
                guard let number = Self.integer(store[key] ?? Array("0".utf8)) else {
                    return .error("ERR value is not an integer or out of range")
                }
                guard number < Int64.max else { return .error("ERR increment or decrement would overflow") }
                store[key] = Array(String(number + 1).utf8)
                return .integer(Int(number + 1))
            case .mset(let pairs):
                for (key, value) in pairs { store[key] = value }
                return .simple("OK")
            case .del(let keys):
                return .integer(keys.filter { store.removeValue(forKey: $0) != nil }.count)
            case .exists(let keys): return .integer(keys.filter { store[$0] != nil }.count)
            case .mget(let keys): return .array(keys.map { .bulk(store[$0]) })
            }
        }

        /// The value as Redis's `string2ll` reads it: an optional `-`, then digits without leading
        /// zeros (`0` alone is fine, `-0` is not), no spaces or `+`, within 64 bits; else `nil`.
        static func integer(_ bytes: [UInt8]) -> Int64? {
            guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
            if bytes == [UInt8(ascii: "0")] { return 0 }
            let negative = bytes[0] == UInt8(ascii: "-")
            let digits = bytes.dropFirst(negative ? 1 : 0)
            guard let first = digits.first, (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(first) else { return nil }
            var magnitude: UInt64 = 0
            for byte in digits {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                if overflow1 || overflow2 { return nil }
                magnitude = sum
            }
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
                return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            }
            return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
        }
    }

    // MARK: - The mixed fuzzer

    /// What one fuzzing connection's worker saw.
    struct FuzzReport: Sendable {
        var worker: Int
        var frames = 0
        var connections = 0
        var protocolErrors = 0
        var sentinels = 0
        var failures: [String] = []
    }

    /// One worker of `malformedFramesDoNotHurtOtherClients`: sends batches of valid and malformed
    /// frames, each ending in an `ECHO` sentinel, reads what comes back, and checks the server's
    /// liveness after every batch.
    struct MixedFuzzer {
        let worker: Int
        let port: Int
        var random: SplitMix64
        let generator: CommandGenerator
        var report: FuzzReport
        var client: RESPClient?
        /// Whether the server's parser is at the start of a frame on `client`.
        var atFrameBoundary = true

        init(worker: Int, port: Int, seed: UInt64) {
            self.worker = worker
            self.port = port
            random = SplitMix64(seed: seed)
            generator = CommandGenerator(random: &random, keyCount: 24, keyPrefix: Array("fuzz\(worker):".utf8))
            report = FuzzReport(worker: worker)
        }

        /// Runs `batches` batches, stopping early after a liveness failure.
        ///
        /// Two batches in five are valid commands only; the others hide one to three malformed
        /// frames among the valid ones.
        mutating func run(batches: Int) {
            for batch in 0..<batches {
                var frames: [[UInt8]] = []
                for _ in 0..<Int.random(in: 10...80, using: &random) {
                    frames.append(RESPClient.encode(validCommand()))
                }
                let clean = random.chance(0.4)
                var malformed: [[UInt8]] = []
                if !clean {
                    for _ in 0..<Int.random(in: 1...3, using: &random) {
                        let frame = malformedFrame()
                        malformed.append(frame)
                        frames.insert(frame, at: Int.random(in: 0...frames.count, using: &random))
                    }
                }
                report.frames += frames.count
                let sentinel = Array("sentinel \(worker) \(batch)".utf8)
                let bytes = frames.joined() + RESPClient.encode([Array("ECHO".utf8), sentinel])
                let failuresBefore = report.failures.count
                do {
                    try exchange(bytes, sentinel: sentinel, expectedReplies: clean ? frames.count : nil, batch: batch)
                } catch {
                    report.failures.append("batch \(batch): \(error)")
                    client = nil
                }
                for index in failuresBefore..<report.failures.count {
                    report.failures[index] += "; \(describe(frames.count, malformed))"
                }
                // After every batch: a fresh connection answers PING.
                do {
                    let fresh = try RESPClient(port: port, timeout: 5)
                    let reply = try fresh.command("PING")
                    if reply != .simple("PONG") {
                        report.failures.append("batch \(batch): PING on a fresh connection: \(reply)")
                    }
                } catch {
                    report.failures.append(
                        "batch \(batch): a fresh connection cannot PING: \(error); \(describe(frames.count, malformed))"
                    )
                    return
                }
            }
        }

        /// Sends one batch over the current connection (opening one if needed) and reads the replies:
        /// up to the sentinel, or up to a protocol error and the connection's end, or until the
        /// server goes quiet (it waits for the rest of a truncated frame), then drops that connection.
        ///
        /// `expectedReplies` is the number of frames of a batch of valid commands only: where the
        /// connection is at a frame boundary (new, or its last sentinel came back), exactly that
        /// many replies must come before the sentinel, none of them a protocol error.
        private mutating func exchange(_ bytes: [UInt8], sentinel: [UInt8], expectedReplies: Int?, batch: Int) throws {
            if client == nil {
                client = try RESPClient(port: port, timeout: 5)
                report.connections += 1
                atFrameBoundary = true
            }
            let client = self.client!
            let checkedReplies = atFrameBoundary ? expectedReplies : nil
            atFrameBoundary = false
            do {
                try FuzzTests.sendSplit(bytes, over: client, using: &random)
            } catch RESPClientError.closedByPeer {
                // Closed after a protocol error earlier in the batch: its reply is still to read.
            }
            var protocolError: RESPValue?
            var replyCount = 0
            while true {
                // Quiet for 300 ms: the server waits for more of a frame. Where a reply or the end
                // of the connection is due, allow it longer (sanitizer builds are slow).
                let patience: Int32 = protocolError != nil || checkedReplies != nil ? 5000 : 300
                guard try client.waitUntilReadable(milliseconds: patience) else {
                    if let protocolError {
                        report.failures.append("batch \(batch): the connection stays open after \(protocolError)")
                    } else if checkedReplies != nil {
                        report.failures.append("batch \(batch): valid commands only, but no sentinel came back")
                    }
                    self.client = nil
                    return
                }
                let (replies, closed) = try client.availableReplies()
                for reply in replies {
                    if let protocolError {
                        report.failures.append("batch \(batch): the reply \(reply) came after \(protocolError)")
                        continue
                    }
                    if case .error(let text) = reply, text.hasPrefix("ERR Protocol error") {
                        protocolError = reply
                        report.protocolErrors += 1
                        if checkedReplies != nil {
                            report.failures.append("batch \(batch): valid commands only, but \(reply)")
                        }
                    } else if reply == .bulk(sentinel) {
                        report.sentinels += 1
                        if let checkedReplies, replyCount != checkedReplies {
                            report.failures.append(
                                "batch \(batch): \(replyCount) replies to \(checkedReplies) valid commands"
                            )
                        }
                        atFrameBoundary = true
                        return
                    }
                    replyCount += 1
                }
                if closed {
                    if protocolError == nil {
                        report.failures.append(
                            "batch \(batch): the server closed the connection without a protocol error"
                        )
                    }
                    self.client = nil
                    return
                }
            }
        }

        /// A valid command, mostly small.
        ///
        /// One in ten is another well-formed command whose reply is not modelled: `SET` with an
        /// expire time (sometimes absurd), `TTL`, `PTTL`, `ECHO`, `PING`, `DBSIZE` or an unknown one.
        private mutating func validCommand() -> [[UInt8]] {
            guard random.chance(0.1) else { return generator.command(using: &random).arguments }
            let key = generator.key(using: &random)
            let number = [
                "1", "100", "0", "-1", "9223372036854775807", "-9223372036854775808", "9223372036854775",
                "99999999999999999999", "x",
            ].randomElement(using: &random)!
            let text: [String] =
                switch Int.random(in: 0..<7, using: &random) {
                case 0: ["SET", "-", "v", random.chance(0.5) ? "EX" : "PX", number]
                case 1: ["SET", "-", "v", "KEEPTTL"]
                case 2: [random.chance(0.5) ? "TTL" : "PTTL", "-"]
                case 3: ["ECHO", number]
                case 4: ["PING"]
                case 5: ["DBSIZE"]
                default: ["NOSUCHCOMMAND", "-", number]
                }
            return text.map { $0 == "-" ? key : Array($0.utf8) }
        }

        /// A malformed or odd frame: random bytes, a cut-off frame, a wrong length, a bad prefix,
        /// a huge count, or CR and LF in odd places.
        private mutating func malformedFrame() -> [UInt8] {
            let valid = RESPClient.encode(validCommand())
            switch Int.random(in: 0..<9, using: &random) {
            case 0:
                // Random bytes, favouring the ones RESP gives meaning to.
                let alphabet = Array("*$:+-\r\n0123456789 \"'".utf8)
                return (0..<Int.random(in: 1...64, using: &random)).map { _ in
                    random.chance(0.5)
                        ? alphabet.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
                }
            case 1:
                // A valid frame cut short.
                return Array(valid.prefix(Int.random(in: 0..<valid.count, using: &random)))
            case 2:
                // A bulk length one or a few bytes off.
                let argument = Array("hello".utf8)
                let length = argument.count + Int.random(in: -3...3, using: &random)
                return Array("*2\r\n$4\r\nECHO\r\n$\(length)\r\n".utf8) + argument + Array("\r\n".utf8)
            case 3:
                // A bad first byte, for the frame or for one of its bulk strings.
                var frame = valid
                let positions = frame.indices.filter { frame[$0] == UInt8(ascii: "$") || $0 == 0 }
                frame[positions.randomElement(using: &random)!] = Array("!%&?:+-#x".utf8).randomElement(using: &random)!
                return frame
            case 4:
                // Counts and lengths out of range or not numbers.
                return [
                    "*99999999999\r\n", "*1048577\r\n", "*-7\r\n", "*2147483648\r\n", "*1x\r\n", "*\r\n",
                    "*1\r\n$99999999999999\r\n", "*1\r\n$-3\r\n", "*1\r\n$\r\n", "*1\r\n$1a\r\n",
                    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-2\r\n", "*9223372036854775808\r\n", "*-9223372036854775809\r\n",
                ].randomElement(using: &random)!.utf8.map { $0 }
            case 5:
                // CR or LF inserted, dropped or swapped somewhere.
                var frame = valid
                let position = Int.random(in: 0..<frame.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: frame.insert(random.chance(0.5) ? UInt8(ascii: "\r") : UInt8(ascii: "\n"), at: position)
                case 1: frame.remove(at: position)
                default: frame[position] = random.chance(0.5) ? UInt8(ascii: "\r") : UInt8(ascii: "\n")
                }
                return frame
            case 6:
                // A frame declaring more elements than it has (what follows becomes its elements).
                return Array("*\(Int.random(in: 2...6, using: &random))\r\n$4\r\nPING\r\n".utf8)
            case 7:
                // An inline command with odd spacing, quotes or control bytes.
                return [
                    "PING\n", "  PING  \r\n", "\r\n", "\n", "GET \"a b\"\r\n", "SET \"unbalanced\r\n", "ECHO 'x'y\r\n",
                    "SET k \"\\x00\\xff\"\r\n", "\0\r\n", "GET\tk\r\n",
                ].randomElement(using: &random)!.utf8.map { $0 }
            default:
                // A long inline line (sometimes over the 64 KiB inline limit) with or without its end.
                let length = random.chance(0.3) ? 64 * 1024 + Int.random(in: 1...4096, using: &random) : 1000
                return [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    + (random.chance(0.5) ? Array("\r\n".utf8) : [])
            }
        }

        /// The batch in short for a failure message: its size and its malformed frames, escaped.
        private func describe(_ count: Int, _ malformed: [[UInt8]]) -> String {
            let frames = malformed.map {
                "\"\(RESPValue.escape($0.prefix(120)))\"\($0.count > 120 ? "…(\($0.count) bytes)" : "")"
            }
            return "in a batch of \(count) frames with \(malformed.count) malformed: " + frames.joined(separator: " ")
        }
    }

    /// The threads' results, behind a lock.
    private final class ReportSlots: @unchecked Sendable {
        let lock = NSLock()
        var results: [Int: FuzzReport] = [:]
    }

    /// Runs `body(0)`, …, `body(count - 1)` on `count` threads at once and returns their results
    /// in order. Threads rather than tasks: the bodies block in socket calls.
    static func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> FuzzReport) -> [FuzzReport] {
        let slots = ReportSlots()
        let done = DispatchGroup()
        for index in 0..<count {
            done.enter()
            let thread = Thread {
                let result = body(index)
                slots.lock.withLock { slots.results[index] = result }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return (0..<count).map { slots.results[$0]! }
    }
}
