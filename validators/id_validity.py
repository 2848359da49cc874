"""Validity of every holder's ID document: band by age, expiry (RULES.md "Identity").

ID-VALIDITY-TERM follows 居民身份证法 第五条 and applies to resident ID cards only;
ID-EXPIRED and ID-EXPIRING apply to any ID document with a dated end, because an
expired passport is as expired as an expired card. All three report on
``<person>.id_valid_to``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from docpipe.normalize import (
    LONG_TERM,
    add_days,
    add_years,
    age_on,
    is_long_term,
    parse_filed_date,
    year_ends,
)
from docpipe.rules import Hit, RuleContext, rule
from validators.dates import as_of
from validators.identity import filed_numbers, is_resident_card

EXPIRING_DAYS = 30
BAND_GRACE_DAYS = 60
BAND_BIRTHDAYS = (16, 26, 46)


def term_for_age(age: int) -> int | None:
    """Return the validity in years for an age on the valid-from date; ``None`` for 长期 (46+).

    >>> [term_for_age(a) for a in (15, 16, 25, 26, 45, 46)]
    [5, 10, 10, 20, 20, None]
    """
    if age < 16:
        return 5
    if age < 26:
        return 10
    if age < 46:
        return 20
    return None


def birthday(birth: date, years: int) -> date:
    """Return the day one turns ``years`` old (1 Mar for a 29 Feb child in a common year)."""
    day = add_years(birth, years)
    if (birth.month, birth.day) == (2, 29) and day.day == 28:
        return add_days(day, 1)
    return day


def accepted_terms(birth: date, start: date) -> list[int | None]:
    """Return the terms accepted for a card valid from ``start``, the age's band first.

    Within 60 days after the 16th, 26th or 46th birthday the younger band is accepted
    too (the application may predate the birthday).

    >>> accepted_terms(date(1990, 5, 1), date(2016, 6, 1))
    [20, 10]
    >>> accepted_terms(date(1990, 5, 1), date(2016, 9, 1))
    [20]
    """
    terms = [term_for_age(age_on(birth, start))]
    for years in BAND_BIRTHDAYS:
        if 0 <= (start - birthday(birth, years)).days <= BAND_GRACE_DAYS:
            younger = term_for_age(years - 1)
            if younger not in terms:
                terms.append(younger)
    return terms


def _term_text(start: date, term: int | None) -> str:
    """Return the expected end as filed: ISO date or 长期."""
    return LONG_TERM if term is None else add_years(start, term).isoformat()


@rule("ID-VALIDITY-TERM", code="inconsistent", severity="warning")
def id_validity_term(ctx: RuleContext) -> Iterator[Hit]:
    """身份证有效期与年龄 / ID card validity against age.

    居民身份证法 第五条: by age in full years on the valid-from date, under 16 → 5
    years, 16-25 → 10, 26-45 → 20, 46 and over → 长期; end = start + N years, same
    month and day (29 Feb → 28 Feb or 1 Mar); within 60 days after a 16th/26th/46th
    birthday the younger band is accepted too.
    """
    for n in filed_numbers(ctx):
        birth = n.birth
        start = parse_filed_date(n.person.id_valid_from)
        valid_to = n.person.id_valid_to
        if not n.check_ok or birth is None or start is None or valid_to is None:
            continue
        if not is_resident_card(n.person.id_type) or birth > start:
            continue
        end = parse_filed_date(valid_to)
        long_term = is_long_term(valid_to)
        if end is None and not long_term:
            continue  # DATE-FORMAT reports it (no date, or a year out of range)
        terms = accepted_terms(birth, start)
        if any(
            (term is None and long_term)
            or (term is not None and end is not None and end in year_ends(start, term))
            for term in terms
        ):
            continue
        age = age_on(birth, start)
        expected = _term_text(start, terms[0])
        yield Hit(
            field=f"{n.path}.id_valid_to",
            filed=valid_to,
            found=expected,
            message=(
                f"有效期起始日{start}时年满{age}周岁，有效期截止应为{expected}，"
                f"填报为{valid_to} / aged {age} on the valid-from date {start}, the card "
                f"should be valid to {expected}, filed {valid_to}"
            ),
        )


def _valid_to_dates(ctx: RuleContext) -> Iterator[tuple[str, str, date]]:
    """``(path, filed, date)`` of every dated validity end, whatever the ID type.

    An end DATE-FORMAT refuses (no date, a year outside 1900-2199) is left to it.
    """
    if ctx.submission is None:
        return
    for path, person in ctx.submission.persons():
        end = parse_filed_date(person.id_valid_to)
        if person.id_valid_to is not None and end is not None:
            yield path, person.id_valid_to, end


@rule("ID-EXPIRED", code="expired", severity="error")
def id_expired(ctx: RuleContext) -> Iterator[Hit]:
    """证件已过期 / ID document expired.

    The validity end is before the reference date. 长期 never expires.
    """
    ref = as_of(ctx)
    if ref is None:
        return  # DATE-FORMAT reports the reference date
    for path, filed, end in _valid_to_dates(ctx):
        if end < ref:
            yield Hit(
                field=f"{path}.id_valid_to",
                filed=filed,
                message=(
                    f"证件已于{end}过期（审核日期{ref}） / "
                    f"ID document expired on {end} (reference date {ref})"
                ),
            )


@rule("ID-EXPIRING", code="expired", severity="warning")
def id_expiring(ctx: RuleContext) -> Iterator[Hit]:
    """证件即将过期 / ID document about to expire.

    The validity end is on the reference date or within 30 days after it.
    """
    ref = as_of(ctx)
    if ref is None:
        return  # DATE-FORMAT reports the reference date
    # Saturating, so that no reference date can make the window overflow.
    limit = add_days(ref, EXPIRING_DAYS)
    for path, filed, end in _valid_to_dates(ctx):
        if ref <= end <= limit:
            days = (end - ref).days
            yield Hit(
                field=f"{path}.id_valid_to",
                filed=filed,
                message=(
                    f"证件将于{end}过期（{days}天后） / "
                    f"ID document expires on {end} (in {days} days)"
                ),
            )
