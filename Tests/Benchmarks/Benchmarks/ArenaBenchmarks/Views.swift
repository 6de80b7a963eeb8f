// Workload 2: clone, slice and merge a 4 KiB view.
//
// A clone or a slice is stored in a slot, dropping the previous one: one reference-count
// increment and one decrement per operation, the cost of keeping a view somewhere. The `ref`
// rows are that floor: one atomic increment+decrement, and storing a plain class reference.
// `Data.subdata(in:)` copies the bytes (Data's zero-copy slice is `data[range]`); it is there
// because it is what many callers write.

import ArenaBytes
import Benchmark
import Foundation
import NIOCore
import Synchronization

let viewSize = 4096
let sliceRange = 100..<1100

/// One atomic counter on the heap, for the "one atomic increment+decrement" floor.
final class AtomicCounter: Sendable {
    let value = Atomic<Int>(0)
}

func registerViews() {
    let ops = 8192
    let source = pattern(viewSize)

    // MARK: clone

    let clone = "2a clone 4 KiB view"
    register(clone, .ours, "Bytes copy", arena: true) { benchmark in
        let view = Bytes(source)
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: ops, arena: .shared) {
                for _ in 0..<ops { slot.pointee = view }
            }
        }
    }
    register(clone, .peer, "ByteBuffer copy") { benchmark in
        let buffer = ByteBuffer(bytes: source)
        withSlot(ByteBuffer()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops { slot.pointee = buffer }
            }
        }
    }
    register(clone, .peer, "Data copy") { benchmark in
        let data = Data(source)
        withSlot(Data()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops { slot.pointee = data }
            }
        }
    }
    register(clone, .peer, "[UInt8] copy") { benchmark in
        let array = source
        withSlot([UInt8]()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops { slot.pointee = array }
            }
        }
    }
    register(clone, .reference, "one atomic increment+decrement") { benchmark in
        let counter = AtomicCounter()
        measure(benchmark, ops: ops) {
            for _ in 0..<ops {
                counter.value.wrappingAdd(1, ordering: .relaxed)
                counter.value.wrappingSubtract(1, ordering: .releasing)
            }
        }
    }
    register(clone, .reference, "class reference copy (swift retain+release)") { benchmark in
        let object = AtomicCounter()
        withSlot(AtomicCounter()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops { slot.pointee = object }
            }
        }
    }

    // MARK: slice

    let slice = "2b slice 1000 B of 4 KiB view"
    register(slice, .ours, "Bytes.slice(range)", arena: true) { benchmark in
        let view = Bytes(source)
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: ops, arena: .shared) {
                for _ in 0..<ops { slot.pointee = view.slice(sliceRange) }
            }
        }
    }
    register(slice, .oursVariant, "Bytes(view[range])", arena: true) { benchmark in
        let view = Bytes(source)
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: ops, arena: .shared) {
                for _ in 0..<ops { slot.pointee = Bytes(view[sliceRange]) }
            }
        }
    }
    register(slice, .peer, "ByteBuffer.getSlice(at:length:)") { benchmark in
        let buffer = ByteBuffer(bytes: source)
        withSlot(ByteBuffer()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops {
                    slot.pointee = buffer.getSlice(at: sliceRange.lowerBound, length: sliceRange.count)!
                }
            }
        }
    }
    register(slice, .peer, "Data[range]") { benchmark in
        let data = Data(source)
        withSlot(Data()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops { slot.pointee = data[sliceRange] }
            }
        }
    }
    register(slice, .peer, "Data.subdata(in:) (copies)") { benchmark in
        let data = Data(source)
        withSlot(Data()) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops { slot.pointee = data.subdata(in: sliceRange) }
            }
        }
    }
    register(slice, .peer, "ArraySlice [UInt8][range]") { benchmark in
        let array = source
        withSlot(array[0..<0]) { slot in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops { slot.pointee = array[sliceRange] }
            }
        }
    }

    // MARK: merge

    register("2c merge two adjacent halves", .ours, "Bytes.merged(with:)", arena: true) { benchmark in
        var front = Bytes(source)
        let back = front.split(from: viewSize / 2)
        withSlot(Bytes()) { slot in
            measure(benchmark, ops: ops, arena: .shared) {
                for _ in 0..<ops { slot.pointee = front.merged(with: back)! }
            }
        }
    }
}
