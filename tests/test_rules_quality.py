"""FILE-QUALITY on the samples' pages, on degraded copies of them and on built documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter
from test_rules_forms import SAMPLES, FakeOcr, FakePage, doc, filed, findings_of, fv, one, run

from validators.quality import BLUR_BELOW, sharpness

RULE = "FILE-QUALITY"


@pytest.mark.parametrize("case", sorted(p.name for p in SAMPLES.glob("case-*")))
def test_samples_are_legible(case: str) -> None:
    assert findings_of(SAMPLES / case / "submission", RULE) == []


def test_low_confidence_key_field() -> None:
    card = doc("id_card_front", "id.jpg", name=fv("蔡娜", 0.7), id_number=fv("370202197906096686"))
    f = one(run(filed(), [card], RULE), RULE, "low_quality", "warning", "file:id.jpg")
    assert "name (0.70)" in f.message and "id.jpg" in f.message
    assert f.evidence[0].file == "id.jpg"


def test_a_key_field_a_little_under_the_comparisons_doubt_is_legible() -> None:
    """An ID number read at 0.89 (bench/verify.py --seed 9000, case-9099, clean): legible."""
    card = doc("id_card_front", "id.jpg", name=fv("蔡娜"), id_number=fv("370202197906096686", 0.89))
    assert run(filed(), [card], RULE) == []


def test_seal_over_letter_name_is_not_a_quality_problem() -> None:
    letter = doc(
        "authorization_letter",
        "l.jpg",
        enterprise_name=fv("x", 0.5),
        agent_name=fv("蔡娜"),
        agent_id_number=fv("370202197906096686"),
    )
    assert run(filed(), [letter], RULE) == []


def _sample_page() -> Image.Image:
    path = SAMPLES / "case-0104" / "submission" / "营业执照.jpg"
    return Image.open(path).convert("RGB")


def test_blurred_page() -> None:
    blurred = _sample_page().filter(ImageFilter.GaussianBlur(3))
    assert sharpness(_sample_page()) > 10 * BLUR_BELOW  # the sharp sample is far away
    pages = {("lic.jpg", 1): FakePage(blurred)}
    f = one(
        run(filed(), [doc("business_license", "lic.jpg")], RULE, pages=pages),
        RULE,
        "low_quality",
        "warning",
        "file:lic.jpg",
    )
    assert "模糊" in f.message and "blurred" in f.message


def test_small_page() -> None:
    small = _sample_page().resize((420, 297))
    pages = {("lic.jpg", 1): FakePage(small)}
    f = one(
        run(filed(), [doc("business_license", "lic.jpg")], RULE, pages=pages),
        RULE,
        "low_quality",
        "warning",
        "file:lic.jpg",
    )
    assert "297 px" in f.message


def test_card_photo_has_its_own_size_limit() -> None:
    card = Image.open(SAMPLES / "case-0104" / "submission" / "法人身份证正面.jpg").convert("RGB")
    pages = {("id.jpg", 1): FakePage(card.resize((500, 315)))}
    assert run(filed(), [doc("id_card_front", "id.jpg")], RULE, pages=pages) == []
    pages = {("id.jpg", 1): FakePage(card.resize((400, 252)))}
    assert len(run(filed(), [doc("id_card_front", "id.jpg")], RULE, pages=pages)) == 1


def test_page_without_text() -> None:
    pages = {("x.jpg", 1): FakePage(_sample_page(), ocr=FakeOcr(lines=[object()]))}
    f = one(
        run(filed(), [doc("other", "x.jpg")], RULE, pages=pages),
        RULE,
        "low_quality",
        "warning",
        "file:x.jpg",
    )
    assert "almost no text" in f.message


def test_text_layer_page_has_no_pixel_checks() -> None:
    blank = Image.fromarray(np.full((300, 200, 3), 255, np.uint8))
    pages = {("f.pdf", 1): FakePage(blank, ocr=FakeOcr(source="text-layer"))}
    assert run(filed(), [doc("application_form", "f.pdf")], RULE, pages=pages) == []


def test_blurred_sample_copy(tmp_path: Path) -> None:
    """The sample's pages as the pipeline read them, the license swapped for a blurred one.

    (A blurred file would have no recorded OCR to replay, so the pixels are swapped
    after reading.) Only that file is flagged.
    """
    from test_rules_forms import sample_copy

    from docpipe.pipeline import STAGES, Review
    from docpipe.rules import RuleContext, run_rules

    rv = Review(path=sample_copy(tmp_path, "case-0104"))
    for _, stage in STAGES[:3]:
        stage(rv)
    rp = rv.read_pages[("营业执照.jpg", 1)]
    pages: dict[tuple[str, int], Any] = dict(rv.read_pages)
    pages[("营业执照.jpg", 1)] = FakePage(rp.image().filter(ImageFilter.GaussianBlur(4)))
    assert rv.intake is not None
    ctx = RuleContext(
        reference_date=rv.reference_date,
        submission=rv.intake.submission,
        files=rv.intake.files,
        documents=rv.documents,
        pages=pages,
    )
    found = run_rules(ctx, only=[RULE])
    assert [f.field for f in found] == ["file:营业执照.jpg"]


def test_cards_cut_from_a_page_are_measured_by_their_card_not_their_text() -> None:
    """verify seed 6800, case-6866: both sides side by side on a clean 1440 px page, each
    card about 400 px high; the union of a card's text spans 294 px of that. The card is
    large enough; a card whose text spans 200 px (a card about 267 px high) is not."""
    card = Image.open(SAMPLES / "case-0104" / "submission" / "法人身份证正面.jpg").convert("RGB")
    page = card.resize((1440, 1017))

    def sides(text_side: int) -> list[Any]:
        regions = [(100, 300, 700, 300 + text_side), (760, 300, 1360, 300 + text_side)]
        return [
            doc("id_card_front", "id.jpg").model_copy(update={"region": regions[0]}),
            doc("id_card_back", "id.jpg").model_copy(update={"region": regions[1]}),
        ]

    pages = {("id.jpg", 1): FakePage(page)}
    assert run(filed(), sides(294), RULE, pages=pages) == []
    (f,) = run(filed(), sides(200), RULE, pages=pages)
    assert "too few pixels" in f.message
