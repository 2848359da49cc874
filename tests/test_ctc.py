"""Scoring a text on a recognised line (``docpipe.ocr.ctc``) and the engine's scoring."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from docpipe.ocr.ctc import as_lines, from_lines, log_likelihood, scores_key, support
from docpipe.ocr.fake import ReplayEngine, score_record_key
from docpipe.ocr.lines import score_line
from docpipe.seal import read_seals, text_line, unwrap_arc


def _collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    """CTC's reading of one column path: repeats merged, then blanks (0) dropped."""
    merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
    return tuple(c for c in merged if c != 0)


@pytest.mark.parametrize("labels", [(1,), (1, 2), (1, 1), (2, 1, 2), ()], ids=str)
def test_likelihood_is_the_sum_over_every_alignment(labels: tuple[int, ...]) -> None:
    """Checked by brute force: every path of 5 columns over 3 classes, summed where
    its reading is the text."""
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(3), size=5)
    want = sum(
        math.prod(probs[t, c] for t, c in enumerate(path))
        for path in itertools.product(range(3), repeat=5)
        if _collapse(path) == labels
    )
    assert math.isclose(math.exp(log_likelihood(probs, list(labels))), want, rel_tol=1e-9)


def test_a_text_longer_than_the_columns_allow_is_impossible() -> None:
    probs = np.full((2, 3), 1 / 3)
    # 1 1 needs a blank between the two: three columns.
    assert log_likelihood(probs, [1, 1]) == -math.inf
    assert log_likelihood(probs, [1, 2]) > -math.inf


def test_support_does_not_favour_the_shorter_text_on_an_unsure_line() -> None:
    """A soft line: each column half blank, half any character. A text two characters
    longer costs two unsure columns instead of two blanks, ~ln(20000) each, in
    likelihood; the length term gives that back, and the two are close in support."""
    probs = np.full((12, 20000), 0.5 / 19999)
    probs[:, 0] = 0.5
    short, long_ = [5, 6], [5, 6, 7, 8]
    assert log_likelihood(probs, short) - log_likelihood(probs, long_) > 15
    assert abs(support(probs, short) - support(probs, long_)) < 3


def test_scores_travel_as_lines_and_back() -> None:
    texts = ["义乌市市场监督管理局", "金华市市场监督管理局", "Ⅻ"]
    lines = as_lines(texts, [12.5, -3.0, None])
    assert [ln.text for ln in lines] == texts[:2]  # an unscored text is left out
    assert from_lines(texts, lines) == [12.5, -3.0, None]
    assert scores_key(texts) != scores_key(texts[::-1])


def test_replayed_scores_come_from_their_record_and_a_missing_one_is_no_score() -> None:
    line = np.full((20, 60, 3), 255, np.uint8)
    texts = ["甲", "乙"]
    engine = ReplayEngine({score_record_key(line, texts): as_lines(texts, [1.0, -2.0])})
    assert score_line(line, texts, engine) == [1.0, -2.0]
    assert score_line(line, ["丙"], engine) is None  # no record: logged, not raised


def test_engine_scores_the_printed_name_above_its_neighbours(  # type: ignore[no-untyped-def]
    rapid_engine, committed_license
) -> None:
    """The seal of a committed license, blurred until its arc no longer reads whole:
    the printed name is still the best supported of the names it could be."""
    page, fields = committed_license
    want = fields["registration_authority"]
    soft = cv2.GaussianBlur(page, (0, 0), 2.5)
    others = ["杭州市市场监督管理局", "杭州市滨江区市场监督管理局", "宁波市北仑区市场监督管理局"]
    names = [want, *(n for n in others if n != want)]
    for seal in read_seals(soft, rapid_engine, max_seals=1):
        assert seal.score is not None
        scores = seal.score(names)
        assert scores is not None and all(s is not None for s in scores)
        assert max(range(len(names)), key=lambda i: scores[i] or -math.inf) == 0


def test_engine_reads_a_line_as_rapidocr_does(rapid_engine, committed_license) -> None:  # type: ignore[no-untyped-def]
    """``recognize_line`` decodes the columns it keeps for scoring itself: the same
    text, score and character scores as rapidocr's own recogniser."""
    from docpipe.seal import find_seals

    page, _ = committed_license
    line = text_line(unwrap_arc(page, find_seals(page)[0]))
    assert line is not None
    ours = rapid_engine.recognize_line(line)
    theirs = rapid_engine._ocr.recognize_txt([np.ascontiguousarray(line[..., ::-1])])
    assert [ln.text for ln in ours] == [t.strip() for t in theirs.txts]
    assert ours[0].confidence == pytest.approx(theirs.scores[0])
    assert ours[0].char_confidences == [round(c, 4) for c in theirs.word_results[0].confs]
