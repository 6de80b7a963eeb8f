// What the tools show of a memory profile: its top sites with totals, and a demangled Swift
// function shortened to its name and labels for a table.

import Arena

/// The top sites of an arena's ``MemoryProfile`` with totals over all sites, as `arena-stats
/// run` and `arena-stress` report it (JSON keys as the property names).
package struct ProfileSummary: Sendable, Codable, Equatable {
    /// When it was taken: `live` (arena-stats run's phase), `at stop` (arena-stress).
    package var moment: String
    /// The mean bytes between two sampled regions; `nil` when sampling was off.
    package var sampleInterval: Int?
    /// The seed of the sampling countdown, when the tool chose it.
    package var sampleSeed: UInt64?
    /// The sampled regions alive, over all sites.
    package var sampledRegions: Int
    /// How many sites have live sampled regions (``sites`` lists the first few).
    package var siteCount: Int
    /// The estimated live bytes over all sites.
    package var estimatedLiveBytes: Int
    /// The estimated pinned bytes over all sites.
    package var estimatedPinnedBytes: Int
    /// The top sites in the profile's order: the most pinned bytes first, then the most live bytes.
    package var sites: [MemoryProfile.Site]

    /// The first `top` sites of `profile`, with totals over all of them.
    ///
    /// - Complexity: O(sites).
    package init(_ profile: MemoryProfile, moment: String, sampleSeed: UInt64?, top: Int) {
        self.moment = moment
        self.sampleInterval = profile.sampleInterval
        self.sampleSeed = sampleSeed
        self.sampledRegions = profile.sampledRegions
        self.siteCount = profile.sites.count
        self.estimatedLiveBytes = profile.sites.reduce(0) { Self.sum($0, $1.estimatedLiveBytes) }
        self.estimatedPinnedBytes = profile.sites.reduce(0) { Self.sum($0, $1.estimatedPinnedBytes) }
        self.sites = Array(profile.sites.prefix(max(0, top)))
    }

    /// `a + b`, or `Int.max` when that overflows (estimates of a huge arena, never in practice).
    private static func sum(_ a: Int, _ b: Int) -> Int {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : total
    }

    /// A site's share of the estimated live bytes of all sites; `nil` when none are live.
    package func liveShare(of site: MemoryProfile.Site) -> Double? {
        estimatedLiveBytes > 0 ? Double(site.estimatedLiveBytes) / Double(estimatedLiveBytes) : nil
    }
}

/// A demangled function name shortened for a table: each parameter list becomes its labels and
/// the signature after it (effects, return type) is dropped, so
/// `ArenaStatsKit.Workload.perform(on: Arena.ArenaAllocator, seed: Swift.UInt64) throws(…) -> …`
/// reads `ArenaStatsKit.Workload.perform(on:seed:)`. A closure or local function keeps its
/// name and the function it is in: `request #1 in ArenaStatsKit.Workload.perform(on:seed:)`.
///
/// Names that are not Swift (C functions, `image+0x1f0`) come back as they are, and so does a
/// name whose brackets do not balance.
///
/// - Complexity: O(n) in the name's length.
package func shortFunctionName(_ name: String) -> String {
    let characters = Array(name)
    var parts: [String] = []
    var part: [Character] = []
    var depth = 0
    var index = 0
    // Split at " in " outside brackets: `closure #1 (…) -> () in Module.function(…)`.
    while index < characters.count {
        let character = characters[index]
        if character == "(" || character == "<" || character == "[" { depth += 1 }
        if character == ")" || character == "]" || (character == ">" && index > 0 && characters[index - 1] != "-") {
            depth -= 1
        }
        if depth < 0 { return name }
        if depth == 0 && character == " " && characters[index...].starts(with: " in ") {
            parts.append(String(part))
            part = []
            index += 4
            continue
        }
        part.append(character)
        index += 1
    }
    guard depth == 0 else { return name }
    parts.append(String(part))
    var shortened: [String] = []
    for part in parts {
        guard let short = shortEntity(part) else { return name }
        shortened.append(short)
    }
    return shortened.joined(separator: " in ")
}

/// One entity of a demangled name (no ` in `): the name with its parameter labels, or, for a
/// closure or local function (`request #1 (Swift.Int) -> …`), its name alone; `nil` when the
/// brackets do not balance.
private func shortEntity(_ entity: String) -> String? {
    let characters = Array(entity)
    // The parameter list is the first `(` outside angle brackets: a generic specialization's
    // `<(Swift.Int)>` comes before it.
    var angle = 0
    var open: Int?
    for (index, character) in characters.enumerated() {
        if character == "<" { angle += 1 }
        if character == ">" && index > 0 && characters[index - 1] != "-" { angle -= 1 }
        if character == "(" && angle == 0 {
            open = index
            break
        }
    }
    guard let open else { return entity }
    let head = String(characters[..<open])
    if head.hasSuffix(" ") || head.isEmpty { return head.trimmingSpaces }
    var depth = 0
    var close: Int?
    for index in open..<characters.count {
        let character = characters[index]
        if character == "(" || character == "<" || character == "[" { depth += 1 }
        if character == ")" || character == "]" || (character == ">" && characters[index - 1] != "-") { depth -= 1 }
        if depth == 0 {
            close = index
            break
        }
    }
    guard let close else { return nil }
    // The parameters, split at commas outside brackets; each contributes its label.
    var labels = ""
    var parameter: [Character] = []
    depth = 0
    func flush() {
        let text = String(parameter).trimmingSpaces
        parameter = []
        guard !text.isEmpty else { return }
        let label = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        labels += label.count == 2 && !label[0].contains(" ") && !label[0].contains("(") ? "\(label[0]):" : "_:"
    }
    for index in (open + 1)..<close {
        let character = characters[index]
        if character == "(" || character == "<" || character == "[" { depth += 1 }
        if character == ")" || character == "]" || (character == ">" && characters[index - 1] != "-") { depth -= 1 }
        if character == "," && depth == 0 {
            flush()
        } else {
            parameter.append(character)
        }
    }
    flush()
    return head + "(" + labels + ")"
}
