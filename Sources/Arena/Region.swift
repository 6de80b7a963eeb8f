/// A refcounted lease on `count` bytes at a fixed address.
///
/// A region is a slice of some *storage*: a chunk of an arena (shared by many small regions),
/// a dedicated block (one large region), or foreign memory with its own release callback.
/// The storage's memory lives while any region of it lives.
///
/// ### Layout
/// ```
///  storage (chunk, 64 KiB)
///  +--------+----------------+-----------+----------------------+
///  | other  |  this region   |  other    |  not yet carved      |
///  +--------+----------------+-----------+----------------------+
///           ^ baseAddress    ^ baseAddress + count
/// ```
/// Three words: a reference to the storage, the address and the count.
///
/// ### Sharing
/// Copying a `Region` retains its storage (one atomic increment); dropping a copy releases it.
/// Regions are `Sendable`: the storage's refcount is atomic, and what the bytes mean is up to
/// the views built on top (`Bytes` never writes; `BytesMut` is the one writer of its range).
public struct Region: @unchecked Sendable {
    /// The object whose lifetime is the memory's lifetime.
    @usableFromInline package var storage: RegionStorage
    /// The first byte of the region.
    @usableFromInline package var start: UnsafeMutableRawPointer
    /// The number of bytes.
    @usableFromInline package var _count: Int

    /// Creates a region; the caller vouches that `[start, start + count)` lies in `storage`.
    @inlinable @inline(__always)
    package init(storage: RegionStorage, start: UnsafeMutableRawPointer, count: Int) {
        self.storage = storage
        self.start = start
        self._count = count
    }

    /// An empty region: no memory, allocates nothing.
    ///
    /// - Complexity: O(1).
    public init() {
        self.init(storage: EmptyStorage.detached, start: emptyRegionAddress, count: 0)
    }

    /// A region of foreign memory, released by `deallocator` exactly once, when the last view
    /// of it dies.
    ///
    /// The bytes are not copied. Use it for memory from C or another language: the view's
    /// address is `buffer.baseAddress`. The package only ever reads foreign memory: it is
    /// never reclaimed by a writer, grown in place or written, so it may be read-only (a
    /// mapped file) or still in use by its owner.
    ///
    /// - Parameters:
    ///   - buffer: the memory; it must stay valid until `deallocator` is called.
    ///   - deallocator: called once with `buffer`, on whichever thread drops the last view.
    /// - Complexity: O(1); one small object holds the deallocator, no byte is copied.
    public init(
        unsafeNoCopy buffer: UnsafeRawBufferPointer,
        deallocator: @escaping @Sendable (UnsafeRawBufferPointer) -> Void
    ) {
        let storage = ForeignStorage(buffer, deallocator: deallocator)
        self.init(storage: storage, start: storage.base, count: buffer.count)
    }

    /// A region of memory that `owner` keeps alive: the region holds a strong reference to
    /// `owner` and lets it go when the last view dies.
    ///
    /// Cheaper than `init(unsafeNoCopy:deallocator:)` when the memory belongs to a Swift object
    /// (one allocation instead of two). The bytes are not copied, and never written: like all
    /// foreign memory, it is never reclaimed by a writer or grown in place.
    ///
    /// - Parameters:
    ///   - bytes: memory that stays valid and unchanged while `owner` lives.
    ///   - owner: the object whose lifetime is the memory's.
    /// - Complexity: O(1); one small object holds the owner, no byte is copied.
    public init(unsafeNoCopy bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        let storage = OwnedStorage(owner: owner, bytes: bytes)
        self.init(storage: storage, start: storage.base, count: bytes.count)
    }

    /// The address of the first byte.
    ///
    /// Valid while this region (or any region of the same storage) lives.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var baseAddress: UnsafeRawPointer { UnsafeRawPointer(start) }

    /// The number of bytes in the region.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var count: Int { _count }

    /// The bytes of the region, as a buffer valid while the region lives.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var unsafeBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: _count) }

    /// A region of the same storage covering `bounds` of this one (0-based, relative to this region).
    ///
    /// - Precondition: `bounds` lies within `0...count`.
    /// - Complexity: O(1); one retain of the storage.
    @inlinable
    public func slice(_ bounds: some RangeExpression<Int>) -> Region {
        let range = bounds.relative(to: 0..<_count)
        precondition(
            range.lowerBound >= 0 && range.upperBound <= _count,
            "Region.slice(\(range)) out of bounds 0...\(_count)"
        )
        return Region(storage: storage, start: start + range.lowerBound, count: range.count)
    }

    /// Whether `other` keeps the same storage alive (one chunk, one dedicated block, one
    /// foreign owner), so that views of the two may be joined without copying.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func sharesStorage(with other: Region) -> Bool {
        storage === other.storage
    }

    /// Which storage keeps the region's memory alive: equal for two regions exactly when
    /// ``sharesStorage(with:)`` is true, and hashable, so a caller can add up what each storage
    /// still holds (to find chunks that a few long-lived regions pin, and copy those out).
    ///
    /// Valid as an identity while any region of the storage lives; a storage created after the
    /// last one died may get the same identity.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var storageIdentity: StorageIdentity { StorageIdentity(id: ObjectIdentifier(storage)) }

    /// The bytes the region's storage keeps alive: the chunk size for a region carved from a
    /// chunk, the block size for a dedicated block, the foreign buffer's size, 0 when empty.
    package var storageCapacity: Int { storage.capacity }

    /// Whether the region was sampled for ``ArenaAllocator/memoryProfile()``: its views share a
    /// storage of their own (a wrapper around the chunk or block), so they are never reclaimed
    /// by a writer or grown in place, and never merge with views of neighbouring regions.
    ///
    /// - Complexity: O(1).
    package var isSampled: Bool { storage is SampledStorage }

    /// An opaque, hashable name for a region's storage; see ``Region/storageIdentity``.
    public struct StorageIdentity: Hashable, Sendable {
        @usableFromInline let id: ObjectIdentifier

        @inlinable init(id: ObjectIdentifier) { self.id = id }
    }

    /// The kind of storage behind the region, for diagnostics, tests and a compaction of one's
    /// own (a region carved from a chunk keeps the whole chunk alive).
    ///
    /// - Complexity: O(1).
    public var storageKind: StorageKind {
        let real = (storage as? SampledStorage)?.inner ?? storage
        return switch real.kind {
        case .empty: .empty
        case .chunk: .chunk
        case .block: .dedicatedBlock
        case .foreign: .foreign
        }
    }

    /// What keeps a region's memory alive.
    public enum StorageKind: Sendable, Equatable {
        /// No memory at all.
        case empty
        /// A chunk shared with other small regions of the same arena.
        case chunk
        /// A block of its own, for a large request.
        case dedicatedBlock
        /// Foreign memory with a release callback.
        case foreign
    }
}
