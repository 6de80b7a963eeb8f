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
                    store.store.compact()
                } else {
                    store.store.startCompaction()
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

/// `KEYS` and `SCAN` on the store: every key once, through growth and deletions that shift
/// entries back, and no key whose time is up.
@Suite(.timeLimit(.minutes(5))) struct StoreScanTests {
    /// Walks `SCAN` from 0 back to 0, `count` at a time, calling `between` after each call;
    /// returns how often each key came up.
    func fullScan(_ store: TestStore, count: Int = 10, between: () throws -> Void = {}) rethrows -> [String: Int] {
        var seen: [String: Int] = [:]
        var cursor: UInt64 = 0
        var calls = 0
        repeat {
            let step = store.scan(from: cursor, count: count)
            for key in step.keys { seen[key.string, default: 0] += 1 }
            cursor = step.cursor
            calls += 1
            try between()
        } while cursor != 0 && calls < 1_000_000
        return seen
    }

    @Test func keysListsEveryLiveKeyOnce() throws {
        let clock = ManualClock()
        let store = try makeStore(clock: clock)
        for index in 0..<500 { _ = try store.set(Bytes("key:\(index)"), to: Bytes("v")) }
        _ = try store.set(Bytes("soon"), to: Bytes("v"), expiry: .after(milliseconds: 10))
        #expect(Set(store.keys().map(\.string)).count == 501)
        clock.advance(milliseconds: 10)
        let keys = store.keys().map(\.string)
        #expect(keys.count == 500 && Set(keys).count == 500 && !keys.contains("soon"))
        let matching = store.keys { $0.count == 5 && $0.starts(with: "key:".utf8) }
        #expect(Set(matching.map(\.string)) == Set((0..<10).map { "key:\($0)" }))
    }

    @Test func aFullScanReturnsEveryKeyOnce() throws {
        let store = try makeStore()
        for index in 0..<2000 { _ = try store.set(Bytes("key:\(index)"), to: Bytes("v")) }
        for count in [1, 10, 1000] {
            let seen = try fullScan(store, count: count)
            #expect(seen.count == 2000 && seen.values.allSatisfy { $0 == 1 }, "COUNT \(count)")
        }
        // COUNT bounds the keys collected: the first call of 10 brings about 10 (whole runs).
        let first = store.scan(from: 0, count: 10)
        #expect(first.cursor != 0 && (10..<40).contains(first.keys.count), "\(first.keys.count)")
    }

    /// Keys added during a walk make the table double several times: every key present from
    /// the start still comes up, and none twice (a doubled home slot stays behind or ahead of
    /// the cursor as a whole).
    @Test func growthDuringAScanLosesAndRepeatsNothing() throws {
        let store = try makeStore()
        for index in 0..<100 { _ = try store.set(Bytes("old:\(index)"), to: Bytes("v")) }
        var added = 0
        let seen = try fullScan(store, count: 5) {
            for _ in 0..<40 {
                _ = try store.set(Bytes("new:\(added)"), to: Bytes("v"))
                added += 1
            }
        }
        #expect(added >= 400, "the table grew from 256 slots to at least 1024")
        let old = seen.filter { $0.key.hasPrefix("old:") }
        #expect(old.count == 100, "missed: \(Set((0..<100).map { "old:\($0)" }).subtracting(old.keys).sorted())")
        #expect(seen.values.allSatisfy { $0 == 1 }, "\(seen.filter { $0.value > 1 })")
    }

    /// Deleting keys shifts the entries after them back in their probe runs, maybe behind the
    /// cursor: a cursor over home slots still finds every key that stays.
    @Test func deletionsDuringAScanLoseNothing() throws {
        let store = try makeStore()
        for index in 0..<3000 { _ = try store.set(Bytes("key:\(index)"), to: Bytes("v")) }
        // Every key ending in 7, in a scattered order (7,919 is prime to 3,000), a few per call.
        var removed: Set<String> = []
        var next = 0
        let seen = fullScan(store, count: 3) {
            for _ in 0..<12 {
                let name = "key:\(next * 7919 % 3000)"
                next += 1
                if name.hasSuffix("7") && !removed.contains(name) {
                    _ = store.remove(Bytes(name))
                    removed.insert(name)
                }
            }
        }
        let staying = Set((0..<3000).map { "key:\($0)" }).subtracting(removed)
        #expect(removed.count > 100)
        let missed = staying.subtracting(seen.keys)
        #expect(missed.isEmpty, "missed \(missed.count), such as \(missed.sorted().prefix(5))")
        #expect(seen.values.allSatisfy { $0 == 1 })
    }

    /// `SCAN` leaves out keys whose time is up, and removes them, as Redis does.
    @Test func scanRemovesExpiredKeys() throws {
        let clock = ManualClock()
        let store = try makeStore(clock: clock)
        _ = try store.set(Bytes("stays"), to: Bytes("v"))
        _ = try store.set(Bytes("goes"), to: Bytes("v"), expiry: .after(milliseconds: 5))
        clock.advance(milliseconds: 5)
        #expect(store.count == 2)
        let step = store.scan(from: 0, count: 100)
        #expect(step.cursor == 0 && step.keys.map(\.string) == ["stays"])
        #expect(store.count == 1)
    }
}

/// Compaction through the library: the store decides from the arena's pinned bytes and each
/// entry's `retainedBytes`, and moves entries into their `compacted()` copies a chunk at a time.
@Suite(.timeLimit(.minutes(5))) struct StoreCompactionTests {
    /// Random overwrites of `keys` keys, `rounds` times over, values of 40 to 80 bytes; the
    /// model holds what each key must read.
    func overwrite(_ store: TestStore, keys: Int, rounds: Int, model: inout [Int: String]) throws {
        var random = SystemRandomNumberGenerator()
        for round in 0..<(keys * rounds) {
            let index = round < keys ? round : Int.random(in: 0..<keys, using: &random)
            model[index] = "r\(round)-" + String(repeating: "y", count: Int.random(in: 40...80, using: &random))
            _ = try store.set(Bytes("key:\(index)"), to: Bytes(model[index]!))
        }
    }

    /// Keys written once fill their chunks: the pinned chunks hold about as much as the
    /// entries worth compacting, so no pass starts (it would copy everything and free nothing).
    @Test func aBulkLoadStartsNoPass() throws {
        let store = try makeStore()
        var model: [Int: String] = [:]
        try overwrite(store, keys: 30_000, rounds: 1, model: &model)
        let statistics = store.arena.statistics()
        #expect(statistics.pinnedChunks > 20)
        #expect(store.store.compactableBytes == store.store.storedBytes, "every entry was carved from a chunk")
        #expect(abs(store.store.reclaimableBytes()) <= 2 * statistics.chunkSize)
        #expect(!store.startCompactionIfWorthIt())
    }

    /// After overwrites a pass moves every entry out of the pinned chunks: none is left
    /// pinned, each moved value keeps only its own entry alive, and nothing changes. It frees
    /// the sparsest chunks first and each as soon as its last entry has moved, so the arena
    /// never holds more than a chunk beyond what it held when the pass began.
    @Test func aPassFreesChunkByChunk() throws {
        let store = try makeStore()
        var model: [Int: String] = [:]
        try overwrite(store, keys: 20_000, rounds: 4, model: &model)
        let before = store.arena.statistics()
        #expect(before.pinnedBytes > 2 * store.store.storedBytes, "overwrites should have left garbage")
        #expect(store.store.reclaimableBytes() > store.store.storedBytes)
        #expect(store.startCompactionIfWorthIt())
        var most = before.bytesReserved
        var steps = 0
        var report: CompactionReport?
        while report == nil {
            report = store.compactionStep(slots: 300)
            most = max(most, store.arena.bytesReserved)
            steps += 1
        }
        #expect(steps > 20, "the pass ran in slices")
        #expect(
            most <= before.bytesReserved + before.chunkSize,
            "reserved rose to \(most) from \(before.bytesReserved) during the pass"
        )
        let after = store.arena.statistics()
        #expect(after.pinnedChunks == 0, "\(after.pinnedChunks) chunks still pinned")
        #expect(store.store.compactableBytes <= after.chunkSize, "only the chunk being carved is left")
        #expect(Double(after.bytesReserved) < 1.2 * Double(store.store.storedBytes) + Double(after.chunkSize))
        #expect(try #require(report).freedBytes > before.bytesReserved / 2)
        var kept = 0
        for (index, value) in model {
            let stored = try #require(store.value(for: Bytes("key:\(index)")))
            #expect(stored.string == value)
            if stored.retainedBytes == stored.count + "key:\(index)".utf8.count + 4 { kept += 1 }
        }
        #expect(kept >= model.count - after.chunkSize / 50, "\(kept) of \(model.count) values in blocks of their own")
        #expect(!store.startCompactionIfWorthIt(), "no second pass without new garbage")
    }
}
