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
            standard error, jemalloc's text-format reports printed by stats_interval) is skipped, \
            as long as jemalloc's output starts within the first 4 MiB. An input with several \
            documents (stats_interval, concatenated dumps) is read whole; the last document is \
            reported unless --document says otherwise.

            A key that appears twice in one object (jemalloc 5.3 repeats a few): the first \
            occurrence is used, with a warning on standard error when the two values differ. \
            Figures too large for 64 bits after multiplying or summing are shown as \
            9223372036854775807 and listed as saturated.

            Examples:
              arena-stats read stats.json
              arena-stats read stats.json --list
              arena-stats read - --document 2 --arena merged --all-classes < stats.log
            """
    )

    @Argument(help: "The statistics file, or - for standard input.")
    var file: String

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("How many of the most wasteful size classes to list (0 or more).", valueName: "count")
    )
    var top = 5

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Which statistics document to report when the input holds several: 1 is the first (default: the last).",
            valueName: "n"
        )
    )
    var document: Int?

    @Flag(help: "List the statistics documents in the input (where each starts, its version and totals).")
    var list = false

    @Option(
        help: ArgumentHelp(
            "Whose size classes to show: merged, destroyed or an arena index.",
            discussion: "By default: merged if present, else the only arena, else the sum of those listed."
        )
    )
    var arena: String?

    @Flag(help: "List size classes with nothing in use too.")
    var allClasses = false

    @OptionGroup var input: InputOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if top < 0 { throw ValidationError("--top must not be negative, not \(top)") }
        if let document, document < 1 { throw ValidationError("--document must be 1 or more, not \(document)") }
        if list && document != nil { throw ValidationError("--list and --document cannot be combined") }
        if let arena, ArenaKey(arena) == nil {
            throw ValidationError("--arena must be merged, destroyed or an arena index, not '\(arena)'")
        }
    }

    func run() throws {
        let source = InputFile.displayName(file)
        if list {
            let documents = try InputFile.documents(at: file, maximumBytes: input.limit)
            if let first = documents.first { warn(about: first, source: source) }
            let listing = DocumentList(source: source, documents: documents)
            emit(listing.rendered(as: output.format, options: output.tableOptions))
            return
        }
        let document = try InputFile.document(at: file, index: self.document, maximumBytes: input.limit)
        warn(about: document, source: source)
        let report = try StatsReport(
            document: document,
            source: source,
            options: StatsReport.Options(arena: arena.flatMap(ArenaKey.init), top: top, includeIdleClasses: allClasses)
        )
        emit(report.rendered(as: output.format, options: output.tableOptions))
    }
}
