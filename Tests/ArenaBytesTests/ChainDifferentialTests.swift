import Arena
import ArenaBytes
import ArenaTestSupport
import Testing

/// Random reads and joins on `Chain`, checked against `[UInt8]` after each one. Segments are
/// random slices of a few buffers, so some are adjacent (and coalesce) and some are not.
/// A failure prints the seed; `ARENA_TEST_SEED=<seed> swift test --filter ChainDifferential` replays it.
@Suite("Chain differential against [UInt8]", .timeLimit(.minutes(5)))
struct ChainDifferentialTests {
    @Test func randomChainOperationsMatchAnArrayModel() throws {
        let seed = TestSeed.current
        var random = SplitMix64(seed: seed)
        let arena = try ArenaAllocator(.init(name: "chain-differential"))
        let sources = (0..<4).map { index in
            Bytes((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* (index + 3)) }, in: arena)
        }
        var chain = Chain()
        var model: [UInt8] = []
        var failures = 0
        func check(_ condition: Bool, _ what: @autoclosure () -> String, step: Int) {
            if !condition && failures < 5 {
                failures += 1
                Issue.record("\(TestSeed.replayHint), step \(step): \(what())")
            }
        }

        for step in 0..<TestScale.count(50_000) {
            switch Int.random(in: 0..<9, using: &random) {
            case 0, 1:
                // Append a slice; often the one right after the previous segment (adjacent).
                let source = sources.randomElement(using: &random)!
                let lower = Int.random(in: 0...source.count, using: &random)
                let upper = Int.random(in: lower...min(source.count, lower + 300), using: &random)
                chain.append(source.slice(lower..<upper))
                model += source[lower..<upper]
            case 2:
                let wanted = Int.random(in: -1...(model.count + 1), using: &random)
                let read = chain.readBytes(wanted)
                if wanted >= 0 && wanted <= model.count {
                    check(read.map(Array.init) == Array(model[..<wanted]), "readBytes(\(wanted))", step: step)
                    model.removeFirst(wanted)
                } else {
                    check(read == nil, "readBytes past the end", step: step)
                }
            case 3:
                let order: ByteOrder = Bool.random(using: &random) ? .big : .little
                let value = chain.readInteger(byteOrder: order, as: UInt32.self)
                if model.count >= 4 {
                    let bytes = Array(model[..<4])
                    let big = bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                    check(value == (order == .big ? big : big.byteSwapped), "readInteger", step: step)
                    model.removeFirst(4)
                } else {
                    check(value == nil, "readInteger on short data", step: step)
                }
            case 4:
                let index = Int.random(in: -1...(model.count + 1), using: &random)
                let value = chain.getInteger(at: index, as: UInt16.self)
                if index >= 0 && index + 2 <= model.count {
                    check(value == UInt16(model[index]) << 8 | UInt16(model[index + 1]), "getInteger", step: step)
                } else {
                    check(value == nil, "getInteger out of range", step: step)
                }
            case 5:
                let joined = chain.coalesced()
                check(joined == chain && joined.count == model.count, "coalesced keeps the bytes", step: step)
                check(joined.segments.count <= chain.segments.count, "coalesced never adds segments", step: step)
                chain = joined
            case 6:
                let flat = chain.flattened(in: arena)
                check(Array(flat) == model, "flattened", step: step)
            case 7:
                // A frame, often small enough to lie in the head; sometimes read from a copy,
                // which must leave the original as it was.
                let wanted = Int.random(in: -1...min(model.count + 1, 400), using: &random)
                let headCount = chain.segments.first?.count ?? 0
                let headAddress = chain.segments.first?.region.baseAddress
                if Bool.random(using: &random) {
                    var copy = chain
                    _ = copy.readContiguousBytes(wanted, in: arena)
                    check(Array(chain) == model, "reading a copy changed the original", step: step)
                }
                let read = chain.readContiguousBytes(wanted, in: arena)
                if wanted >= 0 && wanted <= model.count {
                    check(read.map(Array.init) == Array(model[..<wanted]), "readContiguousBytes(\(wanted))", step: step)
                    if wanted > 0 && wanted <= headCount {
                        check(read?.region.baseAddress == headAddress, "a frame in the head is not copied", step: step)
                    }
                    model.removeFirst(wanted)
                } else {
                    check(read == nil, "readContiguousBytes past the end", step: step)
                }
            default:
                if model.count > 20_000 || Bool.random(using: &random) && model.count > 2_000 {
                    chain = Chain()
                    model = []
                }
            }
            check(chain.count == model.count, "count \(chain.count) vs \(model.count)", step: step)
            if step % 64 == 0 { check(Array(chain) == model, "content", step: step) }
            if failures >= 5 { break }
        }
        #expect(failures == 0, "\(TestSeed.replayHint)")
    }
}
