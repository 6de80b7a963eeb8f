// Workload 1: allocate and drop a 64-byte, a 4 KiB and a 32 KiB buffer (a typical read buffer,
// larger than a chunk carves: a dedicated block).
//
// Each operation allocates one buffer and stores it in a slot, dropping the one stored before:
// one allocation and one deallocation per operation, and nothing can be folded away.

import ArenaBytes
import Benchmark
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// jemalloc's `mallocx`/`sdallocx`, looked up at run time: the interposer ordo-one preloads
/// defines `malloc`/`free` (adding a 16-byte header and a counter check), so these show what
/// jemalloc itself costs without it.
enum DirectJemalloc {
    typealias Mallocx = @convention(c) (Int, Int32) -> UnsafeMutableRawPointer?
    typealias Sdallocx = @convention(c) (UnsafeMutableRawPointer?, Int, Int32) -> Void

    static let mallocx: Mallocx? = lookup("mallocx")
    static let sdallocx: Sdallocx? = lookup("sdallocx")

    private static func lookup<F>(_ name: String) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: F.self)
    }
}

/// A benchmark arena; the benchmarks cannot run without it.
func benchmarkArena(_ configuration: ArenaAllocator.Configuration) -> ArenaAllocator {
    do {
        return try ArenaAllocator(configuration)
    } catch {
        fatalError("cannot create the benchmark arena \(configuration.name): \(error)")
    }
}

/// The same arena with allocation sites sampled at jemalloc's default interval (512 KiB): what
/// `memoryProfile()` costs on the allocation path (issue 12: at most 10% slower).
let sampledArena: ArenaAllocator = {
    var configuration = ArenaAllocator.Configuration(name: "bench-sampled")
    configuration.sampleInterval = ArenaAllocator.Configuration.defaultSampleInterval
    return benchmarkArena(configuration)
}()

/// A named arena whose threads carve from chunks of their own (`threadLocalChunks`, as the
/// shared arena does) instead of one chunk under a spin lock.
let threadLocalArena: ArenaAllocator = {
    var configuration = ArenaAllocator.Configuration(name: "bench-thread-local")
    configuration.threadLocalChunks = true
    return benchmarkArena(configuration)
}()

/// The arena `ArenaAllocator.allocate` is measured on (BytesMut uses `.shared`, as users do).
let allocationArena = benchmarkArena(.init(name: "bench-alloc"))

func registerAllocation() {
    for (workload, size) in [
        ("1a alloc+drop 64 B", 64), ("1b alloc+drop 4 KiB", 4096), ("1c alloc+drop 32 KiB", 32768),
    ] {
        let ops = 8192

        register(workload, .ours, "Region: ArenaAllocator.allocate", arena: true) { benchmark in
            let arena = allocationArena
            withSlot(Region()) { slot in
                measure(benchmark, ops: ops, arena: arena) {
                    for _ in 0..<ops {
                        slot.pointee = try! arena.allocate(byteCount: size)
                    }
                }
            }
        }

        register(workload, .oursVariant, "BytesMut(capacity:)", arena: true) { benchmark in
            measure(benchmark, ops: ops, arena: .shared) {
                for _ in 0..<ops {
                    let writer = BytesMut(capacity: size)
                    sink(writer)
                }
            }
        }

        // The same writer from named arenas, without the `.shared` default argument (which
        // costs a retain and a release of the shared allocator per call): one with the spin
        // lock, one with thread-local chunks, one sampling allocation sites.
        let namedArenas = [
            ("BytesMut(capacity:in: arena)", allocationArena),
            ("BytesMut(capacity:in: thread-local arena)", threadLocalArena),
            ("BytesMut(capacity:in: sampled arena)", sampledArena),
        ]
        for (name, arena) in namedArenas {
            register(workload, .oursVariant, name, arena: true) { benchmark in
                measure(benchmark, ops: ops, arena: arena) {
                    for _ in 0..<ops {
                        let writer = BytesMut(capacity: size, in: arena)
                        sink(writer)
                    }
                }
            }
        }

        register(workload, .peer, "ByteBufferAllocator().buffer(capacity:)") { benchmark in
            let allocator = ByteBufferAllocator()
            withSlot(ByteBuffer()) { slot in
                measure(benchmark, ops: ops) {
                    for _ in 0..<ops {
                        slot.pointee = allocator.buffer(capacity: size)
                    }
                }
            }
        }

        register(workload, .peer, "[UInt8] reserveCapacity") { benchmark in
            withSlot([UInt8]()) { slot in
                measure(benchmark, ops: ops) {
                    for _ in 0..<ops {
                        var array = [UInt8]()
                        array.reserveCapacity(size)
                        slot.pointee = array
                    }
                }
            }
        }

        register(workload, .peer, "Data(capacity:)") { benchmark in
            withSlot(Data()) { slot in
                measure(benchmark, ops: ops) {
                    for _ in 0..<ops {
                        slot.pointee = Data(capacity: size)
                    }
                }
            }
        }

        register(workload, .peer, "malloc+free") { benchmark in
            measure(benchmark, ops: ops) {
                for _ in 0..<ops {
                    let pointer = malloc(size)
                    sink(pointer)
                    free(pointer)
                }
            }
        }

        register(workload, .reference, "jemalloc mallocx+sdallocx (no interposer)") { benchmark in
            guard let mallocx = DirectJemalloc.mallocx, let sdallocx = DirectJemalloc.sdallocx else {
                benchmark.error("mallocx/sdallocx not found: is libjemalloc linked?")
                return
            }
            measure(benchmark, ops: ops) {
                for _ in 0..<ops {
                    let pointer = mallocx(size, 0)
                    sink(pointer)
                    sdallocx(pointer, size, 0)
                }
            }
        }
    }
}
