"""Which printed option is ticked: ``☑ 变更企业操作员 □ 新增企业操作员 …``.

Forms print every option with a box and the applicant ticks one. What the page gives:

- a born-digital PDF: the text layer reader turns drawn boxes into ``☑`` / ``□`` lines
  (``docpipe.textlayer``), widgets likewise;
- a scan: OCR reads an empty box as ``□`` / ``口`` (or drops it), and a ticked box as
  ``☑``, ``√``, ``区``, ``团`` … or drops it too, since a tick is no character.

So each option's mark is the character just before it (same OCR line) or a short line
just left of it (same row), classed ticked / empty / none. One ticked option wins;
when none reads as ticked but every other option shows an empty box, the one whose box
the OCR dropped is the ticked one (a slightly lower confidence says it was inferred).

When the text cannot tell and the page's pixels are at hand (a scan), the boxes are
looked at (``ticked_by_pixels``): the square frame just left of each option, and how
much ink lies inside it. An empty box is a frame round white; a ticked one has the
tick's strokes inside. One box clearly fuller than every other is the ticked one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from docpipe.layout import Span
from docpipe.ocr.base import OcrLine

TICKED_MARKS = frozenset("☑☒✅■▣◼◾●◉⊠⊗√✓✔✗✘×区团図回")
EMPTY_MARKS = frozenset("□☐▢◻○◯口ロ囗")
# The marks that are symbols no value holds: not the characters read for a box (区, 口)
# and not ×, which a value may hold (3×4).
GLYPH_MARKS = frozenset(c for c in TICKED_MARKS | EMPTY_MARKS if not c.isalpha()) - {"×"}
# A line that starts with a box or tick: a row of options, never the wrap of the line
# above (``layout.in_cells``; acc2 20041, where the first row's boxes were not read).
OPTION_ROW = re.compile(f"[{re.escape(''.join(sorted(GLYPH_MARKS)))}]")
# Confidence factor for an option inferred from the others' empty boxes.
INFERRED = 0.92
# Confidence factor for a tick seen in the pixels, not in the text.
SEEN = 0.95
# ... seen while two or more of the other boxes were not found: a doubt.
PARTLY_SEEN = 0.85
# A box is ticked when this share of its inside is ink and no other box has more than
# ``FULLER`` times less (measured on rendered scans and photos: empty boxes 0–3 %,
# ticked ones 12–30 %).
TICK_INK, FULLER = 0.06, 2.5
# Inside an outline, more ink than a tick leaves and less than a filled box (■) is a
# character's strokes (目, 回, or any glyph a closing made square): up to 0.7 measured
# on the same scans, where printed ticks gave 0.1–0.3 (a pen's heavier tick, up to 0.5).
CHARACTER_INK = (0.5, 0.9)
# A box's frame is closed: along each side, this share of places has ink in its band.
CLOSED = 0.9
# The smallest box side, in text heights (the OCR box's, ascent and descent included): a
# □ printed a size smaller than its option's text is 0.39 of it (acc4 80085). A
# character that closes a square (口, 回) is told from a box by its place (``_paired``).
BOX_LOW = 0.3


@dataclass
class Option:
    """One printed option found on the page and the mark before it."""

    code: str
    span: Span
    mark: str  # "ticked", "empty" or "none"
    mark_line: OcrLine | None


def _pattern(variant: str) -> re.Pattern[str]:
    return re.compile(r"\s*".join(re.escape(c) for c in variant))


# A mark typed in brackets: ``[x]`` / ``(√)`` ticked, ``[ ]`` / ``（ ）`` empty.
_BRACKET_MARK = r"[\[【(（]\s*(?P<in>[xX×√✓✔vV*]?)\s*[\]】)）]"
BRACKETED = re.compile(_BRACKET_MARK + "$")
LEADING_MARK = re.compile(_BRACKET_MARK)


def starts_marked(text: str) -> bool:
    """Whether a text starts with a tick-box mark: a glyph (☑ □) or a bracketed one ([x]).

    >>> starts_marked("[x] 居民身份证"), starts_marked("（ ）其他"), starts_marked("居民身份证")
    (True, True, False)
    """
    t = text.lstrip()
    if t[:1] and t[0] in GLYPH_MARKS:
        return True
    return LEADING_MARK.match(t) is not None


def _class_before(before: str) -> str:
    """The mark ending the text before an option: a glyph, or a bracketed one."""
    m = BRACKETED.search(before)
    if m is not None:
        return "ticked" if m.group("in") else "empty"
    return _class(before[-1])


def _class(c: str) -> str:
    if c in TICKED_MARKS:
        return "ticked"
    if c in EMPTY_MARKS:
        return "empty"
    return "none"


def _mark_left(line: OcrLine, start_x: float, lines: Sequence[OcrLine]) -> OcrLine | None:
    """A short line (a box glyph) standing just left of ``start_x`` in the same row."""
    y0, y1 = line.bbox[1], line.bbox[3]
    h = max(y1 - y0, 1.0)
    best = None
    for o in lines:
        if o is line or len(o.text.strip()) > 3:
            continue
        _, b0, a1, b1 = o.bbox
        overlap = min(y1, b1) - max(y0, b0)
        if overlap < 0.4 * min(h, b1 - b0) or a1 > start_x + 0.3 * h:
            continue
        if start_x - a1 > 1.5 * h:
            continue
        if best is None or a1 > best.bbox[2]:
            best = o
    return best


def find_options(
    lines: Sequence[OcrLine], options: Sequence[tuple[str, tuple[str, ...]]]
) -> list[Option]:
    """Every occurrence of the printed options in ``lines``, with the mark before each.

    ``options`` is ``(code, variants)``; longer variants are tried first and a piece of
    text is given to one option only.
    """
    pats = sorted(
        ((code, _pattern(v), len(v)) for code, vs in options for v in vs),
        key=lambda t: -t[2],
    )
    found: list[Option] = []
    for line in lines:
        taken: list[tuple[int, int]] = []
        for code, pat, _ in pats:
            for m in pat.finditer(line.text):
                s, e = m.start(), m.end()
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                before = line.text[:s].rstrip()
                mark, mark_line = "none", None
                if before:
                    mark = _class_before(before)
                else:
                    x0 = Span(line, s, e).bbox[0]
                    mark_line = _mark_left(line, x0, lines)
                    if mark_line is not None:
                        mark = _class_before(mark_line.text.strip())
                found.append(Option(code, Span(line, s, e), mark, mark_line))
    return found


def ticked(found: Sequence[Option]) -> tuple[Option, float] | None:
    """The ticked option and a confidence factor, or ``None`` when it cannot be told."""
    codes = {o.code for o in found}
    if len(codes) < 2:
        return None
    on = [o for o in found if o.mark == "ticked"]
    if len({o.code for o in on}) == 1:
        return on[0], 1.0
    if on:
        return None  # two different options ticked: a person must look
    bare = [o for o in found if o.mark == "none"]
    empty = {o.code for o in found if o.mark == "empty"}
    if len(bare) == 1 and empty == codes - {bare[0].code}:
        return bare[0], INFERRED
    return None


Point = tuple[float, float]


def box_ink(
    image: np.ndarray,
    span_box: tuple[float, float, float, float],
    to_page: Callable[[Point], Point],
    height: float | None = None,
) -> float | None:
    """The share of ink inside the square box printed at the left of an option's text.

    ``span_box`` is the option text's box in the extractor's frame (the OCR may have
    put the box inside the line's box, having dropped its glyph); ``to_page`` takes a
    point of that frame to the image's. The box is the leftmost square outline near
    the text's start: its left side and its bottom inked, ``BOX_LOW``–1.7 text heights a side
    (a tick may reach beyond the outline). ``None`` when no such outline is there.
    ``height`` is the text's own height where known: on a tilted page the box around
    the text is taller than its letters, and boxes are sized by the letters.
    """
    x0, y0, _x1, y1 = span_box
    h = max(height or (y1 - y0), 4.0)
    cx, cy = to_page((x0 - 0.45 * h, (y0 + y1) / 2))
    ih, iw = image.shape[:2]
    wx0, wy0 = max(0, int(cx - 1.35 * h)), max(0, int(cy - 0.9 * h))
    wx1, wy1 = min(iw, int(cx + 1.35 * h)), min(ih, int(cy + 0.9 * h))
    if wx1 - wx0 < 4 or wy1 - wy0 < 4:
        return None
    patch = image[wy0:wy1, wx0:wx1]
    dark = _dark(patch)
    boxes = _outlines(_traced(patch, h), h)
    inks = [ink for box in boxes if (ink := _box_ink(dark, box)) is not None]
    return inks[0] if inks else None


def _box_ink(dark: np.ndarray, box: Box) -> float | None:
    """The ink inside an outline, or ``None`` when the outline is no box's.

    A box holds nothing, a tick, or all ink; a character's strokes fill
    ``CHARACTER_INK`` of it.
    """
    ink = _ink(dark, box)
    if ink is None or CHARACTER_INK[0] < ink < CHARACTER_INK[1]:
        return None
    return ink


Box = tuple[int, int, int, int]


def _dark(patch: np.ndarray, share: float = 0.6) -> np.ndarray:
    """The ink of an RGB patch, 1 where darker than ``share`` of its paper."""
    grey = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2GRAY)
    return (grey < share * float(np.percentile(grey, 90))).astype(np.uint8)


def _traced(patch: np.ndarray, h: float) -> np.ndarray:
    """The strokes of an RGB patch as a box's outline is looked for in them.

    An empty box is often printed in a thin light grey that a scan breaks at its
    corners: its outline is traced at 0.8 of the paper, not 0.6, and a small closing
    joins the pieces (not the box to its text, a few pixels further).
    """
    k = max(3, round(h / 12))
    return cv2.morphologyEx(_dark(patch, 0.8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))


def _outlines(traced: np.ndarray, h: float) -> list[Box]:
    """The square box outlines in a traced patch (``_traced``), left to right.

    0.3–1.7 text heights a side (a tick may reach beyond the outline), four straight
    sides (``_outlined``).
    """
    n, _, stats, _ = cv2.connectedComponentsWithStats(traced, connectivity=8)
    out = []
    for i in range(1, n):
        bx, by, bw, bh, _area = (int(v) for v in stats[i])
        if not (BOX_LOW * h <= bw <= 1.7 * h and BOX_LOW * h <= bh <= 1.7 * h):
            continue
        if 0.6 <= bw / bh <= 1.7 and _outlined(traced[by : by + bh, bx : bx + bw]):
            out.append((bx, by, bw, bh))
    return sorted(out)


def _ink(dark: np.ndarray, box: Box) -> float | None:
    """The share of ink inside a box outline, its frame left out."""
    bx, by, bw, bh = box
    mx, my = max(1, round(bw * 0.22)), max(1, round(bh * 0.22))
    inside = dark[by + my : by + bh - my, bx + mx : bx + bw - mx]
    return float(inside.mean()) if inside.size else None


def _outlined(patch: np.ndarray) -> bool:
    """Four straight sides: a box's outline, not a tick alone and not most characters.

    Each side is a straight stroke nearly its whole length: a column of the left and of
    the right band, a row of the top and of the bottom band, inked over 0.75 of it. A
    character's strokes seldom close a square so (口 and 回 do, and are told apart by
    their place: ``_paired``); a tick may cross the outline, never take a side away.
    """
    bh, bw = patch.shape
    band_x, band_y = max(1, bw // 5), max(1, bh // 5)
    sides = (
        patch[:, :band_x].mean(axis=0).max(),
        patch[:, bw - band_x :].mean(axis=0).max(),
        patch[:band_y, :].mean(axis=1).max(),
        patch[bh - band_y :, :].mean(axis=1).max(),
    )
    # ... and the frame closed: along each side, nearly every place has ink in its band.
    closed = (
        patch[:, :band_x].any(axis=1).mean(),
        patch[:, bw - band_x :].any(axis=1).mean(),
        patch[:band_y, :].any(axis=0).mean(),
        patch[bh - band_y :, :].any(axis=0).mean(),
    )
    return bool(min(sides) >= 0.75 and min(closed) >= CLOSED)


def _midline(line: OcrLine, to_page: Callable[[Point], Point]) -> tuple[Point, Point]:
    """The line's midline in the image: from the middle of its left side to its right's."""
    a, b = (
        to_page(((p[0] + q[0]) / 2, (p[1] + q[1]) / 2))
        for p, q in ((line.poly[0], line.poly[3]), (line.poly[1], line.poly[2]))
    )
    return a, b


def _along(point: Point, mid: tuple[Point, Point]) -> tuple[float, float]:
    """A point's place against a midline: (distance along it from its start, off it)."""
    (ax, ay), (bx, by) = mid
    run = max(math.hypot(bx - ax, by - ay), 1.0)
    dx, dy = point[0] - ax, point[1] - ay
    return (dx * (bx - ax) + dy * (by - ay)) / run, abs((bx - ax) * dy - (by - ay) * dx) / run


def boxes_along(
    image: np.ndarray, line: OcrLine, to_page: Callable[[Point], Point]
) -> list[tuple[float, float]]:
    """The square outlines along a line of options: (place along it, share of ink inside).

    A line of options whose box glyphs the OCR dropped (``新企业入网变更企业操作员 …``)
    still has the boxes in its pixels. The place is the box centre's distance along the
    line's midline from its start, in image pixels, so a tilted or turned page measures
    the same way; boxes off the midline (the rows above and below, which a tilted
    line's window takes in) are left out.
    """
    x0, y0, x1, y1 = line.bbox
    # The letters' height, not the box's: a tilted line's box is taller than its text.
    h = max(line.height, 4.0)
    corners = [to_page(p) for p in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    px0, py0 = min(c[0] for c in corners), min(c[1] for c in corners)
    px1, py1 = max(c[0] for c in corners), max(c[1] for c in corners)
    ih, iw = image.shape[:2]
    wx0, wy0 = max(0, int(px0 - 1.5 * h)), max(0, int(py0 - 0.3 * h))
    wx1, wy1 = min(iw, int(px1 + 0.5 * h)), min(ih, int(py1 + 0.3 * h))
    if wx1 - wx0 < 4 or wy1 - wy0 < 4:
        return []
    patch = image[wy0:wy1, wx0:wx1]
    dark = _dark(patch)
    mid = _midline(line, to_page)
    out = []
    for box in _outlines(_traced(patch, h), h):
        t, off = _along((wx0 + box[0] + box[2] / 2, wy0 + box[1] + box[3] / 2), mid)
        if off <= 0.5 * h and (ink := _box_ink(dark, box)) is not None:
            out.append((t, ink))
    return sorted(out)


def _paired(starts: Sequence[float], boxes: Sequence[float], h: float) -> list[int | None]:
    """For each option start, the index of its box, or ``None`` where none is seen.

    Where each option's text starts in an OCR line is only estimated (a line that
    dropped its box glyphs spreads its characters evenly), a character may look like a
    box, and a light box may not be seen at all. So the boxes are matched to the
    options in order, at the least total distance from where each option's box should
    be (just left of its text): a box may be left out, and an option may go without
    one at the cost of the furthest pair allowed, ``4 h``.
    """
    n, m = len(starts), len(boxes)
    want = [x - 0.6 * h for x in starts]
    miss, inf = 4.0 * h, float("inf")
    # cost[i][j]: the best pairing of the first i options with the first j boxes, and
    # how it got there (the move into that cell).
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    move: list[list[str]] = [[""] * (m + 1) for _ in range(n + 1)]
    cost[0] = [0.0] * (m + 1)
    for i in range(1, n + 1):
        cost[i][0], move[i][0] = cost[i - 1][0] + miss, "miss"
        for j in range(1, m + 1):
            d = abs(boxes[j - 1] - want[i - 1])
            choices = [
                (cost[i][j - 1], "skip"),
                (cost[i - 1][j] + miss, "miss"),
                (cost[i - 1][j - 1] + d if d <= 4 * h else inf, "pair"),
            ]
            cost[i][j], move[i][j] = min(choices, key=lambda c: c[0])
    picks: list[int | None] = []
    i, j = n, m
    while i > 0:
        if move[i][j] == "skip":
            j -= 1
        elif move[i][j] == "miss":
            picks.append(None)
            i -= 1
        else:
            picks.append(j - 1)
            i, j = i - 1, j - 1
    return picks[::-1]


def _ink_by_line(
    found: Sequence[Option], image: np.ndarray, to_page: Callable[[Point], Point]
) -> dict[int, float]:
    """Each option's box ink, where its line's boxes pair with its options."""
    out: dict[int, float] = {}
    lines = {id(o.span.line): o.span.line for o in found}
    for key, line in lines.items():
        on_line = sorted((o for o in found if id(o.span.line) == key), key=lambda o: o.span.start)
        if len(on_line) < 2:
            continue
        boxes = boxes_along(image, line, to_page)
        mid = _midline(line, to_page)
        starts = [
            _along(to_page((o.span.bbox[0], (o.span.bbox[1] + o.span.bbox[3]) / 2)), mid)[0]
            for o in on_line
        ]
        picks = _paired(starts, [t for t, _ in boxes], max(line.height, 4.0))
        for o, k in zip(on_line, picks, strict=True):
            if k is not None:
                out[id(o)] = boxes[k][1]
    return out


def ticked_by_pixels(
    found: Sequence[Option], image: np.ndarray, to_page: Callable[[Point], Point]
) -> tuple[Option, float] | None:
    """The option whose box holds clearly the most ink, or ``None`` when unclear."""
    best: dict[str, tuple[float, Option]] = {}
    along = _ink_by_line(found, image, to_page)
    for o in found:
        # A mark the OCR read says what the box holds; only unread boxes are measured.
        ink = {"ticked": 1.0, "empty": 0.0}.get(o.mark)
        if ink is None:
            ink = along.get(id(o))
        if ink is None:
            ink = box_ink(image, o.span.bbox, to_page, o.span.line.height)
        if ink is not None and (o.code not in best or ink > best[o.code][0]):
            best[o.code] = (ink, o)
    if len(best) < 2:
        return None  # too few boxes seen to compare
    ranked = sorted(best.values(), key=lambda t: -t[0])
    (top, opt), runner = ranked[0], ranked[1][0]
    unseen = [o for o in found if o.code not in best]
    if top < TICK_INK and len({o.code for o in unseen}) == 1:
        # Every box seen is empty and one is not seen: its tick, crossing the outline,
        # made it no square (as ``ticked`` infers from the text's marks).
        return unseen[0], INFERRED * SEEN
    if top < TICK_INK or top < FULLER * max(runner, 0.01):
        return None
    # With more than one box unseen, one of them might hold a second tick: the pick is
    # kept, but in doubt (below the comparison's line, docpipe.compare.DOUBT_BELOW).
    if len(best) < len({o.code for o in found}) - 1:
        return opt, PARTLY_SEEN
    return opt, SEEN
