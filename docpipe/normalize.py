"""Normalisers for filed and read values: text, ID numbers, dates, ages.

RULES.md "Normalise before comparing": NFKC (folds full-width digits, letters and
brackets), strip all whitespace, upper-case letters. The same functions serve the rules
on filed values and the OCR extractors, so a value typed into the portal and the same
value read from a card compare equal.

Every function is pure and total: a value that cannot be understood gives ``None``
(or ``False``), never an exception, because judging a format is a rule's job.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import MAXYEAR, MINYEAR, date, timedelta
from functools import cache
from typing import Any

LONG_TERM = "长期"

# Words a card back or a license uses for "no end date". 长期有效 appears on some
# license copies; it means the same.
_LONG_TERM_WORDS = frozenset({"长期", "永久", "无固定期限", "长期有效"})

# Filed values are ISO; OCR gives the other spellings (card back: 2015.03.02, license:
# 2011年07月21日). Each pattern captures year, month, day.
_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


# Letters, forms and seals may date themselves in Chinese numerals: 二〇二五年三月七日.
# OCR reads 〇 as 〇, ○, O or 0; 零 is also written.
_ZERO = "〇○零O0"
# 八 as the recogniser reads it under a seal or a blur (三月人日): inside a date's frame of
# 年, 月 and 日 no other character is meant (acc4 80060, four second readings in six).
_EIGHT_LIKE = "人"
_NUMERAL_DATE = re.compile(
    rf"([{_ZERO}一二三四五六七八九]{{4}})\s*年\s*([一二三四五六七八九十{_EIGHT_LIKE}]{{1,2}})\s*月"
    rf"\s*([一二三四五六七八九十{_EIGHT_LIKE}]{{1,3}})\s*日"
)
_NUMERAL = (
    {c: 0 for c in _ZERO}
    | {c: i + 1 for i, c in enumerate("一二三四五六七八九")}
    | dict.fromkeys(_EIGHT_LIKE, 8)
)


def _numeral(s: str) -> int | None:
    """一..三十一 as Chinese dates write them (十一, 二十, 三十一); None if malformed."""
    if "十" not in s:
        return _NUMERAL[s] if len(s) == 1 else None
    tens, _, ones = s.partition("十")
    if len(tens) > 1 or "十" in ones or len(ones) > 1:
        return None
    return (_NUMERAL[tens] if tens else 1) * 10 + (_NUMERAL[ones] if ones else 0)


def _numeral_match(m: re.Match[str]) -> date | None:
    """The date a ``_NUMERAL_DATE`` match spells, if it is a real one."""
    year = int("".join(str(_NUMERAL[c]) for c in m.group(1)))
    month, day = _numeral(m.group(2)), _numeral(m.group(3))
    if month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def numeral_dates(text: str) -> list[tuple[int, int, date]]:
    """Every real date in ``text`` written in Chinese numerals: (start, end, date).

    >>> numeral_dates("签于二〇二五年三月十一日，二〇二五年二月三十日")
    [(2, 12, datetime.date(2025, 3, 11))]
    >>> numeral_dates("二〇一四年三月人日")[0][2]
    datetime.date(2014, 3, 8)
    """
    found = ((m.start(), m.end(), _numeral_match(m)) for m in _NUMERAL_DATE.finditer(text))
    return [(start, end, day) for start, end, day in found if day is not None]


def _nfkc_compact(s: str) -> str:
    """NFKC, then drop every whitespace character (NFKC turns U+3000 into a space)."""
    return "".join(unicodedata.normalize("NFKC", s).split())


def norm_text(s: str) -> str:
    """Normalise text for comparison: NFKC, no whitespace, letters upper-case.

    >>> norm_text("永康市天佳工贸（有限）公司 ")
    '永康市天佳工贸(有限)公司'
    >>> norm_text("永康市天佳工贸(有限)公司") == norm_text("永康市天佳工贸（有限）公司")
    True
    >>> norm_text("９１３３ ０７８４ｍ")
    '91330784M'
    >>> norm_text("ic卡")
    'IC卡'
    """
    return _nfkc_compact(s).upper()


def norm_id(s: str) -> str:
    """Normalise an ID number or code: as ``norm_text``, so a trailing ``x`` becomes ``X``.

    >>> norm_id(" 11010519491231002x ")
    '11010519491231002X'
    >>> norm_id("１１０１０５１９４９１２３１００２ｘ")
    '11010519491231002X'
    """
    return norm_text(s)


def is_long_term(s: str | None) -> bool:
    """Tell whether ``s`` says the validity has no end (长期, 永久, 无固定期限).

    >>> is_long_term(" 长 期")
    True
    >>> is_long_term("无固定期限")
    True
    >>> is_long_term("2035-03-02")
    False
    >>> is_long_term(None)
    False
    """
    if s is None:
        return False
    return _nfkc_compact(s) in _LONG_TERM_WORDS


def parse_date(s: str | None) -> date | None:
    """Read a date in any spelling the portal or a document uses; ``None`` if not a real date.

    >>> parse_date("2011-07-21")
    datetime.date(2011, 7, 21)
    >>> parse_date("2011年07月21日"), parse_date("2011年7月21日")
    (datetime.date(2011, 7, 21), datetime.date(2011, 7, 21))
    >>> parse_date("2015.03.02"), parse_date("2015/03/02"), parse_date("20150302")
    (datetime.date(2015, 3, 2), datetime.date(2015, 3, 2), datetime.date(2015, 3, 2))
    >>> parse_date("２０１５－０３－０２")  # full-width, as some forms type it
    datetime.date(2015, 3, 2)
    >>> parse_date("二〇一五年三月二日"), parse_date("二O二四年十二月二十日")  # 〇 read O
    (datetime.date(2015, 3, 2), datetime.date(2024, 12, 20))
    >>> parse_date("二〇二五年二月三十日") is None
    True
    >>> parse_date("2015-02-29") is None, parse_date("2015-13-01") is None
    (True, True)
    >>> parse_date("长期") is None, parse_date("") is None, parse_date(None) is None
    (True, True, True)
    """
    if s is None:
        return None
    text = _nfkc_compact(s)
    if (m := _NUMERAL_DATE.fullmatch(text)) is not None:
        return _numeral_match(m)
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        year, month, day = (int(g) for g in m.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


# Years a filed date may carry (CONTRACT §1 dates; DATE-FORMAT): no card, license or
# review of this portal is dated before 1900 or after 2199. A date outside is a typo
# (9999-12-31 for "no end", 0001-01-01 for "unknown"), reported, never computed with.
_SPAN_DAYS = (date.max - date.min).days
FILED_YEAR_MIN = 1900
FILED_YEAR_MAX = 2199


def in_filed_range(d: date) -> bool:
    """Tell whether a date's year is one a filed date may carry (1900-2199).

    >>> in_filed_range(date(1900, 1, 1)), in_filed_range(date(2199, 12, 31))
    (True, True)
    >>> in_filed_range(date(1899, 12, 31)), in_filed_range(date(9999, 12, 31))
    (False, False)
    """
    return FILED_YEAR_MIN <= d.year <= FILED_YEAR_MAX


def parse_filed_date(s: str | None) -> date | None:
    """Read a filed date as ``parse_date`` does; ``None`` also when its year is out of range.

    Rules that compute with filed dates use this, so a date DATE-FORMAT refuses is
    skipped by them as quietly as one that is no date at all.

    >>> parse_filed_date("2035-03-02")
    datetime.date(2035, 3, 2)
    >>> parse_filed_date("9999-12-31") is None, parse_filed_date("0001-01-01") is None
    (True, True)
    >>> parse_filed_date("长期") is None
    True
    """
    d = parse_date(s)
    return d if d is not None and in_filed_range(d) else None


def norm_date(s: str | None) -> str | None:
    """Return a date as ISO text, ``长期`` for any long-term wording, else ``None``.

    >>> norm_date("2015.03.02")
    '2015-03-02'
    >>> norm_date("永久")
    '长期'
    >>> norm_date("2015.02.30") is None
    True
    """
    if is_long_term(s):
        return LONG_TERM
    d = parse_date(s)
    return d.isoformat() if d is not None else None


def add_years(d: date, n: int) -> date:
    """Return the same month and day ``n`` years later (29 Feb → 28 Feb in a common year).

    RULES.md accepts 28 Feb or 1 Mar for a 29 Feb start; this returns 28 Feb, and rules
    that compare against it accept the next day as well (see ``year_ends``). Past year
    9999 (or before year 1) it saturates at ``date.max`` (``date.min``): a filed 9940
    plus 60 years must be judged (DATE-FORMAT reports it), not raise.

    >>> add_years(date(2015, 3, 2), 20)
    datetime.date(2035, 3, 2)
    >>> add_years(date(2016, 2, 29), 10)
    datetime.date(2026, 2, 28)
    >>> add_years(date(2016, 2, 29), 4)
    datetime.date(2020, 2, 29)
    >>> add_years(date(9940, 1, 1), 60), add_years(date(9996, 2, 29), 3)
    (datetime.date(9999, 12, 31), datetime.date(9999, 2, 28))
    >>> add_years(date(10, 5, 1), -20)
    datetime.date(1, 1, 1)
    """
    year = d.year + n
    if year > MAXYEAR:
        return date.max
    if year < MINYEAR:
        return date.min
    try:
        return d.replace(year=year)
    except ValueError:
        # Only 29 Feb has no twin in a common year.
        return d.replace(year=year, day=28)


def add_days(d: date, n: int) -> date:
    """Return ``d`` plus ``n`` days (``n`` may be negative), saturating at the date range.

    >>> add_days(date(2026, 11, 20), 30), add_days(date(2026, 3, 1), -1)
    (datetime.date(2026, 12, 20), datetime.date(2026, 2, 28))
    >>> add_days(date(9999, 12, 31), 30), add_days(date(1, 1, 1), -1)
    (datetime.date(9999, 12, 31), datetime.date(1, 1, 1))
    >>> add_days(date(2000, 1, 1), 10**12), add_days(date(2000, 1, 1), -(10**12))
    (datetime.date(9999, 12, 31), datetime.date(1, 1, 1))
    """
    # timedelta holds at most 999,999,999 days; a step past the range's span (about 3.65
    # million days) can only saturate, so it is cut to that first.
    step = max(-_SPAN_DAYS - 1, min(_SPAN_DAYS + 1, n))
    try:
        return d + timedelta(days=step)
    except OverflowError:
        return date.max if n > 0 else date.min


def year_ends(d: date, n: int) -> tuple[date, ...]:
    """Return every accepted "``n`` years after ``d``": one date, or 28 Feb and 1 Mar for 29 Feb.

    >>> year_ends(date(2015, 3, 2), 10)
    (datetime.date(2025, 3, 2),)
    >>> year_ends(date(2016, 2, 29), 10)
    (datetime.date(2026, 2, 28), datetime.date(2026, 3, 1))
    """
    end = add_years(d, n)
    if (d.month, d.day) == (2, 29) and end.day == 28:
        return end, date(end.year, 3, 1)
    return (end,)


def age_on(birth: date, day: date) -> int:
    """Return the age in full years on ``day`` (a 29 Feb child ages on 1 Mar in common years).

    >>> age_on(date(1975, 4, 9), date(2015, 4, 8)), age_on(date(1975, 4, 9), date(2015, 4, 9))
    (39, 40)
    >>> age_on(date(2000, 2, 29), date(2016, 2, 28)), age_on(date(2000, 2, 29), date(2016, 3, 1))
    (15, 16)
    """
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: characters inserted, deleted or changed to make ``a`` into ``b``.

    >>> edit_distance("创宏嘉（宁波）贸易", "创宏嘉宁波）贸易"), edit_distance("abc", "abc")
    (1, 0)
    """
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


# Characters OpenCC's t2s folds that 通用规范汉字表 (2013) keeps as standard characters
# for names (张昇, 李陞, 王甦 …): never folded.
_STANDARD_VARIANTS = frozenset("昇陞甦蒐脩祕")


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


@cache
def _simplified_char(char: str) -> str:
    if char in _STANDARD_VARIANTS or _in_gb2312(char):
        return char
    folded = str(_t2s().convert(char))
    return folded if len(folded) == 1 and _in_gb2312(folded) else char


@cache
def _t2s() -> Any:
    from opencc import OpenCC  # pure Python, its tables in its wheel; loaded when needed

    return OpenCC("t2s")


def simplified(text: str) -> str:
    """``text`` with each traditional form the recogniser read folded to its simplified one.

    Mainland cards and licenses print simplified characters; the recogniser now and then
    reads a glyph as its traditional form (熊鹏強 for 熊鹏强, 熊靜璟 for 熊静璟). A character
    is folded only when it is outside GB 2312, OpenCC's t2s table gives one character
    inside it, and it is not a standard character names may carry (``_STANDARD_VARIANTS``):
    於 and 乾 (in GB 2312, surnames) and 喆, 堃 (no traditional forms) stay.

    >>> simplified("熊鹏強"), simplified("於乾喆堃"), simplified("张昇")
    ('熊鹏强', '於乾喆堃', '张昇')
    """
    return "".join(c if ord(c) < 0x3400 else _simplified_char(c) for c in text)


# The years a license, form or letter can carry.
FIRST_YEAR = 1949


def possible_year(year: int) -> bool:
    """Whether a license, form or letter can carry this year (``FIRST_YEAR`` to now)."""
    return FIRST_YEAR <= year <= date.today().year


def possible_date(iso: str) -> bool:
    """Whether an ISO date (``2026-10-17``) falls in a year a document can carry."""
    return iso[:4].isdigit() and possible_year(int(iso[:4]))
