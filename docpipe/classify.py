"""Which document a page (or a region of it) is, from its text and layout.

Each extractor declares weighted keywords; a region is of the kind whose keywords weigh
most, if that reaches the kind's threshold, else ``other``. The file name is never
looked at. A page that holds both sides of an ID card (the portal's 身份证明材料
template, or two cards photographed side by side) is cut between the two sides, along
an empty band across or down the page that leaves the front's cue lines on one side
and the back's on the other (``split_id_sides``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from docpipe.checkdigits import is_valid_id
from docpipe.extract import ExtractorSpec, Region, load_extractors
from docpipe.kinds import KindSpec, Role, card_kinds, spec_of
from docpipe.layout import clean, union
from docpipe.models import DocKind
from docpipe.normalize import simplified
from docpipe.ocr.base import OcrLine, OcrPage


@dataclass(frozen=True)
class Sides:
    """The two sides of one card as the page cutter sees them (``KindSpec.side_cues``).

    ``numbered``: the front prints an 18-character number with a check character (a
    line holding a valid one is a front cue even where no label was read).
    """

    front: tuple[DocKind, tuple[str, ...]]
    back: tuple[DocKind, tuple[str, ...], tuple[str, ...]]
    numbered: bool

    @classmethod
    def of(cls, front: KindSpec, back: KindSpec) -> Sides:
        """The cutter's view of a card's front and back specs."""
        front_cues, _ = front.side_cues()
        back_cues, strong = back.side_cues()
        numbered = bool(front.with_role(Role.id_number))
        return cls((front.kind, front_cues), (back.kind, back_cues, strong), numbered)


def score(text: str, spec: ExtractorSpec) -> float:
    """Summed weight of the spec's cues in ``text``: keywords and value shapes.

    Keywords are compared cleaned; shapes (``KindSpec.shapes``) are regexes searched.
    """
    t = clean(text)
    words = sum(w for kw, w in spec.keywords.items() if clean(kw) in t)
    return words + sum(w for pattern, w in spec.shapes.items() if _shape(pattern).search(t))


@cache
def _shape(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def scores(lines: Sequence[OcrLine]) -> dict[DocKind, float]:
    """Score of every registered kind for these lines.

    The page's text is folded to simplified characters once: a serif face's title read in
    traditional forms (企業授權委托书, acc4 80041) is still the letter's title.
    """
    text = simplified("".join(line.text for line in lines))
    return {spec.kind: score(text, spec) for spec in load_extractors()}


def best_kind(lines: Sequence[OcrLine]) -> tuple[DocKind, float]:
    """The kind these lines most look like, ``other`` when none reaches its threshold."""
    specs = {s.kind: s for s in load_extractors()}
    ranked = sorted(scores(lines).items(), key=lambda kv: kv[1], reverse=True)
    for kind, s in ranked:
        if s >= specs[kind].threshold:
            return kind, s
    return DocKind.other, 0.0


def _has(line: OcrLine, cues: Sequence[str]) -> bool:
    t = clean(line.text)
    return any(c in t for c in cues)


_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9Xx])")


def _holds_id_number(line: OcrLine) -> bool:
    """A valid ID number: printed on the front only.

    It is read even where the labels are not (a blurred photo where 性别 reads 修科 and
    公民身份号码 reads 公号).
    """
    return any(is_valid_id(m.group(0).upper()) for m in _ID_NUMBER.finditer(clean(line.text)))


def _empty_bands(lines: Sequence[OcrLine], axis: int) -> list[tuple[float, float]]:
    """Intervals along ``axis`` (0: x, 1: y) that no line covers, between the lines."""
    spans = sorted((ln.bbox[axis], ln.bbox[axis + 2]) for ln in lines)
    bands: list[tuple[float, float]] = []
    reach = spans[0][1]
    for lo, hi in spans[1:]:
        if lo > reach:
            bands.append((reach, lo))
        reach = max(reach, hi)
    return bands


def _enough(front: Sequence[OcrLine], back: Sequence[OcrLine], strong: Sequence[str]) -> bool:
    """Both sides shown: two front cues, and two back cues or one strong one."""
    return len(front) >= 2 and (len(back) >= 2 or any(_has(ln, strong) for ln in back))


def split_id_sides(
    lines: Sequence[OcrLine], sides: Sides
) -> tuple[list[OcrLine], list[OcrLine]] | None:
    """Cut a page's lines into (front, back) when both sides stand on it, else ``None``.

    The cut is a straight band, across the page (the template: front above back) or
    down it (two cards side by side), that no line crosses. Of all such bands the one
    that leaves fewest cue lines on the wrong side wins, then the widest: a stray cue
    (a misread word, a value that happens to contain 民族) does not stop the split,
    and the band between the cards is wider than the gaps between rows of one card.
    """
    (_, front_cues), (_, back_cues, strong) = sides.front, sides.back
    front = [
        ln for ln in lines if _has(ln, front_cues) or (sides.numbered and _holds_id_number(ln))
    ]
    back = [ln for ln in lines if _has(ln, back_cues) and not _has(ln, front_cues)]
    if not _enough(front, back, strong):
        return None
    n_cues = len(front) + len(back)
    best: tuple[tuple[int, float], int, float, bool] | None = None
    for axis in (1, 0):
        for a, b in _empty_bands(lines, axis):
            cut = (a + b) / 2
            for front_first in (True, False):
                f_side = [ln for ln in front if (ln.center[axis] < cut) == front_first]
                b_side = [ln for ln in back if (ln.center[axis] < cut) != front_first]
                if not _enough(f_side, b_side, strong):
                    continue
                errors = n_cues - len(f_side) - len(b_side)
                key = (errors, -(b - a))
                if best is None or key < best[0]:
                    best = (key, axis, cut, front_first)
    # More than one cue in five on the wrong side: not two cards, whatever the gaps say.
    if best is None or best[0][0] > max(1, n_cues // 5):
        return None
    _, axis, cut, front_first = best
    first = [ln for ln in lines if ln.center[axis] < cut]
    second = [ln for ln in lines if ln.center[axis] >= cut]
    return (first, second) if front_first else (second, first)


def classify_page(ocr: OcrPage, file: str, page: int) -> list[Region]:
    """Regions of one page, each with its kind (one region unless ID sides are split)."""
    lines = list(ocr.lines)
    kind, _ = best_kind(lines)
    sides = _sides_of(kind)
    if sides is not None:
        split = split_id_sides(lines, sides)
        if split is not None:
            kinds = (sides.front[0], sides.back[0])
            return [
                Region(file, page, part, ocr, union(ln.bbox for ln in part), side)
                for part, side in zip(split, kinds, strict=True)
            ]
    return [Region(file, page, lines, ocr, None, kind)]


def _sides_of(kind: DocKind) -> Sides | None:
    """The two sides of the card ``kind`` is a side of, else ``None`` (one-sided cards too)."""
    spec = spec_of(kind)
    if spec is None or spec.card is None or spec.side is None:
        return None
    by_side = {s.side: s for s in card_kinds(spec.card)}
    if "front" not in by_side or "back" not in by_side:
        return None
    return Sides.of(by_side["front"], by_side["back"])
