"""What every OCR engine returns, and the Protocol an engine adapter implements.

Engines see an upright-or-not RGB page image and return text lines with a polygon,
a confidence and, when the engine has a direction classifier, whether the line looked
upside down. Page orientation is decided from the whole page afterwards
(``docpipe.ocr.orient``), never from one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, Field

from docpipe.models import BBox

Point = tuple[float, float]


class OcrLine(BaseModel):
    """One line of text as the engine read it."""

    text: str
    # Four corners, clockwise from the top left of the text as read.
    poly: list[Point]
    confidence: float
    # True when the direction classifier found the crop upside down (before fixing it).
    flipped: bool = False
    # Per-character confidences where the engine gives them, one per character of
    # ``text`` (used for doubt, not verdicts).
    char_confidences: list[float] | None = None

    def weakest(self, start: int = 0, end: int | None = None) -> float:
        """The lowest character confidence of ``text[start:end]``; the line's without them."""
        confs = self.char_confidences
        if confs is None or len(confs) != len(self.text):
            return self.confidence
        part = [
            c
            for c, ch in zip(confs[start:end], self.text[start:end], strict=True)
            if not ch.isspace()
        ]
        return min(part, default=self.confidence)

    @property
    def bbox(self) -> BBox:
        """Axis-aligned box ``[x0, y0, x1, y1]`` around the polygon."""
        xs = [p[0] for p in self.poly]
        ys = [p[1] for p in self.poly]
        return (min(xs), min(ys), max(xs), max(ys))

    @property
    def center(self) -> Point:
        """Centre of the box."""
        x0, y0, x1, y1 = self.bbox
        return ((x0 + x1) / 2, (y0 + y1) / 2)

    @property
    def height(self) -> float:
        """Text height: the shorter side of the polygon."""
        (x0, y0), (x1, y1), _, (x3, y3) = self.poly[:4]
        w = math.dist((x0, y0), (x1, y1))
        h = math.dist((x0, y0), (x3, y3))
        return min(w, h) if w and h else max(w, h)


class OcrPage(BaseModel):
    """The lines of one page image, in the frame of ``width`` × ``height`` pixels.

    ``rotation`` is how far (degrees, counter-clockwise, multiple of 90) the decoded
    image was turned to make it upright; boxes are in the upright frame. ``skew`` is the
    small residual angle of the text lines in degrees.
    """

    width: int
    height: int
    lines: list[OcrLine] = Field(default_factory=list)
    engine: str = ""
    rotation: int = 0
    skew: float = 0.0
    source: str = Field(default="ocr", description="'ocr' or 'text-layer'")
    seconds: float = 0.0
    # Boxes (x0, y0, x1, y1, pixels of this frame) of the cells of the page's ruled
    # tables, where the reader knows them (a text-layer page, from its drawing:
    # ``docpipe.tables``); [] for a page read without a table, None when unknown.
    cells: list[tuple[float, float, float, float]] | None = None

    @property
    def text(self) -> str:
        """All lines joined, in reading order."""
        return "\n".join(line.text for line in self.lines)

    def mean_confidence(self) -> float:
        """Mean line confidence (1.0 for an empty page: nothing was doubted)."""
        if not self.lines:
            return 1.0
        return sum(line.confidence for line in self.lines) / len(self.lines)


@runtime_checkable
class OcrEngine(Protocol):
    """An OCR engine adapter: an RGB image in, lines out, in that image's pixel frame."""

    name: str

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Detect, classify direction and recognise every text line of ``image`` (H×W×3 RGB)."""
        ...


@runtime_checkable
class LineReader(Protocol):
    """An engine that recognises one cropped text line without detecting it first."""

    def recognize_line(self, image: np.ndarray) -> list[OcrLine]:
        """The text of one cropped line (H×W×3 RGB), as ``OcrLine``s in its frame."""
        ...


@runtime_checkable
class LineScorer(Protocol):
    """An engine that scores texts against one cropped line (``docpipe.ocr.ctc``)."""

    def score_line(self, image: np.ndarray, texts: Sequence[str]) -> list[float | None]:
        """Each text's support by the line; ``None`` for a text outside its alphabet."""
        ...
