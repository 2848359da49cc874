"""Small readers of card values, whatever the card: dates, gender, names, a line's value.

Each takes what the layout layer found (a ``Hit``: a label and the pieces of lines of
its value) or the region's lines, and gives a contract ``FieldValue`` (value
normalised, confidence, box, the raw OCR text) or ``None`` when the value's shape is
not there. They know value shapes, never a kind's layout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from docpipe.layout import Hit, clean
from docpipe.models import BBox, FieldValue
from docpipe.normalize import LONG_TERM, parse_date
from docpipe.ocr.base import OcrLine

# The words a validity's end may be instead of a date.
LONG_TERM_WORDS = ("长期", "永久", "无固定期限")
_DATE = re.compile(r"(\d{4})[.,·/年-]?(\d{1,2})[.,·/月-]?(\d{1,2})日?")
# A name in Latin capitals, two words or more (``CHAN, TAI MAN``, ``SMITH JOHN``).
_LATIN_NAME = re.compile(r"[A-Z][A-Z'\-]*(?:[ ,]+[A-Z][A-Z'\-]*)+")


def line_value(line: OcrLine, value: str, factor: float = 1.0) -> FieldValue:
    """A ``FieldValue`` of a whole line (found by its shape, not beside a label).

    ``factor`` lowers the confidence of a value taken without its label.
    """
    x0, y0, x1, y1 = line.bbox
    bbox: BBox = (round(x0), round(y0), round(x1), round(y1))
    return FieldValue(
        value=value, confidence=round(line.confidence * factor, 4), bbox=bbox, raw=line.text
    )


def date_of(hit: Hit | None) -> FieldValue | None:
    """A hit's date as ISO (``1985.05.12``, ``1985年5月12日``, ``19850512``)."""
    if hit is None or not hit.spans:
        return None
    m = _DATE.search(clean(hit.text))
    d = parse_date(f"{m.group(1)}-{m.group(2)}-{m.group(3)}") if m else None
    return hit.value(d.isoformat()) if d is not None else None


def gender_of(hit: Hit | None) -> FieldValue | None:
    """The 男 / 女 of a hit's value (``男/M`` → 男)."""
    if hit is None:
        return None
    m = re.search("[男女]", clean(hit.text))
    return hit.value(m.group(0)) if m else None


def chinese_name(hit: Hit | None) -> FieldValue | None:
    """The Chinese characters of a name's value (its Latin spelling beside it dropped)."""
    if hit is None:
        return None
    chinese = "".join(re.findall(r"[\u4e00-\u9fff·]", clean(hit.text)))
    return hit.value(chinese) if len(chinese) >= 2 else None


def latin_name(lines: Sequence[OcrLine], not_words: Sequence[str]) -> FieldValue | None:
    """A name in Latin capitals standing alone on a line, by its shape.

    ``not_words``: the card's English label words (``NAME``, ``SEX``), which a line of
    capitals may be instead. Spaces are collapsed and a comma is followed by one space.

    >>> box = [(0.0, 0.0), (9.0, 0.0), (9.0, 9.0), (0.0, 9.0)]
    >>> line = OcrLine(text="CHAN ,TAI  MAN", poly=box, confidence=0.9)
    >>> latin_name([line], ("NAME",)).value
    'CHAN, TAI MAN'
    """
    for line in lines:
        t = re.sub(r"\s+", " ", line.text.strip()).replace("，", ",")
        if _LATIN_NAME.fullmatch(t) and not any(w in t for w in not_words):
            return line_value(line, re.sub(r" ?, ?", ", ", t))
    return None


def parse_validity(text: str) -> tuple[str | None, str | None]:
    """(valid_from, valid_to) of a 有效期限 value: ISO dates, the end may be 长期.

    The dash between the dates may be ``-``, ``—``, ``至``, ``~`` or mangled by the
    OCR, and the dots may be lost; the dates are found by their digits.

    >>> parse_validity("2015.03.02-2035.03.02")
    ('2015-03-02', '2035-03-02')
    >>> parse_validity("2015.03.02 至 长期")
    ('2015-03-02', '长期')
    >>> parse_validity("20150302一20350302")
    ('2015-03-02', '2035-03-02')
    """
    t = clean(text)
    dates = [
        parse_date(f"{m.group(1)}-{m.group(2)}-{m.group(3)}")
        for m in re.finditer(r"(\d{4})[.,·/年](\d{1,2})[.,·/月](\d{1,2})", t)
    ]
    if len([d for d in dates if d]) < 2:
        # Dots lost: cut runs of eight digits.
        digits = re.findall(r"\d{8}", re.sub(r"[^\d长期永久无固定限]", "", t))
        alt = [parse_date(d) for d in digits]
        if len([d for d in alt if d]) > len([d for d in dates if d]):
            dates = alt
    good = [d.isoformat() for d in dates if d is not None]
    start = good[0] if good else None
    if len(good) >= 2:
        return start, good[1]
    if any(w in t for w in LONG_TERM_WORDS):
        return start, LONG_TERM
    return start, None
