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
# Confidence factor for an option inferred from the others' empty boxes.
INFERRED = 0.92
# Confidence factor for a tick seen in the pixels, not in the text.
SEEN = 0.95
# A box is ticked when this share of its inside is ink and no other box has more than
# ``FULLER`` times less (measured on rendered scans and photos: empty boxes 0–3 %,
# ticked ones 12–30 %).
TICK_INK, FULLER = 0.06, 2.5


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
BRACKETED = re.compile(r"[\[【(（]\s*(?P<in>[xX×√✓✔vV*]?)\s*[\]】)）]$")


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
) -> float | None:
    """The share of ink inside the square box printed at the left of an option's text.

    ``span_box`` is the option text's box in the extractor's frame (the OCR may have
    put the box inside the line's box, having dropped its glyph); ``to_page`` takes a
    point of that frame to the image's. The box is the leftmost square outline near
    the text's start: its left side and its bottom inked, 0.45–1.7 text heights a side
    (a tick may reach beyond the outline). ``None`` when no such outline is there.
    """
    x0, y0, _x1, y1 = span_box
    h = max(y1 - y0, 4.0)
    cx, cy = to_page((x0 - 0.45 * h, (y0 + y1) / 2))
    ih, iw = image.shape[:2]
    wx0, wy0 = max(0, int(cx - 1.35 * h)), max(0, int(cy - 0.9 * h))
    wx1, wy1 = min(iw, int(cx + 1.35 * h)), min(ih, int(cy + 0.9 * h))
    if wx1 - wx0 < 4 or wy1 - wy0 < 4:
        return None
    dark = _dark(image[wy0:wy1, wx0:wx1])
    frames = _outlines(dark, h)
    return _ink(dark, frames[0]) if frames else None


Box = tuple[int, int, int, int]


def _dark(patch: np.ndarray) -> np.ndarray:
    """The ink of an RGB patch, 1 where darker than 0.6 of its paper."""
    grey = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2GRAY)
    return (grey < 0.6 * float(np.percentile(grey, 90))).astype(np.uint8)


def _outlines(dark: np.ndarray, h: float) -> list[Box]:
    """The square box outlines in an ink patch, left to right.

    0.45–1.7 text heights a side (a tick may reach beyond the outline), with ink down
    the left side and along the bottom.
    """
    n, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    out = []
    for i in range(1, n):
        bx, by, bw, bh, _area = (int(v) for v in stats[i])
        if not (0.45 * h <= bw <= 1.7 * h and 0.45 * h <= bh <= 1.7 * h):
            continue
        if 0.6 <= bw / bh <= 1.7 and _outlined(dark[by : by + bh, bx : bx + bw]):
            out.append((bx, by, bw, bh))
    return sorted(out)


def _ink(dark: np.ndarray, box: Box) -> float | None:
    """The share of ink inside a box outline, its frame left out."""
    bx, by, bw, bh = box
    mx, my = max(1, round(bw * 0.22)), max(1, round(bh * 0.22))
    inside = dark[by + my : by + bh - my, bx + mx : bx + bw - mx]
    return float(inside.mean()) if inside.size else None


def _outlined(patch: np.ndarray) -> bool:
    """Ink down the left side and along the bottom: a box's outline, not a tick alone."""
    bh, bw = patch.shape
    band_x, band_y = max(1, bw // 6), max(1, bh // 6)
    left = patch[:, :band_x].any(axis=1).mean()
    bottom = patch[bh - band_y :, :].any(axis=0).mean()
    return bool(left >= 0.6 and bottom >= 0.6)


def boxes_along(
    image: np.ndarray, line: OcrLine, to_page: Callable[[Point], Point]
) -> list[tuple[float, float]]:
    """The square outlines along a line of options, left to right: (x, share of ink inside).

    A line of options whose box glyphs the OCR dropped (``新企业入网变更企业操作员 …``)
    still has the boxes in its pixels; where each option's text starts in the line is
    only estimated, so the boxes are found along the whole line and paired with the
    options in order.
    """
    x0, y0, x1, y1 = line.bbox
    h = max(y1 - y0, 4.0)
    corners = [to_page(p) for p in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    px0, py0 = min(c[0] for c in corners), min(c[1] for c in corners)
    px1, py1 = max(c[0] for c in corners), max(c[1] for c in corners)
    ih, iw = image.shape[:2]
    wx0, wy0 = max(0, int(px0 - 1.5 * h)), max(0, int(py0 - 0.3 * h))
    wx1, wy1 = min(iw, int(px1 + 0.5 * h)), min(ih, int(py1 + 0.3 * h))
    if wx1 - wx0 < 4 or wy1 - wy0 < 4:
        return []
    dark = _dark(image[wy0:wy1, wx0:wx1])
    return [
        (wx0 + box[0] + box[2] / 2, ink)
        for box in _outlines(dark, h)
        if (ink := _ink(dark, box)) is not None
    ]


def _ink_by_line(
    found: Sequence[Option], image: np.ndarray, to_page: Callable[[Point], Point]
) -> dict[int, float]:
    """Each option's box ink, where its line shows exactly one box per option."""
    out: dict[int, float] = {}
    lines = {id(o.span.line): o.span.line for o in found}
    for key, line in lines.items():
        on_line = sorted((o for o in found if id(o.span.line) == key), key=lambda o: o.span.start)
        boxes = boxes_along(image, line, to_page)
        if len(on_line) >= 2 and len(boxes) == len(on_line):
            for o, (_, ink) in zip(on_line, boxes, strict=True):
                out[id(o)] = ink
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
            ink = box_ink(image, o.span.bbox, to_page)
        if ink is not None and (o.code not in best or ink > best[o.code][0]):
            best[o.code] = (ink, o)
    if len(best) < 2 or len(best) < len({o.code for o in found}) - 1:
        return None  # too few boxes seen to compare
    ranked = sorted(best.values(), key=lambda t: -t[0])
    (top, opt), runner = ranked[0], ranked[1][0]
    if top >= TICK_INK and top >= FULLER * max(runner, 0.01):
        return opt, SEEN
    return None
