// Workload 5: grow a fresh, empty buffer to 64 MiB by appending 1 MiB blocks, then drop it.
//
// One operation is the whole growth (64 appends and the final free); the summary reports it as
// GB/s of bytes appended. The `ref` row copies the same 64 MiB with `memcpy` into a buffer that
// is allocated and touched once per process: the copy alone, no allocation, no page fault.

import ArenaBytes
import Benchmark
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

let growthBlock = 1 << 20
let growthTotal = 64 << 20
let growthBlocks = growthTotal / growthBlock

func registerGrowth() {
    let source = pattern(growthBlock)
    let workload = "5 grow to 64 MiB by 1 MiB appends"

    register(workload, .ours, "BytesMut.append(contentsOf:)", arena: true, throughput: true) { benchmark in
        measure(benchmark, ops: 1, bytes: growthTotal, arena: .shared) { growBytesMut(source) }
    }
    // jemalloc 5.3 purges every freed extent of at least `arena.<i>.oversize_threshold` (8 MiB)
    // at once, manual arenas included, so each growth page-faults its blocks in again. This row
    // raises the threshold on an arena of its own: what the library gains by doing the same.
    register(workload, .oursVariant, "BytesMut, arena oversize threshold raised", arena: true, throughput: true) {
        benchmark in
        let arena = growthArena
        measure(benchmark, ops: 1, bytes: growthTotal, arena: arena) { growBytesMut(source, in: arena) }
    }
    register(workload, .peer, "[UInt8].append(contentsOf:)", throughput: true) { benchmark in
        measure(benchmark, ops: 1, bytes: growthTotal) { growArray(source) }
    }
    register(workload, .peer, "ByteBuffer.writeBytes", throughput: true) { benchmark in
        measure(benchmark, ops: 1, bytes: growthTotal) { growByteBuffer(source) }
    }
    register(workload, .peer, "Data.append(contentsOf:)", throughput: true) { benchmark in
        measure(benchmark, ops: 1, bytes: growthTotal) { growData(source) }
    }
    register(workload, .reference, "memcpy into a preallocated 64 MiB buffer", throughput: true) { benchmark in
        let destination = growthDestination
        measure(benchmark, ops: 1, bytes: growthTotal) {
            source.withUnsafeBytes { block in
                for index in 0..<growthBlocks {
                    memcpy(destination + index * growthBlock, block.baseAddress!, growthBlock)
                }
            }
            sink(destination)
        }
    }
}

/// The `memcpy` destination: allocated and touched once per process, so no page faults.
nonisolated(unsafe) let growthDestination: UnsafeMutableRawPointer = {
    let pointer = UnsafeMutableRawPointer.allocate(byteCount: growthTotal, alignment: 64)
    pointer.initializeMemory(as: UInt8.self, repeating: 1, count: growthTotal)
    return pointer
}()

/// An arena whose jemalloc arena keeps freed blocks of any size dirty (reusable without page
/// faults) until decay or `purge()`.
let growthArena: ArenaAllocator = {
    do {
        let arena = try ArenaAllocator(.init(name: "bench-growth"))
        if let index = arena.jemallocArenaIndex {
            try Jemalloc.write("arena.\(index).oversize_threshold", Int.max)
        }
        return arena
    } catch {
        fatalError("cannot set up the growth arena: \(error)")
    }
}()

@inline(never)
func growBytesMut(_ source: [UInt8], in arena: ArenaAllocator = .shared) {
    var writer = BytesMut(capacity: 0, in: arena)
    for _ in 0..<growthBlocks { writer.append(contentsOf: source) }
    precondition(writer.count == growthTotal)
}

@inline(never)
func growArray(_ source: [UInt8]) {
    var array = [UInt8]()
    for _ in 0..<growthBlocks { array.append(contentsOf: source) }
    precondition(array.count == growthTotal)
}

@inline(never)
func growByteBuffer(_ source: [UInt8]) {
    var buffer = ByteBufferAllocator().buffer(capacity: 0)
    for _ in 0..<growthBlocks { buffer.writeBytes(source) }
    precondition(buffer.readableBytes == growthTotal)
}

@inline(never)
func growData(_ source: [UInt8]) {
    var data = Data()
    for _ in 0..<growthBlocks { data.append(contentsOf: source) }
    precondition(data.count == growthTotal)
}
