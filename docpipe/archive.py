"""Zip archives read safely: in memory, entry by entry, under limits.

Nothing is extracted to disk under a client's file name. Refused per entry (the rest of
the archive is still read): absolute or ``..`` paths, symbolic links, encrypted entries,
an entry whose compression ratio is over ``MAX_ZIP_RATIO`` (a bomb), entries past the
total size budget, corrupt entries, folder entries that carry data. Refused for the
whole archive (``ArchiveUnreadable``): not a zip, a broken central directory, more than
``MAX_ZIP_ENTRIES`` entries.

Entry names are decoded as the client meant them (GBK or UTF-8 without the UTF-8 flag)
and shown by ``printable_name``; ``__MACOSX/`` metadata is skipped. The submission's own
folder is the one holding the shallowest ``submission.json`` (OS litter and refused
entries never decide it); it is stripped from the names of the entries under it, and the
entries outside it keep their full names, so every entry still reaches the report.
"""

from __future__ import annotations

import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from docpipe.errors import DocpipeError, FileUnreadable, SubmissionJsonError, ZipSafetyError

#: Archiver metadata, not uploaded files (macOS resource forks).
ZIP_METADATA_DIRS = frozenset({"__MACOSX"})
#: Operating-system droppings that no portal upload carries (Finder, Explorer thumbnails).
OS_ARTIFACTS = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
SUBMISSION_JSON = "submission.json"
MAX_ZIP_ENTRIES = 200
MAX_ZIP_TOTAL_BYTES = 100 * 1024 * 1024
MAX_ZIP_RATIO = 100
RATIO_MIN_BYTES = 1024 * 1024  # small entries compress well legitimately (blank PNG, text)

#: Characters a report must not show raw: controls (a newline splits a log line, ESC
#: drives a terminal), format characters (U+202E reverses "gpj.exe"), lone surrogates
#: (not encodable as UTF-8), line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Errors of the zipfile module when an archive or an entry is broken.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,  # "File is encrypted": a flag the checks missed
    zlib.error,
)


class ArchiveUnreadable(SubmissionJsonError):
    """The ``.zip`` is not a zip, its directory is broken, or it breaks an archive-wide limit.

    Raised by ``docpipe.intake.load_submission``: an input docpipe cannot work on
    (exit code 2, HTTP 422), named by the archive's file name. Its code is
    ``file_unreadable`` where it is caught per submission.
    """

    code = "file_unreadable"


@dataclass
class ZipContents:
    """What could be read from an archive: entries by cleaned name, and refusals."""

    entries: list[tuple[str, bytes]] = field(default_factory=list)
    errors: dict[str, DocpipeError] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def printable_name(name: str) -> str:
    r"""Return a file name as a report shows it: valid UTF-8 on one line, nothing hidden.

    Bytes that were not UTF-8 (``os.walk``'s surrogate escapes) become ``\xNN``; control
    and format characters become their backslash escapes. Everything else is kept, so
    the name stays recognisable; the real name is kept apart for reading the file.

    >>> printable_name("营业执照 (1).jpg")
    '营业执照 (1).jpg'
    >>> printable_name("\udcff\udcfe.jpg"), printable_name("a\nb\x1b[0m.jpg")
    ('\\xff\\xfe.jpg', 'a\\nb\\x1b[0m.jpg')
    >>> printable_name("gpj\u202e.exe")
    'gpj\\u202e.exe'
    """
    if name.isprintable():
        return name
    out = []
    for ch in name:
        cp = ord(ch)
        if unicodedata.category(ch) not in _HIDDEN:
            out.append(ch)
        elif 0xDC80 <= cp <= 0xDCFF:  # a byte os.fsdecode could not decode
            out.append(f"\\x{cp - 0xDC00:02x}")
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif cp <= 0xFF:
            out.append(f"\\x{cp:02x}")
        else:
            out.append(f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}")
    return "".join(out)


def unique_name(name: str, seen: set[str], fallback: str = "") -> str:
    """Return ``name``, or ``name (#2)``, ``(#3)`` … when it is taken; add it to ``seen``.

    Two entries with one shown name (a duplicate in a zip, two byte names that print
    alike) must stay apart: findings and attachments are keyed by the name.

    >>> seen: set[str] = set()
    >>> unique_name("a.jpg", seen), unique_name("a.jpg", seen), unique_name("", seen, "./")
    ('a.jpg', 'a.jpg (#2)', './ (#2)')
    """
    if name and name not in seen:
        seen.add(name)
        return name
    base, n = name or fallback or "(no name)", 2
    while f"{base} (#{n})" in seen:
        n += 1
    seen.add(f"{base} (#{n})")
    return f"{base} (#{n})"


def is_folder_entry(info: zipfile.ZipInfo) -> bool:
    """Tell whether an entry is a folder (``ZipInfo.is_dir`` fails on an empty name)."""
    return info.filename.endswith("/")


def decode_zip_name(info: zipfile.ZipInfo) -> str:
    """Return the entry's name as the client meant it.

    Without flag bit 11 the bytes are in the archiver's code page; Python decodes them
    as CP437. Chinese Windows archivers write GBK, and some tools write UTF-8 without
    setting the flag, so the raw bytes are tried as UTF-8, then GBK, before CP437.
    """
    if info.flag_bits & 0x800:
        name = info.filename
    else:
        try:
            raw = info.filename.encode("cp437")
        except UnicodeEncodeError:  # already decoded by a metadata_encoding
            raw = None
        name = info.filename
        if raw is not None and not raw.isascii():
            for encoding in ("utf-8", "gbk"):
                try:
                    name = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
    # Decoded first: a GBK trail byte may be 0x5C, which is not a separator.
    return name.replace("\\", "/")


def unsafe_reason(name: str, info: zipfile.ZipInfo) -> tuple[str, str] | None:
    """Why an entry must not be read, as (English, Chinese); None when it is fine."""
    parts = name.split("/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path in the archive", "压缩包内含绝对路径"
    if ".." in parts:
        return "'..' path in the archive (path traversal)", "压缩包内含 '..' 路径（路径穿越）"
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return "symbolic link in the archive", "压缩包内含符号链接"
    if info.flag_bits & 0x1:
        return "encrypted entry (needs a password)", "加密条目（需要密码）"
    if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(
        info.compress_size, 1
    ):
        ratio = info.file_size // max(info.compress_size, 1)
        return (
            f"compression ratio {ratio}:1 over the limit {MAX_ZIP_RATIO}:1 (zip bomb)",
            f"压缩比 {ratio}:1 超过上限 {MAX_ZIP_RATIO}:1（疑似压缩炸弹）",
        )
    return None


def _parts(name: str) -> list[str]:
    """The path's components without empty and ``.`` ones (``a//./b`` is ``a/b``)."""
    return [p for p in name.split("/") if p not in ("", ".")]


def submission_folder(named: list[tuple[str, zipfile.ZipInfo]]) -> list[str]:
    """Return the components of the submission's own folder inside the archive.

    The folder of the shallowest ``submission.json`` that is safe to read (ties: the
    first in name order). Without one, the single top folder every other entry lives
    under, counting neither OS litter nor refused entries ([] when there is none):
    a stray ``.DS_Store`` or a refused ``../x`` beside the folder must not stop the
    stripping, or ``submission.json`` would be "missing" and nothing filed reviewed.

    >>> info = zipfile.ZipInfo("x")
    >>> submission_folder([(n, info) for n in ("Thumbs.db", "a/b/submission.json", "a/c.jpg")])
    ['a', 'b']
    >>> submission_folder([(n, info) for n in (".DS_Store", "../x", "S/a.jpg", "S/b.jpg")])
    ['S']
    """
    safe = [(_parts(n), n) for n, info in named if unsafe_reason(n, info) is None]
    found = [p for p, _ in safe if p and p[-1] == SUBMISSION_JSON]
    if found:
        return min(found, key=lambda p: (len(p), p))[:-1]
    rest = [p for p, _ in safe if p and p[-1] not in OS_ARTIFACTS]
    tops = {p[0] for p in rest}
    if len(tops) == 1 and all(len(p) > 1 for p in rest):
        return [tops.pop()]
    return []


def read_zip(path: Path) -> ZipContents:
    """Read every safe entry of ``path`` in memory; raise ``ArchiveUnreadable`` for the whole."""
    shown = printable_name(path.name)
    try:
        zf = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise ArchiveUnreadable(
            f"{shown} is not a readable zip archive ({type(exc).__name__})",
            f"{shown} 压缩包无法读取，不是有效的 zip 文件（{type(exc).__name__}）",
        ) from exc
    with zf:
        infos = zf.infolist()
        count = sum(1 for i in infos if not is_folder_entry(i))
        if count > MAX_ZIP_ENTRIES:
            raise ArchiveUnreadable(
                f"{shown} holds {count} entries, over the limit {MAX_ZIP_ENTRIES}",
                f"{shown} 含 {count} 个条目，超过上限 {MAX_ZIP_ENTRIES}",
            )
        out = ZipContents()
        seen: set[str] = set()  # every name shown, so none hides another in the report
        named = []
        for info in infos:
            name = decode_zip_name(info)
            top = _parts(name)[:1]
            if top and top[0] in ZIP_METADATA_DIRS:
                out.skipped.append(unique_name(printable_name(name), seen))
            elif is_folder_entry(info) and info.file_size == 0:
                continue  # a folder entry: its files are entries of their own
            else:
                named.append((name, info))
        _read_entries(zf, named, submission_folder(named), out, seen)
        return out


def _read_entries(
    zf: zipfile.ZipFile,
    named: list[tuple[str, zipfile.ZipInfo]],
    prefix: list[str],
    out: ZipContents,
    seen: set[str],
) -> None:
    budget = MAX_ZIP_TOTAL_BYTES
    for full_name, info in named:
        reason = unsafe_reason(full_name, info)
        if reason is None and is_folder_entry(info):
            reason = ("a folder entry that holds data", "文件夹条目内含数据")
        if reason is not None:
            # Keyed by the name as written, so the reviewer sees what was refused.
            key = unique_name(printable_name(full_name), seen)
            out.errors[key] = ZipSafetyError(f"{key}: {reason[0]}", f"{key}：{reason[1]}")
            continue
        parts = _parts(full_name)
        if prefix and parts[: len(prefix)] == prefix:
            parts = parts[len(prefix) :]
        name = unique_name(printable_name("/".join(parts)), seen, printable_name(full_name))
        if info.file_size > budget:
            mb = MAX_ZIP_TOTAL_BYTES // (1024 * 1024)
            out.errors[name] = ZipSafetyError(
                f"{name}: the archive's total size is over the limit of {mb} MB",
                f"{name}：压缩包解压后总大小超过 {mb} MB 的上限",
            )
            continue
        budget -= info.file_size
        try:
            # The reader stops at the declared size, so the limits above bound memory.
            with zf.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except ZIP_ERRORS as exc:
            out.errors[name] = FileUnreadable(
                f"{name}: the archive entry is corrupt ({type(exc).__name__})",
                f"{name}：压缩包条目已损坏（{type(exc).__name__}）",
            )
            continue
        out.entries.append((name, data))
