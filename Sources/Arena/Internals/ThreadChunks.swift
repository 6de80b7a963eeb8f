#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

// Per-thread carving, for arenas made with `threadLocalChunks` (the shared arena is one): each
// thread carves from a chunk of its own, found through a pthread key, with no lock and no
// atomic read-modify-write. The region's drop is then the only atomic operation of a small
// allocation's life.
//
// A thread keeps its chunks of up to `ThreadChunks.slotCount` arenas, the most recently used
// first. It lets a chunk go when it fills, when the slot is needed for another arena, when its
// arena is closed (noticed the next time the thread needs any new chunk), and when it exits.

/// One thread's current chunk of one arena.
struct ThreadChunkSlot {
    /// The arena's identity; meaningful only while `chunk` is set (the chunk keeps it alive).
    var core: UnsafeMutableRawPointer?
    /// The chunk; the slot owns one reference to it plus `prepaid` more.
    var chunk: Unmanaged<Chunk>?
    var offset = 0
    var prepaid = 0
}

enum ThreadChunks {
    static let slotCount = 4

    /// Each thread's slots: `slotCount` of them, released when the thread exits.
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let code = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            ThreadChunks.destroy(pointer.assumingMemoryBound(to: ThreadChunkSlot.self))
        }
        precondition(code == 0, "pthread_key_create failed with \(code)")
        return key
    }()

    /// The calling thread's slots.
    @inline(__always)
    static func slots() -> UnsafeMutablePointer<ThreadChunkSlot> {
        if let pointer = pthread_getspecific(key) { return pointer.assumingMemoryBound(to: ThreadChunkSlot.self) }
        return makeSlots()
    }

    @inline(never)
    private static func makeSlots() -> UnsafeMutablePointer<ThreadChunkSlot> {
        let slots = UnsafeMutablePointer<ThreadChunkSlot>.allocate(capacity: slotCount)
        slots.initialize(repeating: ThreadChunkSlot(), count: slotCount)
        pthread_setspecific(key, slots)
        return slots
    }

    private static func destroy(_ slots: UnsafeMutablePointer<ThreadChunkSlot>) {
        for index in 0..<slotCount { retire(slots + index)?.release() }
        slots.deinitialize(count: slotCount)
        slots.deallocate()
    }

    /// Empties a slot; release the result (outside any lock).
    static func retire(_ slot: UnsafeMutablePointer<ThreadChunkSlot>) -> RetiredChunk? {
        guard let chunk = slot.pointee.chunk else { return nil }
        let retired = RetiredChunk(chunk: chunk, references: slot.pointee.prepaid + 1)
        slot.pointee = ThreadChunkSlot()
        return retired
    }

    /// Moves slot `index` to the front, keeping the others in order.
    static func moveToFront(_ slots: UnsafeMutablePointer<ThreadChunkSlot>, _ index: Int) {
        guard index > 0 else { return }
        let moved = slots[index]
        var position = index
        while position > 0 {
            slots[position] = slots[position - 1]
            position -= 1
        }
        slots[0] = moved
    }
}

extension ArenaCore {
    /// Carves from the calling thread's chunk of this arena, getting a new one when needed;
    /// `nil` when the arena is closed.
    @inline(__always)
    func carveFromThreadChunk(byteCount: Int, alignment: Int) throws(ArenaError) -> Region? {
        let slots = ThreadChunks.slots()
        if slots.pointee.core == Unmanaged.passUnretained(self).toOpaque(),
            let region = carve(from: slots, byteCount: byteCount, alignment: alignment)
        {
            return region
        }
        return try carveFromThreadChunkSlowly(slots, byteCount: byteCount, alignment: alignment)
    }

    @inline(__always)
    private func carve(
        from slot: UnsafeMutablePointer<ThreadChunkSlot>,
        byteCount: Int,
        alignment: Int
    ) -> Region? {
        guard let current = slot.pointee.chunk else { return nil }
        let start = (slot.pointee.offset &+ alignment &- 1) & ~(alignment &- 1)
        guard start &+ byteCount <= chunkSize else { return nil }
        if slot.pointee.prepaid == 0 {
            swiftRetainN(current.toOpaque(), UInt32(prepaidBatch))
            slot.pointee.prepaid = prepaidBatch
        }
        slot.pointee.prepaid &-= 1
        slot.pointee.offset = start &+ byteCount
        // SAFETY: one of the slot's prepaid references becomes the region's.
        let chunk = current.takeRetainedValue()
        chunk.countCarve(byteCount)
        return Region(storage: chunk, start: chunk.base + start, count: byteCount)
    }

    @inline(never)
    private func carveFromThreadChunkSlowly(
        _ slots: UnsafeMutablePointer<ThreadChunkSlot>,
        byteCount: Int,
        alignment: Int
    ) throws(ArenaError) -> Region? {
        let me = Unmanaged.passUnretained(self).toOpaque()
        var mine: Int?
        var free: Int?
        for index in 0..<ThreadChunks.slotCount {
            let slot = slots + index
            guard let chunk = slot.pointee.chunk else {
                if free == nil { free = index }
                continue
            }
            if slot.pointee.core == me {
                mine = index
            } else if chunk._withUnsafeGuaranteedRef({ $0.core.unsafelyUnwrapped.isClosed.load(ordering: .relaxed) }) {
                ThreadChunks.retire(slot)?.release()
                if free == nil { free = index }
            }
        }
        if let mine {
            if let region = carve(from: slots + mine, byteCount: byteCount, alignment: alignment) {
                ThreadChunks.moveToFront(slots, mine)
                return region
            }
            // Retire the full chunk before asking for a new one: if no view uses it any more
            // it goes to the cache and comes straight back (under a limit of about one chunk,
            // the only way to get a chunk at all).
            ThreadChunks.retire(slots + mine)?.release()
        }
        guard let chunk = try obtainChunk() else { return nil }
        let target = mine ?? free ?? ThreadChunks.slotCount - 1
        let retired = ThreadChunks.retire(slots + target)
        slots[target] = ThreadChunkSlot(core: me, chunk: Unmanaged.passRetained(chunk))
        ThreadChunks.moveToFront(slots, target)
        retired?.release()
        return carve(from: slots, byteCount: byteCount, alignment: alignment)
    }

    /// `extendAtTop` for a chunk of the calling thread.
    func extendThreadChunk(_ chunk: Chunk, end: UnsafeMutableRawPointer, needed: Int, wanted: Int) -> Int {
        let slots = ThreadChunks.slots()
        let address = Unmanaged.passUnretained(chunk).toOpaque()
        for index in 0..<ThreadChunks.slotCount where slots[index].chunk?.toOpaque() == address {
            let offset = slots[index].offset
            guard chunk.base + offset == end, chunkSize - offset >= needed else { return 0 }
            let added = min(chunkSize - offset, wanted)
            slots[index].offset = offset + added
            chunk.countExtension(added)
            return added
        }
        return 0
    }

    /// `takeChunkIfUnique` for an arena with thread-local chunks: the calling thread's own
    /// references do not count; another thread's current chunk is never unique.
    func takeThreadChunkIfUnique(_ storage: inout RegionStorage) -> Bool {
        let slots = ThreadChunks.slots()
        let address = Unmanaged.passUnretained(storage).toOpaque()
        var held: Int?
        for index in 0..<ThreadChunks.slotCount where slots[index].chunk?.toOpaque() == address {
            held = index
        }
        var saved = ThreadChunkSlot()
        if let held {
            saved = slots[held]
            // SAFETY: the caller's reference keeps the chunk alive while the slot's go.
            ThreadChunks.retire(slots + held)?.release()
        }
        guard isKnownUniquelyReferenced(&storage) else {
            if let held {
                saved.chunk = Unmanaged.passRetained(unsafeDowncast(storage, to: Chunk.self))
                saved.prepaid = 0
                slots[held] = saved
            }
            return false
        }
        return true
    }
}
