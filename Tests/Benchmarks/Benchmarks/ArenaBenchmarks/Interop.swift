// Workloads 9 and 10: handing bytes to the kernel and to NIO.
//
// - 9: write a 64 KiB message made of 16 non-adjacent 4 KiB segments to /dev/null: one
//   `writev` of the chain's vectors, against concatenating the segments into one buffer and one
//   `write` (what code without a chain does). /dev/null costs the kernel no copy, so the figures
//   are the syscall plus what each side does in user space.
// - 10: a 4 KiB ByteBuffer turned into `Bytes` (zero-copy, keeps the buffer's storage) and a
//   `Bytes` or a 2-segment `Chain` turned into a ByteBuffer (one copy), against
//   ByteBuffer -> [UInt8] and NIO's own `ByteBuffer(bytes: array)`; and
//   what `Data(Bytes)` costs now that it copies (a `Data` that writes in place must never reach
//   memory other views read), against `Data([UInt8])`.

import ArenaBytes
import ArenaNIO
import Benchmark
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

let writevSegments = 16
let writevSegmentSize = 4096

/// 16 views of 4 KiB, each with a gap before the next, so nothing coalesces.
func sixteenSegmentChain() -> Chain {
    let source = Bytes(pattern(writevSegments * (writevSegmentSize + 64)))
    return Chain(
        (0..<writevSegments).map { index in
            let start = index * (writevSegmentSize + 64)
            return source.slice(start..<start + writevSegmentSize)
        }
    )
}

func registerInterop() {
    let writes = "9 write a 16-segment 64 KiB message"
    let message = writevSegments * writevSegmentSize
    let writesPerBatch = 64
    register(writes, .ours, "Chain.withIOVectors + writev", arena: true, throughput: true) { benchmark in
        let chain = sixteenSegmentChain()
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        measure(benchmark, ops: writesPerBatch, bytes: writesPerBatch * message, arena: .shared) {
            for _ in 0..<writesPerBatch {
                let written = chain.withIOVectors { writev(devNull, $0.baseAddress, Int32($0.count)) }
                precondition(written == message)
            }
        }
    }
    register(writes, .peer, "concatenate into [UInt8] + write", throughput: true) { benchmark in
        let segments = sixteenSegmentChain().segments.map { Array($0) }
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        measure(benchmark, ops: writesPerBatch, bytes: writesPerBatch * message) {
            for _ in 0..<writesPerBatch {
                var joined: [UInt8] = []
                joined.reserveCapacity(message)
                for segment in segments { joined += segment }
                let written = joined.withUnsafeBytes { write(devNull, $0.baseAddress, $0.count) }
                precondition(written == message)
            }
        }
    }
    register(writes, .peer, "concatenate into ByteBuffer + write", throughput: true) { benchmark in
        let segments = sixteenSegmentChain().segments.map { ByteBuffer(bytes: Array($0)) }
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        measure(benchmark, ops: writesPerBatch, bytes: writesPerBatch * message) {
            for _ in 0..<writesPerBatch {
                var joined = ByteBufferAllocator().buffer(capacity: message)
                for var segment in segments { joined.writeBuffer(&segment) }
                let written = joined.withUnsafeReadableBytes { write(devNull, $0.baseAddress, $0.count) }
                precondition(written == message)
            }
        }
    }

    let conversions = "10 ByteBuffer to bytes and back (4 KiB)"
    let conversionsPerBatch = 1024
    register(conversions, .ours, "Bytes(buffer) (zero-copy)", arena: true) { benchmark in
        let buffer = ByteBuffer(bytes: pattern(4096))
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: conversionsPerBatch, arena: .shared) {
                for _ in 0..<conversionsPerBatch { slot.pointee = Bytes(buffer) }
            }
        }
    }
    register(conversions, .oursVariant, "ByteBuffer(bytes) (one copy)", arena: true) { benchmark in
        let bytes = Bytes(pattern(4096))
        withSlot(ByteBuffer()) { slot in
            measure(benchmark, ops: conversionsPerBatch, arena: .shared) {
                for _ in 0..<conversionsPerBatch { slot.pointee = ByteBuffer(bytes) }
            }
        }
    }
    // The 4 KiB of workload 8's chain (two segments of about 2 KiB, not adjacent), copied into
    // one buffer: a capacity check and one copy per segment.
    register(conversions, .oursVariant, "ByteBuffer(chain) (one copy)", arena: true) { benchmark in
        let chain = twoSegmentChain()
        withSlot(ByteBuffer()) { slot in
            measure(benchmark, ops: conversionsPerBatch, arena: .shared) {
                for _ in 0..<conversionsPerBatch { slot.pointee = ByteBuffer(chain) }
            }
        }
    }
    register(conversions, .peer, "Array(buffer.readableBytesView) (copy)") { benchmark in
        let buffer = ByteBuffer(bytes: pattern(4096))
        withSlot([UInt8]()) { slot in
            measure(benchmark, ops: conversionsPerBatch) {
                for _ in 0..<conversionsPerBatch { slot.pointee = Array(buffer.readableBytesView) }
            }
        }
    }
    register(conversions, .oursVariant, "Data(bytes) (one copy)", arena: true) { benchmark in
        let bytes = Bytes(pattern(4096))
        withSlot(Data()) { slot in
            measure(benchmark, ops: conversionsPerBatch, arena: .shared) {
                for _ in 0..<conversionsPerBatch { slot.pointee = Data(bytes) }
            }
        }
    }
    register(conversions, .peer, "Data(array) (copy)") { benchmark in
        let array = pattern(4096)
        withSlot(Data()) { slot in
            measure(benchmark, ops: conversionsPerBatch) {
                for _ in 0..<conversionsPerBatch { slot.pointee = Data(array) }
            }
        }
    }
    register(conversions, .peer, "ByteBuffer(bytes: array) (copy)") { benchmark in
        let array = pattern(4096)
        withSlot(ByteBuffer()) { slot in
            measure(benchmark, ops: conversionsPerBatch) {
                for _ in 0..<conversionsPerBatch { slot.pointee = ByteBuffer(bytes: array) }
            }
        }
    }
}
