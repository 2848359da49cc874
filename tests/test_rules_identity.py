"""Identity rules on filed ID numbers and validity dates (RULES.md "Identity")."""

from __future__ import annotations

from datetime import date

import pytest

# The shared synthetic-submission builder (tests/ is on sys.path under pytest's default
# import mode, as tests/ has no __init__.py).
from test_rules_filed import (
    LEGAL_ID,
    OP0_ID,
    OP1_ID,
    REF,
    assert_one,
    make_id,
    run,
    valid_data,
    with_values,
)

from docpipe.checkdigits import id_check_char

FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def _id_ending_in_x(region: str, birth: str) -> str:
    """A synthetic number whose check character is X (found by trying sequences)."""
    for seq in range(1, 1000):
        number = make_id(region, birth, f"{seq:03d}")
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence gives X")


X_ID = _id_ending_in_x("330784", "19750409")


# --------------------------------------------------------------------------- ID-FORMAT / CHECK


@pytest.mark.parametrize(
    "number",
    [
        LEGAL_ID,
        X_ID,
        X_ID.lower(),
        LEGAL_ID.translate(FULL_WIDTH_DIGITS),
        f" {LEGAL_ID[:6]} {LEGAL_ID[6:]}",
    ],
    ids=["plain", "X", "lower-x", "full-width", "spaces"],
)
@pytest.mark.parametrize("rule_id", ["ID-FORMAT", "ID-CHECK", "ID-REGION", "ID-BIRTH"])
def test_id_number_accepted(rule_id: str, number: str) -> None:
    data = with_values(valid_data(), legal_person__id_number=number)
    assert run(data, rule_id) == []


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (LEGAL_ID[:6] + LEGAL_ID[8:17], "15-digit"),
        (LEGAL_ID[:17], "17 characters"),
        (LEGAL_ID[:17] + "Y", "character 18"),
        (LEGAL_ID[:5] + "A" + LEGAL_ID[6:], "first 17"),
    ],
    ids=["15-digit", "17-chars", "bad-last", "letter-inside"],
)
def test_id_format_refused(number: str, words: str) -> None:
    data = with_values(valid_data(), legal_person__id_number=number)
    f = assert_one(
        run(data, "ID-FORMAT"), "ID-FORMAT", "invalid_format", "error", "legal_person.id_number"
    )
    assert words in f.message
    assert f.filed == number
    # A malformed number is one finding: the derived rules stay quiet.
    for other in ("ID-CHECK", "ID-BIRTH", "ID-REGION", "ID-GENDER", "ID-VALIDITY-TERM"):
        assert run(data, other) == [], other


def test_id_rules_skip_other_id_types_and_missing_numbers() -> None:
    data = with_values(
        valid_data(), operators__0__id_type="护照", operators__0__id_number="E12345678"
    )
    assert run(data, "ID-FORMAT") == []
    data = with_values(valid_data(), operators__0__id_number=None)
    assert run(data, "ID-FORMAT") == []


@pytest.mark.parametrize("position", [0, 7, 13, 16, 17], ids=lambda p: f"pos{p + 1}")
def test_id_check_refuses_one_changed_character(position: int) -> None:
    number = OP0_ID
    changed = "0123456789X"
    i = position
    new_char = next(c for c in changed if c != number[i] and (i == 17 or c != "X"))
    wrong = number[:i] + new_char + number[i + 1 :]
    data = with_values(valid_data(), operators__0__id_number=wrong)
    f = assert_one(
        run(data, "ID-CHECK"), "ID-CHECK", "invalid_format", "error", "operators[0].id_number"
    )
    assert f.found == id_check_char(wrong[:17])
    # The same typo must not spill over to gender or birth date of the operator.
    assert run(data, "ID-GENDER") == []
    assert [x for x in run(data, "ID-BIRTH") if x.field == "operators[0].birth_date"] == []


# --------------------------------------------------------------------------- ID-BIRTH


@pytest.mark.parametrize(
    ("number", "valid_from", "found"),
    [
        (make_id("330784", "19751340", "011"), "2015-03-02", "19751340"),
        (make_id("330784", "20270101", "011"), "2015-03-02", "2027-01-01"),
        (make_id("330784", "20160101", "011"), "2015-03-02", "2016-01-01"),
    ],
    ids=["not-a-date", "after-reference", "after-valid-from"],
)
def test_id_birth_invalid(number: str, valid_from: str, found: str) -> None:
    data = with_values(
        valid_data(), legal_person__id_number=number, legal_person__id_valid_from=valid_from
    )
    f = assert_one(
        run(data, "ID-BIRTH"), "ID-BIRTH", "invalid_format", "error", "legal_person.id_number"
    )
    assert f.found == found


def test_id_birth_differs_from_filed_birth_date() -> None:
    data = with_values(valid_data(), operators__0__birth_date="1972-04-10")
    f = assert_one(
        run(data, "ID-BIRTH"), "ID-BIRTH", "inconsistent", "error", "operators[0].birth_date"
    )
    assert (f.filed, f.found) == ("1972-04-10", "1972-04-09")


# --------------------------------------------------------------------------- ID-REGION


@pytest.mark.parametrize(
    "number",
    [
        make_id("810000", "19800101", "013"),
        make_id("820000", "19800101", "013"),
        make_id("830000", "19800101", "013"),
        make_id("931560", "19800101", "013"),
        make_id("710000", "19800101", "013"),
    ],
    ids=["81-hk", "82-macao", "83-taiwan", "9-permanent-residence", "71"],
)
def test_id_region_accepts_permits(number: str) -> None:
    data = with_values(
        valid_data(), operators__1__id_number=number, operators__1__id_type="港澳台居民居住证"
    )
    assert run(data, "ID-REGION") == []
    assert run(data, "ID-FORMAT") == []
    assert run(data, "ID-CHECK") == []


@pytest.mark.parametrize(
    "region", ["100000", "160000", "720000", "840000", "000000"], ids=lambda r: r[:2]
)
def test_id_region_refused(region: str) -> None:
    number = make_id(region, "20010214", "035")
    data = with_values(valid_data(), operators__1__id_number=number)
    f = assert_one(
        run(data, "ID-REGION"), "ID-REGION", "invalid_format", "error", "operators[1].id_number"
    )
    assert f.found == region[:2]


# --------------------------------------------------------------------------- ID-GENDER


@pytest.mark.parametrize(
    ("index", "gender"),
    [(0, "女"), (0, "F"), (1, "男"), (1, "男性"), (1, None)],
    ids=["female", "F", "male", "male-long", "missing"],
)
def test_id_gender_accepted(index: int, gender: str | None) -> None:
    data = with_values(valid_data(), **{f"operators__{index}__gender": gender})
    assert run(data, "ID-GENDER") == []


def test_id_gender_differs() -> None:
    data = with_values(valid_data(), operators__1__gender="女")
    f = assert_one(
        run(data, "ID-GENDER"), "ID-GENDER", "inconsistent", "error", "operators[1].gender"
    )
    assert (f.filed, f.found) == ("女", "男")


def test_id_gender_unknown_word_is_invalid_format() -> None:
    data = with_values(valid_data(), operators__0__gender="未知")
    assert_one(
        run(data, "ID-GENDER"), "ID-GENDER", "invalid_format", "error", "operators[0].gender"
    )


# --------------------------------------------------------------------------- ID-VALIDITY-TERM


def _holder(birth: str, valid_from: str, valid_to: str) -> dict[str, object]:
    """Valid data whose operator 1 was born on ``birth`` with the given card validity."""
    return with_values(
        valid_data(),
        operators__1__id_number=make_id("330784", birth.replace("-", ""), "035"),
        operators__1__birth_date=birth,
        operators__1__id_valid_from=valid_from,
        operators__1__id_valid_to=valid_to,
    )


@pytest.mark.parametrize(
    ("birth", "valid_from", "valid_to"),
    [
        ("1976-05-01", "2026-01-10", "长期"),  # 49: long-term
        ("1976-05-01", "2026-01-10", "永久"),  # long-term wording
        ("2012-07-01", "2020-07-01", "2025-07-01"),  # 8: 5 years
        ("2000-01-15", "2016-01-15", "2026-01-15"),  # 16 on the day: 10 years
        ("2000-01-15", "2016-02-20", "2021-02-20"),  # 36 days after 16th birthday: 5 years ok
        ("1990-05-01", "2016-06-30", "2026-06-30"),  # 60 days after 26th: 10 years ok
        ("1980-03-01", "2026-04-01", "2046-04-01"),  # 31 days after 46th: 20 years ok
        ("2000-02-29", "2016-02-29", "2026-02-28"),  # 29 Feb start → 28 Feb
        ("2000-02-29", "2016-02-29", "2026-03-01"),  # … or 1 Mar
        ("2000-02-29", "2016-02-28", "2021-02-28"),  # day before the 16th birthday: 5 years
        ("2001-02-14", "2019-05-10", "2029-05-10"),  # the base operator
    ],
    ids=[
        "long-term-49",
        "permanent-word",
        "child-5y",
        "16-on-birthday",
        "grace-16",
        "grace-26-day60",
        "grace-46",
        "29feb-to-28feb",
        "29feb-to-1mar",
        "29feb-eve",
        "base",
    ],
)
def test_id_validity_term_accepted(birth: str, valid_from: str, valid_to: str) -> None:
    assert run(_holder(birth, valid_from, valid_to), "ID-VALIDITY-TERM") == []


@pytest.mark.parametrize(
    ("birth", "valid_from", "valid_to", "found"),
    [
        ("1975-04-09", "2015-03-02", "长期", "2035-03-02"),  # 39: not long-term yet
        ("1975-04-09", "2015-03-02", "2025-03-02", "2035-03-02"),  # 39: 20 years, not 10
        ("1960-01-01", "2015-03-02", "2035-03-02", "长期"),  # 55: long-term
        ("1990-05-01", "2016-07-01", "2026-07-01", "2036-07-01"),  # 61 days: grace over
        ("2001-02-14", "2019-05-10", "2029-05-11", "2029-05-10"),  # a day off
        ("2000-02-29", "2016-02-29", "2026-03-02", "2026-02-28"),  # 29 Feb: not 2 Mar
    ],
    ids=["long-at-39", "10y-at-39", "20y-at-55", "grace-over", "day-off", "29feb-2mar"],
)
def test_id_validity_term_inconsistent(
    birth: str, valid_from: str, valid_to: str, found: str
) -> None:
    f = assert_one(
        run(_holder(birth, valid_from, valid_to), "ID-VALIDITY-TERM"),
        "ID-VALIDITY-TERM",
        "inconsistent",
        "warning",
        "operators[1].id_valid_to",
    )
    assert (f.filed, f.found) == (valid_to, found)


def test_id_validity_term_only_for_resident_cards() -> None:
    data = with_values(
        _holder("1975-04-09", "2015-03-02", "2020-03-02"), operators__1__id_type="港澳台居民居住证"
    )
    assert run(data, "ID-VALIDITY-TERM") == []


# --------------------------------------------------------------------------- ID-EXPIRED / EXPIRING


@pytest.mark.parametrize(
    ("valid_to", "rule_id", "code", "severity"),
    [
        ("2026-11-19", "ID-EXPIRED", "expired", "error"),
        ("2016-01-01", "ID-EXPIRED", "expired", "error"),
        ("2026-11-30", "ID-EXPIRING", "expired", "warning"),  # in 10 days
        ("2026-11-20", "ID-EXPIRING", "expired", "warning"),  # on the reference date
        ("2026-12-20", "ID-EXPIRING", "expired", "warning"),  # day 30
    ],
    ids=["yesterday", "long-ago", "in-10-days", "today", "day-30"],
)
def test_id_expiry_found(valid_to: str, rule_id: str, code: str, severity: str) -> None:
    data = with_values(valid_data(), legal_person__id_valid_to=valid_to)
    f = assert_one(run(data, rule_id), rule_id, code, severity, "legal_person.id_valid_to")
    assert f.filed == valid_to
    other = "ID-EXPIRING" if rule_id == "ID-EXPIRED" else "ID-EXPIRED"
    assert run(data, other) == []


@pytest.mark.parametrize(
    "valid_to",
    ["2026-12-21", "长期", None, "2035-03-02"],
    ids=["day-31", "long-term", "missing", "far"],
)
def test_id_expiry_quiet(valid_to: str | None) -> None:
    data = with_values(valid_data(), legal_person__id_valid_to=valid_to)
    assert run(data, "ID-EXPIRED") == []
    assert run(data, "ID-EXPIRING") == []


def test_id_expiry_uses_the_reference_date() -> None:
    data = valid_data()
    later = run(data, "ID-EXPIRED", reference=date(2035, 3, 3))
    assert [f.field for f in later] == ["legal_person.id_valid_to", "operators[1].id_valid_to"]
    assert run(data, "ID-EXPIRED", reference=REF) == []


def test_base_people_are_distinct() -> None:
    assert len({LEGAL_ID, OP0_ID, OP1_ID}) == 3
