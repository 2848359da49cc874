"""Uploads: stored as one zip per job under a generated name, with every file's sha256.

The multipart files become members of ``uploads/<job id>.zip`` under the client's names,
so no client name ever touches the file system and the worker hands the zip to
``pipeline.run`` exactly as ``docpipe check x.zip`` would. An ``archive`` upload is
stored as sent, after the same intake the worker runs has found its submission.json.

Every upload file is created 0600. A refused upload never leaves its temp file behind
and never answers 500: intake and ``parse_submission`` raise only ``DocpipeError`` (deep
nesting and over-long numbers included), and each is a 422 whose message names neither
a value nor the internal temp file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from starlette.datastructures import UploadFile

from docpipe.errors import DocpipeError, SubmissionJsonError
from docpipe.intake import SUBMISSION_JSON, parse_submission
from docpipe.privacy import mask_text
from docpipe.service.config import Settings
from docpipe.service.store import FileRecord

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: How a refusal of an ``archive`` upload names it (never by its temp file's name).
ARCHIVE_SHOWN = "archive"


class UploadRejected(Exception):
    """An upload the API refuses: HTTP status, message (already masked), extra body."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def _copy_hashing(src: IO[bytes], dst: IO[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    src.seek(0)
    while chunk := src.read(1024 * 1024):
        digest.update(chunk)
        dst.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


@contextlib.contextmanager
def _private_temp(tmp: Path) -> Iterator[IO[bytes]]:
    """Create ``tmp`` 0600 for writing; delete it when the block raises."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover of that name keeps its mode through O_CREAT
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_into_place(tmp: Path, final: Path) -> None:
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_multipart_upload(
    target: Path, submission: bytes, parts: list[tuple[str, IO[bytes]]]
) -> tuple[str, str, list[FileRecord]]:
    """Store submission.json and the files as one zip (members under the client's names).

    Returns (sha256 of the zip, sha256 of the payload, the files). The payload hash
    covers submission.json and every file's name and content, in name order, so the same
    upload sent again has the same hash whatever the order of its parts.
    """
    tmp = target.with_name(f".{target.name}.tmp")
    records: list[FileRecord] = []
    with _private_temp(tmp) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo(SUBMISSION_JSON, (1980, 1, 1, 0, 0, 0)), submission)
        for name, src in parts:
            with zf.open(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), "w") as dst:
                size, sha = _copy_hashing(src, dst)
            records.append(FileRecord(name=name, size=size, sha256=sha))
    payload = hashlib.sha256(b"multipart\0" + hashlib.sha256(submission).digest())
    for rec in sorted(records, key=lambda r: r.name):
        payload.update(f"{rec.name}\0{rec.size}\0{rec.sha256}\0".encode())
    try:
        with tmp.open("rb") as fh:
            upload_sha = hashlib.file_digest(fh, "sha256").hexdigest()
        _fsync_into_place(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return upload_sha, payload.hexdigest(), records


def write_archive_upload(target: Path, src: IO[bytes]) -> tuple[str, str, list[FileRecord]]:
    """Store an uploaded zip as sent; refuse one that holds no usable submission.json."""
    from docpipe.intake import load_submission

    # Ends in .zip for intake; a leftover is removed at start-up (no job of that name).
    tmp = target.with_name(f".{target.stem}.tmp.zip")
    with _private_temp(tmp) as dst:
        size, sha = _copy_hashing(src, dst)
    try:
        # The same intake the worker will run: a zip that is no zip, or whose
        # submission.json is missing or malformed, is refused now (422) instead of queued.
        try:
            intake = load_submission(tmp)
        except DocpipeError as exc:  # e.g. ArchiveUnreadable: not a zip at all
            raise UploadRejected(422, _refusal(exc, tmp)) from exc
        if intake.submission_error is not None:
            raise UploadRejected(422, _refusal(intake.submission_error, tmp))
        _fsync_into_place(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    payload = hashlib.sha256(b"archive\0" + bytes.fromhex(sha)).hexdigest()
    return sha, payload, [FileRecord(name="(archive)", size=size, sha256=sha)]


def _refusal(err: DocpipeError, tmp: Path) -> dict[str, Any]:
    """The 422 body of a refused archive: masked, naming the upload, not its temp file."""
    message = err.message.replace(str(tmp), ARCHIVE_SHOWN).replace(tmp.name, ARCHIVE_SHOWN)
    return {"message": mask_text(message), "paths": list(getattr(err, "paths", []))}


def check_submission(raw: bytes) -> None:
    """Raise ``UploadRejected`` (422, field paths, no values) for a malformed submission.json."""
    try:
        parse_submission(raw)
    except SubmissionJsonError as exc:
        paths = getattr(exc, "paths", [])
        raise UploadRejected(422, {"message": mask_text(exc.message), "paths": paths}) from exc


def file_parts(files: list[Any], settings: Settings) -> list[tuple[str, IO[bytes]]]:
    """The ``files`` parts as (client name, content); 422 for bad names, 413 over the limit."""
    parts: list[tuple[str, IO[bytes]]] = []
    seen: set[str] = set()
    for f in files:
        if not isinstance(f, UploadFile) or not f.filename:
            raise UploadRejected(422, "every 'files' part must be a file with a file name")
        name = f.filename
        if _CONTROL.search(name) or len(name.encode()) > 255:
            raise UploadRejected(422, "a file name holds control characters or is too long")
        shown = mask_text(name)
        if name == SUBMISSION_JSON or name in seen:
            raise UploadRejected(422, f"file name given twice: {shown}")
        seen.add(name)
        size = f.size if f.size is not None else 0
        if size > settings.max_file_bytes:
            raise UploadRejected(
                413,
                f"file {shown} is {size} bytes, over the per-file limit of "
                f"{settings.max_file_bytes} bytes (files over 2 MB under this limit are "
                "accepted and reported as file_too_large)",
            )
        parts.append((name, f.file))
    return parts
