import ArenaStatsKit
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
            """,
        subcommands: [Read.self, Diff.self, Run.self]
    )

    /// Runs the command; errors become one line on standard error and an exit status.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as StatsInputError {
            fail(error.description, status: 2)
        } catch let error as WorkloadFailure {
            fail(error.description, status: 1)
        } catch {
            // Help, version and other clean exits print what they print, with status 0.
            if exitCode(for: error) == .success || error is ExitCode { exit(withError: error) }
            let message = message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            fail("\(message) (see arena-stats --help)", status: 2)
        }
    }

    /// Prints `arena-stats: message` on standard error and exits with `status`.
    static func fail(_ message: String, status: Int32) -> Never {
        let line = "arena-stats: " + String(message.map { $0.isNewline ? " " : $0 }) + "\n"
        writeAll(STDERR_FILENO, line)
        terminate(status)
    }
}

/// A workload that could not finish (the arena refused a request).
struct WorkloadFailure: Error, CustomStringConvertible {
    var description: String
}

/// Writes a rendered report to standard output.
func emit(_ text: String) {
    writeAll(STDOUT_FILENO, text)
}

/// Writes all of `text` to `descriptor`, unbuffered.
private func writeAll(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

/// Ends the process with `status`.
private func terminate(_ status: Int32) -> Never {
    exit(status)
}
