// Compaction (`Bytes.compacted()`): a copy of a view that keeps much more than itself alive,
// in a dedicated block of exactly its size.
//
// Why blocks and not a bump-carved chunk of their own: the views a server keeps die in no
// particular order (cache evictions, queue drains), and a bump pointer never reuses a hole, so
// a chunk of compacted copies is itself pinned by its last survivors. jemalloc packs small
// blocks of one size class into slabs of the arena's own jemalloc arena, apart from our chunk
// stream, and reuses each freed slot. Measured on `arena-stress --threads 2 --duration 4
// --seed 42 --sizes small --weights read-buffer=0 --compact`: peak reserved / peak live 9.3 to
// 10.5 with a long-lived carving cursor, 3.4 with blocks (1.4 since the workers also compact
// empty views and the chunk cache shrinks with the arena).

extension Region {
    /// Whether the region already keeps only about itself alive: no storage, foreign memory,
    /// or storage that is at least three quarters this region (a compacted copy is all of its
    /// block).
    package var keepsAboutItself: Bool {
        let storage = (storage as? SampledStorage)?.inner ?? storage
        switch storage.kind {
        case .empty, .foreign:
            return true
        case .chunk, .block:
            return _count >= storage.capacity - storage.capacity / 4
        }
    }

    /// The same bytes in storage that keeps only about them alive: `self` when
    /// ``keepsAboutItself``, else a copy in a dedicated block of exactly its size in the same
    /// arena. The copy never keeps more bytes alive than `self` does.
    package func compacted() throws(ArenaError) -> Region {
        if keepsAboutItself { return self }
        // SAFETY: chunks, blocks and sampled regions always have a core (see their initializers).
        let core = storage.core.unsafelyUnwrapped
        if _count == 0 { return Region(storage: core.emptyStorage, start: emptyRegionAddress, count: 0) }
        let copy = try core.allocateBlock(byteCount: _count, alignment: 16)
        // SAFETY: the copy is a fresh region of exactly `_count` bytes, written by no one else;
        // the source is this region's `_count` bytes, alive while `self` is.
        copy.start.copyMemory(from: start, byteCount: _count)
        return copy
    }
}
