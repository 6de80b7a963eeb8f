#!/usr/bin/env python3
"""The Python side of the ArenaFFI cross-language test, through ctypes.

Run by Scripts/test.d/30-ffi:  python3 Tests/FFI/ffi_test.py path/to/libArenaFFI.so
Prints one line per check; exits 0 only if every check passed.
"""

import ctypes
import sys

ARENA_OK = 0
ARENA_ERR_NULL_HANDLE = -1
ARENA_ERR_INVALID_HANDLE = -2
ARENA_ERR_OUT_OF_BOUNDS = -3
ARENA_ERR_NULL_ARGUMENT = -4


class ArenaBytes(ctypes.Structure):
    """arena_bytes_t: data, len, handle."""

    _fields_ = [
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_size_t),
        ("handle", ctypes.c_void_p),
    ]

    @property
    def address(self):
        return ctypes.cast(self.data, ctypes.c_void_p).value

    def contents(self):
        return ctypes.string_at(self.data, self.len)


RELEASE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t)


def load(path):
    lib = ctypes.CDLL(path)
    status = ctypes.c_int32
    out = ctypes.POINTER(ArenaBytes)
    signatures = {
        "arena_bytes_copy": (status, [ctypes.c_void_p, ctypes.c_size_t, out]),
        "arena_bytes_import": (status, [ctypes.c_void_p, ctypes.c_size_t, RELEASE_FN, ctypes.c_void_p, out]),
        "arena_handle_get": (status, [ctypes.c_void_p, out]),
        "arena_handle_retain": (status, [ctypes.c_void_p]),
        "arena_handle_slice": (status, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, out]),
        "arena_handle_release": (status, [ctypes.c_void_p]),
        "arena_live_handles": (ctypes.c_size_t, []),
        "arena_status_description": (ctypes.c_char_p, [status]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class Checks:
    def __init__(self):
        self.count = 0
        self.failures = 0

    def __call__(self, condition, message):
        self.count += 1
        if not condition:
            self.failures += 1
        print(("ok   - " if condition else "FAIL - ") + message, flush=True)


def test_export_and_slices(lib, check):
    content = bytes((i * 7 + 3) % 256 for i in range(256))
    buffer = ArenaBytes()
    check(lib.arena_bytes_copy(content, len(content), ctypes.byref(buffer)) == ARENA_OK,
          "arena_bytes_copy of 256 bytes returns ARENA_OK")
    check(buffer.handle is not None and buffer.address is not None, "a buffer arrives with a data pointer and a handle")
    check(buffer.len == len(content), f"its length is {buffer.len}")

    swift_side = ArenaBytes()
    check(lib.arena_handle_get(buffer.handle, ctypes.byref(swift_side)) == ARENA_OK, "arena_handle_get returns ARENA_OK")
    check(swift_side.address == buffer.address,
          f"the address equals the Swift view's region.baseAddress ({swift_side.address:#x})")
    check(buffer.contents() == content, "the content reads back byte for byte through the pointer")
    check(lib.arena_live_handles() == 1, "one live handle")

    piece = ArenaBytes()
    check(lib.arena_handle_slice(buffer.handle, 16, 32, ctypes.byref(piece)) == ARENA_OK,
          "slice [16, 48) returns ARENA_OK")
    check(piece.address == buffer.address + 16, "the slice points into the same memory at +16")
    check(piece.contents() == content[16:48], "the slice reads bytes 16..<48")
    untouched = ArenaBytes()
    check(lib.arena_handle_slice(buffer.handle, 250, 7, ctypes.byref(untouched)) == ARENA_ERR_OUT_OF_BOUNDS,
          "slice [250, 257) of 256 bytes returns ARENA_ERR_OUT_OF_BOUNDS")
    check(untouched.handle is None, "a failed slice leaves its out-parameter alone")

    check(lib.arena_handle_retain(buffer.handle) == ARENA_OK, "retain adds a reference")
    check(lib.arena_handle_release(buffer.handle) == ARENA_OK, "release drops it again")
    check(lib.arena_handle_release(buffer.handle) == ARENA_OK, "release the buffer's last reference")
    check(piece.contents() == content[16:48], "the slice still reads its bytes after the parent's release")
    check(lib.arena_handle_release(buffer.handle) == ARENA_ERR_INVALID_HANDLE,
          "a double release returns ARENA_ERR_INVALID_HANDLE")
    check(lib.arena_handle_release(piece.handle) == ARENA_OK, "release the slice")
    check(lib.arena_live_handles() == 0, "the live-handle count is back to zero")


def test_import(lib, check):
    text = b"foreign memory from Python"
    memory = ctypes.create_string_buffer(text, len(text))
    address = ctypes.addressof(memory)
    calls = []

    def on_release(context, data, length):
        calls.append((context, ctypes.cast(data, ctypes.c_void_p).value, length))

    callback = RELEASE_FN(on_release)  # kept alive until the callback has run
    imported = ArenaBytes()
    check(lib.arena_bytes_import(address, len(text), callback, 0x5EED, ctypes.byref(imported)) == ARENA_OK,
          f"arena_bytes_import of {len(text)} Python-owned bytes returns ARENA_OK")
    check(imported.address == address, "the imported buffer keeps our address, no copy")
    swift_side = ArenaBytes()
    check(lib.arena_handle_get(imported.handle, ctypes.byref(swift_side)) == ARENA_OK
          and swift_side.address == address, "the Swift view of it has our address too")

    word = ArenaBytes()
    check(lib.arena_handle_slice(imported.handle, 8, 6, ctypes.byref(word)) == ARENA_OK
          and word.contents() == b"memory", 'slice [8, 14) reads "memory"')
    check(lib.arena_handle_release(imported.handle) == ARENA_OK, "release the import")
    check(calls == [], "the callback has not run: the slice is alive")
    check(lib.arena_handle_release(word.handle) == ARENA_OK, "release the slice, the last view")
    check(calls == [(0x5EED, address, len(text))], "the release callback ran exactly once, with our context, address and length")
    check(lib.arena_handle_release(word.handle) == ARENA_ERR_INVALID_HANDLE,
          "a double release returns ARENA_ERR_INVALID_HANDLE")
    check(len(calls) == 1, "the callback still ran only once")
    check(lib.arena_live_handles() == 0, "the live-handle count is back to zero")


def test_bad_handles(lib, check):
    out = ArenaBytes()
    check(lib.arena_handle_release(None) == ARENA_ERR_NULL_HANDLE, "release(NULL) returns ARENA_ERR_NULL_HANDLE")
    check(lib.arena_handle_retain(None) == ARENA_ERR_NULL_HANDLE, "retain(NULL) returns ARENA_ERR_NULL_HANDLE")
    check(lib.arena_handle_slice(None, 0, 0, ctypes.byref(out)) == ARENA_ERR_NULL_HANDLE,
          "slice(NULL) returns ARENA_ERR_NULL_HANDLE")
    check(lib.arena_handle_release(0xDEADBEE0) == ARENA_ERR_INVALID_HANDLE,
          "releasing a value the library never handed out returns ARENA_ERR_INVALID_HANDLE")
    check(lib.arena_bytes_copy(b"x", 1, None) == ARENA_ERR_NULL_ARGUMENT,
          "a NULL out-parameter returns ARENA_ERR_NULL_ARGUMENT")
    description = lib.arena_status_description(ARENA_ERR_INVALID_HANDLE).decode()
    check(description == "invalid handle (released or unknown)",
          f'arena_status_description(ARENA_ERR_INVALID_HANDLE) is "{description}"')
    check(lib.arena_live_handles() == 0, "the live-handle count is back to zero")


def main():
    if len(sys.argv) != 2:
        print("usage: ffi_test.py path/to/libArenaFFI.so", file=sys.stderr)
        return 2
    try:
        lib = load(sys.argv[1])
    except OSError as error:
        print(f"ffi_test.py: cannot load {sys.argv[1]}: {error}", file=sys.stderr)
        return 1
    check = Checks()
    print("# ArenaFFI from Python ctypes", flush=True)
    test_export_and_slices(lib, check)
    test_import(lib, check)
    test_bad_handles(lib, check)
    print(f"# Python: {check.count} checks, {check.failures} failed", flush=True)
    return 0 if check.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
