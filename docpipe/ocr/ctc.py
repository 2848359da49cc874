"""How well a recognised line supports a given text: the CTC likelihood of that text.

The recogniser (PP-OCR's CTC head) gives, for each of T columns of a line image, a
probability over its alphabet and a blank. Page OCR keeps only the likeliest character
of each column; here the probability of one named text is summed over every alignment
that spells it (the CTC forward algorithm, in log space). Comparing the texts a field
can take (a license's registration authority: the market regulators its credit code's
division allows) by what the image says of each is a choice the image supports, not
a correction: a text the columns do not hold scores low, however plausible it is.

Texts of different lengths are compared fairly by ``support``: the log-likelihood plus
``len(text) * ln(alphabet size)`` — how much more likely the image makes the text than
a text of its length drawn uniformly from the alphabet (Bayes with a uniform prior).
Without it a shorter text always wins on a soft image, where every column is unsure.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from docpipe.ocr.base import OcrLine

BLANK = 0
# Probabilities are floored before the log: a column that gives a character exactly 0
# must cost a lot, not be impossible (the text is scored, not ruled out).
FLOOR = 1e-30


def log_likelihood(probs: np.ndarray, labels: Sequence[int]) -> float:
    """Ln P(labels | image) under CTC, for per-column probabilities ``probs`` (T x C).

    Column class ``BLANK`` (0) is the blank. ``-inf`` when the text needs more columns
    than the image has.

    >>> p = np.array([[0.6, 0.4], [0.5, 0.5]])  # two columns, blank and one character
    >>> round(math.exp(log_likelihood(p, [1])), 4)  # a1, 1a, 11: .6*.5 + .4*.5 + .4*.5
    0.7
    """
    if not labels:
        return float(np.log(np.maximum(probs[:, BLANK], FLOOR)).sum())
    # The label sequence with blanks between and around: b l1 b l2 b ... ln b.
    ext = np.full(2 * len(labels) + 1, BLANK, dtype=np.int64)
    ext[1::2] = labels
    # A step of two states is allowed onto a character unlike the one two states back.
    skip = np.zeros(ext.size, dtype=bool)
    skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])
    logp = np.log(np.maximum(probs[:, ext], FLOOR))
    alpha = np.full(ext.size, -np.inf)
    alpha[:2] = logp[0, :2]
    for t in range(1, probs.shape[0]):
        nxt = alpha.copy()
        nxt[1:] = np.logaddexp(nxt[1:], alpha[:-1])
        nxt[2:] = np.where(skip[2:], np.logaddexp(nxt[2:], alpha[:-2]), nxt[2:])
        alpha = nxt + logp[t]
    return float(np.logaddexp(alpha[-1], alpha[-2]))


def support(probs: np.ndarray, labels: Sequence[int]) -> float:
    """``log_likelihood`` plus ``len(labels) * ln(C)``: comparable across text lengths."""
    return log_likelihood(probs, labels) + len(labels) * math.log(probs.shape[1])


def scores_key(texts: Sequence[str]) -> str:
    """The cache and replay key suffix of a scoring of ``texts`` (any order is another)."""
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    return f"score-{digest}"


def as_lines(texts: Sequence[str], scores: Sequence[float | None]) -> list[OcrLine]:
    """Scores kept as lines (the OCR cache and ``ocr.json`` hold lines): text, score.

    A text that could not be scored is left out.
    """
    return [
        OcrLine(text=text, poly=[], confidence=score)
        for text, score in zip(texts, scores, strict=True)
        if score is not None
    ]


def from_lines(texts: Sequence[str], lines: Sequence[OcrLine]) -> list[float | None]:
    """The scores of ``texts`` from lines written by ``as_lines`` (``None`` where absent)."""
    got = {line.text: line.confidence for line in lines}
    return [got.get(text) for text in texts]
