"""A second look beside a label: what the page OCR missed or misread in the label's row.

The detector can miss a short value (``IC卡`` in a form's cell, a two-character name on
an ID card) or read it badly; the label's row is cut out wider and read again by the
recogniser alone (``Region.reread``: several cuts, two renderings). The text after the
label that most readings agree on is the value, when at least two agree and the
field's parser accepts its shape.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

from docpipe.compare import is_doubtful
from docpipe.extract import Region
from docpipe.layout import Hit, Label, Turn, clean, goes_on
from docpipe.models import BBox, FieldValue
from docpipe.normalize import norm_date, numeral_dates, possible_date, possible_year
from docpipe.ocr.base import OcrLine
from docpipe.reread import CONTRADICTED, dates_in, one_date
from extractors._forms import fv

# Confidence factor for a value read beside its label on a second look.
BESIDE = 0.95
# A person's name: CJK characters (and the · of compound names), two to ten.
CJK_NAME = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff·]{1,9}")


def shaped(pattern: re.Pattern[str], labels: Sequence[Label]) -> Callable[[str], str | None]:
    """A parser for ``beside_value``: the text with the field's shape, naming no label.

    A second reading that ran into the next label (``姓名性别``) is no value.
    """
    words = tuple(v for lb in labels for v in lb.variants if len(v) >= 2)

    def parse(text: str) -> str | None:
        ok = pattern.fullmatch(text) and not any(w in text for w in words)
        return text if ok else None

    return parse


class Beside(NamedTuple):
    """What second looks beside a label agree on.

    The value (parsed when asked), the text after the label in the most confident
    agreeing reading, its confidence (x ``BESIDE``), and the weakest character of any
    agreeing reading.
    """

    value: str
    text: str
    confidence: float
    weakest: float


def beside(
    region: Region,
    hit: Hit | None,
    back: Turn,
    reach: float,
    *,
    again: bool = False,
    parse: Callable[[str], str | None] | None = None,
) -> Beside | None:
    """What second readings agree on right of ``hit``'s label (``Beside``).

    ``back`` takes the extractor's (levelled) frame to the page's; ``reach`` is how far
    right the row is read, in line heights. Only for a label without a value, or, with
    ``again``, one whose value stands in the label's row (a doubtful reading of the
    cell beside it read once more). ``None`` without two agreeing readings.
    """
    if hit is None or region.reread is None:
        return None
    if hit.spans and not (again and on_label_row(hit)):
        return None
    x0, y0, x1, y1 = hit.label_bbox
    if hit.spans:
        # Read as far as the first reading went, and a little more: a long name cut
        # short would still have the shape of a name.
        end = max(s.bbox[2] for s in hit.spans)
        reach = max(reach, (end - x1) / max(y1 - y0, 1.0) + 1.5)
    label = back.probe((x0, y0, x1, y1))
    votes: dict[str, list[tuple[OcrLine, str]]] = {}
    for reading in region.reread(label, reach):
        text = clean(reading.text)
        # The label as printed: a variant, its grammar's wording (企业全称, verify 90049),
        # or a word it stands alone as (操作员, acc3 60064).
        text = _after_label(text, hit.label)
        text = text.lstrip(":：|")
        # With ``parse``, readings vote for what they say, not for how much of the next
        # label the cut took in (性别女民族 and 性别女民 both say 女).
        said = parse(text) if parse is not None and text else text
        if said:
            votes.setdefault(said, []).append((reading, text))
    if not votes:
        return None
    # Of values read as often, the longer: a cut loses a character at its edge more
    # often than it makes one up (varied case-7311: 宁波市源瑞安恒报关有限公司 and
    # 波市源瑞安恒报关有限公司 three times each, the second at full confidence).
    said, agreed = max(
        votes.items(),
        key=lambda kv: (len(kv[1]), len(kv[0]), max(r.confidence for r, _ in kv[1])),
    )
    if len(agreed) < 2:
        return None
    # The weakest character of any agreeing reading (label included: conservative): a
    # rare character read as a common one agrees with itself (吕丽彧 as 吕丽或).
    weakest = min(r.weakest() for r, _ in agreed)
    best, text = max(agreed, key=lambda rt: rt[0].confidence)
    return Beside(said, text, best.confidence * BESIDE, weakest)


def _after_label(text: str, label: Label) -> str:
    """``text`` without the label it starts with, however the label is worded."""
    heads = [m.end() for p in label.patterns() if (m := p.match(text)) is not None]
    heads += [len(w) for w in label.alone if text.startswith(w)]
    return text[max(heads) :] if heads else text


def on_label_row(hit: Hit) -> bool:
    """Every piece of the value stands in the label's row (not under it)."""
    _, ly0, _, ly1 = hit.label_bbox
    for s in hit.spans:
        _, y0, _, y1 = s.bbox
        if min(ly1, y1) - max(ly0, y0) < 0.5 * min(ly1 - ly0, y1 - y0):
            return False
    return True


def beside_value(
    region: Region,
    hit: Hit | None,
    back: Turn,
    parse: Callable[[str], str | None],
    *,
    reach: float,
    again: bool = False,
) -> FieldValue | None:
    """A value read beside its label on a second look, when ``parse`` accepts its shape.

    Its box is the label's, in the extractor's frame (the caller turns its values back).
    """
    got = beside(region, hit, back, reach, again=again, parse=parse)
    if got is None or hit is None:
        return None
    out = fv(got.value, got.confidence, hit.label_bbox, got.text)
    out.char_confidence = round(got.weakest, 4)
    return out


# A date with a character lost or misread (202年09月16日, 2025年0i月16日, 202S年11月22日).
_PARTIAL_DATE = re.compile(r"[0-9A-Za-z]{2,4}年[0-9A-Za-z]{0,2}月[0-9A-Za-z]{0,2}")
# A date in Chinese numerals whose year lost its head: the seal's ring crossing 二〇 of
# 二〇一六年五月十九日 leaves the detector's box starting at 一六年 (accuracy 20041, 20096).
# Or whose first numeral was misread (上〇二五年九月五 for 二〇二五年九月五日, verify 70043).
_NUMERALS = "〇○零O0一二三四五六七八九"  # a year's, as the OCR reads 〇 (O, 0, ○, 零)
_HEADLESS_NUMERAL_DATE = re.compile(
    rf"(?<![{_NUMERALS}])[{_NUMERALS}]{{1,3}}年[一二三四五六七八九十]{{1,2}}月"
)
# A year in Chinese numerals of three characters: one of its four lost under the ring
# (二〇二一 read 二二一, 二〇二五 read ○二五).
_THREE_NUMERAL_YEAR = re.compile(rf"(?<![{_NUMERALS}])([{_NUMERALS}]{{3}})(?=年)")
# The most lines ``date_again`` reads again on one page.
DATE_LINES = 4


def one_lost(text: str) -> list[str]:
    """The date of ``text`` whose three-character year lost one, when one year fits.

    Every numeral (or digit) put back at every place: the years from ``FIRST_YEAR`` to
    this year that come out. One such year gives the date; none or several, nothing.

    >>> one_lost("二二一年十一月九日"), one_lost("○二五年九月五日"), one_lost("二〇二一年")
    (['2021-11-09'], ['2025-09-05'], [])
    >>> one_lost("021年10月24日"), one_lost("2021年10月24日")
    (['2021-10-24'], [])
    """
    text = clean(text)
    found = set()
    if (m := _THREE_NUMERAL_YEAR.search(text)) is not None:
        year, end = m.group(1), m.end(1)
        for at in range(len(year) + 1):
            for numeral in "〇一二三四五六七八九":
                full = year[:at] + numeral + year[at:] + text[end:]
                for _, _, day in numeral_dates(full)[:1]:
                    if possible_year(day.year):
                        found.add(day.isoformat())
    elif (m := _THREE_DIGIT_YEAR.search(text)) is not None:
        year = m.group(1)
        for at in range(len(year) + 1):
            for digit in "0123456789":
                full = year[:at] + digit + year[at:]
                iso = norm_date(f"{full}-{m.group(2)}-{m.group(3)}")
                if iso is not None and possible_year(int(full)):
                    found.add(iso)
    return sorted(found) if len(found) == 1 else []


_THREE_DIGIT_YEAR = re.compile(r"(?<!\d)(\d{3})年(\d{1,2})月(\d{1,2})日")


# How far left of such a line its second reading reaches, in line heights: the lost
# characters (two or three numerals) and a margin.
HEAD_REACH = 3.5


def widened_left(line: OcrLine, heights: float) -> OcrLine:
    """``line`` with its box reaching ``heights`` line heights further left, along the line."""
    (x0, y0), (x1, y1), p2, (x3, y3) = line.poly[:4]
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-6)
    dx, dy = (x1 - x0) / length * heights * line.height, (y1 - y0) / length * heights * line.height
    return line.model_copy(update={"poly": [(x0 - dx, y0 - dy), (x1, y1), p2, (x3 - dx, y3 - dy)]})


def date_again(region: Region, lines: Sequence[OcrLine], back: Turn) -> FieldValue | None:
    """A date the page OCR misread, from its line read again; ``lines`` best first.

    Under a seal's ring the page OCR can drop a digit of a year (``202年09月16日``) at
    full confidence; the cut-out line, in its original colours, reads whole. The first
    line shaped like a broken date whose second readings all give one and the same
    valid date gives it; when they do not, its ringless readings (the seal's ring faded,
    the print under it kept: ``Region.reread_ringless``) may, on the same terms. Any
    disagreement leaves the field unread. A date in Chinese numerals whose year lost its
    head is cut wider on the left, where the lost characters are (``HEAD_REACH``), and
    may stand in doubt on most readings (``_most_date``). A date the detector cut in two
    boxes is read as one (``_with_next``); one whose box stops inside it, reaching
    further right (``CUT_REACH``).
    """
    if region.reread is None:
        return None
    tried = 0
    for line in lines:
        text = clean(line.text)
        headless = bool(_HEADLESS_NUMERAL_DATE.search(text))
        partial = headless or bool(_PARTIAL_DATE.search(text))
        cut = bool(_CUT_DATE.search(text))
        broken = bool(_BROKEN_DATE.search(text))
        if not (partial or cut or broken) or dates_in(text):
            continue
        # Each line tried costs a dozen recognitions: a page of many date-like lines (a
        # hostile one) is not read again line after line.
        tried += 1
        if tried > DATE_LINES:
            break
        page_line = back.line(_with_next(line, lines))
        if headless:
            page_line = widened_left(page_line, HEAD_REACH)
        reach = CUT_REACH if cut else 0.0
        seen: list[OcrLine] = []
        for reread in (region.reread, region.reread_ringless):
            readings = list(reread(page_line, reach)) if reread is not None else []
            seen.extend(readings)
            raw = " | ".join(dict.fromkeys(r.text for r in readings))
            if (value := one_date(readings)) is not None:
                conf = min(r.confidence for r in readings) * BESIDE
                return fv(value, conf, line.bbox, raw)
            if (value := _sure_date(readings)) is not None:
                return fv(value, CONTRADICTED, line.bbox, raw)
            if (value := _most_date(readings)) is not None:
                return fv(value, ABSTAINED, line.bbox, raw)
        # A date broken past its shape has no sure or most reading to go by; the votes
        # are all there is. A partial date keeps the stricter rule (case 5075).
        if not partial and (value := _plural_date(seen)) is not None:
            raw = " | ".join(dict.fromkeys(r.text for r in seen))
            return fv(value, CONTRADICTED, line.bbox, raw)
    return None


# A date label's line that stops inside its date (申请日期：2025年, 日期：2025-0, 申请日期：
# 二〇二六年, 日期: alone): the detector's box ended before the date did (acc3 60065, 60087,
# 60067, 60045).
# Read again reaching this many line heights further right.
_CUT_DATE = re.compile(
    r"日期[:：]?(?:\d{2,4}(?:[年./\-]\d{0,2}(?:[月./\-]\d{0,1})?)?"
    rf"|[{_NUMERALS}]{{1,4}}(?:年[一二三四五六七八九十]{{0,2}}月?)?)?$"
)
CUT_REACH = 8.0
# A date label whose text holds a digit or numeral but no date at all (申请日期：20.10.03,
# 电请日期：2025/24, 日期：二二六年九日十日, 填表日期：202.12.06: the ring or a blur took a
# digit or a separator, acc3 60011, 60041, 60015, 60049).
_BROKEN_DATE = re.compile(rf"日期[:：]?.{{0,3}}[0-9{_NUMERALS}]")


def _with_next(line: OcrLine, lines: Sequence[OcrLine]) -> OcrLine:
    """``line`` reaching over the box its visual line goes on in, if there is one.

    The detector may cut a date in two (``〇元五年一月十`` | ``三日``, acc2 20003): read
    alone, the first box holds no whole date.
    """
    after = [other for other in lines if other is not line and goes_on(line, other)]
    if not after:
        return line
    nxt = min(after, key=lambda other: other.bbox[0])
    p0, _, _, p3 = line.poly[:4]
    _, p1, p2, _ = nxt.poly[:4]
    return line.model_copy(update={"text": line.text + nxt.text, "poly": [p0, p1, p2, p3]})


# Where a date printed under its label (登记机关 over the license's seal date) is looked
# for when the detector found no box there: bands this many label heights under the
# label's bottom (top, bottom), from a label height left of it to this many right.
UNDER_BANDS = ((0.4, 1.7), (1.2, 2.5))
UNDER_RIGHT = 3.5


def date_below(region: Region, label: BBox, back: Turn) -> FieldValue | None:
    """A date read in the empty place under a label, when the page OCR saw no box there.

    Verify 70045: the seal's ring crossed 2021年10月24日 under 登记机关 and the detector
    gave no box at all. Each band is read like a line (``Region.reread``); a band whose
    readings all give one date gives it, one most of whose readings give it (none
    another) gives it in doubt.
    """
    if region.reread is None:
        return None
    x0, _, x1, y1 = label
    h = max(label[3] - label[1], 1.0)
    for top, bottom in UNDER_BANDS:
        band = (x0 - h, y1 + top * h, x1 + UNDER_RIGHT * h, y1 + bottom * h)
        readings = list(region.reread(back.probe(band), 0.0))
        raw = " | ".join(dict.fromkeys(r.text for r in readings))
        if (value := one_date(readings)) is not None:
            return fv(value, min(r.confidence for r in readings) * BESIDE, band, raw)
        if (value := _most_date(readings)) is not None:
            return fv(value, ABSTAINED, band, raw)
    return None


# A date that some second readings give and none contradicts, the others giving no date
# at all, stands in doubt (under compare.DOUBT_BELOW: equal to the filed date it
# confirms it, different it is no mismatch). Accuracy 20041: the line widened to the
# left read 二〇一六年五月十九日 four times in six, 二一六年 (〇 lost, no date) twice.
ABSTAINED = 0.85


def _most_date(readings: Sequence[OcrLine]) -> str | None:
    """The one date half the readings or more give first, when no reading gives another.

    A reading whose year in Chinese numerals lost one numeral gives the one year it can
    complete (``one_lost``).
    """
    said = [found[0] for r in readings if (found := dates_in(r.text) or one_lost(r.text))]
    if len(set(said)) != 1 or 2 * len(said) < len(readings):
        return None
    return said[0]


def _plural_date(readings: Sequence[OcrLine]) -> str | None:
    """The date more readings give than every other date together, two readings at least.

    A blurred scan's date under the ring (acc3 60011: 申请日期：20.10.03 on the page) reads
    2026.10.03 in five of twelve second looks, 2020 twice, 2023 once, 2389 and 3879 (no
    year a form can carry, not counted) once each, the rest no date.
    The readings disagree, so the date stands in doubt (the caller's ``CONTRADICTED``):
    it may confirm the filed date; a different one is a warning, never a mismatch.
    """
    said = Counter(
        found[0]
        for r in readings
        if (found := dates_in(r.text) or one_lost(r.text)) and possible_date(found[0])
    )
    if not said:
        return None
    (day, most), *_ = said.most_common(1)
    if most < 2 or 2 * most <= sum(said.values()):
        return None
    return day


# Readings every character of which the recogniser is this sure of, at least this many,
# may outvote the others (``_sure_date``).
SURE_CHAR, SURE_READINGS = 0.9, 2


def _sure_date(readings: Sequence[OcrLine]) -> str | None:
    """The date of the readings sure of every character, when they all give one.

    Accuracy case-5075: 2025年0月8日 on the page; read again 2025年6月8日 five times and
    2026年6月8日 once, its 6 scored 0.63 where three of the 2025 readings scored every
    character 0.92 or more. The date stands in doubt (``CONTRADICTED``): a reading
    disagreed.
    """
    sure = [r for r in readings if r.char_confidences and min(r.char_confidences) >= SURE_CHAR]
    if len(sure) < SURE_READINGS:
        return None
    return one_date(sure)


# How many second readings of a doubtful value's line must give one value for it to
# stand (``voted``). The ringless renderings (``docpipe.reread.ringless``) do not vote:
# on the accuracy sets' letters they read the same names right, with twice the
# readings, and one wrong in another way (华建安 three times for 华博安).
VOTES = 3


def voted(
    region: Region,
    value: FieldValue,
    line: OcrLine,
    value_of: Callable[[str], str | None],
    back: Turn | None = None,
    *,
    unanimous: bool = False,
) -> FieldValue:
    """A doubtful value as most second looks at its one line read it, still in doubt.

    The line is read again in both renderings of each cut; ``value_of`` takes the
    value out of each reading (``None``: none there). The page's reading is one vote
    more. A value read ``VOTES`` times, more often than any other and no shorter than
    the page's, replaces it: a cut that loses a character under a seal's ring loses it
    in every rendering (accuracy case-5045: 鸟市博源五金店 three times for the page's
    义鸟市…). The confidence stays the page's doubt — no check character says the
    vote is right — so a value that differs from the filed one is still reported
    unread, never a mismatch. ``back`` turns the line into the page's frame.
    ``unanimous``: every second look must read the new value.
    """
    if region.reread is None or not value.value or not is_doubtful(value):
        return value
    readings = list(region.reread(line if back is None else back.line(line), 0.0))
    said = Counter(v for r in readings if (v := value_of(r.text)) and len(v) >= len(value.value))
    said[value.value] += 1
    (best, votes), *others = said.most_common()
    if best == value.value or votes < VOTES or (others and others[0][1] == votes):
        return value
    if unanimous and votes < len(readings):
        return value
    return value.model_copy(
        update={
            "value": best,
            "raw": f"{value.raw} | 又读作 / read again as: {best} ×{votes} of {len(readings)}",
        }
    )
