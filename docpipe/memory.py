"""Give freed memory back to the system between pages (glibc only; a no-op elsewhere).

A worker's peak RSS is what a machine must provision for each worker. The OCR
runtime's threads each get a glibc malloc arena, and the arenas keep what a large page
freed: over eight submissions on OpenVINO a worker grew to 1463 MB. Two arenas and a
``malloc_trim`` after each file kept it 120 MB lower (``bench/review_speed.py`` prints
the peak).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)

# mallopt's parameter number for the most arenas (glibc's malloc.h: M_ARENA_MAX).
_M_ARENA_MAX = -8
ARENAS = 2


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
        return None  # not glibc (musl, macOS): nothing to tune
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (call before the OCR runtime starts its threads)."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def give_back() -> bool:
    """Return the free memory at the top of glibc's heaps to the system."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
