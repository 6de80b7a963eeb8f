import ArenaStressKit
import ArenaToolSupport
import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `arena-stress` command: hammers an arena and its byte views from several threads and
/// proves that no byte is corrupted or lost and no memory leaks.
@main
struct ArenaStress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arena-stress",
        abstract: "Hammer a jemalloc arena and its zero-copy byte views; prove nothing is corrupted or leaked.",
        discussion: """
            Workers allocate BytesMut writers, write a pattern derived from the seed, split, freeze, clone, \
            slice, merge, chain, reclaim, hand views to each other and drop them in random order. Every byte \
            read is checked against the pattern, every zero-copy claim by address, and at the end the \
            arena's live chunks and bytes handed out must be back where they started.

            Operation names for --weights: allocate, grow, split-writer, clone, slice, split, read, merge, \
            hand-off, chain, reclaim, read-buffer, drop.

            A refused allocation (--limit, the system out of memory, or --fail-rate) is counted, the views \
            the worker keeps are checked, and it drops a quarter of them; it is never a violation.

            With --sample-interval the arena samples allocation sites (as ArenaAllocator.Configuration's \
            sampleInterval, seeded with --seed), and the summary lists the top sites of the views alive \
            when the workers stop, with estimated live and pinned bytes. A sampled allocation has a storage \
            of its own, never merged with its neighbours, reclaimed or grown in place, so the interval is \
            part of the run and of its replay line; at the end the profile must list no sampled region.

            Exit status: 0 when the run passed, 1 on a violation (printed with the seed and the operation), \
            2 for bad arguments (one line on standard error).

            Examples:
              arena-stress                                   10 seconds on every core
              arena-stress --threads 4 --duration 60
              arena-stress --operations 100000 --seed 42     replays exactly
              arena-stress --fail-rate 1%                    1% of allocations refused: each is counted, never \
            a violation
              arena-stress --sample-interval 64K             the top allocation sites of the views kept at the end
            """,
        version: ToolVersion.line(tool: "arena-stress", jemalloc: Runner.jemallocVersion)
    )

    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp("Worker threads (default: the number of cores).", valueName: "n")
    )
    var threads: Int?

    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp("Run for this long (default: 10 unless --operations is given).", valueName: "seconds")
    )
    var duration: Double?

    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp("Stop after this many operations in all (whichever of the two ends first).", valueName: "n")
    )
    var operations: Int?

    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp("The seed (default: random; always printed).", valueName: "s")
    )
    var seed: UInt64?

    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp(
            "Allocation sizes: small (1 B-1 KiB), large (16 KiB-1 MiB), mixed, or a list like 64,4K,100-200.",
            valueName: "spec"
        )
    )
    var sizes: String = "mixed"

    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp("The arena's byte limit, e.g. 4M (at least one chunk).", valueName: "bytes")
    )
    var limit: String?

    @Option(
        name: .customLong("chunk-size"),
        parsing: .unconditional,
        help: ArgumentHelp("The arena's chunk size, a power of two from 4K to 1G.", valueName: "bytes")
    )
    var chunkSize: String = "64K"

    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp(
            "Operation weights to change, e.g. allocate=30,merge=0 (names below).",
            valueName: "list"
        )
    )
    var weights: String?

    @Option(
        name: .customLong("max-live"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Bytes of views the workers keep before dropping (default: 64M, or twice --limit).",
            valueName: "bytes"
        )
    )
    var maxLive: String?

    @Flag(
        name: .customLong("thread-local-chunks"),
        help: "Each thread carves from a chunk of its own, without a lock (as the shared arena does)."
    )
    var threadLocalChunks = false

    @Flag(
        name: .long,
        help: "Workers compact the views they keep (Bytes.compacted()) every 32 operations."
    )
    var compact = false

    @Option(
        name: .customLong("fail-rate"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Refuse this share of the arena's allocations on purpose, e.g. 0.01 or 1% (from the seed).",
            valueName: "share"
        )
    )
    var failRate: String?

    @Option(
        name: .customLong("sample-interval"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Sample allocation sites, one allocation per this many bytes on average (e.g. 512K, the library's "
                + "default), and report the top sites; off by default.",
            discussion: "Without it, ARENA_SAMPLE_INTERVAL in the environment (a decimal byte count) turns "
                + "sampling on as it does for any arena.",
            valueName: "bytes"
        )
    )
    var sampleInterval: String?

    @Flag(name: .long, help: "Write the summary as JSON.")
    var json = false

    @Flag(name: .customLong("no-progress"), help: "No progress line, even on a terminal.")
    var noProgress = false

    @Flag(name: .customLong("inject-corruption"), help: .hidden)
    var injectCorruption = false

    /// Checks every option; a bad one becomes one line on standard error and exit status 2.
    func validate() throws {
        _ = try makeConfiguration()
    }

    /// Runs the stress test: the summary on standard output, a violation as one line on
    /// standard error and exit status 1.
    func run() throws {
        let configuration = try makeConfiguration()
        let runner = Runner(configuration: configuration)
        let outcome = runner.run { line in
            if configuration.json { writeAll(STDERR_FILENO, line + "\n") } else { print(line) }
        }
        if let failure = runner.failure(for: outcome) { throw failure }
        if let summary = outcome.summary { print(configuration.json ? summary.json() : summary.table()) }
    }

    /// Parses the arguments and runs. Unlike swift-argument-parser's default (usage text and
    /// exit status 64), a bad argument gives one line on standard error and exit status 2.
    static func main() {
        runAsTool()
    }

    /// The run's settings from the options; the arena's own are checked by
    /// `ArenaAllocator.Configuration`'s validation.
    func makeConfiguration() throws(UsageError) -> StressConfiguration {
        let threads = self.threads ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard threads >= 1 else { throw UsageError("--threads must be at least 1 (got \(threads))") }
        guard threads <= 1024 else { throw UsageError("--threads must be at most 1024 (got \(threads))") }
        if let duration {
            guard duration.isFinite && duration > 0 else {
                throw UsageError("--duration must be a positive number of seconds (got \(duration))")
            }
        }
        if let operations {
            guard operations >= 1 else { throw UsageError("--operations must be at least 1 (got \(operations))") }
        }
        let sizes = try SizeDistribution(parsing: self.sizes)
        let chunkSize = try parseByteCount(self.chunkSize, what: "chunk size")
        let limit = try self.limit.map { text throws(UsageError) in try parseByteCount(text, what: "limit") }
        let weights = try self.weights.map { text throws(UsageError) in try Weights(parsing: text) } ?? Weights()
        let maxLive = try self.maxLive.map { text throws(UsageError) in try parseByteCount(text, what: "--max-live") }
        if let maxLive { guard maxLive > 0 else { throw UsageError("--max-live must be positive") } }
        let failRate = try self.failRate.map { text throws(UsageError) in try Self.parseShare(text) }
        let sampleInterval = try self.sampleInterval.map { text throws(UsageError) in
            try parseByteCount(text, what: "--sample-interval")
        }
        if let sampleInterval {
            guard sampleInterval >= 1 else {
                throw UsageError("--sample-interval must be at least 1 byte (got '\(self.sampleInterval ?? "")')")
            }
        }
        let environmentInterval = StressConfiguration.environmentSampleInterval
        let configuration = StressConfiguration(
            seed: seed ?? UInt64.random(in: 0...UInt64.max),
            threads: threads,
            duration: duration ?? (operations == nil ? 10 : nil),
            operations: operations,
            sizes: sizes,
            sizesText: self.sizes,
            limit: limit,
            chunkSize: chunkSize,
            threadLocalChunks: threadLocalChunks,
            weights: weights,
            maxLiveBytes: maxLive,
            json: json,
            progress: !noProgress && standardOutputIsTerminal,
            injectCorruption: injectCorruption,
            compact: compact,
            failRate: failRate,
            weightsText: self.weights,
            maxLiveText: self.maxLive,
            sampleInterval: sampleInterval ?? environmentInterval,
            sampleIntervalFromEnvironment: sampleInterval == nil && environmentInterval != nil
        )
        do {
            try configuration.arena.validate()
        } catch {
            throw UsageError(error.description)
        }
        return configuration
    }

    /// A share from 0 to 1: a number (`0.01`) or a percentage (`1%`).
    static func parseShare(_ text: String) throws(UsageError) -> Double {
        let percent = text.hasSuffix("%")
        guard let number = Double(percent ? String(text.dropLast()) : text), number.isFinite else {
            throw UsageError("--fail-rate must be a number from 0 to 1 or a percentage (got '\(text)')")
        }
        let share = percent ? number / 100 : number
        guard (0...1).contains(share) else {
            throw UsageError("--fail-rate must be from 0 to 1, or 0% to 100% (got '\(text)')")
        }
        return share
    }
}
