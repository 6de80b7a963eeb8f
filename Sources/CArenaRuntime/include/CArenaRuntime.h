// The package's C helpers that are not jemalloc's: the Swift runtime's batch reference
// counting, a thread-local slot, and ThreadSanitizer annotations. Only `Sources/Arena/Internals` imports this
// module (with `internal import`).
#ifndef CARENA_RUNTIME_H
#define CARENA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#if __has_include(<execinfo.h>)
#include <execinfo.h>
#define CARENA_RUNTIME_HAS_BACKTRACE 1
#endif

/// Adds `n` strong references to a native Swift object in one atomic operation.
///
/// The corresponding runtime call is `swift_retain_n(object, n)`. It is resolved when the
/// program is linked, against libswiftCore whether that is a shared library or linked
/// statically (`--static-swift-stdlib`), so no symbol lookup at run time is needed. The
/// declaration sits inside the function so that Swift never sees the runtime's own name.
static inline void CArenaRuntime_swift_retain_n(void *object, uint32_t n) {
    extern void *swift_retain_n(void *, uint32_t);
    (void)swift_retain_n(object, n);
}

/// Drops `n` strong references from a native Swift object in one atomic operation.
///
/// The corresponding runtime call is `swift_release_n(object, n)`.
static inline void CArenaRuntime_swift_release_n(void *object, uint32_t n) {
    extern void swift_release_n(void *, uint32_t);
    swift_release_n(object, n);
}

/// The strong reference count of a native Swift object: 1 for an object referenced once.
///
/// The corresponding runtime call is `swift_retainCount(object)`. Read at statistics time
/// only, never on an allocation path.
static inline uint64_t CArenaRuntime_swift_retainCount(void *object) {
    extern uint64_t swift_retainCount(void *);
    return swift_retainCount(object);
}

/// Whether a native Swift object's last strong reference is gone (its deinit is running or
/// about to run).
///
/// The corresponding runtime call is `swift_isDeallocating(object)`.
static inline _Bool CArenaRuntime_swift_isDeallocating(void *object) {
    extern _Bool swift_isDeallocating(void *);
    return swift_isDeallocating(object);
}

/// Fills `buffer` with up to `size` return addresses of the calling thread's stack, innermost
/// first; returns how many (0 where the C library has no `backtrace`).
///
/// The corresponding C function is `backtrace(buffer, size)`.
static inline int CArenaRuntime_backtrace(void **buffer, int size) {
#ifdef CARENA_RUNTIME_HAS_BACKTRACE
    return backtrace(buffer, size);
#else
    (void)buffer;
    (void)size;
    return 0;
#endif
}

/// The demangled form of a Swift symbol, in memory from `malloc` (free it), or NULL when the
/// name is not a Swift symbol.
///
/// The corresponding runtime call is `swift_demangle(name, length, NULL, NULL, 0)`.
static inline char *CArenaRuntime_swift_demangle(const char *name, size_t length) {
    extern char *swift_demangle(const char *, size_t, char *, size_t *, uint32_t);
    return swift_demangle(name, length, NULL, NULL, 0);
}

/// The image (file name and load address) and the nearest dynamic symbol of `address`;
/// returns 0 when no image contains it. `symbol` is NULL when the image exports none there.
///
/// The corresponding C function is `dladdr(address, &info)` (a GNU extension on Linux).
int CArenaRuntime_dladdr(const void *address, const char **image, void **imageBase, const char **symbol);

/// The calling thread's chunk slots (`ThreadChunks` in the Arena module), or NULL before the
/// thread's first carve from an arena with thread-local chunks. A C `_Thread_local`, read in
/// one instruction where `pthread_getspecific` is a library call; the slots are still
/// registered with a pthread key, whose destructor gives their chunks back at thread exit.
extern _Thread_local void *CArenaRuntime_threadSlots;

/// The calling thread's chunk slots, or NULL.
static inline void *CArenaRuntime_thread_slots(void) {
    return CArenaRuntime_threadSlots;
}

/// Sets the calling thread's chunk slots.
static inline void CArenaRuntime_set_thread_slots(void *slots) {
    CArenaRuntime_threadSlots = slots;
}

/// 1 when this module was compiled with ThreadSanitizer (`swift build --sanitize=thread`),
/// else 0: a constant, read before the annotation calls below so that a build without the
/// sanitizer makes no call.
extern const int CArenaRuntime_tsan_active;

/// `__tsan_acquire(address)` under ThreadSanitizer; nothing otherwise.
///
/// Compiled in `CArenaRuntime.c` (not inline here): only a C file compiled by the package
/// knows whether the build is sanitized, since Swift's importer does not pass that on.
void CArenaRuntime_tsan_acquire(void *address);

/// `__tsan_release(address)` under ThreadSanitizer; nothing otherwise.
void CArenaRuntime_tsan_release(void *address);

#endif
