// The C ABI declared in `include/arena_ffi.h`. Each function here is one declaration there, with
// the same name; the header carries the ownership rules, these comments say how Swift keeps them.
//
// C `size_t` arrives as `UInt`, `arena_status_t` leaves as `Int32`, `arena_handle_t *` is an
// `OpaquePointer` and `arena_bytes_t *` a raw pointer (a Swift struct cannot cross `@_cdecl`).

internal import ArenaBytes

/// The release callback of `arena_bytes_import` (`arena_release_fn` in C): called once with
/// the context, address and length that were imported.
public typealias ArenaReleaseFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, UInt) -> Void

/// Copies `len` bytes at `data` into the shared arena and writes a new handle with one reference
/// to `out`. The C function `arena_bytes_copy`.
///
/// - Returns: `ARENA_OK`, or `ARENA_ERR_NULL_ARGUMENT` (null `out`, or null `data` with
///   `len > 0`), `ARENA_ERR_TOO_LARGE`, `ARENA_ERR_ALLOCATION_FAILED`.
@_cdecl("arena_bytes_copy")
public func arena_bytes_copy(
    _ data: UnsafePointer<UInt8>?,
    _ len: UInt,
    _ out: UnsafeMutableRawPointer?
) -> Int32 {
    guard let out else { return ArenaFFIStatus.nullArgument.rawValue }
    guard let count = Int(exactly: len) else { return ArenaFFIStatus.tooLarge.rawValue }
    guard data != nil || count == 0 else { return ArenaFFIStatus.nullArgument.rawValue }
    // SAFETY: the caller vouches for `len` readable bytes at `data` (or `len == 0`).
    guard let bytes = copyIntoArena(UnsafeRawBufferPointer(start: data, count: count)) else {
        return ArenaFFIStatus.allocationFailed.rawValue
    }
    bytes.exported().store(to: out)
    return ArenaFFIStatus.ok.rawValue
}

/// A copy of `buffer` in the shared arena; `nil` when the arena cannot provide the memory.
private func copyIntoArena(_ buffer: UnsafeRawBufferPointer) -> Bytes? {
    guard var writer = try? BytesMut.make(capacity: buffer.count) else { return nil }
    writer.append(contentsOf: buffer)
    return writer.freeze()
}

/// Imports foreign memory without copying and writes a new handle with one reference to `out`.
/// The C function `arena_bytes_import`.
///
/// The handle holds `Bytes(Region(unsafeNoCopy:deallocator:))`, so `release` runs exactly once,
/// when the last view (a `Bytes` in Swift, a handle, a slice) is gone. On error nothing is kept
/// and `release` is never called.
///
/// - Returns: `ARENA_OK`, or `ARENA_ERR_NULL_ARGUMENT` (null `out`, or null `data` with
///   `len > 0`), `ARENA_ERR_TOO_LARGE`.
@_cdecl("arena_bytes_import")
public func arena_bytes_import(
    _ data: UnsafePointer<UInt8>?,
    _ len: UInt,
    _ release: ArenaReleaseFunction?,
    _ context: UnsafeMutableRawPointer?,
    _ out: UnsafeMutableRawPointer?
) -> Int32 {
    guard let out else { return ArenaFFIStatus.nullArgument.rawValue }
    guard let count = Int(exactly: len) else { return ArenaFFIStatus.tooLarge.rawValue }
    guard data != nil || count == 0 else { return ArenaFFIStatus.nullArgument.rawValue }
    let owner = ForeignOwner(release: release, context: context, data: data, len: len)
    // SAFETY: the caller keeps `len` bytes at `data` valid and unchanged until `release` runs.
    let region = Region(unsafeNoCopy: UnsafeRawBufferPointer(start: data, count: count)) { _ in
        owner.callRelease()
    }
    Bytes(region).exported().store(to: out)
    return ArenaFFIStatus.ok.rawValue
}

/// What `arena_bytes_import`'s release needs, carried into the `@Sendable` deallocator.
///
/// `@unchecked`: C's context pointer and callback are the C caller's to make thread-safe; the
/// header says the callback runs on whichever thread drops the last view.
private struct ForeignOwner: @unchecked Sendable {
    let release: ArenaReleaseFunction?
    let context: UnsafeMutableRawPointer?
    let data: UnsafePointer<UInt8>?
    let len: UInt

    /// Calls the C callback with the values it was imported with.
    func callRelease() {
        release?(context, data, len)
    }
}

/// Writes the description of a live handle to `out`, adding no reference. The C function
/// `arena_handle_get`.
///
/// `out.data` is read from the Swift view the handle holds (`region.baseAddress`).
///
/// - Returns: `ARENA_OK`, or `ARENA_ERR_NULL_HANDLE`, `ARENA_ERR_NULL_ARGUMENT`,
///   `ARENA_ERR_INVALID_HANDLE`.
@_cdecl("arena_handle_get")
public func arena_handle_get(_ handle: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guard let handle else { return ArenaFFIStatus.nullHandle.rawValue }
    guard let out else { return ArenaFFIStatus.nullArgument.rawValue }
    guard let bytes = Bytes(foreignHandle: handle) else { return ArenaFFIStatus.invalidHandle.rawValue }
    ExportedBytes(bytes, handle: handle).store(to: out)
    return ArenaFFIStatus.ok.rawValue
}

/// Adds one reference to a live handle. The C function `arena_handle_retain`.
///
/// - Returns: `ARENA_OK`, or `ARENA_ERR_NULL_HANDLE`, `ARENA_ERR_INVALID_HANDLE`.
@_cdecl("arena_handle_retain")
public func arena_handle_retain(_ handle: OpaquePointer?) -> Int32 {
    guard let handle else { return ArenaFFIStatus.nullHandle.rawValue }
    let retained = HandleRegistry.shared.withLock { $0.retain(UInt(bitPattern: handle)) }
    return (retained ? ArenaFFIStatus.ok : .invalidHandle).rawValue
}

/// Writes a new handle with one reference on bytes `[offset, offset + len)` of a live handle's
/// bytes to `out`, sharing the memory. The C function `arena_handle_slice`.
///
/// - Returns: `ARENA_OK`, or `ARENA_ERR_NULL_HANDLE`, `ARENA_ERR_NULL_ARGUMENT`,
///   `ARENA_ERR_INVALID_HANDLE`, `ARENA_ERR_OUT_OF_BOUNDS`.
@_cdecl("arena_handle_slice")
public func arena_handle_slice(
    _ handle: OpaquePointer?,
    _ offset: UInt,
    _ len: UInt,
    _ out: UnsafeMutableRawPointer?
) -> Int32 {
    guard let handle else { return ArenaFFIStatus.nullHandle.rawValue }
    guard let out else { return ArenaFFIStatus.nullArgument.rawValue }
    let result: Result<ExportedBytes, SliceFailure> = HandleRegistry.shared.withLock { registry in
        // Not the last reference: the entry keeps its own, so nothing is released under the lock.
        guard let bytes = registry.bytes(of: UInt(bitPattern: handle)) else { return .failure(.invalidHandle) }
        guard offset <= UInt(bytes.count), len <= UInt(bytes.count) - offset else {
            return .failure(.outOfBounds)
        }
        let piece = bytes.slice(Int(offset)..<Int(offset + len))
        let sliced = registry.insert(piece)
        // SAFETY: tokens start at 16, so the bit pattern is never null.
        return .success(ExportedBytes(piece, handle: OpaquePointer(bitPattern: sliced).unsafelyUnwrapped))
    }
    switch result {
    case .success(let exported):
        exported.store(to: out)
        return ArenaFFIStatus.ok.rawValue
    case .failure(.invalidHandle):
        return ArenaFFIStatus.invalidHandle.rawValue
    case .failure(.outOfBounds):
        return ArenaFFIStatus.outOfBounds.rawValue
    }
}

/// Why `arena_handle_slice` failed under the lock.
private enum SliceFailure: Error {
    case invalidHandle
    case outOfBounds
}

/// Drops one reference to a live handle. The C function `arena_handle_release`.
///
/// The last reference takes the handle out of the registry; its `Bytes` dies after the lock is
/// dropped, so a foreign release callback never runs under it.
///
/// - Returns: `ARENA_OK`, or `ARENA_ERR_NULL_HANDLE`, `ARENA_ERR_INVALID_HANDLE`.
@_cdecl("arena_handle_release")
public func arena_handle_release(_ handle: OpaquePointer?) -> Int32 {
    guard let handle else { return ArenaFFIStatus.nullHandle.rawValue }
    let released = HandleRegistry.shared.withLock { $0.release(UInt(bitPattern: handle)) }
    switch released {
    case .notLive:
        return ArenaFFIStatus.invalidHandle.rawValue
    case .dropped, .handleDied:
        return ArenaFFIStatus.ok.rawValue
    }
}

/// The number of live handles in the process. The C function `arena_live_handles`.
@_cdecl("arena_live_handles")
public func arena_live_handles() -> UInt {
    UInt(ForeignHandles.live)
}

/// A static, NUL-terminated English description of a status code. The C function
/// `arena_status_description`.
@_cdecl("arena_status_description")
public func arena_status_description(_ status: Int32) -> UnsafePointer<CChar> {
    let text = ArenaFFIStatus(rawValue: status).staticDescription
    // SAFETY: a StaticString made from a multi-character literal points to static storage,
    // NUL-terminated; CChar and UInt8 are layout-compatible.
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}
