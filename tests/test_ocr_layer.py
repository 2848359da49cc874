"""The OCR layer: engines behind one Protocol, loaded once, cached by content, faults.

Fault injection goes through fake engines (crash, empty, low confidence, garbled): a
failing page never stops the review of the other attachments.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from docpipe import errors, pipeline
from docpipe.ocr import ENGINE_FACTORIES, get_engine, register_engine
from docpipe.ocr import cache as ocr_cache
from docpipe.ocr.base import OcrEngine, OcrLine
from docpipe.ocr.fake import (
    CrashEngine,
    EmptyEngine,
    FixedEngine,
    GarbleEngine,
    ReplayEngine,
    ScaledConfidenceEngine,
)
from docpipe.ocr.orient import make_upright, turn_image
from docpipe.ocr.paddle import ENV_MODEL_DIR, model_dirs
from docpipe.ocr.rapid import default_threads
from fixtures.generate import SAMPLES_DIR, submission_dir

CASE = SAMPLES_DIR / "case-0104"


def line(text: str, x: float, y: float, w: float = 200, h: float = 24, **kw: object) -> OcrLine:
    return OcrLine(
        text=text, poly=[(x, y), (x + w, y), (x + w, y + h), (x, y + h)], confidence=0.99, **kw
    )


class Counting:
    """An engine that counts its calls."""

    name = "counting"
    cache_tag = "counting-test"  # a real engine names its configuration; fakes do not

    def __init__(self) -> None:
        self.calls = 0

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        self.calls += 1
        return [line("营业执照", 10, 10)]


@pytest.fixture
def engine_slot():  # type: ignore[no-untyped-def]
    """Register test engines under a name and restore the registry afterwards."""
    saved = dict(ENGINE_FACTORIES)
    names: list[str] = []

    def use(name: str, engine: OcrEngine) -> str:
        register_engine(name, lambda: engine)
        names.append(name)
        return name

    yield use
    for name in names:
        ENGINE_FACTORIES.pop(name, None)
    ENGINE_FACTORIES.update(saved)


def test_engine_is_built_once_per_process(engine_slot) -> None:  # type: ignore[no-untyped-def]
    built: list[int] = []

    def factory() -> OcrEngine:
        built.append(1)
        return EmptyEngine()

    register_engine("once", factory)
    try:
        assert get_engine("once") is get_engine("once")
        assert len(built) == 1
    finally:
        ENGINE_FACTORIES.pop("once")


def test_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(errors.ConfigError, match="no-such-engine"):
        get_engine("no-such-engine")


def test_a_page_is_ocrd_once_thanks_to_the_content_cache(engine_slot) -> None:  # type: ignore[no-untyped-def]
    from docpipe.reading import ocr_image

    counting = Counting()
    ocr_cache.clear_memory()
    img = np.full((40, 60, 3), 255, dtype=np.uint8)
    first = ocr_image(img, counting)
    again = ocr_image(img.copy(), counting)
    assert counting.calls == 1 and first.lines[0].text == again.lines[0].text == "营业执照"
    other = img.copy()
    other[0, 0] = 0
    ocr_image(other, counting)
    assert counting.calls == 2


def test_fakes_are_never_cached_so_tests_cannot_leak_into_each_other() -> None:
    from docpipe.reading import ocr_image

    ocr_cache.clear_memory()
    img = np.full((20, 30, 3), 255, dtype=np.uint8)
    first = ocr_image(img, FixedEngine([line("名称", 0, 0)]))
    second = ocr_image(img, FixedEngine([line("住所", 0, 0)]))
    assert (first.lines[0].text, second.lines[0].text) == ("名称", "住所")


def test_disk_cache_survives_the_process_memory(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOCPIPE_CACHE_DIR", str(tmp_path))
    ocr_cache.put("ab" + "0" * 62, [line("名称", 0, 0)])
    ocr_cache.clear_memory()
    got = ocr_cache.get("ab" + "0" * 62)
    assert got is not None and got[0].text == "名称"
    assert list(tmp_path.rglob("*.json"))


def test_crashing_engine_fails_its_files_and_the_review_goes_on(
    tmp_path: Path,
    engine_slot,  # type: ignore[no-untyped-def]
) -> None:
    sub = tmp_path / "sub"
    shutil.copytree(submission_dir(CASE), sub)
    report = pipeline.review(sub, engine=engine_slot("crash", CrashEngine()))
    by_file = {a.file: a for a in report.attachments}
    # The born-digital form is read from its text layer; every OCR'd file failed alone.
    assert by_file["申请书.pdf"].status == "read"
    unreadable = [a for a in report.attachments if a.status == "unreadable"]
    assert unreadable and all("崩溃" in (a.note or "") for a in unreadable)
    # Not the applicant's fault: each unread file goes to a person (warning), not a reject.
    for a in unreadable:
        (f,) = [f for f in report.findings if f.field == f"file:{a.file}"]
        assert (f.rule, f.code, f.severity) == ("FILE-READ", "not_found", "warning")


def test_empty_engine_reads_nothing_and_says_so(tmp_path: Path, engine_slot) -> None:  # type: ignore[no-untyped-def]
    report = pipeline.review(submission_dir(CASE), engine=engine_slot("empty", EmptyEngine()))
    ocr_docs = [d for d in report.documents if d.file != "申请书.pdf"]
    assert ocr_docs and all(d.kind == "other" and not d.fields for d in ocr_docs)


def test_low_confidence_and_garble_wrappers_change_what_the_inner_engine_says() -> None:
    inner = FixedEngine([line("O1B8", 0, 0)])
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    assert ScaledConfidenceEngine(inner, 0.5).recognize(img)[0].confidence == pytest.approx(0.495)
    assert GarbleEngine(inner).recognize(img)[0].text == "0l8B"


def test_replay_engine_is_loud_about_an_unrecorded_image() -> None:
    engine = ReplayEngine.from_files(CASE / "ocr.json")
    with pytest.raises(errors.OcrError, match="no recorded OCR"):
        engine.recognize(np.zeros((3, 3, 3), dtype=np.uint8))


@pytest.mark.parametrize("turn", [0, 90, 180, 270], ids=lambda t: f"rot{t}")
def test_page_rotation_is_decided_from_all_lines(turn: int) -> None:
    # An upright page of three long lines, as the engine would report it after the
    # page was turned by ``turn`` degrees counter-clockwise.
    w, h = 600, 400
    upright = [
        line(t, 50, 60 + 80 * i, 400, 30)
        for i, t in enumerate(["甲乙丙丁戊", "己庚辛", "壬癸子丑"])
    ]
    img = np.zeros((h, w, 3), dtype=np.uint8)
    turned_img = turn_image(img, turn)
    th, tw = turned_img.shape[:2]
    from docpipe.ocr.orient import rotate_point

    lines = []
    for ln in upright:
        pts = [rotate_point(p, turn, w, h) for p in ln.poly]
        # The engine marks a crop flipped when the text runs right-to-left or bottom-up.
        lines.append(ln.model_copy(update={"poly": pts, "flipped": turn in (90, 180)}))
    page, rotation = make_upright(lines, tw, th)
    assert (rotation + turn) % 360 == 0
    assert (page.width, page.height) == (w, h)
    assert [ln.text for ln in page.lines] == ["甲乙丙丁戊", "己庚辛", "壬癸子丑"]
    assert page.lines[0].bbox == pytest.approx(upright[0].bbox)


def test_threads_are_divided_among_workers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DOCPIPE_OCR_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    monkeypatch.setenv("DOCPIPE_WORKERS", "4")
    assert default_threads() == 2
    monkeypatch.setenv("DOCPIPE_OCR_THREADS", "3")
    assert default_threads() == 3


def test_paddle_without_models_names_the_setting(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(ENV_MODEL_DIR, raising=False)
    with pytest.raises(errors.ConfigError, match=ENV_MODEL_DIR):
        model_dirs()
    (tmp_path / "rec").mkdir()
    with pytest.raises(errors.ConfigError, match="det"):
        model_dirs(str(tmp_path))
    (tmp_path / "det").mkdir()
    assert set(model_dirs(str(tmp_path))) == {"det", "rec"}


def test_paddle_engine_refuses_to_start_without_models(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(ENV_MODEL_DIR, raising=False)
    with pytest.raises(errors.ConfigError):
        get_engine("paddleocr")


@pytest.mark.parametrize(
    ("exc", "exit_code", "http"),
    [
        (errors.InputError, 2, 422),
        (errors.SubmissionNotFound, 2, 404),
        (errors.SubmissionJsonError, 2, 422),
        (errors.ZipSafetyError, 2, 422),
        (errors.FileTypeNotAllowed, 2, 422),
        (errors.FileUnreadable, 2, 422),
        (errors.OcrError, 2, 500),
        (errors.ConfigError, 2, 500),
        (errors.LimitExceeded, 2, 413),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_every_error_has_an_exit_code_and_http_status(
    exc: type[errors.DocpipeError], exit_code: int, http: int
) -> None:
    err = exc("english", "中文")
    assert isinstance(err, errors.DocpipeError)
    assert (int(err.exit_code), err.http_status) == (exit_code, http)
    assert err.message == "中文 / english"


def test_decoded_rgba_image_reaches_the_engine_white_not_black(engine_slot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seen: list[np.ndarray] = []

    class Spy:
        name = "spy"

        def recognize(self, image: np.ndarray) -> list[OcrLine]:
            seen.append(image)
            return []

    sub = tmp_path / "s"
    sub.mkdir()
    (sub / "submission.json").write_text("{}", encoding="utf-8")
    Image.new("RGBA", (50, 30), (0, 0, 0, 0)).save(sub / "t.png")
    pipeline.review(sub, engine=engine_slot("spy", Spy()))
    assert seen and seen[0].mean() > 250


def test_the_disk_cache_is_private_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page text is personal data: cache folders 0700, files 0600, even under umask 022."""
    import os
    import stat

    from docpipe.ocr.base import OcrLine

    monkeypatch.setenv("DOCPIPE_CACHE_DIR", str(tmp_path / "cache"))
    old = os.umask(0o022)
    try:
        line = OcrLine(text="张三", poly=[(0, 0), (1, 0), (1, 1), (0, 1)], confidence=0.9)
        ocr_cache.put("ab" + "0" * 62, [line])
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    folders = [tmp_path / "cache", *(p for p in (tmp_path / "cache").rglob("*") if p.is_dir())]
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert {stat.S_IMODE(p.stat().st_mode) for p in folders} == {0o700}
