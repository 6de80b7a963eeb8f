// Carving from the arena's shared current chunk under the spin lock (arenas without
// `threadLocalChunks`), and the growth support both carving paths share.

extension ArenaCore {
    /// Carves from the shared current chunk, refilling it when full; `nil` when the arena is
    /// closed.
    func carveFromSharedChunk(byteCount: Int, alignment: Int) throws(ArenaError) -> Region? {
        lock.lock()
        if let region = carveFromSharedCurrent(byteCount: byteCount, alignment: alignment) {
            lock.unlock()
            return region
        }
        // Retire the full chunk before asking for a new one: if no view uses it any more it
        // goes to the cache and comes straight back, which under a limit of about one chunk is
        // the only way to get a chunk at all.
        let full = retireSharedChunk()
        lock.unlock()
        full?.release()
        guard let chunk = try obtainChunk() else { return nil }
        lock.lock()
        if guarded.closed {
            lock.unlock()
            return nil  // the fresh chunk dies unused, its memory freed
        }
        // Another thread may have installed a chunk meanwhile: carve from it if it has room
        // (the fresh chunk then dies unused, into the cache).
        if let region = carveFromSharedCurrent(byteCount: byteCount, alignment: alignment) {
            lock.unlock()
            return region
        }
        let retired = retireSharedChunk()
        guarded.current = Unmanaged.passRetained(chunk)
        guarded.offset = 0
        let region = carveFromSharedCurrent(byteCount: byteCount, alignment: alignment)
        lock.unlock()
        retired?.release()
        return region
    }

    /// Carves from the shared current chunk if it has room. Call with the lock held.
    @inline(__always)
    private func carveFromSharedCurrent(byteCount: Int, alignment: Int) -> Region? {
        guard let current = guarded.current else { return nil }
        let start = (guarded.offset &+ alignment &- 1) & ~(alignment &- 1)
        guard start &+ byteCount <= chunkSize else { return nil }
        if guarded.prepaid == 0 {
            swiftRetainN(current.toOpaque(), UInt32(prepaidBatch))
            guarded.prepaid = prepaidBatch
        }
        guarded.prepaid &-= 1
        guarded.offset = start &+ byteCount
        // SAFETY: one of the arena's prepaid references becomes the region's.
        let chunk = current.takeRetainedValue()
        chunk.countCarve(byteCount)
        return Region(storage: chunk, start: chunk.base + start, count: byteCount)
    }

    /// Stops carving from the shared current chunk. Call with the lock held; release the
    /// result after unlocking.
    func retireSharedChunk() -> RetiredChunk? {
        guard let current = guarded.current else { return nil }
        let retired = RetiredChunk(chunk: current, references: guarded.prepaid + 1)
        guarded.current = nil
        guarded.prepaid = 0
        return retired
    }

    // MARK: - Growth support

    /// Extends a region that ends at the bump pointer of its chunk (the shared current chunk,
    /// or the calling thread's) by up to `wanted` bytes, at least `needed`; returns the bytes
    /// added, or 0.
    func extendAtTop(of chunk: Chunk, end: UnsafeMutableRawPointer, needed: Int, wanted: Int) -> Int {
        if threadLocalChunks {
            return extendThreadChunk(chunk, end: end, needed: needed, wanted: wanted)
        }
        lock.lock()
        defer { lock.unlock() }
        guard guarded.current?.toOpaque() == Unmanaged.passUnretained(chunk).toOpaque(),
            chunk.base + guarded.offset == end, chunkSize - guarded.offset >= needed
        else { return 0 }
        let added = min(chunkSize - guarded.offset, wanted)
        guarded.offset += added
        chunk.countExtension(added)
        return added
    }

    /// Whether `storage` (a chunk of this arena) has no reference but the caller's, not
    /// counting the carver's own references (the arena's, or the calling thread's). When it is
    /// unique it becomes the caller's alone: nobody carves from it any more, and all of it
    /// counts as carved.
    func takeChunkIfUnique(_ storage: inout RegionStorage) -> Bool {
        if threadLocalChunks {
            guard takeThreadChunkIfUnique(&storage) else { return false }
        } else {
            guard takeSharedChunkIfUnique(&storage) else { return false }
        }
        let chunk = unsafeDowncast(storage, to: Chunk.self)
        chunk.carved.store(chunk.capacity, ordering: .relaxed)
        return true
    }

    private func takeSharedChunkIfUnique(_ storage: inout RegionStorage) -> Bool {
        // No strong local may refer to the chunk here: it would count as another reference.
        let address = Unmanaged.passUnretained(storage).toOpaque()
        lock.lock()
        defer { lock.unlock() }
        let isCurrent = guarded.current?.toOpaque() == address
        if isCurrent {
            // SAFETY: the caller's reference keeps the chunk alive, so dropping the arena's
            // references cannot run its deinit (which takes this lock); nobody can get a new
            // reference from the arena while we hold the lock.
            swiftReleaseN(address, UInt32(guarded.prepaid + 1))
            guarded.current = nil
            guarded.prepaid = 0
        }
        guard isKnownUniquelyReferenced(&storage) else {
            if isCurrent { guarded.current = Unmanaged.passRetained(unsafeDowncast(storage, to: Chunk.self)) }
            return false
        }
        return true
    }
}
