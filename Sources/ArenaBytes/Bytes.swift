/// An immutable, `Sendable` view of bytes in an arena region: O(1) to copy, slice and split.
///
/// `Bytes` is what a `BytesMut` becomes when it is frozen, what a chain is made of, and what
/// crosses threads. It never writes to its bytes, so copies need no copy-on-write check.
///
/// ```swift
/// var writer = BytesMut(capacity: 64)
/// writer.writeInteger(UInt32(5))
/// writer.append(contentsOf: "hello".utf8)
/// var frame = writer.freeze()
/// let length = frame.readInteger(as: UInt32.self)  // 5
/// let body = frame.readBytes(Int(length!))  // "hello", same memory
/// ```
///
/// ### Layout
/// ```
///  region storage (a chunk, a dedicated block or foreign memory)
///  +-----------+--------------------------+-----------+
///  |   ...     |  this view: count bytes  |    ...    |
///  +-----------+--------------------------+-----------+
///              ^ region.baseAddress (index 0)
/// ```
/// Three words: the storage reference, the address of index 0 and the count. Indices always
/// start at 0; `SubSequence` is the standard `Slice<Bytes>`, which shares its base's indices,
/// and `Bytes(slice)` turns a slice back into a 0-based view without copying.
///
/// ### Sharing
/// A copy retains the storage (one atomic increment) and never touches the bytes. Views of
/// the same storage that touch can be joined again with ``merged(with:)``, without copying,
/// because each view knows its storage. The memory is released when the last view of the
/// storage dies, on whichever thread that happens.
public struct Bytes: Sendable {
    @usableFromInline var _region: Region

    /// A view of a whole region, such as foreign memory from `Region(unsafeNoCopy:deallocator:)`.
    ///
    /// - Complexity: O(1); nothing is copied.
    @inlinable
    public init(_ region: Region) {
        self._region = region
    }

    /// An empty view; allocates nothing.
    ///
    /// - Complexity: O(1).
    @inlinable
    public init() {
        self._region = Region()
    }

    /// A copy of `bytes` in a fresh region of `arena`.
    ///
    /// Traps when the arena cannot provide the memory; the message names the arena, its limit
    /// and the request. Use `BytesMut.make(capacity:in:)` to handle that as an error.
    ///
    /// - Complexity: O(n).
    @inlinable
    public init(_ bytes: some Sequence<UInt8>, in arena: ArenaAllocator = .shared) {
        var writer = BytesMut(capacity: bytes.underestimatedCount, in: arena)
        writer.append(contentsOf: bytes)
        self = writer.freeze()
    }

    /// A copy of `bytes` in a fresh region of `arena`, throwing when the arena cannot provide
    /// the memory: the throwing form of ``init(_:in:)``.
    ///
    /// - Throws: `ArenaError.limitExceeded` or `.outOfMemory`; nothing is kept.
    /// - Complexity: O(n); one allocation when `bytes` is contiguous or a collection.
    @inlinable
    public static func make(
        copying bytes: some Sequence<UInt8>,
        in arena: ArenaAllocator = .shared
    ) throws(ArenaError) -> Bytes {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(ArenaError) in
                var writer = try BytesMut.make(capacity: buffer.count, in: arena)
                writer.append(contentsOf: UnsafeRawBufferPointer(buffer))
                return writer.freeze()
            }
        }
        if let contiguous { return try contiguous.get() }
        var writer = try BytesMut.make(capacity: bytes.underestimatedCount, in: arena)
        for byte in bytes {
            if writer.count == writer.capacity {
                try writer.tryReserveCapacity(Swift.max(writer.capacity * 2, 64))
            }
            writer.append(byte)
        }
        return writer.freeze()
    }

    /// The view of a slice, 0-based, sharing the same memory.
    ///
    /// - Complexity: O(1); nothing is copied.
    @inlinable
    public init(_ slice: Slice<Bytes>) {
        self = slice.base.slice(slice.startIndex..<slice.endIndex)
    }

    /// The region this view covers: its storage, address and count.
    @inlinable
    public var region: Region { _region }

    /// The number of bytes.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var count: Int { _region._count }

    /// Whether the view has no bytes.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var isEmpty: Bool { _region._count == 0 }

    /// Calls `body` with the bytes; the pointer is valid only during the call.
    ///
    /// Under ThreadSanitizer (`--sanitize=thread`) the call tells the sanitizer that this
    /// thread is done with the bytes, so a writer that later reclaims the storage on another
    /// thread (`BytesMut(reclaiming:)`, a reserve that rewinds) is not reported as a race:
    /// that hand-over goes through the reference count, which the sanitizer cannot see.
    ///
    /// - Complexity: O(1) plus `body`.
    @inlinable
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withExtendedLifetime(_region) { () throws(Failure) -> Result in
            try _withUnretainedBytes(body)
        }
    }

    /// `withUnsafeBytes` for a caller that keeps this view's storage alive itself (a chain
    /// borrowed for the call): nothing is retained, which the optimizer cannot always prove
    /// unneeded when the view is read from memory it does not own.
    @inlinable
    func _withUnretainedBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        defer { ThreadSanitizer.release(ObjectIdentifier(_region.storage)) }
        return try body(UnsafeRawBufferPointer(start: _region.start, count: _region._count))
    }

    /// The bytes as a `RawSpan`, valid while this view is borrowed.
    ///
    /// - Complexity: O(1).
    public var bytes: RawSpan {
        @_lifetime(borrow self)
        borrowing get {
            let span = RawSpan(_unsafeStart: UnsafeRawPointer(_region.start), byteCount: _region._count)
            return _overrideLifetime(span, borrowing: self)
        }
    }
}

// MARK: - Collection

extension Bytes: RandomAccessCollection {
    /// Always 0.
    @inlinable
    public var startIndex: Int { 0 }

    /// The number of bytes.
    @inlinable
    public var endIndex: Int { _region._count }

    /// The byte at `position`.
    ///
    /// - Precondition: `0 <= position < count`.
    /// - Complexity: O(1).
    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(
            position >= 0 && position < _region._count,
            "Bytes index \(position) out of bounds 0..<\(_region._count)"
        )
        // SAFETY: the bounds were checked just above; the region keeps the memory alive.
        return _region.start.load(fromByteOffset: position, as: UInt8.self)
    }

    /// Calls `body` with the bytes as a buffer of `UInt8`, so copies use `memcpy`.
    @inlinable
    public func withContiguousStorageIfAvailable<Result>(
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Result
    ) rethrows -> Result? {
        try withExtendedLifetime(_region) {
            // SAFETY: arena memory holds plain bytes; UInt8 may alias any memory.
            let typed = _region.start.assumingMemoryBound(to: UInt8.self)
            return try body(UnsafeBufferPointer(start: typed, count: _region._count))
        }
    }
}

extension Bytes: ExpressibleByArrayLiteral {
    /// A view of the given bytes, copied into the shared arena.
    @inlinable
    public init(arrayLiteral elements: UInt8...) {
        self.init(elements)
    }
}

// MARK: - Memory kept alive

extension Bytes {
    /// The storage bytes this view keeps alive: the chunk size for a view carved from a chunk
    /// (the whole chunk lives while the view does), the block size for a dedicated block, the
    /// buffer size for foreign memory, 0 for a view of no storage (`Bytes()`).
    ///
    /// An empty view made by slicing or splitting still keeps its storage alive, so an empty
    /// view may retain a whole chunk; its ``compacted()`` form retains nothing.
    ///
    /// Compare it with ``count`` to decide whether a view you keep for long is worth
    /// ``compacted()``: a 20-byte view with 65 536 retained bytes keeps a whole chunk alive.
    ///
    /// - Complexity: O(1).
    public var retainedBytes: Int { _region.storageCapacity }

    /// The same bytes, in storage that keeps only about them alive.
    ///
    /// Returns `self` when the view already keeps only about itself alive: a view of no
    /// storage (`Bytes()`), foreign memory, or a view covering at least three quarters of its
    /// chunk or block (an earlier compacted copy covers all of its block). Otherwise the bytes
    /// are copied into storage meant for long-lived data in the same arena: a dedicated block
    /// of exactly their size, which jemalloc packs with other blocks of its size class into
    /// slabs of the arena's own jemalloc arena, apart from the short-lived chunk stream,
    /// reusing each slot that a dead copy frees. The result's ``retainedBytes`` is its
    /// ``count``: never more than this view's. An empty view of a chunk or block becomes a
    /// view of no storage, which keeps nothing alive.
    ///
    /// Keep the result and drop the original: the original's storage goes back when its last
    /// view does.
    ///
    /// ```swift
    /// let value = frame.slice(4..<24)  // keeps the frame's 64 KiB chunk alive
    /// cache[key] = try value.compacted()  // keeps about its 20 bytes alive
    /// ```
    ///
    /// - Throws: `ArenaError.limitExceeded` when the copy would pass the arena's limit,
    ///   `ArenaError.outOfMemory` when jemalloc has no memory. The view is unchanged either way.
    /// - Complexity: O(1) when it returns `self`, O(n) when it copies.
    public func compacted() throws(ArenaError) -> Bytes {
        Bytes(try _region.compacted())
    }
}
