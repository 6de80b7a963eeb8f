import Arena
import ArenaToolSupport

/// A built-in allocation pattern that `arena-stats run` replays on a fresh ``ArenaAllocator``.
///
/// Every workload is deterministic for a given seed and scale: the same requests in the same
/// order, the same regions kept alive at the end.
package enum Workload: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// Many small regions (16-256 bytes), all kept: carved from chunks by the bump pointer.
    case small
    /// A few large regions (16 KiB-1 MiB), all kept: each a dedicated jemalloc block.
    case large
    /// Mostly small, some medium and a few large requests; about half are dropped at once.
    case mixed
    /// A stream of short-lived regions (32 B-2 KiB) in a window of 512 live ones: chunks die,
    /// go to the chunk cache and come back.
    case churn

    /// One line on what the workload does, for help and reports.
    package var summary: String {
        switch self {
        case .small: "20000 regions of 16-256 B, all kept (carved from chunks)"
        case .large: "48 regions of 16 KiB-1 MiB, all kept (dedicated blocks)"
        case .mixed: "10000 requests: 80% 16 B-1 KiB, 15% 1-16 KiB, 5% 32-512 KiB; half dropped at once"
        case .churn: "50000 regions of 32 B-2 KiB through a window of 512 live ones"
        }
    }

    /// The workload's name.
    package var description: String { rawValue }

    /// What a workload asked for and what it keeps alive.
    package struct Outcome {
        /// The regions alive at the end; dropping them releases the workload's memory.
        package var survivors: [Region]
        /// How many regions were requested.
        package var requests: Int
        /// How many bytes were requested in all.
        package var requestedBytes: Int

        /// The bytes in surviving regions.
        package var survivingBytes: Int { survivors.reduce(0) { $0 + $1.count } }
    }

    /// Replays the workload on `arena`.
    ///
    /// Each kind of request is allocated by a function of its own (``Requests``), so the memory
    /// profile names small, medium and large requests as separate sites.
    ///
    /// - Parameters:
    ///   - arena: where the regions come from.
    ///   - seed: the seed of the request sizes (and of which regions are dropped).
    ///   - scale: multiplies the number of requests; at least 1.
    /// - Throws: `ArenaError` when the arena refuses a request (its limit, or no memory).
    package func perform(on arena: ArenaAllocator, seed: UInt64, scale: Int = 1) throws(ArenaError) -> Outcome {
        precondition(scale >= 1, "Workload.perform(scale: \(scale)): scale must be at least 1")
        var random = SplitMix64(seed: seed)
        var requests = Requests(arena: arena)
        var survivors: [Region] = []
        switch self {
        case .small:
            survivors.reserveCapacity(20_000 * scale)
            for _ in 0..<20_000 * scale {
                survivors.append(try requests.small(Int.random(in: 16...256, using: &random)))
            }
        case .large:
            for _ in 0..<48 * scale {
                survivors.append(try requests.large(Int.random(in: (16 << 10)...(1 << 20), using: &random)))
            }
        case .mixed:
            for _ in 0..<10_000 * scale {
                let pick = Int.random(in: 0..<100, using: &random)
                let region =
                    switch pick {
                    case 0..<80: try requests.small(Int.random(in: 16...1024, using: &random))
                    case 80..<95: try requests.medium(Int.random(in: 1024...(16 << 10), using: &random))
                    default: try requests.large(Int.random(in: (32 << 10)...(512 << 10), using: &random))
                    }
                if Bool.random(using: &random) { survivors.append(region) }
            }
        case .churn:
            let window = 512
            var live: [Region?] = Array(repeating: nil, count: window)
            for step in 0..<50_000 * scale {
                live[step % window] = try requests.shortLived(Int.random(in: 32...2048, using: &random))
            }
            survivors = live.compactMap { $0 }
        }
        return Outcome(survivors: survivors, requests: requests.count, requestedBytes: requests.bytes)
    }

    /// The workloads' allocations, one function per kind of request, so that each kind is an
    /// allocation site of its own in the memory profile. `@inline(never)`, and each counts its
    /// kind apart, so that the optimizer neither folds them into their caller nor into each other.
    struct Requests {
        let arena: ArenaAllocator
        /// Requests of each kind: small, medium, large, short-lived.
        var counts = [0, 0, 0, 0]
        /// Bytes requested in all.
        var bytes = 0

        /// Requests made in all.
        var count: Int { counts.reduce(0, +) }

        /// A small request (up to 1 KiB): carved from a chunk.
        @inline(never)
        mutating func small(_ size: Int) throws(ArenaError) -> Region {
            counts[0] += 1
            bytes += size
            return try arena.allocate(byteCount: size)
        }

        /// A medium request (1-16 KiB): carved from a chunk, or a dedicated block above an
        /// eighth of the chunk size.
        @inline(never)
        mutating func medium(_ size: Int) throws(ArenaError) -> Region {
            counts[1] += 1
            bytes += size
            return try arena.allocate(byteCount: size)
        }

        /// A large request (16 KiB and more): a dedicated block.
        @inline(never)
        mutating func large(_ size: Int) throws(ArenaError) -> Region {
            counts[2] += 1
            bytes += size
            return try arena.allocate(byteCount: size)
        }

        /// A request of the churn workload, whose regions die soon.
        @inline(never)
        mutating func shortLived(_ size: Int) throws(ArenaError) -> Region {
            counts[3] += 1
            bytes += size
            return try arena.allocate(byteCount: size)
        }
    }
}
