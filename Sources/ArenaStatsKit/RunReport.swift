import Arena
import ArenaToolSupport

/// What `arena-stats run` reports: a workload replayed on a fresh ``ArenaAllocator``, with our
/// figures beside jemalloc's for the arena behind it, at three moments.
///
/// The phases are `live` (the workload's survivors alive), `released` (all dropped) and
/// `purged` (after ``ArenaAllocator/purge()``). jemalloc's figures come twice: through
/// `mallctl` (``ArenaStatistics/Jemalloc``, in the comparison) and from jemalloc's own JSON
/// statistics for `stats.arenas.<index>` (``Phase/jemallocDocumentArena`` and the size classes);
/// both are `nil` when the package is built without the `Jemalloc` trait. The arena samples
/// allocation sites, and ``profile`` lists where the `live` phase's memory was allocated.
package struct RunReport: Sendable, Codable, Equatable {
    /// The workload that ran.
    package var workload: Workload
    /// What the workload does.
    package var summary: String
    /// The seed of its request sizes.
    package var seed: UInt64
    /// Its scale (a multiplier of the request count).
    package var scale: Int
    /// The arena's chunk size.
    package var chunkSize: Int
    /// The arena's limit, if any.
    package var limit: Int?
    /// Regions requested.
    package var requests: Int
    /// Bytes requested.
    package var requestedBytes: Int
    /// Regions alive in the `live` phase.
    package var survivors: Int
    /// Bytes in those regions.
    package var survivingBytes: Int
    /// The jemalloc version, with the `Jemalloc` trait.
    package var jemallocVersion: String?
    /// The jemalloc arena behind the allocator, with the `Jemalloc` trait.
    package var jemallocArena: UInt32?
    /// The snapshots, in order: `live`, `released`, `purged`.
    package var phases: [Phase]
    /// Where the `live` phase's memory was allocated: the arena samples allocation sites at
    /// ``ArenaAllocator/Configuration/defaultSampleInterval`` unless the configuration names
    /// another interval, seeded with the workload's seed, so a run profiles the same regions
    /// every time.
    package var profile: ProfileSummary
    /// What the report lacks, one line each.
    package var absent: [String]
    /// Anything else worth knowing, one line each.
    package var notes: [String]

    /// The arena's figures at one moment.
    package struct Phase: Sendable, Codable, Equatable {
        /// `live`, `released` or `purged`.
        package var name: String
        /// Our statistics, with jemalloc's `mallctl` figures for the arena inside.
        package var ours: ArenaStatistics
        /// Our figures beside jemalloc's, figure by figure.
        package var comparison: [Comparison]
        /// The arena's entry in jemalloc's JSON statistics, taken right after ``ours``.
        package var jemallocDocumentArena: StatsReport.ArenaRow?
        /// The arena's small size classes with slabs in use, from the JSON statistics.
        package var sizeClasses: [StatsReport.SizeClassRow]
        /// The arena's large size classes with live allocations, from the JSON statistics.
        package var largeClasses: [StatsReport.LargeClassRow]
    }

    /// One figure as we count it and as jemalloc does; either may be `nil` (not counted there).
    package struct Comparison: Sendable, Codable, Equatable {
        /// The figure's name.
        package var figure: String
        /// Our value.
        package var ours: Int?
        /// jemalloc's value.
        package var jemalloc: Int?
        /// How the two relate.
        package var note: String
    }
}

// MARK: - Running

extension RunReport {
    /// Replays `workload` on a new arena and takes the three snapshots.
    ///
    /// - Parameters:
    ///   - workload: what to replay.
    ///   - configuration: the arena's configuration (its name is used as given).
    ///   - seed: the seed of the request sizes.
    ///   - scale: multiplies the request count; at least 1.
    ///   - top: how many allocation sites the profile lists.
    /// - Throws: `ArenaError` when the arena cannot be made or refuses a request.
    ///
    /// The arena samples allocation sites: at `configuration.sampleInterval`, or at
    /// ``ArenaAllocator/Configuration/defaultSampleInterval`` when that is `nil` (the
    /// environment's `ARENA_SAMPLE_INTERVAL` does not apply), with `seed` as the sampling seed
    /// unless the configuration names one.
    package static func run(
        _ workload: Workload,
        configuration: ArenaAllocator.Configuration,
        seed: UInt64,
        scale: Int = 1,
        top: Int = 10
    ) throws(ArenaError) -> RunReport {
        var configuration = configuration
        configuration.sampleInterval =
            configuration.sampleInterval ?? ArenaAllocator.Configuration.defaultSampleInterval
        configuration.sampleSeed = configuration.sampleSeed ?? seed
        let arena = try ArenaAllocator(configuration)
        var outcome = try workload.perform(on: arena, seed: seed, scale: scale)
        var report = RunReport(
            workload: workload,
            summary: workload.summary,
            seed: seed,
            scale: scale,
            chunkSize: configuration.chunkSize,
            limit: configuration.limit,
            requests: outcome.requests,
            requestedBytes: outcome.requestedBytes,
            survivors: outcome.survivors.count,
            survivingBytes: outcome.survivingBytes,
            jemallocVersion: nil,
            jemallocArena: arena.jemallocArenaIndex,
            phases: [],
            profile: ProfileSummary(
                withExtendedLifetime(outcome) { arena.memoryProfile() },
                moment: "live",
                sampleSeed: configuration.sampleSeed,
                top: top
            ),
            absent: [],
            notes: []
        )
        #if Jemalloc
        report.jemallocVersion = Jemalloc.version
        #else
        report.absent.append("jemalloc's figures absent: built without the Jemalloc trait (posix_memalign backend)")
        #endif
        // The survivors must outlive the first snapshot: an optimized build may otherwise end
        // their lifetime at their last use above.
        var live: Phase?
        withExtendedLifetime(outcome) { live = report.snapshot("live", of: arena) }
        outcome.survivors.removeAll()
        let released = report.snapshot("released", of: arena)
        let stillSampled = arena.memoryProfile().sampledRegions
        if stillSampled > 0 {
            report.notes.append(
                "released: the profile still lists \(stillSampled) sampled regions with every region dropped"
            )
        }
        arena.purge()
        let purged = report.snapshot("purged", of: arena)
        report.phases = [live!, released, purged]
        return report
    }

    /// Our statistics and jemalloc's for `arena`, now.
    private mutating func snapshot(_ name: String, of arena: ArenaAllocator) -> Phase {
        let ours = arena.statistics()
        var phase = Phase(
            name: name,
            ours: ours,
            comparison: Self.compare(ours),
            jemallocDocumentArena: nil,
            sizeClasses: [],
            largeClasses: []
        )
        #if Jemalloc
        if let index = arena.jemallocArenaIndex {
            let source = "Jemalloc.statisticsJSON()"
            do {
                let document = try StatsDocument.parse(Array(Jemalloc.statisticsJSON().utf8), source: source)
                if let figures = document.arena(.index(Int(index))) {
                    let general = document.general
                    var saturation = Saturation()
                    phase.jemallocDocumentArena = StatsReport.arenaRow(
                        figures,
                        pageSize: general?.pageSize,
                        saturation: &saturation
                    )
                    phase.sizeClasses = StatsReport.sizeClassRows(figures, general: general, saturation: &saturation)
                        .filter { $0.slabs > 0 }
                    phase.largeClasses = StatsReport.largeClassRows(
                        figures,
                        general: general,
                        saturation: &saturation
                    ).filter { $0.count > 0 }
                    notes += saturation.figures.map { "\(name): saturated at 64 bits: \($0)" }
                } else {
                    notes.append("\(name): arena \(index) is not in jemalloc's JSON statistics")
                }
            } catch {
                notes.append("\(name): \(error)")
            }
        }
        #endif
        return phase
    }

    /// Pairs our figures with jemalloc's.
    static func compare(_ ours: ArenaStatistics) -> [Comparison] {
        let j = ours.jemalloc
        let liveBlocks = j.map {
            Int(truncatingIfNeeded: $0.smallAllocations &- $0.smallDeallocations)
                .saturatingAdd(Int(truncatingIfNeeded: $0.largeAllocations &- $0.largeDeallocations))
        }
        let blocksMade = j.map { Int(truncatingIfNeeded: $0.smallAllocations &+ $0.largeAllocations) }
        return [
            Comparison(
                figure: "liveBlocks",
                ours: ours.liveChunks + ours.cachedChunks + ours.dedicatedBlocks + ours.cachedBlocks,
                jemalloc: liveBlocks,
                note: "chunks and dedicated blocks, live and cached; each is one jemalloc allocation"
            ),
            Comparison(
                figure: "bytesInBlocks",
                ours: ours.bytesReserved,
                jemalloc: j?.allocated,
                note: "jemalloc rounds each block up to its size class"
            ),
            Comparison(
                figure: "bytesHandedOut",
                ours: ours.bytesHandedOut,
                jemalloc: nil,
                note: "carved for regions in live chunks, plus dedicated blocks"
            ),
            Comparison(
                figure: "peakBytesInBlocks",
                ours: ours.peakBytesReserved,
                jemalloc: nil,
                note: "the most bytes the arena held"
            ),
            Comparison(
                figure: "active",
                ours: nil,
                jemalloc: j?.activeBytes,
                note: "pages holding live blocks"
            ),
            Comparison(figure: "dirty", ours: nil, jemalloc: j?.dirtyBytes, note: "unused pages not yet purged"),
            Comparison(figure: "muzzy", ours: nil, jemalloc: j?.muzzyBytes, note: "pages advised away lazily"),
            Comparison(figure: "resident", ours: nil, jemalloc: j?.resident, note: "physically resident"),
            Comparison(figure: "mapped", ours: nil, jemalloc: j?.mapped, note: "mapped extents"),
            Comparison(figure: "retained", ours: nil, jemalloc: j?.retained, note: "virtual memory kept, unmapped"),
            Comparison(figure: "metadata", ours: nil, jemalloc: j?.metadata, note: "the arena's own bookkeeping"),
            Comparison(
                figure: "allocations",
                ours: ours.allocations,
                jemalloc: blocksMade,
                note: "ours: regions handed out; jemalloc: blocks (chunks and dedicated blocks)"
            ),
            Comparison(
                figure: "chunkRefills",
                ours: ours.chunkRefills,
                jemalloc: nil,
                note: "chunks taken from jemalloc rather than the cache"
            ),
            Comparison(figure: "limitHits", ours: ours.limitHits, jemalloc: nil, note: "requests refused by the limit"),
        ]
    }
}
