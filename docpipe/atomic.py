"""Atomic file writes: a reader sees the old file or the whole new one, never half.

A temp file in the same directory is written, flushed to disk, then renamed over the
target (``os.replace`` is atomic within one file system), and the directory entry is
synced so the rename survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def is_temp_name(name: str) -> bool:
    """Tell whether ``name`` is a temp file of :func:`write_bytes_atomic` (``.<name>.<rand>.tmp``).

    >>> is_temp_name(".report.json.k2j_9x.tmp"), is_temp_name("report.json")
    (True, False)
    """
    return name.startswith(".") and name.endswith(".tmp")


def remove_stale_temps(directory: Path) -> list[Path]:
    """Delete temp files a killed writer left in ``directory``; return what was removed.

    Only call this when no other writer is active in ``directory`` (e.g. at the start of
    a scan): a live writer's temp file would be removed under it.
    """
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for entry in directory.iterdir():
        if entry.is_file() and is_temp_name(entry.name):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed
