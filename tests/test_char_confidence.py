"""A misread character in a long line: per-character scores make it a doubt, not a verdict.

rapidocr scores a line by the mean of its characters' scores, so 欧阳垫 read for 欧阳垚
with the wrong character at 0.41 still scores 0.8+ as a line: without the characters'
scores the rules would call it a confident mismatch.
"""

from __future__ import annotations

import pytest

from docpipe.compare import CHAR_DOUBT_BELOW, DOUBT_BELOW, Check, Outcome, judge, outcome
from docpipe.layout import Label, read_fields
from docpipe.models import Code, DocKind, Document, FieldValue, Severity
from docpipe.ocr.base import OcrLine
from docpipe.ocr.rapid import _char_confidences


def _line(text: str, x: float, confs: list[float] | None, conf: float = 0.97) -> OcrLine:
    w = 30 * len(text)
    return OcrLine(
        text=text,
        poly=[(x, 100), (x + w, 100), (x + w, 130), (x, 130)],
        confidence=conf,
        char_confidences=confs,
    )


def test_weakest_character_of_a_piece_skips_spaces() -> None:
    ln = _line("姓名 欧阳垫", 0, [1.0, 1.0, 0.2, 0.99, 0.98, 0.41])
    assert ln.weakest() == 0.41  # the space's 0.2 is not a character's
    assert ln.weakest(3) == 0.41
    assert ln.weakest(0, 2) == 1.0
    # Without scores, or with scores not one per character, the line's confidence.
    assert _line("欧阳垫", 0, None).weakest() == 0.97
    assert _line("欧阳垫", 0, [0.1, 0.2]).weakest() == 0.97


def test_a_label_value_carries_its_weakest_character() -> None:
    lines = [_line("姓名", 0, [1.0, 1.0]), _line("欧阳垫", 100, [0.99, 0.98, 0.41], conf=0.79)]
    hit = read_fields(lines, [Label("name", ("姓名",))])["name"]
    fv = hit.value()
    assert fv.value == "欧阳垫" and fv.char_confidence == 0.41
    # The label's own characters do not count.
    lines = [_line("姓名欧阳垚", 0, [0.3, 1.0, 0.99, 0.98, 0.97])]
    assert read_fields(lines, [Label("name", ("姓名",))])["name"].value().char_confidence == 0.97


def _doc(fv: FieldValue) -> Document:
    return Document(file="id.jpg", kind=DocKind.id_card_front, fields={"name": fv})


def _check(filed: str, fv: FieldValue) -> Check:
    return Check(
        "legal_person.name", filed, _doc(fv), "name", "姓名", "name", "身份证", "the ID card"
    )


def test_a_weak_character_makes_a_difference_a_doubt() -> None:
    weak = FieldValue(value="欧阳垫", confidence=0.97, char_confidence=0.41)
    assert weak.confidence >= DOUBT_BELOW and weak.char_confidence < CHAR_DOUBT_BELOW  # type: ignore[operator]
    assert outcome("欧阳垚", weak, "name") is Outcome.doubtful
    hit = judge(_check("欧阳垚", weak))
    assert hit is not None and hit.code is Code.not_found and hit.severity is Severity.warning
    assert "0.41" in hit.message
    # Equal is equal, however weak; strong characters keep a difference a mismatch.
    assert outcome("欧阳垫", weak, "name") is Outcome.equal
    strong = FieldValue(value="欧阳垫", confidence=0.97, char_confidence=0.95)
    hit = judge(_check("欧阳垚", strong))
    assert hit is not None and hit.code is Code.mismatch


@pytest.mark.parametrize(
    ("txt", "confs", "want"),
    [
        (" 欧阳垫", [0.5, 0.99, 0.98, 0.41], [0.99, 0.98, 0.41]),
        ("欧阳垫 ", [0.99, 0.98, 0.41, 0.3], [0.99, 0.98, 0.41]),
        ("欧阳垫", [0.99, 0.98], None),  # not one per character: not used
        ("欧阳垫", None, None),
    ],
    ids=["leading-space", "trailing-space", "misaligned", "none"],
)
def test_rapidocr_scores_are_aligned_with_the_stripped_text(
    txt: str, confs: list[float] | None, want: list[float] | None
) -> None:
    class Word:
        def __init__(self, c: list[float] | None) -> None:
            self.confs = c

    assert _char_confidences(txt, Word(confs)) == want


def test_a_weak_character_does_not_make_another_value_a_doubt() -> None:
    """Sample case-0104's letter: 杭州市宏华工贸有限公司 read with a character at 0.71 against
    温州市远大电器有限公司 filed: another enterprise, a mismatch."""
    weak = FieldValue(value="杭州市宏华工贸有限公司", confidence=0.98, char_confidence=0.71)
    assert outcome("温州市远大电器有限公司", weak) is Outcome.different
    assert outcome("杭州市宏华工贸有限公", weak) is Outcome.doubtful  # one character apart
