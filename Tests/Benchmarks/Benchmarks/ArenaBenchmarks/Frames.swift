// Workload 3: cut 64-byte frames off a 64 KiB buffer, the read-buffer pattern.
//
// Each pass takes a fresh (zero-copy) view of the whole buffer and splits all 1,024 frames off
// its front; each frame is stored in a slot, dropping the previous one. One operation is one frame.

import ArenaBytes
import Benchmark
import Foundation
import NIOCore

let frameBufferSize = 64 << 10
let frameSize = 64
let framesPerPass = frameBufferSize / frameSize

func registerFrames() {
    let passes = 8
    let ops = passes * framesPerPass
    let source = pattern(frameBufferSize)
    let workload = "3 split 64 B frames off 64 KiB"

    register(workload, .ours, "Bytes.readBytes(64)", arena: true) { benchmark in
        let buffer = Bytes(source)
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: ops, arena: .shared) {
                for _ in 0..<passes {
                    var rest = buffer
                    while let frame = rest.readBytes(frameSize) { slot.pointee = frame }
                }
            }
        }
    }
    register(workload, .oursVariant, "Bytes.split(to: 64)", arena: true) { benchmark in
        let buffer = Bytes(source)
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: ops, arena: .shared) {
                for _ in 0..<passes {
                    var rest = buffer
                    for _ in 0..<framesPerPass { slot.pointee = rest.split(to: frameSize) }
                }
            }
        }
    }
    register(workload, .oursVariant, "BytesMut.split(to: 64).freeze()", arena: true) { benchmark in
        // The writer side: a filled 64 KiB writer handing out frozen frames; reclaimed between passes.
        let holder = WriterHolder(BytesMut(capacity: frameBufferSize))
        holder.writer.append(contentsOf: source)
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: ops, arena: .shared) {
                for _ in 0..<passes { splitFrames(&holder.writer, into: slot) }
            }
        }
    }
    register(workload, .peer, "ByteBuffer.readSlice(length: 64)") { benchmark in
        let buffer = ByteBuffer(bytes: source)
        withSlot(ByteBuffer()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<passes {
                    var rest = buffer
                    while let frame = rest.readSlice(length: frameSize) { slot.pointee = frame }
                }
            }
        }
    }
    register(workload, .peer, "ArraySlice prefix+removeFirst") { benchmark in
        let array = source
        withSlot(array[0..<0]) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<passes {
                    var rest = array[...]
                    for _ in 0..<framesPerPass {
                        slot.pointee = rest.prefix(frameSize)
                        rest.removeFirst(frameSize)
                    }
                }
            }
        }
    }
    register(workload, .peer, "Data prefix+dropFirst") { benchmark in
        let data = Data(source)
        withSlot(Data()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<passes {
                    var rest = data
                    for _ in 0..<framesPerPass {
                        slot.pointee = rest.prefix(frameSize)
                        rest = rest.dropFirst(frameSize)
                    }
                }
            }
        }
    }
}

/// Splits every frame off a full writer, then (every frame dropped) rewinds it and marks it
/// full again, as a `read(2)` into the spare capacity would. `inout`: one exclusivity check.
@inline(never)
func splitFrames(_ writer: inout BytesMut, into slot: UnsafeMutablePointer<Bytes>) {
    for _ in 0..<framesPerPass { slot.pointee = writer.split(to: frameSize).freeze() }
    slot.pointee = Bytes()
    // Every frame is gone: the next reserve rewinds to the start of the block.
    writer.reserveCapacity(frameBufferSize)
    writer.withUnsafeMutableUninitializedCapacity { _ in frameBufferSize }
}

/// A writer kept across iterations (a `~Copyable` value cannot be captured by an escaping closure).
final class WriterHolder {
    var writer: BytesMut

    init(_ writer: consuming BytesMut) {
        self.writer = writer
    }
}
