"""Filed value against read value: equal, different, or in doubt — and the finding for each.

The uncertainty policy lives here, once, for every document rule:

- both normalised the same way (RULES.md: NFKC, no whitespace, upper case; dates by
  value; 长期 / 永久 / 无固定期限 alike) and equal → no finding;
- different, and the reading is confident → ``mismatch`` (the rule's severity);
- different, but the reading is doubtful (confidence under ``DOUBT_BELOW``) →
  ``not_found`` warning that says what was read: a doubt is not a verdict;
- the document is there but the field could not be read → ``not_found`` warning;
- different, confident, but a reading problem (``docpipe.misread``; RULES.md decision
  "A reading is not a finding"): the filed value with a neighbour's label or value
  beside it, a value cut at a line or cell boundary (``FieldValue.cut``), a reading
  whose shape its field cannot have → ``not_found`` warning that says what was read;
- different, and the reading fails its check character although a second look read it
  the same (``FieldValue.check_failed``): the document's own error (an applicant's
  typo) → ``inconsistent`` error on the filed field, the reading as evidence.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial

from typing_extensions import TypeIs

from docpipe.misread import SHAPES, absorbed, cut_short
from docpipe.models import Code, Document, Evidence, FieldValue, Severity, Submission
from docpipe.normalize import edit_distance, is_long_term, norm_id, norm_text, parse_date
from docpipe.rules import Hit

# A reading below this confidence may be wrong by a character: never call it a mismatch.
DOUBT_BELOW = float(os.environ.get("DOCPIPE_DOUBT_BELOW", "0.90"))
# Nor one with a character scored below this (where the engine scores characters): a
# line's confidence is the mean of its characters', which one misread in a long line
# hardly lowers. Measured on the 4810 values of bench/accuracy.py's work set (50 of them
# wrong): line confidence alone puts 27 wrong values in doubt; with characters under
# 0.6, 35 (and 1.0 % of the right values); under 0.7 or 0.8, 41 (1.8 % / 3.3 %). 0.8,
# because rare characters of names were misread at 0.74-0.75 in bench/verify.py's clean
# submissions (邱斌燚 as 邱斌炎 at 0.736, 欧阳垚 as 欧阳垫 at 0.747): a right value in doubt
# costs only when it differs from the filed one (a warning then, not an error).
CHAR_DOUBT_BELOW = float(os.environ.get("DOCPIPE_CHAR_DOUBT_BELOW", "0.80"))
# The most characters a weak character's doubt can explain between filed and read.
CHAR_DOUBT_EDITS = 2


class Outcome(Enum):
    """How a filed value compares with what a document shows."""

    equal = "equal"
    different = "different"
    doubtful = "doubtful"
    unread = "unread"


# Middle dots a name may be written with: · (U+00B7), •, ・, ‧, ･, and . (also what
# NFKC makes of the full-width ．).
NAME_DOTS = re.compile(r"[·•・‧･.]")


def norm_value(value: str, how: str = "text") -> str:
    """Normal form for comparing (``text``, ``id``, ``date``, ``name``).

    >>> norm_value("2011年7月1日", "date") == norm_value("2011-07-01", "date")
    True
    >>> norm_value("永久", "date")
    '长期'
    >>> norm_value("张 三", "name")
    '张三'
    >>> {norm_value(n, "name") for n in ("买买提·艾力", "买买提•艾力", "买买提．艾力")}
    {'买买提艾力'}
    """
    if how == "date":
        if is_long_term(value):
            return "长期"
        d = parse_date(value)
        return d.isoformat() if d else norm_text(value)
    if how == "id":
        return norm_id(value)
    if how == "name":  # the middle dot of 买买提·艾力 in any spelling, or none
        return NAME_DOTS.sub("", norm_text(value))
    return norm_text(value)


def outcome(filed: str, found: FieldValue | None, how: str = "text") -> Outcome:
    """Compare one filed value with one read field."""
    if found is None or not found.value:
        return Outcome.unread
    a, b = norm_value(filed, how), norm_value(found.value, how)
    if a == b:
        # Another document's reading that the image could not tell from this one's:
        # equal, but the image did not say so.
        return Outcome.doubtful if found.borrowed else Outcome.equal
    if found.confidence < DOUBT_BELOW:
        return Outcome.doubtful
    # A weak character explains a difference of a character or two, not another value
    # altogether (温州市远大电器有限公司 filed, 杭州市宏华工贸有限公司 read).
    if _weak_char(found) and edit_distance(a, b) <= CHAR_DOUBT_EDITS:
        return Outcome.doubtful
    return Outcome.different


def is_doubtful(found: FieldValue) -> bool:
    """The reading may be wrong by a character: its line, or one of its characters, is weak."""
    return found.confidence < DOUBT_BELOW or _weak_char(found)


def _weak_char(found: FieldValue) -> bool:
    return found.char_confidence is not None and found.char_confidence < CHAR_DOUBT_BELOW


def evidence(doc: Document, fv: FieldValue | None) -> list[Evidence]:
    """Where the reviewer can see the value: file, page, box, raw OCR text."""
    return [
        Evidence(
            file=doc.file,
            page=doc.page,
            bbox=(fv.bbox if fv and fv.bbox else doc.region),
            text=fv.raw if fv else None,
        )
    ]


@dataclass(frozen=True)
class Check:
    """One filed field against one document field, with the reviewer's words for it."""

    path: str  # the filed field, e.g. operators[0].id_number
    filed: str | None
    doc: Document
    doc_field: str
    what_zh: str  # e.g. 操作员证件号码
    what_en: str  # e.g. operator ID number
    source_zh: str  # e.g. 身份证
    source_en: str  # e.g. the ID card
    how: str = "text"
    # What a confident reading must look like to stand as a mismatch; ``None``: by
    # ``how`` (``misread.SHAPES``: a date parses, a code has 18 characters).
    shape: Callable[[str], bool] | None = None
    # The submission's other filed values (``filed_values``): a reading that carries
    # one beside the filed value ran into its neighbour.
    others: tuple[str, ...] = ()

    def shaped(self, value: str) -> bool:
        """Whether a reading has the shape its field's values have."""
        shape = self.shape or SHAPES.get(self.how)
        return shape is None or shape(value)

    def neighbours(self) -> list[str]:
        """What may stand beside the value: the other filed values, the document's other fields."""
        read = [
            fv.value for name, fv in self.doc.fields.items() if name != self.doc_field and fv.value
        ]
        return [*self.others, *read]


def filed_values(sub: Submission) -> tuple[str, ...]:
    """Every filed string of a submission, for ``Check.others``.

    >>> filed_values(Submission.model_validate({"enterprise": {"name": "甲公司"}}))
    ('change_operator', '甲公司')
    """
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            if node.strip():
                out.append(node)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(sub.model_dump(exclude_none=True))
    return tuple(out)


def is_filed(value: str | None) -> TypeIs[str]:
    """Whether a value was filed at all: missing, null and blank strings were not.

    >>> is_filed("张三"), is_filed("  "), is_filed(None)
    (True, False, False)
    """
    return bool(value and value.strip())


def judge(check: Check, *, equal: Callable[[str, str], bool] | None = None) -> Hit | None:
    """The finding for one check, or ``None`` when the values agree (or nothing was filed).

    ``equal`` replaces exact comparison where a rule allows tolerance (addresses). A
    blank filed value is absent (SUBMISSION-REQUIRED reports it), not one that differs.
    """
    if not is_filed(check.filed):
        return None
    fv = check.doc.fields.get(check.doc_field)
    result = outcome(check.filed, fv, check.how)
    if (
        result in (Outcome.different, Outcome.doubtful)
        and equal is not None
        and fv is not None
        and fv.value
        and not fv.borrowed  # another document's reading stays a doubt
        and equal(norm_value(check.filed, check.how), norm_value(fv.value, check.how))
    ):
        result = Outcome.equal
    if result is Outcome.equal:
        return None
    # Every finding of a check names the same filed field and shows the same evidence.
    finding = partial(Hit, field=check.path, filed=check.filed, evidence=evidence(check.doc, fv))
    if result is Outcome.unread:
        return finding(
            found=None,
            code=Code.not_found,
            severity=Severity.warning,
            message=(
                f"未能从{check.source_zh}识别{check.what_zh}，请人工核对 / "
                f"could not read the {check.what_en} from {check.source_en}: a person must look"
            ),
        )
    assert fv is not None and fv.value is not None
    problem = _doubt_message(check, fv) if result is Outcome.doubtful else _misread(check, fv)
    if problem is not None:
        return finding(
            found=fv.value, code=Code.not_found, severity=Severity.warning, message=problem
        )
    if fv.check_failed:
        return finding(
            found=fv.value,
            code=Code.inconsistent,
            severity=Severity.error,
            message=(
                f"{check.source_zh}上的{check.what_zh}“{fv.value}”校验位不符（再次识别仍相同，"
                f"系材料本身填写有误），且与填报的不一致，请申请人更正 / the {check.what_en} "
                f"on {check.source_en} (“{fv.value}”) fails its check character (read the "
                "same at a second look: the document's own error) and differs from the "
                "filed one: the applicant must make them agree"
            ),
        )
    return finding(
        found=fv.value,
        code=Code.mismatch,
        message=(
            f"{check.what_zh}与{check.source_zh}不一致 / "
            f"the {check.what_en} differs from {check.source_en}"
        ),
    )


def _misread(check: Check, fv: FieldValue) -> str | None:
    """Why a confident, different reading is a reading problem, not a finding; else ``None``.

    RULES.md decision "A reading is not a finding": a neighbour's label or value beside
    the filed value, a value cut at a line or cell boundary, a shape its field cannot
    have (``docpipe.misread``).
    """
    assert check.filed is not None and fv.value is not None
    filed, found = norm_value(check.filed, check.how), norm_value(fv.value, check.how)
    zh = f"{check.source_zh}上的{check.what_zh}读为“{fv.value}”"
    en = f"the {check.what_en} on {check.source_en} was read as “{fv.value}”"
    if absorbed(filed, found, check.neighbours()):
        return (
            f"{zh}，连带了相邻栏目的文字，请人工核对 / {en}, running into a neighbouring "
            "field's text: a person must look"
        )
    if fv.cut and cut_short(filed, found):
        return (
            f"{zh}，止于行或单元格边界，可能未读全，请人工核对 / {en}, which stops at a line "
            "or cell boundary and may be cut short: a person must look"
        )
    if not check.shaped(fv.value):
        return (
            f"{zh}，不符合{check.what_zh}的格式，请人工核对 / {en}, which has not the shape "
            f"of a {check.what_en}: a person must look"
        )
    return None


def _doubt_message(check: Check, fv: FieldValue) -> str:
    """Why a person must look: the reading is weak, or it is another document's."""
    if fv.borrowed:
        return (
            f"{check.source_zh}上的{check.what_zh}看不清，与另一份材料（{fv.borrowed}）"
            f"读出的“{fv.value}”相符，但不能确认，请人工核对 / the {check.what_en} on "
            f"{check.source_en} is unclear: it fits “{fv.value}” as read on "
            f"{fv.borrowed}, but the image cannot confirm it: a person must look"
        )
    return (
        f"{check.source_zh}上的{check.what_zh}识别不确定（读为“{fv.value}”，"
        f"置信度 {_shown(fv)}），请人工核对 / the {check.what_en} on "
        f"{check.source_en} was read as “{fv.value}” with low confidence "
        f"({_shown(fv)}): a person must look"
    )


def _shown(fv: FieldValue) -> str:
    """The confidence as the reviewer reads it: the weakest character's when that is lower.

    >>> _shown(FieldValue(value="欧阳垫", confidence=0.97, char_confidence=0.41))
    '0.41'
    """
    conf = fv.confidence
    if fv.char_confidence is not None:
        conf = min(conf, fv.char_confidence)
    return f"{conf:.2f}"
