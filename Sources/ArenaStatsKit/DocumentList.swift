/// What `arena-stats read --list` prints: each statistics document of an input, where it
/// starts and its process-wide figures, so one can be picked with `--document`.
package struct DocumentList: Sendable, Codable, Equatable {
    /// One document of the input.
    package struct Entry: Sendable, Codable, Equatable {
        /// Its number, from 1 (what `--document` takes).
        package var document: Int
        /// The 1-based line it starts on.
        package var line: Int
        /// The byte offset it starts at.
        package var offset: Int
        /// The jemalloc version, when the document has it.
        package var version: String?
        /// Bytes in live allocations (`stats.allocated`).
        package var allocated: Int?
        /// Bytes in active pages (`stats.active`).
        package var active: Int?
        /// Bytes resident (`stats.resident`).
        package var resident: Int?
        /// How many arena entries it lists.
        package var arenas: Int
    }

    /// The input (a path or `<stdin>`).
    package var source: String
    /// The documents, in input order.
    package var documents: [Entry]
    /// What the reader did to the input (bytes skipped), one line each.
    package var notes: [String]

    /// Lists `documents`, read from `source`.
    package init(source: String, documents: [StatsDocument]) {
        self.source = source
        self.documents = documents.enumerated().map { index, document in
            Entry(
                document: index + 1,
                line: document.line,
                offset: document.offset,
                version: document.version,
                allocated: document.totals?.allocated,
                active: document.totals?.active,
                resident: document.totals?.resident,
                arenas: document.arenas.count
            )
        }
        self.notes = documents.first?.notes ?? []
    }
}

extension DocumentList: ReportRendering {
    /// One row per document.
    package func renderTable(_ options: TableOptions) -> String {
        var out = Sections()
        out.line("\(source): \(documents.count) statistics document\(documents.count == 1 ? "" : "s")")
        var table = TextTable([
            .init("document"), .init("line"), .init("offset"), .init("version", .left), .init("allocated"),
            .init("active"), .init("resident"), .init("arenas"),
        ])
        for entry in documents {
            table.append([
                String(entry.document), String(entry.line), String(entry.offset), entry.version ?? "-",
                Format.humanBytes(entry.allocated), Format.humanBytes(entry.active), Format.humanBytes(entry.resident),
                String(entry.arenas),
            ])
        }
        out.title("Documents")
        out.table(table)
        out.list("Notes", notes)
        return out.text
    }

    /// Columns: `document,line,offset,version,allocated,active,resident,arenas`.
    package func renderCSV() -> String {
        var csv = CSVWriter(header: [
            "document", "line", "offset", "version", "allocated", "active", "resident", "arenas",
        ])
        for entry in documents {
            csv.append([
                String(entry.document), String(entry.line), String(entry.offset), entry.version ?? "",
                entry.allocated.map(String.init) ?? "", entry.active.map(String.init) ?? "",
                entry.resident.map(String.init) ?? "", String(entry.arenas),
            ])
        }
        return csv.text
    }
}
