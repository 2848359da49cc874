"""Extractors: declared with ``@extractor(SPEC)``, found by walking ``extractors``.

An extractor turns the OCR lines of one region (a page, or the part of a page one
document occupies) into the contract's fields for its kind (CONTRACT §2), each a
``FieldValue`` with confidence, box and the raw OCR text. Its kind's spec
(``docpipe.kinds.KindSpec``) declares the fields and the cues the classifier weighs to
decide that a region is of its kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from docpipe.kinds import KindSpec, register
from docpipe.models import BBox, DocKind, FieldValue
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.registry import Registry, load_package

if TYPE_CHECKING:
    from docpipe.seal import SealText
    from docpipe.tables import Grid

log = logging.getLogger(__name__)


@dataclass
class Region:
    """The lines of one document on one page, in the page's upright pixel frame."""

    file: str
    page: int
    lines: list[OcrLine]
    ocr: OcrPage
    bbox: BBox | None = None  # None: the whole page
    kind: DocKind = DocKind.other
    notes: list[str] = field(default_factory=list)
    # Text read along the arcs of the red seals in the region (``docpipe.seal``); filled
    # by the reading stage for the kinds whose extractor asks (``seals=True``: the
    # license's authority is printed nowhere else, the letter's seal names its
    # enterprise), empty for every other kind.
    seal_texts: Iterable[SealText] = field(default_factory=list)
    # The page's pixels in the frame of the boxes, original colours (RGB), for what text
    # does not tell (a tick in a box); None for a page read from its text layer.
    pixels: Callable[[], np.ndarray] | None = None
    # Reads a line of the page again from its pixels, reaching further right by the
    # given number of line heights (``docpipe.reread.Rereader.read``); None for a page
    # read from its text layer.
    reread: Callable[[OcrLine, float], Iterable[OcrLine]] | None = None
    # The same line read in its ringless renderings when a seal crosses it
    # (``docpipe.reread.Rereader.read_ringless``); for codes that fail their check.
    reread_ringless: Callable[[OcrLine, float], Iterable[OcrLine]] | None = None
    # What ``grid()`` found, once asked.
    _memo: dict[str, Grid | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def text(self) -> str:
        """The region's lines joined in reading order."""
        return "\n".join(line.text for line in self.lines)

    def grid(self) -> Grid | None:
        """The cells of the region's ruled table, in page pixels; ``None`` without one.

        A text-layer page's come from its drawing (``OcrPage.cells``), an OCR'd page's
        from its pixels (``docpipe.tables.grid_from_image`` over the region's box).
        Computed at the first call and kept. A grid is a help to reading: a failure to
        find one is logged and is ``None``, never the region's failure.
        """
        if "grid" not in self._memo:
            self._memo["grid"] = self._find_grid()
        return self._memo["grid"]

    def _find_grid(self) -> Grid | None:
        from docpipe.tables import grid_from_boxes, grid_from_cells, grid_from_image

        try:
            if self.ocr.cells is not None:
                if self.bbox is None:
                    return grid_from_cells(self.ocr.cells)
                x0, y0, x1, y1 = self.bbox
                inside = [
                    c
                    for c in self.ocr.cells
                    if x0 <= (c[0] + c[2]) / 2 <= x1 and y0 <= (c[1] + c[3]) / 2 <= y1
                ]
                return grid_from_cells(inside)
            if self.pixels is None:
                return None
            rgb = self.pixels()
            ox = oy = 0
            if self.bbox is not None:
                h, w = rgb.shape[:2]
                ox, oy = max(0, int(self.bbox[0])), max(0, int(self.bbox[1]))
                rgb = rgb[oy : min(h, int(self.bbox[3]) + 1), ox : min(w, int(self.bbox[2]) + 1)]
            grid = grid_from_image(rgb)
            if grid is None or not (ox or oy):
                return grid
            cells = [c.level for c in grid.cells]
            shifted = [(a + ox, b + oy, c + ox, d + oy) for a, b, c, d in cells]
            px, py = grid.pivot
            return grid_from_boxes(shifted, skew=grid.skew, pivot=(px + ox, py + oy))
        except Exception as exc:  # a help, never a failure: the cause is logged
            log.warning(
                "%s p%d: no table grid (%s: %s)", self.file, self.page, type(exc).__name__, exc
            )
            return None


ExtractFunc = Callable[[Region], dict[str, FieldValue]]


@dataclass(frozen=True)
class ExtractorSpec:
    """A registered extractor, the spec of its kind and its classification cues."""

    spec: KindSpec
    func: ExtractFunc

    @property
    def kind(self) -> DocKind:
        """The kind it reads."""
        return self.spec.kind

    @property
    def keywords(self) -> Mapping[str, float]:
        """Cue words and their weights for the classifier."""
        return self.spec.keywords

    @property
    def shapes(self) -> Mapping[str, float]:
        """The kind's value-shape cues (regexes) and their weights."""
        return self.spec.shapes

    @property
    def threshold(self) -> float:
        """Below this summed keyword weight a region is not of this kind."""
        return self.spec.threshold

    @property
    def seals(self) -> bool:
        """Whether the extractor reads the region's seals (``Region.seal_texts``)."""
        return self.spec.seals


EXTRACTORS: Registry[ExtractorSpec] = Registry("extractor")


def extractor(spec: KindSpec) -> Callable[[ExtractFunc], ExtractFunc]:
    """Register the extractor of one document kind with its kind's spec (``docpipe.kinds``)."""

    def decorate(func: ExtractFunc) -> ExtractFunc:
        EXTRACTORS.add(spec.kind.value, ExtractorSpec(spec, func))
        register(spec)
        return func

    return decorate


def load_extractors() -> Registry[ExtractorSpec]:
    """Import every module of ``extractors`` once and return the filled registry."""
    load_package("extractors")
    return EXTRACTORS
