import Synchronization

/// What keeps a region's memory alive. Its ARC count is the refcount of every region carved
/// from it: copying a `Region` retains it, and the memory goes back when the last copy is gone.
///
/// `base` and `capacity` describe the whole storage (a chunk, a dedicated block, foreign
/// memory). They change only while one region holds the storage uniquely (a unique block grown
/// with `rallocx`), so no other thread can observe the change.
@usableFromInline
package class RegionStorage: @unchecked Sendable {
    /// The kinds of storage, tested on the growth paths without a dynamic cast.
    package enum Kind: UInt8, Sendable {
        /// No memory: the empty region of an arena, or of no arena.
        case empty
        /// A chunk carved by a bump pointer; many regions share it.
        case chunk
        /// A dedicated jemalloc block for one large request.
        case block
        /// Memory from elsewhere, released by a callback; also a sampled region's own wrapper
        /// around its chunk or block (`SampledStorage`), whose views are likewise never grown
        /// in place or reclaimed, so that the wrapper's death is theirs.
        case foreign
    }

    /// The kind of this storage.
    package final let kind: Kind
    /// The arena the storage came from (and new memory for its views should come from);
    /// `nil` for foreign memory and the arena-less empty region.
    package final let core: ArenaCore?
    /// The first byte of the whole storage.
    @exclusivity(unchecked) @usableFromInline package final var base: UnsafeMutableRawPointer
    /// The bytes in the whole storage.
    @exclusivity(unchecked) @usableFromInline package final var capacity: Int

    init(kind: Kind, core: ArenaCore?, base: UnsafeMutableRawPointer, capacity: Int) {
        self.kind = kind
        self.core = core
        self.base = base
        self.capacity = capacity
    }
}

/// Where empty regions point: a real, aligned address that is never read or written.
nonisolated(unsafe) let emptyRegionAddress = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)

/// The storage of empty regions: no memory. An arena has its own, so that an empty writer
/// still knows which arena its first bytes should come from.
package final class EmptyStorage: RegionStorage, @unchecked Sendable {
    /// The empty storage of no arena: growth goes to `ArenaAllocator.shared`.
    static let detached = EmptyStorage(core: nil)

    init(core: ArenaCore?) {
        super.init(kind: .empty, core: core, base: emptyRegionAddress, capacity: 0)
    }
}

/// A chunk from the arena's jemalloc arena: small regions are carved from it by a bump pointer.
final class Chunk: RegionStorage, @unchecked Sendable {
    /// Bytes carved for regions so far, and how many regions. Written only by the chunk's one
    /// carver (see `countCarve`), read by the statistics.
    let carved = Atomic<Int>(0)
    let carves = Atomic<Int>(0)
    /// Whether no carver carves from the chunk any more (set once, at retirement or when a
    /// unique view takes it whole): while it lives after that, it is *pinned* by its views.
    let isRetired = Atomic<Bool>(false)
    /// The arena's list of live chunks, guarded by the arena's lock. Unmanaged, so that
    /// following a link never retains a neighbour: releasing that temporary reference could
    /// be the neighbour's last release, running its deinit (which takes the same lock) inside
    /// the lock, a self-deadlock the stress tester found.
    var previous: Unmanaged<Chunk>?
    var next: Unmanaged<Chunk>?

    init(core: ArenaCore, base: UnsafeMutableRawPointer, capacity: Int) {
        super.init(kind: .chunk, core: core, base: base, capacity: capacity)
    }

    deinit {
        // SAFETY: a chunk is only made with a core (see init).
        core.unsafelyUnwrapped.chunkDied(self)
    }
}

/// A dedicated block: one large request, its own jemalloc allocation.
final class DedicatedBlock: RegionStorage, @unchecked Sendable {
    /// The alignment it was allocated with; `sdallocx`/`rallocx` need the same.
    let alignment: Int

    init(core: ArenaCore, base: UnsafeMutableRawPointer, capacity: Int, alignment: Int) {
        self.alignment = alignment
        super.init(kind: .block, core: core, base: base, capacity: capacity)
    }

    deinit {
        core.unsafelyUnwrapped.blockDied(base, capacity: capacity, alignment: alignment)
    }
}

/// Memory the package did not allocate, with the callback that releases it.
final class ForeignStorage: RegionStorage, @unchecked Sendable {
    let original: UnsafeRawBufferPointer
    let deallocator: @Sendable (UnsafeRawBufferPointer) -> Void

    init(_ buffer: UnsafeRawBufferPointer, deallocator: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        self.original = buffer
        self.deallocator = deallocator
        let base = buffer.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } ?? emptyRegionAddress
        super.init(kind: .foreign, core: nil, base: base, capacity: buffer.count)
    }

    deinit {
        deallocator(original)
    }
}

/// Memory owned by another Swift object (a NIO buffer's storage, say), kept alive by holding
/// a strong reference to it: one allocation, where a release callback would need two.
final class OwnedStorage: RegionStorage, @unchecked Sendable {
    let owner: AnyObject

    init(owner: AnyObject, bytes: UnsafeRawBufferPointer) {
        self.owner = owner
        let base = bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } ?? emptyRegionAddress
        super.init(kind: .foreign, core: nil, base: base, capacity: bytes.count)
    }
}
