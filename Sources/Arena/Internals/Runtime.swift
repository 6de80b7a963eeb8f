public import CArenaRuntime

// The runtime's batch reference counting (`swift_retain_n`/`swift_release_n`), so a carve hands
// out a prepaid reference instead of paying an atomic increment: that increment was half the
// cost of a small allocation on our machines. The calls go through `static inline` helpers of
// the `CArenaRuntime` shim, bound when the program is linked: no `dlsym`, so a program linked
// with `--static-swift-stdlib` (which exports none of the runtime's symbols) works the same.

/// Adds `count` strong references to `object` in one atomic operation.
///
/// The corresponding runtime call is `swift_retain_n(object, count)`.
@inline(__always)
func swiftRetainN(_ object: UnsafeMutableRawPointer, _ count: UInt32) {
    CArenaRuntime_swift_retain_n(object, count)
}

/// Drops `count` strong references from `object` in one atomic operation.
///
/// The corresponding runtime call is `swift_release_n(object, count)`.
@inline(__always)
func swiftReleaseN(_ object: UnsafeMutableRawPointer, _ count: UInt32) {
    CArenaRuntime_swift_release_n(object, count)
}

/// The strong references to `object`, or `nil` when its last one is gone (its deinit is
/// running or waiting): for the statistics, never for an allocation.
///
/// The corresponding runtime calls are `swift_isDeallocating(object)` and
/// `swift_retainCount(object)`. The caller keeps the object's memory valid (for a chunk, by
/// holding the arena's lock, which the chunk's deinit needs).
func swiftStrongReferences(_ object: UnsafeMutableRawPointer) -> Int? {
    if CArenaRuntime_swift_isDeallocating(object) { return nil }
    return Int(CArenaRuntime_swift_retainCount(object))
}

/// ThreadSanitizer annotations for the synchronization that goes through the Swift runtime's
/// reference counts, which the sanitizer cannot see. Each is a call to an empty C function
/// unless the package was built with `--sanitize=thread`; none is on an allocation fast path.
///
/// The pairing: a reader of a view announces `release(storage)` after it reads (see
/// `Bytes.withUnsafeBytes`), and whoever establishes that it holds the last reference to the
/// storage announces `acquire(storage)` before it writes (reclaiming, growth in place).
@usableFromInline
package enum ThreadSanitizer {
    /// The corresponding sanitizer call is `__tsan_acquire(object)`.
    @inline(never)
    package static func acquire(_ object: AnyObject) {
        CArenaRuntime_tsan_acquire(Unmanaged.passUnretained(object).toOpaque())
    }

    /// The corresponding sanitizer call is `__tsan_release(object)`.
    ///
    /// Inlined, and without a call unless the package was built with the sanitizer: every
    /// `Bytes.withUnsafeBytes` announces its reads, and an opaque call there cost a 4 KiB
    /// `ByteBuffer(chain)` a fifth of its time.
    @inlinable @inline(__always)
    package static func release(_ object: ObjectIdentifier) {
        // An identifier, not the object: a caller need not hold (retain) what it announces.
        if CArenaRuntime_tsan_active != 0 {
            CArenaRuntime_tsan_release(UnsafeMutableRawPointer(bitPattern: UInt(bitPattern: object)))
        }
    }
}

/// A pointer that crosses a lock boundary; the lock is what makes that safe.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}

/// Pointers that cross a lock boundary; the lock is what makes that safe.
struct SendablePointers: @unchecked Sendable {
    let pointers: [UnsafeMutableRawPointer]
    init(_ pointers: [SendablePointer]) { self.pointers = pointers.map(\.pointer) }
}
