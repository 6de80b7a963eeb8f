import Arena
import ArenaStatsKit
import ArenaToolSupport
import ArgumentParser

/// `arena-stats run WORKLOAD`: replays a built-in workload on a fresh arena.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a built-in workload on an ArenaAllocator; show our figures beside jemalloc's.",
        discussion: "Workloads:\n" + Workload.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n")
            + "\n\nFigures are taken with the regions alive, after dropping them, and after purge()."
            + "\n\nThe arena samples allocation sites at the default interval (one region per 512 KiB "
            + "allocated, on average; the sampling seed is --seed), and the report lists the sites whose "
            + "regions are alive, with their estimated live and pinned bytes."
    )

    @Argument(
        help: ArgumentHelp(
            "The workload: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "workload"
        ),
        completion: .list(Workload.allCases.map(\.rawValue))
    )
    var workloadName: String

    @Option(help: "The seed of the request sizes.")
    var seed: UInt64 = 42

    @Option(help: "Multiply the number of requests by this (1...10; at 1, mixed keeps about 80 MiB alive).")
    var scale = 1

    @Option(help: ArgumentHelp("The arena's chunk size, e.g. 64K (a power of two, 4K...1G).", valueName: "bytes"))
    var chunkSize = "64K"

    @Option(
        help: ArgumentHelp(
            "The arena's byte limit, e.g. 16M (at least one chunk); none by default.",
            valueName: "bytes"
        )
    )
    var limit: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("How many allocation sites of the memory profile to list (0 or more).", valueName: "count")
    )
    var top = 10

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if top < 0 { throw ValidationError("--top must not be negative, not \(top)") }
        guard Workload(rawValue: workloadName) != nil else {
            let names = Workload.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("unknown workload '\(workloadName)' (choose one of \(names))")
        }
        if !(1...10).contains(scale) { throw ValidationError("--scale must be 1...10, not \(scale)") }
        _ = try arenaConfiguration()
    }

    /// The arena's configuration from `--chunk-size` and `--limit`, which take byte counts as
    /// `arena-stress` does (`4096`, `64K`, `16M`).
    func arenaConfiguration() throws(ValidationError) -> ArenaAllocator.Configuration {
        do {
            let chunkSize = try parseByteCount(chunkSize, what: "--chunk-size")
            let limit = try limit.map { text throws(UsageError) in try parseByteCount(text, what: "--limit") }
            return .init(name: "arena-stats-\(workloadName)", chunkSize: chunkSize, limit: limit)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let workload = Workload(rawValue: workloadName)!
        let configuration = try arenaConfiguration()
        let report: RunReport
        do {
            report = try RunReport.run(workload, configuration: configuration, seed: seed, scale: scale, top: top)
        } catch .invalidConfiguration(let reason) {
            throw ValidationError("invalid arena configuration: \(reason)")
        } catch {
            throw WorkloadFailure(description: "workload \(workload) failed: \(error)")
        }
        emit(report.rendered(as: output.format, options: output.tableOptions))
    }
}
