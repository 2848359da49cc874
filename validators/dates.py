"""Format of every filed date.

Filed values are kept as the strings the portal sent (models.py), so a date that is not
a real date must be reported here; the other rules then skip it quietly. The portal
sends ISO ``YYYY-MM-DD``; the dotted, slashed and 年月日 spellings are read as well
because they are unambiguous, so only a value that is no date at all is refused.
Source: RULES.md, finding code ``invalid_format`` ("mobile, date, device number").
"""

from __future__ import annotations

from collections.abc import Iterator

from docpipe.models import Submission
from docpipe.normalize import is_long_term, parse_date
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


@rule("DATE-FORMAT", code="invalid_format", severity="error")
def date_format(ctx: RuleContext) -> Iterator[Hit]:
    """日期格式 / Date format.

    Every filed date must be a real calendar date (``YYYY-MM-DD``); a validity end or a
    business term end may also be 长期. Missing optional dates are not judged here.
    """
    sub = ctx.submission
    if sub is None:
        return
    for field, value, long_ok in filed_dates(sub):
        if value is None or not value.strip():
            continue
        if parse_date(value) is not None or (long_ok and is_long_term(value)):
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
