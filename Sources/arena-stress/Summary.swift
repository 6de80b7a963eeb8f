// The summary at the end of a run: a table for people, the same figures as JSON for tools.

import ArenaBytes

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Outcomes of operations worth counting beside the operations themselves.
struct Outcomes: Sendable, Codable, Equatable {
    /// `ArenaError.limitExceeded` caught by the workload (throwing forms under `--limit`).
    var limitExceeded = 0
    /// Views dropped to shed load after a limit hit.
    var shedDrops = 0
    /// Writers frozen into views.
    var freezes = 0
    /// `tryReserveCapacity` that grew a writer without moving it.
    var growInPlace = 0
    /// `tryReserveCapacity` that moved a writer (copying what was written).
    var growMoved = 0
    /// `tryReserveCapacity` that failed at the limit and left the writer exactly as it was.
    var growFailedIntact = 0
    /// Writers joined back with `unsplit`, zero-copy.
    var unsplits = 0
    /// `merged(with:)` that joined two views, zero-copy.
    var mergesJoined = 0
    /// `merged(with:)` that rightly refused (not adjacent, or other storage).
    var mergesRefused = 0
    /// Views handed to another worker.
    var handOffs = 0
    /// Hand-offs refused by a full queue (the view stayed).
    var handOffsRefused = 0
    /// Views received from another worker (every byte checked).
    var viewsReceived = 0
    /// Chains whose `coalesced()` joined segments.
    var chainsCoalesced = 0
    /// `tryFlattened` that returned a view of the segments' own memory.
    var flattenedZeroCopy = 0
    /// `tryFlattened` that copied (segments not adjacent).
    var flattenedCopied = 0
    /// `init?(reclaiming:)` that gave a writer.
    var reclaimed = 0
    /// `init?(reclaiming:)` that refused (another view of the storage lives).
    var reclaimRefused = 0
    /// Read buffers allocated.
    var readBufferRefills = 0
    /// Frames split off read buffers.
    var readBufferFrames = 0
    /// Read buffers reserved back to their capacity.
    var readBufferReserves = 0
    /// Of those, the ones whose bytes moved (a rewind over dropped frames, or a new region).
    var readBufferMoves = 0
    /// Pattern bytes written (including copies made by flattening).
    var bytesWritten = 0
    /// Bytes read back and compared with the pattern.
    var bytesVerified = 0

    /// Creates zero counts.
    init() {}

    /// Adds another worker's counts.
    mutating func add(_ other: Outcomes) {
        limitExceeded += other.limitExceeded
        shedDrops += other.shedDrops
        freezes += other.freezes
        growInPlace += other.growInPlace
        growMoved += other.growMoved
        growFailedIntact += other.growFailedIntact
        unsplits += other.unsplits
        mergesJoined += other.mergesJoined
        mergesRefused += other.mergesRefused
        handOffs += other.handOffs
        handOffsRefused += other.handOffsRefused
        viewsReceived += other.viewsReceived
        chainsCoalesced += other.chainsCoalesced
        flattenedZeroCopy += other.flattenedZeroCopy
        flattenedCopied += other.flattenedCopied
        reclaimed += other.reclaimed
        reclaimRefused += other.reclaimRefused
        readBufferRefills += other.readBufferRefills
        readBufferFrames += other.readBufferFrames
        readBufferReserves += other.readBufferReserves
        readBufferMoves += other.readBufferMoves
        bytesWritten += other.bytesWritten
        bytesVerified += other.bytesVerified
    }

    /// Name and value of each count, in declaration order, for the table.
    var rows: [(String, Int)] {
        [
            ("limit exceeded (caught)", limitExceeded), ("views shed after a limit hit", shedDrops),
            ("freezes", freezes), ("grow in place", growInPlace), ("grow moved", growMoved),
            ("grow failed, writer intact", growFailedIntact), ("unsplit (zero-copy)", unsplits),
            ("merges joined (zero-copy)", mergesJoined), ("merges refused", mergesRefused),
            ("hand-offs", handOffs), ("hand-offs refused (queue full)", handOffsRefused),
            ("views received", viewsReceived), ("chains coalesced", chainsCoalesced),
            ("flattened zero-copy", flattenedZeroCopy), ("flattened by copy", flattenedCopied),
            ("reclaimed", reclaimed), ("reclaim refused (shared)", reclaimRefused),
            ("read buffers allocated", readBufferRefills), ("read-buffer frames", readBufferFrames),
            ("read-buffer reserves", readBufferReserves), ("read-buffer moves", readBufferMoves),
            ("bytes written", bytesWritten), ("bytes verified", bytesVerified),
        ]
    }
}

/// The check at the end: with every view dropped, the arena is back where it started.
struct EndCheck: Sendable, Codable, Equatable {
    /// Live chunks before the workload (after settling the arena; see `Runner.settle`).
    var baselineLiveChunks: Int
    /// Live chunks after the workload, settled the same way.
    var finalLiveChunks: Int
    /// Bytes handed out before the workload.
    var baselineBytesHandedOut: Int
    /// Bytes handed out after the workload.
    var finalBytesHandedOut: Int
    /// Dedicated blocks still alive at the end.
    var finalDedicatedBlocks: Int
    /// Bytes reserved at the end (only cached chunks may remain).
    var finalBytesReserved: Int
    /// Cached chunks at the end.
    var finalCachedChunks: Int
    /// Bytes the workload's own accounting still counts as live (must be 0).
    var liveBytesLeft: Int
    /// Whether every figure is back.
    var passed: Bool
}

/// Memory held by the arena against memory in use by the workload.
struct MemoryFigures: Sendable, Codable, Equatable {
    /// The arena's highest `bytesReserved` (exact).
    var peakReservedBytes: Int
    /// The highest sampled sum of live allocation bytes (sampled every 10 ms).
    var peakLiveBytes: Int
    /// `peakReservedBytes / peakLiveBytes`: how much more the chunked arena held at its peak
    /// than the workload used at its peak; `nil` when nothing was live.
    var peakReservedToLiveRatio: Double?
    /// How many samples were taken.
    var samples: Int
}

/// Everything a run reports.
struct Summary: Sendable, Codable {
    /// The seed: `--seed` replays a single-thread run exactly.
    var seed: UInt64
    /// Worker threads.
    var threads: Int
    /// The size distribution, as given.
    var sizes: String
    /// The chunk size.
    var chunkSize: Int
    /// Whether each thread had a chunk of its own.
    var threadLocalChunks: Bool
    /// The limit, if any.
    var limit: Int?
    /// The operation weights.
    var weights: String
    /// `--duration`, if given (or the default).
    var requestedDurationSeconds: Double?
    /// `--operations`, if given.
    var requestedOperations: Int?
    /// How long the workers ran.
    var durationSeconds: Double
    /// Operations by kind.
    var operations: [String: Int]
    /// All operations.
    var totalOperations: Int
    /// All operations per second of `durationSeconds`.
    var operationsPerSecond: Double
    /// Outcomes worth counting.
    var outcomes: Outcomes
    /// Reserved against live memory.
    var memory: MemoryFigures
    /// The arena's figures (and jemalloc's for it) when the workers stopped, views still alive.
    var arena: ArenaStatistics
    /// The end check.
    var endCheck: EndCheck
    /// The jemalloc version, or `nil` without the `Jemalloc` trait.
    var jemallocVersion: String?
    /// Whether the run found no violation.
    var passed: Bool

    /// The summary as pretty, key-sorted JSON.
    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The summary as a table.
    func table() -> String {
        var lines: [String] = []
        let limitText = limit.map { "\(formatBytes($0)) (\($0) bytes)" } ?? "none"
        lines.append(
            "arena-stress: seed \(seed), \(threads) thread\(threads == 1 ? "" : "s"), sizes \(sizes), "
                + "chunk \(formatBytes(chunkSize))\(threadLocalChunks ? " (thread-local)" : ""), limit \(limitText)"
        )
        lines.append("")
        var operationRows: [(String, String)] = OperationKind.allCases.map { kind in
            let count = operations[kind.name] ?? 0
            return (kind.name, "\(count)")
        }
        operationRows.append(("total", "\(totalOperations)"))
        operationRows.append(("seconds", formatFixed(durationSeconds, digits: 2)))
        operationRows.append(("operations/s", "\(Int(operationsPerSecond.rounded()))"))
        lines.append(contentsOf: Self.section("operation", "count", operationRows))
        lines.append("")
        lines.append(contentsOf: Self.section("outcome", "count", outcomes.rows.map { ($0.0, "\($0.1)") }))
        lines.append("")
        var arenaRows: [(String, String)] = [
            ("peak reserved", bytesText(memory.peakReservedBytes)),
            ("peak live (sampled)", bytesText(memory.peakLiveBytes)),
            ("peak reserved / peak live", memory.peakReservedToLiveRatio.map { formatFixed($0, digits: 2) } ?? "-"),
            ("limit hits (arena)", "\(arena.limitHits)"),
            ("allocations (arena)", "\(arena.allocations)"),
            ("chunk refills", "\(arena.chunkRefills)"),
            ("at stop: live chunks", "\(arena.liveChunks)"),
            ("at stop: cached chunks", "\(arena.cachedChunks)"),
            ("at stop: dedicated blocks", "\(arena.dedicatedBlocks)"),
            ("at stop: reserved", bytesText(arena.bytesReserved)),
            ("at stop: handed out", bytesText(arena.bytesHandedOut)),
        ]
        if let jemalloc = arena.jemalloc {
            arenaRows += [
                ("jemalloc \(Self.shortVersion(jemallocVersion)) arena index", "\(jemalloc.arenaIndex)"),
                ("jemalloc allocated", bytesText(jemalloc.allocated)),
                ("jemalloc active", bytesText(jemalloc.activeBytes)),
                ("jemalloc dirty", bytesText(jemalloc.dirtyBytes)),
                ("jemalloc resident", bytesText(jemalloc.resident)),
                ("jemalloc mapped", bytesText(jemalloc.mapped)),
                ("jemalloc retained", bytesText(jemalloc.retained)),
                ("jemalloc metadata", bytesText(jemalloc.metadata)),
                ("jemalloc small allocs/frees", "\(jemalloc.smallAllocations)/\(jemalloc.smallDeallocations)"),
                ("jemalloc large allocs/frees", "\(jemalloc.largeAllocations)/\(jemalloc.largeDeallocations)"),
            ]
        } else {
            arenaRows.append(("jemalloc", "not linked (Jemalloc trait off)"))
        }
        lines.append(contentsOf: Self.section("arena", "value", arenaRows))
        lines.append("")
        let check = endCheck
        lines.append(
            "end check: live chunks \(check.baselineLiveChunks) -> \(check.finalLiveChunks), bytes handed out "
                + "\(check.baselineBytesHandedOut) -> \(check.finalBytesHandedOut), dedicated blocks "
                + "\(check.finalDedicatedBlocks), reserved \(check.finalBytesReserved) "
                + "(\(check.finalCachedChunks) cached chunks), live bytes left \(check.liveBytesLeft)"
                + (check.passed ? ": ok" : ": FAILED")
        )
        lines.append(passed ? "passed" : "FAILED")
        return lines.joined(separator: "\n")
    }

    /// `5.3.0` of `5.3.0-0-g54eaed1d…`.
    private static func shortVersion(_ version: String?) -> String {
        guard let version else { return "" }
        return String(version.prefix { $0 != "-" })
    }

    private func bytesText(_ bytes: Int) -> String {
        "\(formatBytes(bytes)) (\(bytes))"
    }

    /// A two-column section with a header and aligned values.
    private static func section(_ title: String, _ valueTitle: String, _ rows: [(String, String)]) -> [String] {
        let nameWidth = max(title.count, rows.map(\.0.count).max() ?? 0)
        let valueWidth = max(valueTitle.count, rows.map(\.1.count).max() ?? 0)
        func line(_ name: String, _ value: String) -> String {
            name + String(repeating: " ", count: nameWidth - name.count + 2)
                + String(repeating: " ", count: valueWidth - value.count) + value
        }
        var lines = [line(title, valueTitle)]
        lines.append(String(repeating: "-", count: nameWidth + 2 + valueWidth))
        lines.append(contentsOf: rows.map { line($0.0, $0.1) })
        return lines
    }
}
