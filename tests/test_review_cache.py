"""The review cache: the same submission reviewed again is read from disk, whole.

Keyed by the attachments' bytes, the filed values, the reference date, docpipe's code
and settings and the engine's configuration; only complete reviews are kept; a report
read from it still has its evidence crops.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from docpipe import pipeline, reviewcache
from docpipe.errors import TimeBudgetExceeded
from docpipe.ocr import ENGINE_FACTORIES, register_engine
from docpipe.ocr.base import OcrLine
from docpipe.ocr.fake import ReplayEngine
from docpipe.report import render_html
from fixtures.generate import SAMPLES_DIR, submission_dir

CASE = SAMPLES_DIR / "case-0104"


class NamedReplay(ReplayEngine):
    """Recorded OCR that names its configuration, as a real engine does."""

    name = "named-replay"
    cache_tag = "named-replay-1"

    def __init__(self, records: dict[str, list[OcrLine]]) -> None:
        super().__init__(records)
        self.pages = 0

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        self.pages += 1
        return super().recognize(image)


@pytest.fixture
def named(monkeypatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The sample's recorded OCR under a named engine, a private cache, a copy of the case."""
    engine = NamedReplay(ReplayEngine.from_files(CASE / "ocr.json").records)
    saved = dict(ENGINE_FACTORIES)
    register_engine(engine.name, lambda: engine)
    monkeypatch.setenv("DOCPIPE_CACHE_DIR", str(tmp_path / "cache"))
    sub = tmp_path / "sub"
    shutil.copytree(submission_dir(CASE), sub)
    yield engine, sub
    ENGINE_FACTORIES.clear()
    ENGINE_FACTORIES.update(saved)


def _crops(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('src="data:image')[1:]]


def test_the_same_submission_again_is_read_from_the_cache_with_its_crops(named) -> None:  # type: ignore[no-untyped-def]
    engine, sub = named
    first = pipeline.run(sub, engine=engine.name)
    assert not first.from_cache and "read" in first.timings and engine.pages > 0
    again = pipeline.run(sub, engine=engine.name)
    assert again.from_cache and "read" not in again.timings and "cache" in again.timings
    assert first.report is not None and again.report is not None
    assert again.report.model_dump(exclude={"timings"}) == first.report.model_dump(
        exclude={"timings"}
    )
    crops = _crops(render_html(first.report, first.report_pages()))
    assert crops  # the sample's report shows evidence
    assert _crops(render_html(again.report, again.report_pages())) == crops


def test_other_bytes_or_another_day_is_another_review(named) -> None:  # type: ignore[no-untyped-def]
    import datetime

    engine, sub = named
    pipeline.run(sub, engine=engine.name)
    other_day = pipeline.run(sub, engine=engine.name, reference_date=datetime.date(2030, 1, 1))
    assert not other_day.from_cache
    letter = next(p for p in sub.iterdir() if p.suffix == ".jpg")
    letter.write_bytes(letter.read_bytes() + b"\0")  # one byte more: another file
    assert not pipeline.run(sub, engine=engine.name).from_cache


def test_another_code_is_another_review(named, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine, sub = named
    pipeline.run(sub, engine=engine.name)
    assert pipeline.run(sub, engine=engine.name).from_cache
    monkeypatch.setattr(reviewcache, "code_fingerprint", lambda: "an edited extractor")
    assert not pipeline.run(sub, engine=engine.name).from_cache


def test_a_review_that_ran_out_of_time_is_not_kept(named, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine, sub = named
    real = pipeline.reading.read_documents

    def late(pages, *, errors, **kw):  # type: ignore[no-untyped-def]
        docs = real(pages, errors=errors, **kw)
        errors[next(iter(pages))] = TimeBudgetExceeded("late", "超时")
        return docs

    monkeypatch.setattr(pipeline.reading, "read_documents", late)
    pipeline.run(sub, engine=engine.name)
    monkeypatch.setattr(pipeline.reading, "read_documents", real)
    assert not pipeline.run(sub, engine=engine.name).from_cache


def test_fakes_and_no_cache_dir_keep_nothing(named, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, sub = named
    pipeline.run(sub, engine="replay")  # no cache_tag: its readings are no configuration's
    assert not pipeline.run(sub, engine="replay").from_cache
    monkeypatch.delenv("DOCPIPE_CACHE_DIR")
    engine, _ = named
    pipeline.run(sub, engine=engine.name)
    assert not pipeline.run(sub, engine=engine.name).from_cache


def test_a_damaged_entry_is_a_miss(named) -> None:  # type: ignore[no-untyped-def]
    engine, sub = named
    first = pipeline.run(sub, engine=engine.name)
    assert first.cache_key is not None
    base = reviewcache.cache_dir()
    assert base is not None
    entry = base / first.cache_key[:2] / f"{first.cache_key}.json"
    entry.write_text("{not json", "utf-8")
    again = pipeline.run(sub, engine=engine.name)
    assert not again.from_cache and again.report is not None
    assert again.report.verdict == first.report.verdict  # type: ignore[union-attr]


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_stored_page_is_cut_in_the_frame_ocr_saw(rotation: int) -> None:
    """Downscaled and turned as the reading did, so a cached report's boxes still fit."""
    import io

    from PIL import Image

    from docpipe.intake import AttachmentFile
    from docpipe.ocr.base import OcrPage
    from docpipe.pages import open_pages
    from docpipe.reading import ReadPage, downscale

    rng = np.random.default_rng(rotation)
    pixels = rng.integers(0, 255, (1200, 2400, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    file = AttachmentFile.from_bytes("页.png", buf.getvalue())
    page = open_pages(file)[0]
    small, scale = downscale(page.image())
    w, h = small.size if rotation in (0, 180) else small.size[::-1]
    read = ReadPage(page, OcrPage(width=w, height=h, rotation=rotation), scale)
    frame = reviewcache.PageFrame("页.png", 1, scale, rotation, w, h)
    stored = reviewcache.StoredPage(frame, file)
    assert scale < 1 and stored.image().size == (w, h)
    assert np.array_equal(np.asarray(stored.image()), np.asarray(read.image()))
