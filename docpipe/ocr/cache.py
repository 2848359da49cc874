"""OCR a page once: results cached by the content hash of the page image.

The key is the sha256 of the pixels and their shape plus the engine name, so the same
page reached twice (a resumed scan, the same scan uploaded twice, a test run again) is
read from the cache. Memory first, then ``DOCPIPE_CACHE_DIR`` on disk when set.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from docpipe.atomic import write_text_atomic
from docpipe.ocr.base import OcrLine

_MEMORY: OrderedDict[str, list[OcrLine]] = OrderedDict()
_MEMORY_MAX = 256
_LOCK = threading.Lock()


def image_key(image: np.ndarray) -> str:
    """Content hash of an image array (pixels and shape)."""
    h = hashlib.sha256()
    h.update(repr((image.shape, str(image.dtype))).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


def _disk_dir() -> Path | None:
    value = os.environ.get("DOCPIPE_CACHE_DIR")
    return Path(value) if value else None


def get(key: str) -> list[OcrLine] | None:
    """Cached lines for ``key``, from memory or disk; ``None`` when not cached."""
    with _LOCK:
        if key in _MEMORY:
            _MEMORY.move_to_end(key)
            return [ln.model_copy() for ln in _MEMORY[key]]
    disk = _disk_dir()
    if disk is not None:
        path = disk / key[:2] / f"{key}.json"
        if path.is_file():
            try:
                lines = [OcrLine.model_validate(x) for x in json.loads(path.read_text("utf-8"))]
            except (ValueError, OSError):
                return None  # a damaged cache entry is a miss, not an error
            put(key, lines, disk=False)
            return lines
    return None


def put(key: str, lines: list[OcrLine], *, disk: bool = True) -> None:
    """Remember the lines of ``key`` in memory and, when configured, on disk."""
    with _LOCK:
        _MEMORY[key] = [ln.model_copy() for ln in lines]
        _MEMORY.move_to_end(key)
        while len(_MEMORY) > _MEMORY_MAX:
            _MEMORY.popitem(last=False)
    target = _disk_dir()
    if disk and target is not None:
        payload = json.dumps([ln.model_dump() for ln in lines], ensure_ascii=False)
        # Pages' text is personal data: folders 0700 (files are 0600, as mkstemp makes them).
        for folder in (target, target / key[:2]):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_text_atomic(target / key[:2] / f"{key}.json", payload)


def clear_memory() -> None:
    """Forget the in-memory cache (tests, benchmarks)."""
    with _LOCK:
        _MEMORY.clear()


def cached(
    engine: object, image: np.ndarray, read: Callable[[], list[OcrLine]], kind: str = "page"
) -> list[OcrLine]:
    """``read()`` once per image content and engine configuration.

    Only engines that name their configuration (``cache_tag``: the real engines) are
    cached; test fakes share names across different behaviours, so caching them would
    let one test's injected output leak into another's review.
    """
    tag = getattr(engine, "cache_tag", None)
    if tag is None:
        return read()
    key = f"{image_key(image)}-{tag}-{kind}"
    lines = get(key)
    if lines is None:
        lines = read()
        put(key, lines)
    return lines
