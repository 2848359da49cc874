"""File rules: every attachment's type, size and readability (RULES.md "Files").

They look only at the attachments, so they run even when ``submission.json`` is broken
(``needs_submission=False``). A renamed file gets one finding, from FILE-TYPE; FILE-READ
reports every other problem found while opening a file (empty, corrupt, encrypted,
over a limit, an unsafe zip entry).
"""

from __future__ import annotations

from collections.abc import Iterator

from docpipe.errors import FileTypeNotAllowed, InternalError, OcrError, TimeBudgetExceeded
from docpipe.models import Code, Severity
from docpipe.pages import check_type
from docpipe.rules import Hit, RuleContext, rule

MAX_FILE_BYTES = 2 * 1024 * 1024  # "单个文件大小不能超过2M": 2,097,152 bytes (RULES.md decisions)


def _mb(size: int) -> str:
    """Bytes as MB with two decimals.

    >>> _mb(3 * 1024 * 1024 + 5000)
    '3.00'
    """
    return f"{size / (1024 * 1024):.2f}"


@rule("FILE-TYPE", code="file_type_not_allowed", severity="error", needs_submission=False)
def file_type(ctx: RuleContext) -> Iterator[Hit]:
    """附件类型 / attachment type.

    The extension is jpg, jpeg, png or pdf and the magic bytes agree (``FF D8 FF``, the
    PNG signature, ``%PDF-``). A renamed file (text named .jpg, PNG named .jpg, .docx)
    is refused. An empty file with an allowed extension is FILE-READ's. [M] 上传附件.
    """
    flagged: set[str] = set()
    for file in ctx.files:
        if file.size == 0 and file.extension in ("jpg", "jpeg", "png", "pdf"):
            continue
        try:
            check_type(file)
        except FileTypeNotAllowed as exc:
            flagged.add(file.name)
            yield Hit(
                field=f"file:{file.name}",
                message=exc.message,
                filed=file.extension or None,
                found=file.detected_type or "unknown",
            )
    # A type problem only seen while decoding (e.g. a JPEG header over another format).
    for name, err in ctx.file_errors.items():
        if isinstance(err, FileTypeNotAllowed) and name not in flagged:
            yield Hit(field=f"file:{name}", message=err.message)


@rule("FILE-SIZE", code="file_too_large", severity="error", needs_submission=False)
def file_size(ctx: RuleContext) -> Iterator[Hit]:
    """附件大小 / attachment size.

    Each attachment is at most 2 × 1024 × 1024 bytes. [M] "单个文件大小不能超过2M".
    """
    for file in ctx.files:
        if file.size > MAX_FILE_BYTES:
            yield Hit(
                field=f"file:{file.name}",
                message=(
                    f"附件大小 {_mb(file.size)} MB，超过 2 MB 的上限"
                    f" / attachment is {_mb(file.size)} MB, over the 2 MB limit"
                ),
                found=f"{file.size} bytes ({_mb(file.size)} MB)",
            )


@rule("FILE-READ", code="file_unreadable", severity="error", needs_submission=False)
def file_read(ctx: RuleContext) -> Iterator[Hit]:
    """附件无法读取 / attachment cannot be read.

    One finding per attachment that could not be opened and decoded: empty, truncated,
    corrupt, encrypted, over 40 MP, over 20 pages, over the render budget, or an unsafe
    zip entry. Type refusals are FILE-TYPE's. [D]

    An OCR engine failure is not the file's fault: the file is fine but nobody has read
    it yet, so it is a ``not_found`` warning that sends it to a person, not a rejection.
    So is a file not read within its time budget (a legitimate file on a loaded machine
    can be slow) and one docpipe failed on internally.
    """
    for name, err in sorted(ctx.file_errors.items()):
        if isinstance(err, FileTypeNotAllowed):
            continue
        if isinstance(err, (TimeBudgetExceeded, InternalError)):
            yield Hit(
                field=f"file:{name}",
                code=Code.not_found,
                severity=Severity.warning,
                message=err.message,
            )
            continue
        if isinstance(err, OcrError):
            yield Hit(
                field=f"file:{name}",
                code=Code.not_found,
                severity=Severity.warning,
                message=f"文字识别失败，请人工审阅该附件：{err.message_zh} / "
                f"OCR failed, a person must read this attachment: {err.message_en}",
            )
            continue
        yield Hit(field=f"file:{name}", message=err.message)


@rule("FILE-ACTIVE", code="file_type_not_allowed", severity="info", needs_submission=False)
def file_active(ctx: RuleContext) -> Iterator[Hit]:
    """附件含活动内容 / attachment with active content.

    A PDF that carries JavaScript, a launch action, embedded files, rich media or an XFA
    form, or that is a zip archive as well (a polyglot). docpipe runs none of it (MuPDF
    runs no scripts) and reads the pages as usual; the note tells a reviewer not to open
    the file in a reader that might. Information only: the verdict is not changed. [D]
    """
    for name, notes in sorted(ctx.active.items()):
        zh = "、".join(n[1] for n in notes)
        en = ", ".join(n[0] for n in notes)
        yield Hit(
            field=f"file:{name}",
            found=en,
            message=f"{name} 含活动内容：{zh}；docpipe 未执行，请勿在其他阅读器中打开 / "
            f"{name} carries active content: {en}; docpipe ran none of it, do not open it"
            " in another reader",
        )
