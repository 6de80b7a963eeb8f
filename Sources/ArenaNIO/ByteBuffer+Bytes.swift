public import ArenaBytes
public import NIOCore

// Moving bytes between SwiftNIO's `ByteBuffer` and the arena's views.

extension Bytes {
    /// A view of a `ByteBuffer`'s readable bytes, without copying: the same address, and the
    /// buffer's storage kept alive until the last view of it dies.
    ///
    /// The buffer's storage gains a reference, so a later write to `buffer` (or a copy of it)
    /// copies on write first and never changes what this view reads.
    ///
    /// - Complexity: O(1).
    public init(_ buffer: ByteBuffer) {
        self = buffer.withUnsafeReadableBytesWithStorageManagement { bytes, storage in
            Bytes(Region(unsafeNoCopy: bytes, owner: storage.takeUnretainedValue()))
        }
    }
}

extension ByteBuffer {
    /// A buffer holding a copy of `bytes`, allocated by `allocator`.
    ///
    /// - Complexity: O(n).
    public init(_ bytes: Bytes, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self = allocator.buffer(capacity: bytes.count)
        bytes.withUnsafeBytes { _ = self.writeBytes($0) }
    }

    /// A buffer holding a copy of a chain's bytes, allocated by `allocator`.
    ///
    /// - Complexity: O(n).
    public init(_ chain: Chain, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self = allocator.buffer(capacity: chain.count)
        for segment in chain.segments {
            segment.withUnsafeBytes { _ = self.writeBytes($0) }
        }
    }
}
