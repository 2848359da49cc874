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
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from docpipe.layout import Span
from docpipe.ocr.base import OcrLine

TICKED_MARKS = frozenset("☑☒✅■▣◼◾●◉⊠⊗√✓✔✗✘×区团図回")
EMPTY_MARKS = frozenset("□☐▢◻○◯口ロ囗")
# Confidence factor for an option inferred from the others' empty boxes.
INFERRED = 0.92


@dataclass
class Option:
    """One printed option found on the page and the mark before it."""

    code: str
    span: Span
    mark: str  # "ticked", "empty" or "none"
    mark_line: OcrLine | None


def _pattern(variant: str) -> re.Pattern[str]:
    return re.compile(r"\s*".join(re.escape(c) for c in variant))


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
        if o is line or len(o.text.strip()) > 2:
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
                    mark = _class(before[-1])
                else:
                    x0 = Span(line, s, e).bbox[0]
                    mark_line = _mark_left(line, x0, lines)
                    if mark_line is not None:
                        mark = _class(mark_line.text.strip()[-1])
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
