// What a single writer (`BytesMut`) needs from its region: grow it, and take back the whole
// storage when nobody else uses it. `package` access: users of the library never see these.

extension Region {
    /// The arena new memory for this region's views comes from.
    package var arenaCore: ArenaCore {
        storage.core ?? ArenaAllocator.shared.core
    }

    /// Whether no other region shares this one's storage. The arena's own reference to its
    /// current chunk does not count. When it returns `true` the whole storage is this
    /// region's to reuse: the arena no longer carves from it.
    ///
    /// Foreign storage is never this region's to reuse, however unique its wrapper: the memory
    /// belongs to someone else (a C caller, a NIO buffer, a mapped file), who may still read it
    /// or may have mapped it read-only. So it answers `false` for foreign memory, and nothing
    /// in the package ever writes, grows or reclaims it.
    ///
    /// - Complexity: O(1); for a chunk, one trip through the arena's lock.
    package mutating func takeStorageIfUnique() -> Bool {
        let unique: Bool
        switch storage.kind {
        case .empty, .foreign:
            return false
        case .chunk:
            unique = arenaCore.takeChunkIfUnique(&storage)
        case .block:
            unique = isKnownUniquelyReferenced(&storage)
        }
        if unique {
            // Other threads' last accesses reached us through the reference count, which the
            // thread sanitizer cannot see; tell it (a no-op without `--sanitize=thread`).
            ThreadSanitizer.acquire(storage)
        }
        return unique
    }

    /// Extends the region to the end of its storage, keeping its start; only after
    /// `takeStorageIfUnique()` returned `true`.
    package mutating func extendToEndOfStorage() {
        _count = storage.base + storage.capacity - start
    }

    /// Makes this writer's region at least `needed` bytes long, aiming for `wanted`, keeping
    /// its first `used` bytes. The order, cheapest first:
    ///
    /// 1. in place, when the region ends at the current chunk's bump pointer;
    /// 2. reclaiming the whole storage when this is its last view and it is large enough
    ///    (the read-buffer pattern: frames split off and dropped, the next reserve rewinds);
    ///    the used bytes move to the start;
    /// 3. a unique dedicated block grows in place (`xallocx`) or moves (`rallocx`);
    /// 4. a new region from the same arena, and a copy of the used bytes.
    ///
    /// On failure nothing is lost: the region keeps its storage, its `used` bytes (a unique
    /// block may have moved them to its start, as step 2 does) and the budget is as before.
    @usableFromInline
    package mutating func grow(needed: Int, wanted: Int, preserving used: Int) throws(ArenaError) {
        precondition(needed > _count && wanted >= needed && used <= _count)
        let core = arenaCore
        if storage.kind == .chunk {
            let chunk = unsafeDowncast(storage, to: Chunk.self)
            let added = core.extendAtTop(
                of: chunk,
                end: start + _count,
                needed: needed - _count,
                wanted: wanted - _count
            )
            if added > 0 {
                _count += added
                return
            }
        }
        let unique = storage.kind != .empty && takeStorageIfUniqueIfWorthIt(needed: needed)
        if unique && storage.capacity >= needed {
            moveToStartOfStorage(preserving: used)
            _count = storage.capacity
            return
        }
        if unique && storage.kind == .block {
            try growUniqueBlock(core: core, needed: needed, wanted: wanted, preserving: used)
            return
        }
        var fresh: Region
        do {
            fresh = try core.allocate(byteCount: wanted, alignment: 16)
        } catch {
            guard wanted > needed else { throw error }
            fresh = try core.allocate(byteCount: needed, alignment: 16)
        }
        // SAFETY: `fresh` is new memory of at least `needed > used` bytes; the old region's
        // first `used` bytes are initialized and distinct from it.
        fresh.start.copyMemory(from: start, byteCount: used)
        self = fresh
    }

    /// `takeStorageIfUnique()`, skipped for chunks too small to help (so a failed attempt
    /// does not cost the arena its current chunk).
    private mutating func takeStorageIfUniqueIfWorthIt(needed: Int) -> Bool {
        if storage.kind == .chunk && storage.capacity < needed { return false }
        return takeStorageIfUnique()
    }

    private mutating func moveToStartOfStorage(preserving used: Int) {
        let base = storage.base
        if start != base && used > 0 {
            // SAFETY: the storage is ours alone; source and destination lie in it and may
            // overlap, which `copyMemory` allows (it is `memmove`).
            base.copyMemory(from: start, byteCount: used)
        }
        start = base
    }

    private mutating func growUniqueBlock(
        core: ArenaCore,
        needed: Int,
        wanted: Int,
        preserving used: Int
    ) throws(ArenaError) {
        let block = unsafeDowncast(storage, to: DedicatedBlock.self)
        let oldCapacity = block.capacity
        var newCapacity = wanted
        do {
            try core.reserveEvictingCache(newCapacity - oldCapacity)
        } catch {
            guard wanted > needed else { throw error }
            newCapacity = needed
            try core.reserveEvictingCache(newCapacity - oldCapacity)
        }
        moveToStartOfStorage(preserving: used)
        if !core.growBlockInPlace(block.base, to: newCapacity, alignment: block.alignment) {
            guard
                let moved = core.moveBlock(
                    block.base,
                    size: oldCapacity,
                    to: newCapacity,
                    preserving: used,
                    alignment: block.alignment
                )
            else {
                core.unreserve(newCapacity - oldCapacity)
                throw .outOfMemory(requested: newCapacity)
            }
            block.base = moved
        }
        block.capacity = newCapacity
        core.blockResized(from: oldCapacity, to: newCapacity)
        start = block.base
        _count = newCapacity
    }
}

extension Region {
    /// An empty region that remembers this region's arena.
    @usableFromInline
    package var emptyRegionOfSameArena: Region {
        let empty = arenaCore.emptyStorage
        return Region(storage: empty, start: empty.base, count: 0)
    }
}

extension Region {
    /// Counts a handle to this region exported to foreign code (+1) or released (-1), in the
    /// statistics of the region's arena (`liveForeignExports`; the shared arena's for foreign
    /// memory), so a foreign side that forgets to release shows up.
    package func countForeignExport(_ delta: Int) {
        arenaCore.foreignExports.add(delta, ordering: .relaxed)
    }
}
