"""Discovery for ``docpipe scan``: the submissions under a folder, their ids, their hashes.

Nothing is trusted and nothing blocks: the tree is walked without following links and
without recursion, ``submission.json`` is read as intake reads it (only a regular file,
never a FIFO or a link), and a submission's content is hashed without following links,
opening special files or reading a huge file whole (see ``content_sha256``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import stat
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

from docpipe.archive import (
    MAX_ZIP_ENTRIES,
    ZIP_ERRORS,
    decode_zip_name,
    is_folder_entry,
    submission_folder,
    unsafe_reason,
)
from docpipe.errors import DocpipeError, InputError
from docpipe.intake import (
    HASH_CONTENT_MAX_BYTES,
    MAX_SUBMISSION_JSON_BYTES,
    SUBMISSION_JSON,
    FolderEntry,
    open_regular,
    parse_submission,
    printable_name,
    read_submission_json,
    submission_id_of,
    walk_folder,
)

log = logging.getLogger(__name__)

_RESERVED = {"index.html", "summary.json"}
_UNSAFE = re.compile(r"[^\w.\-]+")


def find_submissions(root: Path, exclude: Path | None = None) -> list[Path]:
    """Every submission folder or zip under ``root``, sorted by path.

    Raises ``InputError`` when ``root`` is missing or unreadable.
    """
    if root.is_file() and root.suffix.lower() == ".zip":
        return [root]
    if not root.is_dir():
        raise InputError(f"not a folder or zip: {root}", f"不是文件夹或 zip 文件：{root}")
    try:
        os.listdir(root)
    except OSError as exc:
        raise InputError(f"cannot read {root}: {exc.strerror}", f"无法读取 {root}") from exc
    skip = exclude.resolve() if exclude is not None else None
    found: list[Path] = []
    # Iterative, not os.walk: a deep tree must not end the scan with a RecursionError.
    stack = [root]
    while stack:
        here = stack.pop()
        if skip is not None and here.resolve() == skip:
            continue
        try:
            with os.scandir(here) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            log.warning("skipped unreadable %s: %s", printable_name(str(here)), exc.strerror)
            continue
        if any(e.name == SUBMISSION_JSON for e in entries):
            found.append(here)  # a submission's subfolders are its own business
            continue
        for e in entries:
            try:
                is_dir, is_link = e.is_dir(), e.is_symlink()
            except OSError:
                is_dir, is_link = False, False
            if is_dir and not is_link:  # as os.walk: a linked folder is not descended
                stack.append(Path(e.path))
            elif not is_dir and e.name.lower().endswith(".zip"):
                found.append(Path(e.path))
    return sorted(found, key=lambda p: p.as_posix())


def sanitize_key(name: str) -> str:
    """Make a submission id a file-system-safe folder name.

    >>> sanitize_key("永康/天佳 2026:01")
    '永康_天佳_2026_01'
    >>> sanitize_key("../.."), sanitize_key("index.html")
    ('submission', '_index.html')
    """
    key = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip("._")[:100]
    if not key:
        return "submission"
    return f"_{key}" if key.lower() in _RESERVED else key


def declared_id(path: Path) -> str:
    """Return the submission's own id: its ``submission_id`` if usable, else its name.

    Read as intake reads it (the same ``submission.json``, the same parser and the same
    rule for a usable id), but only as a hint: whatever the file is (a FIFO, a link, a
    10,000-level nesting, junk), the answer is the name.
    """
    fallback = path.stem if path.suffix.lower() == ".zip" and not path.is_dir() else path.name
    try:
        raw = _submission_json_of(path)
        submission = parse_submission(raw) if raw is not None else None
    except (DocpipeError, *ZIP_ERRORS) as exc:
        log.debug("no submission_id from %s: %s", printable_name(str(path)), type(exc).__name__)
        submission = None
    return submission_id_of(submission, fallback)


def _submission_json_of(path: Path) -> bytes | None:
    """The bytes of the submission.json intake would read, or None; never blocks."""
    st = os.stat(path)  # the submission itself may be a link (as for ``check``)
    if stat.S_ISDIR(st.st_mode):
        # As intake reads it: never a link, a FIFO or a device (it would never end).
        json_path = path / SUBMISSION_JSON
        raw, _ = read_submission_json(FolderEntry(SUBMISSION_JSON, json_path, os.lstat(json_path)))
        return raw
    if not stat.S_ISREG(st.st_mode):
        return None
    with open_regular(path, path.name, follow=True) as fh, zipfile.ZipFile(fh) as zf:
        infos = [i for i in zf.infolist() if not is_folder_entry(i)]
        if len(infos) > MAX_ZIP_ENTRIES:
            return None
        named = [(decode_zip_name(i), i) for i in infos]
        # The same member intake takes: the shallowest safe submission.json.
        folder = "/".join(submission_folder(named))
        wanted = f"{folder}/{SUBMISSION_JSON}" if folder else SUBMISSION_JSON
        for name, info in named:
            clean = "/".join(p for p in name.split("/") if p not in ("", "."))
            if clean == wanted and unsafe_reason(name, info) is None:
                if info.file_size > MAX_SUBMISSION_JSON_BYTES:
                    return None
                with zf.open(info) as member:
                    return member.read(MAX_SUBMISSION_JSON_BYTES + 1)
    return None


def content_sha256(path: Path, exclude: Path | None = None) -> str:
    """Hash of a submission's content (see the module docstring); never blocks, never follows.

    Every entry is taken by ``lstat``: a link is hashed by its target's name (never
    followed out of the submission), a FIFO or device by its type (never opened), a
    regular file up to ``HASH_CONTENT_MAX_BYTES`` by its bytes, a larger one by its size
    and modification time. Streaming a 2 GB file costs seconds per scan (a sparse file
    can claim terabytes), and such a file is refused as too large without being
    decoded, so its bytes cannot change the report: a new size or mtime is enough to
    notice that it was replaced.
    """
    digest = hashlib.sha256()
    st = os.stat(path)  # the submission itself may be a link (as for ``check``)
    if not stat.S_ISDIR(st.st_mode):
        if stat.S_ISREG(st.st_mode) and st.st_size <= HASH_CONTENT_MAX_BYTES:
            with contextlib.suppress(DocpipeError), open_regular(path, "", follow=True) as fh:
                return hashlib.file_digest(fh, "sha256").hexdigest()  # a zip: its bytes
        _hash_file(digest, path, st, follow=True)
        return digest.hexdigest()
    listed = sorted(walk_folder(path, exclude=exclude), key=lambda e: e.rel)
    for entry in listed:
        digest.update(os.fsencode(entry.rel) + b"\0")
        if entry.st is None or entry.problem is not None:
            digest.update(b"problem\0")
        else:
            _hash_file(digest, entry.path, entry.st, follow=False)
    return digest.hexdigest()


def _hash_file(digest: Any, path: Path, st: os.stat_result, *, follow: bool) -> None:
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        try:
            digest.update(b"link\0" + os.fsencode(os.readlink(path)) + b"\0")
        except OSError as exc:
            digest.update(f"link-unreadable:{exc.errno}\0".encode())
    elif not stat.S_ISREG(mode):
        digest.update(f"special:{stat.S_IFMT(mode):o}\0".encode())
    elif st.st_size > HASH_CONTENT_MAX_BYTES:
        digest.update(f"large:{st.st_size}:{st.st_mtime_ns}\0".encode())
    else:
        try:
            with open_regular(path, path.name, follow=follow) as fh:
                data = fh.read(HASH_CONTENT_MAX_BYTES + 1)
        except DocpipeError as exc:  # the review reports it; the hash only needs to be stable
            digest.update(f"unreadable:{exc.message_en}\0".encode("utf-8", "backslashreplace"))
            return
        digest.update(f"{len(data)}\0".encode())
        digest.update(data)
