import ArenaStatsKit
import ArenaTestSupport
import Foundation
import Testing

/// Any JSON value at any numeric field of a real dump: the report is made (overflowing figures
/// saturated and named) or the input is refused with one ``StatsInputError``; never a trap.
///
/// The in-process tests run the whole pipeline of `read` and `diff` (parse, report, all three
/// renderings); a trap would end the test process, so reaching the end is the assertion.
@Suite(.timeLimit(.minutes(5))) struct HostileFigureTests {
    /// Values near and past every 64-bit limit, negatives, fractions, and every other JSON kind.
    static let hostileValues: [String] = [
        "9223372036854775807", "9223372036854775806", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "4611686018427387904", "3037000500", "99999999999999999999999999999", "-1",
        "-9223372036854775808", "-0", "0", "1", "0.5", "1e3", "1E400", "-1.7976931348623157e308", "\"12\"", "\"\"",
        "null", "true", "false", "[]", "[1, 2]", "{}", "{\"size\": 1}",
    ]

    /// The values of the sweep over every key: each 64-bit limit, a negative, a fraction, other kinds.
    static let sweepValues: [String] = [
        "9223372036854775807", "18446744073709551615", "4611686018427387904", "3037000500", "-1", "0.5", "null",
        "\"12\"", "[]", "{}",
    ]

    /// The real dump, parsed once, cut to its first few size classes and without the sections
    /// the report does not read (mutexes, extents, HPA), so that thousands of variants run fast.
    static let dump = Result { () throws -> JSONValue in
        shrunk(try JSONValue.parse(JemallocDumps.full.get(), allowTrailing: true).value)
    }

    @Test func everyNumericKeyAtEveryHostileValue() throws {
        let original = try Self.dump.get()
        let keys = Set(numericPaths(original).compactMap { $0.last.flatMap(\.key) }).sorted()
        #expect(keys.count > 20, "the dump has numeric fields: \(keys)")
        var saturatedSomewhere = false
        for withMerged in [true, false] {
            let base = withMerged ? original : removingMerged(original)
            for key in keys {
                for value in Self.sweepValues {
                    let mutated = replacingEveryField(named: key, in: base, with: value)
                    let outcome = runPipeline(serialize(mutated), against: serialize(base))
                    if case .report(let saturated) = outcome, !saturated.isEmpty { saturatedSomewhere = true }
                }
            }
        }
        #expect(saturatedSomewhere, "some huge figure overflowed and was reported as saturated")
    }

    @Test func randomFieldsAtRandomValues() throws {
        let original = try Self.dump.get()
        let paths = numericPaths(original)
        var random = TestSeed.generator()
        for _ in 0..<300 {
            var mutated = random.oneIn(3) ? removingMerged(original) : original
            for _ in 0...Int.random(in: 0..<4, using: &random) {
                let path = paths.randomElement(using: &random)!
                let value = random.oneIn(4) ? String(random.next()) : Self.hostileValues.randomElement(using: &random)!
                mutated = replacing(at: path[...], in: mutated, with: try JSONValue.parse(Array(value.utf8)).value)
            }
            _ = runPipeline(serialize(mutated), against: serialize(original))
            if random.oneIn(4) {
                // Several documents with other output between them, the last one maybe cut short.
                var input = Array("noise before\n".utf8) + serialize(original) + Array("\n{not json\n".utf8)
                input += serialize(mutated)
                if random.oneIn(2) { input = Array(input.prefix(Int.random(in: 1...input.count, using: &random))) }
                if let documents = try? StatsDocument.parseAll(input, source: "several") {
                    for document in documents {
                        if let report = try? StatsReport(document: document, source: "several") {
                            _ = report.rendered(as: .table)
                        }
                    }
                    _ = DocumentList(source: "several", documents: documents).rendered(as: .table)
                }
            }
        }
    }

    @Test func hugeFiguresAreSaturatedAndNamed() throws {
        var document = replacingEveryField(named: "pactive", in: try Self.dump.get(), with: "9223372036854775807")
        document = removingMerged(replacingEveryField(named: "curslabs", in: document, with: "9223372036854775807"))
        let parsed = try StatsDocument.parse(serialize(document), source: "huge")
        let report = try StatsReport(document: parsed, source: "huge")
        #expect(report.saturated.contains { $0.contains("active (pages × page size)") }, "\(report.saturated)")
        #expect(report.saturated.contains { $0.contains("curslabs (sum)") }, "\(report.saturated)")
        #expect(report.arenas.allSatisfy { $0.active == Int.max })
        #expect(report.renderTable(.init()).contains("Saturated"))
        #expect(report.renderCSV().contains("saturated,"))
    }

    /// A few of the same inputs through the executable: exit 0, or exit 2 with one line.
    @Test(arguments: ["pactive", "curslabs", "size", "curlextents", "allocated", "base"])
    func theToolNeverTraps(key: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let original = removingMerged(try Self.dump.get())
        for value in ["9223372036854775807", "18446744073709551615", "-1", "1.5", "null"] {
            let file = try directory.write(
                "\(key).json",
                serialize(replacingEveryField(named: key, in: original, with: value))
            )
            for arguments in [["read", file], ["read", file, "--csv"], ["diff", file, file, "--json"]] {
                let result = try ArenaStatsTool.run(arguments)
                #expect(!result.signaled, "\(arguments) with \(key)=\(value): \(result.stderrText)")
                if result.status == 0 {
                    #expect(!result.stdout.isEmpty)
                } else {
                    expectOneLineFailure(result, naming: file, problem: nil)
                }
            }
        }
    }
}

// MARK: - The pipeline

enum PipelineOutcome {
    case report(saturated: [String])
    case refused(StatsInputError)
}

/// What `read` (every arena choice, every format) and `diff` do with `bytes`.
@discardableResult
func runPipeline(_ bytes: [UInt8], against other: [UInt8]) -> PipelineOutcome {
    let document: StatsDocument
    do {
        document = try StatsDocument.parse(bytes, source: "mutated")
    } catch {
        #expect(!error.description.contains("\n"))
        return .refused(error)
    }
    var saturated: [String] = []
    for arena: ArenaKey? in [nil, .merged, .index(0), .index(1)] {
        let options = StatsReport.Options(arena: arena, top: 5, includeIdleClasses: arena == .index(0))
        guard let report = try? StatsReport(document: document, source: "mutated", options: options) else { continue }
        saturated += report.saturated
        for format in OutputFormat.allCases { _ = report.rendered(as: format) }
    }
    if let before = try? StatsDocument.parse(other, source: "original") {
        for (a, b) in [(before, document), (document, document)] {
            guard let diff = try? StatsDiff(before: (a, "a"), after: (b, "b")) else { continue }
            for format in OutputFormat.allCases { _ = diff.rendered(as: format) }
        }
    }
    return .report(saturated: saturated)
}

// MARK: - Editing JSON

enum PathStep: Hashable {
    case key(String, Int)  // the key, and the member's position (keys may repeat)
    case index(Int)

    var key: String? {
        if case .key(let key, _) = self { return key }
        return nil
    }
}

/// The paths of every number in `value`.
func numericPaths(_ value: JSONValue, prefix: [PathStep] = []) -> [[PathStep]] {
    switch value {
    case .number: return [prefix]
    case .array(let elements):
        return elements.enumerated().flatMap { numericPaths($0.element, prefix: prefix + [.index($0.offset)]) }
    case .object(let object):
        return object.members.enumerated().flatMap {
            numericPaths($0.element.value, prefix: prefix + [.key($0.element.key, $0.offset)])
        }
    default: return []
    }
}

/// `value` with the value at `path` replaced.
func replacing(at path: ArraySlice<PathStep>, in value: JSONValue, with replacement: JSONValue) -> JSONValue {
    guard let step = path.first else { return replacement }
    switch (step, value) {
    case (.index(let index), .array(var elements)):
        elements[index] = replacing(at: path.dropFirst(), in: elements[index], with: replacement)
        return .array(elements)
    case (.key(_, let position), .object(let object)):
        var rebuilt = JSONObject()
        for (offset, member) in object.members.enumerated() {
            let memberValue =
                offset == position ? replacing(at: path.dropFirst(), in: member.value, with: replacement) : member.value
            rebuilt.append(key: member.key, value: memberValue)
        }
        return .object(rebuilt)
    default: return value
    }
}

/// `value` with every number under a key named `key` replaced by the JSON text `replacement`.
func replacingEveryField(named key: String, in value: JSONValue, with replacement: String) -> JSONValue {
    let new = try! JSONValue.parse(Array(replacement.utf8)).value
    func walk(_ value: JSONValue, under parentKey: String?) -> JSONValue {
        switch value {
        case .number: return parentKey == key ? new : value
        case .array(let elements): return .array(elements.map { walk($0, under: parentKey) })
        case .object(let object):
            var rebuilt = JSONObject()
            for member in object.members {
                rebuilt.append(key: member.key, value: walk(member.value, under: member.key))
            }
            return .object(rebuilt)
        default: return value
        }
    }
    return walk(value, under: nil)
}

/// `value` with long arrays cut to 6 elements and without mutex, extent and HPA statistics.
func shrunk(_ value: JSONValue) -> JSONValue {
    switch value {
    case .array(let elements): return .array(elements.prefix(6).map(shrunk))
    case .object(let object):
        var rebuilt = JSONObject()
        for member in object.members where !["mutexes", "extents", "hpa_shard", "config", "opt"].contains(member.key) {
            rebuilt.append(key: member.key, value: shrunk(member.value))
        }
        return .object(rebuilt)
    default: return value
    }
}

/// `value` without `stats.arenas.merged`, so the report sums the arenas itself.
func removingMerged(_ value: JSONValue) -> JSONValue {
    func walk(_ value: JSONValue) -> JSONValue {
        guard case .object(let object) = value else { return value }
        var rebuilt = JSONObject()
        for member in object.members where member.key != "merged" {
            rebuilt.append(key: member.key, value: walk(member.value))
        }
        return .object(rebuilt)
    }
    return walk(value)
}

/// JSON text for `value`.
func serialize(_ value: JSONValue) -> [UInt8] {
    var out: [UInt8] = []
    func string(_ text: String) {
        out.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += Array("\\\"".utf8)
            case "\\": out += Array("\\\\".utf8)
            case "\u{0}"..."\u{1F}": out += Array(String(format: "\\u%04x", scalar.value).utf8)
            default: out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
    func write(_ value: JSONValue) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let flag): out += Array((flag ? "true" : "false").utf8)
        case .number(let text): out += Array(text.utf8)
        case .string(let text): string(text)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                write(element)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (offset, member) in object.members.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                string(member.key)
                out.append(UInt8(ascii: ":"))
                write(member.value)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
    write(value)
    return out
}
