"""The work a PDF page asks for, counted from its objects before anything is drawn.

MuPDF has no operation budget: whatever a page asks for, it draws. Three constructs
let a few kilobytes ask for days of drawing, and each is counted here:

- **nested form XObjects**: a form drawing the next one ten times, nine levels deep,
  is 10⁹ draws in 3 KB. Each ``/Name Do`` counts once plus what its form draws;
- **tiling patterns**: a pattern cell of 0.001 pt tiled over a page is 5 × 10¹¹
  cells. Each ``/Name scn`` of a tiling pattern counts the cells it takes to cover the
  page (``XStep`` × ``YStep`` under the pattern's ``Matrix``);
- **annotation appearances**: drawn with the page (MuPDF renders annotations), so
  their forms count as the page's own;

and, for what is drawn, its content bytes and its text-showing operators (the text
layer is read from every page, at a cost per text run).

A form or pattern that draws itself, directly or through others, counts as without
end. The counts are upper bounds in spirit, not exact: a draw under a clip still costs
MuPDF its interpretation. The memory cap and the deadline of ``docpipe.contain`` hold
what this does not foresee.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from docpipe.errors import FileUnreadable

#: Form XObjects one page may draw, nested draws multiplied out (a real form: < 100).
#: ``DOCPIPE_MAX_FORM_DRAWS`` raises it (tests of the time budget behind it).
MAX_FORM_DRAWS = int(os.environ.get("DOCPIPE_MAX_FORM_DRAWS", "100000"))
#: Tiling-pattern cells one page may paint (a hatch of 2 pt steps over A4: 125,000).
MAX_PATTERN_CELLS = int(os.environ.get("DOCPIPE_MAX_PATTERN_CELLS", "5000000"))
#: Content-stream bytes one page may have drawn, each form's bytes times its draws
#: (64 MB of rectangles drew in 8.5 s; a form page has 10-200 KB, a dense map a few MB).
MAX_DRAWN_CONTENT_BYTES = int(os.environ.get("DOCPIPE_MAX_DRAWN_MB", "16")) * 1024 * 1024
#: Text-showing operators one page may have drawn: 60 MB of ``Tj`` (1.9 million) took
#: MuPDF's text extraction 90 s and then its memory; a dense page of text has 10,000.
MAX_TEXT_SHOWS = int(os.environ.get("DOCPIPE_MAX_TEXT_SHOWS", "100000"))

_REF = re.compile(rb"/([^\s/<>\[\]()]+)\s+(\d+)\s+\d+\s+R")
#: A name used by ``Do`` (an XObject) or ``scn`` / ``SCN`` (a pattern as the colour).
_USE = re.compile(rb"/([^\s/<>\[\]()]+)\s+(Do|scn|SCN)(?![A-Za-z])")
_NUMBER = re.compile(r"-?\d*\.?\d+(?:[eE][-+]?\d+)?")
_ENDLESS = 1 << 62
#: The form XObjects and the patterns a content stream may name: name → xref each.
Names = tuple[dict[bytes, int], dict[bytes, int]]


@dataclass(frozen=True)
class Cost:
    """What drawing a content stream asks for."""

    draws: int = 0
    cells: int = 0
    size: int = 0
    #: Text-showing operators (``Tj``, ``TJ``): reading the text layer pays most per each.
    shows: int = 0

    def plus(self, other: Cost, times: int = 1) -> Cost:
        """The sum with ``times`` times ``other``, saturating far above every limit."""
        return Cost(
            min(_ENDLESS, self.draws + times * other.draws),
            min(_ENDLESS, self.cells + times * other.cells),
            min(_ENDLESS, self.size + times * other.size),
            min(_ENDLESS, self.shows + times * other.shows),
        )


ENDLESS = Cost(_ENDLESS, _ENDLESS, _ENDLESS, _ENDLESS)


def _dict_refs(doc: Any, owner: int, key: str) -> dict[bytes, int]:
    """A dictionary of references under ``key`` of object ``owner``: name → xref."""
    try:
        kind, value = doc.xref_get_key(owner, key)
        if kind == "xref":
            value = doc.xref_object(int(value.split()[0]), compressed=True)
        elif kind != "dict":
            return {}
    except Exception:  # a broken dictionary draws nothing MuPDF can find either
        return {}
    return {m.group(1): int(m.group(2)) for m in _REF.finditer(value.encode("latin-1", "replace"))}


def _key(doc: Any, xref: int, key: str) -> str:
    try:
        return str(doc.xref_get_key(xref, key)[1])
    except Exception:  # not an object MuPDF can read
        return ""


def _numbers(text: str) -> list[float]:
    return [float(x) for x in _NUMBER.findall(text)]


def tiling_cells(doc: Any, xref: int, area: float) -> int:
    """Cells a tiling pattern paints to cover ``area`` square points (0 for other patterns)."""
    if _key(doc, xref, "PatternType") != "1":
        return 0
    steps = _numbers(_key(doc, xref, "XStep")) + _numbers(_key(doc, xref, "YStep"))
    matrix = _numbers(_key(doc, xref, "Matrix")) or [1.0, 0.0, 0.0, 1.0]
    if len(steps) < 2 or len(matrix) < 4:
        return _ENDLESS
    cell = abs(steps[0] * steps[1] * (matrix[0] * matrix[3] - matrix[1] * matrix[2]))
    if cell <= 0:
        return _ENDLESS
    return int(min(_ENDLESS, area / cell + 1))


def drawing_cost(doc: Any, page: Any) -> Cost:
    """What one page asks MuPDF to draw: its content, its forms and patterns, its annotations."""
    area = max(float(page.rect.width * page.rect.height), 1.0)
    memo: dict[int, Cost] = {}

    def inner(xref: int, names: Names, stack: frozenset[int]) -> Cost:
        if xref in stack:
            return ENDLESS
        if xref not in memo:
            own = (
                _dict_refs(doc, xref, "Resources/XObject"),
                _dict_refs(doc, xref, "Resources/Pattern"),
            )
            # A form without resources of its own uses its caller's (as readers do).
            scope = (own[0] or names[0], own[1] or names[1])
            memo[xref] = cost(doc.xref_stream(xref) or b"", scope, stack | {xref})
        return memo[xref]

    def cost(content: bytes, names: Names, stack: frozenset[int]) -> Cost:
        # bytes.count: an upper bound in C speed (a "Tj" inside a string counts too).
        total = Cost(size=len(content), shows=content.count(b"Tj") + content.count(b"TJ"))
        forms, patterns = names
        # One pass over the content, however many names its resources hold.
        uses = Counter((m.group(1), m.group(2) != b"Do") for m in _USE.finditer(content))
        for name, xref in forms.items():
            n = uses[(name, False)]
            if n and _key(doc, xref, "Subtype") == "/Form":
                total = total.plus(Cost(draws=1).plus(inner(xref, names, stack)), n)
        for name, xref in patterns.items():
            n = uses[(name, True)]
            cells = tiling_cells(doc, xref, area) if n else 0
            if cells:
                cell = inner(xref, names, stack)
                tile = Cost(cells=cells, draws=cells * cell.draws, size=cell.size, shows=cell.shows)
                total = total.plus(tile, n)
        return total

    page_names = (
        _dict_refs(doc, page.xref, "Resources/XObject"),
        _dict_refs(doc, page.xref, "Resources/Pattern"),
    )
    for xref, name, invoker, _ in page.get_xobjects():
        if invoker == 0:  # inherited page resources are listed here too
            page_names[0].setdefault(name.encode("latin-1", "replace"), xref)
    total = cost(page.read_contents() or b"", page_names, frozenset())
    for annot in _annotations(doc, page.xref):
        for xref in _appearances(doc, annot):
            total = total.plus(Cost(draws=1).plus(inner(xref, page_names, frozenset())))
    return total


def _annotations(doc: Any, page_xref: int) -> list[int]:
    try:
        kind, value = doc.xref_get_key(page_xref, "Annots")
        if kind == "xref":
            value = doc.xref_object(int(value.split()[0]), compressed=True)
    except Exception:  # no annotations MuPDF can find
        return []
    return [int(x) for x in re.findall(r"(\d+)\s+\d+\s+R", str(value))]


def _appearances(doc: Any, annot: int) -> list[int]:
    """The normal appearance streams of an annotation (one, or one per state)."""
    try:
        kind, value = doc.xref_get_key(annot, "AP/N")
    except Exception:  # a broken annotation draws nothing
        return []
    if kind == "xref":
        return [int(value.split()[0])]
    if kind == "dict":
        return [int(x) for x in re.findall(r"(\d+)\s+\d+\s+R", value)]
    return []


def check_drawing(doc: Any, page: Any, name: str, number: int) -> None:
    """Refuse a page that asks for more drawing than any document needs (``drawing_cost``)."""
    got = drawing_cost(doc, page)
    where_en, where_zh = f"{name}: page {number}", f"{name}：第 {number} 页"
    if got.draws > MAX_FORM_DRAWS:
        raise FileUnreadable(
            f"{where_en} draws over {MAX_FORM_DRAWS:,} form XObjects (nested forms),"
            " over the operation limit",
            f"{where_zh}嵌套绘制的表单对象超过 {MAX_FORM_DRAWS:,} 次，超过操作上限",
        )
    if got.cells > MAX_PATTERN_CELLS:
        raise FileUnreadable(
            f"{where_en} tiles over {MAX_PATTERN_CELLS:,} pattern cells, over the operation limit",
            f"{where_zh}平铺图案超过 {MAX_PATTERN_CELLS:,} 格，超过操作上限",
        )
    if got.shows > MAX_TEXT_SHOWS:
        raise FileUnreadable(
            f"{where_en} shows text over {MAX_TEXT_SHOWS:,} times, over the operation limit",
            f"{where_zh}显示文字的操作超过 {MAX_TEXT_SHOWS:,} 次，超过操作上限",
        )
    if got.size > MAX_DRAWN_CONTENT_BYTES:
        mb = MAX_DRAWN_CONTENT_BYTES // (1024 * 1024)
        raise FileUnreadable(
            f"{where_en} draws over {mb} MB of content, over the operation limit",
            f"{where_zh}绘制内容超过 {mb} MB，超过操作上限",
        )
