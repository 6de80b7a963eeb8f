/*
 * arena_ffi.h: the C ABI of swift-arena's ArenaFFI library (libArenaFFI.so).
 *
 * Zero-copy hand-off of byte buffers between Swift and C (and anything that can call C:
 * Python ctypes, Rust, Dart, ...).
 *
 *   - A Swift `Bytes` crosses to C as an `arena_bytes_t`: a data pointer, a length and an
 *     opaque handle. The pointer is the Swift view's own address (nothing is copied) and the
 *     memory stays valid until the handle is released.
 *   - Foreign memory crosses to Swift with `arena_bytes_import`: it becomes a `Bytes` without a
 *     copy, and your release callback runs exactly once, after the last view of it (a Swift
 *     `Bytes` or a handle) is gone.
 *
 * OWNERSHIP RULES
 *
 *   1. Every handle carries references. A function that hands you a new handle
 *      (`arena_bytes_copy`, `arena_bytes_import`, `arena_handle_slice`) gives you ONE reference;
 *      `arena_handle_retain` adds one more. Each reference must be dropped with exactly one
 *      `arena_handle_release`. When a handle's last reference is dropped, the handle is dead.
 *   2. `data` is valid, and its `len` bytes readable, while the handle that came with it is
 *      alive. Never write through it: other views may share the memory. Never `free` it.
 *   3. A dead handle is never reused: releasing, retaining or slicing it again returns
 *      `ARENA_ERR_INVALID_HANDLE` (never a crash, never an effect on another handle). So do a
 *      null handle (`ARENA_ERR_NULL_HANDLE`) and any pointer this library did not hand out.
 *   4. A slice is a handle of its own: it keeps the memory alive by itself, and releasing the
 *      handle it was cut from does not invalidate it.
 *   5. Imported memory: your callback is called exactly once, with the `context`, `data` and
 *      `len` you passed, on whichever thread drops the last view, after which the library never
 *      touches the memory again. Until then the memory must stay valid and unchanged. If
 *      `arena_bytes_import` returns an error, the callback is never called and the memory
 *      stays yours.
 *
 * All functions are thread-safe. Handles may be released on any thread.
 * Every function that can fail returns an `arena_status_t`: `ARENA_OK` (0) or a negative
 * `ARENA_ERR_*` code. On failure, out-parameters are left untouched.
 *
 * Handles handed out and not yet released are counted, so a foreign side that forgets a
 * release shows up: process-wide by `arena_live_handles`, and per arena in the Swift
 * statistics (`ArenaStatistics.liveForeignExports`; imported memory counts in the shared
 * arena's). A handle counts once however many references it has.
 */
#ifndef ARENA_FFI_H
#define ARENA_FFI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque handle on a Swift `Bytes`: one or more references that keep its memory alive. */
typedef struct arena_handle arena_handle_t;

/**
 * A byte buffer handed to C: `len` bytes at `data`, kept alive by `handle`.
 *
 * `data` is never NULL, even when `len` is 0 (then it must not be read).
 */
typedef struct arena_bytes {
    /** The first byte; the same address the Swift view uses. Read-only. */
    const uint8_t *data;
    /** The number of bytes. */
    size_t len;
    /** The handle that keeps `data` alive; release it once per reference. */
    arena_handle_t *handle;
} arena_bytes_t;

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/* The Swift side writes the three fields at these offsets. */
_Static_assert(offsetof(arena_bytes_t, data) == 0, "arena_bytes_t.data offset");
_Static_assert(offsetof(arena_bytes_t, len) == sizeof(void *), "arena_bytes_t.len offset");
_Static_assert(offsetof(arena_bytes_t, handle) == 2 * sizeof(void *), "arena_bytes_t.handle offset");
#endif

/** The result of a fallible call: `ARENA_OK` or one of the negative `ARENA_ERR_*` codes. */
typedef int32_t arena_status_t;

/** Status codes. New codes may be added; treat any negative value as an error. */
enum arena_status_code {
    /** Success. */
    ARENA_OK = 0,
    /** The handle was NULL. */
    ARENA_ERR_NULL_HANDLE = -1,
    /** The handle is not live: already released (its last reference), or never handed out. */
    ARENA_ERR_INVALID_HANDLE = -2,
    /** `offset + len` of a slice lies past the end of the handle's bytes. */
    ARENA_ERR_OUT_OF_BOUNDS = -3,
    /** A required pointer (an out-parameter, or `data` with `len > 0`) was NULL. */
    ARENA_ERR_NULL_ARGUMENT = -4,
    /** A length does not fit in a signed pointer-sized integer (`PTRDIFF_MAX`). */
    ARENA_ERR_TOO_LARGE = -5,
    /** The arena could not provide the memory (out of memory, or its limit). */
    ARENA_ERR_ALLOCATION_FAILED = -6
};

/**
 * Called once when the last view of imported memory dies, with the values given to
 * `arena_bytes_import`. Runs on whichever thread drops that view, outside any lock of this
 * library, so it may call this library (for example to release other handles).
 */
typedef void (*arena_release_fn)(void *context, const uint8_t *data, size_t len);

/**
 * Copies `len` bytes at `data` into the process-wide arena and hands out the new buffer.
 *
 * On success, `*out` holds the new memory and a new handle with one reference: the caller
 * releases it once. `data` may be NULL when `len` is 0.
 *
 * Errors: ARENA_ERR_NULL_ARGUMENT, ARENA_ERR_TOO_LARGE, ARENA_ERR_ALLOCATION_FAILED.
 */
arena_status_t arena_bytes_copy(const uint8_t *data, size_t len, arena_bytes_t *out);

/**
 * Imports foreign memory without copying: it becomes a Swift `Bytes`, and `*out` a handle on it
 * with one reference (the caller releases it once; `out->data == data`).
 *
 * `release` (which may be NULL, for memory that needs no release) is called exactly once with
 * `(context, data, len)` after the last view of the memory, in Swift or through a handle or a
 * slice of it, is gone. Until then the caller keeps the memory valid and unchanged. On error
 * nothing is kept and `release` is never called. `data` may be NULL when `len` is 0 (then
 * `out->data` is a non-NULL placeholder, and `release` still gets NULL).
 *
 * Errors: ARENA_ERR_NULL_ARGUMENT, ARENA_ERR_TOO_LARGE.
 */
arena_status_t arena_bytes_import(
    const uint8_t *data,
    size_t len,
    arena_release_fn release,
    void *context,
    arena_bytes_t *out
);

/**
 * Describes a live handle without adding a reference: `out->data` is the address of the
 * Swift view the handle holds (its `region.baseAddress`), `out->handle == handle`.
 *
 * Errors: ARENA_ERR_NULL_HANDLE, ARENA_ERR_INVALID_HANDLE, ARENA_ERR_NULL_ARGUMENT.
 */
arena_status_t arena_handle_get(arena_handle_t *handle, arena_bytes_t *out);

/**
 * Adds one reference to a live handle; the caller must release it once more.
 *
 * Errors: ARENA_ERR_NULL_HANDLE, ARENA_ERR_INVALID_HANDLE.
 */
arena_status_t arena_handle_retain(arena_handle_t *handle);

/**
 * Hands out bytes `[offset, offset + len)` of a live handle's buffer as a new handle with one
 * reference, sharing the memory (`out->data == data + offset`). The caller releases the new
 * handle once; it stays valid after the original is released.
 *
 * Errors: ARENA_ERR_NULL_HANDLE, ARENA_ERR_INVALID_HANDLE, ARENA_ERR_NULL_ARGUMENT,
 * ARENA_ERR_OUT_OF_BOUNDS.
 */
arena_status_t arena_handle_slice(arena_handle_t *handle, size_t offset, size_t len, arena_bytes_t *out);

/**
 * Drops one reference. After the last one, the handle is dead and its memory goes back once
 * no other view (Swift or handle) uses it. A dead or unknown handle is not touched.
 *
 * Errors: ARENA_ERR_NULL_HANDLE, ARENA_ERR_INVALID_HANDLE.
 */
arena_status_t arena_handle_release(arena_handle_t *handle);

/** The number of live handles in the process (handed out, last reference not yet released). */
size_t arena_live_handles(void);

/**
 * A short static English description of a status code ("ok", "invalid handle", ...); never
 * NULL, never to be freed. Unknown codes give "unknown status".
 */
const char *arena_status_description(arena_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* ARENA_FFI_H */
