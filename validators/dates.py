"""Format of every filed date.

Filed values are kept as the strings the portal sent (models.py), so a date that is not
a real date must be reported here; the other rules then skip it quietly. The portal
sends ISO ``YYYY-MM-DD``; the dotted, slashed and 年月日 spellings are read as well
because they are unambiguous, so only a value that is no date at all is refused — or
a real date whose year is outside 1900-2199 (``normalize.FILED_YEAR_MIN`` / ``_MAX``):
9999-12-31 typed for "no end" or 0001-01-01 for "unknown" is no date of a card, a
license or a review, and the rules that compute with dates skip it
(``normalize.parse_filed_date``). A ``--reference-date`` given on the command line is
judged here too, on ``reference_date``. Source: RULES.md, finding code
``invalid_format`` ("mobile, date, device number").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from docpipe.models import Submission
from docpipe.normalize import (
    FILED_YEAR_MAX,
    FILED_YEAR_MIN,
    in_filed_range,
    is_long_term,
    parse_date,
)
from docpipe.rules import Hit, RuleContext, rule

# (attribute, 长期 allowed) for the enterprise and for each person.
ENTERPRISE_DATES = (
    ("established_date", False),
    ("license_issue_date", False),
    ("business_term_to", True),
)
PERSON_DATES = (
    ("id_valid_from", False),
    ("id_valid_to", True),
    ("birth_date", False),
)


def filed_dates(sub: Submission) -> Iterator[tuple[str, str | None, bool]]:
    """Yield ``(field path, filed value, long-term allowed)`` for every filed date."""
    yield "reference_date", sub.reference_date, False
    for name, long_ok in ENTERPRISE_DATES:
        yield f"enterprise.{name}", getattr(sub.enterprise, name), long_ok
    for path, person in sub.persons():
        for name, long_ok in PERSON_DATES:
            yield f"{path}.{name}", getattr(person, name), long_ok


def as_of(ctx: RuleContext) -> date | None:
    """The reference date "expired" and "after the reference date" are judged by, if usable.

    ``None`` when its year is outside 1900-2199: DATE-FORMAT reports it once on
    ``reference_date``; a review as of 9999-12-31 would otherwise call every dated card
    and license expired, findings spread over fields that are not at fault.
    """
    return ctx.reference_date if in_filed_range(ctx.reference_date) else None


def _out_of_range(field: str, value: str) -> Hit:
    """The finding for a real date whose year no filed date may carry."""
    return Hit(
        field=field,
        filed=value,
        message=(
            f"日期“{value}”的年份不在{FILED_YEAR_MIN}-{FILED_YEAR_MAX}年之间 / "
            f'the year of "{value}" is outside {FILED_YEAR_MIN}-{FILED_YEAR_MAX}'
        ),
    )


@rule("DATE-FORMAT", code="invalid_format", severity="error", needs_submission=False)
def date_format(ctx: RuleContext) -> Iterator[Hit]:
    """日期格式 / Date format.

    Every filed date must be a real calendar date (``YYYY-MM-DD``) of a year from 1900
    to 2199; a validity end or a business term end may also be 长期. Missing optional
    dates are not judged here. The reference date the review runs as of (filed, or
    given on the command line) is held to the same years.
    """
    sub = ctx.submission
    if not in_filed_range(ctx.reference_date):
        filed_ref = parse_date(sub.reference_date) if sub is not None else None
        if filed_ref != ctx.reference_date:
            # Not the filed value (that one is judged below): the command line's.
            yield _out_of_range("reference_date", ctx.reference_date.isoformat())
    if sub is None:
        return
    for field, value, long_ok in filed_dates(sub):
        if value is None or not value.strip():
            continue
        if long_ok and is_long_term(value):
            continue
        day = parse_date(value)
        if day is not None:
            if not in_filed_range(day):
                yield _out_of_range(field, value)
            continue
        hint_zh = "或“长期”" if long_ok else ""
        hint_en = ' or "长期"' if long_ok else ""
        yield Hit(
            field=field,
            filed=value,
            message=(
                f"日期“{value}”不是有效日期，应为YYYY-MM-DD{hint_zh} / "
                f'"{value}" is not a valid date; expected YYYY-MM-DD{hint_en}'
            ),
        )
