"""Engines for tests: replay cached output, or fail in the ways real engines fail.

``ReplayEngine`` answers from an ``ocr.json`` cache keyed by the image's content hash, so
extractor and rule tests run without the model. The others inject faults: a crash, an
empty page, low confidence, garbled text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from docpipe.errors import OcrError
from docpipe.ocr import ctc
from docpipe.ocr.base import OcrEngine, OcrLine
from docpipe.ocr.cache import image_key

#: Key suffix of a recorded line recognition (no detection), e.g. a seal's arc.
LINE_SUFFIX = ":line"


class ReplayEngine:
    """Returns the lines recorded for an image; a missing image is a loud error."""

    name = "replay"

    def __init__(self, records: dict[str, list[OcrLine]]) -> None:
        self.records = records

    @classmethod
    def from_files(cls, *paths: Path) -> ReplayEngine:
        """Load one or more ``ocr.json`` files (``{image_key: [line, ...]}``)."""
        records: dict[str, list[OcrLine]] = {}
        for path in paths:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            for key, lines in data.items():
                records[key] = [OcrLine.model_validate(x) for x in lines]
        return cls(records)

    def recognize_line(self, image: np.ndarray) -> list[OcrLine]:
        """The recorded recognition of this exact cropped line (see ``LINE_SUFFIX``)."""
        return self._lookup(image_key(image) + LINE_SUFFIX)

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """The recorded lines of this exact image."""
        return self._lookup(image_key(image))

    def score_line(self, image: np.ndarray, texts: Sequence[str]) -> list[float | None]:
        """The recorded scores of these texts on this exact cropped line."""
        return ctc.from_lines(texts, self._lookup(score_record_key(image, texts)))

    def _lookup(self, key: str) -> list[OcrLine]:
        if key not in self.records:
            raise OcrError(f"no recorded OCR for image {key[:12]}; regenerate ocr.json")
        return [line.model_copy() for line in self.records[key]]


def score_record_key(image: np.ndarray, texts: Sequence[str]) -> str:
    """The ``ocr.json`` key of a scoring of ``texts`` on one cropped line."""
    return f"{image_key(image)}:{ctc.scores_key(texts)}"


class FixedEngine:
    """The same lines for every image."""

    name = "fixed"

    def __init__(self, lines: list[OcrLine]) -> None:
        self.lines = lines

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """A copy of the fixed lines."""
        return [line.model_copy() for line in self.lines]


class CrashEngine:
    """Fails on every page, as an engine that ran out of memory would."""

    name = "crash"

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Raise ``OcrError``."""
        raise OcrError("engine crashed (injected)", "文字识别引擎崩溃（测试注入）")


class EmptyEngine:
    """Sees no text at all."""

    name = "empty"

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """No lines."""
        return []


class ScaledConfidenceEngine:
    """Wraps an engine and multiplies every confidence (a blurry page, simulated)."""

    name = "low-confidence"

    def __init__(self, inner: OcrEngine, factor: float = 0.5) -> None:
        self.inner = inner
        self.factor = factor

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """The inner engine's lines with lowered confidence."""
        return [
            ln.model_copy(update={"confidence": ln.confidence * self.factor})
            for ln in self.inner.recognize(image)
        ]


class GarbleEngine:
    """Wraps an engine and swaps look-alike characters in every line (0↔O, 1↔l, 8↔B)."""

    name = "garble"
    _SWAP = str.maketrans("0O1l8B", "O0l1B8")

    def __init__(self, inner: OcrEngine) -> None:
        self.inner = inner

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """The inner engine's lines, garbled."""
        return [
            ln.model_copy(update={"text": ln.text.translate(self._SWAP)})
            for ln in self.inner.recognize(image)
        ]
