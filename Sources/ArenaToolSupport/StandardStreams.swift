// Writing to the standard streams and ending the process, the way every tool of ours does:
// unbuffered writes, one line per error, `stdio` flushed before the process ends.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The exit statuses our tools share.
package enum ToolExitStatus {
    /// The command did what was asked.
    package static let success: Int32 = 0
    /// The work failed (a violation, a workload the arena refused).
    package static let failure: Int32 = 1
    /// Bad arguments or bad input.
    package static let usage: Int32 = 2
}

/// Writes all of `text` to a file descriptor, unbuffered, after flushing `stdio`'s buffers
/// (so it never interleaves badly with `print`).
package func writeAll(_ descriptor: Int32, _ text: String) {
    fflush(nil)
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

/// Writes `tool: message` as one line on standard error (newlines in `message` become spaces).
package func writeErrorLine(tool: String, _ message: String) {
    let line = String(message.map { $0.isNewline ? " " : $0 })
    writeAll(STDERR_FILENO, "\(tool): \(line)\n")
}

/// Ends the process with `status`, after flushing standard output.
package func terminate(_ status: Int32) -> Never {
    fflush(nil)
    #if canImport(Glibc)
    Glibc.exit(status)
    #elseif canImport(Musl)
    Musl.exit(status)
    #else
    Darwin.exit(status)
    #endif
}

/// Whether standard output is a terminal.
package var standardOutputIsTerminal: Bool {
    isatty(STDOUT_FILENO) == 1
}
