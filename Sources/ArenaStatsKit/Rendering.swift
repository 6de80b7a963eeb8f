#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a report is printed.
package enum OutputFormat: String, CaseIterable, Sendable {
    /// Aligned tables with bar charts, for a terminal.
    case table
    /// One JSON object, for machines (keys sorted, absent figures left out).
    case json
    /// Comma-separated values in long form (one figure per row), for spreadsheets.
    case csv
}

/// Options of the table output.
package struct TableOptions: Sendable, Equatable {
    /// The width of utilization bars, in columns; 0 leaves the chart out.
    package var barWidth: Int

    /// Creates options.
    package init(barWidth: Int = 24) {
        self.barWidth = barWidth
    }
}

/// A report that prints as a table, JSON or CSV: ``StatsReport``, ``StatsDiff``, ``RunReport``.
package protocol ReportRendering: Encodable {
    /// The report as aligned tables.
    func renderTable(_ options: TableOptions) -> String
    /// The report as CSV (RFC 4180 quoting, LF line ends, a header row first).
    func renderCSV() -> String
}

extension ReportRendering {
    /// The report in `format`, ending with a newline.
    package func rendered(as format: OutputFormat, options: TableOptions = .init()) -> String {
        let text =
            switch format {
            case .table: renderTable(options)
            case .json: renderJSON()
            case .csv: renderCSV()
            }
        return text.hasSuffix("\n") ? text : text + "\n"
    }

    /// The report as one pretty-printed JSON object with sorted keys.
    package func renderJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            // Our reports hold only strings, integers and finite-or-named doubles.
            preconditionFailure("encoding a report as JSON failed: \(error)")
        }
    }
}

extension StatsReport: ReportRendering {}
extension StatsDiff: ReportRendering {}
extension RunReport: ReportRendering {}
