/*
 * The C side of the ArenaFFI cross-language test: run by Scripts/test.d/30-ffi against
 * libArenaFFI.so. Prints one line per check; exits 0 only if every check passed.
 *
 *   cc -Wall -Wextra -Werror -std=c11 -I Sources/ArenaFFI/include Tests/FFI/ffi_test.c \
 *      -L "$BIN" -lArenaFFI -o ffi_test && LD_LIBRARY_PATH="$BIN" ./ffi_test
 */
#include "arena_ffi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(condition, ...)                                                                    \
    do {                                                                                         \
        checks++;                                                                                \
        if (condition) {                                                                         \
            printf("ok   - ");                                                                   \
        } else {                                                                                 \
            failures++;                                                                          \
            printf("FAIL - (%s:%d: %s) ", __FILE__, __LINE__, #condition);                      \
        }                                                                                        \
        printf(__VA_ARGS__);                                                                     \
        printf("\n");                                                                            \
    } while (0)

/* What the release callback saw. */
struct release_log {
    int calls;
    const void *context;
    const uint8_t *data;
    size_t len;
};

static void record_release(void *context, const uint8_t *data, size_t len) {
    struct release_log *log = context;
    log->calls++;
    log->context = context;
    log->data = data;
    log->len = len;
    free((void *)data);
}

static void test_export_and_slices(void) {
    uint8_t content[256];
    for (size_t i = 0; i < sizeof content; i++) content[i] = (uint8_t)(i * 7 + 3);

    arena_bytes_t buffer = {0};
    arena_status_t status = arena_bytes_copy(content, sizeof content, &buffer);
    CHECK(status == ARENA_OK, "arena_bytes_copy of %zu bytes returns ARENA_OK", sizeof content);
    CHECK(buffer.handle != NULL && buffer.data != NULL, "a buffer arrives with a data pointer and a handle");
    CHECK(buffer.len == sizeof content, "its length is %zu", buffer.len);
    CHECK(buffer.data != content, "it is the library's memory, not ours");

    arena_bytes_t swift_side = {0};
    CHECK(arena_handle_get(buffer.handle, &swift_side) == ARENA_OK, "arena_handle_get returns ARENA_OK");
    CHECK(swift_side.data == buffer.data, "the address equals the Swift view's region.baseAddress (%p)",
          (const void *)swift_side.data);
    CHECK(swift_side.handle == buffer.handle && swift_side.len == buffer.len, "arena_handle_get describes the same handle");
    CHECK(memcmp(buffer.data, content, sizeof content) == 0, "the content reads back byte for byte through the pointer");
    CHECK(arena_live_handles() == 1, "one live handle");

    arena_bytes_t slice = {0};
    CHECK(arena_handle_slice(buffer.handle, 16, 32, &slice) == ARENA_OK, "slice [16, 48) returns ARENA_OK");
    CHECK(slice.data == buffer.data + 16, "the slice points into the same memory at +16");
    CHECK(slice.len == 32 && memcmp(slice.data, content + 16, 32) == 0, "the slice reads bytes 16..<48");
    CHECK(slice.handle != buffer.handle, "the slice has a handle of its own");

    arena_bytes_t untouched = {0};
    CHECK(arena_handle_slice(buffer.handle, 250, 7, &untouched) == ARENA_ERR_OUT_OF_BOUNDS,
          "slice [250, 257) of 256 bytes returns ARENA_ERR_OUT_OF_BOUNDS");
    CHECK(arena_handle_slice(buffer.handle, SIZE_MAX, 2, &untouched) == ARENA_ERR_OUT_OF_BOUNDS,
          "an overflowing slice returns ARENA_ERR_OUT_OF_BOUNDS");
    CHECK(untouched.handle == NULL && untouched.data == NULL, "a failed slice leaves its out-parameter alone");
    arena_bytes_t end = {0};
    CHECK(arena_handle_slice(buffer.handle, 256, 0, &end) == ARENA_OK && end.len == 0,
          "the empty slice at the end is in bounds");
    CHECK(arena_handle_release(end.handle) == ARENA_OK, "release the empty slice");

    CHECK(arena_handle_retain(buffer.handle) == ARENA_OK, "retain adds a reference");
    CHECK(arena_handle_release(buffer.handle) == ARENA_OK, "release drops it again");
    CHECK(arena_live_handles() == 2, "two live handles: the buffer and its slice");
    CHECK(arena_handle_release(buffer.handle) == ARENA_OK, "release the buffer's last reference");
    CHECK(arena_live_handles() == 1, "one live handle: the slice");
    CHECK(memcmp(slice.data, content + 16, 32) == 0, "the slice still reads its bytes after the parent's release");
    CHECK(arena_handle_release(buffer.handle) == ARENA_ERR_INVALID_HANDLE,
          "a second release of the buffer returns ARENA_ERR_INVALID_HANDLE");
    CHECK(arena_handle_release(slice.handle) == ARENA_OK, "release the slice");
    CHECK(arena_handle_release(slice.handle) == ARENA_ERR_INVALID_HANDLE,
          "a second release of the slice returns ARENA_ERR_INVALID_HANDLE");
    CHECK(arena_live_handles() == 0, "the live-handle count is back to zero");
}

static void test_import(void) {
    const char *text = "foreign memory from C";
    size_t len = strlen(text);
    uint8_t *memory = malloc(len);
    if (memory == NULL) abort();
    memcpy(memory, text, len);
    struct release_log log = {0};

    arena_bytes_t imported = {0};
    arena_status_t status = arena_bytes_import(memory, len, record_release, &log, &imported);
    CHECK(status == ARENA_OK, "arena_bytes_import of %zu malloc'd bytes returns ARENA_OK", len);
    CHECK(imported.data == memory, "the imported buffer keeps our address, no copy");
    arena_bytes_t swift_side = {0};
    CHECK(arena_handle_get(imported.handle, &swift_side) == ARENA_OK && swift_side.data == memory,
          "the Swift view of it has our address too");

    arena_bytes_t word = {0};
    CHECK(arena_handle_slice(imported.handle, 8, 6, &word) == ARENA_OK && memcmp(word.data, "memory", 6) == 0,
          "slice [8, 14) reads \"memory\"");
    CHECK(arena_handle_retain(imported.handle) == ARENA_OK, "retain the import");
    CHECK(arena_handle_release(imported.handle) == ARENA_OK, "release once");
    CHECK(arena_handle_release(imported.handle) == ARENA_OK, "release the import's last reference");
    CHECK(log.calls == 0, "the callback has not run: the slice is alive");
    CHECK(arena_handle_release(word.handle) == ARENA_OK, "release the slice, the last view");
    CHECK(log.calls == 1, "the release callback ran exactly once");
    CHECK(log.context == &log && log.data == memory && log.len == len, "with our context, address and length");
    CHECK(arena_handle_release(word.handle) == ARENA_ERR_INVALID_HANDLE,
          "a double release returns ARENA_ERR_INVALID_HANDLE");
    CHECK(arena_handle_release(imported.handle) == ARENA_ERR_INVALID_HANDLE,
          "so does a third release of the import");
    CHECK(log.calls == 1, "the callback still ran only once");

    struct release_log refused = {0};
    arena_bytes_t nothing = {0};
    CHECK(arena_bytes_import(NULL, 4, record_release, &refused, &nothing) == ARENA_ERR_NULL_ARGUMENT,
          "importing NULL with a length returns ARENA_ERR_NULL_ARGUMENT");
    CHECK(refused.calls == 0 && nothing.handle == NULL, "and keeps nothing, calls nothing");
    CHECK(arena_live_handles() == 0, "the live-handle count is back to zero");
}

static void test_bad_handles(void) {
    arena_bytes_t out = {0};
    CHECK(arena_handle_release(NULL) == ARENA_ERR_NULL_HANDLE, "release(NULL) returns ARENA_ERR_NULL_HANDLE");
    CHECK(arena_handle_retain(NULL) == ARENA_ERR_NULL_HANDLE, "retain(NULL) returns ARENA_ERR_NULL_HANDLE");
    CHECK(arena_handle_slice(NULL, 0, 0, &out) == ARENA_ERR_NULL_HANDLE, "slice(NULL) returns ARENA_ERR_NULL_HANDLE");
    CHECK(arena_handle_get(NULL, &out) == ARENA_ERR_NULL_HANDLE, "get(NULL) returns ARENA_ERR_NULL_HANDLE");

    int not_a_handle = 42;
    arena_handle_t *bogus = (arena_handle_t *)&not_a_handle;
    CHECK(arena_handle_release(bogus) == ARENA_ERR_INVALID_HANDLE,
          "releasing a pointer the library never handed out returns ARENA_ERR_INVALID_HANDLE");
    CHECK(not_a_handle == 42, "and does not touch it");

    arena_bytes_t first = {0};
    arena_bytes_t second = {0};
    uint8_t one = 1;
    uint8_t two = 2;
    CHECK(arena_bytes_copy(&one, 1, &first) == ARENA_OK && arena_handle_release(first.handle) == ARENA_OK,
          "copy and release a first buffer");
    CHECK(arena_bytes_copy(&two, 1, &second) == ARENA_OK, "copy a second buffer");
    CHECK(first.handle != second.handle, "a new handle never reuses a dead one's value");
    CHECK(arena_handle_release(first.handle) == ARENA_ERR_INVALID_HANDLE,
          "a stale release returns ARENA_ERR_INVALID_HANDLE");
    CHECK(arena_live_handles() == 1 && second.data[0] == 2, "and leaves the second buffer alone");
    CHECK(arena_handle_release(second.handle) == ARENA_OK, "release the second buffer");
    CHECK(arena_bytes_copy(&one, 1, NULL) == ARENA_ERR_NULL_ARGUMENT, "a NULL out-parameter returns ARENA_ERR_NULL_ARGUMENT");
    CHECK(strcmp(arena_status_description(ARENA_ERR_INVALID_HANDLE), "invalid handle (released or unknown)") == 0,
          "arena_status_description(ARENA_ERR_INVALID_HANDLE) is \"%s\"",
          arena_status_description(ARENA_ERR_INVALID_HANDLE));
    CHECK(arena_live_handles() == 0, "the live-handle count is back to zero");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("# ArenaFFI from C\n");
    test_export_and_slices();
    test_import();
    test_bad_handles();
    printf("# C: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
