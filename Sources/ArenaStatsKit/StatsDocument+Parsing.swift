extension StatsDocument {
    /// The line jemalloc's text-format report starts with.
    static let textFormatMarker = "___ Begin jemalloc statistics ___"

    /// Reads a statistics document from the bytes of a file or stream.
    ///
    /// Whatever a process printed to standard error before the JSON (warnings, its own output)
    /// is skipped, and so is anything after it; ``notes`` says how much. A text-format report,
    /// an empty input, JSON cut short, other JSON, and JSON whose figures have the wrong types
    /// are errors naming `source`.
    ///
    /// - Parameters:
    ///   - bytes: the input.
    ///   - source: how to name the input in errors: the path, or `<stdin>`.
    /// - Throws: ``StatsInputError``, with one of its kinds.
    /// - Complexity: O(n) in the input's length.
    package static func parse(_ bytes: [UInt8], source: String) throws(StatsInputError) -> StatsDocument {
        func fail(_ kind: StatsInputError.Kind, _ detail: String) -> StatsInputError {
            StatsInputError(source: source, kind: kind, detail: detail)
        }
        guard let first = bytes.firstIndex(where: { !isJSONWhitespace($0) }) else {
            throw fail(
                .empty,
                "empty input; expected jemalloc's JSON statistics (malloc_stats_print with the J option)"
            )
        }
        var start = first
        var notes: [String] = []
        if bytes[first] != UInt8(ascii: "{") && bytes[first] != UInt8(ascii: "[") {
            if let marker = bytes.firstRange(of: Array(textFormatMarker.utf8)) {
                let line = 1 + bytes[..<marker.lowerBound].count(where: { $0 == UInt8(ascii: "\n") })
                throw fail(
                    .textFormat,
                    "jemalloc's text-format statistics\(line > 1 ? " (from line \(line))" : ""), not JSON: "
                        + "print them with stats_print_opts:J (malloc_stats_print option \"J\")"
                )
            }
            guard let json = bytes.firstRange(of: Array(#"{"jemalloc":"#.utf8)) else {
                let error = JSONParseError(
                    reason: .unexpected("\(describeByte(bytes[first])) where a value was expected"),
                    offset: first,
                    in: bytes
                )
                throw fail(.notJSON, "not JSON: \(error)")
            }
            start = json.lowerBound
            notes.append("skipped \(start) bytes of other output before the JSON statistics")
        }
        let input = start == 0 ? bytes : Array(bytes[start...])
        let parsed: (value: JSONValue, trailingBytes: Int)
        do {
            parsed = try JSONValue.parse(input, allowTrailing: true)
        } catch {
            var error = error
            if start > 0 {
                // Report positions in the whole input, not in the part that was parsed.
                error = JSONParseError(reason: error.reason, offset: error.offset + start, in: bytes)
            }
            if error.isTruncation { throw fail(.truncated, "truncated JSON: \(error)") }
            throw fail(.notJSON, "not valid JSON: \(error)")
        }
        if parsed.trailingBytes > 0 {
            notes.append("ignored \(parsed.trailingBytes) bytes after the JSON statistics")
        }
        do {
            var document = try StatsDocument(json: parsed.value)
            document.notes = notes + document.notes
            return document
        } catch {
            throw fail(.wrongShape, "valid JSON, but not jemalloc statistics: \(error.message)")
        }
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
                arenas.append(try Self.arena(arenaKey, arenaObject))
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

    private static func arena(_ key: ArenaKey, _ node: ObjectNode) throws(ShapeError) -> ArenaFigures {
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
        if let base, let internalBytes { arena.metadata = base + internalBytes }
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
