import ArenaStatsKit
import ArenaToolSupport
import ArgumentParser

/// How much input `read` and `diff` take.
struct InputOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read at most this many bytes of each input (digits with an optional K, M or G suffix).",
            discussion: "Larger input is an error (exit 2).",
            valueName: "bytes"
        )
    )
    var maxInputBytes = "256M"

    func validate() throws {
        let limit = try parseByteCount(maxInputBytes, what: "--max-input-bytes")
        if limit < 1 { throw ValidationError("--max-input-bytes must be at least 1, not \(maxInputBytes)") }
    }

    /// The limit in bytes.
    var limit: Int {
        (try? parseByteCount(maxInputBytes, what: "--max-input-bytes")) ?? InputFile.defaultMaximumBytes
    }
}

/// Prints a document's warnings (a repeated key with different values) on standard error, once.
func warn(about document: StatsDocument, source: String) {
    guard let warning = document.warnings.first else { return }
    writeErrorLine(tool: "arena-stats", "warning: \(source): \(warning)")
}

/// The examples at the end of the top-level help.
let examples = """
    Examples:
      MALLOC_CONF=stats_print:true,stats_print_opts:J LD_PRELOAD=libjemalloc.so.2 ./server 2>stats.json
      arena-stats read stats.json                    the last statistics document in the file
      arena-stats read stats.json --list             every document in the file (stats_interval output)
      arena-stats read stats.json --document 1 --arena 0 --top 10
      arena-stats diff before.json after.json --csv
      arena-stats diff stats.json                    the first document of the file against the last
      arena-stats run mixed --scale 2
      arena-stats run mixed --top 3                  the 3 allocation sites that pin the most memory
    """
