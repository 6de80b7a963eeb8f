// Workload 7: two threads cloning one shared view at the same time.
//
// Both threads store clones of the same value in their own slot, so every operation is an atomic
// increment and decrement on one shared reference count: the cache line bounces between the
// cores. Threads are started and parked before the measured region; one operation is one clone
// on one thread (ns/op is wall time / clones per thread).

import ArenaBytes
import Benchmark
import Foundation
import NIOCore
import Synchronization

let clonesPerThread = 1 << 17

func registerThreads() {
    let source = pattern(viewSize)
    let workload = "7 two threads cloning one 4 KiB view"

    register(workload, .ours, "Bytes copy", arena: true) { benchmark in
        cloneOnTwoThreads(benchmark, Bytes(source), empty: Bytes(), arena: .shared)
    }
    register(workload, .peer, "ByteBuffer copy") { benchmark in
        cloneOnTwoThreads(benchmark, ByteBuffer(bytes: source), empty: ByteBuffer())
    }
    register(workload, .peer, "[UInt8] copy") { benchmark in
        cloneOnTwoThreads(benchmark, source, empty: [])
    }
}

/// What the two threads and the benchmark thread share.
final class TwoThreads: @unchecked Sendable {
    let ready = Atomic<Int>(0)
    let go = Atomic<Bool>(false)
    let heapBytes = Atomic<Int>(0)
    let done = DispatchSemaphore(value: 0)
}

/// Starts two threads that each store `clonesPerThread` clones of `value` in a slot of their own,
/// lets them go together inside the measured region and records the heap bytes both allocated
/// while cloning (their slots are made before).
func cloneOnTwoThreads<Value: Sendable>(
    _ benchmark: Benchmark,
    _ value: Value,
    empty: Value,
    arena: ArenaAllocator? = nil
) {
    let shared = TwoThreads()
    for _ in 0..<2 {
        let thread = Thread {
            let allocated = ThreadAllocated()
            withSlot(empty) { slot in
                shared.ready.add(1, ordering: .releasing)
                while !shared.go.load(ordering: .acquiring) {}
                let before = allocated.bytes
                for _ in 0..<clonesPerThread { slot.pointee = value }
                let after = allocated.bytes
                shared.heapBytes.add(Int(after &- before), ordering: .relaxed)
            }
            shared.done.signal()
        }
        thread.start()
    }
    while shared.ready.load(ordering: .acquiring) < 2 { sched_yield() }
    let before = arena.map(ArenaCounters.init)
    benchmark.startMeasurement()
    shared.go.store(true, ordering: .releasing)
    shared.done.wait()
    shared.done.wait()
    benchmark.stopMeasurement()
    record(
        benchmark,
        ops: clonesPerThread,
        bytes: nil,
        heap: shared.heapBytes.load(ordering: .relaxed),
        arena: arena,
        before: before
    )
}
