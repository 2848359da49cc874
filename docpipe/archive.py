"""Zip archives read safely: in memory, entry by entry, under limits.

Nothing is extracted to disk under a client's file name. Refused per entry (the rest of
the archive is still read): absolute or ``..`` paths, symbolic links, encrypted entries,
an entry whose compression ratio is over ``MAX_ZIP_RATIO`` (a bomb), entries past the
total size budget, corrupt entries. Refused for the whole archive (``ArchiveUnreadable``):
not a zip, a broken central directory, more than ``MAX_ZIP_ENTRIES`` entries.

Entry names are decoded as the client meant them (GBK or UTF-8 without the UTF-8 flag),
``__MACOSX/`` metadata is skipped, and a single top folder is stripped.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from docpipe.errors import DocpipeError, FileUnreadable, SubmissionJsonError, ZipSafetyError

#: Archiver metadata, not uploaded files (macOS resource forks).
ZIP_METADATA_DIRS = frozenset({"__MACOSX"})
MAX_ZIP_ENTRIES = 200
MAX_ZIP_TOTAL_BYTES = 100 * 1024 * 1024
MAX_ZIP_RATIO = 100
RATIO_MIN_BYTES = 1024 * 1024  # small entries compress well legitimately (blank PNG, text)


class ArchiveUnreadable(SubmissionJsonError):
    """The ``.zip`` is not a zip, its directory is broken, or it breaks an archive-wide limit.

    A ``SubmissionJsonError`` so it travels in ``Intake.submission_error`` and becomes a
    finding on ``submission``; its code is ``file_unreadable``.
    """

    code = "file_unreadable"


@dataclass
class ZipContents:
    """What could be read from an archive: entries by cleaned name, and refusals."""

    entries: list[tuple[str, bytes]] = field(default_factory=list)
    errors: dict[str, DocpipeError] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


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


def top_folder(names: list[str]) -> str:
    """Return the single top folder every entry lives under ('' when there is none)."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return tops.pop() + "/"
    return ""


def read_zip(path: Path) -> ZipContents:
    """Read every safe entry of ``path`` in memory; raise ``ArchiveUnreadable`` for the whole."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ArchiveUnreadable(
            f"{path.name} is not a readable zip archive ({type(exc).__name__}: {exc})",
            f"{path.name} 不是可读取的 zip 压缩包（{type(exc).__name__}）",
        ) from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ArchiveUnreadable(
                f"{path.name} holds {len(infos)} entries, over the limit {MAX_ZIP_ENTRIES}",
                f"{path.name} 含 {len(infos)} 个条目，超过上限 {MAX_ZIP_ENTRIES}",
            )
        out = ZipContents()
        named = []
        for info in infos:
            name = decode_zip_name(info)
            if name.split("/", 1)[0] in ZIP_METADATA_DIRS:
                out.skipped.append(name)
            else:
                named.append((name, info))
        prefix = top_folder([n for n, _ in named])
        _read_entries(zf, named, prefix, out)
        return out


def _read_entries(
    zf: zipfile.ZipFile,
    named: list[tuple[str, zipfile.ZipInfo]],
    prefix: str,
    out: ZipContents,
) -> None:
    seen: set[str] = set()
    budget = MAX_ZIP_TOTAL_BYTES
    for full_name, info in named:
        reason = unsafe_reason(full_name, info)
        if reason is not None:
            # Keyed by the name as written, so the reviewer sees what was refused.
            out.errors[full_name] = ZipSafetyError(
                f"{full_name}: {reason[0]}", f"{full_name}：{reason[1]}"
            )
            continue
        name = full_name[len(prefix) :] if prefix else full_name
        name = "/".join(p for p in name.split("/") if p not in ("", "."))
        if name in seen or not name:
            # Two entries with one name (or a bare "./"): keep both apart in the report.
            base, n = name or full_name, 2
            while f"{base} (#{n})" in seen:
                n += 1
            name = f"{base} (#{n})"
        seen.add(name)
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
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                zlib.error) as exc:  # fmt: skip
            out.errors[name] = FileUnreadable(
                f"{name}: the archive entry is corrupt ({type(exc).__name__}: {exc})",
                f"{name}：压缩包条目已损坏（{type(exc).__name__}）",
            )
            continue
        out.entries.append((name, data))
