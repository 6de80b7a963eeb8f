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

    /// `seed 123 (replay with ARENA_TEST_SEED=123)`, for a failure message.
    package static var replayHint: String {
        "seed \(current) (replay with ARENA_TEST_SEED=\(current))"
    }

    /// Parses a seed: decimal digits, or `0x` and hex digits (underscores allowed in both).
    package static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingSpaces.filter { $0 != "_" }
        if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") { return UInt64(trimmed.dropFirst(2), radix: 16) }
        return UInt64(trimmed)
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
