import ArenaToolSupport

/// A plain-text table with aligned columns, as the terminal output uses.
///
/// ```
/// size  slabs  in use  util    wasted
/// ----  -----  ------  ------  ---------
///   16      3     700   91.1%  1.1 KiB
/// ```
/// Columns are separated by two spaces; numbers align right, text left; trailing spaces are
/// trimmed. Every character is assumed to take one terminal column (true of what we print:
/// ASCII and the block elements of ``Format/bar(_:width:)``).
package struct TextTable: Sendable {
    /// How a column aligns its cells.
    package enum Alignment: Sendable {
        /// Pad on the right (text).
        case left
        /// Pad on the left (numbers).
        case right
    }

    /// A column's title and alignment.
    package struct Column: Sendable {
        /// The header.
        package var title: String
        /// How cells align.
        package var alignment: Alignment

        /// Creates a column.
        package init(_ title: String, _ alignment: Alignment = .right) {
            self.title = title
            self.alignment = alignment
        }
    }

    /// The columns.
    package var columns: [Column]
    /// The rows; each has one cell per column (missing cells print empty).
    package var rows: [[String]] = []

    /// Creates a table with no rows.
    package init(_ columns: [Column]) {
        self.columns = columns
    }

    /// Appends a row.
    package mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// The table as lines: header, a rule of dashes, then the rows, each prefixed by `indent` spaces.
    ///
    /// - Complexity: O(cells).
    package func render(indent: Int = 2) -> String {
        var widths = columns.map(\.title.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        let prefix = String(repeating: " ", count: indent)
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, column) in columns.enumerated() {
                let cell = index < cells.count ? cells[index] : ""
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                parts.append(column.alignment == .left ? cell + padding : padding + cell)
            }
            return prefix + trimmingTrailingSpaces(parts.joined(separator: "  "))
        }
        var lines = [line(columns.map(\.title)), line(widths.map { String(repeating: "-", count: $0) })]
        lines += rows.map(line)
        return lines.joined(separator: "\n")
    }
}

/// `text` without trailing spaces.
func trimmingTrailingSpaces(_ text: String) -> String {
    var text = Substring(text)
    while text.last == " " { text = text.dropLast() }
    return String(text)
}

// MARK: - Formatting

/// How figures are written in tables: bytes in binary units, ratios as percentages, bars.
///
/// No Foundation and no locale: the output is the same everywhere.
package enum Format {
    /// A horizontal bar of `width` columns, filled to `fraction` in eighths of a column.
    ///
    /// `bar(0.5, width: 4)` is `"██  "`; `nil` gives blanks. Fractions are clamped to 0...1.
    package static func bar(_ fraction: Double?, width: Int) -> String {
        guard width > 0 else { return "" }
        guard let fraction, fraction.isFinite else { return String(repeating: " ", count: width) }
        let eighths = Int((min(max(fraction, 0), 1) * Double(width * 8)).rounded())
        let partials: [Character] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var bar = String(repeating: "█", count: eighths / 8)
        if eighths % 8 > 0 { bar.append(partials[eighths % 8]) }
        return bar + String(repeating: " ", count: width - bar.count)
    }

    /// A bar for a fraction that cannot be known (the size classes' sizes are absent): `"?"`
    /// then dots, `"?···"`, so it does not read as 0%.
    package static func unknownBar(width: Int) -> String {
        guard width > 0 else { return "" }
        return "?" + String(repeating: "·", count: width - 1)
    }

    /// Formats `value` with exactly `digits` decimals, rounding half away from zero.
    ///
    /// `fixed(0.2615, digits: 1)` is `"0.3"`; no Foundation, no locale.
    package static func fixed(_ value: Double, digits: Int) -> String {
        formatFixed(value, digits: digits)
    }

    /// A percentage with one decimal: `0.2615` is `"26.2%"`; `nil` is `"-"`.
    package static func percent(_ ratio: Double?) -> String {
        guard let ratio else { return "-" }
        return fixed(ratio * 100, digits: 1) + "%"
    }

    /// A byte count in binary units with one decimal: `950480` is `"928.2 KiB"`; `nil` is `"-"`.
    package static func humanBytes(_ bytes: Int?) -> String {
        bytes.map(formatBytes) ?? "-"
    }

    /// A signed change: `+1.2 KiB`, `-16 B`, `0 B`; `nil` is `"-"`.
    package static func humanChange(_ bytes: Int?) -> String {
        guard let bytes else { return "-" }
        return (bytes > 0 ? "+" : "") + humanBytes(bytes)
    }

    /// An optional integer, or `"-"`.
    static func cell(_ value: Int?) -> String {
        value.map(String.init) ?? "-"
    }

    /// A signed integer change: `+3`, `-2`, `0`; `nil` is `"-"`.
    static func signed(_ value: Int?) -> String {
        guard let value else { return "-" }
        return value > 0 ? "+\(value)" : String(value)
    }

    /// The widest function name a table shows; longer ones end in `…` (JSON and CSV have them whole).
    package static let siteNameWidth = 72

    /// An allocation site's function for a table: shortened to its name and parameter labels
    /// (`Workload.perform(on:seed:scale:)`), and cut to ``siteNameWidth`` columns.
    package static func siteName(_ function: String) -> String {
        let short = shortFunctionName(function)
        return short.count <= siteNameWidth ? short : String(short.prefix(siteNameWidth - 1)) + "…"
    }

    /// `camelCase` as words: `bytesHandedOut` is `"bytes handed out"`.
    static func words(_ identifier: String) -> String {
        var result = ""
        for character in identifier {
            if character.isUppercase {
                result.append(" ")
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
        }
        return result
    }
}
