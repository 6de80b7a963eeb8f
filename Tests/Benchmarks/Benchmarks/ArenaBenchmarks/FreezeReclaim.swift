// Workload 6: the writer/view round trips that must not allocate.
//
// - freeze/reclaim: `BytesMut` -> `freeze()` -> `BytesMut(reclaiming:)`, the writer taking its
//   region back once the last view is gone. NIO and Foundation have no such operation.
// - split/unsplit: split a writer in two and join the halves back (adjacent: zero-copy).

import ArenaBytes
import Benchmark

func registerFreezeReclaim() {
    let ops = 8192

    register("6a freeze+reclaim round trip", .ours, "BytesMut.freeze() + BytesMut(reclaiming:)", arena: true) {
        benchmark in
        let holder = WriterHolder(BytesMut(capacity: 64))
        holder.writer.append(contentsOf: pattern(16))
        measure(benchmark, ops: ops, arena: .shared) { freezeAndReclaim(&holder.writer, times: ops) }
    }

    register("6b split+unsplit round trip", .ours, "BytesMut.split(from:) + unsplit(next)", arena: true) { benchmark in
        let holder = WriterHolder(BytesMut(capacity: 4096))
        holder.writer.append(contentsOf: pattern(4096))
        measure(benchmark, ops: ops, arena: .shared) { splitAndUnsplit(&holder.writer, times: ops) }
    }
}

@inline(never)
func freezeAndReclaim(_ writer: inout BytesMut, times: Int) {
    for _ in 0..<times {
        let view = writer.freeze()
        // `consume`: without it the caller's `view` stays alive across the call (lexical
        // lifetime), the view is not the last one, and reclaiming returns nil.
        guard let reclaimed = BytesMut(reclaiming: consume view) else {
            fatalError("BytesMut(reclaiming:) returned nil for the only view of its region")
        }
        writer = reclaimed
    }
}

@inline(never)
func splitAndUnsplit(_ writer: inout BytesMut, times: Int) {
    for _ in 0..<times {
        let back = writer.split(from: 1024)
        writer.unsplit(back)
    }
    sink(writer)
}
