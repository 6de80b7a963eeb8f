// Operations on writers (`BytesMut`): allocate and write, grow, split and unsplit, freeze,
// reclaim a view into a writer, and the read-buffer pattern.

import ArenaBytes

extension Worker {
    // MARK: - Writing the pattern

    /// Appends `count` bytes of the pattern of `key`, from logical offset `offset` on, mixing the
    /// writer's ways of writing: `writeInteger` in either byte order, single bytes, a sequence,
    /// and `withUnsafeMutableUninitializedCapacity`.
    ///
    /// - Precondition: the writer has `count` bytes of spare capacity, so nothing grows (growth
    ///   through these calls traps when the arena is at its limit).
    func writePattern(into writer: inout BytesMut, key: UInt64, from offset: Int, count: Int) {
        precondition(writer.capacity - writer.count >= count)
        var written = 0
        if count >= 8 && random.oneIn(2) {
            let width = [2, 4, 8][Int.random(in: 0..<3, using: &random)]
            let byteOrder: ByteOrder = random.oneIn(2) ? .big : .little
            var value: UInt64 = 0
            for position in 0..<width {
                let byte = UInt64(Pattern.byte(key: key, offset: offset + position))
                value |= byteOrder == .big ? byte << (8 * (width - 1 - position)) : byte << (8 * position)
            }
            switch width {
            case 2: writer.writeInteger(UInt16(truncatingIfNeeded: value), byteOrder: byteOrder)
            case 4: writer.writeInteger(UInt32(truncatingIfNeeded: value), byteOrder: byteOrder)
            default: writer.writeInteger(value, byteOrder: byteOrder)
            }
            written = width
        }
        let singles = min(count - written, Int.random(in: 0...2, using: &random))
        for _ in 0..<singles {
            writer.append(Pattern.byte(key: key, offset: offset + written))
            written += 1
        }
        let remaining = count - written
        if remaining > 0 && remaining <= 64 && random.oneIn(2) {
            let start = offset + written
            writer.append(contentsOf: (start..<start + remaining).lazy.map { Pattern.byte(key: key, offset: $0) })
        } else if remaining > 0 {
            let start = offset + written
            writer.withUnsafeMutableUninitializedCapacity { spare in
                Pattern.fill(UnsafeMutableRawBufferPointer(rebasing: spare[0..<remaining]), key: key, offset: start)
                return remaining
            }
        }
        outcomes.bytesWritten += count
    }

    /// Flips one byte of a frozen view behind its back, once per run, when the tests ask for a
    /// corruption (`--inject-corruption`): a later read, drop or the end check must find it.
    func corruptIfAsked(_ view: Bytes) {
        guard corruptionPending && !view.isEmpty else { return }
        corruptionPending = false
        // SAFETY: none; this is the deliberate corruption the option asks for. The view is alive.
        let byte = UnsafeMutableRawPointer(mutating: view.region.baseAddress) + view.count / 2
        byte.storeBytes(of: byte.load(as: UInt8.self) ^ 0x5A, as: UInt8.self)
    }

    // MARK: - Operations

    /// `BytesMut.make`, write the pattern (sometimes a few bytes more, then `truncate`; sometimes
    /// an integer rewritten in place with `setInteger` and read back with `getInteger`), check
    /// it, freeze (same address), keep the view.
    func allocate() throws(Violation) {
        let size = configuration.sizes.next(using: &random)
        let extra = random.oneIn(4) ? Int.random(in: 1...16, using: &random) : 0
        var made: BytesMut?
        if let error = makeWriter(capacity: size + extra, in: arena, into: &made) {
            return try allocationFailed(error, .allocate, requested: size + extra)
        }
        var writer = made.take()!
        try check(
            writer.capacity >= size + extra && writer.count == 0,
            .allocate,
            "make(capacity: \(size + extra)) gave capacity \(writer.capacity), count \(writer.count)"
        )
        let (identity, key) = newIdentity()
        writePattern(into: &writer, key: key, from: 0, count: size + extra)
        if extra > 0 {
            writer.truncate(size)
            try check(writer.count == size, .allocate, "truncate(\(size)) left \(writer.count) bytes")
        }
        let owners = Owners(Lease(accountedBytes: writer.capacity, counter: counters.live))
        let provenance = Provenance(Piece(identity: identity, key: key, offset: 0, count: size))
        if size >= 4 && random.oneIn(4) {
            let position = Int.random(in: 0...(size - 4), using: &random)
            let byteOrder: ByteOrder = random.oneIn(2) ? .big : .little
            let value = expectedInteger(UInt32.self, provenance, position, byteOrder)
            writer.setInteger(value, at: position, byteOrder: byteOrder)
            let readBack = writer.getInteger(at: position, byteOrder: byteOrder, as: UInt32.self)
            try check(
                readBack == value,
                .allocate,
                "getInteger(at: \(position), \(byteOrder)) after setInteger(\(hex(UInt(value)))) gave "
                    + "\(readBack.map { hex(UInt($0)) } ?? "nil")"
            )
        }
        try verifyWriter(writer, provenance, .allocate)
        let frozen = try freeze(writer, .allocate)
        add(Tracked(frozen, provenance, owners: owners))
        corruptIfAsked(frozen)
    }

    /// Freezes a writer and checks the view has the writer's address and count.
    func freeze(_ writer: consuming BytesMut, _ operation: OperationKind) throws(Violation) -> Bytes {
        let address = address(of: writer)
        let count = writer.count
        let frozen = writer.freeze()
        outcomes.freezes += 1
        let frozenAddress = UInt(bitPattern: frozen.region.baseAddress)
        try check(
            count == 0 || (frozenAddress == address && frozen.count == count),
            operation,
            "freeze() of a writer at \(hex(address)) with \(count) bytes gave a view at \(hex(frozenAddress)) "
                + "with \(frozen.count) bytes"
        )
        return frozen
    }

    /// Allocate small, write, `tryReserveCapacity` to the full size: on success nothing written
    /// is lost; when the allocation is refused the writer is exactly as before. Then write the rest and freeze.
    func grow() throws(Violation) {
        let size = max(2, configuration.sizes.next(using: &random))
        let initial = Int.random(in: 1..<size, using: &random)
        var made: BytesMut?
        if let error = makeWriter(capacity: initial, in: arena, into: &made) {
            return try allocationFailed(error, .grow, requested: initial)
        }
        var writer = made.take()!
        let (identity, key) = newIdentity()
        writePattern(into: &writer, key: key, from: 0, count: initial)
        let before = (address: address(of: writer), capacity: writer.capacity)
        let partial = Provenance(Piece(identity: identity, key: key, offset: 0, count: initial))
        if let error = tryReserve(&writer, capacity: size) {
            try check(
                address(of: writer) == before.address && writer.capacity == before.capacity,
                .grow,
                "a failed tryReserveCapacity(\(size)) moved the writer from \(hex(before.address)) "
                    + "(capacity \(before.capacity)) to \(hex(address(of: writer))) (capacity \(writer.capacity))"
            )
            try verifyWriter(writer, partial, .grow, what: "writer after a failed tryReserveCapacity(\(size))")
            outcomes.growFailedIntact += 1
            let frozen = try freeze(writer, .grow)
            let owners = Owners(Lease(accountedBytes: before.capacity, counter: counters.live))
            add(Tracked(frozen, partial, owners: owners))
            return try allocationFailed(error, .grow, requested: size)
        }
        try check(
            writer.capacity >= size && writer.count == initial,
            .grow,
            "tryReserveCapacity(\(size)) gave capacity \(writer.capacity) and count \(writer.count), "
                + "expected at least \(size) and \(initial)"
        )
        try verifyWriter(
            writer,
            partial,
            .grow,
            what: "writer grown from \(before.capacity) to \(writer.capacity) bytes"
        )
        if address(of: writer) == before.address { outcomes.growInPlace += 1 } else { outcomes.growMoved += 1 }
        writePattern(into: &writer, key: key, from: initial, count: size - initial)
        let owners = Owners(Lease(accountedBytes: writer.capacity, counter: counters.live))
        let provenance = Provenance(Piece(identity: identity, key: key, offset: 0, count: size))
        try verifyWriter(writer, provenance, .grow)
        add(Tracked(try freeze(writer, .grow), provenance, owners: owners))
    }

    /// Splits a writer with `split(to:)` or `split(from:)` (addresses and capacities checked),
    /// sometimes joins the halves back with `unsplit` (zero-copy: same address), freezes.
    func splitWriter() throws(Violation) {
        let size = configuration.sizes.next(using: &random)
        var made: BytesMut?
        if let error = makeWriter(capacity: size, in: arena, into: &made) {
            return try allocationFailed(error, .splitWriter, requested: size)
        }
        var writer = made.take()!
        let (identity, key) = newIdentity()
        writePattern(into: &writer, key: key, from: 0, count: size)
        let capacity = writer.capacity
        let owners = Owners(Lease(accountedBytes: capacity, counter: counters.live))
        let whole = Provenance(Piece(identity: identity, key: key, offset: 0, count: size))
        let base = address(of: writer)
        let cut = Int.random(in: 0...size, using: &random)
        let splitTo = random.oneIn(2)
        var front: BytesMut
        var back: BytesMut
        if splitTo {
            front = writer.split(to: cut)
            back = writer
        } else {
            back = writer.split(from: cut)
            front = writer
        }
        let name = splitTo ? "split(to: \(cut))" : "split(from: \(cut))"
        let frontOK = (size == 0 || address(of: front) == base) && front.count == cut && front.capacity == cut
        let backOK =
            (size == 0 || address(of: back) == base + UInt(cut)) && back.count == size - cut
            && back.capacity == capacity - cut
        try check(
            frontOK && backOK,
            .splitWriter,
            "\(name) of a writer at \(hex(base)) (\(size) of \(capacity) bytes) gave a front at "
                + "\(hex(address(of: front))) (\(front.count) of \(front.capacity)) and a back at "
                + "\(hex(address(of: back))) (\(back.count) of \(back.capacity))"
        )
        try verifyWriter(front, whole.slice(0..<cut), .splitWriter, what: "front of \(name)")
        try verifyWriter(back, whole.slice(cut..<size), .splitWriter, what: "back of \(name)")
        if random.oneIn(2) {
            front.unsplit(back)
            try check(
                (size == 0 || address(of: front) == base) && front.count == size && front.capacity == capacity,
                .splitWriter,
                "unsplit after \(name) of a writer at \(hex(base)) (\(size) of \(capacity) bytes) gave "
                    + "\(hex(address(of: front))) (\(front.count) of \(front.capacity)): not zero-copy"
            )
            try verifyWriter(front, whole, .splitWriter, what: "writer joined by unsplit")
            outcomes.unsplits += 1
            add(Tracked(try freeze(front, .splitWriter), whole, owners: owners))
        } else {
            add(Tracked(try freeze(front, .splitWriter), whole.slice(0..<cut), owners: owners))
            add(Tracked(try freeze(back, .splitWriter), whole.slice(cut..<size), owners: owners))
        }
    }

    /// `BytesMut(reclaiming:)` a view: refused while another view of its storage lives (checked
    /// against the pool), and in a single-thread run granted whenever none does and the view's
    /// region was not sampled; when granted, same address, same bytes, room to the end of the
    /// storage. Writes on after the old bytes and freezes again.
    func reclaim() throws(Violation) {
        var tracked = remove(at: randomIndex())
        // The view is consumed either way: refused, it is gone (a drop), granted, it becomes a
        // writer. Check it whole first, as every drop is checked.
        try verify(tracked, .reclaim, what: "view to reclaim")
        let oldAddress = tracked.address
        let oldCount = tracked.bytes.count
        let kind = tracked.bytes.region.storageKind
        let sharedWith = pool.firstIndex { $0.bytes.region.sharesStorage(with: tracked.bytes.region) }
        // A sampled region (`--sample-interval`) is never reclaimed: its views share a storage
        // of their own, whose death is the sample's.
        let mayBeUnique =
            sharedWith == nil && !hasReadBuffer && !tracked.bytes.region.isSampled
            && !shared.queues[index].contains { $0.bytes.region.sharesStorage(with: tracked.bytes.region) }
        var bytes = Bytes()
        swap(&bytes, &tracked.bytes)
        guard var writer = BytesMut(reclaiming: consume bytes) else {
            outcomes.reclaimRefused += 1
            try check(
                !(configuration.threads == 1 && mayBeUnique && oldCount > 0 && kind != .empty),
                .reclaim,
                "init?(reclaiming:) refused the \(oldCount)-byte view at \(hex(oldAddress)) (\(kind)) "
                    + "though no other view of its storage lives"
            )
            return
        }
        try check(
            sharedWith == nil,
            .reclaim,
            "init?(reclaiming:) gave a writer over the \(oldCount)-byte view at \(hex(oldAddress)) though the "
                + "view at \(hex(sharedWith.map { pool[$0].address } ?? 0)) shares its storage"
        )
        try check(
            address(of: writer) == oldAddress && writer.count == oldCount && writer.capacity >= oldCount,
            .reclaim,
            "init?(reclaiming:) of the \(oldCount)-byte view at \(hex(oldAddress)) gave a writer at "
                + "\(hex(address(of: writer))) with \(writer.count) of \(writer.capacity) bytes"
        )
        try verifyWriter(writer, tracked.provenance, .reclaim, what: "reclaimed writer")
        outcomes.reclaimed += 1
        var provenance = tracked.provenance
        var owners = tracked.owners
        let spare = writer.capacity - writer.count
        if spare > 0 {
            let extra = Int.random(in: 0...min(spare, 4096), using: &random)
            let (identity, key) = newIdentity()
            writePattern(into: &writer, key: key, from: 0, count: extra)
            owners.insert(Lease(accountedBytes: extra, counter: counters.live))
            provenance.append(Piece(identity: identity, key: key, offset: 0, count: extra))
            try verifyWriter(writer, provenance, .reclaim, what: "reclaimed writer written on")
        }
        add(Tracked(try freeze(writer, .reclaim), provenance, owners: owners))
    }

    /// The read-buffer pattern: fill the spare capacity (as `read(2)` would), split frames off
    /// the front and keep them as views, and when the spare capacity runs low reserve the
    /// buffer's capacity again: it grows in place, rewinds over frames that are gone, or moves,
    /// and never loses an unread byte.
    func useReadBuffer() throws(Violation) {
        if !hasReadBuffer {
            let capacity = random.oneIn(2) ? 4 << 10 : 32 << 10
            var made: BytesMut?
            if let error = makeWriter(capacity: capacity, in: arena, into: &made) {
                return try allocationFailed(error, .readBuffer, requested: capacity)
            }
            readBuffer = made.take()
            readBufferProvenance = Provenance()
            readBufferOwners = Owners(Lease(accountedBytes: capacity, counter: counters.live))
            readBufferTarget = capacity
            outcomes.readBufferRefills += 1
        }
        // A violation ends the run, so only the normal exits put the buffer back.
        var buffer = readBuffer.take()!
        let spare = buffer.capacity - buffer.count
        if spare > 0 {
            let received = Int.random(in: 1...min(spare, 1500), using: &random)
            let (identity, key) = newIdentity()
            let written = buffer.withUnsafeMutableUninitializedCapacity { spare in
                Pattern.fill(UnsafeMutableRawBufferPointer(rebasing: spare[0..<received]), key: key, offset: 0)
                return received
            }
            outcomes.bytesWritten += written
            readBufferProvenance.append(Piece(identity: identity, key: key, offset: 0, count: received))
        }
        var frames = 0
        while buffer.count > 0 && frames < 4 && !random.oneIn(3) {
            let length = Int.random(in: 1...min(buffer.count, 512), using: &random)
            let base = address(of: buffer)
            let frame = buffer.split(to: length)
            try check(
                address(of: frame) == base && frame.count == length && address(of: buffer) == base + UInt(length),
                .readBuffer,
                "split(to: \(length)) of the read buffer at \(hex(base)) gave a frame at \(hex(address(of: frame))) "
                    + "(\(frame.count) bytes) and left the buffer at \(hex(address(of: buffer)))"
            )
            let provenance = readBufferProvenance.slice(0..<length)
            readBufferProvenance = readBufferProvenance.slice(length..<readBufferProvenance.count)
            try verifyWriter(frame, provenance, .readBuffer, what: "frame split off the read buffer")
            add(Tracked(try freeze(frame, .readBuffer), provenance, owners: readBufferOwners))
            frames += 1
        }
        outcomes.readBufferFrames += frames
        if buffer.capacity - buffer.count < 256 {
            let before = (address: address(of: buffer), capacity: buffer.capacity)
            if let error = tryReserve(&buffer, capacity: readBufferTarget) {
                try check(
                    address(of: buffer) == before.address && buffer.capacity == before.capacity,
                    .readBuffer,
                    "a failed tryReserveCapacity(\(readBufferTarget)) moved the read buffer from "
                        + "\(hex(before.address)) to \(hex(address(of: buffer)))"
                )
                try verifyWriter(
                    buffer,
                    readBufferProvenance,
                    .readBuffer,
                    what: "read buffer after a refused allocation"
                )
                readBuffer = consume buffer
                return try allocationFailed(error, .readBuffer, requested: readBufferTarget)
            }
            try check(
                buffer.capacity >= readBufferTarget,
                .readBuffer,
                "tryReserveCapacity(\(readBufferTarget)) left the read buffer with capacity \(buffer.capacity)"
            )
            try verifyWriter(buffer, readBufferProvenance, .readBuffer, what: "read buffer after reserving again")
            outcomes.readBufferReserves += 1
            if address(of: buffer) != before.address {
                // Rewound over dropped frames or moved to a new region: account for the memory
                // it now uses (frames keep the old lease while they live).
                outcomes.readBufferMoves += 1
                readBufferOwners = Owners(Lease(accountedBytes: buffer.capacity, counter: counters.live))
            }
        }
        if random.oneIn(64) {
            // Retire the buffer: its unread bytes become an ordinary view.
            let frozen = try freeze(buffer, .readBuffer)
            add(Tracked(frozen, readBufferProvenance, owners: readBufferOwners))
            readBufferProvenance = Provenance()
            readBufferOwners = Owners()
        } else {
            readBuffer = consume buffer
        }
    }

    /// Whether the worker has a read buffer now.
    var hasReadBuffer: Bool {
        switch readBuffer {
        case .some: true
        case .none: false
        }
    }
}
