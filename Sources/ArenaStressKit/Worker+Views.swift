// Operations on frozen views (`Bytes`): clone, slice, split, read, merge, hand off to another
// thread, receive, drop. None of them may copy a byte: each checks addresses.

import ArenaBytes

extension Worker {
    /// Copies a view: the copy has the same address and count and shares the storage.
    func clone() throws(Violation) {
        let original = pool[randomIndex()]
        let copy = original
        try check(
            copy.address == original.address && copy.bytes.count == original.bytes.count
                && copy.bytes.region.sharesStorage(with: original.bytes.region),
            .clone,
            "a copy of the view at \(hex(original.address)) (\(original.bytes.count) bytes) is at "
                + "\(hex(copy.address)) (\(copy.bytes.count) bytes)"
        )
        try verifySample(copy, .clone, what: "copy")
        add(copy)
    }

    /// Slices a view with `slice(_:)` or `Bytes(base[range])`: address = base + lower bound.
    func slice() throws(Violation) {
        let original = pool[randomIndex()]
        let count = original.bytes.count
        let lower = Int.random(in: 0...count, using: &random)
        let upper = Int.random(in: lower...count, using: &random)
        let viaSlice = random.oneIn(2)
        let bytes = viaSlice ? original.bytes.slice(lower..<upper) : Bytes(original.bytes[lower..<upper])
        let sliced = Tracked(bytes, original.provenance.slice(lower..<upper), owners: original.owners)
        let name = viaSlice ? "slice(\(lower)..<\(upper))" : "Bytes(view[\(lower)..<\(upper)])"
        try check(
            (upper == lower || sliced.address == original.address + UInt(lower)) && sliced.bytes.count == upper - lower,
            .slice,
            "\(name) of the view at \(hex(original.address)) (\(count) bytes) is at \(hex(sliced.address)) "
                + "with \(sliced.bytes.count) bytes, expected \(hex(original.address + UInt(lower))) "
                + "with \(upper - lower)"
        )
        try verifySample(sliced, .slice, what: name)
        add(sliced)
    }

    /// Splits a view in two with `split(to:)` or `split(from:)`: the halves have the expected
    /// addresses and counts, and both stay in the pool.
    func split() throws(Violation) {
        let tracked = remove(at: randomIndex())
        let base = tracked.address
        let count = tracked.bytes.count
        let cut = Int.random(in: 0...count, using: &random)
        let splitTo = random.oneIn(2)
        var rest = tracked.bytes
        let other = splitTo ? rest.split(to: cut) : rest.split(from: cut)
        let (front, back) = splitTo ? (other, rest) : (rest, other)
        let frontAddress = UInt(bitPattern: front.region.baseAddress)
        let backAddress = UInt(bitPattern: back.region.baseAddress)
        let name = splitTo ? "split(to: \(cut))" : "split(from: \(cut))"
        try check(
            (cut == 0 || frontAddress == base) && front.count == cut
                && (cut == count || backAddress == base + UInt(cut)) && back.count == count - cut,
            .split,
            "\(name) of the view at \(hex(base)) (\(count) bytes) gave a front at \(hex(frontAddress)) "
                + "(\(front.count) bytes) and a back at \(hex(backAddress)) (\(back.count) bytes)"
        )
        let provenance = tracked.provenance
        let frontTracked = Tracked(front, provenance.slice(0..<cut), owners: tracked.owners)
        let backTracked = Tracked(back, provenance.slice(cut..<count), owners: tracked.owners)
        try verifySample(frontTracked, .split, what: "front of \(name)")
        try verifySample(backTracked, .split, what: "back of \(name)")
        add(frontTracked)
        add(backTracked)
    }

    /// Reads integers and bytes from the front of a copy of a view and at random offsets, and
    /// compares them with the pattern; short reads must give `nil` and consume nothing.
    func read() throws(Violation) {
        let original = pool[randomIndex()]
        var view = original.bytes
        var provenance = original.provenance
        let byteOrder: ByteOrder = random.oneIn(2) ? .big : .little
        switch Int.random(in: 0..<4, using: &random) {
        case 0: try readInteger(UInt8.self, from: &view, &provenance, byteOrder)
        case 1: try readInteger(UInt16.self, from: &view, &provenance, byteOrder)
        case 2: try readInteger(UInt32.self, from: &view, &provenance, byteOrder)
        default: try readInteger(UInt64.self, from: &view, &provenance, byteOrder)
        }
        // getInteger at any offset, in range or not.
        let offset = Int.random(in: -2...(view.count + 2), using: &random)
        let got = view.getInteger(at: offset, byteOrder: byteOrder, as: UInt32.self)
        let expected =
            offset >= 0 && offset + 4 <= view.count ? expectedInteger(UInt32.self, provenance, offset, byteOrder) : nil
        try check(
            got == expected,
            .read,
            "getInteger(at: \(offset), \(byteOrder), as: UInt32) on the \(view.count)-byte view at "
                + "\(hex(UInt(bitPattern: view.region.baseAddress))) gave \(got.map { hex(UInt($0)) } ?? "nil"), "
                + "the pattern says \(expected.map { hex(UInt($0)) } ?? "nil")"
        )
        // readBytes: zero-copy from the front, or nil and nothing consumed.
        let before = (address: UInt(bitPattern: view.region.baseAddress), count: view.count)
        let wanted = Int.random(in: 0...min(view.count + 1, Self.fullCheckLimit), using: &random)
        let taken = view.readBytes(wanted)
        if let taken {
            let takenAddress = UInt(bitPattern: taken.region.baseAddress)
            try check(
                wanted <= before.count && (wanted == 0 || takenAddress == before.address) && taken.count == wanted
                    && view.count == before.count - wanted,
                .read,
                "readBytes(\(wanted)) on the \(before.count)-byte view at \(hex(before.address)) gave "
                    + "\(taken.count) bytes at \(hex(takenAddress)) and left \(view.count)"
            )
            try verify(
                Tracked(taken, provenance.slice(0..<wanted), owners: Owners()),
                .read,
                what: "readBytes(\(wanted))"
            )
        } else {
            try check(
                wanted > before.count && view.count == before.count
                    && UInt(bitPattern: view.region.baseAddress) == before.address,
                .read,
                "readBytes(\(wanted)) on the \(before.count)-byte view at \(hex(before.address)) gave nil "
                    + "and left \(view.count) bytes"
            )
        }
    }

    /// Reads one integer of type `T` from the front of `view` and checks it, or checks that a
    /// short view gives `nil` and keeps its bytes.
    private func readInteger<T: FixedWidthInteger & UnsignedInteger>(
        _ type: T.Type,
        from view: inout Bytes,
        _ provenance: inout Provenance,
        _ byteOrder: ByteOrder
    ) throws(Violation) {
        let size = MemoryLayout<T>.size
        let count = view.count
        let value = view.readInteger(byteOrder: byteOrder, as: T.self)
        if count < size {
            try check(
                value == nil && view.count == count,
                .read,
                "readInteger(as: \(T.self)) on a \(count)-byte view gave \(value.map { "\($0)" } ?? "nil") "
                    + "and left \(view.count) bytes"
            )
            return
        }
        let expected = expectedInteger(T.self, provenance, 0, byteOrder)
        try check(
            value == expected && view.count == count - size,
            .read,
            "readInteger(\(byteOrder), as: \(T.self)) on the \(count)-byte view gave "
                + "\(value.map { hex(UInt($0)) } ?? "nil"), the pattern says \(hex(UInt(expected))); "
                + "\(view.count) bytes left"
        )
        outcomes.bytesVerified += size
        provenance = provenance.slice(size..<count)
    }

    /// The integer of type `T` the pattern holds at view position `position` in `byteOrder`.
    func expectedInteger<T: FixedWidthInteger & UnsignedInteger>(
        _ type: T.Type,
        _ provenance: Provenance,
        _ position: Int,
        _ byteOrder: ByteOrder
    ) -> T {
        let size = MemoryLayout<T>.size
        var value: T = 0
        for index in 0..<size {
            let byte = T(provenance.expectedByte(at: position + index))
            value |= byteOrder == .big ? byte << (8 * (size - 1 - index)) : byte << (8 * index)
        }
        return value
    }

    /// `merged(with:)` of two views: joined, zero-copy, exactly when the second starts where the
    /// first ends in the same storage (or one is empty); the joined view replaces the two.
    func merge() throws(Violation) {
        let first = randomIndex()
        let a = pool[first]
        let end = a.address + UInt(a.bytes.count)
        // Look for the view that starts where `a` ends; else take any other.
        var second = pool.indices.first { $0 != first && pool[$0].address == end && !pool[$0].bytes.isEmpty }
        if second == nil {
            second = (first + Int.random(in: 1..<pool.count, using: &random)) % pool.count
        }
        let b = pool[second!]
        let adjacent = a.bytes.region.sharesStorage(with: b.bytes.region) && end == b.address
        let expected = a.bytes.isEmpty || b.bytes.isEmpty || adjacent
        let merged = a.bytes.merged(with: b.bytes)
        let describe =
            "merged(with:) of the \(a.bytes.count)-byte view at \(hex(a.address)) (\(a.bytes.region.storageKind)) "
            + "and the \(b.bytes.count)-byte view at \(hex(b.address)) (\(b.bytes.region.storageKind), "
            + (a.bytes.region.sharesStorage(with: b.bytes.region) ? "same storage" : "other storage") + ")"
        guard let merged else {
            try check(!expected, .merge, "\(describe) gave nil, expected a joined view")
            outcomes.mergesRefused += 1
            return
        }
        try check(expected, .merge, "\(describe) joined views that must not be joined")
        let expectedAddress = a.bytes.isEmpty ? b.address : a.address
        let mergedAddress = UInt(bitPattern: merged.region.baseAddress)
        try check(
            (merged.isEmpty || mergedAddress == expectedAddress) && merged.count == a.bytes.count + b.bytes.count,
            .merge,
            "\(describe) gave \(merged.count) bytes at \(hex(mergedAddress)): not zero-copy"
        )
        var provenance = a.provenance
        provenance.append(contentsOf: b.provenance)
        let joined = Tracked(merged, provenance, owners: a.owners.union(b.owners))
        try verifySample(joined, .merge, what: "merged view")
        if a.bytes.count > 0 && b.bytes.count > 0 {
            // Check the seam, where a wrong join would show.
            let seam = a.bytes.count
            let range = max(0, seam - 8)..<min(merged.count, seam + 8)
            try verify(joined.slice(range), .merge, what: "seam of the merged view")
        }
        outcomes.mergesJoined += 1
        // Replace both views by the joined one (the later position first, so the other stays put).
        let (high, low) = first > second! ? (first, second!) : (second!, first)
        _ = remove(at: high)
        _ = remove(at: low)
        add(joined)
    }

    /// Hands a view to another worker (to itself in a single-thread run) through its queue.
    func handOff() throws(Violation) {
        let threads = configuration.threads
        let target = threads == 1 ? index : (index + Int.random(in: 1..<threads, using: &random)) % threads
        let tracked = remove(at: randomIndex())
        if shared.queues[target].push(tracked) {
            outcomes.handOffs += 1
        } else {
            outcomes.handOffsRefused += 1
            add(tracked)
        }
    }

    /// Takes the views handed to this worker and checks every byte of each: they crossed
    /// threads and must be exactly what the sender wrote.
    func receive() throws(Violation) {
        for tracked in shared.queues[index].drain() {
            try verify(tracked, .receive, what: "view received from another thread")
            outcomes.viewsReceived += 1
            add(tracked)
        }
    }

    /// Drops a view chosen at random, after checking every byte of it.
    func drop() throws(Violation) {
        let tracked = remove(at: randomIndex())
        try verify(tracked, .drop, what: "dropped view")
    }
}
