import ArenaStatsKit
import ArgumentParser

/// The output options every subcommand shares.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object (for machines).")
    var json = false

    @Flag(help: "Print CSV in long form: one figure per row (for spreadsheets).")
    var csv = false

    @Option(help: "Width of the utilization bars in the table output, in columns (0: no chart).")
    var barWidth = 24

    func validate() throws {
        if json && csv { throw ValidationError("--json and --csv cannot be combined") }
        if barWidth < 0 || barWidth > 200 { throw ValidationError("--bar-width must be 0...200, not \(barWidth)") }
    }

    /// The chosen format.
    var format: OutputFormat {
        json ? .json : csv ? .csv : .table
    }

    /// The table options.
    var tableOptions: TableOptions {
        TableOptions(barWidth: barWidth)
    }
}

/// The size-class options of `diff` (`read` has its own wording).
struct SizeClassOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Whose size classes to show: merged, destroyed or an arena index.",
            discussion: "By default: merged if present, else the only arena, else the sum of those listed."
        )
    )
    var arena: String?

    @Flag(help: "List unchanged size classes too, and those with nothing in use.")
    var allClasses = false

    func validate() throws {
        if let arena, ArenaKey(arena) == nil {
            throw ValidationError("--arena must be merged, destroyed or an arena index, not '\(arena)'")
        }
    }

    /// The report options, with `top` most wasteful classes.
    func reportOptions(top: Int = 5) -> StatsReport.Options {
        StatsReport.Options(arena: arena.flatMap(ArenaKey.init), top: top, includeIdleClasses: allClasses)
    }
}
