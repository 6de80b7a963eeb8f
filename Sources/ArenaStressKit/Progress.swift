// The progress line on a terminal.

import ArenaToolSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line status rewritten in place (`\r`), shown only when standard output is a terminal.
struct ProgressLine {
    /// Whether the line is shown at all.
    let enabled: Bool
    private var shown = false

    /// A progress line, shown when `enabled`.
    init(enabled: Bool) {
        self.enabled = enabled
    }

    /// Rewrites the line: elapsed time, operations and their rate, live and reserved bytes,
    /// limit hits.
    mutating func update(
        seconds: Double,
        operations: Int,
        rate: Double,
        liveBytes: Int,
        reservedBytes: Int,
        limitHits: Int
    ) {
        guard enabled else { return }
        let text =
            "\r\(formatFixed(seconds, digits: 1)) s  \(operations) ops  \(Int(rate.rounded())) ops/s  "
            + "live \(formatBytes(liveBytes))  reserved \(formatBytes(reservedBytes))  limit hits \(limitHits)"
            + "\u{1B}[K"
        writeAll(STDOUT_FILENO, text)
        shown = true
    }

    /// Clears the line, so the summary starts on a clean one.
    mutating func clear() {
        guard shown else { return }
        writeAll(STDOUT_FILENO, "\r\u{1B}[K")
        shown = false
    }
}
