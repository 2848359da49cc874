"""Born-digital PDF pages: read the text layer instead of OCR.

A page whose text layer holds enough real characters is read from it: one ``OcrLine``
per PDF text line, confidence 1.0, boxes scaled to the pixels the page would be
rendered at for OCR, so evidence boxes mean the same thing on either path. Pages whose
layer is empty or junk (a scan with no OCR layer, glyphs without a Unicode map) are
rendered and OCR'd instead.

What a reader sees but the text layer does not spell out is added as lines too, so an
extractor reads both paths alike:

- tick boxes drawn as vector paths (a small square, with or without a tick inside)
  become a line ``☑`` or ``□`` at the square, which is what OCR of a scan gives at best;
- filled-in form fields (AcroForm widgets) become a line with their value, and
  check-box widgets a ``☑`` / ``□`` line, because a form typed in a PDF reader keeps the
  values there, not in the page's text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.ocr.orient import reading_order

if TYPE_CHECKING:
    from docpipe.pages import Page

log = logging.getLogger(__name__)

# A layer with fewer readable characters than this is not worth trusting over OCR.
MIN_LAYER_CHARS = 20
# A page mostly covered by an image is a scan: its few layer characters (a stamp, a
# header typed on top) say nothing about the fields in the picture.
SCAN_IMAGE_COVER = 0.6
SCAN_MAX_LAYER_CHARS = 80

TICKED = "☑"
EMPTY = "□"
# Side of a drawn tick box, in PDF points (forms print them at 6–14 pt).
_BOX_MIN, _BOX_MAX = 4.0, 20.0

Box = tuple[float, float, float, float]


def _readable(text: str) -> int:
    return sum(1 for c in text if c.isalnum() and c != "\ufffd")


def _line(text: str, box: Box, z: float) -> OcrLine:
    x0, y0, x1, y1 = (v * z for v in box)
    return OcrLine(text=text, poly=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], confidence=1.0)


def _text_lines(pdf: Any, z: float) -> list[OcrLine]:
    lines: list[OcrLine] = []
    data = pdf.get_text("dict", sort=False)
    for block in data.get("blocks", []):
        for line in block.get("lines", []):
            text = "".join(span.get("text", "") for span in line.get("spans", [])).strip()
            if not text:
                continue
            dx, dy = line.get("dir", (1.0, 0.0))
            if abs(dy) > abs(dx):
                continue  # vertical text (seal legends, margins) is not a field line
            lines.append(_line(text, tuple(line["bbox"]), z))
    return lines


def _inside(inner: Box, outer: Box, slack: float) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return (
        outer[0] - slack <= cx <= outer[2] + slack
        and outer[1] - slack <= cy <= outer[3] + slack
        and inner[2] - inner[0] <= (outer[2] - outer[0]) + 2 * slack
    )


def checkboxes(
    pdf: Any, drawings: list[dict[str, Any]] | None = None
) -> Iterator[tuple[Box, bool]]:
    """Drawn tick boxes of a page (PDF points) and whether each is ticked.

    A box is a small near-square rectangle path; it is ticked when another path (a
    tick, a cross) lies inside it, or when the square itself is filled dark (■).
    ``drawings``: the page's ``get_drawings()``, when the caller has them already.
    """
    squares: list[tuple[Box, bool]] = []
    marks: list[Box] = []
    for dr in pdf.get_drawings() if drawings is None else drawings:
        r = dr["rect"]
        box: Box = (r.x0, r.y0, r.x1, r.y1)
        kinds = [it[0] for it in dr.get("items", [])]
        w, h = r.width, r.height
        small_square = _BOX_MIN <= w <= _BOX_MAX and _BOX_MIN <= h <= _BOX_MAX
        if small_square and abs(w - h) <= 0.25 * max(w, h) and (kinds == ["re"] or kinds == ["qu"]):
            fill = dr.get("fill")
            dark = fill is not None and sum(fill) / max(len(fill), 1) < 0.4
            squares.append((box, dark))
        elif w <= _BOX_MAX and h <= _BOX_MAX and any(k in ("l", "c") for k in kinds):
            marks.append(box)
    for box, dark in squares:
        slack = 0.15 * (box[2] - box[0])
        yield box, dark or any(_inside(m, box, slack) for m in marks)


def _widget_lines(pdf: Any, z: float) -> list[OcrLine]:
    out: list[OcrLine] = []
    for wdg in pdf.widgets() or []:
        r = wdg.rect
        box: Box = (r.x0, r.y0, r.x1, r.y1)
        kind = str(getattr(wdg, "field_type_string", "")).lower()
        value = wdg.field_value
        if kind in ("checkbox", "radiobutton"):
            on = value not in (None, False, "", "Off", "off")
            out.append(_line(TICKED if on else EMPTY, box, z))
        elif isinstance(value, str) and value.strip():
            out.append(_line(value.strip(), box, z))
    return out


def _image_cover(pdf: Any) -> float:
    area = max(pdf.rect.width * pdf.rect.height, 1.0)
    best = 0.0
    for info in pdf.get_image_info():
        x0, y0, x1, y1 = info.get("bbox", (0, 0, 0, 0))
        best = max(best, max(x1 - x0, 0) * max(y1 - y0, 0) / area)
    return best


def text_layer_page(page: Page) -> OcrPage | None:
    """The page read from its PDF text layer, or ``None`` when it must be OCR'd.

    The layer is read where the PDF is parsed, in the contained child
    (``docpipe.pdfread``), and travels with the page; an image page has none.
    """
    return page.layer


def read_layer(
    pdf: Any,
    *,
    width: int,
    height: int,
    zoom: float,
    where: str,
    tables: Callable[[list[dict[str, Any]]], list[Box] | None] | None = None,
) -> OcrPage | None:
    """Read a PyMuPDF page's text layer into lines in the frame of its rendering.

    ``width`` × ``height`` is the page rendered at ``zoom``; ``where`` names the page in
    log lines. ``None`` when the layer is too thin or the page is a scan. ``tables``
    gives the page's table cells in the same frame from its drawings
    (``docpipe.pdftables.PdfTables``): its answer is ``OcrPage.cells``.
    """
    start = time.perf_counter()
    lines = _text_lines(pdf, zoom)
    try:
        lines += _widget_lines(pdf, zoom)
    except (RuntimeError, ValueError) as exc:  # a broken form dictionary: text still counts
        log.warning("%s: form fields unreadable (%s)", where, exc)
    chars = _readable("".join(ln.text for ln in lines))
    if chars < MIN_LAYER_CHARS:
        return None
    if chars < SCAN_MAX_LAYER_CHARS and _image_cover(pdf) >= SCAN_IMAGE_COVER:
        return None
    drawings = pdf.get_drawings()
    lines += [_line(TICKED if on else EMPTY, box, zoom) for box, on in checkboxes(pdf, drawings)]
    cells = tables(drawings) if tables is not None else None
    return OcrPage(
        width=width,
        height=height,
        lines=reading_order(lines),
        engine="text-layer",
        source="text-layer",
        seconds=round(time.perf_counter() - start, 4),
        cells=cells,
    )
