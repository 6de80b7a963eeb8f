// Seeded, replayable randomized tests: one seed per test run, from `ARENA_TEST_SEED` or at random,
// and the generator every test target uses.

import Arena
import ArenaToolSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The seed of randomized tests.
///
/// `ARENA_TEST_SEED` (decimal or `0x` hex) replays a failure; without it each test run draws
/// one seed at random. Every randomized test names it in its failures (``replayHint``):
///
/// ```
/// ARENA_TEST_SEED=0x2545f4914f6cdd1d swift test --filter DifferentialTests
/// ```
package enum TestSeed {
    /// This run's seed: `ARENA_TEST_SEED` when set and valid, else random.
    package static let current: UInt64 = {
        if let text = environment("ARENA_TEST_SEED") {
            if let seed = parse(text) { return seed }
            writeAll(STDERR_FILENO, "ARENA_TEST_SEED=\(text) is not a decimal or 0x-hex number: using a random seed\n")
        }
        return UInt64.random(in: 0...UInt64.max)
    }()

    /// A generator seeded with ``current``.
    package static func generator() -> SplitMix64 {
        SplitMix64(seed: current)
    }

    /// `seed 123 (replay with ARENA_TEST_SEED=123)`, for a failure message (with the scale, when
    /// it is not 1: a run replays only at the same scale).
    package static var replayHint: String {
        let scale = TestScale.factor == 1 ? "" : " ARENA_TEST_SCALE=\(TestScale.factor)"
        return "seed \(current) (replay with ARENA_TEST_SEED=\(current)\(scale))"
    }

    /// Parses a seed: decimal digits, or `0x` and hex digits (underscores allowed in both).
    package static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingSpaces.filter { $0 != "_" }
        if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") { return UInt64(trimmed.dropFirst(2), radix: 16) }
        return UInt64(trimmed)
    }

    fileprivate static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// How much of their full size the long randomized tests run: `ARENA_TEST_SCALE` (a number
/// from 0.01 to 1), 1 by default. The sanitizer steps of `Scripts/test` run at a quarter: the
/// sanitizers make each operation ten times dearer, and what they find lies in the kinds of
/// operations and their interleavings, which a quarter of the steps still covers.
package enum TestScale {
    /// The factor, 0.01 to 1.
    package static let factor: Double = {
        guard let text = TestSeed.environment("ARENA_TEST_SCALE") else { return 1 }
        guard let value = Double(text), value >= 0.01, value <= 1 else {
            writeAll(STDERR_FILENO, "ARENA_TEST_SCALE=\(text) is not a number from 0.01 to 1: using 1\n")
            return 1
        }
        return value
    }()

    /// `count` at this scale, at least `minimum`.
    package static func count(_ count: Int, minimum: Int = 1) -> Int {
        max(minimum, Int((Double(count) * factor).rounded()))
    }
}
