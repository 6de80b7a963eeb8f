#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension StatsDocument {
    /// The line jemalloc's text-format report starts with.
    static let textFormatMarker = Array("___ Begin jemalloc statistics ___".utf8)

    /// How every JSON document jemalloc prints starts (it prints JSON without spaces).
    static let jsonMarker = Array(#"{"jemalloc":"#.utf8)

    /// How far into input that does not start as JSON the reader looks for jemalloc's output
    /// (a JSON document or a text report) before calling it garbage: 4 MiB.
    package static let sniffLength = 4 << 20

    /// Refuses input whose start already rules out statistics: the first byte that is not
    /// whitespace cannot start JSON, and neither a JSON document nor a text report of jemalloc
    /// begins within the first ``sniffLength`` bytes. Called on the first bytes read, so
    /// garbage is refused without reading all of it; a prefix that does not rule the input out
    /// says nothing.
    ///
    /// - Throws: ``StatsInputError`` of kind `notJSON`.
    package static func rejectEarly(_ prefix: ArraySlice<UInt8>, source: String) throws(StatsInputError) {
        try prefix.withUnsafeBufferPointer { buffer throws(StatsInputError) in
            guard let first = buffer.firstIndex(where: { !isJSONWhitespace($0) }) else { return }
            guard buffer[first] != UInt8(ascii: "{") && buffer[first] != UInt8(ascii: "[") else { return }
            let window = UnsafeBufferPointer(rebasing: buffer[..<min(buffer.count, sniffLength)])
            if search(jsonMarker, in: window, from: first) != nil { return }
            if search(textFormatMarker, in: window, from: first) != nil { return }
            guard buffer.count >= sniffLength || first + jsonMarker.count < buffer.count else { return }
            let error = JSONParseError(
                reason: .unexpected("\(describeByte(buffer[first])) where a value was expected"),
                offset: first,
                in: buffer
            )
            throw StatsInputError(source: source, kind: .notJSON, detail: "not JSON: \(error)")
        }
    }

    /// Reads the statistics document numbered `index` (from 1), by default the last one.
    ///
    /// See ``parseAll(_:source:)`` for what the input may hold.
    ///
    /// - Throws: ``StatsInputError``, with one of its kinds; `notFound` for a document number
    ///   past the last.
    package static func parse(
        _ bytes: [UInt8],
        source: String,
        document index: Int? = nil
    ) throws(StatsInputError) -> StatsDocument {
        let documents = try parseAll(bytes, source: source)
        let chosen = index ?? documents.count
        guard chosen >= 1 && chosen <= documents.count else {
            let count = documents.count == 1 ? "1 document" : "\(documents.count) documents"
            throw StatsInputError(
                source: source,
                kind: .notFound,
                detail: "no document \(chosen): the input holds \(count)"
            )
        }
        var document = documents[chosen - 1]
        if documents.count > 1 {
            let which = chosen == documents.count ? "the last" : "document \(chosen)"
            document.notes.insert(
                "the input holds \(documents.count) statistics documents; this is \(which) (see --list, --document)",
                at: 0
            )
        }
        return document
    }

    /// Reads every statistics document in the bytes of a file or stream, in input order.
    ///
    /// jemalloc prints a JSON document at exit, and with `stats_interval` one per interval;
    /// pipelines concatenate the output of several processes. Whatever else is in the input is
    /// skipped: a process's own output, and jemalloc's text-format reports (printed during the
    /// run when `stats_interval_opts` lacks `J`); ``notes`` says how much. A document after the
    /// first starts with `{"jemalloc":`, as jemalloc prints it; the first may be any JSON
    /// (reformatted output). Input that does not start as JSON must show jemalloc's output
    /// within its first ``sniffLength`` bytes.
    ///
    /// A text-format report without JSON, an empty input, JSON cut short (unless a complete
    /// document came before: then the cut one is named in the notes and ignored), other JSON,
    /// and JSON whose figures have the wrong types are errors naming `source`.
    ///
    /// - Parameters:
    ///   - bytes: the input.
    ///   - source: how to name the input in errors: the path, or `<stdin>`.
    /// - Throws: ``StatsInputError``, with one of its kinds.
    /// - Complexity: O(n) in the input's length.
    package static func parseAll(_ bytes: [UInt8], source: String) throws(StatsInputError) -> [StatsDocument] {
        try rejectEarly(bytes[...], source: source)
        return try bytes.withUnsafeBufferPointer { buffer throws(StatsInputError) in
            try parseAll(buffer, source: source)
        }
    }

    private static func parseAll(
        _ bytes: UnsafeBufferPointer<UInt8>,
        source: String
    ) throws(StatsInputError) -> [StatsDocument] {
        func fail(_ kind: StatsInputError.Kind, _ detail: String) -> StatsInputError {
            StatsInputError(source: source, kind: kind, detail: detail)
        }
        guard let first = bytes.firstIndex(where: { !isJSONWhitespace($0) }) else {
            throw fail(
                .empty,
                "empty input; expected jemalloc's JSON statistics (malloc_stats_print with the J option)"
            )
        }
        func line(of offset: Int) -> Int {
            1 + UnsafeBufferPointer(rebasing: bytes[..<offset]).count(where: { $0 == UInt8(ascii: "\n") })
        }
        var start = first
        var notes: [String] = []
        var skippedBetween = 0
        if bytes[first] != UInt8(ascii: "{") && bytes[first] != UInt8(ascii: "[") {
            guard let json = search(jsonMarker, in: bytes, from: first) else {
                if let marker = search(textFormatMarker, in: bytes, from: first) {
                    let line = line(of: marker)
                    throw fail(
                        .textFormat,
                        "jemalloc's text-format statistics\(line > 1 ? " (from line \(line))" : ""), not JSON: "
                            + "print them with stats_print_opts:J (malloc_stats_print option \"J\")"
                    )
                }
                let error = JSONParseError(
                    reason: .unexpected("\(describeByte(bytes[first])) where a value was expected"),
                    offset: first,
                    in: bytes
                )
                throw fail(.notJSON, "not JSON: \(error)")
            }
            start = json
            let text = search(textFormatMarker, in: UnsafeBufferPointer(rebasing: bytes[..<json]), from: first) != nil
            notes.append(
                "skipped \(start) bytes of \(text ? "text-format reports and " : "")other output before the JSON statistics"
            )
        }

        var documents: [StatsDocument] = []
        var warnings: [String] = []
        while true {
            let parsed: (value: JSONValue, end: Int, conflictingKeys: [String])
            do {
                parsed = try JSONValue.parse(bytes, at: start, keeping: "jemalloc")
            } catch {
                let what = error.isTruncation ? "truncated JSON" : "not valid JSON"
                guard !documents.isEmpty else {
                    throw fail(error.isTruncation ? .truncated : .notJSON, "\(what): \(error)")
                }
                notes.append(
                    "ignored document \(documents.count + 1) (from line \(line(of: start))): \(what): \(error)"
                )
                break
            }
            var document: StatsDocument
            do {
                document = try StatsDocument(json: parsed.value)
            } catch {
                let which = documents.isEmpty ? "" : " (document \(documents.count + 1), line \(line(of: start)))"
                throw fail(.wrongShape, "valid JSON, but not jemalloc statistics\(which): \(error.message)")
            }
            document.offset = start
            document.line = line(of: start)
            for key in parsed.conflictingKeys where warnings.count < 1 {
                warnings.append(
                    "the key \"\(key)\" appears more than once with different values (line \(line(of: start)) on); "
                        + "the first occurrence is used"
                )
            }
            documents.append(document)

            var next = parsed.end
            while next < bytes.count && isJSONWhitespace(bytes[next]) { next += 1 }
            guard next < bytes.count else { break }
            guard let marker = search(jsonMarker, in: bytes, from: next) else {
                notes.append("ignored \(bytes.count - next) bytes of other output after the JSON statistics")
                break
            }
            skippedBetween += marker - next
            start = marker
        }
        if skippedBetween > 0 {
            notes.append("skipped \(skippedBetween) bytes of other output between the statistics documents")
        }
        for index in documents.indices {
            documents[index].notes = notes + documents[index].notes
            documents[index].warnings = warnings
        }
        return documents
    }

    /// Builds the typed document from parsed JSON, or says which member has the wrong shape.
    init(json: JSONValue) throws(ShapeError) {
        guard case .object(let top) = json else {
            throw ShapeError("the top level is \(json.kindDescription), expected an object with a \"jemalloc\" member")
        }
        guard let jemallocValue = top["jemalloc"] else {
            let keys = top.keys.prefix(5).map { "\"\($0)\"" }.joined(separator: ", ")
            throw ShapeError("no \"jemalloc\" member at the top level (it has \(keys.isEmpty ? "no members" : keys))")
        }
        let root = try Node(jemallocValue, path: "jemalloc").object()
        guard root["version"] != nil || root["stats"] != nil || root["stats.arenas"] != nil else {
            throw ShapeError("\"jemalloc\" has none of \"version\", \"stats\", \"stats.arenas\"")
        }
        self.init()
        version = try root.optional("version")?.string()

        if let arenas = root.optional("arenas") {
            general = try Self.general(arenas.object())
        } else {
            absences.append(
                Absence(
                    section: "general information (version, page size, size classes)",
                    options: "g",
                    consequence: "arena pages are not converted to bytes; size classes are shown by index, "
                        + "without sizes, utilization or waste"
                )
            )
        }

        if let stats = root.optional("stats") {
            let stats = try stats.object()
            totals = Totals(
                allocated: try stats.optional("allocated")?.int(),
                active: try stats.optional("active")?.int(),
                metadata: try stats.optional("metadata")?.int(),
                resident: try stats.optional("resident")?.int(),
                mapped: try stats.optional("mapped")?.int(),
                retained: try stats.optional("retained")?.int()
            )
            if stats.optional("mutexes") == nil {
                absences.append(
                    Absence(section: "mutex statistics", options: "x", consequence: "not used by this report")
                )
            }
        } else {
            absences.append(
                Absence(section: "process-wide statistics", options: "", consequence: "no totals or fragmentation")
            )
        }

        if let arenasNode = root.optional("stats.arenas") {
            let object = try arenasNode.object()
            var hasExtents = false
            var hasHPA = false
            for key in object.keys {
                let node = object.optional(key)!
                guard let arenaKey = ArenaKey(key) else {
                    throw ShapeError(
                        "\"\(node.path)\" is not an arena (expected \"merged\", \"destroyed\" or an index)"
                    )
                }
                let arenaObject = try node.object()
                hasExtents = hasExtents || arenaObject["extents"] != nil
                hasHPA = hasHPA || arenaObject["hpa_shard"] != nil
                arenas.append(try Self.arena(arenaKey, arenaObject, saturation: &saturation))
            }
            noteArenaAbsences()
            if !arenas.isEmpty && !hasExtents {
                absences.append(
                    Absence(section: "extent statistics", options: "e", consequence: "not used by this report")
                )
            }
            if !arenas.isEmpty && !hasHPA {
                absences.append(
                    Absence(section: "HPA statistics", options: "h", consequence: "not used by this report")
                )
            }
        } else {
            absences.append(
                Absence(
                    section: "arena statistics",
                    options: "mda",
                    consequence: "no arenas and no size classes"
                )
            )
        }
    }

    /// Records which parts of the arenas' figures the printing options left out.
    private mutating func noteArenaAbsences() {
        let hasMerged = arena(.merged) != nil
        let numbered = numberedArenas
        if !hasMerged && numbered.count > 1 {
            absences.append(
                Absence(
                    section: "merged arena statistics",
                    options: "m",
                    consequence: "size classes are summed over the \(numbered.count) arenas listed"
                )
            )
        }
        if hasMerged && numbered.isEmpty {
            absences.append(
                Absence(section: "per-arena statistics", options: "a", consequence: "only the merged figures are shown")
            )
        }
        guard !arenas.isEmpty else { return }
        if arenas.allSatisfy({ $0.bins == nil }) {
            absences.append(
                Absence(
                    section: "small size-class (bin) statistics",
                    options: "b",
                    consequence: "no small size classes"
                )
            )
        }
        if arenas.allSatisfy({ $0.largeClassCounts == nil }) {
            absences.append(
                Absence(section: "large size-class statistics", options: "l", consequence: "no large size classes")
            )
        }
    }

    private static func general(_ arenas: ObjectNode) throws(ShapeError) -> General {
        var general = General(
            pageSize: try arenas.optional("page")?.int(),
            quantum: try arenas.optional("quantum")?.int(),
            arenaCount: try arenas.optional("narenas")?.int()
        )
        for bin in try arenas.optional("bin")?.array() ?? [] {
            let bin = try bin.object()
            general.binClasses.append(
                BinClass(
                    size: try bin.required("size").int(),
                    regionsPerSlab: try bin.required("nregs").int(),
                    slabSize: try bin.required("slab_size").int()
                )
            )
        }
        for lextent in try arenas.optional("lextent")?.array() ?? [] {
            general.largeClassSizes.append(try lextent.object().required("size").int())
        }
        return general
    }

    private static func arena(
        _ key: ArenaKey,
        _ node: ObjectNode,
        saturation: inout Saturation
    ) throws(ShapeError) -> ArenaFigures {
        var arena = ArenaFigures(key: key)
        arena.threads = try node.optional("nthreads")?.int()
        arena.activePages = try node.optional("pactive")?.int()
        arena.dirtyPages = try node.optional("pdirty")?.int()
        arena.muzzyPages = try node.optional("pmuzzy")?.int()
        if let small = try node.optional("small")?.object() {
            arena.smallAllocated = try small.optional("allocated")?.int()
            arena.smallAllocations = try small.optional("nmalloc")?.count()
            arena.smallDeallocations = try small.optional("ndalloc")?.count()
        }
        if let large = try node.optional("large")?.object() {
            arena.largeAllocated = try large.optional("allocated")?.int()
            arena.largeAllocations = try large.optional("nmalloc")?.count()
            arena.largeDeallocations = try large.optional("ndalloc")?.count()
        }
        arena.mapped = try node.optional("mapped")?.int()
        arena.retained = try node.optional("retained")?.int()
        arena.resident = try node.optional("resident")?.int()
        let base = try node.optional("base")?.int()
        let internalBytes = try node.optional("internal")?.int()
        if let base, let internalBytes {
            arena.metadata = saturation.sum(base, internalBytes, "arena \(key) metadata (base + internal)")
        }
        arena.threadCacheBytes = try node.optional("tcache_bytes")?.int()
        if let bins = try node.optional("bins")?.array() {
            var counters: [BinCounters] = []
            counters.reserveCapacity(bins.count)
            for bin in bins {
                let bin = try bin.object()
                counters.append(
                    BinCounters(
                        regionsInUse: try bin.required("curregs").int(),
                        slabs: try bin.required("curslabs").int(),
                        nonfullSlabs: try bin.optional("nonfull_slabs")?.int() ?? 0,
                        allocations: try bin.optional("nmalloc")?.count() ?? 0,
                        deallocations: try bin.optional("ndalloc")?.count() ?? 0,
                        requests: try bin.optional("nrequests")?.count() ?? 0
                    )
                )
            }
            arena.bins = counters
        }
        if let lextents = try node.optional("lextents")?.array() {
            var counts: [Int] = []
            counts.reserveCapacity(lextents.count)
            for lextent in lextents { counts.append(try lextent.object().required("curlextents").int()) }
            arena.largeClassCounts = counts
        }
        return arena
    }
}

/// The offset of the first occurrence of `needle` in `bytes` at or after `start`.
///
/// - Complexity: O(n·m) worst case, about O(n) on real input: `memchr` finds each candidate.
func search(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
    guard let head = needle.first, let base = bytes.baseAddress else { return nil }
    var offset = start
    while offset + needle.count <= bytes.count {
        // SAFETY: offset < bytes.count, and memchr reads at most the remaining bytes.
        guard let found = memchr(base + offset, Int32(head), bytes.count - offset) else { return nil }
        let candidate = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        guard candidate + needle.count <= bytes.count else { return nil }
        var matches = true
        for index in 1..<needle.count where bytes[candidate + index] != needle[index] {
            matches = false
            break
        }
        if matches { return candidate }
        offset = candidate + 1
    }
    return nil
}

/// Whether `byte` is JSON whitespace.
func isJSONWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
}

// MARK: - Typed walking with paths

/// A member of the document with the wrong type, or a required member that is missing.
struct ShapeError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A JSON value and the dotted path it was found at, for error messages.
struct Node {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    func object() throws(ShapeError) -> ObjectNode {
        guard case .object(let object) = value else { throw mismatch("an object") }
        return ObjectNode(object: object, path: path)
    }

    func array() throws(ShapeError) -> [Node] {
        guard case .array(let elements) = value else { throw mismatch("an array") }
        return elements.enumerated().map { Node($0.element, path: "\(path)[\($0.offset)]") }
    }

    func string() throws(ShapeError) -> String {
        guard case .string(let string) = value else { throw mismatch("a string") }
        return string
    }

    /// A byte count or other non-negative integer that fits an `Int`.
    func int() throws(ShapeError) -> Int {
        guard case .number(let text) = value, let number = Int(text), number >= 0 else {
            throw mismatch("a non-negative integer")
        }
        return number
    }

    /// An event counter (`uint64_t`).
    func count() throws(ShapeError) -> UInt64 {
        guard case .number(let text) = value, let number = UInt64(text) else {
            throw mismatch("a non-negative integer")
        }
        return number
    }

    private func mismatch(_ expected: String) -> ShapeError {
        let found: String
        if case .number(let text) = value {
            found = "the number \(text.prefix(24))"
        } else {
            found = value.kindDescription
        }
        return ShapeError("\"\(path)\" is \(found), expected \(expected)")
    }
}

/// A JSON object and its path.
struct ObjectNode {
    let object: JSONObject
    let path: String

    var keys: [String] { object.keys }

    subscript(key: String) -> JSONValue? { object[key] }

    func optional(_ key: String) -> Node? {
        object[key].map { Node($0, path: "\(path).\(key)") }
    }

    func required(_ key: String) throws(ShapeError) -> Node {
        guard let node = optional(key) else { throw ShapeError("\"\(path)\" has no \"\(key)\"") }
        return node
    }
}
