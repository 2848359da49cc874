"""The license's registration authority (登记机关): printed text, or the seal's arc.

A license prints its registration authority only along the upper arc of the red seal
at its lower right (older ones also after 登记机关). In order:

1. text after 登记机关, or a whole authority name read as a line in the lower half;
2. the seal's arc, unrolled and read (``docpipe.seal``), when a strip reads one of the
   names the license's own credit code allows (below), whole, at
   ``seal.MIN_CONFIDENCE`` or more (a clean seal: its first strip settles it);
3. those names scored on the arc's strips (``scored``, ``docpipe.ocr.ctc``): the one
   every strip supports best, by a clear margin, and about as well as what the strip
   reads itself;
4. the arc read as a whole authority name at ``seal.MIN_CONFIDENCE`` or more that is
   not one of the names and not close to one;
5. the arc read less well, matched as text against the names (``closest``).

Characters 3–8 of a credit code are the administrative division (GB/T 2260) of the
authority that registered the enterprise, so the authority is that division's market
regulator: ``<市><区>市场监督管理局`` for a district, ``<县级市 / 县>市场监督管理局``
for a county. The division's names come from python-stdnum's table (``cn/loc``); a
division whose regulator has a name of its own on licenses (杭州市高新区（滨江）市场监督
管理局 for 滨江区) has it listed too (``OWN_NAMES``). The candidates share their suffix
(市场监督管理局) and differ in their place, so in a text match the place is compared: a
candidate stands only when the arc's reading holds most of its place's characters in
order (``MIN_PLACE``), clearly more than any other candidate's (``MARGIN``), and enough
of the whole name (``MIN_WHOLE``); its confidence says how much (a doubt in the
report), and the arc's reading stays in ``raw``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher

from docpipe.layout import Hit, clean, compact
from docpipe.models import FieldValue
from docpipe.ocr.base import OcrLine
from docpipe.places import place_name
from docpipe.seal import MIN_CONFIDENCE, SealText, authority_text

_AUTHORITY = re.compile(r"[\u4e00-\u9fff（）()]{2,}(市场监督管理局|工商行政管理局|行政审批局)")
# A name read off the seal's arc counts only when it starts at a province or city: a
# partial arc (西湖区市场监督管理局, its 杭州市 lost) would be a wrong value.
_WHOLE_AUTHORITY = re.compile(r"[^区县市省]{2,6}?(省|市|自治区|州|盟)")
REGULATOR = "市场监督管理局"
# How much of a candidate's place (before 市场监督管理局) the arc's reading must hold
# in order (SequenceMatcher ratio), by how much more than the next candidate's, and how
# much of the whole name. Measured on the 366 licenses of the accuracy (sans and
# serif) and verify work sets (123 degraded): with the whole-name ratio alone
# (0.65 / 0.1) 65 degraded arcs were read right; with the place compared, 81, none
# wrong (a MIN_WHOLE of 0 let two through: 杭州节电务区… taken for 杭州市…). Re-scored
# on the same arcs' stored readings: 79 → 91 of 123 degraded, none wrong, once both
# sides are compared cleaned (the reading's brackets were ASCII, the candidate's
# full-width) and the place ends where the reading's suffix starts (``_place``); a
# lower MIN_PLACE (0.5) or MARGIN (0.15–0.25) gained nothing or read 3 wrong.
MIN_PLACE, MARGIN, MIN_WHOLE = 0.6, 0.3, 0.4
# Divisions whose market regulator signs licenses with a name of its own, not
# <place>市场监督管理局: a development zone's bureau that also serves the district.
OWN_NAMES: dict[str, tuple[str, ...]] = {
    "330108": ("杭州市高新区（滨江）市场监督管理局",),  # 杭州市滨江区
}
MAX_LENGTH_GAP = 2
# Scoring the candidates on the strips (``scored``, ``docpipe.ocr.ctc.support``, in
# nats): every strip must support one candidate best, by SCORE_MARGIN on average over
# the strips, that candidate no more than SCORE_SLACK below what the strip itself reads
# (a name the arc does not hold, say 浙江省…, scores far below its reading), and some
# strip must read at least MIN_HAN of the candidate's length in Chinese characters (a
# strip read as Latin junk, ``mmenrn``, is the ring, not text). Chosen on the stored
# strip scores of the 15 work sets' 1,141 licenses: with the true name taken out of the
# candidates, a sibling was still chosen for 7–11 of ~250 degraded ones (a wider slack,
# 20–30 nats, chose one for 13–30). bench/accuracy.py, registration authority degraded,
# with the strips of ``seal.STRIPS`` (before -> after, none read wrong):
# classic 42 -> 48 of 50, serif 41 -> 48 of 50, varied seeds 5000 / 6200 / 7300
# 10 -> 13 of 13, 9 -> 11 of 12, 7 -> 10 of 12, seeds 8400 / 8600 12 -> 11 of 14,
# 10 -> 12 of 15.
SCORE_MARGIN, SCORE_SLACK, MIN_HAN = 10.0, 5.0, 0.25
# A name chosen by scoring, not read: a doubt in the report.
SCORED_CONFIDENCE = 0.85
_HAN = re.compile(r"[\u4e00-\u9fff]")


def printed_authority(
    lines: Sequence[OcrLine], hits: dict[str, Hit], used: set[int], height: float
) -> FieldValue:
    """After 登记机关, else a whole authority name on a line of the lower half; else none."""
    hit = hits.get("registration_authority")
    if hit is not None:
        text = compact(hit.text)
        if _AUTHORITY.fullmatch(text):
            return hit.value(text)
    for line in lines:
        text = compact(line.text)
        if id(line) in used or line.center[1] < height / 2:
            continue
        if _AUTHORITY.fullmatch(text) and _WHOLE_AUTHORITY.match(text):
            return FieldValue(
                value=text,
                confidence=round(line.confidence, 4),
                bbox=tuple(round(v) for v in line.bbox),
                raw=line.text,
            )
    return FieldValue(value=None, confidence=0.0)


def seal_authority(texts: Iterable[SealText], credit_code: str | None) -> FieldValue:
    """The authority off the seal: a whole name read, the best scored candidate, or a match.

    In order: a whole candidate name read at ``MIN_CONFIDENCE`` (the strips are read
    lazily: a clean seal's first strip settles it); the candidate the strips support
    best (``scored``); a whole name read that is not a candidate and not close to one;
    the candidate a reading matches as text (``closest``). A whole name that is not a
    candidate but close to one (永原市… for 永康市…, a place that does not exist) is
    the candidate, as a lesser reading would be.
    """
    names = candidates(credit_code) if credit_code else []
    taken: list[SealText] = []
    for seal in texts:
        taken.append(seal)
        text = _whole(seal)
        if text is not None and text in names:
            return _read_off(seal, text, seal.confidence)
    chosen = scored(taken, names)
    if chosen.value:
        return chosen
    for seal in taken:
        text = _whole(seal)
        if text is not None and closest(text, names) is None:
            return _read_off(seal, text, seal.confidence)
    for seal in taken:
        got = closest(clean(seal.text), names)
        if got is not None:
            name, likeness = got
            return _read_off(seal, name, round(min(seal.confidence, likeness), 4))
    return FieldValue(value=None, confidence=0.0)


def _whole(seal: SealText) -> str | None:
    """The seal's reading when it is a whole authority name read at ``MIN_CONFIDENCE``."""
    text = authority_text(seal.text)
    if text is None or seal.confidence < MIN_CONFIDENCE or not _WHOLE_AUTHORITY.match(text):
        return None
    return text


def _read_off(seal: SealText, value: str, confidence: float) -> FieldValue:
    return FieldValue(value=value, confidence=confidence, bbox=seal.bbox, raw=f"seal: {seal.raw}")


def scored(texts: Sequence[SealText], names: Sequence[str]) -> FieldValue:
    """The candidate the first seal's strips support best (``SCORE_MARGIN`` …); else none.

    Every strip of the seal is scored (``SealText.score``); an engine that cannot score
    chooses nothing here.
    """
    strips = [t for t in texts if t.bbox == texts[0].bbox]
    if not names or not strips:
        return FieldValue(value=None, confidence=0.0)
    winners: set[int] = set()
    margins: list[float] = []
    fits: list[float] = []
    for strip in strips:
        scores = strip.score([*names, strip.text]) if strip.score is not None else None
        if scores is None or any(s is None for s in scores[:-1]):
            return FieldValue(value=None, confidence=0.0)
        got = [float(s or 0.0) for s in scores[:-1]]
        order = sorted(range(len(names)), key=lambda i: -got[i])
        winners.add(order[0])
        margins.append(got[order[0]] - got[order[1]] if len(order) > 1 else math.inf)
        if scores[-1] is not None:
            fits.append(got[order[0]] - scores[-1])
    if len(winners) != 1 or sum(margins) / len(margins) < SCORE_MARGIN:
        return FieldValue(value=None, confidence=0.0)
    name = names[winners.pop()]
    han = max(len(_HAN.findall(strip.text)) for strip in strips)
    if han < MIN_HAN * len(name) or (fits and max(fits) < -SCORE_SLACK):
        return FieldValue(value=None, confidence=0.0)
    raw = " / ".join(strip.raw for strip in strips)
    return FieldValue(
        value=name, confidence=SCORED_CONFIDENCE, bbox=strips[0].bbox, raw=f"seal: {raw}"
    )


def closest(reading: str, names: Sequence[str]) -> tuple[str, float] | None:
    """The candidate the reading matches, and how well; ``None`` when none clearly does.

    >>> closest("永康市市场监督龍造局", ["永康市市场监督管理局", "金华市市场监督管理局"])
    ('永康市市场监督管理局', 0.8)
    >>> closest("义岛市市场新器裁理丽", ["义乌市市场监督管理局", "金华市市场监督管理局"])
    ('义乌市市场监督管理局', 0.5)
    >>> closest("中厦际电定区车场品局国理局", candidates("91330206177557P14G")) is None
    True
    >>> closest("干波市花仑区市场路重厘路", candidates("91330206177557P14G"))  # a doubt
    ('宁波市北仑区市场监督管理局', 0.48)
    >>> closest("又岛市市场监慧馨理局", ["义乌市市场监督管理局", "金华市市场监督管理局"]) is None
    True
    >>> closest("又乌市市场监管理局", ["义乌市市场监督管理局", "金华市市场监督管理局"])[0]
    '义乌市市场监督管理局'
    >>> closest("杭州市通区(澳江)市场美保供理", candidates("91330108892182275P"))[0]
    '杭州市高新区（滨江）市场监督管理局'
    >>> closest("杭州市高新区（滨江）市场监督管理局", ["杭州市滨江区市场监督管理局"]) is None
    True
    """
    reading = clean(reading)
    place_read = _place(reading)
    if place_read is None:
        return None
    scored: list[tuple[float, float, str]] = []
    for name in names:
        # Compared as cleaned: the seal's reading has its brackets folded to ASCII.
        folded = clean(name)
        cand_place = folded.removesuffix(clean(REGULATOR))
        # A place much longer or shorter than a candidate's names another authority
        # (杭州市高新区（滨江）… for the 滨江区 division), however many characters they share.
        if abs(len(place_read) - len(cand_place)) > MAX_LENGTH_GAP:
            continue
        place = SequenceMatcher(None, place_read, cand_place).ratio()
        whole = SequenceMatcher(None, reading, folded).ratio()
        scored.append((place, whole, name))
    scored.sort(reverse=True)
    if not scored or scored[0][0] < MIN_PLACE or scored[0][1] < MIN_WHOLE:
        return None
    # Rounded: 0.9 - 0.8 is a hair under 0.1 in floating point.
    if len(scored) > 1 and round(scored[0][0] - scored[1][0], 6) < MARGIN:
        return None
    return scored[0][2], round(scored[0][1], 4)


def _place(reading: str) -> str | None:
    """The place part of a reading: what comes before its 市场监督管理局.

    Where two or more characters of the suffix are read, the place ends where they say
    it does (又乌市市场监管理局, 督 lost: the place is 又乌市, not 又乌); else it is
    the reading less the suffix's length.

    >>> _place("又乌市市场监管理局"), _place("杭州市通区(澳江)市场美保供理"), _place("精州区")
    ('又乌市', '杭州市通区(澳江)', None)
    """
    blocks = SequenceMatcher(None, reading, REGULATOR, autojunk=False).get_matching_blocks()
    for block in blocks:
        if block.size >= 2 and block.a - block.b >= 1:
            return reading[: block.a - block.b]
    end = len(reading) - len(REGULATOR)
    return reading[:end] if end >= 1 else None


def candidates(credit_code: str) -> list[str]:
    """The market regulators a credit code's division allows (GB/T 2260 via python-stdnum).

    >>> candidates("91330784683526801D")
    ['永康市市场监督管理局', '金华市市场监督管理局']
    >>> candidates("91330106520175103Q")[0]
    '杭州市西湖区市场监督管理局'
    >>> candidates("91330108892182275P")[-1]
    '杭州市高新区（滨江）市场监督管理局'
    """
    division = credit_code[2:8]
    if not division.isdigit():
        return []
    county, prefecture = place_name(division), place_name(division[:4] + "00")
    out: list[str] = []
    if county and county != "市辖区" and division[4:] != "00":
        if county.endswith("区") and prefecture:
            out.append(prefecture + county + REGULATOR)
        else:
            out.append(county + REGULATOR)
    if prefecture:
        out.append(prefecture + REGULATOR)
    return out + list(OWN_NAMES.get(division, ()))
