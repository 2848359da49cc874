"""``submission.json``: the filed fields, parsed and validated, never trusted.

Problems (missing, not UTF-8, not JSON, too deep, a number past the digit limit, a
wrong shape) are ``SubmissionJsonError`` with the parser's position or the field
paths, never the filed values (they may be ID numbers). Nothing else is raised,
whatever the bytes.
"""

from __future__ import annotations

import json
import logging
import re
import sys

from pydantic import ValidationError

from docpipe.archive import printable_name
from docpipe.errors import SubmissionJsonError
from docpipe.models import Submission

log = logging.getLogger(__name__)

MAX_SUBMISSION_JSON_BYTES = 1024 * 1024
MAX_LISTED_ERRORS = 10
#: Nesting levels of lists and objects accepted in submission.json. The contract needs
#: three (operators → list → person); deeper extras cannot be written back into a
#: report (pydantic's serializer stops at a depth), and a 10,000-level nesting is an
#: attack on the parser, so both are input errors.
MAX_JSON_DEPTH = 32
_SAFE_ID = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,120}$")


class SubmissionJsonMissing(SubmissionJsonError):
    """No ``submission.json`` at the submission root."""

    code = "missing_document"


class SubmissionJsonUnreadable(SubmissionJsonError):
    """``submission.json`` is there but is no regular file (a link, a FIFO) or fails to read."""

    code = "file_unreadable"


class SubmissionShapeError(SubmissionJsonError):
    """Valid JSON, but not of the contract's shape; ``paths`` lists the offending fields."""

    def __init__(self, message_en: str, message_zh: str, paths: list[str]) -> None:
        super().__init__(message_en, message_zh)
        self.paths = paths


def missing() -> SubmissionJsonMissing:
    """The error of a submission without ``submission.json``."""
    return SubmissionJsonMissing("submission.json is missing", "缺少 submission.json")


def parse_submission(data: bytes) -> Submission:
    """Parse and validate ``submission.json``; raise ``SubmissionJsonError`` with a clear message.

    The message carries the parser's line and column, or the field paths of a wrong
    shape, and never a filed value. Whatever the bytes, nothing else is raised: too deep
    a nesting, a number past Python's digit limit or a lone surrogate are input errors
    like a syntax error.
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
        # "\ud800" is valid JSON syntax but no character: every report quoting the value
        # would fail to encode. Encoding the whole once finds it anywhere (keys too).
        json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as exc:
        raise SubmissionJsonError(
            f"submission.json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            f"submission.json 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列（{exc.msg}）",
        ) from exc
    except RecursionError as exc:
        raise _too_deep() from exc
    except UnicodeEncodeError as exc:
        raise SubmissionJsonError(
            "submission.json holds a lone surrogate escape (\\ud800-\\udfff), not a character",
            "submission.json 含无效的 \\u 转义（孤立代理项 \\ud800-\\udfff），不是字符",
        ) from exc
    except ValueError as exc:  # the only other one: an integer past the digit limit
        limit = sys.get_int_max_str_digits()
        raise SubmissionJsonError(
            f"submission.json holds a number of more than {limit} digits",
            f"submission.json 含超过 {limit} 位的数字",
        ) from exc
    if _depth_over(raw, MAX_JSON_DEPTH):
        raise _too_deep()
    try:
        return Submission.model_validate(raw)
    except ValidationError as exc:
        raise _shape_error(exc) from exc
    except RecursionError as exc:
        raise _too_deep() from exc
    except Exception as exc:  # a validator's own failure on odd input: an input error too
        log.warning("submission.json failed validation: %s", type(exc).__name__)
        raise SubmissionJsonError(
            f"submission.json cannot be validated ({type(exc).__name__})",
            f"submission.json 无法校验（{type(exc).__name__}）",
        ) from exc


def _too_deep() -> SubmissionJsonError:
    return SubmissionJsonError(
        f"submission.json is nested too deeply (over {MAX_JSON_DEPTH} levels)",
        f"submission.json 嵌套层数过深（超过 {MAX_JSON_DEPTH} 层）",
    )


def _depth_over(value: object, limit: int) -> bool:
    """Tell whether lists and objects nest more than ``limit`` levels (iteratively).

    >>> _depth_over({"operators": [{"name": "x"}]}, 3), _depth_over([[[[]]]], 3)
    (False, True)
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _shape_error(exc: ValidationError) -> SubmissionJsonError:
    """Field paths and pydantic's messages, without the input values."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        path = ".".join(printable_name(str(part)) for part in err["loc"]) or "(root)"
        problems.append(f"{path}: {err['msg']}")
    listed = "; ".join(problems[:MAX_LISTED_ERRORS])
    if len(problems) > MAX_LISTED_ERRORS:
        listed += f"; … (+{len(problems) - MAX_LISTED_ERRORS})"
    return SubmissionShapeError(
        f"submission.json has the wrong shape: {listed}",
        f"submission.json 结构不符：{listed}",
        paths=[p.split(": ", 1)[0] for p in problems],
    )


def submission_id_of(submission: Submission | None, fallback: str) -> str:
    """The filed id when it is safe as a directory name (scan writes ``DIR/<id>/``).

    Otherwise ``fallback`` (the folder or zip name), made printable.
    """
    fallback = printable_name(fallback)
    filed = submission.submission_id if submission is not None else None
    if filed is None:
        return fallback
    filed = filed.strip()
    if _SAFE_ID.match(filed) and not filed.startswith("."):
        return filed
    log.warning("submission_id is not usable as a folder name; using %r", fallback)
    return fallback
