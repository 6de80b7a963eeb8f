import Arena
import ArenaBytes
import ArenaTestSupport
import Testing

/// A writer under test and the bytes it should hold.
private final class WriterSlot {
    var writer: BytesMut
    var model: [UInt8]
    init(_ writer: consuming BytesMut, model: [UInt8]) {
        self.writer = writer
        self.model = model
    }
}

/// Random operations on `BytesMut` and `Bytes`, checked against `[UInt8]` after each one.
/// A failure prints the seed; `ARENA_TEST_SEED=<seed> swift test --filter Differential` replays it.
@Suite("Differential against [UInt8]", .timeLimit(.minutes(5)))
struct DifferentialTests {
    @Test(arguments: [false, true])
    func randomOperationsMatchAnArrayModel(threadLocalChunks: Bool) throws {
        let seed = TestSeed.current
        let operations = TestScale.count(120_000)
        var random = SplitMix64(seed: seed)
        let arena = try ArenaAllocator(
            .init(name: "differential", chunkSize: 16 << 10, threadLocalChunks: threadLocalChunks)
        )
        var writers: [WriterSlot] = []
        var views: [(bytes: Bytes, model: [UInt8])] = []
        var failures = 0

        func check(_ condition: Bool, _ what: @autoclosure () -> String, step: Int) {
            if !condition && failures < 5 {
                failures += 1
                Issue.record("\(TestSeed.replayHint), step \(step): \(what())")
            }
        }
        func randomBytes(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
        }

        for step in 0..<operations {
            if writers.isEmpty { writers.append(WriterSlot(BytesMut(capacity: 16, in: arena), model: [])) }
            let w = Int.random(in: 0..<writers.count, using: &random)
            let slot = writers[w]
            switch Int.random(in: 0..<22, using: &random) {
            case 0:
                let capacity = [0, 1, 7, 64, 300, 3000, 9000].randomElement(using: &random)!
                writers.append(WriterSlot(BytesMut(capacity: capacity, in: arena), model: []))
            case 1:
                let byte = UInt8.random(in: 0...255, using: &random)
                slot.writer.append(byte)
                slot.model.append(byte)
            case 2:
                let bytes = randomBytes(Int.random(in: 0..<200, using: &random))
                slot.writer.append(contentsOf: bytes)
                slot.model += bytes
            case 3:
                if let view = views.randomElement(using: &random) {
                    slot.writer.append(view.bytes)
                    slot.model += view.model
                }
            case 4:
                let order: ByteOrder = Bool.random(using: &random) ? .big : .little
                let value = UInt32.random(in: 0...UInt32.max, using: &random)
                slot.writer.writeInteger(value, byteOrder: order)
                let stored = order == .big ? value.bigEndian : value.littleEndian
                slot.model += withUnsafeBytes(of: stored) { Array($0) }
            case 5:
                let value = Int16.random(in: Int16.min...Int16.max, using: &random)
                slot.writer.writeInteger(value, byteOrder: .little)
                slot.model += withUnsafeBytes(of: value.littleEndian) { Array($0) }
            case 6:
                if slot.model.count >= 8 {
                    let index = Int.random(in: 0...(slot.model.count - 8), using: &random)
                    let value = UInt64.random(in: 0...UInt64.max, using: &random)
                    slot.writer.setInteger(value, at: index)
                    slot.model.replaceSubrange(
                        index..<index + 8,
                        with: withUnsafeBytes(of: value.bigEndian) { Array($0) }
                    )
                    check(
                        slot.writer.getInteger(at: index, as: UInt64.self) == value,
                        "getInteger after setInteger",
                        step: step
                    )
                }
            case 7:
                slot.writer.reserveCapacity(Int.random(in: 0..<20_000, using: &random))
            case 8:
                let length = Int.random(in: 0...(slot.model.count + 5), using: &random)
                slot.writer.truncate(length)
                if length < slot.model.count { slot.model.removeSubrange(length...) }
            case 9:
                slot.writer.removeAll(keepingCapacity: Bool.random(using: &random))
                slot.model.removeAll()
            case 10:
                let index = Int.random(in: 0...slot.model.count, using: &random)
                let front = slot.writer.split(to: index)
                writers.append(WriterSlot(front, model: Array(slot.model[..<index])))
                slot.model.removeSubrange(..<index)
            case 11:
                let index = Int.random(in: 0...slot.model.count, using: &random)
                let back = slot.writer.split(from: index)
                writers.append(WriterSlot(back, model: Array(slot.model[index...])))
                slot.model.removeSubrange(index...)
            case 12:
                if writers.count >= 2 {
                    var other = Int.random(in: 0..<writers.count, using: &random)
                    if other == w { other = (w + 1) % writers.count }
                    let next = writers[other]
                    writers.remove(at: other)
                    let empty = BytesMut()
                    let taken = exchange(&next.writer, with: empty)
                    slot.writer.unsplit(taken)
                    slot.model += next.model
                }
            case 13:
                writers.remove(at: w)
                let taken = exchange(&slot.writer, with: BytesMut())
                views.append((taken.freeze(), slot.model))
                slot.model = []
            case 14:
                if !views.isEmpty {
                    let v = Int.random(in: 0..<views.count, using: &random)
                    let (bytes, model) = views.remove(at: v)
                    if let reclaimed = BytesMut(reclaiming: bytes) {
                        check(reclaimed.count == model.count, "reclaimed count", step: step)
                        writers.append(WriterSlot(reclaimed, model: model))
                    }
                }
            case 15:
                let written = slot.writer.withUnsafeMutableUninitializedCapacity { spare in
                    let count = min(spare.count, Int.random(in: 0..<100, using: &random))
                    for index in 0..<count { spare[index] = UInt8(truncatingIfNeeded: index &* 31) }
                    return count
                }
                slot.model += (0..<written).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            case 16 where !views.isEmpty:
                let v = Int.random(in: 0..<views.count, using: &random)
                let lower = Int.random(in: 0...views[v].model.count, using: &random)
                let upper = Int.random(in: lower...views[v].model.count, using: &random)
                views.append((views[v].bytes.slice(lower..<upper), Array(views[v].model[lower..<upper])))
            case 17 where !views.isEmpty:
                let v = Int.random(in: 0..<views.count, using: &random)
                let index = Int.random(in: 0...views[v].model.count, using: &random)
                if Bool.random(using: &random) {
                    let front = views[v].bytes.split(to: index)
                    views.append((front, Array(views[v].model[..<index])))
                    views[v].model.removeSubrange(..<index)
                } else {
                    let back = views[v].bytes.split(from: index)
                    views.append((back, Array(views[v].model[index...])))
                    views[v].model.removeSubrange(index...)
                }
            case 18 where !views.isEmpty:
                let v = Int.random(in: 0..<views.count, using: &random)
                let value = views[v].bytes.readInteger(byteOrder: .little, as: UInt32.self)
                if views[v].model.count >= 4 {
                    let expected = views[v].model[0..<4].enumerated().reduce(UInt32(0)) {
                        $0 | UInt32($1.element) << (8 * $1.offset)
                    }
                    check(value == expected, "readInteger", step: step)
                    views[v].model.removeFirst(4)
                } else {
                    check(value == nil, "readInteger on short data", step: step)
                }
            case 19 where !views.isEmpty:
                let v = Int.random(in: 0..<views.count, using: &random)
                let wanted = Int.random(in: -2...(views[v].model.count + 2), using: &random)
                let read = views[v].bytes.readBytes(wanted)
                if wanted >= 0 && wanted <= views[v].model.count {
                    check(read.map(Array.init) == Array(views[v].model[..<wanted]), "readBytes", step: step)
                    views[v].model.removeFirst(wanted)
                } else {
                    check(read == nil, "readBytes past the end", step: step)
                }
            case 20 where views.count >= 2:
                let a = Int.random(in: 0..<views.count, using: &random)
                let b = Int.random(in: 0..<views.count, using: &random)
                if let merged = views[a].bytes.merged(with: views[b].bytes) {
                    check(Array(merged) == views[a].model + views[b].model, "merged content", step: step)
                    views.append((merged, views[a].model + views[b].model))
                }
            default:
                if !views.isEmpty && Bool.random(using: &random) {
                    views.remove(at: Int.random(in: 0..<views.count, using: &random))
                } else if writers.count > 1 {
                    writers.remove(at: w)
                }
            }
            // Keep the working set bounded.
            if writers.count > 24 { writers.removeFirst() }
            if views.count > 48 { views.removeFirst() }
            if slot.model.count > 40_000 {
                slot.writer.truncate(100)
                slot.model.removeSubrange(100...)
            }
            // Check what the step touched, and one random view.
            let writerBytes = slot.writer.withUnsafeBytes { Array($0) }
            check(
                writerBytes == slot.model,
                "writer content (count \(slot.writer.count) vs \(slot.model.count))",
                step: step
            )
            check(slot.writer.count <= slot.writer.capacity, "count within capacity", step: step)
            if let view = views.randomElement(using: &random) {
                check(Array(view.bytes) == view.model, "view content", step: step)
                check(view.bytes == Bytes(view.model), "view equality", step: step)
            }
            if failures >= 5 { break }
        }
        #expect(failures == 0, "\(TestSeed.replayHint)")
    }
}
