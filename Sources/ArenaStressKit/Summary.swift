// The summary at the end of a run: a table for people, the same figures as JSON for tools.

import ArenaBytes
import ArenaToolSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Outcomes of operations worth counting beside the operations themselves.
package struct Outcomes: Sendable, Codable, Equatable {
    /// `ArenaError.limitExceeded` caught by the workload (throwing forms under `--limit`).
    package var limitExceeded = 0
    /// `ArenaError.outOfMemory` caught by the workload: the backend refused (for real, or by
    /// `--fail-rate`).
    package var outOfMemory = 0
    /// Views dropped to shed load after a refused allocation (limit or out of memory).
    package var shedDrops = 0
    /// Writers frozen into views.
    package var freezes = 0
    /// `tryReserveCapacity` that grew a writer without moving it.
    package var growInPlace = 0
    /// `tryReserveCapacity` that moved a writer (copying what was written).
    package var growMoved = 0
    /// `tryReserveCapacity` that failed at the limit and left the writer exactly as it was.
    package var growFailedIntact = 0
    /// Writers joined back with `unsplit`, zero-copy.
    package var unsplits = 0
    /// `merged(with:)` that joined two views, zero-copy.
    package var mergesJoined = 0
    /// `merged(with:)` that rightly refused (not adjacent, or other storage).
    package var mergesRefused = 0
    /// Views handed to another worker.
    package var handOffs = 0
    /// Hand-offs refused by a full queue (the view stayed).
    package var handOffsRefused = 0
    /// Views received from another worker (every byte checked).
    package var viewsReceived = 0
    /// Chains whose `coalesced()` joined segments.
    package var chainsCoalesced = 0
    /// `tryFlattened` that returned a view of the segments' own memory.
    package var flattenedZeroCopy = 0
    /// `tryFlattened` that copied (segments not adjacent).
    package var flattenedCopied = 0
    /// `init?(reclaiming:)` that gave a writer.
    package var reclaimed = 0
    /// Views copied by `compacted()` (`--compact`).
    package var compacted = 0
    /// Compactions refused (limit or out of memory; the view kept as it was).
    package var compactionFailed = 0
    /// `init?(reclaiming:)` that refused (another view of the storage lives).
    package var reclaimRefused = 0
    /// Read buffers allocated.
    package var readBufferRefills = 0
    /// Frames split off read buffers.
    package var readBufferFrames = 0
    /// Read buffers reserved back to their capacity.
    package var readBufferReserves = 0
    /// Of those, the ones whose bytes moved (a rewind over dropped frames, or a new region).
    package var readBufferMoves = 0
    /// Pattern bytes written (including copies made by flattening).
    package var bytesWritten = 0
    /// Bytes read back and compared with the pattern.
    package var bytesVerified = 0

    /// Creates zero counts.
    package init() {}

    /// Adds another worker's counts.
    mutating func add(_ other: Outcomes) {
        limitExceeded += other.limitExceeded
        outOfMemory += other.outOfMemory
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
        compacted += other.compacted
        compactionFailed += other.compactionFailed
        reclaimRefused += other.reclaimRefused
        readBufferRefills += other.readBufferRefills
        readBufferFrames += other.readBufferFrames
        readBufferReserves += other.readBufferReserves
        readBufferMoves += other.readBufferMoves
        bytesWritten += other.bytesWritten
        bytesVerified += other.bytesVerified
    }

    /// Name and value of each count, in declaration order, for the table.
    package var rows: [(String, Int)] {
        [
            ("limit exceeded (caught)", limitExceeded), ("out of memory (caught)", outOfMemory),
            ("views shed after a refused allocation", shedDrops),
            ("freezes", freezes), ("grow in place", growInPlace), ("grow moved", growMoved),
            ("grow failed, writer intact", growFailedIntact), ("unsplit (zero-copy)", unsplits),
            ("merges joined (zero-copy)", mergesJoined), ("merges refused", mergesRefused),
            ("hand-offs", handOffs), ("hand-offs refused (queue full)", handOffsRefused),
            ("views received", viewsReceived), ("chains coalesced", chainsCoalesced),
            ("flattened zero-copy", flattenedZeroCopy), ("flattened by copy", flattenedCopied),
            ("reclaimed", reclaimed), ("reclaim refused (shared)", reclaimRefused),
            ("compacted", compacted), ("compaction refused", compactionFailed),
            ("read buffers allocated", readBufferRefills), ("read-buffer frames", readBufferFrames),
            ("read-buffer reserves", readBufferReserves), ("read-buffer moves", readBufferMoves),
            ("bytes written", bytesWritten), ("bytes verified", bytesVerified),
        ]
    }
}

/// The check at the end: with every view dropped, the arena is back where it started.
package struct EndCheck: Sendable, Codable, Equatable {
    /// Live chunks before the workload (after settling the arena; see `Runner.settle`).
    package var baselineLiveChunks: Int
    /// Live chunks after the workload, settled the same way.
    package var finalLiveChunks: Int
    /// Bytes handed out before the workload.
    package var baselineBytesHandedOut: Int
    /// Bytes handed out after the workload.
    package var finalBytesHandedOut: Int
    /// Dedicated blocks still alive at the end.
    package var finalDedicatedBlocks: Int
    /// Bytes reserved at the end (only cached chunks and blocks may remain).
    package var finalBytesReserved: Int
    /// Cached chunks at the end.
    package var finalCachedChunks: Int
    /// The bytes of the cached blocks at the end.
    package var finalCachedBlockBytes: Int
    /// Bytes the workload's own accounting still counts as live (must be 0).
    package var liveBytesLeft: Int
    /// Sampled regions the memory profile still lists at the end (must be 0; always 0 when
    /// sampling is off).
    package var finalSampledRegions: Int
    /// Whether every figure is back.
    package var passed: Bool
}

/// Memory held by the arena against memory in use by the workload.
package struct MemoryFigures: Sendable, Codable, Equatable {
    /// The arena's highest `bytesReserved` (exact).
    package var peakReservedBytes: Int
    /// The highest sampled sum of live allocation bytes (sampled every 10 ms).
    package var peakLiveBytes: Int
    /// `peakReservedBytes / peakLiveBytes`: how much more the chunked arena held at its peak
    /// than the workload used at its peak; `nil` when nothing was live.
    package var peakReservedToLiveRatio: Double?
    /// How many samples were taken.
    package var samples: Int
}

/// What `--fail-rate` did: the share asked for, and the backend allocations asked and refused.
package struct InjectedFaults: Sendable, Codable, Equatable {
    /// The share of allocations to refuse, 0 to 1.
    package var rate: Double
    /// Backend allocations the arena asked for while the workers ran.
    package var attempts: Int
    /// Of those, the ones refused.
    package var refused: Int
}

/// Everything a run reports.
package struct Summary: Sendable, Codable {
    /// The seed: `--seed` replays a single-thread run exactly.
    package var seed: UInt64
    /// Worker threads.
    package var threads: Int
    /// The size distribution, as given.
    package var sizes: String
    /// The chunk size.
    package var chunkSize: Int
    /// Whether each thread had a chunk of its own.
    package var threadLocalChunks: Bool
    /// Whether workers compacted the views they keep (`--compact`).
    package var compact: Bool
    /// Allocations refused on purpose (`--fail-rate`), or `nil` when none were planned.
    package var injectedFaults: InjectedFaults?
    /// The limit, if any.
    package var limit: Int?
    /// The operation weights.
    package var weights: String
    /// `--duration`, if given (or the default).
    package var requestedDurationSeconds: Double?
    /// `--operations`, if given.
    package var requestedOperations: Int?
    /// How long the workers ran.
    package var durationSeconds: Double
    /// Operations by kind.
    package var operations: [String: Int]
    /// All operations.
    package var totalOperations: Int
    /// All operations per second of `durationSeconds`.
    package var operationsPerSecond: Double
    /// Outcomes worth counting.
    package var outcomes: Outcomes
    /// Reserved against live memory.
    package var memory: MemoryFigures
    /// The arena's figures (and jemalloc's for it) when the workers stopped, views still alive.
    package var arena: ArenaStatistics
    /// The memory profile's top sites when the workers stopped, views still alive; `nil` when
    /// the arena did not sample (no `--sample-interval` or `ARENA_SAMPLE_INTERVAL`).
    package var profile: ProfileSummary?
    /// Whether the sample interval came from `ARENA_SAMPLE_INTERVAL` rather than `--sample-interval`.
    package var sampleIntervalFromEnvironment: Bool
    /// The end check.
    package var endCheck: EndCheck
    /// The jemalloc version, or `nil` without the `Jemalloc` trait.
    package var jemallocVersion: String?
    /// Whether the run found no violation.
    package var passed: Bool

    /// The summary as pretty, key-sorted JSON.
    package func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The summary as a table.
    package func table() -> String {
        var lines: [String] = []
        let limitText = limit.map { "\(formatBytes($0)) (\($0) bytes)" } ?? "none"
        lines.append(
            "arena-stress: seed \(seed), \(threads) thread\(threads == 1 ? "" : "s"), sizes \(sizes), "
                + "chunk \(formatBytes(chunkSize))\(threadLocalChunks ? " (thread-local)" : ""), limit \(limitText)"
                + (compact ? ", compacting" : "")
                + (injectedFaults.map { ", failing \(formatFixed($0.rate * 100, digits: 2))% of allocations" } ?? "")
                + (profile?.sampleInterval.map {
                    ", sampling every \(formatBytes($0))"
                        + (sampleIntervalFromEnvironment ? " (ARENA_SAMPLE_INTERVAL)" : "")
                } ?? "")
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
            ("refused on purpose (--fail-rate)", injectedFaults.map { "\($0.refused) of \($0.attempts)" } ?? "-"),
            ("allocations (arena)", "\(arena.allocations)"),
            ("chunk refills", "\(arena.chunkRefills)"),
            ("at stop: live chunks", "\(arena.liveChunks)"),
            ("at stop: cached chunks", "\(arena.cachedChunks)"),
            ("at stop: dedicated blocks", "\(arena.dedicatedBlocks)"),
            ("at stop: cached blocks", "\(arena.cachedBlocks) (\(formatBytes(arena.cachedBlockBytes)))"),
            ("at stop: reserved", bytesText(arena.bytesReserved)),
            ("at stop: handed out", bytesText(arena.bytesHandedOut)),
            ("at stop: pinned chunks", "\(arena.pinnedChunks) (\(formatBytes(arena.pinnedBytes)))"),
            ("at stop: references pinning them", "\(arena.pinningReferences)"),
        ]
        arenaRows += arena.pinningReferenceHistogram.buckets.map { bucket in
            ("at stop: pinned by \(bucket.label) reference\(bucket.label == "1" ? "" : "s")", "\(bucket.chunks)")
        }
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
        if let profile {
            lines.append(contentsOf: sitesSection(profile))
            lines.append("")
        }
        let check = endCheck
        lines.append(
            "end check: live chunks \(check.baselineLiveChunks) -> \(check.finalLiveChunks), bytes handed out "
                + "\(check.baselineBytesHandedOut) -> \(check.finalBytesHandedOut), dedicated blocks "
                + "\(check.finalDedicatedBlocks), reserved \(check.finalBytesReserved) "
                + "(\(check.finalCachedChunks) cached chunks, \(check.finalCachedBlockBytes) bytes in cached blocks), "
                + "live bytes left \(check.liveBytesLeft)"
                + (profile == nil ? "" : ", sampled regions left \(check.finalSampledRegions)")
                + (check.passed ? ": ok" : ": FAILED")
        )
        lines.append(passed ? "passed" : "FAILED")
        return lines.joined(separator: "\n")
    }

    /// The top allocation sites: the function (shortened), its sampled regions, and estimated
    /// live and pinned bytes, with a line of totals against the exact figures at stop.
    private func sitesSection(_ profile: ProfileSummary) -> [String] {
        let interval = profile.sampleInterval.map { formatBytes($0) } ?? "-"
        var lines = [
            "allocation sites at stop (one region sampled per \(interval) on average, sample seed "
                + "\(profile.sampleSeed.map { String($0) } ?? "random"); estimates, most pinned first):"
        ]
        guard !profile.sites.isEmpty else {
            lines.append("  no sampled region alive")
            return lines
        }
        let rows = profile.sites.map { site in
            [
                shortFunctionName(site.function), "\(site.sampledRegions)", formatBytes(site.estimatedLiveBytes),
                formatBytes(site.estimatedPinnedBytes),
                profile.liveShare(of: site).map { formatFixed($0 * 100, digits: 1) + "%" } ?? "-",
            ]
        }
        let header = ["function", "samples", "live (est.)", "pinned (est.)", "live share"]
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = cells[0] + String(repeating: " ", count: widths[0] - cells[0].count)
            for column in 1..<cells.count {
                text += "  " + String(repeating: " ", count: widths[column] - cells[column].count) + cells[column]
            }
            return text
        }
        lines.append(line(header))
        lines.append(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)))
        lines += rows.map(line)
        let omitted = profile.siteCount - profile.sites.count
        if omitted > 0 { lines.append("\(omitted) more site\(omitted == 1 ? "" : "s") not listed") }
        lines.append(
            "all \(profile.siteCount) site\(profile.siteCount == 1 ? "" : "s"): \(profile.sampledRegions) sampled regions, "
                + "estimated \(formatBytes(profile.estimatedLiveBytes)) live, \(formatBytes(profile.estimatedPinnedBytes)) "
                + "pinned; counted at stop: \(formatBytes(arena.pinnedBytes)) in pinned chunks"
        )
        return lines
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
