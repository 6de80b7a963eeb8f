import ArenaStatsKit
import ArgumentParser

/// `arena-stats diff A B`: what changed between two statistics documents.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what changed between two statistics documents, per figure and per size class.",
        discussion: "Process-wide figures are always listed; arena figures and size classes when they changed."
    )

    @Argument(help: "The earlier statistics file (- for standard input).")
    var before: String

    @Argument(help: "The later statistics file (- for standard input).")
    var after: String

    @OptionGroup var sizeClasses: SizeClassOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if before == "-" && after == "-" {
            throw ValidationError("only one of the two files can be - (standard input)")
        }
    }

    func run() throws {
        let old = try InputFile.document(at: before)
        let new = try InputFile.document(at: after)
        let diff = try StatsDiff(
            before: (old, InputFile.displayName(before)),
            after: (new, InputFile.displayName(after)),
            options: sizeClasses.reportOptions()
        )
        emit(diff.rendered(as: output.format, options: output.tableOptions))
    }
}
