// What the workers do: the kinds of operation, their weights, the size distributions, and the
// seeded random numbers that make a single-thread run replayable.

import Arena
import ArenaToolSupport

/// The kinds of operation a worker performs; each is counted in the summary.
package enum OperationKind: Int, CaseIterable, Sendable {
    /// `BytesMut.make`, write the pattern (bytes, integers, spare capacity), freeze.
    case allocate
    /// Allocate small, write, `tryReserveCapacity` to the full size, check nothing moved or was
    /// lost, write the rest, freeze.
    case grow
    /// Split a writer with `split(to:)`/`split(from:)`, sometimes `unsplit` it back, freeze.
    case splitWriter
    /// Copy a view (same address).
    case clone
    /// Slice a view (address = base + lower bound).
    case slice
    /// `Bytes.split(to:)`/`split(from:)` a view into two.
    case split
    /// `readInteger`, `getInteger`, `readBytes` on a view, compared with the pattern.
    case read
    /// `merged(with:)` of two views: zero-copy exactly when adjacent in one storage.
    case merge
    /// Send a view to another worker through its queue.
    case handOff
    /// Take the views other workers sent (every 32nd operation, not weighted).
    case receive
    /// Build a `Chain`, read across segments, `coalesced()`, `tryFlattened(in:)`.
    case chain
    /// `BytesMut(reclaiming:)` a view, write on after it, freeze again.
    case reclaim
    /// The read-buffer pattern: fill spare capacity, split frames off, reserve again (rewinds
    /// when the frames are gone).
    case readBuffer
    /// Drop a view, chosen at random, after checking its bytes.
    case drop

    /// The name used in options, the summary table and the JSON.
    package var name: String {
        switch self {
        case .allocate: "allocate"
        case .grow: "grow"
        case .splitWriter: "split-writer"
        case .clone: "clone"
        case .slice: "slice"
        case .split: "split"
        case .read: "read"
        case .merge: "merge"
        case .handOff: "hand-off"
        case .receive: "receive"
        case .chain: "chain"
        case .reclaim: "reclaim"
        case .readBuffer: "read-buffer"
        case .drop: "drop"
        }
    }

    /// The weight of each kind unless `--weights` says otherwise.
    var defaultWeight: Int {
        switch self {
        case .allocate: 16
        case .grow: 5
        case .splitWriter: 7
        case .clone: 7
        case .slice: 7
        case .split: 7
        case .read: 9
        case .merge: 8
        case .handOff: 5
        case .receive: 0
        case .chain: 6
        case .reclaim: 5
        case .readBuffer: 6
        case .drop: 30
        }
    }
}

/// How often each kind of operation is chosen.
package struct Weights: Sendable, Equatable {
    /// The weight of each kind, indexed by `OperationKind.rawValue`.
    private(set) var values: [Int]

    /// The default weights.
    package init() {
        values = OperationKind.allCases.map(\.defaultWeight)
    }

    /// The default weights with some replaced: `allocate=20,drop=10`.
    package init(parsing text: String) throws(UsageError) {
        self.init()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw UsageError("weight '\(item)' is not NAME=NUMBER (for example allocate=20,drop=10)")
            }
            let name = parts[0].trimmingSpaces
            guard let kind = OperationKind.allCases.first(where: { $0.name == name }), kind != .receive else {
                let names = OperationKind.allCases.filter { $0 != .receive }.map(\.name).joined(separator: ", ")
                throw UsageError("unknown operation '\(name)' in --weights (known: \(names))")
            }
            guard let weight = Int(parts[1].trimmingSpaces), weight >= 0 else {
                throw UsageError("weight '\(parts[1])' for \(name) is not a non-negative integer")
            }
            values[kind.rawValue] = weight
        }
        guard values.contains(where: { $0 > 0 }) else { throw UsageError("every weight in --weights is 0") }
    }

    /// The sum of all weights.
    var total: Int { values.reduce(0, +) }

    /// The kind whose cumulative weight range holds `draw` (in `0..<total`).
    func kind(for draw: Int) -> OperationKind {
        var remaining = draw
        for kind in OperationKind.allCases {
            remaining -= values[kind.rawValue]
            if remaining < 0 { return kind }
        }
        return .drop
    }

    /// `name=weight` for each kind, for the summary.
    package var description: String {
        OperationKind.allCases.filter { $0 != .receive }.map { "\($0.name)=\(values[$0.rawValue])" }
            .joined(separator: ",")
    }
}

/// The sizes of new allocations.
package enum SizeDistribution: Sendable, Equatable {
    /// 1 B to 1 KiB, log-uniform: carved from chunks.
    case small
    /// 16 KiB to 1 MiB, log-uniform: dedicated blocks.
    case large
    /// 85% small, 12% 1-32 KiB, 3% 32 KiB-1 MiB.
    case mixed
    /// One of the given sizes or ranges, equally likely; a range is uniform.
    case list([ClosedRange<Int>])

    /// Parses `small`, `large`, `mixed` or a list like `64,4K,100-200,1M`.
    package init(parsing text: String) throws(UsageError) {
        switch text {
        case "small": self = .small
        case "large": self = .large
        case "mixed": self = .mixed
        default:
            guard text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" }) == true else {
                throw UsageError(
                    "unknown size distribution '\(text)': use small, large, mixed or a list like 64,4K,100-200"
                )
            }
            var ranges: [ClosedRange<Int>] = []
            for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                ranges.append(try Self.parseRange(String(item)))
            }
            self = .list(ranges)
        }
    }

    private static func parseRange(_ item: String) throws(UsageError) -> ClosedRange<Int> {
        // A leading '-' is a negative number, not a range separator.
        let body = item.dropFirst()
        if let dash = body.firstIndex(of: "-") {
            let lower = try parseByteCount(String(item[..<dash]), what: "size")
            let upper = try parseByteCount(String(item[item.index(after: dash)...]), what: "size")
            guard lower <= upper else { throw UsageError("size range '\(item)' is empty (\(lower) > \(upper))") }
            return lower...upper
        }
        let size = try parseByteCount(item, what: "size")
        return size...size
    }

    /// Draws a size.
    func next(using random: inout SplitMix64) -> Int {
        switch self {
        case .small:
            return Self.logUniform(1...(1 << 10), using: &random)
        case .large:
            return Self.logUniform((16 << 10)...(1 << 20), using: &random)
        case .mixed:
            let draw = Int.random(in: 0..<100, using: &random)
            if draw < 85 { return Self.logUniform(1...(1 << 10), using: &random) }
            if draw < 97 { return Self.logUniform((1 << 10)...(32 << 10), using: &random) }
            return Self.logUniform((32 << 10)...(1 << 20), using: &random)
        case .list(let ranges):
            return Int.random(in: ranges[Int.random(in: 0..<ranges.count, using: &random)], using: &random)
        }
    }

    /// A size whose binary logarithm is uniform in the range's, so each power of two is as
    /// likely as the next.
    private static func logUniform(_ range: ClosedRange<Int>, using random: inout SplitMix64) -> Int {
        let lowBit = Int.bitWidth - range.lowerBound.leadingZeroBitCount - 1
        let highBit = Int.bitWidth - range.upperBound.leadingZeroBitCount - 1
        let bit = Int.random(in: lowBit...highBit, using: &random)
        let lower = max(range.lowerBound, 1 << bit)
        let upper = min(range.upperBound, (2 << bit) - 1)
        return Int.random(in: lower...upper, using: &random)
    }
}
