"""Extractors: declared with ``@extractor(kind, keywords=…)``, found by walking ``extractors``.

An extractor turns the OCR lines of one region (a page, or the part of a page one
document occupies) into the contract's fields for its kind (CONTRACT §2), each a
``FieldValue`` with confidence, box and the raw OCR text. Its keywords are the cues the
classifier weighs to decide that a region is of its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from docpipe.models import BBox, DocKind, FieldValue
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.registry import Registry, load_package

if TYPE_CHECKING:
    from docpipe.seal import SealText


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

    @property
    def text(self) -> str:
        """The region's lines joined in reading order."""
        return "\n".join(line.text for line in self.lines)


ExtractFunc = Callable[[Region], dict[str, FieldValue]]


@dataclass(frozen=True)
class ExtractorSpec:
    """A registered extractor and its classification cues."""

    kind: DocKind
    func: ExtractFunc
    keywords: Mapping[str, float]
    # Below this summed keyword weight a region is not of this kind.
    threshold: float
    # Whether the extractor reads the region's seals (``Region.seal_texts``).
    seals: bool = False


EXTRACTORS: Registry[ExtractorSpec] = Registry("extractor")


def extractor(
    kind: DocKind | str,
    *,
    keywords: Mapping[str, float],
    threshold: float = 2.0,
    seals: bool = False,
) -> Callable[[ExtractFunc], ExtractFunc]:
    """Register the extractor of one document kind with its classification keywords.

    ``seals``: the reading stage reads the arcs of the region's red seals for it.
    """

    def decorate(func: ExtractFunc) -> ExtractFunc:
        k = DocKind(kind)
        EXTRACTORS.add(k.value, ExtractorSpec(k, func, dict(keywords), threshold, seals))
        return func

    return decorate


def load_extractors() -> Registry[ExtractorSpec]:
    """Import every module of ``extractors`` once and return the filled registry."""
    load_package("extractors")
    return EXTRACTORS
