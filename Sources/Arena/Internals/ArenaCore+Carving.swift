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
        let full = guarded.cursor.retire()
        lock.unlock()
        full?.release()
        guard let chunk = try obtainChunk() else { return nil }
        lock.lock()
        if isClosed.load(ordering: .relaxed) {
            lock.unlock()
            return nil  // the fresh chunk dies unused, its memory freed
        }
        // Another thread may have installed a chunk meanwhile: carve from it if it has room
        // (the fresh chunk then dies unused, into the cache).
        if let region = carveFromSharedCurrent(byteCount: byteCount, alignment: alignment) {
            lock.unlock()
            return region
        }
        let retired = guarded.cursor.retire()
        guarded.cursor = ChunkCursor(carving: chunk)
        let region = carveFromSharedCurrent(byteCount: byteCount, alignment: alignment)
        lock.unlock()
        retired?.release()
        return region
    }

    /// Carves from the shared current chunk if it has room. Call with the lock held.
    @inline(__always)
    private func carveFromSharedCurrent(byteCount: Int, alignment: Int) -> Region? {
        guarded.cursor.carve(byteCount: byteCount, alignment: alignment, chunkSize: chunkSize)
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
        return guarded.cursor.extend(chunk, end: end, needed: needed, wanted: wanted, chunkSize: chunkSize)
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
        chunk.isRetired.store(true, ordering: .relaxed)
        return true
    }

    private func takeSharedChunkIfUnique(_ storage: inout RegionStorage) -> Bool {
        // No strong local may refer to the chunk here: it would count as another reference.
        // Under the lock nobody can get a new reference from the arena.
        let address = Unmanaged.passUnretained(storage).toOpaque()
        lock.lock()
        defer { lock.unlock() }
        let heldByArena = guarded.cursor.letGo(of: address)
        guard isKnownUniquelyReferenced(&storage) else {
            if heldByArena { guarded.cursor.resume(unsafeDowncast(storage, to: Chunk.self)) }
            return false
        }
        return true
    }
}
