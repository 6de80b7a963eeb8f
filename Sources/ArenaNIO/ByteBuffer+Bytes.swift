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
    @inlinable
    public init(_ bytes: borrowing Bytes, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count) { destination in
            bytes.withUnsafeBytes { source in
                // SAFETY: NIO guarantees `bytes.count` bytes of room.
                destination.baseAddress?.copyMemory(from: source.baseAddress!, byteCount: source.count)
            }
            return bytes.count
        }
        self = buffer
    }

    /// A buffer holding a copy of a chain's bytes, allocated by `allocator`.
    ///
    /// - Complexity: O(n).
    @inlinable
    public init(_ chain: borrowing Chain, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        var buffer = allocator.buffer(capacity: chain.count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chain.count) { destination in
            var written = 0
            chain.forEachSegmentBuffer { source in
                // SAFETY: segments are never empty, and NIO guarantees `chain.count` bytes of
                // room, the segments' sum. One capacity check for all segments, where
                // `writeBytes` per segment would check each time.
                (destination.baseAddress! + written).copyMemory(from: source.baseAddress!, byteCount: source.count)
                written += source.count
            }
            return written
        }
        self = buffer
    }
}
