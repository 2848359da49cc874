"""What an engine can do is its type: ``LineReader`` and ``LineScorer`` (docpipe.ocr.base).

A line crop goes to ``recognize_line`` of an engine that reads lines without detection;
any other engine gets ``recognize`` on the crop padded with white. Only a scorer scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from docpipe.ocr import cache as ocr_cache
from docpipe.ocr.base import LineReader, LineScorer, OcrLine
from docpipe.ocr.fake import FixedEngine, ReplayEngine
from docpipe.ocr.lines import LINE_PAD, recognize_line, score_line
from docpipe.ocr.paddle import PaddleOcrEngine
from docpipe.ocr.rapid import RapidOcrEngine

WORD = OcrLine(text="范森林", poly=[(0, 0), (90, 0), (90, 30), (0, 30)], confidence=0.9)


class SizeEngine:
    """Records the size of each image it is given to detect in."""

    name = "sizes"

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        self.sizes.append(image.shape[:2])
        return [WORD]


class LineOnly(SizeEngine):
    """Reads a line without detection, and scores every text 1.0."""

    name = "line-only"

    def recognize_line(self, image: np.ndarray) -> list[OcrLine]:
        return [WORD.model_copy(update={"text": "行"})]

    def score_line(self, image: np.ndarray, texts: Sequence[str]) -> list[float | None]:
        return [1.0 for _ in texts]


def test_engines_say_by_type_what_they_can_do() -> None:
    assert isinstance(RapidOcrEngine(), LineReader) and isinstance(RapidOcrEngine(), LineScorer)
    assert isinstance(ReplayEngine({}), LineReader) and isinstance(ReplayEngine({}), LineScorer)
    assert not isinstance(FixedEngine([]), LineReader)
    assert not hasattr(PaddleOcrEngine, "recognize_line")
    assert not issubclass(PaddleOcrEngine, LineScorer)


def test_a_line_goes_without_detection_only_to_a_line_reader() -> None:
    ocr_cache.clear_memory()
    line = np.full((30, 200, 3), 255, np.uint8)
    line[10:20, 10:190] = 0
    plain, reader = SizeEngine(), LineOnly()
    assert [ln.text for ln in recognize_line(line, plain)] == ["范森林"]
    assert plain.sizes == [(30 + 2 * LINE_PAD, 200 + 2 * LINE_PAD)]  # padded for the detector
    assert [ln.text for ln in recognize_line(line, reader)] == ["行"]
    assert reader.sizes == []  # never detected
    assert score_line(line, ["范森林"], plain) is None  # no scorer: nothing to go on
    assert score_line(line, ["范森林", "行"], reader) == [1.0, 1.0]
