public import ArenaBytes

/// A `Bytes` handed to foreign code: its address, its length and a handle that keeps the
/// memory alive until it is released. The Swift form of `arena_bytes_t` in `arena_ffi.h`.
///
/// ### Layout
/// ```
///  ExportedBytes / arena_bytes_t (three words)
///  +-------------------+-------------------+-------------------+
///  | data (word 0)     | count (word 1)    | handle (word 2)   |
///  +-------------------+-------------------+-------------------+
///    |                                        |
///    v                                        v
///  the view's own bytes (no copy)           registry entry:
///                                           Bytes + reference count
/// ```
///
/// ### Sharing
/// `data` is the Swift view's `region.baseAddress`: both sides read the same memory. The
/// handle holds one reference; each must be dropped once with `arena_handle_release`, from C
/// or Swift. A handle that is released too often, or never handed out, is refused with
/// ``ArenaFFIStatus/invalidHandle``, never followed: handles are tokens, not addresses, and
/// are never reused.
public struct ExportedBytes: @unchecked Sendable, Equatable {
    /// The first byte, read-only: the address the Swift view uses. Never null.
    public var data: UnsafePointer<UInt8>
    /// The number of bytes.
    public var count: Int
    /// The handle that keeps `data` alive (`arena_handle_t *` in C).
    public var handle: OpaquePointer

    /// The description of `bytes` under `handle`.
    init(_ bytes: Bytes, handle: OpaquePointer) {
        // SAFETY: arena and foreign memory hold plain bytes; UInt8 may alias any memory.
        self.data = bytes.region.baseAddress.assumingMemoryBound(to: UInt8.self)
        self.count = bytes.count
        self.handle = handle
    }

    /// Writes the three words to a C `arena_bytes_t`.
    ///
    /// `arena_ffi.h` asserts the field offsets this relies on: 0, one word and two words.
    func store(to out: UnsafeMutableRawPointer) {
        let word = MemoryLayout<Int>.stride
        // SAFETY: `out` points to a writable `arena_bytes_t` (the C caller's contract; checked
        // non-null by every caller), which is three pointer-aligned words.
        out.storeBytes(of: data, toByteOffset: 0, as: UnsafePointer<UInt8>.self)
        out.storeBytes(of: count, toByteOffset: word, as: Int.self)
        out.storeBytes(of: handle, toByteOffset: 2 * word, as: OpaquePointer.self)
    }
}

extension Bytes {
    /// Hands this view to foreign code: a new handle with one reference, and the view's own
    /// address and length.
    ///
    /// The memory stays alive until the handle's references are all released
    /// (`arena_handle_release`), even after every Swift view is gone. Until then the handle
    /// counts in ``ForeignHandles/live`` and in the arena's `liveForeignExports` statistic.
    ///
    /// - Complexity: O(1) amortized; takes the process-wide handle lock.
    public func exported() -> ExportedBytes {
        let handle = HandleRegistry.shared.withLock { $0.insert(self) }
        // SAFETY: tokens start at 16, so the bit pattern is never null.
        return ExportedBytes(self, handle: OpaquePointer(bitPattern: handle).unsafelyUnwrapped)
    }

    /// A view of the bytes a live handle holds, sharing the memory; `nil` when `handle` is null,
    /// released or never handed out.
    ///
    /// The view keeps the memory alive by itself: releasing the handle does not affect it. Use
    /// it for memory imported with `arena_bytes_import`.
    ///
    /// - Complexity: O(1); takes the process-wide handle lock.
    public init?(foreignHandle handle: OpaquePointer?) {
        guard let bytes = HandleRegistry.shared.withLock({ $0.bytes(of: UInt(bitPattern: handle)) }) else {
            return nil
        }
        self = bytes
    }
}

/// The handles of the C ABI, seen from Swift.
public enum ForeignHandles {
    /// The number of live handles in the process: handed out, last reference not yet released.
    /// The same figure as `arena_live_handles()`.
    ///
    /// - Complexity: O(1); takes the process-wide handle lock.
    public static var live: Int {
        HandleRegistry.shared.withLock { $0.count }
    }
}
