/// Where a carver stands in its chunk: the chunk, the bump offset, and the references the
/// carver owns (one, plus `prepaid` more, each handed to a region without an atomic increment).
///
/// One mechanism for both carvers: the arena's shared state holds one cursor (under its spin
/// lock), each thread slot holds one per arena (`ThreadChunks.swift`). Callers provide the
/// exclusion; the cursor itself is plain data.
struct ChunkCursor {
    var chunk: Unmanaged<Chunk>?
    var offset = 0
    var prepaid = 0

    /// A cursor at the start of `chunk`, owning one reference to it.
    init(carving chunk: Chunk) {
        self.chunk = Unmanaged.passRetained(chunk)
    }

    /// A cursor with no chunk.
    init() {}

    /// Carves `byteCount` bytes aligned to `alignment` if the chunk has room; `nil` otherwise.
    @inline(__always)
    mutating func carve(byteCount: Int, alignment: Int, chunkSize: Int) -> Region? {
        guard let current = chunk else { return nil }
        let start = (offset &+ alignment &- 1) & ~(alignment &- 1)
        guard start &+ byteCount <= chunkSize else { return nil }
        if prepaid == 0 {
            swiftRetainN(current.toOpaque(), UInt32(prepaidBatch))
            prepaid = prepaidBatch
        }
        prepaid &-= 1
        offset = start &+ byteCount
        // SAFETY: one of the prepaid references becomes the region's.
        let owned = current.takeRetainedValue()
        owned.countCarve(byteCount)
        return Region(storage: owned, start: owned.base + start, count: byteCount)
    }

    /// Extends a region of `chunk` that ends at this cursor's offset by up to `wanted` bytes,
    /// at least `needed`; returns the bytes added, or 0 (another chunk, not at the top, or no
    /// room).
    mutating func extend(
        _ region: Chunk,
        end: UnsafeMutableRawPointer,
        needed: Int,
        wanted: Int,
        chunkSize: Int
    ) -> Int {
        guard chunk?.toOpaque() == Unmanaged.passUnretained(region).toOpaque(),
            region.base + offset == end, chunkSize - offset >= needed
        else { return 0 }
        let added = min(chunkSize - offset, wanted)
        offset += added
        region.countExtension(added)
        return added
    }

    /// Stops carving; release the result outside any lock (the release may run the chunk's
    /// deinit, which takes the arena's lock).
    mutating func retire() -> RetiredChunk? {
        guard let current = chunk else { return nil }
        let retired = RetiredChunk(chunk: current, references: prepaid + 1)
        self = ChunkCursor()
        return retired
    }

    /// Drops this cursor's references when it carves from the chunk at `address`, keeping the
    /// offset so that `resume` can pick up again; returns whether it did.
    ///
    /// Used to ask whether anyone but the caller holds the chunk. The caller's own reference
    /// keeps the chunk alive, so the release cannot run its deinit.
    mutating func letGo(of address: UnsafeMutableRawPointer) -> Bool {
        guard chunk?.toOpaque() == address else { return false }
        swiftReleaseN(address, UInt32(prepaid + 1))
        chunk = nil
        prepaid = 0
        return true
    }

    /// Carves from `chunk` again after `letGo(of:)`, where it left off.
    mutating func resume(_ resumed: Chunk) {
        chunk = Unmanaged.passRetained(resumed)
    }
}

/// A chunk a carver stopped carving from, with the references it still owns; released outside
/// any lock (the release may run the chunk's deinit, which takes the arena's lock).
struct RetiredChunk: @unchecked Sendable {
    let chunk: Unmanaged<Chunk>
    let references: Int

    /// Drops the carver's references and marks the chunk retired: from then on it counts as
    /// pinned while any view keeps it alive.
    ///
    /// The carver keeps its last reference until the mark is made, so the chunk is alive to
    /// take it; the statistics then read its reference count as exactly its views' (up to that
    /// last release, an instant later).
    func release() {
        if references > 1 { swiftReleaseN(chunk.toOpaque(), UInt32(references - 1)) }
        chunk._withUnsafeGuaranteedRef { $0.isRetired.store(true, ordering: .relaxed) }
        swiftReleaseN(chunk.toOpaque(), 1)
    }
}

/// How many references a carver takes at once with `swift_retain_n`.
let prepaidBatch = 256
