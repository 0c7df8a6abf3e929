"""Process-wide malloc settings of the long-running worker (glibc only); nothing else here."""

from __future__ import annotations

import ctypes
import functools

__all__ = ["keep_heap_compact", "release_free_memory"]

# mallopt parameters (malloc.h) and the values set: glibc's own defaults.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_THRESHOLD = 128 * 1024


@functools.cache
def keep_heap_compact() -> bool:
    """Stop glibc from raising its mmap threshold as the process runs; True when applied.

    By default glibc raises the threshold above which a block gets its own mapping (up to
    32 MiB) each time such a block is freed. After the first tick frees a large buffer (a
    50,000-row read is a few MiB), every big transient buffer of later ticks comes from the
    heap instead, and what the heap keeps between them stays resident: ~10 MiB more after a
    working tick at 50,000 rows, for good. Setting the two thresholds, even to their default
    values, turns that adjustment off: big buffers are mapped and unmapped again, and the
    heap's free top is returned. Elsewhere (musl, macOS) nothing is changed."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _THRESHOLD)
    )


def release_free_memory() -> bool:
    """Give the heap's free pages back to the system (glibc ``malloc_trim``): called after a
    tick, so what a working tick freed (the sheet read, the rendered e-mails) does not stay
    resident until the next one. True when it could be called."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    trim(0)
    return True
