"""Intake: a submission folder or ``.zip`` becomes filed fields and a list of attachments.

Nothing a client sends is trusted. A folder is walked without following links and
without opening anything but regular files (a FIFO would block, a device never ends); a
zip is read in memory by ``docpipe.archive``, entry by entry, under safety limits, and
never extracted to disk under a client's file name. One unsafe or broken entry becomes
an error keyed by its name, and the rest is still reviewed. An archive that cannot be
read at all raises ``ArchiveUnreadable`` (the command cannot run: exit 2), never a
traceback.

Names are shown by ``printable_name``: bytes that are not UTF-8 and control characters
are escaped, so writing the report never fails on a name; the real path is kept apart
for reading the file.

``submission.json`` is parsed by ``docpipe.filed`` (its names are re-exported here):
problems are reported with the parser's position or the field paths, never with the
filed values (they may be ID numbers).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from docpipe.archive import MAX_ZIP_ENTRIES, read_zip, unique_name
from docpipe.archive import OS_ARTIFACTS as OS_ARTIFACTS  # re-exported
from docpipe.archive import SUBMISSION_JSON as SUBMISSION_JSON  # re-exported
from docpipe.archive import ArchiveUnreadable as ArchiveUnreadable  # re-exported
from docpipe.archive import printable_name as printable_name  # re-exported
from docpipe.errors import (
    DocpipeError,
    FileUnreadable,
    InputError,
    SubmissionJsonError,
    SubmissionNotFound,
)
from docpipe.filed import MAX_SUBMISSION_JSON_BYTES as MAX_SUBMISSION_JSON_BYTES  # re-exported
from docpipe.filed import SubmissionJsonMissing as SubmissionJsonMissing  # re-exported
from docpipe.filed import SubmissionJsonUnreadable, missing
from docpipe.filed import SubmissionShapeError as SubmissionShapeError  # re-exported
from docpipe.filed import parse_submission as parse_submission  # re-exported
from docpipe.filed import submission_id_of as submission_id_of  # re-exported
from docpipe.models import Submission

log = logging.getLogger(__name__)

#: Files docpipe itself writes (``check SUB --out SUB``); never taken for attachments.
OWN_OUTPUTS = frozenset({"report.json", "report.html"})


def is_ignored(name: str) -> bool:
    """Tell whether a listed file is ours or the OS's, not an attachment.

    Ignored files are still named in the report (status ``ignored``), never dropped
    silently.

    >>> is_ignored("report.json"), is_ignored("sub/.DS_Store"), is_ignored("营业执照.jpg")
    (True, True, False)
    """
    return name in OWN_OUTPUTS or name.rsplit("/", 1)[-1] in OS_ARTIFACTS


#: Files over this size are not hashed by content. Such a file is far over the 2 MB
#: attachment limit and over ``pages.MAX_DECODE_BYTES``, so its bytes are never decoded
#: and nothing of them reaches the report; reading a 2 GB (or sparse 2 TB) file only to
#: hash it costs seconds to hours. Its ``sha256`` is reported empty.
HASH_CONTENT_MAX_BYTES = 64 * 1024 * 1024
#: Folder levels below the submission that are listed; deeper folders are an error
#: entry (a legitimate upload has one or two levels).
MAX_FOLDER_DEPTH = 16
#: Files and folders listed in one submission folder, as many as a zip may hold.
MAX_FOLDER_ENTRIES = MAX_ZIP_ENTRIES

_HEAD_BYTES = 16
# Opened without following a final link and without blocking on a FIFO (O_NONBLOCK has
# no effect on regular files); fstat then refuses whatever is not a regular file.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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


def open_regular(path: Path, name: str, *, follow: bool = False) -> io.BufferedReader:
    """Open ``path`` for reading only if it is a regular file; raise ``FileUnreadable``.

    Never blocks (a FIFO opened non-blocking is refused at once) and, unless ``follow``,
    never follows a symbolic link. ``name`` is what the message shows.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS | (0 if follow else _NOFOLLOW))
    except OSError as exc:
        raise FileUnreadable(
            f"{name} cannot be read: {exc.strerror or exc}",
            f"{name} 无法读取：{exc.strerror or exc}",
        ) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FileUnreadable(f"{name} is not a regular file", f"{name} 不是普通文件")
    return os.fdopen(fd, "rb")


@dataclass
class AttachmentFile:
    """One uploaded file. Content is read from disk lazily (folder) or kept (zip).

    ``name`` is printable (see ``printable_name``); ``path`` is the real one.
    """

    name: str
    size: int
    sha256: str
    path: Path | None = field(default=None, repr=False)
    data: bytes | None = field(default=None, repr=False)
    head: bytes = field(default=b"", repr=False)

    def read(self) -> bytes:
        """Return the whole content, as large as it was listed and no larger.

        A file that grew after it was listed (and checked against the size limits) is
        refused rather than read whole: its listed size is what every limit judged.
        """
        if self.data is not None:
            return self.data
        if self.path is None:
            raise FileUnreadable(f"{self.name}: no content", f"{self.name}：没有内容")
        with open_regular(self.path, self.name) as fh:
            try:
                data = fh.read(self.size + 1)
            except OSError as exc:
                raise FileUnreadable(
                    f"{self.name} cannot be read: {exc.strerror or exc}",
                    f"{self.name} 无法读取：{exc.strerror or exc}",
                ) from exc
        if len(data) > self.size:
            raise FileUnreadable(
                f"{self.name} grew while it was being reviewed; not read",
                f"{self.name} 在审查过程中变大，未读取",
            )
        return data

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
        """Make an attachment on disk: hashed by streaming, read again only when needed.

        Raises ``FileUnreadable`` when ``path`` is no regular file or cannot be read. A
        file over ``HASH_CONTENT_MAX_BYTES`` is not hashed (its ``sha256`` is empty).
        """
        with open_regular(path, name) as fh:
            try:
                size = os.fstat(fh.fileno()).st_size
                head = fh.read(_HEAD_BYTES)
                sha256 = ""
                if size <= HASH_CONTENT_MAX_BYTES:
                    fh.seek(0)
                    digest = hashlib.sha256()
                    size = 0
                    while chunk := fh.read(1024 * 1024):
                        digest.update(chunk)
                        size += len(chunk)
                    sha256 = digest.hexdigest()
            except OSError as exc:
                raise FileUnreadable(
                    f"{name} cannot be read: {exc.strerror or exc}",
                    f"{name} 无法读取：{exc.strerror or exc}",
                ) from exc
        return cls(name=name, size=size, sha256=sha256, path=path, head=head)


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


# ------------------------------------------------------------------------------ entry


def load_submission(path: Path) -> Intake:
    """Read one submission folder or ``.zip``.

    Raises ``SubmissionNotFound`` when ``path`` does not exist or is neither a folder nor
    a ``.zip``, ``ArchiveUnreadable`` when the ``.zip`` is no readable zip archive, and
    ``InputError`` when the folder cannot be listed; every other problem is carried in
    the returned ``Intake``.
    """
    path = Path(path)
    shown = printable_name(str(path))
    if path.is_dir():
        return _load_folder(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return _load_zip(path)
    if not path.exists():
        raise SubmissionNotFound(f"{shown} does not exist", f"{shown} 不存在")
    raise SubmissionNotFound(
        f"{shown} is neither a folder nor a .zip", f"{shown} 既不是文件夹也不是 .zip 文件"
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
            json_error = missing()
        else:
            try:
                submission = parse_submission(json_bytes)
            except SubmissionJsonError as exc:
                json_error = exc
    return Intake(
        source=source,
        submission_id=submission_id_of(submission, fallback_id),
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


@dataclass(frozen=True)
class FolderEntry:
    """One entry of a submission folder, listed without following links.

    ``rel`` is the path below the folder with ``/`` (as the OS gives it: it may hold
    surrogate escapes); ``st`` is its ``lstat``; ``problem`` (English, Chinese) says why
    a folder could not be listed, and then ``st`` may be None.
    """

    rel: str
    path: Path
    st: os.stat_result | None
    problem: tuple[str, str] | None = None


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def walk_folder(root: Path, exclude: Path | None = None) -> Iterator[FolderEntry]:
    """Yield every non-folder entry under ``root`` (files, links, FIFOs …) and every problem.

    Iterative (no recursion limit), never follows a link, never opens a file, and lists
    at most ``MAX_FOLDER_DEPTH`` levels. The folder ``exclude`` (an output folder inside
    the submission) is left out. Raises ``OSError`` when ``root`` itself cannot be listed
    and ``InputError`` past ``MAX_FOLDER_ENTRIES`` entries (as a zip past its entry limit:
    20,000 empty files took 19 s and 0.9 GB, a million would take all the memory).
    """
    seen = 0
    skip: tuple[int, int] | None = None
    if exclude is not None:
        try:
            st = os.stat(exclude)
            skip = (st.st_dev, st.st_ino)
        except OSError:
            skip = None
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    while stack:
        here, rel, depth = stack.pop()
        try:
            with os.scandir(here) as it:
                # Never more than the limit in memory, however large the folder.
                entries = sorted(itertools.islice(it, MAX_FOLDER_ENTRIES + 1 - seen), key=_name)
        except OSError as exc:
            if not rel:
                raise
            why = exc.strerror or str(exc)
            yield FolderEntry(
                rel, here, None, (f"folder cannot be read: {why}", f"文件夹无法读取：{why}")
            )
            continue
        seen += len(entries)
        if seen > MAX_FOLDER_ENTRIES:
            raise InputError(
                f"{printable_name(root.name)} holds over {MAX_FOLDER_ENTRIES} files and folders,"
                " over the limit",
                f"{printable_name(root.name)} 含超过 {MAX_FOLDER_ENTRIES} 个文件和文件夹，超过上限",
            )
        for entry in entries:
            erel = f"{rel}/{entry.name}" if rel else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                why = exc.strerror or str(exc)
                yield FolderEntry(
                    erel, Path(entry.path), None, (f"cannot be read: {why}", f"无法读取：{why}")
                )
                continue
            if not stat.S_ISDIR(st.st_mode):
                yield FolderEntry(erel, Path(entry.path), st)
            elif skip == (st.st_dev, st.st_ino):
                continue
            elif depth + 1 >= MAX_FOLDER_DEPTH:
                yield FolderEntry(
                    erel,
                    Path(entry.path),
                    st,
                    (
                        f"folder nested more than {MAX_FOLDER_DEPTH} levels deep; not read",
                        f"文件夹嵌套超过 {MAX_FOLDER_DEPTH} 层，未读取",
                    ),
                )
            else:
                stack.append((Path(entry.path), erel, depth + 1))


def _load_folder(root: Path) -> Intake:
    files: list[AttachmentFile] = []
    errors: dict[str, DocpipeError] = {}
    skipped: list[str] = []
    json_bytes: bytes | None = None
    json_error: SubmissionJsonError | None = None
    try:
        listed = sorted(walk_folder(root), key=lambda e: e.rel)
    except OSError as exc:
        shown, why = printable_name(str(root)), exc.strerror or str(exc)
        raise InputError(f"{shown} cannot be read: {why}", f"{shown} 无法读取：{why}") from exc

    seen: set[str] = set()
    for entry in listed:
        # Shown printable (report.json must encode it); read through entry.path.
        name = unique_name(printable_name(entry.rel), seen)
        if entry.problem is not None or entry.st is None:
            en, zh = entry.problem or ("cannot be read", "无法读取")
            errors[name] = FileUnreadable(f"{name}: {en}", f"{name}：{zh}")
            continue
        if entry.rel == SUBMISSION_JSON:
            json_bytes, json_error = read_submission_json(entry)
            continue
        if is_ignored(name):
            skipped.append(name)
            continue
        if stat.S_ISLNK(entry.st.st_mode):
            # os.walk would not descend into a linked folder either; say so, never hide it.
            errors[name] = FileUnreadable(
                f"{name} is a symbolic link; links are refused",
                f"{name} 是符号链接，不予读取",
            )
            continue
        if not stat.S_ISREG(entry.st.st_mode):
            errors[name] = FileUnreadable(f"{name} is not a regular file", f"{name} 不是普通文件")
            continue
        try:
            file = AttachmentFile.from_path(name, entry.path)
        except DocpipeError as exc:
            errors[name] = exc
            continue
        files.append(file)
        _note_empty(file, errors)

    return _finish(root, root.resolve().name, json_bytes, json_error, files, errors, skipped)


def read_submission_json(entry: FolderEntry) -> tuple[bytes | None, SubmissionJsonError | None]:
    """The bytes of a folder's submission.json (at most one byte over the limit), or why not."""
    assert entry.st is not None
    if stat.S_ISLNK(entry.st.st_mode):
        # A link may point anywhere (/dev/zero, another submission); never followed.
        return None, SubmissionJsonUnreadable(
            "submission.json is a symbolic link; links are refused",
            "submission.json 是符号链接，不予读取",
        )
    if not stat.S_ISREG(entry.st.st_mode):
        # Not even opened: a FIFO blocks its reader, a device may act on being opened.
        return None, SubmissionJsonUnreadable(
            "submission.json is not a regular file", "submission.json 不是普通文件"
        )
    try:
        with open_regular(entry.path, SUBMISSION_JSON) as fh:
            return fh.read(MAX_SUBMISSION_JSON_BYTES + 1), None
    except FileUnreadable as exc:
        return None, SubmissionJsonUnreadable(exc.message_en, exc.message_zh)
    except OSError as exc:
        why = exc.strerror or str(exc)
        return None, SubmissionJsonUnreadable(
            f"submission.json cannot be read: {why}", f"submission.json 无法读取：{why}"
        )


# -------------------------------------------------------------------------------- zip


def _load_zip(path: Path) -> Intake:
    contents = read_zip(path)  # ArchiveUnreadable: the command cannot run on it
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
