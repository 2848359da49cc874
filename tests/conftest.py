"""Test session set-up: replay recorded OCR unless a test asks for the real engine.

Every committed sample has its OCR recorded in ``ocr.json`` (``fixtures.record_ocr``);
the default engine of the test session replays those records, so the suite does not
run the model where the model is not under test. ``rapid_engine`` gives the real
engine, loaded once per session.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples"
SHARED = ROOT.parent / "shared"

os.environ.setdefault("DOCPIPE_OCR_ENGINE", "replay")
os.environ.setdefault("DOCPIPE_OCR_REPLAY", str(SAMPLES))


@pytest.fixture(scope="session")
def rapid_engine():  # type: ignore[no-untyped-def]
    """The real default engine, loaded once for the whole session."""
    from docpipe.ocr import get_engine

    return get_engine("rapidocr")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED


@pytest.fixture(scope="session")
def committed_license() -> tuple[np.ndarray, dict[str, Any]]:
    """Sample case-0104's license: its page (the file OCR saw: small and upright) and
    its expected fields."""
    case = SAMPLES / "case-0104"
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    fields = next(d["fields"] for d in expected["documents"] if d["kind"] == "business_license")
    page = np.asarray(Image.open(case / "submission" / "营业执照.jpg").convert("RGB"))
    return page, fields
