internal import CArenaRuntime

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
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
    /// The arena's identity; meaningful only while the cursor has a chunk (which keeps it alive).
    var core: UnsafeMutableRawPointer?
    /// Where the thread carves the chunk.
    var cursor = ChunkCursor()
    /// Whether the chunk is the shared arena's and that arena samples nothing: then the
    /// default allocation path (`BytesMut(capacity:)`) carves from this slot, when it is the
    /// first, without looking the arena up (`ThreadChunks.carveShared`).
    var carvesForTheDefaultPath = false
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
        if let pointer = CArenaRuntime_thread_slots() { return pointer.assumingMemoryBound(to: ThreadChunkSlot.self) }
        return makeSlots()
    }

    /// The default allocation path: a carve of `byteCount` bytes (16-byte aligned) from the
    /// calling thread's chunk of the shared arena, when that chunk is in the first slot and
    /// has room; `nil` otherwise (the caller takes the general path). No lock, no lookup of the
    /// arena, no atomic read-modify-write.
    @inline(__always)
    static func carveShared(byteCount: Int, chunkSize: Int) -> Region? {
        guard let pointer = CArenaRuntime_thread_slots() else { return nil }
        let first = pointer.assumingMemoryBound(to: ThreadChunkSlot.self)
        guard first.pointee.carvesForTheDefaultPath else { return nil }
        return first.pointee.cursor.carve(byteCount: byteCount, alignment: 16, chunkSize: chunkSize)
    }

    /// A number that names the calling thread while it lives (the address of its slots), for
    /// fault injection planned for one thread.
    static var currentThread: UInt { UInt(bitPattern: slots()) }

    @inline(never)
    private static func makeSlots() -> UnsafeMutablePointer<ThreadChunkSlot> {
        let slots = UnsafeMutablePointer<ThreadChunkSlot>.allocate(capacity: slotCount)
        slots.initialize(repeating: ThreadChunkSlot(), count: slotCount)
        pthread_setspecific(key, slots)
        CArenaRuntime_set_thread_slots(slots)
        return slots
    }

    private static func destroy(_ slots: UnsafeMutablePointer<ThreadChunkSlot>) {
        CArenaRuntime_set_thread_slots(nil)
        for index in 0..<slotCount { slots[index].cursor.retire()?.release() }
        slots.deinitialize(count: slotCount)
        slots.deallocate()
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
            let region = slots.pointee.cursor.carve(byteCount: byteCount, alignment: alignment, chunkSize: chunkSize)
        {
            return region
        }
        return try carveFromThreadChunkSlowly(slots, byteCount: byteCount, alignment: alignment)
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
            guard let chunk = slot.pointee.cursor.chunk else {
                if free == nil { free = index }
                continue
            }
            if slot.pointee.core == me {
                mine = index
            } else if chunk._withUnsafeGuaranteedRef({ $0.core.unsafelyUnwrapped.isClosed.load(ordering: .relaxed) }) {
                slot.pointee.cursor.retire()?.release()
                if free == nil { free = index }
            }
        }
        if let mine {
            if let region = slots[mine].cursor.carve(byteCount: byteCount, alignment: alignment, chunkSize: chunkSize) {
                ThreadChunks.moveToFront(slots, mine)
                return region
            }
            // Retire the full chunk before asking for a new one: if no view uses it any more
            // it goes to the cache and comes straight back (under a limit of about one chunk,
            // the only way to get a chunk at all).
            slots[mine].cursor.retire()?.release()
        }
        guard let chunk = try obtainChunk() else { return nil }
        let target = mine ?? free ?? ThreadChunks.slotCount - 1
        let retired = slots[target].cursor.retire()
        slots[target] = ThreadChunkSlot(
            core: me,
            cursor: ChunkCursor(carving: chunk),
            carvesForTheDefaultPath: isShared && sampler == nil
        )
        ThreadChunks.moveToFront(slots, target)
        retired?.release()
        return slots.pointee.cursor.carve(byteCount: byteCount, alignment: alignment, chunkSize: chunkSize)
    }

    /// `extendAtTop` for a chunk of the calling thread.
    func extendThreadChunk(_ chunk: Chunk, end: UnsafeMutableRawPointer, needed: Int, wanted: Int) -> Int {
        let slots = ThreadChunks.slots()
        for index in 0..<ThreadChunks.slotCount {
            let added = slots[index].cursor.extend(
                chunk,
                end: end,
                needed: needed,
                wanted: wanted,
                chunkSize: chunkSize
            )
            if added > 0 { return added }
        }
        return 0
    }

    /// `takeChunkIfUnique` for an arena with thread-local chunks: the calling thread's own
    /// references do not count; another thread's current chunk is never unique.
    func takeThreadChunkIfUnique(_ storage: inout RegionStorage) -> Bool {
        let slots = ThreadChunks.slots()
        let address = Unmanaged.passUnretained(storage).toOpaque()
        let held = (0..<ThreadChunks.slotCount).first { slots[$0].cursor.letGo(of: address) }
        guard isKnownUniquelyReferenced(&storage) else {
            if let held { slots[held].cursor.resume(unsafeDowncast(storage, to: Chunk.self)) }
            return false
        }
        return true
    }
}
