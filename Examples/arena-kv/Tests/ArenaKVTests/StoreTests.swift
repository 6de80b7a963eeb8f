import ArenaBytes
import ArenaKV
import Testing

/// `Store`: Redis semantics for each write, expiry on a manual clock, the arena's limit as
/// `maxmemory`, and compaction.
@Suite(.timeLimit(.minutes(5))) struct StoreTests {
    @Test func setAndGetCopyIntoTheStoreArena() throws {
        let store = try makeStore()
        let request = Bytes("SET key value")
        let key = request.slice(4..<7)
        let value = request.slice(8...)
        let result = try store.set(key, to: value)
        #expect(result.stored && result.previous == nil)
        let stored = try #require(store.value(for: Bytes("key")))
        #expect(stored.string == "value")
        // A copy in the store's arena, not a slice pinning the request's buffer.
        #expect(!stored.region.sharesStorage(with: request.region))
        #expect(store.liveBytes == 3 + 5)
        #expect(store.count == 1)
    }

    @Test func conditionsAndPreviousValues() throws {
        let store = try makeStore()
        #expect(try store.set(Bytes("k"), to: Bytes("1"), condition: .ifPresent).stored == false)
        #expect(store.value(for: Bytes("k")) == nil)
        #expect(try store.set(Bytes("k"), to: Bytes("1"), condition: .ifAbsent).stored == true)
        let refused = try store.set(Bytes("k"), to: Bytes("2"), condition: .ifAbsent)
        #expect(refused.stored == false && refused.previous?.string == "1")
        let replaced = try store.set(Bytes("k"), to: Bytes("33"), condition: .ifPresent)
        #expect(replaced.stored == true && replaced.previous?.string == "1")
        #expect(store.value(for: Bytes("k"))?.string == "33")
        #expect(store.liveBytes == 3)
    }

    @Test func keysExpireWhenReadAndWhenSwept() throws {
        let clock = ManualClock()
        let store = try makeStore(clock: clock)
        _ = try store.set(Bytes("short"), to: Bytes("v"), expiry: .after(milliseconds: 100))
        _ = try store.set(Bytes("long"), to: Bytes("v"), expiry: .after(milliseconds: 10_000))
        _ = try store.set(Bytes("forever"), to: Bytes("v"))
        #expect(store.timeToLive(of: Bytes("short")) == .milliseconds(100))
        #expect(store.timeToLive(of: Bytes("forever")) == .persistent)
        #expect(store.timeToLive(of: Bytes("nothing")) == .missing)
        clock.advance(milliseconds: 99)
        #expect(store.value(for: Bytes("short"))?.string == "v")
        clock.advance(milliseconds: 1)
        #expect(store.value(for: Bytes("short")) == nil, "read at its deadline: gone")
        #expect(store.count == 2)
        clock.advance(milliseconds: 10_000)
        // Nobody reads "long": the sweep removes it.
        #expect(store.count == 2)
        #expect(store.removeExpired() == 1)
        #expect(store.count == 1)
        #expect(store.expiringCount == 0)
        #expect(store.liveBytes == "forever".count + 1)
    }

    @Test func setWithoutKeepTTLClearsTheDeadline() throws {
        let clock = ManualClock()
        let store = try makeStore(clock: clock)
        _ = try store.set(Bytes("k"), to: Bytes("1"), expiry: .after(milliseconds: 50))
        _ = try store.set(Bytes("k"), to: Bytes("2"), expiry: .keep)
        #expect(store.timeToLive(of: Bytes("k")) == .milliseconds(50))
        _ = try store.set(Bytes("k"), to: Bytes("3"))
        clock.advance(milliseconds: 100)
        #expect(store.value(for: Bytes("k"))?.string == "3")
        #expect(store.removeExpired() == 0, "the stale queue entry must not remove the key")
        #expect(store.value(for: Bytes("k"))?.string == "3")
    }

    @Test func incrementFollowsRedis() throws {
        let clock = ManualClock()
        let store = try makeStore(clock: clock)
        #expect(try store.increment(Bytes("n")) == 1)
        _ = try store.set(Bytes("n"), to: Bytes("41"), expiry: .after(milliseconds: 1000))
        #expect(try store.increment(Bytes("n")) == 42)
        #expect(store.value(for: Bytes("n"))?.string == "42")
        #expect(store.timeToLive(of: Bytes("n")) == .milliseconds(1000), "INCR keeps the time to live")
        _ = try store.set(Bytes("n"), to: Bytes(String(Int.max)))
        #expect(throws: IncrementError.overflow) { try store.increment(Bytes("n")) }
        for text in ["abc", "", " 1", "+1", "01", "-0", "1.5", "9223372036854775808"] {
            _ = try store.set(Bytes("x"), to: Bytes(text))
            #expect(throws: IncrementError.notAnInteger, "\(text)") { try store.increment(Bytes("x")) }
        }
        _ = try store.set(Bytes("x"), to: Bytes("-5"))
        #expect(try store.increment(Bytes("x")) == -4)
        _ = try store.set(Bytes("x"), to: Bytes("-9223372036854775808"))
        #expect(try store.increment(Bytes("x")) == Int.min + 1)
    }

    /// At the limit a write fails with the arena's error and changes nothing; MSET is all or
    /// nothing; deleting makes room again.
    @Test func theLimitRefusesWritesAndKeepsEverything() throws {
        let store = try makeStore(limit: 256 << 10)
        var stored: [String: String] = [:]
        var refused = 0
        for index in 0..<100_000 {
            let key = "key:\(index)"
            let value = String(repeating: Character(UnicodeScalar(UInt8(97 + index % 26))), count: 100)
            do {
                _ = try store.set(Bytes(key), to: Bytes(value))
                stored[key] = value
            } catch {
                guard case .limitExceeded = error else { throw error }
                refused += 1
                if refused > 10 { break }
            }
        }
        #expect(refused > 0)
        #expect(store.arena.bytesReserved <= 256 << 10)
        #expect(store.count == stored.count)
        for (key, value) in stored { #expect(store.value(for: Bytes(key))?.string == value) }
        let before = store.count
        let pairs = (0..<1000).flatMap { [Bytes("new:\($0)"), Bytes(String(repeating: "z", count: 100))] }
        #expect(throws: ArenaError.self) { try store.setAll(pairs[...]) }
        #expect(store.count == before, "a refused MSET stores nothing")
        #expect(store.value(for: Bytes("new:0")) == nil)
        for key in stored.keys.sorted().prefix(stored.count / 2) { #expect(store.remove(Bytes(key))) }
        _ = store.compact()
        #expect(try store.set(Bytes("after"), to: Bytes("delete")).stored)
    }

    /// Overwriting values at random leaves most chunks nearly empty; compaction copies the
    /// survivors so the arena holds close to the live bytes again, and nothing changes.
    @Test func compactionBoundsReservedToLive() throws {
        let clock = ManualClock()
        let store = try makeStore(clock: clock)
        var model: [Int: String] = [:]
        var random = SystemRandomNumberGenerator()
        let keys = 20_000
        for index in 0..<keys {
            model[index] = "v\(index)-" + String(repeating: "x", count: 60)
            _ = try store.set(Bytes("key:\(index)"), to: Bytes(model[index]!))
        }
        _ = try store.set(Bytes("key:0"), to: Bytes(model[0]!), expiry: .after(milliseconds: 1 << 30))
        for round in 0..<(keys * 4) {
            let index = Int.random(in: 0..<keys, using: &random)
            model[index] = "r\(round)-" + String(repeating: "y", count: Int.random(in: 40...80, using: &random))
            _ = try store.set(Bytes("key:\(index)"), to: Bytes(model[index]!), expiry: .keep)
        }
        let before = store.arena.bytesReserved
        #expect(
            Double(before) > 2 * Double(store.liveBytes),
            "overwrites should have left garbage: \(before) for \(store.liveBytes)"
        )
        #expect(store.startCompactionIfWorthIt())
        // In slices, as the server runs it, with writes in between that the pass must not lose.
        var report: CompactionReport?
        var slices = 0
        while report == nil {
            report = store.compactionStep(slots: 1000)
            slices += 1
            let index = Int.random(in: 0..<keys, using: &random)
            model[index] = "between slices \(slices)"
            _ = try store.set(Bytes("key:\(index)"), to: Bytes(model[index]!), expiry: .keep)
        }
        let after = store.arena.bytesReserved
        #expect(slices > 10)
        #expect(try #require(report).movedBytes > 0)
        #expect(try #require(report).freedBytes > 0)
        #expect(Double(after) < 1.6 * Double(store.liveBytes), "reserved \(after) for \(store.liveBytes) live bytes")
        #expect(!store.startCompactionIfWorthIt(), "no second pass without new garbage")
        for (index, value) in model { #expect(store.value(for: Bytes("key:\(index)"))?.string == value) }
        #expect(store.timeToLive(of: Bytes("key:0")) != .persistent, "a moved key keeps its deadline")
    }

    /// A seeded random mix of writes, removals, increments, expiries and compaction slices,
    /// checked against a `Dictionary` after every operation it touches: the open-addressing
    /// table's deletion (which shifts keys back) and the compaction's in-place moves must never
    /// lose or mix up a key.
    @Test func theStoreMatchesAModel() throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        print("theStoreMatchesAModel seed \(seed)")
        var random = SplitMix(seed: seed)
        let clock = ManualClock()
        let store = try makeStore(clock: clock)
        var model: [String: (value: String, deadline: Int64?)] = [:]
        func check(_ key: String) {
            let expected = model[key].flatMap { entry in
                entry.deadline.map { $0 > clock.read() } ?? true ? entry.value : nil
            }
            #expect(store.value(for: Bytes(key))?.string == expected, "key \(key), seed \(seed)")
            if expected == nil { model[key] = nil }
        }
        for operation in 0..<60_000 {
            let key = "k\(random.next() % 3000)"
            switch random.next() % 10 {
            case 0...3:
                let value = String(repeating: "v", count: Int(random.next() % 200)) + "\(operation)"
                let ttl = random.next() % 8 == 0 ? Int64(random.next() % 500 + 1) : nil
                _ = try store.set(Bytes(key), to: Bytes(value), expiry: ttl.map { .after(milliseconds: $0) } ?? .none)
                model[key] = (value, ttl.map { clock.read() + $0 })
            case 4, 5:
                check(key)
                #expect(store.remove(Bytes(key)) == (model[key] != nil), "seed \(seed)")
                model[key] = nil
            case 6:
                check(key)
                if let entry = model[key], Int(entry.value) == nil { break }
                let next = (model[key].flatMap { Int($0.value) } ?? 0) + 1
                #expect(try store.increment(Bytes(key)) == next, "seed \(seed)")
                model[key] = ("\(next)", model[key]?.deadline)
            case 7:
                if random.next() % 4 == 0 {
                    store.store.compact(sparserThan: 0.9)
                } else {
                    store.store.startCompaction(sparserThan: 0.9)
                    _ = store.compactionStep(slots: Int(random.next() % 2000))
                }
            case 8:
                clock.advance(milliseconds: Int64(random.next() % 50))
                _ = store.removeExpired()
                model = model.filter { $0.value.deadline.map { $0 > clock.read() } ?? true }
            default:
                check(key)
            }
        }
        for key in model.keys { check(key) }
        #expect(store.count == model.count, "seed \(seed)")
    }
}

/// A small seeded generator (SplitMix64), so a failing run can be replayed from its seed.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
