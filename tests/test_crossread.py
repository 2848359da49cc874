"""A doubtful name looked at again with the other documents' readings (``docpipe.crossread``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from docpipe.compare import Check, judge
from docpipe.crossread import BORROWED_CONFIDENCE, MIN_VOTES, borrow
from docpipe.models import Code, DocKind, Document, FieldValue, Severity
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.reread import CUTS, crop_line, renderings

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
LINE = OcrLine(
    text="范森林", poly=[(100, 100), (190, 100), (190, 130), (100, 130)], confidence=0.86
)


class ScoringEngine:
    """Scores each text with ``score(text)``; counts its calls."""

    name = "scoring"

    def __init__(self, score: Callable[[str], float | None]) -> None:
        self.score = score
        self.calls = 0

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        raise AssertionError("no page is read here")

    def score_line(self, image: np.ndarray, texts: Sequence[str]) -> list[float | None]:
        self.calls += 1
        return [self.score(t) for t in texts]


@dataclass
class Page:
    """What borrow needs of a read page: its lines, its source and its pixels."""

    ocr: OcrPage

    def image(self) -> Image.Image:
        return Image.new("RGB", (self.ocr.width, self.ocr.height), "white")


def _doc(file: str, kind: DocKind, field: str, value: FieldValue | str) -> Document:
    """One document with one field (a bare string: read surely)."""
    fv = FieldValue(value=value, confidence=0.99) if isinstance(value, str) else value
    return Document(file=file, kind=kind, fields={field: fv})


def _documents(legal: FieldValue, card_name: FieldValue) -> list[Document]:
    return [
        _doc("营业执照.jpg", DocKind.business_license, "legal_representative", legal),
        _doc("法人身份证.jpg", DocKind.id_card_front, "name", card_name),
    ]


def _pages(source: str = "ocr") -> dict[tuple[str, int], Page]:
    return {
        ("营业执照.jpg", 1): Page(OcrPage(width=400, height=300, lines=[LINE], source=source)),
        ("法人身份证.jpg", 1): Page(OcrPage(width=400, height=300, source=source)),
    }


SOFT = FieldValue(value="范森林", confidence=0.86, bbox=(100, 100, 190, 130), char_confidence=0.57)
SURE_CARD = FieldValue(value="范淼林", confidence=0.995, bbox=(50, 40, 120, 60))


def test_a_doubtful_name_takes_the_sure_reading_that_fits_its_image() -> None:
    """Accuracy case-5033: the license's 淼 read 森 at 0.57; the ID card reads 范淼林 at
    0.995, and on the license's line 范淼林 scores 0.4 nats below 范森林 (the image
    cannot tell them apart)."""
    engine = ScoringEngine({"范森林": 28.9, "范淼林": 28.5}.get)
    docs = _documents(SOFT, SURE_CARD)
    changed = borrow(docs, _pages(), engine)
    got = docs[0].fields["legal_representative"]
    assert [(d.kind, f) for d, f in changed] == [(DocKind.business_license, "legal_representative")]
    assert got.value == "范淼林" and got.borrowed == "id_card_front.name"
    assert got.confidence <= BORROWED_CONFIDENCE and got.bbox == SOFT.bbox
    assert got.raw is not None and "范森林" in got.raw and "id_card_front.name" in got.raw
    assert engine.calls == MIN_VOTES  # decided once MIN_VOTES looks agree
    assert docs[1].fields["name"] == SURE_CARD  # the sure reading is left as read


@pytest.mark.parametrize(
    ("scores", "why"),
    [
        ({"范森林": 28.9, "范淼林": 12.0}, "a character the image shows plainly differs"),
        ({"范森林": 28.9, "范淼林": None}, "a character outside the recogniser's alphabet"),
    ],
    ids=["plain-difference", "unscorable"],
)
def test_a_name_the_image_does_not_support_is_not_taken(
    scores: dict[str, float | None], why: str
) -> None:
    docs = _documents(SOFT, SURE_CARD)
    assert borrow(docs, _pages(), ScoringEngine(scores.get)) == [], why
    assert docs[0].fields["legal_representative"] == SOFT


def test_a_sure_reading_gives_way_only_to_a_clearly_better_fit() -> None:
    """Accuracy case-5101: the letter's 宇 dropped under the seal at 0.99; the form's
    name, with 宇, fits the line better than the reading itself."""
    sure = SOFT.model_copy(update={"confidence": 0.99, "char_confidence": 0.95})
    as_well = ScoringEngine({"范森林": 28.9, "范淼林": 28.5}.get)
    docs = _documents(sure, SURE_CARD)
    assert borrow(docs, _pages(), as_well) == []
    better = ScoringEngine({"范森林": 28.9, "范淼林": 33.0}.get)
    assert len(borrow(docs, _pages(), better)) == 1
    assert docs[0].fields["legal_representative"].value == "范淼林"


def test_two_candidates_the_image_cannot_tell_apart_choose_nothing() -> None:
    """The operator's name is a candidate too: when both fit, neither is taken."""
    docs = _documents(SOFT, SURE_CARD)
    docs.append(
        Document(
            file="操作员身份证.jpg",
            kind=DocKind.id_card_front,
            fields={"name": FieldValue(value="范焱林", confidence=0.99)},
        )
    )
    engine = ScoringEngine({"范森林": 28.9, "范淼林": 28.5, "范焱林": 27.0}.get)
    assert borrow(docs, _pages(), engine) == []


def test_only_sure_readings_are_candidates_and_a_text_layer_is_never_looked_at() -> None:
    doubtful_card = SURE_CARD.model_copy(update={"confidence": 0.7})
    engine = ScoringEngine({"范森林": 28.9, "范淼林": 28.5}.get)
    assert borrow(_documents(SOFT, doubtful_card), _pages(), engine) == []
    assert borrow(_documents(SOFT, SURE_CARD), _pages(source="text-layer"), engine) == []
    assert engine.calls == 0


def test_a_borrowed_value_equal_to_the_filed_one_is_a_doubt_not_a_match() -> None:
    """The image could not tell the two names apart: the reviewer is told, in both
    languages, which document the value came from."""
    fv = SOFT.model_copy(update={"value": "范淼林", "borrowed": "id_card_front.name"})
    doc = Document(file="营业执照.jpg", kind=DocKind.business_license, fields={"lr": fv})
    check = Check(
        "legal_person.name", "范淼林", doc, "lr", "法定代表人", "legal rep", "执照", "license"
    )
    hit = judge(check)
    assert hit is not None and hit.code is Code.not_found and hit.severity is Severity.warning
    assert "id_card_front.name" in hit.message and "看不清" in hit.message
    # ... and a tolerance for the filed spelling does not make it a match either.
    loose = judge(check, equal=lambda a, b: True)
    assert loose is not None and loose.code is Code.not_found


def test_another_persons_name_scores_far_below_on_a_real_line(  # type: ignore[no-untyped-def]
    rapid_engine, committed_license
) -> None:
    """The premise of MARGIN, on a committed license: on the legal representative's
    line, the printed name leads a name one character off and another person's name
    by well over 10 nats in every look."""
    page, fields = committed_license
    name = fields["legal_representative"]
    line = next(ln for ln in rapid_engine.recognize(page) if name in ln.text)
    others = [line.text.replace(name, n) for n in ("皇甫哲", "欧阳娜")]
    for pad in CUTS:
        for look in renderings(crop_line(page, line, 0.0, pad)):
            own, *rest = rapid_engine.score_line(look, [line.text, *others])
            assert all(own - r > 10 for r in rest)


def test_one_name_written_two_ways_is_one_candidate() -> None:
    """Accuracy case-5075: the license reads 海瑞（义乌）…, the form 海瑞(义乌)…; the
    letter's 海瑞（义）… (乌 under the seal) takes the name, not a tie of the two."""
    soft = FieldValue(
        value="海瑞（义）贸易有限公司", confidence=0.5, bbox=(100, 100, 190, 130), raw="x"
    )
    line = LINE.model_copy(update={"text": "委托单位（盖）海瑞（义）贸易有限公司"})
    docs = [
        Document(
            file="委托书.jpg", kind=DocKind.authorization_letter, fields={"enterprise_name": soft}
        ),
        Document(
            file="营业执照.jpg",
            kind=DocKind.business_license,
            fields={"name": FieldValue(value="海瑞（义乌）贸易有限公司", confidence=0.99)},
        ),
        Document(
            file="申请书.jpg",
            kind=DocKind.application_form,
            fields={"enterprise_name": FieldValue(value="海瑞(义乌)贸易有限公司", confidence=0.99)},
        ),
    ]
    pages = {("委托书.jpg", 1): Page(OcrPage(width=400, height=300, lines=[line]))}
    scores = {
        "委托单位（盖）海瑞（义）贸易有限公司": 171.3,
        "委托单位（盖）海瑞（义乌）贸易有限公司": 172.0,
    }
    assert len(borrow(docs, pages, ScoringEngine(scores.get))) == 1
    got = docs[0].fields["enterprise_name"]
    assert got.value == "海瑞（义乌）贸易有限公司"  # in the letter's own brackets
    assert got.borrowed == "business_license.name"


CODE = "91330782558372129M"  # passes its check character
LETTER_LINE = "统一社会信用代码：91930782558272129M"


def _code_documents(letter_code: FieldValue, form_code: str) -> list[Document]:
    return [
        _doc("委托书.jpg", DocKind.authorization_letter, "credit_code", letter_code),
        _doc("申请书.jpg", DocKind.application_form, "credit_code", form_code),
    ]


def _code_pages() -> dict[tuple[str, int], Page]:
    line = LINE.model_copy(update={"text": LETTER_LINE})
    return {("委托书.jpg", 1): Page(OcrPage(width=400, height=300, lines=[line]))}


def test_a_code_that_fails_its_check_is_in_doubt_however_sure_its_characters() -> None:
    """Serif accuracy case-5075: the letter's code under the seal read 91930782558272129M
    at 0.97 (it fails its check character); the form's valid code fits the line as well."""
    read = FieldValue(value="91930782558272129M", confidence=0.97, bbox=(100, 100, 190, 130))
    scores = {LETTER_LINE: 80.0, LETTER_LINE.replace("91930782558272129M", CODE): 79.0}
    docs = _code_documents(read, CODE)
    assert len(borrow(docs, _code_pages(), ScoringEngine(scores.get))) == 1
    got = docs[0].fields["credit_code"]
    assert got.value == CODE and got.borrowed == "application_form.credit_code"


def test_a_candidate_code_that_fails_its_check_is_no_candidate() -> None:
    read = FieldValue(value="91930782558272129M", confidence=0.97, bbox=(100, 100, 190, 130))
    bad = "91330782558372129X"  # one character off CODE: its check fails
    scores = {LETTER_LINE: 80.0, LETTER_LINE.replace("91930782558272129M", bad): 79.0}
    assert borrow(_code_documents(read, bad), _code_pages(), ScoringEngine(scores.get)) == []


def test_a_valid_sure_code_stands_against_another_valid_code() -> None:
    """Verify's USCC-MATCH: one document prints another valid code. Read surely and
    passing its check, it is kept unless the other fits clearly better."""
    other = "91330782558372137G"
    assert other != CODE
    read = FieldValue(value=CODE, confidence=0.99, bbox=(100, 100, 190, 130))
    line = LETTER_LINE.replace("91930782558272129M", CODE)
    pages = {
        ("委托书.jpg", 1): Page(
            OcrPage(width=400, height=300, lines=[LINE.model_copy(update={"text": line})])
        )
    }
    scores = {line: 80.0, line.replace(CODE, other): 79.5}
    assert borrow(_code_documents(read, other), pages, ScoringEngine(scores.get)) == []


def test_a_doubtful_reading_takes_a_candidate_a_few_nats_below_it() -> None:
    """Accuracy case-5003: the form's 刘森红 (森 at 0.43); the card's 刘垚红 scores 5.6
    nats below on the form's line. Verify's injected one-character-off names read in
    doubt scored 22 or more below: those stay as read (the plain-difference case)."""
    soft = FieldValue(
        value="刘森红", confidence=0.81, bbox=(100, 100, 190, 130), char_confidence=0.43
    )
    card = FieldValue(value="刘垚红", confidence=0.98, bbox=(50, 40, 120, 60))
    docs = _documents(soft, card)
    pages = _pages()
    pages[("营业执照.jpg", 1)].ocr.lines[0] = LINE.model_copy(update={"text": "刘森红"})
    assert len(borrow(docs, pages, ScoringEngine({"刘森红": 28.8, "刘垚红": 23.2}.get))) == 1
    assert docs[0].fields["legal_representative"].value == "刘垚红"
