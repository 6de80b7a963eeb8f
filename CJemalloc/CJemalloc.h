// The one C header of the package: jemalloc's API plus `static inline` helpers for the
// function-like macros Swift cannot import. Each helper is named `CJemalloc_` + the macro,
// so a grep for the macro finds its wrapper.
#ifndef CJEMALLOC_H
#define CJEMALLOC_H

#include <stddef.h>
#include <jemalloc/jemalloc.h>

/// `MALLOCX_ARENA(a)`: allocate from arena `a`.
static inline int CJemalloc_MALLOCX_ARENA(unsigned arena) { return MALLOCX_ARENA(arena); }

/// `MALLOCX_ALIGN(a)`: align to `a`, a power of two.
static inline int CJemalloc_MALLOCX_ALIGN(size_t alignment) { return MALLOCX_ALIGN(alignment); }

/// `MALLOCX_TCACHE_NONE`: bypass the thread cache (needed before `arena.<i>.destroy`).
static inline int CJemalloc_MALLOCX_TCACHE_NONE(void) { return MALLOCX_TCACHE_NONE; }

/// `MALLCTL_ARENAS_ALL`: the pseudo arena index that selects every arena.
static inline unsigned CJemalloc_MALLCTL_ARENAS_ALL(void) { return MALLCTL_ARENAS_ALL; }

/// `JEMALLOC_VERSION`: the version of the headers the package was built against.
static inline const char *CJemalloc_JEMALLOC_VERSION(void) { return JEMALLOC_VERSION; }

#endif
