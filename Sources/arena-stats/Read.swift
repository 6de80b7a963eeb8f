import ArenaStatsKit
import ArgumentParser

/// `arena-stats read FILE|-`: summarizes one statistics document.
struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarize jemalloc's JSON statistics: totals, fragmentation, arenas, size classes.",
        discussion: """
            Reports allocated, active, metadata, resident, mapped and retained bytes; fragmentation \
            (1 - allocated/active) and allocated/resident; each arena's small and large bytes; per \
            small size class the regions in use, slabs, utilization and wasted bytes (free regions \
            in live slabs); and the classes that waste the most.

            Documents printed with omission letters (e.g. stats_print_opts:Jgba) are summarized as \
            far as they go, saying what is absent. Other output around the JSON (a process's own \
            standard error) is skipped.
            """
    )

    @Argument(help: "The statistics file, or - for standard input.")
    var file: String

    @Option(help: "How many of the most wasteful size classes to list.")
    var top = 5

    @OptionGroup var sizeClasses: SizeClassOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if top < 0 { throw ValidationError("--top must not be negative, not \(top)") }
    }

    func run() throws {
        let document = try InputFile.document(at: file)
        let report = try StatsReport(
            document: document,
            source: InputFile.displayName(file),
            options: sizeClasses.reportOptions(top: top)
        )
        emit(report.rendered(as: output.format, options: output.tableOptions))
    }
}
