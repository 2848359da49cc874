"""Normalisers: text, IDs, dates, years and ages."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docpipe.normalize import (
    add_years,
    age_on,
    is_long_term,
    norm_date,
    norm_id,
    norm_text,
    parse_date,
    year_ends,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("永康市天佳（五金）有限公司", "永康市天佳(五金)有限公司"),
        ("永康市 天佳\u3000有限公司", "永康市天佳有限公司"),
        ("ｉｃ卡", "IC卡"),
        ("９１３３０７８４", "91330784"),
    ],
    ids=["brackets", "spaces", "full-width-letters", "full-width-digits"],
)
def test_norm_text_equal(a: str, b: str) -> None:
    assert norm_text(a) == norm_text(b)


def test_norm_id_upper_cases_x() -> None:
    assert norm_id("11010519491231002x") == "11010519491231002X"
    assert norm_id(" 110105 19491231 002ｘ") == "11010519491231002X"


@pytest.mark.parametrize(
    "text",
    [
        "2011-07-21",
        "2011年07月21日",
        "2011年7月21日",
        "2011.07.21",
        "2011/07/21",
        "20110721",
        " 2011 - 07 - 21 ",
        "２０１１年７月２１日",
    ],
    ids=["iso", "cn-padded", "cn", "dots", "slashes", "compact", "spaced", "full-width"],
)
def test_parse_date_spellings(text: str) -> None:
    assert parse_date(text) == date(2011, 7, 21)
    assert norm_date(text) == "2011-07-21"


@pytest.mark.parametrize(
    "text",
    ["2011-02-29", "2011-00-10", "2011-07-32", "长期", "2011-07", "21/07/2011", "", None, "abc"],
    ids=[
        "29feb-common",
        "month-0",
        "day-32",
        "long-term",
        "partial",
        "dmy",
        "empty",
        "none",
        "text",
    ],
)
def test_parse_date_refuses(text: str | None) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    "text",
    ["长期", " 长 期 ", "永久", "无固定期限"],
    ids=["long", "spaced", "permanent", "unlimited"],
)
def test_long_term(text: str) -> None:
    assert is_long_term(text)
    assert norm_date(text) == "长期"


def test_add_years_29_february() -> None:
    assert add_years(date(2016, 2, 29), 10) == date(2026, 2, 28)
    assert year_ends(date(2016, 2, 29), 10) == (date(2026, 2, 28), date(2026, 3, 1))
    assert add_years(date(2016, 2, 29), 20) == date(2036, 2, 29)
    assert year_ends(date(2016, 2, 29), 20) == (date(2036, 2, 29),)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2050, 12, 31)),
    st.integers(min_value=0, max_value=60),
)
def test_add_years_keeps_month_and_age(d: date, n: int) -> None:
    later = add_years(d, n)
    assert later.year == d.year + n
    assert (later.month, later.day) == (d.month, d.day) or (d.month, d.day) == (2, 29)
    # On the n-th anniversary one is n years old (a 29 Feb child: from 1 Mar).
    anniversary = year_ends(d, n)[-1]
    assert age_on(d, anniversary) == n


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(1975, 4, 9), date(2015, 4, 8), 39),
        (date(1975, 4, 9), date(2015, 4, 9), 40),
        (date(2000, 2, 29), date(2017, 2, 28), 16),
        (date(2000, 2, 29), date(2017, 3, 1), 17),
        (date(2000, 2, 29), date(2016, 2, 29), 16),
    ],
    ids=["eve", "birthday", "29feb-common-eve", "29feb-common-1mar", "29feb-leap"],
)
def test_age_on(birth: date, day: date, age: int) -> None:
    assert age_on(birth, day) == age


def test_a_numeral_eight_read_as_ren_inside_a_dates_frame_is_eight() -> None:
    """Acc4 80060: four second readings in six of 二〇一四年三月八日 gave 三月人日; inside
    年, 月 and 日 人 means 八. Outside a date's frame it is text."""
    from docpipe.normalize import numeral_dates

    assert [d.isoformat() for _, _, d in numeral_dates("二〇一四年三月人日")] == ["2014-03-08"]
    assert [d.isoformat() for _, _, d in numeral_dates("二〇一四年人月十人日")] == ["2014-08-18"]
    assert numeral_dates("二〇一四年三月人民") == []
