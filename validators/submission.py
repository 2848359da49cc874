"""The whole submission: is ``submission.json`` there, of the contract's shape, complete.

SUBMISSION-JSON runs without a parsed submission (``needs_submission=False``): it
reports why there is none. The finding goes on ``submission``; its code is the error's
own (``missing_document`` when the file is absent, ``file_unreadable`` when the zip
cannot be read, ``invalid_format`` otherwise). SUBMISSION-REQUIRED reports each
required value that is absent (CONTRACT §1), on its own path.
"""

from __future__ import annotations

from collections.abc import Iterator

from docpipe.compare import is_filed
from docpipe.models import Code, Submission
from docpipe.normalize import norm_text
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


# CONTRACT §1 requires every field below for change_operator and new_operator; these
# types need only application_type. A type the portal does not name is held to the full
# list (as FILE-REQUIRED holds it to change_operator's documents): an unknown or
# mistyped type must not make an empty submission pass.
LIGHT_TYPES = frozenset({"lost_or_damaged", "certificate_renewal", "enterprise_info_change"})

# (path, 中文 name) of the required values outside the operators, in report order.
_REQUIRED: tuple[tuple[str, str], ...] = (
    ("enterprise.credit_code", "统一社会信用代码"),
    ("enterprise.name", "企业名称"),
    ("legal_person.name", "法人姓名"),
    ("legal_person.id_number", "法人证件号码"),
    ("channel.mode", "领取方式"),
)
# (attribute, 中文 name) every filed operator must carry.
_OPERATOR_REQUIRED: tuple[tuple[str, str], ...] = (
    ("name", "姓名"),
    ("id_type", "证件类型"),
    ("id_number", "证件号码"),
    ("id_valid_from", "证件有效期起始日"),
    ("id_valid_to", "证件有效期截止日"),
    ("mobile", "移动电话"),
    ("device_type", "设备类型"),
    ("device_number", "设备编号"),
)


def _missing(path: str, label_zh: str, filed: str | None = None) -> Hit:
    return Hit(
        field=path,
        filed=filed,
        message=f"必填项缺失：{path}（{label_zh}） / required field missing: {path}",
    )


def _lookup(sub: Submission, path: str) -> str | None:
    """The filed value at a dotted path of ``_REQUIRED``; ``None`` when a parent is absent."""
    node: object = sub
    for step in path.split("."):
        node = getattr(node, step, None)
        if node is None:
            return None
    return node if isinstance(node, str) else None


@rule("SUBMISSION-REQUIRED", code="invalid_format", severity="error")
def submission_required(ctx: RuleContext) -> Iterator[Hit]:
    """必填项 / required fields.

    CONTRACT §1: ``application_type`` is required whatever the type; for
    ``change_operator`` and ``new_operator`` (and a type the portal does not name)
    also ``enterprise.credit_code``, ``enterprise.name``, ``legal_person.name``,
    ``legal_person.id_number``, ``channel.mode`` and at least one operator, each with
    name, ID type, number and validity, mobile, device type and number. Each absent one
    (missing, null, blank) is an error on its path, so a submission missing them never
    passes; the other rules skip absent values. [D]
    """
    sub = ctx.submission
    assert sub is not None
    # The model defaults an absent type to change_operator; the filed keys say whether
    # it was sent.
    sent = "application_type" in sub.model_fields_set
    if not sent or not is_filed(sub.application_type):
        yield _missing("application_type", "申请业务类型", sub.application_type if sent else None)
    kind = norm_text(sub.application_type or "").lower()
    if kind in LIGHT_TYPES:
        return
    for path, label in _REQUIRED:
        value = _lookup(sub, path)
        if not is_filed(value):
            yield _missing(path, label, value)
    if not sub.operators:
        yield Hit(
            field="operators",
            message=(
                "必填项缺失：operators（至少填报一名操作员） / required field missing: "
                "operators (at least one operator)"
            ),
        )
    for i, op in enumerate(sub.operators):
        for attr, label in _OPERATOR_REQUIRED:
            value = getattr(op, attr)
            if not is_filed(value):
                yield _missing(f"operators[{i}].{attr}", f"操作员{i + 1}{label}", value)
