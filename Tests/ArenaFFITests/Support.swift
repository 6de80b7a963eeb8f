import ArenaBytes
import ArenaFFI
import Synchronization

/// The Swift mirror of C's `arena_bytes_t`, for calling the C ABI in-process.
struct CBytes {
    var data: UnsafePointer<UInt8>? = nil
    var len: Int = 0
    var handle: OpaquePointer? = nil

    /// The bytes at `data`, read directly (as C would).
    var contents: [UInt8] {
        guard let data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: len))
    }
}

/// Calls a C ABI function that fills an `arena_bytes_t`; returns its status and what it wrote.
func callFilling(_ body: (UnsafeMutableRawPointer) -> Int32) -> (ArenaFFIStatus, CBytes) {
    var result = CBytes()
    let status = withUnsafeMutableBytes(of: &result) { body($0.baseAddress!) }
    return (ArenaFFIStatus(rawValue: status), result)
}

/// `arena_bytes_copy` of `contents`.
func copyIn(_ contents: [UInt8]) -> (ArenaFFIStatus, CBytes) {
    contents.withUnsafeBufferPointer { buffer in
        callFilling { arena_bytes_copy(buffer.baseAddress, UInt(buffer.count), $0) }
    }
}

/// `arena_handle_slice`.
func slice(_ handle: OpaquePointer?, _ offset: UInt, _ len: UInt) -> (ArenaFFIStatus, CBytes) {
    callFilling { arena_handle_slice(handle, offset, len, $0) }
}

/// `arena_handle_release`, as a status.
func release(_ handle: OpaquePointer?) -> ArenaFFIStatus {
    ArenaFFIStatus(rawValue: arena_handle_release(handle))
}

/// `arena_handle_retain`, as a status.
func retain(_ handle: OpaquePointer?) -> ArenaFFIStatus {
    ArenaFFIStatus(rawValue: arena_handle_retain(handle))
}

/// Records each call of the C release callback: the context's log, reached through `context`.
final class ReleaseLog: Sendable {
    /// One call: the address and length the callback got.
    struct Call: Equatable {
        var address: UInt
        var len: UInt
    }

    private let calls = Mutex<[Call]>([])

    /// The calls so far.
    var recorded: [Call] { calls.withLock { $0 } }

    /// The context pointer to pass to `arena_bytes_import` (unretained: keep the log alive).
    var context: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// The C callback: appends to the log behind `context`.
    static let callback: ArenaReleaseFunction = { context, data, len in
        let log = Unmanaged<ReleaseLog>.fromOpaque(context!).takeUnretainedValue()
        log.calls.withLock { $0.append(Call(address: UInt(bitPattern: data), len: len)) }
    }
}

/// Foreign memory from `malloc`-like allocation, to import; freed by the test itself.
final class ForeignBuffer {
    let pointer: UnsafeMutablePointer<UInt8>
    let count: Int

    init(_ contents: [UInt8]) {
        count = contents.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(from: contents, count: count)
    }

    deinit { pointer.deallocate() }

    /// `arena_bytes_import` of this buffer with `log`'s callback.
    func importInto(_ log: ReleaseLog) -> (ArenaFFIStatus, CBytes) {
        callFilling { arena_bytes_import(pointer, UInt(count), ReleaseLog.callback, log.context, $0) }
    }
}
