import ArenaStatsKit
import ArenaToolSupport
import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `arena-stats` command: reads, compares and produces jemalloc allocation statistics.
@main
struct ArenaStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arena-stats",
        abstract: "Where did the memory go? Allocation statistics of jemalloc processes and of our arenas.",
        discussion: """
            Reads jemalloc's JSON statistics, as a jemalloc-linked process prints them at exit with \
            MALLOC_CONF=stats_print:true,stats_print_opts:J (any program can be linked with \
            LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2), or as Jemalloc.statisticsJSON() \
            returns them.

            Exit status: 0 on success; 1 when a workload fails; 2 for bad arguments or bad input, \
            with one line on standard error naming the file and the problem.

            """ + examples,
        version: ToolVersion.line(tool: "arena-stats", jemalloc: linkedJemallocVersion),
        subcommands: [Read.self, Diff.self, Run.self]
    )

    /// Runs the command; errors become one line on standard error and an exit status (2 for bad
    /// arguments or input, 1 for a failed workload).
    static func main() {
        runAsTool()
    }
}

/// A workload that could not finish (the arena refused a request); exit status 1.
struct WorkloadFailure: ToolFailure {
    var description: String

    var exitStatus: Int32 { ToolExitStatus.failure }
}

/// Writes a rendered report to standard output.
func emit(_ text: String) {
    writeAll(STDOUT_FILENO, text)
}
