/// The one writer of a byte range in an arena: growable, splittable, and frozen into `Bytes`
/// in O(1).
///
/// Use it wherever bytes are produced: a connection's receive buffer that `read(2)` fills, a
/// message being encoded. Finished parts are split off its front and frozen into ``Bytes``
/// views to pass on or keep, while the writer goes on writing after them.
///
/// `BytesMut` is `~Copyable`: exactly one value owns its range, so writes need no
/// copy-on-write check, and ``freeze()``, a consuming method, ends the writer at compile time.
///
/// ```swift
/// var buffer = BytesMut(capacity: 16 << 10)
/// // Read from a file descriptor straight into the arena.
/// buffer.withUnsafeMutableUninitializedCapacity { spare in
///     max(0, Glibc.read(fd, spare.baseAddress, spare.count))
/// }
/// // Hand on each whole 64-byte record, without copying it.
/// while buffer.count >= 64 {
///     records.append(buffer.split(to: 64).freeze())
/// }
/// ```
///
/// ### Layout
/// ```
///  region storage
///  +--------+----------------------+------------------+--------+
///  |  ...   |   written: count     |  spare capacity  |  ...   |
///  +--------+----------------------+------------------+--------+
///           ^ start                                   ^ start + capacity
/// ```
/// Four words: the region (storage, start, capacity) and the count written.
///
/// ### Sharing
/// Splitting gives two writers over disjoint ranges of the same storage; frozen views of
/// earlier parts may live on while the writer keeps writing after them. Growth tries, in order:
/// extending in place (the range ends at the arena's bump pointer, or a dedicated block grows),
/// reclaiming the whole storage when this writer is its last view (so a read buffer whose frames
/// were split off and dropped rewinds to its start without allocating), and only then
/// allocating and copying. A failed growth loses nothing already written.
public struct BytesMut: ~Copyable, Sendable {
    /// The writer's whole range: its `count` is the capacity.
    @usableFromInline var _region: Region
    /// Bytes written, from the start of the range.
    @usableFromInline var _count: Int

    @inlinable
    init(region: Region, count: Int) {
        self._region = region
        self._count = count
    }

    /// A writer with room for at least `capacity` bytes, in `arena`.
    ///
    /// Traps when the arena cannot provide the memory, naming the arena, its limit and the
    /// request; ``make(capacity:in:)`` throws instead.
    ///
    /// - Precondition: `capacity >= 0`.
    /// - Complexity: O(1); a zero capacity allocates nothing.
    @inlinable
    public init(capacity: Int = 0, in arena: ArenaAllocator = .shared) {
        precondition(capacity >= 0, "BytesMut(capacity: \(capacity)): negative capacity")
        do {
            self = try BytesMut.make(capacity: capacity, in: arena)
        } catch {
            BytesMut.allocationFailed(error, requested: capacity, in: arena.configuration)
        }
    }

    /// A writer with room for at least `capacity` bytes, in ``/Arena/ArenaAllocator/shared``.
    ///
    /// The same as `init(capacity:in: .shared)`, minus a retain and release of the arena.
    ///
    /// - Precondition: `capacity >= 0`.
    /// - Complexity: O(1); a zero capacity allocates nothing.
    @inlinable
    public init(capacity: Int = 0) {
        precondition(capacity >= 0, "BytesMut(capacity: \(capacity)): negative capacity")
        do {
            self.init(region: try ArenaAllocator.allocateShared(byteCount: capacity), count: 0)
        } catch {
            BytesMut.allocationFailed(error, requested: capacity, in: ArenaAllocator.shared.configuration)
        }
    }

    /// A writer with room for at least `capacity` bytes, in `arena`.
    ///
    /// - Throws: `ArenaError.limitExceeded` or `.outOfMemory`; nothing else changes.
    /// - Precondition: `capacity >= 0`.
    /// - Complexity: O(1).
    @inlinable
    public static func make(capacity: Int, in arena: ArenaAllocator = .shared) throws(ArenaError) -> BytesMut {
        precondition(capacity >= 0, "BytesMut.make(capacity: \(capacity)): negative capacity")
        return BytesMut(region: try arena.allocate(byteCount: capacity), count: 0)
    }

    /// The bytes written.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var count: Int { _count }

    /// The bytes that can be written without growing.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var capacity: Int { _region._count }

    /// Whether nothing is written.
    ///
    /// - Complexity: O(1).
    @inlinable
    public var isEmpty: Bool { _count == 0 }

    /// The byte at `position`, to read or overwrite.
    ///
    /// - Precondition: `0 <= position < count`.
    /// - Complexity: O(1).
    @inlinable
    public subscript(position: Int) -> UInt8 {
        get {
            precondition(position >= 0 && position < _count, "BytesMut index \(position) out of bounds 0..<\(_count)")
            return _region.start.load(fromByteOffset: position, as: UInt8.self)
        }
        set {
            precondition(position >= 0 && position < _count, "BytesMut index \(position) out of bounds 0..<\(_count)")
            _region.start.storeBytes(of: newValue, toByteOffset: position, as: UInt8.self)
        }
    }

    // MARK: - Capacity

    /// Makes room for at least `minimumCapacity` bytes in total, keeping what is written.
    ///
    /// Traps when the arena cannot provide the memory; ``tryReserveCapacity(_:)`` throws.
    ///
    /// - Precondition: `minimumCapacity >= 0`.
    /// - Complexity: O(1) when it grows in place or reclaims an empty range; O(count) when
    ///   it moves.
    @inlinable
    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        precondition(minimumCapacity >= 0, "BytesMut.reserveCapacity(\(minimumCapacity)): negative capacity")
        if minimumCapacity > capacity { _growOrTrap(needed: minimumCapacity, wanted: minimumCapacity) }
    }

    /// Makes room for at least `minimumCapacity` bytes in total, keeping what is written.
    ///
    /// - Precondition: `minimumCapacity >= 0`.
    /// - Throws: `ArenaError.limitExceeded` or `.outOfMemory`; the writer and its bytes are
    ///   unchanged.
    /// - Complexity: as ``reserveCapacity(_:)``.
    @inlinable
    public mutating func tryReserveCapacity(_ minimumCapacity: Int) throws(ArenaError) {
        precondition(minimumCapacity >= 0, "BytesMut.tryReserveCapacity(\(minimumCapacity)): negative capacity")
        defer { _invariantCheck() }
        if minimumCapacity > capacity {
            try _region.grow(needed: minimumCapacity, wanted: minimumCapacity, preserving: _count)
        }
    }

    /// Ensures `additional` bytes of spare capacity, growing geometrically.
    @inlinable @inline(__always)
    mutating func _reserveSpare(_ additional: Int) {
        if _slowPath(_region._count &- _count < additional) {
            let needed = _count + additional
            _growOrTrap(needed: needed, wanted: Swift.max(needed, capacity &* 2, 64))
        }
    }

    @usableFromInline @inline(never)
    mutating func _growOrTrap(needed: Int, wanted: Int) {
        defer { _invariantCheck() }
        do {
            try _region.grow(needed: needed, wanted: wanted, preserving: _count)
        } catch {
            let core = _region.arenaCore
            BytesMut.allocationFailed(
                error,
                requested: needed,
                in: ArenaAllocator.Configuration(name: core.name, chunkSize: core.chunkSize, limit: core.limit)
            )
        }
    }

    @usableFromInline
    static func allocationFailed(
        _ error: ArenaError,
        requested: Int,
        in arena: ArenaAllocator.Configuration
    ) -> Never {
        let limit = arena.limit.map { "limit \($0) bytes" } ?? "no limit"
        fatalError("BytesMut cannot get \(requested) bytes from arena '\(arena.name)' (\(limit)): \(error)")
    }

    // MARK: - Raw access

    /// Calls `body` with the written bytes, to read or change them in place.
    ///
    /// - Complexity: O(1) plus `body`.
    @inlinable
    public mutating func withUnsafeMutableBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeMutableRawBufferPointer(start: _region.start, count: _count))
    }

    /// Calls `body` with the written bytes.
    ///
    /// - Complexity: O(1) plus `body`.
    @inlinable
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: _region.start, count: _count))
    }

    /// Lets `body` fill the spare capacity (for example with `read(2)`) and counts the bytes
    /// it says it wrote.
    ///
    /// - Parameter body: gets the spare capacity, uninitialized, and returns how many bytes
    ///   from its start it initialized.
    /// - Returns: what `body` returned.
    /// - Precondition: `body` returns a count within `0...spare.count`.
    /// - Complexity: O(1) plus `body`.
    @inlinable
    @discardableResult
    public mutating func withUnsafeMutableUninitializedCapacity<Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    ) throws(Failure) -> Int {
        defer { _invariantCheck() }
        let spare = UnsafeMutableRawBufferPointer(start: _region.start + _count, count: capacity - _count)
        let written = try body(spare)
        precondition(
            written >= 0 && written <= spare.count,
            "withUnsafeMutableUninitializedCapacity: body returned \(written), spare capacity is \(spare.count)"
        )
        _count += written
        return written
    }

    // MARK: - Shrinking

    /// Keeps only the first `length` bytes; does nothing when `length >= count`.
    ///
    /// - Precondition: `length >= 0`.
    /// - Complexity: O(1).
    @inlinable
    public mutating func truncate(_ length: Int) {
        defer { _invariantCheck() }
        precondition(length >= 0, "BytesMut.truncate(\(length)): negative length")
        if length < _count { _count = length }
    }

    /// Forgets every written byte; with `keepingCapacity: false` (the default) also lets go
    /// of the memory.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func removeAll(keepingCapacity: Bool = false) {
        defer { _invariantCheck() }
        _count = 0
        if !keepingCapacity {
            _region = _region.emptyRegionOfSameArena
        }
    }
}
