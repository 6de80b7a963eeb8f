/// A small, fast, seedable random number generator (SplitMix64): the same seed gives the same
/// numbers, so workloads and randomized tests replay exactly. The one generator of the package:
/// the sampler's countdown, fault injection, the tools' workloads and the tests draw from it.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator for `seed`.
    package init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// `true` with probability 1 / `odds`.
    package mutating func oneIn(_ odds: Int) -> Bool {
        Int.random(in: 0..<odds, using: &self) == 0
    }

    /// The SplitMix64 finalizer: a bijective mix of 64 bits.
    @inline(__always)
    package static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
