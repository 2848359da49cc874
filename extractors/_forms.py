"""Shared by the application-form and authorization-letter extractors.

- ``code_value`` / ``id_value``: a credit code or ID number as read, with the only
  repairs the project allows (known look-alikes, and a check digit choosing between
  them only when exactly one candidate is valid), and a doubt when the shape is wrong;
- ``Prose``: lines joined into one text for regexes over wrapped sentences, with the
  way back from a match to the lines (and boxes) it came from;
- ``overlapped``: a line crossed by another detected line, as a seal legend crosses the
  enterprise name it stamps, is a doubtful reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import product

from docpipe.checkdigits import is_valid_id, is_valid_uscc
from docpipe.layout import Span, union
from docpipe.models import BBox, FieldValue
from docpipe.normalize import norm_date, norm_id, numeral_dates
from docpipe.ocr.base import OcrLine

# Confidence given to a value whose shape is wrong (length, alphabet): below
# compare.DOUBT_BELOW, so it is reported as unread rather than as a mismatch.
DOUBT = 0.5
# Factor for a value repaired from look-alikes (the image supports it, but less so).
REPAIRED = 0.95
# Factor for a code or number failing its check character: more likely a misread than a
# misprint, so it must not stand as a confident mismatch (a filed value equal to it
# still compares equal, and the check rules judge the filed value).
CHECK_FAILED = 0.6
# Look-alikes a check digit may choose between (HELPERS_COMMON: O/0, I/1, Z/2, S/5, B/8).
_TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8"}
_PAIRS = {"0": "O", "O": "0", "1": "I", "I": "1", "2": "Z", "Z": "2", "5": "S", "S": "5"}
_PAIRS |= {"8": "B", "B": "8"}
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DATE_RE = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?")


def fv(value: str | None, confidence: float, bbox: BBox | None, raw: str | None) -> FieldValue:
    """A ``FieldValue`` with rounded confidence and box."""
    box = None if bbox is None else (round(bbox[0]), round(bbox[1]), round(bbox[2]), round(bbox[3]))
    return FieldValue(value=value, confidence=round(confidence, 4), bbox=box, raw=raw)


def id_value(text: str) -> tuple[str, float]:
    """An ID number as read, and the factor its confidence takes.

    Letters standing where only digits may be are look-alikes (``O`` → ``0``); a final
    ``x`` is ``X``. A number of the wrong length is kept as read, in doubt.

    >>> id_value("11010519491231002x")
    ('11010519491231002X', 1.0)
    >>> id_value("1101051949I231002X")
    ('11010519491231002X', 0.95)
    >>> id_value("1101051949123100")[1]
    0.5
    """
    s = re.sub(r"[^0-9A-Z]", "", norm_id(text))
    if len(s) != 18:
        return s, DOUBT
    fixed = "".join(_TO_DIGIT.get(c, c) for c in s[:17])
    last = "X" if s[17] in "X×K" else _TO_DIGIT.get(s[17], s[17])
    out = fixed + last
    if not re.fullmatch(r"\d{17}[\dX]", out):
        return s, DOUBT
    if out != s:
        return out, REPAIRED if is_valid_id(out) else DOUBT
    return out, 1.0 if is_valid_id(out) else CHECK_FAILED


def code_value(text: str) -> tuple[str, float]:
    """A credit code as read, and the factor its confidence takes.

    Letters the code's alphabet lacks (I O S V Z) are look-alike digits. When the check
    character fails, the remaining look-alikes (B/8 and the digits of forced swaps) are
    tried, and a candidate is taken only when exactly one is valid.

    >>> code_value("91330106592460771J")
    ('91330106592460771J', 1.0)
    >>> code_value("9133O106592460771J")
    ('91330106592460771J', 0.95)
    >>> code_value("9133010659246077")[1]
    0.5
    >>> code_value("91330106592460772J")
    ('91330106592460772J', 0.6)
    """
    s = re.sub(r"[^0-9A-Z]", "", norm_id(text))
    if len(s) != 18:
        return s, DOUBT
    forced = "".join({"I": "1", "O": "0", "S": "5", "Z": "2", "V": "U"}.get(c, c) for c in s)
    if any(c not in USCC_CHARS for c in forced):
        return s, DOUBT
    if is_valid_uscc(forced):
        return forced, (1.0 if forced == s else REPAIRED)
    swaps = [i for i, c in enumerate(forced) if c in "8B"]
    if len(swaps) > 6:
        return s, DOUBT
    valid = set()
    for choice in product((False, True), repeat=len(swaps)):
        chars = list(forced)
        for i, flip in zip(swaps, choice, strict=True):
            if flip:
                chars[i] = _PAIRS[chars[i]]
        cand = "".join(chars)
        if is_valid_uscc(cand):
            valid.add(cand)
    if len(valid) == 1:
        return valid.pop(), REPAIRED
    # Kept as read (the paper may print a bad code), but in doubt.
    return forced, CHECK_FAILED


def overlapped(line: OcrLine, others: Sequence[OcrLine]) -> bool:
    """Whether another detected line crosses this one (a seal legend over a value)."""
    x0, y0, x1, y1 = line.bbox
    for o in others:
        if o is line:
            continue
        a0, b0, a1, b1 = o.bbox
        w = min(x1, a1) - max(x0, a0)
        h = min(y1, b1) - max(y0, b0)
        # Crossing, not touching: neighbours in a row may share a few pixels.
        if w > 0.4 * min(x1 - x0, a1 - a0) and h > 0.25 * min(y1 - y0, b1 - b0):
            return True
    return False


@dataclass
class Prose:
    """Lines joined into one string, each character mapped back to its line."""

    text: str
    index: list[tuple[OcrLine, int] | None]

    @classmethod
    def of(cls, lines: Sequence[OcrLine]) -> Prose:
        """Join ``lines`` (in reading order) without separators: prose wraps mid-word."""
        text: list[str] = []
        index: list[tuple[OcrLine, int] | None] = []
        for line in lines:
            for i, c in enumerate(line.text):
                if c.isspace():
                    continue
                text.append(c)
                index.append((line, i))
        return cls("".join(text), index)

    def spans(self, start: int, end: int) -> list[Span]:
        """The pieces of lines that ``text[start:end]`` came from."""
        out: list[Span] = []
        for ref in self.index[start:end]:
            if ref is None:
                continue
            line, i = ref
            if out and out[-1].line is line and out[-1].end == i:
                out[-1].end = i + 1
            else:
                out.append(Span(line, i, i + 1))
        return out

    def value(
        self, start: int, end: int, text: str | None = None, factor: float = 1.0
    ) -> FieldValue:
        """A ``FieldValue`` of ``text[start:end]``: weakest line, union box, raw lines."""
        spans = self.spans(start, end)
        lines: list[OcrLine] = []
        for s in spans:
            if s.line not in lines:
                lines.append(s.line)
        conf = min((ln.confidence for ln in lines), default=0.0) * factor
        box = union(s.bbox for s in spans) if spans else None
        raw = " | ".join(ln.text for ln in lines)
        out = fv(self.text[start:end] if text is None else text, conf, box, raw)
        scored = [s.weakest for s in spans if s.text.strip() and s.line.char_confidences]
        out.char_confidence = round(min(scored), 4) if scored else None
        return out


def find_date(text: str) -> tuple[str, int, int] | None:
    """Last real date in ``text`` (ISO, start, end): a letter or form is dated at its foot.

    >>> find_date("自2024年1月2日起，签署日期：2025年 10 月 11 日")
    ('2025-10-11', 17, 32)
    >>> find_date("二〇二五年十月十一日")
    ('2025-10-11', 0, 10)
    """
    found = None
    for m in DATE_RE.finditer(text):
        iso = norm_date(f"{m.group(1)}-{m.group(2)}-{m.group(3)}")
        if iso is not None and iso[:1].isdigit():
            found = (iso, m.start(), m.end())
    for start, end, day in numeral_dates(text):  # 二〇二五年三月七日
        if found is None or start > found[1]:
            found = (day.isoformat(), start, end)
    return found


# A labelled date whose first separator the OCR lost (``202501.20`` for 2025.01.20, a
# dot being the smallest mark on the line): the year's four digits, the month's one or
# two, then the other separator and the day. Read only after a date label, in doubt.
_LOST_SEPARATOR = re.compile(r"(?<!\d)(\d{4})(\d{1,2})([.\-/])(\d{1,2})(?!\d)")
_LOST_SECOND = re.compile(r"(?<!\d)(\d{4})([.\-/])(\d{2})(\d{2})(?!\d)")
_YEAR_LOOKALIKE = re.compile(r"(?<!\d)(\d{4})[午牛](\d{1,2})月(\d{1,2})日")
# A date read so is below the comparison's doubt line (docpipe.compare.DOUBT_BELOW).
LOST_SEPARATOR_CONFIDENCE = 0.85


# A document pads month and day alike (2011年09月16日, 2011年9月16日, 2026.04.15): a
# padded month beside a one-digit day is a day that lost a digit under the seal (2011年09月1日 read
# for 2011年09月16日 at 1.00, accuracy 20038; 2024年08月2日, 20138).
_UNEVEN_PADDING = re.compile(
    r"\d{4}([年.\-/])0\d(?:月|\1)\d(?!\d)|\d{4}([年.\-/])[1-9](?:月|\2)0\d"
)


def unlikely_date(text: str, iso: str) -> bool:
    """A date the document cannot have printed: padded unevenly, or not yet come.

    A year read wrong under the seal may lie ahead (2085 for 2025, accuracy 20057); a
    form's 2026年04月1日 lost the 5 of 15 under its seal (acc3 60023).

    >>> unlikely_date("2011年09月1日", "2011-09-01"), unlikely_date("2011年9月1日", "2011-09-01")
    (True, False)
    >>> unlikely_date("2085年1月31日", "2085-01-31"), unlikely_date("2026.04.1", "2026-04-01")
    (True, True)
    """
    return bool(_UNEVEN_PADDING.search(text)) or iso > date.today().isoformat()


def lost_separator_date(text: str) -> str | None:
    """The date in a labelled value the OCR broke a little, else ``None``.

    A separator lost (the first, or the second between two-digit month and day), or 年
    read as a look-alike.

    >>> lost_separator_date("202501.20")
    '2025-01-20'
    >>> lost_separator_date("20251/24")
    '2025-01-24'
    >>> lost_separator_date("2025113.20") is None
    True
    >>> lost_separator_date("2026-0324")  # the second lost: month and day of two digits
    '2026-03-24'
    >>> lost_separator_date("2026午9月1日")  # 年 read as its look-alike 午
    '2026-09-01'
    """
    m = _LOST_SEPARATOR.search(text)
    if m is not None:
        iso = norm_date(f"{m.group(1)}-{m.group(2)}-{m.group(4)}")
    elif (m := _LOST_SECOND.search(text)) is not None:
        iso = norm_date(f"{m.group(1)}-{m.group(3)}-{m.group(4)}")
    elif (m := _YEAR_LOOKALIKE.search(text)) is not None:
        iso = norm_date(f"{m.group(1)}-{m.group(2)}-{m.group(3)}")
    else:
        return None
    return iso if iso is not None and iso[:1].isdigit() else None


# How a whole enterprise name ends: its organisational form (公司, 分公司, 厂, 店, 经营部,
# 合伙企业, 合作社 …), perhaps with a bracketed note (（有限合伙）). A name read without
# it was cut where its line wrapped.
ENTERPRISE_END = re.compile(
    r".{2,}(?:公司|厂|店|部|行|社|馆|中心|工作室|企业)(?:[(（][^()（）]{1,8}[)）])?"
)


def whole_enterprise(text: str) -> bool:
    """Whether a reading ends as an enterprise name does.

    >>> whole_enterprise("杭州市诚恒贸易合伙企业（有限合伙）")
    True
    >>> whole_enterprise("杭州市诚恒贸易合伙")
    False
    """
    return ENTERPRISE_END.fullmatch(text) is not None
