"""One exception hierarchy for "could not process".

Exceptions mean docpipe could not do its work on something; findings (data, never
raised) mean it did and something differs. Every exception carries the finding code
it turns into when caught at the boundary of one file, the process exit code when it
escapes a command, and the HTTP status when it escapes a request.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status of the CLI (CONTRACT §4)."""

    ok = 0
    findings = 1
    cannot_run = 2


class DocpipeError(Exception):
    """Base of every error docpipe raises on purpose.

    ``message_zh`` and ``message_en`` are what a reviewer reads; ``code`` is the
    contract's finding code used when the error is caught at a file boundary.
    """

    exit_code: ExitCode = ExitCode.cannot_run
    http_status: int = 500
    code: str = "file_unreadable"

    def __init__(self, message_en: str, message_zh: str | None = None) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_zh = message_zh or message_en

    @property
    def message(self) -> str:
        """Chinese first, English after, as every reviewer-facing text."""
        if self.message_zh == self.message_en:
            return self.message_en
        return f"{self.message_zh} / {self.message_en}"


class InputError(DocpipeError):
    """The input given to a command or request is unusable."""

    http_status = 422


class SubmissionNotFound(InputError):
    """The submission path does not exist or holds no submission."""

    http_status = 404


class SubmissionJsonError(InputError):
    """``submission.json`` is missing, not JSON, or not of the contract's shape."""

    code = "invalid_format"


class ZipSafetyError(InputError):
    """A zip archive breaks a safety limit (path traversal, links, bomb)."""

    code = "file_unreadable"


class AttachmentError(DocpipeError):
    """One attachment cannot be used; caught per file and turned into a finding."""

    http_status = 422


class FileTypeNotAllowed(AttachmentError):
    """Extension not allowed, or the bytes are not what the extension says."""

    code = "file_type_not_allowed"


class FileUnreadable(AttachmentError):
    """Corrupt, truncated, encrypted, empty, or over a safety limit."""

    code = "file_unreadable"


class TimeBudgetExceeded(AttachmentError):
    """A file was not read within its wall-time budget (per file or per submission).

    Not the file's fault (a legitimate file on a loaded machine can be slow): a
    ``not_found`` warning that sends the file to a person, never a rejection.
    """

    code = "not_found"


class OcrError(DocpipeError):
    """The OCR engine failed on a page."""

    code = "file_unreadable"
    http_status = 500


class ConfigError(DocpipeError):
    """A setting is missing or wrong (e.g. a PaddleOCR model directory)."""

    http_status = 500


#: What a user is told of an internal failure (with the exception's type, never its text).
INTERNAL_ERROR = "内部错误，审查未完成 / internal error, the review is incomplete"


class InternalError(DocpipeError):
    """docpipe itself failed (a bug, or a resource of the machine ran out).

    Caught at the boundary of a stage, a file or a submission: the review is reported
    as incomplete and the command exits 2, never with a traceback.
    """

    http_status = 500


class LimitExceeded(DocpipeError):
    """A request is over a size or queue limit (service)."""

    http_status = 413
