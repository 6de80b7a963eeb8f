// Chains: many views read as one. Build, read across segment boundaries, coalesce (zero-copy
// joins of adjacent segments), flatten (zero-copy when all adjacent, one copy otherwise).

import ArenaBytes

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Worker {
    /// The largest chain the worker flattens (a copy when its segments are not adjacent).
    static let flattenLimit = 1 << 20

    /// Builds a chain, either of the pieces of one view (they coalesce back to that view) or of
    /// views chosen at random, and checks it: segment addresses, reads across segments,
    /// `coalesced()` against the merge rule, `tryFlattened(in:)` zero-copy or a faithful copy.
    func chain() throws(Violation) {
        var sources: [Tracked] = []
        if random.oneIn(2) {
            // Cut one view into adjacent pieces.
            let whole = pool[randomIndex()]
            var cuts = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                Int.random(in: 0...whole.bytes.count, using: &random)
            }
            cuts.sort()
            var lower = 0
            for cut in cuts + [whole.bytes.count] {
                sources.append(whole.slice(lower..<cut))
                lower = cut
            }
        } else {
            for _ in 0..<Int.random(in: 2...4, using: &random) { sources.append(pool[randomIndex()]) }
        }
        let chain = Chain(sources.map(\.bytes))
        let nonEmpty = sources.filter { !$0.bytes.isEmpty }
        var provenance = Provenance()
        for source in nonEmpty { provenance.append(contentsOf: source.provenance) }
        let total = provenance.count
        try check(
            chain.count == total && chain.segments.count == nonEmpty.count,
            .chain,
            "a chain of \(sources.count) views (\(nonEmpty.count) not empty, \(total) bytes) has \(chain.count) "
                + "bytes in \(chain.segments.count) segments"
        )
        for (segment, source) in zip(chain.segments, nonEmpty) {
            let address = UInt(bitPattern: segment.region.baseAddress)
            try check(
                address == source.address && segment.count == source.bytes.count,
                .chain,
                "a chain segment is \(segment.count) bytes at \(hex(address)), its view \(source.bytes.count) "
                    + "bytes at \(hex(source.address)): the chain copied"
            )
        }
        try checkIOVectors(chain, nonEmpty)
        try readAcross(chain, nonEmpty, provenance)
        let coalesced = try checkCoalesced(chain, nonEmpty)
        guard total <= Self.flattenLimit else { return }
        let flattened: Bytes
        do {
            flattened = try chain.tryFlattened(in: arena)
        } catch {
            return try allocationFailed(error, .chain, requested: total)
        }
        let flattenedAddress = UInt(bitPattern: flattened.region.baseAddress)
        var owners = Owners()
        if coalesced.count <= 1 {
            let expected = coalesced.first.map { UInt(bitPattern: $0.region.baseAddress) }
            try check(
                flattened.count == total && (total == 0 || flattenedAddress == expected),
                .chain,
                "tryFlattened() of a chain whose segments are adjacent gave \(flattened.count) bytes at "
                    + "\(hex(flattenedAddress)), expected \(total) at \(hex(expected ?? 0)) without a copy"
            )
            // The view keeps the segments' memory alive.
            for source in nonEmpty { owners.formUnion(source.owners) }
            outcomes.flattenedZeroCopy += 1
        } else {
            try check(
                flattened.count == total,
                .chain,
                "tryFlattened() of a \(total)-byte chain gave \(flattened.count) bytes"
            )
            // A copy: its own memory, showing the segments' patterns.
            owners = Owners(Lease(accountedBytes: total, counter: counters.live))
            outcomes.flattenedCopied += 1
            outcomes.bytesWritten += total
        }
        let tracked = Tracked(flattened, provenance, owners: owners)
        try verify(tracked, .chain, what: "flattened chain")
        if !flattened.isEmpty { add(tracked) }
    }

    /// Checks `withIOVectors`: one vector per segment, same address and length.
    private func checkIOVectors(_ chain: Chain, _ sources: [Tracked]) throws(Violation) {
        let vectors = chain.withIOVectors { vectors in
            vectors.map { (UInt(bitPattern: $0.iov_base), Int($0.iov_len)) }
        }
        let expected = sources.map { ($0.address, $0.bytes.count) }
        try check(
            vectors.elementsEqual(expected, by: ==),
            .chain,
            "withIOVectors gave \(vectors.map { "\(hex($0.0)):\($0.1)" }) for segments "
                + "\(expected.map { "\(hex($0.0)):\($0.1)" })"
        )
    }

    /// Reads an integer and then some bytes from the front of a copy of the chain (both may
    /// span segments) and an integer at a random offset, and checks them against the pattern
    /// and the segment addresses.
    private func readAcross(_ chain: Chain, _ sources: [Tracked], _ provenance: Provenance) throws(Violation) {
        var reader = chain
        let total = chain.count
        let byteOrder: ByteOrder = random.oneIn(2) ? .big : .little
        let value = reader.readInteger(byteOrder: byteOrder, as: UInt32.self)
        var consumed = 0
        if total >= 4 {
            let expected = expectedInteger(UInt32.self, provenance, 0, byteOrder)
            try check(
                value == expected && reader.count == total - 4,
                .chain,
                "readInteger(\(byteOrder), as: UInt32) on a \(total)-byte chain of \(chain.segments.count) segments "
                    + "gave \(value.map { hex(UInt($0)) } ?? "nil"), the pattern says \(hex(UInt(expected)))"
            )
            outcomes.bytesVerified += 4
            consumed = 4
        } else {
            try check(
                value == nil && reader.count == total,
                .chain,
                "readInteger(as: UInt32) on a \(total)-byte chain gave \(value.map { "\($0)" } ?? "nil") "
                    + "and left \(reader.count) bytes"
            )
        }
        let offset = Int.random(in: -1...(total + 1), using: &random)
        let got = chain.getInteger(at: offset, byteOrder: byteOrder, as: UInt16.self)
        let expectedAt =
            offset >= 0 && offset + 2 <= total ? expectedInteger(UInt16.self, provenance, offset, byteOrder) : nil
        try check(
            got == expectedAt,
            .chain,
            "getInteger(at: \(offset), \(byteOrder), as: UInt16) on a \(total)-byte chain gave "
                + "\(got.map { hex(UInt($0)) } ?? "nil"), the pattern says \(expectedAt.map { hex(UInt($0)) } ?? "nil")"
        )
        let wanted = Int.random(in: 0...min(reader.count + 1, Self.fullCheckLimit), using: &random)
        guard let taken = reader.readBytes(wanted) else {
            try check(
                wanted > total - consumed && reader.count == total - consumed,
                .chain,
                "readBytes(\(wanted)) on a chain of \(total - consumed) bytes gave nil and left \(reader.count)"
            )
            return
        }
        try check(
            taken.count == wanted && reader.count == total - consumed - wanted,
            .chain,
            "readBytes(\(wanted)) on a chain of \(total - consumed) bytes gave \(taken.count) and left \(reader.count)"
        )
        var position = consumed
        for segment in taken.segments {
            let address = UInt(bitPattern: segment.region.baseAddress)
            let expectedAddress = Self.address(at: position, in: sources)
            try check(
                address == expectedAddress,
                .chain,
                "readBytes(\(wanted)) gave a segment at \(hex(address)) for chain position \(position), which is "
                    + "at \(hex(expectedAddress)): the chain copied"
            )
            try verify(
                Tracked(segment, provenance.slice(position..<position + segment.count), owners: Owners()),
                .chain,
                what: "segment read from a chain"
            )
            position += segment.count
        }
    }

    /// The address of chain position `position` (within the chain) in the views it was made of.
    private static func address(at position: Int, in sources: [Tracked]) -> UInt {
        var start = 0
        for source in sources {
            if position < start + source.bytes.count { return source.address + UInt(position - start) }
            start += source.bytes.count
        }
        return 0
    }

    /// Checks `coalesced()`: runs of segments adjacent in one storage become one view, without
    /// copying, and nothing else is joined. Returns its segments.
    private func checkCoalesced(_ chain: Chain, _ sources: [Tracked]) throws(Violation) -> [Bytes] {
        let coalesced = chain.coalesced()
        var expected: [(address: UInt, count: Int, region: Region)] = []
        for source in sources {
            if let last = expected.last, last.region.sharesStorage(with: source.bytes.region),
                last.address + UInt(last.count) == source.address
            {
                expected[expected.count - 1].count += source.bytes.count
            } else {
                expected.append((source.address, source.bytes.count, source.bytes.region))
            }
        }
        let found = coalesced.segments.map { (UInt(bitPattern: $0.region.baseAddress), $0.count) }
        try check(
            coalesced.count == chain.count && found.elementsEqual(expected.map { ($0.address, $0.count) }, by: ==),
            .chain,
            "coalesced() gave segments \(found.map { "\(hex($0.0)):\($0.1)" }), expected "
                + "\(expected.map { "\(hex($0.address)):\($0.count)" })"
        )
        if coalesced.segments.count < chain.segments.count { outcomes.chainsCoalesced += 1 }
        return coalesced.segments
    }
}
