@_spi(FaultInjection) import Arena
import ArenaBytes
import ArenaKV
import Testing

/// The store when its arena refuses memory, tested the way SQLite tests out-of-memory: each
/// write runs with the 1st backend allocation of the store's arena refused, then the 2nd, …
/// until a run that never reaches the refusal. After every refused run the write threw
/// `ArenaError.outOfMemory`, the store reads exactly as a model in which the write never ran
/// (values, times to live, live bytes), and the arena holds the bytes it held before; the run
/// that gets through reads as the model with the write applied.
///
/// The arena has 4 KiB chunks, so an entry of up to 512 bytes is carved from a chunk (a backend
/// allocation only when the chunk runs out) and a larger one gets a block of its own (a backend
/// allocation every time): the scripts mix both.
@Suite("Store: every allocation may fail", .timeLimit(.minutes(5)))
struct StoreFaultTests {
    @Test func everyWriteLeavesTheStoreAsItWasWhenRefused() throws {
        let store = try makeStore(chunkSize: 4096)
        var model = StoreModel()
        var refusals: [String: Int] = [:]
        var writes = 0
        for write in Write.script(count: 360) {
            refusals[write.kind, default: 0] += refuseEachAllocation(write, on: store, model: &model)
            writes += 1
        }
        // Each kind of write met refusals (so the loops above tested something), at both sites.
        for kind in Write.kinds { #expect(refusals[kind, default: 0] > 0, "\(kind) never met a refusal: \(refusals)") }
        #expect(StoreModel(reading: &store.store) == model)
        let total = refusals.values.reduce(0, +)
        print(
            "StoreFaultTests: \(writes) writes survived \(total) refused allocations: \(refusals.sorted { $0.key < $1.key })"
        )
    }

    /// A compaction pass (whole, or in steps of a few slots) whose n-th copy is refused, for
    /// every n: the entry whose copy was refused stays where it was, with its bytes; the
    /// others move; the store's content never changes; the next pass moves what was left.
    @Test(arguments: [0, 5])
    func compactionLeavesAnEntryWhoseCopyIsRefusedWhereItIs(stepSlots: Int) throws {
        /// A store whose chunks three quarters of the entries have left, and its model.
        func thinnedStore() throws -> (TestStore, StoreModel) {
            let store = try makeStore(chunkSize: 4096)
            var model = StoreModel()
            for index in 0..<400 {
                let expiry: SetExpiry = index % 8 == 0 ? .after(milliseconds: 60_000 + Int64(index)) : .none
                _ = Write.set("c:\(index)", letters(index, 120 + index % 80), .always, expiry).apply(to: &model)
                _ = try store.set(Bytes("c:\(index)"), to: Bytes(letters(index, 120 + index % 80)), expiry: expiry)
            }
            for index in 0..<400 where index % 4 != 0 {
                #expect(store.remove(Bytes("c:\(index)")))
                model.values["c:\(index)"] = nil
                model.timesToLive["c:\(index)"] = nil
            }
            return (store, model)
        }
        /// Runs a pass as the test asks: all at once, or in steps.
        func runPass(_ store: TestStore) -> CompactionReport {
            guard stepSlots > 0 else { return store.compact() }
            guard store.startCompaction() else { return store.compact() }
            while true {
                if let report = store.compactionStep(slots: stepSlots) { return report }
            }
        }

        let (clean, _) = try thinnedStore()
        let cleanReport = runPass(clean)
        let leftInChunksWhenClean = clean.valuesInChunks()
        #expect(cleanReport.movedBytes > 0 && cleanReport.copiesRefused == 0)

        var refusedRuns = 0
        for n in 1...1000 {
            let (store, model) = try thinnedStore()
            let faults = store.arena.faultInjection
            faults.set(.failNth(n), onlyThisThread: true)
            let report = runPass(store)
            let injected = faults.counts.injected
            faults.set(.off)
            #expect(StoreModel(reading: &store.store) == model, "copy \(n) refused")
            #expect(store.liveBytes == model.liveBytes)
            #expect(report.copiesRefused == injected, "copy \(n) refused")
            #expect(!report.stoppedByLimit, "an allocator's refusal is not the limit")
            guard injected > 0 else {
                #expect(report.movedBytes == cleanReport.movedBytes)
                break
            }
            refusedRuns += 1
            // The entry whose copy was refused is still in its chunk; every other one moved.
            #expect(store.valuesInChunks() == leftInChunksWhenClean + 1, "copy \(n) refused")
            // The next pass moves it.
            let again = store.compact()
            #expect(again.copiesRefused == 0 && again.movedBytes > 0)
            #expect(store.valuesInChunks() == leftInChunksWhenClean)
            #expect(StoreModel(reading: &store.store) == model)
        }
        #expect(refusedRuns > 50, "a pass copies about 100 entries: \(refusedRuns) refused")
        print("StoreFaultTests: compaction (step slots \(stepSlots)) survived \(refusedRuns) refused copies")
    }
}

/// What the store should hold: each key's value and time to live (milliseconds left; the
/// tests' clock stands still).
struct StoreModel: Equatable, CustomStringConvertible {
    var values: [String: [UInt8]] = [:]
    var timesToLive: [String: Int64] = [:]

    init() {}

    /// What `store` holds, read through its public API.
    init(reading store: inout Store) {
        for key in store.keys(where: { _ in true }) {
            let name = String(decoding: key, as: UTF8.self)
            values[name] = store.value(for: key).map { Array($0) }
            if case .milliseconds(let left) = store.timeToLive(of: key) { timesToLive[name] = left }
        }
    }

    /// The bytes of the keys and values, as `Store.liveBytes` counts them.
    var liveBytes: Int { values.reduce(0) { $0 + $1.key.utf8.count + $1.value.count } }

    var description: String {
        "\(values.count) keys, \(timesToLive.count) with a time to live, \(liveBytes) live bytes"
    }
}

/// A write of the store, applied to the store or to a model.
enum Write: CustomStringConvertible {
    case set(String, [UInt8], SetCondition, SetExpiry)
    case setAll([(key: String, value: [UInt8])])
    case append(String, [UInt8])
    case increment(String, by: Int)

    /// Every ``kind``.
    static let kinds = ["set (carved)", "set (block)", "setAll", "append", "increment"]

    /// The kind of write, for the figures: sets by where their entry goes.
    var kind: String {
        switch self {
        case .set(let key, let value, _, _): 4 + key.utf8.count + value.count > 512 ? "set (block)" : "set (carved)"
        case .setAll: "setAll"
        case .append: "append"
        case .increment: "increment"
        }
    }

    var description: String {
        switch self {
        case .set(let key, let value, let condition, let expiry):
            "set \(key) (\(value.count) bytes, \(condition), \(expiry))"
        case .setAll(let pairs): "setAll \(pairs.map(\.key))"
        case .append(let key, let suffix): "append \(suffix.count) bytes to \(key)"
        case .increment(let key, let amount): "increment \(key.prefix(12))… by \(amount)"
        }
    }

    /// `count` writes: carved and dedicated values, overwrites, times to live, conditions,
    /// `MSET`s, appends that grow a value past a chunk's carving limit, and counters whose long
    /// keys fill chunks quickly.
    static func script(count: Int) -> [Write] {
        (0..<count).map { index in
            let key = "key:\(index % 40)"
            switch index % 6 {
            case 0: return .set(key, letters(index, 100 + index * 7 % 300), .always, .none)
            case 1: return .set(key, letters(index, 600 + index * 13 % 3000), .always, .after(milliseconds: 5000))
            case 2: return .append(key, letters(index, 40 + index % 200))
            case 3:
                let pairs = [
                    ("m:\(index % 9):a", letters(index, 80)), ("m:\(index % 5):b", letters(index + 1, 900)),
                    (key, letters(index + 2, 200)),
                ]
                return .setAll(pairs.map { (key: $0.0, value: $0.1) })
            case 4:
                let condition: SetCondition = index % 12 == 4 ? .ifPresent : .ifAbsent
                return .set(index % 24 < 12 ? key : "new:\(index)", letters(index, 300), condition, .keep)
            default:
                return .increment("counter:\(index % 7):" + String(repeating: "c", count: 400), by: index - 150)
            }
        }
    }

    /// Runs the write on `store`; its result as text.
    func run(on store: TestStore) throws(ArenaError) -> String {
        switch self {
        case .set(let key, let value, let condition, let expiry):
            let result = try store.set(Bytes(key), to: Bytes(value), condition: condition, expiry: expiry)
            return Self.setResult(result.stored, result.previous.map { Array($0) })
        case .setAll(let pairs):
            try store.setAll(pairs.flatMap { [Bytes($0.key), Bytes($0.value)] }[...])
            return "OK"
        case .append(let key, let suffix):
            return "\(try store.append(Bytes(suffix), to: Bytes(key)))"
        case .increment(let key, let amount):
            do {
                return "\(try store.increment(Bytes(key), by: amount))"
            } catch {
                switch error {
                case .arena(let arenaError): throw arenaError
                case .notAnInteger, .overflow: return "\(error)"
                }
            }
        }
    }

    /// Applies the write to `model`; the result the store must give.
    func apply(to model: inout StoreModel) -> String {
        switch self {
        case .set(let key, let value, let condition, let expiry):
            let previous = model.values[key]
            switch condition {
            case .ifAbsent where previous != nil, .ifPresent where previous == nil:
                return Self.setResult(false, previous)
            default: break
            }
            model.values[key] = value
            switch expiry {
            case .none: model.timesToLive[key] = nil
            case .keep: break
            case .after(let milliseconds): model.timesToLive[key] = milliseconds
            }
            return Self.setResult(true, previous)
        case .setAll(let pairs):
            for (key, value) in pairs {
                model.values[key] = value
                model.timesToLive[key] = nil
            }
            return "OK"
        case .append(let key, let suffix):
            model.values[key, default: []] += suffix
            return "\(model.values[key]!.count)"
        case .increment(let key, let amount):
            let current = model.values[key].map { Int(String(decoding: $0, as: UTF8.self))! } ?? 0
            model.values[key] = Array(String(current + amount).utf8)
            return "\(current + amount)"
        }
    }

    private static func setResult(_ stored: Bool, _ previous: [UInt8]?) -> String {
        "stored: \(stored), previous: \(previous.map { "\($0.count) bytes \($0.prefix(8))" } ?? "nil")"
    }
}

/// Runs `write` on `store` with its arena's 1st, 2nd, … backend allocation refused, until a run
/// that never reaches the refusal; checks each refused run against `model` (unchanged), then
/// the last run against `model` with the write applied (which it becomes). Returns the number
/// of refused runs.
func refuseEachAllocation(_ write: Write, on store: TestStore, model: inout StoreModel) -> Int {
    let faults = store.arena.faultInjection
    for n in 1...100 {
        let reserved = store.arena.bytesReserved
        let blocks = store.arena.statistics().dedicatedBlocks
        faults.set(.failNth(n), onlyThisThread: true)
        let result = Result { () throws(ArenaError) in try write.run(on: store) }
        let injected = faults.counts.injected
        faults.set(.off)
        if injected == 0 {
            let expected = write.apply(to: &model)
            #expect((try? result.get()) == expected, "\(write)")
            #expect(StoreModel(reading: &store.store) == model, "\(write)")
            #expect(store.liveBytes == model.liveBytes, "\(write)")
            return n - 1
        }
        switch result {
        case .success(let output):
            Issue.record("\(write) succeeded (\(output)) although allocation \(n) was refused")
        case .failure(let error):
            if case .outOfMemory = error {} else { Issue.record("\(write), allocation \(n) refused: \(error)") }
        }
        #expect(StoreModel(reading: &store.store) == model, "\(write), allocation \(n) refused")
        #expect(store.liveBytes == model.liveBytes, "\(write), allocation \(n) refused")
        // No block outlives the refusal; a chunk refilled for an earlier entry of the write
        // (MSET's) stays as the chunk being carved, and is all the arena may have gained.
        #expect(store.arena.statistics().dedicatedBlocks == blocks, "\(write), allocation \(n) refused")
        let gained = store.arena.bytesReserved - reserved
        #expect(gained == 0 || gained == store.arena.configuration.chunkSize, "\(write), allocation \(n) refused")
    }
    Issue.record("\(write) still reached a refusal at its 100th allocation")
    return 100
}

/// `count` lowercase letters, a pattern that depends on `seed`.
func letters(_ seed: Int, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(97 + (seed &* 31 &+ $0 &* 7) % 26) }
}

extension TestStore {
    /// The number of values still carved from a chunk (whose storage is a whole chunk), as
    /// opposed to compacted copies and blocks of their own.
    func valuesInChunks() -> Int {
        keys().filter { key in (value(for: key)?.retainedBytes ?? 0) >= arena.configuration.chunkSize }.count
    }
}
