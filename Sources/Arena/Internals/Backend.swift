// The one door to C. Only the files of `Internals/` call jemalloc, libc or the Swift runtime's
// C entry points; this one holds the allocation calls, `Backend+Control.swift` the `mallctl`
// ones. Every function is internal and non-inlinable, so no @inlinable body
// can reach C by accident.

#if Jemalloc
internal import CJemalloc
#endif
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Where arena memory comes from: a dedicated jemalloc arena, or (with the `Jemalloc` trait
/// off) `posix_memalign`/`free`.
enum Backend {
    /// Whether jemalloc backs the arenas in this build.
    #if Jemalloc
    static let isJemalloc = true
    #else
    static let isJemalloc = false
    #endif

    /// Creates a jemalloc arena and returns its index; `nil` without jemalloc.
    ///
    /// The corresponding jemalloc call is `mallctl("arenas.create", &index, &size, NULL, 0)`.
    static func createArena() throws(ArenaError) -> UInt32? {
        #if Jemalloc
        var index: UInt32 = 0
        var size = MemoryLayout<UInt32>.size
        let code = withUnsafeMutableBytes(of: &index) {
            control(read: "arenas.create", into: $0.baseAddress, size: &size)
        }
        guard code == 0 else { throw .jemalloc(name: "arenas.create", code: code) }
        // jemalloc 5.3 gives freed blocks of 8 MiB or more straight back to the system
        // (`oversize_threshold`), so a buffer growing past it page-faults all over again each
        // time. Our arenas keep their pages like any others (dirty pages decay after
        // `dirty_decay_ms`; `purge()` gives them back at once).
        try? Jemalloc.write("arena.\(index).oversize_threshold", Int.max)
        return index
        #else
        return nil
        #endif
    }

    /// Destroys a jemalloc arena. The caller guarantees no block of it is live.
    ///
    /// The corresponding jemalloc call is `mallctl("arena.<i>.destroy", NULL, NULL, NULL, 0)`.
    static func destroyArena(_ index: UInt32?) {
        #if Jemalloc
        guard let index else { return }
        statisticsSnapshot.withLock { _ in _ = control(write: "arena.\(index).destroy", nil) }
        #endif
    }

    /// Serializes what changes jemalloc's statistics snapshot (an `epoch` refresh, an arena's
    /// destruction) with what walks it (`malloc_stats_print`): the walk aborts the whole
    /// process ("Failure in xmallctlbymib()") when an arena vanishes from the snapshot under it.
    static let statisticsSnapshot = Locked(())

    /// Hands the arena's dirty pages back to the operating system (jemalloc only: the
    /// `posix_memalign` fallback has no per-arena pages to give back).
    ///
    /// The corresponding jemalloc call is `mallctl("arena.<i>.purge", NULL, NULL, NULL, 0)`.
    static func purge(_ index: UInt32?) {
        #if Jemalloc
        guard let index else { return }
        _ = control(write: "arena.\(index).purge", nil)
        #endif
    }

    #if Jemalloc
    @inline(__always)
    private static func flags(_ arena: UInt32?, alignment: Int) -> Int32 {
        var flags = CJemalloc_MALLOCX_ALIGN(alignment) | CJemalloc_MALLOCX_TCACHE_NONE()
        if let arena { flags |= CJemalloc_MALLOCX_ARENA(arena) }
        return flags
    }
    #endif

    /// Allocates `size` bytes aligned to `alignment` (a power of two) from the arena.
    ///
    /// The corresponding jemalloc call is
    /// `mallocx(size, MALLOCX_ARENA(a) | MALLOCX_ALIGN(alignment) | MALLOCX_TCACHE_NONE)`.
    static func allocate(_ size: Int, alignment: Int, arena: UInt32?) -> UnsafeMutableRawPointer? {
        precondition(size > 0)
        #if Jemalloc
        return mallocx(size, flags(arena, alignment: alignment))
        #else
        var pointer: UnsafeMutableRawPointer?
        let code = posix_memalign(&pointer, max(alignment, MemoryLayout<Int>.size * 2), size)
        return code == 0 ? pointer : nil
        #endif
    }

    /// Gives back a block from `allocate` with the same size and alignment.
    ///
    /// The corresponding jemalloc call is `sdallocx(pointer, size, flags)`.
    static func deallocate(_ pointer: UnsafeMutableRawPointer, size: Int, alignment: Int, arena: UInt32?) {
        #if Jemalloc
        sdallocx(pointer, size, flags(arena, alignment: alignment))
        #else
        free(pointer)
        #endif
    }

    /// Tries to grow a block in place to `newSize`; returns whether it did.
    ///
    /// The corresponding jemalloc call is `xallocx(pointer, newSize, 0, flags) >= newSize`.
    static func growInPlace(
        _ pointer: UnsafeMutableRawPointer,
        to newSize: Int,
        alignment: Int,
        arena: UInt32?
    ) -> Bool {
        #if Jemalloc
        return xallocx(pointer, newSize, 0, flags(arena, alignment: alignment)) >= newSize
        #else
        return false
        #endif
    }

    /// Moves a block to a larger one, copying its first `preserving` bytes; the old block is
    /// gone on success and untouched on failure (`nil`).
    ///
    /// The corresponding jemalloc call is `rallocx(pointer, newSize, flags)`.
    static func reallocate(
        _ pointer: UnsafeMutableRawPointer,
        size: Int,
        to newSize: Int,
        preserving: Int,
        alignment: Int,
        arena: UInt32?
    ) -> UnsafeMutableRawPointer? {
        #if Jemalloc
        return rallocx(pointer, newSize, flags(arena, alignment: alignment))
        #else
        guard let fresh = allocate(newSize, alignment: alignment, arena: arena) else { return nil }
        fresh.copyMemory(from: pointer, byteCount: preserving)
        free(pointer)
        return fresh
        #endif
    }

    // MARK: - Raw blocks (malloc-style, for allocators that free without a size)

    /// `malloc` in the arena, through the thread cache: for long-lived arenas only (a thread
    /// cache may hold freed blocks, so the arena must never be destroyed).
    ///
    /// The corresponding jemalloc call is `mallocx(size, MALLOCX_ARENA(a))`.
    static func rawAllocate(_ size: Int, arena: UInt32?) -> UnsafeMutableRawPointer? {
        #if Jemalloc
        return mallocx(Swift.max(size, 1), arena.map { CJemalloc_MALLOCX_ARENA($0) } ?? 0)
        #else
        return malloc(Swift.max(size, 1))
        #endif
    }

    /// `realloc` in the arena (the arena flag keeps the block there).
    ///
    /// The corresponding jemalloc call is `rallocx(pointer, size, MALLOCX_ARENA(a))`.
    static func rawReallocate(
        _ pointer: UnsafeMutableRawPointer?,
        to size: Int,
        arena: UInt32?
    ) -> UnsafeMutableRawPointer? {
        guard let pointer else { return rawAllocate(size, arena: arena) }
        #if Jemalloc
        return rallocx(pointer, Swift.max(size, 1), arena.map { CJemalloc_MALLOCX_ARENA($0) } ?? 0)
        #else
        return realloc(pointer, Swift.max(size, 1))
        #endif
    }

    /// `free` of a block from `rawAllocate`/`rawReallocate`.
    ///
    /// The corresponding jemalloc call is `dallocx(pointer, 0)`.
    static func rawDeallocate(_ pointer: UnsafeMutableRawPointer) {
        #if Jemalloc
        dallocx(pointer, 0)
        #else
        free(pointer)
        #endif
    }

    /// jemalloc's own figures for one arena, after an `epoch` refresh; `nil` without jemalloc.
    static func arenaStatistics(_ index: UInt32?) -> ArenaStatistics.Jemalloc? {
        #if Jemalloc
        guard let index else { return nil }
        Jemalloc.advanceEpoch()
        let prefix = "stats.arenas.\(index)."
        func size(_ name: String) -> Int { Int((try? Jemalloc.read(prefix + name, as: Int.self)) ?? 0) }
        func count(_ name: String) -> UInt64 { (try? Jemalloc.read(prefix + name, as: UInt64.self)) ?? 0 }
        let pageSize = (try? Jemalloc.read("arenas.page", as: Int.self)) ?? 4096
        let small = size("small.allocated")
        let large = size("large.allocated")
        return ArenaStatistics.Jemalloc(
            arenaIndex: index,
            allocated: small + large,
            smallAllocated: small,
            largeAllocated: large,
            activeBytes: size("pactive") * pageSize,
            dirtyBytes: size("pdirty") * pageSize,
            muzzyBytes: size("pmuzzy") * pageSize,
            resident: size("resident"),
            mapped: size("mapped"),
            retained: size("retained"),
            metadata: size("base") + size("internal"),
            smallAllocations: count("small.nmalloc"),
            smallDeallocations: count("small.ndalloc"),
            largeAllocations: count("large.nmalloc"),
            largeDeallocations: count("large.ndalloc")
        )
        #else
        return nil
        #endif
    }
}
