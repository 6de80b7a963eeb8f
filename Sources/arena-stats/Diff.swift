import ArenaStatsKit
import ArgumentParser

/// `arena-stats diff A B`: what changed between two statistics documents.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what changed between two statistics documents, per figure and per size class.",
        discussion: """
            Process-wide figures are always listed; arena figures and size classes when they changed.

            Each file's last statistics document is compared (see read --help). With one file, its \
            first document is compared against its last: the start and the end of a stats_interval run.

            Examples:
              arena-stats diff before.json after.json
              arena-stats diff stats.log --json
            """
    )

    @Argument(help: "The earlier statistics file (- for standard input).")
    var before: String

    @Argument(help: "The later statistics file (- for standard input); without it, BEFORE's last document.")
    var after: String?

    @OptionGroup var sizeClasses: SizeClassOptions
    @OptionGroup var input: InputOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if before == "-" && after == "-" {
            throw ValidationError("only one of the two files can be - (standard input)")
        }
    }

    func run() throws {
        let old: StatsDocument
        let new: StatsDocument
        var oldName = InputFile.displayName(before)
        var newName = oldName
        if let after {
            old = try InputFile.document(at: before, maximumBytes: input.limit)
            new = try InputFile.document(at: after, maximumBytes: input.limit)
            newName = InputFile.displayName(after)
        } else {
            let documents = try InputFile.documents(at: before, maximumBytes: input.limit)
            guard documents.count >= 2, let first = documents.first, let last = documents.last else {
                throw StatsInputError(
                    source: oldName,
                    kind: .notFound,
                    detail: "holds one statistics document: diff with one file compares its first and last documents"
                )
            }
            (old, new) = (first, last)
            oldName += " (document 1)"
            newName += " (document \(documents.count))"
        }
        warn(about: old, source: oldName)
        warn(about: new, source: newName)
        let diff = try StatsDiff(
            before: (old, oldName),
            after: (new, newName),
            options: sizeClasses.reportOptions()
        )
        emit(diff.rendered(as: output.format, options: output.tableOptions))
    }
}
