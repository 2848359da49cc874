"""Degradations: deterministic by seed, visible, decodable, turning pages as they say; no OCR."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf as _pymupdf
import pytest
from PIL import Image, ImageOps

from fixtures import degrade, render
from fixtures._draw import encode_jpeg
from fixtures.generate import generate_case, main, submission_dir

pymupdf: Any = _pymupdf  # untyped library, as in docpipe.pages
BACK = {"issuing_authority": "永康市公安局", "valid_from": "2015-03-02", "valid_to": "长期"}


@pytest.fixture(scope="module")
def page() -> Image.Image:
    """A small asymmetric page: an ID card back, so every turn is tellable."""
    data = render.render_id_side(BACK, random.Random(3), back=True)
    img = Image.open(io.BytesIO(data)).convert("RGB")
    return img.resize((img.width // 2, img.height // 2))


def _arr(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("name", degrade.PRESETS, ids=str)
def test_preset_is_deterministic_changes_the_page_and_stays_decodable(
    name: str, page: Image.Image
) -> None:
    a, b = degrade.preset(name, 7)(page), degrade.preset(name, 7)(page)
    assert a.size == b.size and np.array_equal(_arr(a), _arr(b))
    if a.size == page.size:
        assert np.abs(_arr(a) - _arr(page)).mean() > 0.5
    data = encode_jpeg(a, 80)
    back = Image.open(io.BytesIO(data))
    back.load()
    assert back.format == "JPEG" and back.size == a.size


@pytest.mark.parametrize("op", sorted(degrade.OPS), ids=str)
def test_other_seed_draws_other_parameters_or_pixels(op: str, page: Image.Image) -> None:
    s1 = degrade.step(op, random.Random(1), 0.8)
    s2 = degrade.step(op, random.Random(2), 0.8)
    assert s1.describe() != s2.describe() or s1.seed != s2.seed
    if op in ("quarter", "exif", "jpeg") and s1.describe() == s2.describe():
        return  # nothing random in the pixels of these
    if s1.describe() == s2.describe():
        assert not np.array_equal(_arr(s1(page)), _arr(s2(page)))


@pytest.mark.parametrize("turn", [90, 180, 270], ids=lambda t: f"rot{t}")
def test_quarter_turn_is_undone_by_turning_counter_clockwise(turn: int, page: Image.Image) -> None:
    chain = degrade.preset(f"rotate{turn}")
    out = chain(page)
    assert chain.rotation == turn
    # docpipe's OcrPage.rotation: the counter-clockwise turn that makes the page upright.
    upright = np.rot90(np.asarray(out), k=turn // 90)
    assert upright.shape == np.asarray(page).shape
    assert np.array_equal(upright, np.asarray(page))


@pytest.mark.parametrize("turn", [90, 180, 270], ids=lambda t: f"exif{t}")
def test_exif_variant_stores_turned_pixels_that_transpose_back(
    turn: int, page: Image.Image
) -> None:
    data = encode_jpeg(page, 90, degrade.preset(f"exif{turn}"))
    stored = Image.open(io.BytesIO(data))
    assert stored.getexif()[0x0112] == degrade.EXIF_ORIENTATION[turn]
    if turn != 180:
        assert stored.size == (page.height, page.width)
    shown = ImageOps.exif_transpose(stored)
    assert shown.size == page.size
    assert np.abs(_arr(shown) - _arr(page)).mean() < 4  # JPEG loss only
    assert np.abs(_arr(stored.convert("RGB").resize(page.size)) - _arr(page)).mean() > 10


def test_small_rotation_and_perspective_put_the_page_on_a_desk(page: Image.Image) -> None:
    rot = degrade.preset("rotate_small", 2)
    angle = rot.steps[0].params["angle"]
    assert 1 <= abs(angle) <= 8
    out = rot(page)
    assert out.width > page.width and out.height > page.height  # corners show the desk
    corner = np.asarray(out)[:3, :3].astype(float)
    assert np.abs(corner - 255).mean() > 30  # not white: the desk, not blank fill
    photo = degrade.phone_photo(page, 1)
    assert photo.size == (4000, 3000)


def test_random_degradation_is_deterministic_and_pdf_safe() -> None:
    chains = [degrade.random_degradation(random.Random(s), 0.7) for s in range(60)]
    again = [degrade.random_degradation(random.Random(s), 0.7) for s in range(60)]
    assert [c.describe() for c in chains] == [c.describe() for c in again]
    ops = {s.op for c in chains for s in c.steps}
    assert {"rotate", "perspective", "quarter", "exif", "blur", "jpeg", "noise"} <= ops
    assert not ops & {"photocopy", "screen"}  # copies are not noise on an original
    for s in range(60):
        pdf_chain = degrade.random_degradation(random.Random(s), 0.7, pdf=True)
        assert all(st.op != "exif" for st in pdf_chain.steps)
    assert all(1 <= len(c.steps) <= 4 for c in chains if c.steps)


def test_scan_pdf_has_no_text_layer() -> None:
    form = render.form_pdf(
        {
            "enterprise_name": "永康市天佳工贸有限公司",
            "credit_code": "91330784MA2DBQ3T0H",
            "application_type": "change_operator",
            "operator_name": "张三",
            "sign_date": "2025-01-15",
        },
        random.Random(1),
    )
    scanned = degrade.scan_pdf(form, degrade.preset("blur"))
    with pymupdf.open(stream=scanned, filetype="pdf") as doc:
        assert doc.page_count == 1
        assert doc[0].get_text().strip() == ""
        assert len(doc[0].get_images()) == 1


def test_generator_records_what_it_degraded(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--count", "2", "--seed", "300", "--degrade", "1"]) == 0
    for case in sorted(tmp_path.iterdir()):
        exp = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        files = {d["file"] for d in exp["documents"]}
        assert set(exp["degradations"]) == files  # share 1: every attachment
        for name, d in exp["degradations"].items():
            assert 0 <= d["level"] <= 1 and all(s["op"] in degrade.OPS for s in d["steps"])
            assert (submission_dir(case) / name).is_file()
        assert "Degraded attachments" in (case / "PROVENANCE.md").read_text(encoding="utf-8")


def test_degraded_case_keeps_the_truth_and_clean_case_is_unchanged(tmp_path: Path) -> None:
    clean = generate_case(301, tmp_path / "clean")
    again = generate_case(301, tmp_path / "again")
    half = generate_case(301, tmp_path / "half", degrade_share=0.5)
    exp_clean = json.loads((clean / "expected.json").read_text(encoding="utf-8"))
    exp_half = json.loads((half / "expected.json").read_text(encoding="utf-8"))
    assert "degradations" not in exp_clean
    assert exp_half["documents"] == exp_clean["documents"]  # ground truth unchanged
    assert (submission_dir(half) / "submission.json").read_bytes() == (
        submission_dir(clean) / "submission.json"
    ).read_bytes()
    for name in {d["file"] for d in exp_clean["documents"]}:
        if name.endswith(".pdf"):
            continue  # PDF bytes carry a random file id; their pages are compared elsewhere
        same = (submission_dir(half) / name).read_bytes() == (
            submission_dir(clean) / name
        ).read_bytes()
        assert same == (name not in exp_half["degradations"]), name
        assert (submission_dir(again) / name).read_bytes() == (
            submission_dir(clean) / name
        ).read_bytes()
