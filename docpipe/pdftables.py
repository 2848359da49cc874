"""Table cells of a born-digital PDF page: pdfplumber's table finder over its rulings.

The rulings are PyMuPDF's drawings of the page (the same reading that finds tick
boxes, ``docpipe.textlayer``), given to pdfplumber as explicit edges: pdfplumber snaps,
joins and intersects them into cells. Its own reading of the page (``lines`` strategy)
would parse the untrusted content a second time in pure Python, 0.1-0.6 s for a form
page where the whole text layer takes 0.05 s, and in its own frame; explicit edges
cost milliseconds and the cells are in the text layer's frame, rotated or cropped
pages included. Runs inside the contained child (``docpipe.pdfread.read_pdf``); the
boxes travel back in ``OcrPage.cells`` and become a ``docpipe.tables.Grid``.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence
from typing import Any

from docpipe.tables import Box

log = logging.getLogger(__name__)

#: A page is given to pdfplumber only with at least this many ruling segments of each
#: direction (a rectangle counts two of each).
MIN_RULINGS = 3
#: A ruling is at least this long (PDF points); tick boxes and underlined glyphs are not.
RULING_MIN_PT = 24.0
#: A segment this thin (points) across is a ruling drawn as a filled rectangle.
RULING_MAX_PT = 2.0
#: A page of more paths than this (a map, a chart) is not asked for tables, and a file
#: stops asking once it has spent ``TABLE_SECONDS``.
TABLE_MAX_PATHS = 3000
TABLE_SECONDS = 4.0

Edge = dict[str, Any]


def _edge(x0: float, y0: float, x1: float, y1: float) -> Edge | None:
    """The edge (as pdfplumber has them) of an axis-aligned segment or thin bar, or ``None``."""
    w, h = abs(x1 - x0), abs(y1 - y0)
    if w >= RULING_MIN_PT and h <= RULING_MAX_PT:
        y = (y0 + y1) / 2
        x0, x1 = min(x0, x1), max(x0, x1)
        return {
            "x0": x0,
            "x1": x1,
            "top": y,
            "bottom": y,
            "width": x1 - x0,
            "height": 0.0,
            "doctop": y,
            "orientation": "h",
            "object_type": "line_edge",
        }
    if h >= RULING_MIN_PT and w <= RULING_MAX_PT:
        x = (x0 + x1) / 2
        y0, y1 = min(y0, y1), max(y0, y1)
        return {
            "x0": x,
            "x1": x,
            "top": y0,
            "bottom": y1,
            "width": 0.0,
            "height": y1 - y0,
            "doctop": y0,
            "orientation": "v",
            "object_type": "line_edge",
        }
    return None


def ruling_edges(drawings: Sequence[dict[str, Any]]) -> list[Edge]:
    """The ruling segments of PyMuPDF drawings (``page.get_drawings()``), as pdfplumber edges.

    Lines (``l``), rectangles (``re``: its four sides, or one ruling when it is a thin
    bar) and axis-aligned quads (``qu``) count; curves and slanted lines do not. The
    boxes are in PyMuPDF's page frame, the text layer's.
    """
    out: list[Edge | None] = []
    for dr in drawings:
        for item in dr.get("items", []):
            kind = item[0]
            if kind == "l":
                out.append(_edge(item[1].x, item[1].y, item[2].x, item[2].y))
                continue
            if kind == "re":
                r = item[1]
            elif kind == "qu" and item[1].is_rectangular:
                r = item[1].rect
            else:
                continue
            bar = _edge(r.x0, r.y0, r.x1, r.y1)
            if bar is not None or min(r.width, r.height) <= RULING_MAX_PT:
                out.append(bar)
                continue
            out += [
                _edge(r.x0, r.y0, r.x1, r.y0),
                _edge(r.x0, r.y1, r.x1, r.y1),
                _edge(r.x0, r.y0, r.x0, r.y1),
                _edge(r.x1, r.y0, r.x1, r.y1),
            ]
    return [e for e in out if e is not None]


def has_rulings(drawings: Sequence[dict[str, Any]]) -> bool:
    """Whether PyMuPDF drawings hold enough ruling lines of each direction for a table.

    A page of more than ``TABLE_MAX_PATHS`` paths (a map, a chart) is not asked about.
    """
    if len(drawings) > TABLE_MAX_PATHS:
        return False
    edges = ruling_edges(drawings)
    flat = sum(1 for e in edges if e["orientation"] == "h")
    return flat >= MIN_RULINGS and len(edges) - flat >= MIN_RULINGS


class PdfTables:
    """pdfplumber's table finder over the pages of one PDF, opened at the first that asks.

    pdfplumber still opens the document (its page object carries the tables): use it
    only inside the contained child (``docpipe.pdfread.read_pdf``), as a context
    manager or with ``close``.
    """

    def __init__(self, data: bytes, where: str = "") -> None:
        """Remember the bytes; nothing is parsed yet."""
        self.data = data
        self._where = where
        self._pdf: Any = None
        self._spent = 0.0

    def __enter__(self) -> PdfTables:
        """Return this reader."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the reader."""
        self.close()

    def close(self) -> None:
        """Close pdfplumber's document, if it was opened."""
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None

    def cells(
        self, index: int, zoom: float, drawings: Sequence[dict[str, Any]]
    ) -> list[Box] | None:
        """Table cells of page ``index`` (0-based) in pixels of its rendering at ``zoom``.

        ``drawings``: the page's ``get_drawings()``. ``[]``: no table; ``None``: not known
        (over the budgets, or pdfplumber failed: the cause is logged, and the page is
        read without cells).
        """
        if self._spent >= TABLE_SECONDS or not has_rulings(drawings):
            return None if self._spent >= TABLE_SECONDS else []
        start = time.perf_counter()
        try:
            return self._cells(index, zoom, ruling_edges(drawings))
        except Exception as exc:  # pdfminer raises many types on a broken file; page goes on
            log.warning(
                "%s p%d: table cells unreadable (%s: %s)",
                self._where,
                index + 1,
                type(exc).__name__,
                exc,
            )
            return None
        finally:
            self._spent += time.perf_counter() - start

    def _cells(self, index: int, zoom: float, edges: list[Edge]) -> list[Box]:
        import pdfplumber

        if self._pdf is None:
            self._pdf = pdfplumber.open(io.BytesIO(self.data))
        page = self._pdf.pages[index]
        settings = {
            "vertical_strategy": "explicit",
            "horizontal_strategy": "explicit",
            "explicit_vertical_lines": [e for e in edges if e["orientation"] == "v"],
            "explicit_horizontal_lines": [e for e in edges if e["orientation"] == "h"],
        }
        out: list[Box] = []
        for table in page.find_tables(settings):
            cells = [c for c in table.cells if c is not None]
            if len(cells) >= 2:
                out += [(x0 * zoom, y0 * zoom, x1 * zoom, y1 * zoom) for x0, y0, x1, y1 in cells]
        return out
