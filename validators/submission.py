"""The whole submission: is ``submission.json`` there and of the contract's shape.

Runs without a parsed submission (``needs_submission=False``): it reports why there is
none. The finding goes on ``submission``; its code is the error's own (``missing_document``
when the file is absent, ``file_unreadable`` when the zip cannot be read,
``invalid_format`` otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator

from docpipe.models import Code
from docpipe.rules import Hit, RuleContext, rule


@rule("SUBMISSION-JSON", code="invalid_format", severity="error", needs_submission=False)
def submission_json(ctx: RuleContext) -> Iterator[Hit]:
    """申报数据 submission.json / submission.json.

    submission.json must be present, UTF-8 JSON, and of the contract's shape
    (CONTRACT §1). The message carries the parser's line and column or the field paths,
    never the filed values. [D]
    """
    err = ctx.submission_error
    if err is None:
        return
    code = Code(err.code) if err.code in Code.__members__ else None
    yield Hit(field="submission", message=err.message, code=code)
