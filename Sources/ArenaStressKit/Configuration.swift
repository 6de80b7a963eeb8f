// The settings of one run, as `arena-stress` builds them from its options (and tests in-process).

import Arena

/// The settings of one run.
///
/// The arena's own settings are checked by `ArenaAllocator.Configuration`'s validation
/// (``arena``); the rest by the command that builds this.
package struct StressConfiguration: Sendable {
    /// The seed of every random choice and of the pattern.
    package var seed: UInt64
    /// Worker threads.
    package var threads: Int
    /// Seconds to run, or `nil` to run until the operation count.
    package var duration: Double?
    /// Operations in all, or `nil` to run until the duration.
    package var operations: Int?
    /// Allocation sizes.
    package var sizes: SizeDistribution
    /// The sizes as given.
    package var sizesText: String
    /// The arena's limit.
    package var limit: Int?
    /// The arena's chunk size.
    package var chunkSize: Int
    /// Whether the arena gives each thread a chunk of its own.
    package var threadLocalChunks: Bool
    /// Operation weights.
    package var weights: Weights
    /// Bytes of views the workers keep, in all, before they drop.
    package var maxLiveBytes: Int
    /// Whether the summary is JSON.
    package var json: Bool
    /// Whether the progress line is shown.
    package var progress: Bool
    /// Whether workers compact the views they keep (`Bytes.compacted()`) every 32 operations.
    package var compact: Bool
    /// Whether worker 0 corrupts one byte (tests prove a corruption is caught).
    package var injectCorruption: Bool
    /// The share of the arena's backend allocations refused on purpose (`--fail-rate`, 0 to 1),
    /// drawn from the seed; `nil` refuses none.
    package var failRate: Double?
    /// `--weights` as given.
    package var weightsText: String?
    /// `--max-live` as given.
    package var maxLiveText: String?
    /// The mean bytes between two sampled allocations (`--sample-interval`, or the environment's
    /// `ARENA_SAMPLE_INTERVAL`), or `nil` for no sampling. The sampling seed is ``seed``.
    package var sampleInterval: Int?
    /// Whether ``sampleInterval`` came from `ARENA_SAMPLE_INTERVAL` rather than the option.
    package var sampleIntervalFromEnvironment: Bool
    /// How many allocation sites the summary lists.
    package var topSites: Int

    /// A configuration; the defaults are `arena-stress`'s, except that it runs until
    /// `operations` (no duration) and shows no progress line.
    package init(
        seed: UInt64,
        threads: Int = 1,
        duration: Double? = nil,
        operations: Int? = nil,
        sizes: SizeDistribution = .mixed,
        sizesText: String = "mixed",
        limit: Int? = nil,
        chunkSize: Int = 64 << 10,
        threadLocalChunks: Bool = false,
        weights: Weights = Weights(),
        maxLiveBytes: Int? = nil,
        json: Bool = false,
        progress: Bool = false,
        injectCorruption: Bool = false,
        compact: Bool = false,
        failRate: Double? = nil,
        weightsText: String? = nil,
        maxLiveText: String? = nil,
        sampleInterval: Int? = nil,
        sampleIntervalFromEnvironment: Bool = false,
        topSites: Int = 10
    ) {
        self.seed = seed
        self.threads = threads
        self.duration = duration
        self.operations = operations
        self.sizes = sizes
        self.sizesText = sizesText
        self.limit = limit
        self.chunkSize = chunkSize
        self.threadLocalChunks = threadLocalChunks
        self.weights = weights
        self.maxLiveBytes = maxLiveBytes ?? limit.map { 2 * $0 } ?? 64 << 20
        self.json = json
        self.progress = progress
        self.injectCorruption = injectCorruption
        self.compact = compact
        self.failRate = failRate
        self.weightsText = weightsText
        self.maxLiveText = maxLiveText
        self.sampleInterval = sampleInterval
        self.sampleIntervalFromEnvironment = sampleIntervalFromEnvironment
        self.topSites = topSites
    }

    /// The interval `ARENA_SAMPLE_INTERVAL` sets for arenas that name none, which `arena-stress`
    /// makes its own when `--sample-interval` is absent, so the summary and the replay line say so.
    package static var environmentSampleInterval: Int? {
        ArenaAllocator.Configuration.environmentSampleInterval
    }

    /// The arena's configuration. Its sampling seed is the run's, so a single-thread run samples
    /// the same allocations when replayed.
    package var arena: ArenaAllocator.Configuration {
        var configuration = ArenaAllocator.Configuration(
            name: "arena-stress",
            chunkSize: chunkSize,
            limit: limit,
            threadLocalChunks: threadLocalChunks
        )
        configuration.sampleInterval = sampleInterval
        configuration.sampleSeed = seed
        return configuration
    }

    /// The options besides seed, threads and operations that shape the run, for a replay line.
    var optionsForReplay: String {
        var text = " --sizes \(sizesText) --chunk-size \(chunkSize)"
        if let limit { text += " --limit \(limit)" }
        if threadLocalChunks { text += " --thread-local-chunks" }
        if let weightsText { text += " --weights \(weightsText)" }
        if let maxLiveText { text += " --max-live \(maxLiveText)" }
        if compact { text += " --compact" }
        if let failRate { text += " --fail-rate \(failRate)" }
        // A sampled allocation gets a storage of its own (never merged, reclaimed or grown in
        // place), so the interval changes the run, wherever it came from.
        if let sampleInterval { text += " --sample-interval \(sampleInterval)" }
        if injectCorruption { text += " --inject-corruption" }
        return text
    }
}
