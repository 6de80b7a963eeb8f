// Compaction: copies of long-lived views, carved from a chunk of their own (the arena's
// long-lived cursor), so that survivors pack together instead of each pinning a chunk of
// short-lived data.

extension ArenaCore {
    /// A region of `byteCount` bytes for long-lived data: carved from the arena's long-lived
    /// chunk when small, else a dedicated block. A closed arena gives a dedicated block.
    func allocateLongLived(byteCount: Int) throws(ArenaError) -> Region {
        if byteCount <= largestCarve {
            lock.lock()
            if let region = carveLongLived(byteCount) {
                lock.unlock()
                return region
            }
            let full = guarded.longLivedCursor.retire()
            lock.unlock()
            full?.release()
            if let chunk = try obtainChunk(isLongLived: true) {
                lock.lock()
                if !isClosed.load(ordering: .relaxed) {
                    // Another thread may have installed a long-lived chunk meanwhile.
                    if let region = carveLongLived(byteCount) {
                        lock.unlock()
                        return region
                    }
                    let retired = guarded.longLivedCursor.retire()
                    guarded.longLivedCursor = ChunkCursor(carving: chunk)
                    let region = carveLongLived(byteCount)
                    lock.unlock()
                    retired?.release()
                    if let region { return region }
                } else {
                    lock.unlock()
                }
            }
        }
        return try allocateBlock(byteCount: byteCount, alignment: 16)
    }

    /// Carves from the long-lived chunk if it has room. Call with the lock held.
    private func carveLongLived(_ byteCount: Int) -> Region? {
        guarded.longLivedCursor.carve(byteCount: byteCount, alignment: 16, chunkSize: chunkSize)
    }
}

extension Region {
    /// Whether the region already keeps only about itself alive: no storage, foreign memory,
    /// a chunk of compacted copies, or storage that is at least three quarters this region.
    package var keepsAboutItself: Bool {
        let storage = storage.kind == .sampled ? unsafeDowncast(storage, to: SampledStorage.self).inner : storage
        switch storage.kind {
        case .empty, .foreign:
            return true
        case .chunk:
            if unsafeDowncast(storage, to: Chunk.self).isLongLived { return true }
        case .block, .sampled:
            break
        }
        return _count >= storage.capacity - storage.capacity / 4
    }

    /// The same bytes in storage that keeps only about them alive: `self` when
    /// ``keepsAboutItself``; else a copy in the same arena, carved with other compacted copies
    /// when the region is small and its storage is at least a chunk, else in a dedicated block
    /// of exactly its size. The copy never keeps more bytes alive than `self` does.
    package func compacted() throws(ArenaError) -> Region {
        if keepsAboutItself { return self }
        // SAFETY: chunks and blocks always have a core (see their initializers).
        let core = storage.core.unsafelyUnwrapped
        if _count == 0 { return Region(storage: core.emptyStorage, start: emptyRegionAddress, count: 0) }
        let copy =
            _count <= core.largestCarve && storage.capacity >= core.chunkSize
            ? try core.allocateLongLived(byteCount: _count)
            : try core.allocateBlock(byteCount: _count, alignment: 16)
        // SAFETY: the copy is a fresh region of exactly `_count` bytes, written by no one else;
        // the source is this region's `_count` bytes, alive while `self` is.
        copy.start.copyMemory(from: start, byteCount: _count)
        return copy
    }
}
