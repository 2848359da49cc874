"""Test session set-up: replay recorded OCR unless a test asks for the real engine.

Every committed sample has its OCR recorded in ``ocr.json`` (``fixtures.record_ocr``);
the default engine of the test session replays those records, so the suite does not
run the model where the model is not under test. ``rapid_engine`` gives the real
engine, loaded once per session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
