"""The real specimen card (../shared/realworld/id_card), read by the real engine.

The photo is upside down; it is also turned a quarter each way here, so the page
orientation vote, the reading order of the two address lines and the extractor are
tested together on a real card. Three OCR calls in all (about a second each).

The fields are what the card prints (SOURCES.md): its 出生 2013-05-06 disagrees with
the birth date inside the number and its check digit is wrong, which the rules, not
the reader, must report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from docpipe.classify import classify_page
from docpipe.models import DocKind
from docpipe.ocr.base import OcrEngine
from docpipe.reading import extract_region, ocr_image

SPECIMEN = Path("realworld/id_card/specimen_daiyongming_rot180.jpeg")

PRINTED = {
    "name": "代用名",
    "gender": "男",
    "ethnicity": "汉",
    "birth_date": "2013-05-06",
    "address": "湖南省长沙市开福区巡道街幸福小区居民组",
    "id_number": "430512198908131367",
}


@pytest.mark.parametrize(
    "quarter_turns",
    [0, 1, 3],
    ids=["as-photographed-upside-down", "turned-90", "turned-270"],
)
def test_specimen_front_read(shared_dir: Path, rapid_engine: OcrEngine, quarter_turns: int) -> None:
    """Every printed field of the specimen is read, the address lines in order."""
    image = np.asarray(Image.open(shared_dir / SPECIMEN).convert("RGB"))
    image = np.ascontiguousarray(np.rot90(image, k=quarter_turns))
    page = ocr_image(image, rapid_engine)
    regions = classify_page(page, SPECIMEN.name, 1)
    assert [r.kind for r in regions] == [DocKind.id_card_front]
    doc = extract_region(regions[0])
    got = {k: v.value for k, v in doc.fields.items()}
    assert got == PRINTED
    # The number is the field the review leans on: it comes with its box and OCR text.
    number = doc.fields["id_number"]
    assert number.bbox is not None and number.raw and number.confidence > 0.8
