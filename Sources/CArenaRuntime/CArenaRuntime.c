#define _GNU_SOURCE
#include <dlfcn.h>

#include "CArenaRuntime.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CARENA_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CARENA_TSAN 1
#endif

#if CARENA_TSAN
// ThreadSanitizer's own annotation interface (compiler-rt, `sanitizer/tsan_interface.h`).
void __tsan_acquire(void *address);
void __tsan_release(void *address);
#endif

#if CARENA_TSAN
const int CArenaRuntime_tsan_active = 1;
#else
const int CArenaRuntime_tsan_active = 0;
#endif

void CArenaRuntime_tsan_acquire(void *address) {
#if CARENA_TSAN
    __tsan_acquire(address);
#else
    (void)address;
#endif
}

void CArenaRuntime_tsan_release(void *address) {
#if CARENA_TSAN
    __tsan_release(address);
#else
    (void)address;
#endif
}

_Thread_local void *CArenaRuntime_threadSlots = NULL;

int CArenaRuntime_dladdr(const void *address, const char **image, void **imageBase, const char **symbol) {
    Dl_info info;
    if (dladdr(address, &info) == 0) return 0;
    *image = info.dli_fname;
    *imageBase = info.dli_fbase;
    *symbol = info.dli_sname;
    return 1;
}
