"""Bordered tables: the cell grid of a page, from its ruling lines or its PDF drawing.

Application forms and some licenses are ruled tables (label | value | label | value on
one row, values wrapping inside their cell), and the OCR often reads two neighbouring
cells as one line (``杭州天佳工贸有限公司 住所 杭州市…``). The grid lets a reader
split such a line where a vertical ruling crosses it (``split_at_rulings``), say which
cell a piece of text is in (``cell_of``) and pair a label with its value cell
(``pair``), never across a ruling.

Two sources, one model: ``grid_from_image`` finds the rulings of a scan or photo by
morphology (``docpipe.rulings``); a born-digital page's cells come from pdfplumber's
table finder in the contained child (``docpipe.pdftables``, run by ``docpipe.pdfread``)
and travel in ``OcrPage.cells`` (``grid_from_cells``). ``docpipe.extract.Region.grid``
picks the one that applies. A grid is a help to reading, never a condition of it: no
table, or a table not found, is ``None``.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from docpipe.ocr.base import OcrLine, Point

if TYPE_CHECKING:
    from docpipe.pdftables import PdfTables

Box = tuple[float, float, float, float]

#: Edges of two cells closer than this (page pixels) are one ruling.
EDGE_TOLERANCE = 4.0


@dataclass(frozen=True)
class Cell:
    """One closed cell of a ruled table.

    ``bbox`` is the cell in page pixels (the box around it when the table is skewed);
    ``level`` is the same cell as an upright rectangle in the grid's levelled frame
    (``Grid.level``), equal to ``bbox`` on a level table. ``row`` / ``col`` index the
    grid's ``rows`` / ``cols`` edges at its top-left corner; a merged cell spans more.
    """

    bbox: Box
    level: Box
    row: int
    col: int
    row_span: int = 1
    col_span: int = 1

    @property
    def rows(self) -> range:
        """The row bands the cell covers."""
        return range(self.row, self.row + self.row_span)

    @property
    def cols(self) -> range:
        """The column bands the cell covers."""
        return range(self.col, self.col + self.col_span)


@dataclass(frozen=True)
class Grid:
    """The cells of the ruled tables of one page (or region), in page pixels.

    ``rows`` are the y edges and ``cols`` the x edges of every cell, in the levelled
    frame, top to bottom and left to right; ``bands[i]`` holds the x edges of the cells
    crossing row band ``i`` (between ``rows[i]`` and ``rows[i + 1]``), so a 2-cell row
    and a 4-cell row of one table each show their own split. ``skew`` (degrees, the
    slope of the horizontal rulings, y down) and ``pivot`` define the levelled frame.
    """

    cells: tuple[Cell, ...]
    rows: tuple[float, ...]
    cols: tuple[float, ...]
    bands: tuple[tuple[float, ...], ...]
    skew: float = 0.0
    pivot: Point = (0.0, 0.0)

    def level(self, x: float, y: float) -> Point:
        """A page point in the levelled frame, where rulings are upright."""
        if not self.skew:
            return (x, y)
        t = math.radians(self.skew)
        cx, cy = self.pivot
        dx, dy = x - cx, y - cy
        return (cx + dx * math.cos(t) + dy * math.sin(t), cy - dx * math.sin(t) + dy * math.cos(t))

    def unlevel(self, x: float, y: float) -> Point:
        """A point of the levelled frame back in page pixels (``level``'s inverse)."""
        if not self.skew:
            return (x, y)
        t = math.radians(self.skew)
        cx, cy = self.pivot
        dx, dy = x - cx, y - cy
        return (cx + dx * math.cos(t) - dy * math.sin(t), cy + dx * math.sin(t) + dy * math.cos(t))

    def cell_at(self, x: float, y: float) -> Cell | None:
        """The cell holding page point (x, y), or ``None`` outside every cell."""
        lx, ly = self.level(x, y)
        for c in self.cells:
            x0, y0, x1, y1 = c.level
            if x0 <= lx <= x1 and y0 <= ly <= y1:
                return c
        return None

    def right_of(self, cell: Cell) -> Cell | None:
        """The cell across ``cell``'s right ruling, on its top row (``None`` at the edge)."""
        edge = cell.col + cell.col_span
        near = [c for c in self.cells if c.col == edge and _meet(c.rows, cell.rows)]
        return min(near, key=lambda c: (abs(c.row - cell.row), c.row), default=None)

    def below(self, cell: Cell) -> Cell | None:
        """The cell across ``cell``'s bottom ruling sharing most of its width."""
        edge = cell.row + cell.row_span
        near = [c for c in self.cells if c.row == edge and _meet(c.cols, cell.cols)]
        return max(near, key=lambda c: (_shared(c.cols, cell.cols), -c.col), default=None)

    def in_row(self, band: int) -> list[Cell]:
        """The cells crossing row band ``band``, left to right."""
        return sorted((c for c in self.cells if band in c.rows), key=lambda c: c.col)

    def verticals(self, y: float) -> tuple[float, ...]:
        """The x (levelled frame) of the vertical rulings crossing levelled height ``y``."""
        for i in range(len(self.rows) - 1):
            if self.rows[i] <= y <= self.rows[i + 1]:
                return self.bands[i]
        return ()


def _meet(a: range, b: range) -> bool:
    return a.start < b.stop and b.start < a.stop


def _shared(a: range, b: range) -> int:
    return max(0, min(a.stop, b.stop) - max(a.start, b.start))


def _clusters(values: Iterable[float], tol: float) -> list[float]:
    """Values closer than ``tol`` in a chain as one (their mean), sorted.

    >>> _clusters([10, 11.5, 50, 12, 49], 2)
    [11.166666666666666, 49.5]
    """
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(g) / len(g) for g in out]


def _nearest(edges: Sequence[float], v: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


def grid_from_boxes(
    boxes: Iterable[Box],
    *,
    skew: float = 0.0,
    pivot: Point = (0.0, 0.0),
    tol: float = EDGE_TOLERANCE,
) -> Grid | None:
    """The grid of cells given as boxes in the levelled frame (page pixels when level).

    Edges closer than ``tol`` are one ruling; each cell is snapped to its rulings. A
    cell sharing no ruling with another (a lone frame, a photo box) is no table and is
    left out; ``None`` when no two cells meet.
    """
    boxes = [b for b in boxes if b[2] - b[0] > tol and b[3] - b[1] > tol]
    rows = _clusters((v for b in boxes for v in (b[1], b[3])), tol)
    cols = _clusters((v for b in boxes for v in (b[0], b[2])), tol)
    spans = []
    for x0, y0, x1, y1 in boxes:
        r0, r1 = _nearest(rows, y0), _nearest(rows, y1)
        c0, c1 = _nearest(cols, x0), _nearest(cols, x1)
        if r1 > r0 and c1 > c0:
            spans.append((r0, c0, r1, c1))
    spans = sorted(set(spans))
    joined = [s for s in spans if any(_adjacent(s, o) for o in spans if o != s)]
    if not joined:
        return None
    t = Grid((), tuple(rows), tuple(cols), (), skew, pivot)
    cells = []
    for r0, c0, r1, c1 in joined:
        level: Box = (cols[c0], rows[r0], cols[c1], rows[r1])
        corners = [t.unlevel(x, y) for x in (level[0], level[2]) for y in (level[1], level[3])]
        bbox: Box = (
            min(p[0] for p in corners),
            min(p[1] for p in corners),
            max(p[0] for p in corners),
            max(p[1] for p in corners),
        )
        cells.append(Cell(bbox, level, r0, c0, r1 - r0, c1 - c0))
    bands = tuple(
        tuple(sorted({cols[e] for c in cells if i in c.rows for e in (c.col, c.col + c.col_span)}))
        for i in range(len(rows) - 1)
    )
    return Grid(tuple(cells), tuple(rows), tuple(cols), bands, skew, pivot)


def _adjacent(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ar0, ac0, ar1, ac1 = a
    br0, bc0, br1, bc1 = b
    side = (ac1 == bc0 or bc1 == ac0) and ar0 < br1 and br0 < ar1
    top = (ar1 == br0 or br1 == ar0) and ac0 < bc1 and bc0 < ac1
    return side or top


def grid_from_image(rgb: np.ndarray) -> Grid | None:
    """The ruled table of a page image (H×W×3 RGB, or grey), or ``None`` without one.

    See ``docpipe.rulings`` for how the rulings are found (red seal ink ignored, skew of
    a degree or two levelled, broken lines joined).
    """
    from docpipe.rulings import find_cells

    found = find_cells(rgb)
    if found is None:
        return None
    boxes, skew, pivot, tol = found
    return grid_from_boxes(boxes, skew=skew, pivot=pivot, tol=tol)


# --------------------------------------------------------------------------- reading


def cell_of(line: OcrLine, grid: Grid) -> Cell | None:
    """The cell the centre of ``line`` stands in (split lines first: ``split_at_rulings``)."""
    return grid.cell_at(*line.center)


def pair(label_cell: Cell, grid: Grid, *, header: bool = False) -> Cell | None:
    """The value cell of a label cell: across its right ruling, else the cell below it.

    The cell below is taken when nothing is to the right and the label either stands
    alone on its row or heads a column of the same width (a header above its value);
    ``header=True`` takes it always (the caller knows the row is a header row).
    ``None`` when neither exists.
    """
    under = grid.below(label_cell)
    if header:
        return under
    right = grid.right_of(label_cell)
    if right is not None:
        return right
    if under is None:
        return None
    alone = all(c == label_cell for b in label_cell.rows for c in grid.in_row(b))
    same = under.col == label_cell.col and under.col_span == label_cell.col_span
    return under if alone or same else None


def char_widths(text: str) -> list[float]:
    """Estimated advance of each character in ems: wide (CJK, full-width) 1, others ½.

    >>> char_widths("天A：1")
    [1.0, 0.5, 1.0, 0.5]
    """
    return [1.0 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in text]


def split_at_rulings(lines: Sequence[OcrLine], grid: Grid) -> list[OcrLine]:
    """The lines with every line crossing a vertical ruling cut in two there.

    A line is cut where a ruling of its row band falls inside its box with text on
    both sides (at least half a line height of box, and a character, each side); the
    cut falls between the characters on either side of the ruling, their positions
    estimated along the box in proportion to their widths (``char_widths``).
    Per-character confidences are cut with the text. Lines not crossing a ruling are
    returned as the same objects.
    """
    out: list[OcrLine] = []
    for line in lines:
        out.extend(_split(line, grid))
    return out


def _split(line: OcrLine, grid: Grid) -> list[OcrLine]:
    if len(line.poly) < 4:
        return [line]
    pts = [grid.level(x, y) for x, y in line.poly[:4]]
    lx0, lx1 = min(p[0] for p in pts), max(p[0] for p in pts)
    cy = sum(p[1] for p in pts) / len(pts)
    margin = max(0.5 * line.height, 2.0)
    cuts = [x for x in grid.verticals(cy) if lx0 + margin < x < lx1 - margin]
    if not cuts:
        return [line]
    widths = char_widths(line.text)
    total = sum(widths) or 1.0
    ends = np.cumsum(widths) / total  # where each character ends, as a share of the line
    pieces: list[OcrLine] = []
    start, f0 = 0, 0.0
    for x in cuts:
        f = (x - lx0) / (lx1 - lx0)
        # Characters whose middle is left of the ruling belong to the left cell.
        k = int(np.searchsorted(ends - np.asarray(widths) / total / 2, f))
        piece = _piece(line, start, k, f0, f)
        if piece is None or not line.text[k:].strip():
            continue
        pieces.append(piece)
        start, f0 = k, f
    if not pieces:
        return [line]
    last = _piece(line, start, len(line.text), f0, 1.0)
    return [*pieces, last] if last is not None else [line]


def _piece(line: OcrLine, start: int, end: int, f0: float, f1: float) -> OcrLine | None:
    """``line.text[start:end]`` stripped, as a line over the share f0…f1 of its box."""
    text = line.text[start:end]
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    if not text:
        return None
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = line.poly[:4]

    def at(f: float) -> tuple[Point, Point]:
        return (ax + (bx - ax) * f, ay + (by - ay) * f), (dx + (cx - dx) * f, dy + (cy - dy) * f)

    (tl, bl), (tr, br) = at(f0), at(f1)
    confs = line.char_confidences
    if confs is not None and len(confs) == len(line.text):
        confs = confs[start + lead : start + lead + len(text)]
    else:
        confs = None
    return line.model_copy(
        update={"text": text, "poly": [tl, tr, br, bl], "char_confidences": confs}
    )


# --------------------------------------------------------------------------- PDF pages


def grid_from_pdf_page(pdf: bytes | PdfTables, page_no: int, zoom: float) -> Grid | None:
    """The grid of page ``page_no`` (1-based) of a PDF, in pixels of its rendering at ``zoom``.

    Parses the PDF (PyMuPDF for the drawings, pdfplumber for the page): call it
    contained (``docpipe.contain``). ``docpipe.pdfread`` does the same for every page
    it reads from its text layer, into ``OcrPage.cells``.
    """
    import pymupdf as _pymupdf

    from docpipe.pdftables import PdfTables

    mu: Any = _pymupdf  # PyMuPDF ships without annotations
    data = pdf.data if isinstance(pdf, PdfTables) else pdf
    with mu.open(stream=data, filetype="pdf") as doc:
        drawings = doc.load_page(page_no - 1).get_drawings()
    if isinstance(pdf, PdfTables):
        return grid_from_cells(pdf.cells(page_no - 1, zoom, drawings))
    with PdfTables(pdf) as reader:
        return grid_from_cells(reader.cells(page_no - 1, zoom, drawings))


def grid_from_cells(boxes: Sequence[Box] | None) -> Grid | None:
    """The grid of ``OcrPage.cells`` (``None`` or no cells: no grid)."""
    return grid_from_boxes(boxes) if boxes else None
