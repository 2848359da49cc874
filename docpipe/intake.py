"""Intake: a submission folder or ``.zip`` becomes filed fields and a list of attachments.

Nothing a client sends is trusted. A folder is walked without following links; a zip
is read in memory by ``docpipe.archive``, entry by entry, under safety limits, and never
extracted to disk under a client's file name. One unsafe or broken entry becomes an
error keyed by its name, and the rest is still reviewed; an archive that cannot be read
at all becomes a ``submission_error``, never a traceback.

``submission.json`` problems (missing, not JSON, wrong shape) are reported with the
parser's position or the field paths, never with the filed values (they may be ID
numbers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from docpipe.archive import ArchiveUnreadable as ArchiveUnreadable  # re-exported
from docpipe.archive import read_zip
from docpipe.errors import (
    DocpipeError,
    FileUnreadable,
    SubmissionJsonError,
    SubmissionNotFound,
)
from docpipe.models import Submission

log = logging.getLogger(__name__)

SUBMISSION_JSON = "submission.json"
#: Files docpipe itself writes (``check SUB --out SUB``); never taken for attachments.
OWN_OUTPUTS = frozenset({"report.json", "report.html"})
#: Operating-system droppings that no portal upload carries (Finder, Explorer thumbnails).
OS_ARTIFACTS = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def is_ignored(name: str) -> bool:
    """Tell whether a listed file is ours or the OS's, not an attachment.

    Ignored files are still named in the report (status ``ignored``), never dropped
    silently.

    >>> is_ignored("report.json"), is_ignored("sub/.DS_Store"), is_ignored("营业执照.jpg")
    (True, True, False)
    """
    return name in OWN_OUTPUTS or name.rsplit("/", 1)[-1] in OS_ARTIFACTS


MAX_SUBMISSION_JSON_BYTES = 1024 * 1024
MAX_LISTED_ERRORS = 10

_HEAD_BYTES = 16
_SAFE_ID = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,120}$")


class SubmissionJsonMissing(SubmissionJsonError):
    """No ``submission.json`` at the submission root."""

    code = "missing_document"


class SubmissionShapeError(SubmissionJsonError):
    """Valid JSON, but not of the contract's shape; ``paths`` lists the offending fields."""

    def __init__(self, message_en: str, message_zh: str, paths: list[str]) -> None:
        super().__init__(message_en, message_zh)
        self.paths = paths


def detect_type(head: bytes) -> str | None:
    r"""Return the type from the magic bytes: ``jpeg``, ``png``, ``pdf`` or None.

    >>> detect_type(b"\xff\xd8\xff\xe0rest")
    'jpeg'
    >>> detect_type(b"\x89PNG\r\n\x1a\n")
    'png'
    >>> detect_type(b"%PDF-1.7")
    'pdf'
    >>> detect_type(b"PK\x03\x04") is None
    True
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None


@dataclass
class AttachmentFile:
    """One uploaded file. Content is read from disk lazily (folder) or kept (zip)."""

    name: str
    size: int
    sha256: str
    path: Path | None = field(default=None, repr=False)
    data: bytes | None = field(default=None, repr=False)
    head: bytes = field(default=b"", repr=False)

    def read(self) -> bytes:
        """Return the whole content."""
        if self.data is not None:
            return self.data
        if self.path is None:
            raise FileUnreadable(f"{self.name}: no content", f"{self.name}：没有内容")
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise FileUnreadable(
                f"{self.name} cannot be read: {exc.strerror or exc}",
                f"{self.name} 无法读取：{exc.strerror or exc}",
            ) from exc

    @property
    def extension(self) -> str:
        """Lower-case extension without the dot (``jpg``); empty when none."""
        return PurePosixPath(self.name).suffix.lower().lstrip(".")

    @property
    def detected_type(self) -> str | None:
        """``jpeg``, ``png`` or ``pdf`` from the magic bytes, None otherwise."""
        return detect_type(self.head)

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> AttachmentFile:
        """Make an attachment held in memory (zip entries, tests, the service)."""
        return cls(
            name=name,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            head=data[:_HEAD_BYTES],
        )

    @classmethod
    def from_path(cls, name: str, path: Path) -> AttachmentFile:
        """Make an attachment on disk: hashed by streaming, read again only when needed."""
        digest = hashlib.sha256()
        size = 0
        head = b""
        with path.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                if not head:
                    head = chunk[:_HEAD_BYTES]
                digest.update(chunk)
                size += len(chunk)
        return cls(name=name, size=size, sha256=digest.hexdigest(), path=path, head=head)


@dataclass
class Intake:
    """What intake found in one submission."""

    source: Path
    submission_id: str
    submission: Submission | None
    submission_error: SubmissionJsonError | None
    files: list[AttachmentFile]
    file_errors: dict[str, DocpipeError]
    #: Entries left out on purpose (archiver metadata, docpipe's own outputs).
    skipped: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------- submission.json


def _missing() -> SubmissionJsonMissing:
    return SubmissionJsonMissing("submission.json is missing", "缺少 submission.json")


def parse_submission(data: bytes) -> Submission:
    """Parse and validate ``submission.json``; raise ``SubmissionJsonError`` with a clear message.

    The message carries the parser's line and column, or the field paths of a wrong
    shape, and never a filed value.
    """
    if len(data) > MAX_SUBMISSION_JSON_BYTES:
        raise SubmissionJsonError(
            f"submission.json is over {MAX_SUBMISSION_JSON_BYTES // 1024} KB",
            f"submission.json 超过 {MAX_SUBMISSION_JSON_BYTES // 1024} KB",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionJsonError(
            f"submission.json is not UTF-8 text (byte {exc.start})",
            f"submission.json 不是 UTF-8 文本（第 {exc.start} 字节）",
        ) from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionJsonError(
            f"submission.json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            f"submission.json 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列（{exc.msg}）",
        ) from exc
    try:
        return Submission.model_validate(raw)
    except ValidationError as exc:
        raise _shape_error(exc) from exc


def _shape_error(exc: ValidationError) -> SubmissionJsonError:
    """Field paths and pydantic's messages, without the input values."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        path = ".".join(str(part) for part in err["loc"]) or "(root)"
        problems.append(f"{path}: {err['msg']}")
    listed = "; ".join(problems[:MAX_LISTED_ERRORS])
    if len(problems) > MAX_LISTED_ERRORS:
        listed += f"; … (+{len(problems) - MAX_LISTED_ERRORS})"
    return SubmissionShapeError(
        f"submission.json has the wrong shape: {listed}",
        f"submission.json 结构不符：{listed}",
        paths=[p.split(": ", 1)[0] for p in problems],
    )


def _submission_id(submission: Submission | None, fallback: str) -> str:
    """Use the filed id when it is safe as a directory name (scan writes ``DIR/<id>/``)."""
    filed = submission.submission_id if submission is not None else None
    if filed is None:
        return fallback
    filed = filed.strip()
    if _SAFE_ID.match(filed) and not filed.startswith("."):
        return filed
    log.warning("submission_id is not usable as a folder name; using %r", fallback)
    return fallback


# ------------------------------------------------------------------------------ entry


def load_submission(path: Path) -> Intake:
    """Read one submission folder or ``.zip``.

    Raises ``SubmissionNotFound`` when ``path`` does not exist or is neither a folder nor
    a ``.zip``; every other problem is carried in the returned ``Intake``.
    """
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return _load_zip(path)
    if not path.exists():
        raise SubmissionNotFound(f"{path} does not exist", f"{path} 不存在")
    raise SubmissionNotFound(
        f"{path} is neither a folder nor a .zip", f"{path} 既不是文件夹也不是 .zip 文件"
    )


def _finish(
    source: Path,
    fallback_id: str,
    json_bytes: bytes | None,
    json_error: SubmissionJsonError | None,
    files: list[AttachmentFile],
    errors: dict[str, DocpipeError],
    skipped: list[str],
) -> Intake:
    submission: Submission | None = None
    if json_error is None:
        if json_bytes is None:
            json_error = _missing()
        else:
            try:
                submission = parse_submission(json_bytes)
            except SubmissionJsonError as exc:
                json_error = exc
    return Intake(
        source=source,
        submission_id=_submission_id(submission, fallback_id),
        submission=submission,
        submission_error=json_error,
        files=sorted(files, key=lambda f: f.name),
        file_errors=dict(sorted(errors.items())),
        skipped=sorted(skipped),
    )


def _note_empty(file: AttachmentFile, errors: dict[str, DocpipeError]) -> None:
    # An empty file is unreadable (FILE-READ), whatever its extension claims.
    if file.size == 0:
        errors[file.name] = FileUnreadable(f"{file.name} is empty", f"{file.name} 是空文件")


# ----------------------------------------------------------------------------- folder


def _load_folder(root: Path) -> Intake:
    files: list[AttachmentFile] = []
    errors: dict[str, DocpipeError] = {}
    skipped: list[str] = []
    json_bytes: bytes | None = None
    json_error: SubmissionJsonError | None = None

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames.sort()
        for d in list(dirnames):
            if (here / d).is_symlink():
                # os.walk does not descend into it; say so instead of hiding it.
                name = (here / d).relative_to(root).as_posix()
                errors[name] = FileUnreadable(
                    f"{name} is a symbolic link; links are refused",
                    f"{name} 是符号链接，不予读取",
                )
        for fname in sorted(filenames):
            full = here / fname
            name = full.relative_to(root).as_posix()
            if is_ignored(name):
                skipped.append(name)
                continue
            try:
                st = full.lstat()
            except OSError as exc:
                errors[name] = FileUnreadable(
                    f"{name} cannot be read: {exc.strerror}", f"{name} 无法读取：{exc.strerror}"
                )
                continue
            if stat.S_ISLNK(st.st_mode):
                errors[name] = FileUnreadable(
                    f"{name} is a symbolic link; links are refused",
                    f"{name} 是符号链接，不予读取",
                )
                continue
            if not stat.S_ISREG(st.st_mode):
                errors[name] = FileUnreadable(
                    f"{name} is not a regular file", f"{name} 不是普通文件"
                )
                continue
            if name == SUBMISSION_JSON:
                try:
                    with full.open("rb") as fh:
                        json_bytes = fh.read(MAX_SUBMISSION_JSON_BYTES + 1)
                except OSError as exc:
                    json_error = SubmissionJsonError(
                        f"submission.json cannot be read: {exc.strerror}",
                        f"submission.json 无法读取：{exc.strerror}",
                    )
                continue
            try:
                file = AttachmentFile.from_path(name, full)
            except OSError as exc:
                errors[name] = FileUnreadable(
                    f"{name} cannot be read: {exc.strerror}", f"{name} 无法读取：{exc.strerror}"
                )
                continue
            files.append(file)
            _note_empty(file, errors)

    return _finish(root, root.resolve().name, json_bytes, json_error, files, errors, skipped)


# -------------------------------------------------------------------------------- zip


def _load_zip(path: Path) -> Intake:
    try:
        contents = read_zip(path)
    except ArchiveUnreadable as exc:
        return Intake(path, path.stem, None, exc, [], {})
    files: list[AttachmentFile] = []
    errors = contents.errors
    skipped = contents.skipped
    json_bytes: bytes | None = None
    for name, data in contents.entries:
        if name == SUBMISSION_JSON:
            json_bytes = data
        elif is_ignored(name):
            skipped.append(name)
        else:
            file = AttachmentFile.from_bytes(name, data)
            files.append(file)
            _note_empty(file, errors)
    return _finish(path, path.stem, json_bytes, None, files, errors, skipped)
