// Workload 4: 2^20 (about a million) big-endian UInt32 writes into a buffer with room for them.
//
// The buffer is made once per process and emptied (keeping its capacity) before each batch, so
// the batch measures the write path alone: no allocation, no page fault. One operation is one write.

import ArenaBytes
import Benchmark
import Foundation
import NIOCore

let integerWrites = 1 << 20
let integerBytes = integerWrites * MemoryLayout<UInt32>.size

/// A value kept across iterations of one benchmark process.
final class Holder<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}

func registerIntegers() {
    let workload = "4 write 2^20 big-endian UInt32"

    // Each loop runs in a function taking the buffer `inout`: one exclusivity check per batch,
    // not one per write through the holder's class property.
    register(workload, .ours, "BytesMut.writeInteger", arena: true) { benchmark in
        let holder = persistentWriter
        measure(benchmark, ops: integerWrites, arena: .shared) { writeIntegers(&holder.writer) }
        precondition(holder.writer.count == integerBytes)
    }
    register(workload, .peer, "ByteBuffer.writeInteger") { benchmark in
        let holder = persistentBuffer
        measure(benchmark, ops: integerWrites) { writeIntegers(&holder.value) }
        precondition(holder.value.readableBytes == integerBytes)
    }
    register(workload, .peer, "[UInt8] append bigEndian bytes") { benchmark in
        let holder = persistentArray
        measure(benchmark, ops: integerWrites) { writeIntegers(&holder.value) }
        precondition(holder.value.count == integerBytes)
    }
    register(workload, .peer, "Data append bigEndian bytes") { benchmark in
        let holder = persistentData
        measure(benchmark, ops: integerWrites) { writeIntegers(&holder.value) }
        precondition(holder.value.count == integerBytes)
    }
}

@inline(never)
func writeIntegers(_ writer: inout BytesMut) {
    writer.removeAll(keepingCapacity: true)
    for index in 0..<integerWrites {
        writer.writeInteger(UInt32(truncatingIfNeeded: index))
    }
}

@inline(never)
func writeIntegers(_ buffer: inout ByteBuffer) {
    buffer.clear()
    for index in 0..<integerWrites {
        buffer.writeInteger(UInt32(truncatingIfNeeded: index))
    }
}

@inline(never)
func writeIntegers(_ array: inout [UInt8]) {
    array.removeAll(keepingCapacity: true)
    for index in 0..<integerWrites {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: index).bigEndian) { array.append(contentsOf: $0) }
    }
}

@inline(never)
func writeIntegers(_ data: inout Data) {
    data.removeAll(keepingCapacity: true)
    for index in 0..<integerWrites {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: index).bigEndian) {
            data.append($0.assumingMemoryBound(to: UInt8.self))
        }
    }
}

nonisolated(unsafe) let persistentWriter = WriterHolder(BytesMut(capacity: integerBytes))
nonisolated(unsafe) let persistentBuffer = Holder(ByteBufferAllocator().buffer(capacity: integerBytes))
nonisolated(unsafe) let persistentArray: Holder<[UInt8]> = {
    var array = [UInt8]()
    array.reserveCapacity(integerBytes)
    return Holder(array)
}()
nonisolated(unsafe) let persistentData = Holder(Data(capacity: integerBytes))
