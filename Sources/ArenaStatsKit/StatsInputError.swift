import ArenaToolSupport

/// Why a statistics document could not be read: one line naming the input and the problem.
///
/// ```
/// dump.json: cannot open: No such file or directory
/// ```
///
/// or `dump.json: truncated JSON: the input ends inside an object at line 1, column 4096`.
///
/// The command-line tool prints it after `arena-stats: ` and exits with code 2.
package struct StatsInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem, for callers that react differently to each.
    ///
    /// New kinds may be added; don't switch over them exhaustively.
    package struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) { self.name = name }

        /// The file could not be opened or read (missing, a directory, no permission).
        package static let unreadable = Kind("unreadable")
        /// The input holds no bytes (or only whitespace).
        package static let empty = Kind("empty")
        /// The input is JSON cut off before its end.
        package static let truncated = Kind("truncated")
        /// The input is not JSON.
        package static let notJSON = Kind("not JSON")
        /// The input is larger than the reader's limit (`--max-input-bytes`).
        package static let tooLarge = Kind("too large")
        /// The input is valid JSON, but not jemalloc's statistics.
        package static let wrongShape = Kind("wrong shape")
        /// The input is jemalloc's text-format statistics (printed without the `J` option).
        package static let textFormat = Kind("text format")
        /// The input is fine but lacks what was asked of it (an arena that is not in it).
        package static let notFound = Kind("not found")

        /// The kind's name.
        package var description: String { name }
    }

    /// The input as the user named it (`-` reads as `<stdin>`).
    package var source: String
    /// The kind of problem.
    package var kind: Kind
    /// What is wrong, in a few words, without the source.
    package var detail: String

    /// Creates an error.
    package init(source: String, kind: Kind, detail: String) {
        self.source = source
        self.kind = kind
        self.detail = detail
    }

    /// `source: detail`, on one line.
    package var description: String {
        let line = "\(source): \(detail)"
        return String(line.map { $0.isNewline ? " " : $0 })
    }
}

extension StatsInputError: ToolFailure {
    /// Bad input: 2.
    package var exitStatus: Int32 { ToolExitStatus.usage }
}
