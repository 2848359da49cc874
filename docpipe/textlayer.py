"""Born-digital PDF pages: read the text layer instead of OCR.

A page whose text layer holds enough real characters is read from it: one ``OcrLine``
per PDF text line, confidence 1.0, boxes scaled to the pixels the page would be
rendered at for OCR, so evidence boxes mean the same thing on either path. Pages whose
layer is empty or junk (a scan with no OCR layer, glyphs without a Unicode map) are
rendered and OCR'd instead.
"""

from __future__ import annotations

import time
from typing import Any

from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.ocr.orient import reading_order
from docpipe.pages import Page

# A layer with fewer readable characters than this is not worth trusting over OCR.
MIN_LAYER_CHARS = 20


def _readable(text: str) -> int:
    return sum(1 for c in text if c.isalnum() and c != "\ufffd")


def text_layer_page(page: Page) -> OcrPage | None:
    """The page read from its PDF text layer, or ``None`` when it must be OCR'd."""
    pdf: Any = page.pdf_page()
    if pdf is None:
        return None
    start = time.perf_counter()
    z = page.zoom
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
            x0, y0, x1, y1 = (v * z for v in line["bbox"])
            lines.append(
                OcrLine(
                    text=text,
                    poly=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
                    confidence=1.0,
                )
            )
    if _readable("".join(ln.text for ln in lines)) < MIN_LAYER_CHARS:
        return None
    return OcrPage(
        width=page.width,
        height=page.height,
        lines=reading_order(lines),
        engine="text-layer",
        source="text-layer",
        seconds=round(time.perf_counter() - start, 4),
    )
