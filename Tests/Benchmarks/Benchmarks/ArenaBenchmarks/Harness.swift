// The measuring harness shared by every workload.
//
// Each benchmark iteration runs a *batch* of `ops` operations between `startMeasurement()` and
// `stopMeasurement()`, with `timeUnits: .nanoseconds` and `scalingFactor: .one`, so ordo-one's
// `wallClock` histogram holds nanoseconds per batch. Custom metrics carry what the summarizer
// (`Tests/Benchmarks/summarize.py`, run by `Scripts/bench`) needs to turn that into ns/op or GB/s
// and to gate on counts:
//
// - `ops`: operations in the batch (powers of two, so the HDR histogram stores them exactly);
// - `bytes`: bytes moved in the batch (throughput workloads only);
// - `heapBytes`: jemalloc's `thread.allocated` delta over the batch: every heap byte the thread
//   allocated, through `malloc` (and the interposer in front of it) or `mallocx`. Read through
//   `thread.allocatedp` (one load), since `Jemalloc.read` itself allocates (it bridges the name
//   `String` to a C string on every call);
// - `arenaAllocations`: `ArenaStatistics.allocations` delta (regions handed out by the arena);
// - `jemallocCalls`: `stats.arenas.<i>.{small,large}.nmalloc` delta for the arena's own jemalloc
//   arena, read with `Jemalloc.read` after an `epoch` refresh: the chunk refills and dedicated blocks.
//
// ordo-one's malloc counters do not see `mallocx`, hence jemalloc's own counters.
// Benchmark names are "<workload> | <role> | <implementation>", role one of `ours` (the row
// ratios are taken against), `ours+` (another variant of ours), `peer` or `ref` (a lower bound,
// such as one atomic increment+decrement or a plain memcpy). Names contain no '_': the exporter
// turns spaces into underscores in file names, and the summarizer turns them back.

import ArenaBytes
import Benchmark
import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum Metric {
    static let ops = BenchmarkMetric.custom("ops", polarity: .prefersLarger, useScalingFactor: false)
    static let bytes = BenchmarkMetric.custom("bytes", polarity: .prefersLarger, useScalingFactor: false)
    static let heapBytes = BenchmarkMetric.custom("heapBytes", polarity: .prefersSmaller, useScalingFactor: false)
    static let arenaAllocations = BenchmarkMetric.custom(
        "arenaAllocations",
        polarity: .prefersSmaller,
        useScalingFactor: false
    )
    static let jemallocCalls = BenchmarkMetric.custom(
        "jemallocCalls",
        polarity: .prefersSmaller,
        useScalingFactor: false
    )
    /// CPU nanoseconds of every thread of the process over the batch (workload 11).
    static let cpuTime = BenchmarkMetric.custom("cpuTime", polarity: .prefersSmaller, useScalingFactor: false)
}

/// How long each benchmark runs: `ARENA_BENCH_MS` milliseconds (set by `Scripts/bench`), 2 s by default.
let benchmarkDuration: Duration = {
    let text = ProcessInfo.processInfo.environment["ARENA_BENCH_MS"] ?? ""
    return .milliseconds(Int(text) ?? 2_000)
}()

enum Role: String {
    case ours
    case oursVariant = "ours+"
    case peer
    case reference = "ref"
}

/// The configuration every benchmark uses: wall clock per batch in nanoseconds plus our counters.
func configuration(arena: Bool, throughput: Bool = false) -> Benchmark.Configuration {
    var metrics: [BenchmarkMetric] = [.wallClock, Metric.ops, Metric.heapBytes]
    if arena { metrics += [Metric.arenaAllocations, Metric.jemallocCalls] }
    if throughput { metrics.append(Metric.bytes) }
    // Raw counts and nanoseconds: ordo-one would otherwise export large values in K or M, rounded.
    var units: [BenchmarkMetric: BenchmarkUnits] = [:]
    for metric in metrics { units[metric] = .count }
    return .init(
        metrics: metrics,
        timeUnits: .nanoseconds,
        units: units,
        warmupIterations: 3,
        scalingFactor: .one,
        maxDuration: benchmarkDuration,
        maxIterations: 10_000_000
    )
}

/// Registers one benchmark named "<workload> | <role> | <implementation>".
func register(
    _ workload: String,
    _ role: Role,
    _ implementation: String,
    arena: Bool = false,
    throughput: Bool = false,
    _ body: @escaping (Benchmark) -> Void
) {
    let name = "\(workload) | \(role.rawValue) | \(implementation)"
    precondition(!name.contains("_"), "benchmark name '\(name)' must not contain '_'")
    Benchmark(name, configuration: configuration(arena: arena, throughput: throughput), closure: body)
}

// MARK: - Counters

/// The arena figures that must not move on zero-copy paths, read outside the timed region.
struct ArenaCounters {
    var allocations: Int
    var jemallocCalls: UInt64

    /// Reads `ArenaStatistics.allocations` and the arena's jemalloc `nmalloc` counters.
    ///
    /// The corresponding jemalloc reads are `stats.arenas.<i>.small.nmalloc` and
    /// `stats.arenas.<i>.large.nmalloc`, after an `epoch` refresh.
    init(_ arena: ArenaAllocator) {
        allocations = arena.statistics().allocations
        jemallocCalls = 0
        if let index = arena.jemallocArenaIndex {
            Jemalloc.advanceEpoch()
            let small = (try? Jemalloc.read("stats.arenas.\(index).small.nmalloc", as: UInt64.self)) ?? 0
            let large = (try? Jemalloc.read("stats.arenas.\(index).large.nmalloc", as: UInt64.self)) ?? 0
            jemallocCalls = small + large
        }
    }
}

/// Runs `body` (one batch of `ops` operations) as the measured region and records the counters.
///
/// - Parameters:
///   - arena: the arena whose counters to record (`nil` for peers).
///   - bytes: the bytes one batch moves, for throughput workloads.
@inline(__always)
func measure(
    _ benchmark: Benchmark,
    ops: Int,
    bytes: Int? = nil,
    arena: ArenaAllocator? = nil,
    _ body: () -> Void
) {
    let before = arena.map(ArenaCounters.init)
    let allocated = ThreadAllocated()
    benchmark.startMeasurement()
    let heapBefore = allocated.bytes
    body()
    let heapAfter = allocated.bytes
    benchmark.stopMeasurement()
    record(benchmark, ops: ops, bytes: bytes, heap: Int(heapAfter &- heapBefore), arena: arena, before: before)
}

func record(
    _ benchmark: Benchmark,
    ops: Int,
    bytes: Int?,
    heap: Int,
    arena: ArenaAllocator?,
    before: ArenaCounters?
) {
    benchmark.measurement(Metric.ops, ops)
    benchmark.measurement(Metric.heapBytes, heap)
    if let bytes { benchmark.measurement(Metric.bytes, bytes) }
    if let arena, let before {
        let after = ArenaCounters(arena)
        benchmark.measurement(Metric.arenaAllocations, after.allocations - before.allocations)
        benchmark.measurement(Metric.jemallocCalls, Int(after.jemallocCalls &- before.jemallocCalls))
    }
}

/// The calling thread's jemalloc `thread.allocated` counter, read with one load and no allocation.
struct ThreadAllocated {
    typealias Mallctl =
        @convention(c) (
            UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?, UnsafeMutableRawPointer?, Int
        ) -> Int32

    /// jemalloc's `mallctl`, looked up once (the Arena module keeps its C import internal).
    static let mallctl: Mallctl? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallctl") else { return nil }
        return unsafeBitCast(symbol, to: Mallctl.self)
    }()

    private let counter: UnsafePointer<UInt64>?

    /// The counter of the calling thread: only read it on that thread.
    ///
    /// The corresponding jemalloc call is `mallctl("thread.allocatedp", &pointer, &size, NULL, 0)`.
    init() {
        var pointer: UnsafeMutablePointer<UInt64>? = nil
        var size = MemoryLayout<UnsafeMutablePointer<UInt64>?>.size
        if let mallctl = Self.mallctl, mallctl("thread.allocatedp", &pointer, &size, nil, 0) == 0 {
            counter = UnsafePointer(pointer)
        } else {
            counter = nil
        }
    }

    /// Bytes this thread allocated through jemalloc so far; 0 when jemalloc is not linked.
    var bytes: UInt64 { counter?.pointee ?? 0 }
}

// MARK: - Keeping values alive

/// A slot in memory the optimizer cannot see through: storing a value retains it and drops the
/// value stored before, exactly what keeping a clone, a slice or a frame somewhere costs.
///
/// Each slot has a 128-byte block of its own, so two threads' slots never share a cache line.
final class Slot<Value> {
    static var blockSize: Int { Swift.max(128, MemoryLayout<Value>.stride) }

    let pointer: UnsafeMutablePointer<Value>

    init(_ initial: Value) {
        let block = UnsafeMutableRawPointer.allocate(byteCount: Self.blockSize, alignment: 128)
        pointer = block.initializeMemory(as: Value.self, repeating: initial, count: 1)
    }

    deinit {
        pointer.deinitialize(count: 1)
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}

/// Runs `body` with a fresh slot; the slot is made before and freed after the measured region.
@inline(__always)
func withSlot<Value>(_ initial: Value, _ body: (UnsafeMutablePointer<Value>) -> Void) {
    let slot = Slot(initial)
    withExtendedLifetime(slot) { body(slot.pointer) }
}

/// Keeps a non-copyable writer observable without copying it.
@_optimize(none)
func sink(_ writer: borrowing BytesMut) {}

/// Keeps a raw pointer observable (so `malloc`/`free` pairs are not folded away).
@_optimize(none)
func sink(_ pointer: UnsafeMutableRawPointer?) {}

/// Keeps a computed value observable (so the loop computing it is not folded away).
@_optimize(none)
func sink(_ value: UInt32) {}

/// Bytes 0, 1, 2, … of the given length.
func pattern(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
}
