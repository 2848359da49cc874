"""One cropped text line read or scored, without the page's detection (cached like pages).

The detector scales any image up to 736 px on its shorter side, so a thin strip (a
seal's unrolled arc, a cut of one line) would cost as much as a page. An engine that
can recognise a line without detection is a ``LineReader``; one that can score texts
against a line's recogniser columns is a ``LineScorer`` (``docpipe.ocr.base``): the
types say what an engine can do, no attribute is looked up by name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

from docpipe.errors import OcrError
from docpipe.ocr import cache as ocr_cache
from docpipe.ocr import ctc
from docpipe.ocr.base import LineReader, LineScorer, OcrEngine, OcrLine

log = logging.getLogger(__name__)

# White margin round a line given to an engine that must detect it first, pixels.
LINE_PAD = 16


def recognize_line(line: np.ndarray, engine: OcrEngine) -> list[OcrLine]:
    """OCR one cropped line of text (cached by content hash, like pages).

    A ``LineReader`` (rapidocr, replay, recording) reads it without detection; any
    other engine gets ``recognize`` on the line padded with white.
    """

    def read() -> list[OcrLine]:
        if isinstance(engine, LineReader):
            return list(engine.recognize_line(line))
        pad = (LINE_PAD,) * 4
        padded = cv2.copyMakeBorder(line, *pad, cv2.BORDER_CONSTANT, value=(255,) * 3)
        return engine.recognize(padded)

    return ocr_cache.cached(engine, line, read, kind="line")


def score_line(
    line: np.ndarray, texts: Sequence[str], engine: OcrEngine
) -> list[float | None] | None:
    """How well the cropped ``line`` supports each text (cached like readings).

    ``None`` when the engine is no ``LineScorer``, or could not score this line.
    """
    if not isinstance(engine, LineScorer):
        return None
    scorer = engine

    def read() -> list[OcrLine]:
        return ctc.as_lines(texts, scorer.score_line(line, texts))

    try:
        lines = ocr_cache.cached(engine, line, read, kind=ctc.scores_key(texts))
    except OcrError as exc:
        log.info("line not scored: %s", exc.message_en)
        return None
    return ctc.from_lines(texts, lines)
