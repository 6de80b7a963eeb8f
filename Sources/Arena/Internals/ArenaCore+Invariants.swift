// Internal consistency checks, compiled in only with `-Xswiftc -DARENA_INTERNAL_CHECKS`
// (`Scripts/test` runs the AddressSanitizer step that way); empty otherwise.

extension ArenaCore {
    /// Checks the arena's bookkeeping. The caller holds `lock`.
    ///
    /// - the list of live chunks has exactly `liveChunks` entries, each carved within itself;
    /// - the cache holds at most `chunkCacheLimit` chunks;
    /// - the block cache holds at most `blockCacheLimit` blocks, each of a cacheable size, and
    ///   their bytes are reserved;
    /// - the bytes reserved are never negative and never past the limit.
    @inline(__always)
    func _invariantCheckLocked() {
        #if ARENA_INTERNAL_CHECKS
        var linked = 0
        var chunk = guarded.firstLive
        while let link = chunk {
            link._withUnsafeGuaranteedRef { live in
                let carved = live.carved.load(ordering: .relaxed)
                precondition(
                    carved >= 0 && carved <= live.capacity,
                    "arena \(name): a chunk of \(live.capacity) bytes has \(carved) carved"
                )
                chunk = live.next
            }
            linked += 1
        }
        precondition(
            linked == guarded.liveChunks,
            "arena \(name): \(linked) chunks linked, \(guarded.liveChunks) counted live"
        )
        precondition(
            guarded.cache.count <= cacheLimit,
            "arena \(name): \(guarded.cache.count) cached chunks, limit \(cacheLimit) for \(guarded.liveChunks) live"
        )
        precondition(
            guarded.blockCache.count <= blockCacheLimit,
            "arena \(name): \(guarded.blockCache.count) cached blocks, limit \(blockCacheLimit)"
        )
        let cachedBlockBytes = guarded.blockCache.reduce(0) { total, block in
            precondition(
                isCacheable(blockOf: block.capacity),
                "arena \(name): a cached block of \(block.capacity) bytes"
            )
            return total + block.capacity
        }
        let reserved = reserved.load(ordering: .relaxed)
        precondition(
            reserved >= cachedBlockBytes,
            "arena \(name): \(reserved) bytes reserved, \(cachedBlockBytes) cached in blocks"
        )
        if let limit {
            precondition(reserved <= limit, "arena \(name): \(reserved) bytes reserved past its limit \(limit)")
        }
        #endif
    }
}

extension Region {
    /// Checks that the region lies within its storage.
    @inlinable @inline(__always)
    package func _invariantCheck() {
        #if ARENA_INTERNAL_CHECKS
        precondition(_count >= 0, "Region: negative count \(_count)")
        guard _count > 0 else { return }
        let base = storage.base
        precondition(
            start >= base && start + _count <= base + storage.capacity,
            "Region: [\(start), +\(_count)) outside its storage [\(base), +\(storage.capacity))"
        )
        #endif
    }
}
