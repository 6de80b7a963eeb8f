// Workload 8: read a chain of two 2 KiB segments that are not adjacent in memory.
//
// - 8a: big-endian UInt32s, one of them spanning the two segments; one operation is one integer.
//   Peers: concatenating the two segments into a new ByteBuffer first (what code without a chain
//   does), and reading an already-contiguous buffer (the lower bound).
// - 8b: 64-byte frames; one operation is one frame, kept in a slot as the other frame workloads do.
//   `Chain.readContiguousBytes` gives each frame as one `Bytes`: a view when it lies in one
//   segment, an exact-size copy when it straddles the two (1 frame in 64 here: the boundary falls
//   2 bytes before a frame's end, so `regions/op` is 1/64); `Chain.readBytes` gives a chain of
//   views (two segments for the straddling frame).
//
// Each pass reads a copy of the same chain; reading never writes the chain's segment array, so
// the copy allocates nothing. The peers read the same 4 KiB from one contiguous buffer (NIO has
// no chain).

import ArenaBytes
import Benchmark
import NIOCore

let chainSegmentSize = 2048
let chainSize = 2 * chainSegmentSize

/// Two views of about 2 KiB with a gap between them, so the chain cannot be coalesced; the
/// boundary falls 2 bytes into a UInt32, so one integer spans both segments.
func twoSegmentChain() -> Chain {
    let source = pattern(chainSize)
    let first = Bytes(source[0..<(chainSegmentSize - 2)])
    let gap = Bytes(pattern(16))
    let second = Bytes(source[(chainSegmentSize - 2)...])
    precondition(first.merged(with: second) == nil && !gap.isEmpty)
    return first.chain(second)
}

func registerChains() {
    let integersPerPass = chainSize / MemoryLayout<UInt32>.size
    let integerPasses = 8
    let integerOps = integersPerPass * integerPasses
    let framesPerChain = chainSize / frameSize
    let framePasses = 128
    let frameOps = framesPerChain * framePasses

    let integers = "8a read UInt32s from a 2-segment chain"
    register(integers, .ours, "Chain.readInteger", arena: true) { benchmark in
        let chain = twoSegmentChain()
        measure(benchmark, ops: integerOps, arena: .shared) {
            var sum: UInt32 = 0
            for _ in 0..<integerPasses {
                var rest = chain
                while let value = rest.readInteger(as: UInt32.self) { sum &+= value }
            }
            sink(sum)
        }
    }
    register(integers, .oursVariant, "Bytes.readInteger (one contiguous view)", arena: true) { benchmark in
        let view = Bytes(pattern(chainSize))
        measure(benchmark, ops: integerOps, arena: .shared) {
            var sum: UInt32 = 0
            for _ in 0..<integerPasses {
                var rest = view
                while let value = rest.readInteger(as: UInt32.self) { sum &+= value }
            }
            sink(sum)
        }
    }
    register(integers, .peer, "concatenate into ByteBuffer + readInteger") { benchmark in
        let halves = twoSegmentChain().segments.map { Array($0) }
        measure(benchmark, ops: integerOps) {
            var sum: UInt32 = 0
            for _ in 0..<integerPasses {
                var joined = ByteBufferAllocator().buffer(capacity: chainSize)
                for half in halves { joined.writeBytes(half) }
                while let value = joined.readInteger(as: UInt32.self) { sum &+= value }
            }
            sink(sum)
        }
    }
    register(integers, .peer, "ByteBuffer.readInteger (contiguous)") { benchmark in
        let buffer = ByteBuffer(bytes: pattern(chainSize))
        measure(benchmark, ops: integerOps) {
            var sum: UInt32 = 0
            for _ in 0..<integerPasses {
                var rest = buffer
                while let value = rest.readInteger(as: UInt32.self) { sum &+= value }
            }
            sink(sum)
        }
    }

    let frames = "8b read 64 B frames from a 2-segment chain"
    register(frames, .ours, "Chain.readContiguousBytes(64)", arena: true) { benchmark in
        let chain = twoSegmentChain()
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: frameOps, arena: .shared) {
                for _ in 0..<framePasses {
                    var rest = chain
                    while let frame = rest.readContiguousBytes(frameSize) { slot.pointee = frame }
                }
            }
        }
    }
    register(frames, .oursVariant, "Chain.readBytes(64)", arena: true) { benchmark in
        let chain = twoSegmentChain()
        withSlot(Chain()) { slot in
            measure(benchmark, ops: frameOps, arena: .shared) {
                for _ in 0..<framePasses {
                    var rest = chain
                    while let frame = rest.readBytes(frameSize) { slot.pointee = frame }
                }
            }
        }
    }
    register(frames, .peer, "ByteBuffer.readSlice(length: 64) (contiguous)") { benchmark in
        let buffer = ByteBuffer(bytes: pattern(chainSize))
        withSlot(ByteBuffer()) { slot in
            measure(benchmark, ops: frameOps) {
                for _ in 0..<framePasses {
                    var rest = buffer
                    while let frame = rest.readSlice(length: frameSize) { slot.pointee = frame }
                }
            }
        }
    }
}
