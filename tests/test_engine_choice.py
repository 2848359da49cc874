"""The OCR engine as a setting: runtimes, the fallback, lazy models, report.json's name.

``rapidocr`` runs the wheel's PP-OCRv6 ONNX files on OpenVINO when it is installed and on
onnxruntime otherwise; the choice is ``DOCPIPE_ENGINE`` / ``--engine``, the OCR cache key
names the runtime and its version, the models load on the first page not in the cache,
and report.json says which engine read the pages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from docpipe import ocr, pipeline
from docpipe.ocr import ENGINE_FACTORIES, engine_info, get_engine, rapid, register_engine, resolve
from docpipe.ocr import cache as ocr_cache
from docpipe.ocr.rapid import RapidOcrEngine
from fixtures.generate import SAMPLES_DIR, submission_dir

CASE = SAMPLES_DIR / "case-0104"


def test_rapidocr_means_onnxruntime_else_openvino(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert resolve("rapidocr") == "rapidocr-onnxruntime"  # bounded memory (rapid.RUNTIMES)
    monkeypatch.setattr(rapid, "runtime_available", lambda r: r == "openvino")
    assert resolve("rapidocr") == "rapidocr-openvino"
    assert RapidOcrEngine().runtime == "openvino"
    assert resolve("paddleocr") == "paddleocr"  # other names are themselves


def test_the_setting_names_the_default_engine(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOCPIPE_OCR_ENGINE", "replay")
    monkeypatch.setenv("DOCPIPE_ENGINE", "rapidocr-onnxruntime")
    assert ocr.default_engine_name() == "rapidocr-onnxruntime"  # the new name wins
    monkeypatch.delenv("DOCPIPE_ENGINE")
    assert ocr.default_engine_name() == "replay"  # the older name still works
    monkeypatch.delenv("DOCPIPE_OCR_ENGINE")
    assert ocr.default_engine_name() == "rapidocr"


def test_the_cache_key_names_runtime_and_versions() -> None:
    ov, ort = RapidOcrEngine(runtime="openvino"), RapidOcrEngine(runtime="onnxruntime")
    assert ov.cache_tag != ort.cache_tag
    for engine in (ov, ort):
        assert engine.versions["rapidocr"] in engine.cache_tag
        assert engine.versions[engine.runtime] in engine.cache_tag
        assert engine.runtime in engine.cache_tag
    assert not ov.loaded and not ort.loaded  # naming an engine loads nothing


def test_an_unknown_runtime_is_refused() -> None:
    from docpipe.errors import OcrError

    with pytest.raises(OcrError, match="tpu"):
        RapidOcrEngine(runtime="tpu")


def test_report_names_the_engine_even_a_fake() -> None:
    report = pipeline.review(submission_dir(CASE), engine="replay")
    assert report.engine is not None and report.engine.name == "replay"
    assert report.engine.version == report.docpipe_version
    assert json.loads(report.to_json())["engine"]["name"] == "replay"


def test_openvino_keeps_a_line_scoring_apart_from_the_next(rapid_engine) -> None:  # type: ignore[no-untyped-def]
    """OpenVINO hands out a view of its output buffer; the kept columns must be a copy."""
    engine = RapidOcrEngine(runtime="openvino")
    a = np.full((48, 320, 3), 255, np.uint8)
    a[12:36, 20:300] = 0
    b = np.full((48, 320, 3), 255, np.uint8)
    b[10:38, 40:60] = 0
    cols_a = engine._columns(a)[0].copy()
    engine._columns(b)
    kept = engine._recent[ocr_cache.image_key(a)][0]
    assert np.array_equal(kept, cols_a)
    assert sys.modules.get("openvino_telemetry") is None  # its no-op stub is used instead


@pytest.fixture
def fresh_engine():  # type: ignore[no-untyped-def]
    """A second, unloaded instance of the default engine under its own name."""
    saved = dict(ENGINE_FACTORIES)
    made: list[RapidOcrEngine] = []

    def factory() -> RapidOcrEngine:
        made.append(RapidOcrEngine())
        return made[-1]

    register_engine("rapidocr-unloaded", factory)
    yield "rapidocr-unloaded", made
    ENGINE_FACTORIES.clear()
    ENGINE_FACTORIES.update(saved)


def test_a_cached_review_never_loads_the_models(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch, rapid_engine, fresh_engine
) -> None:
    sub = tmp_path / "sub"
    shutil.copytree(submission_dir(CASE), sub)
    monkeypatch.setenv("DOCPIPE_CACHE_DIR", str(tmp_path / "cache"))
    ocr_cache.clear_memory()
    first = pipeline.review(sub, engine="rapidocr")  # the session's loaded engine
    ocr_cache.clear_memory()  # only the disk cache is left, as in a new process
    name, made = fresh_engine
    again = pipeline.review(sub, engine=name)
    engine = get_engine(name)
    assert made and not engine.loaded  # type: ignore[attr-defined]
    assert again.verdict == first.verdict
    assert [d.fields for d in again.documents] == [d.fields for d in first.documents]
    assert again.engine is not None and again.engine.runtime == engine.runtime  # type: ignore[attr-defined]
    assert engine_info(engine)["version"] == again.engine.version


PROBE = """
import sys
from docpipe.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("IMPORTED", [m for m in ("onnxruntime", "openvino", "rapidocr") if m in sys.modules])
print("CODE", code)
"""


def test_docpipe_imports_no_ocr_runtime_until_a_page_needs_it() -> None:
    """PyMuPDF's optional layout model would import onnxruntime at every start."""
    code = (
        "import sys, docpipe.cli, docpipe.pages;"
        " print(sorted(k for k, m in sys.modules.items() if m is not None))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    for module in ("onnxruntime", "openvino", "rapidocr", "pymupdf4llm"):
        assert f"'{module}'" not in out.stdout


def test_a_cached_check_process_never_imports_the_runtime(  # type: ignore[no-untyped-def]
    tmp_path: Path, rapid_engine
) -> None:
    sub = tmp_path / "sub"
    shutil.copytree(submission_dir(CASE), sub)
    env = dict(os.environ, DOCPIPE_CACHE_DIR=str(tmp_path / "cache"), DOCPIPE_ENGINE="rapidocr")
    args = [sys.executable, "-c", PROBE, "check", str(sub), "--out"]
    first = subprocess.run([*args, str(tmp_path / "a")], env=env, capture_output=True, text=True)
    assert "IMPORTED ['onnxruntime', 'rapidocr']" in first.stdout, first.stderr[-500:]  # it read
    again = subprocess.run([*args, str(tmp_path / "b")], env=env, capture_output=True, text=True)
    assert "IMPORTED []" in again.stdout, again.stderr[-500:]
    assert again.stdout.split("CODE")[-1] == first.stdout.split("CODE")[-1]
    a = json.loads((tmp_path / "a" / "report.json").read_text("utf-8"))
    b = json.loads((tmp_path / "b" / "report.json").read_text("utf-8"))
    assert {k: v for k, v in a.items() if k != "timings"} == {
        k: v for k, v in b.items() if k != "timings"
    }
    assert b["engine"]["runtime"] == "onnxruntime"


@pytest.mark.parametrize(
    ("shape", "seen"),
    [
        ((1273, 900), (1280, 896)),  # an A4 scan: as rapidocr sizes it, to the pixel
        ((630, 1000), (736, 1152)),  # a card: its shorter side still raised to 736
        ((2000, 1500), (1600, 1216)),  # a phone photo at docpipe's 2000 px: capped
        ((2000, 1414), (1600, 1120)),
    ],
)
def test_the_detector_sees_at_most_its_longest_side(  # type: ignore[no-untyped-def]
    shape, seen, monkeypatch
) -> None:
    monkeypatch.setenv("DOCPIPE_DET_MAX_SIDE", "1600")
    engine = RapidOcrEngine()
    pre = rapid._capped_preprocess(_Det(), engine.det_max_side)
    assert pre.resize(np.zeros((*shape, 3), np.uint8)).shape[:2] == seen
    assert "det1600" in engine.cache_tag


class _Det:
    """rapidocr's detector settings (config.yaml), without loading its model."""

    limit_side_len, limit_type, mean, std = 736, "min", [0.5] * 3, [0.5] * 3


def test_by_default_the_detector_sees_the_page_as_ocr_does(rapid_engine) -> None:  # type: ignore[no-untyped-def]
    from docpipe.reading import OCR_MAX_SIDE

    assert rapid.det_max_side() == OCR_MAX_SIDE  # the cap cost accuracy: off
    det = get_engine("rapidocr").load().text_det  # type: ignore[attr-defined]
    pre = det.get_preprocess()
    # rapidocr's own sizing (to multiples of 32, 62.5 rounding to 62): no cap applied
    assert pre.resize(np.zeros((1500, 2000, 3), np.uint8)).shape[:2] == (1504, 1984)


def test_openvino_models_are_compiled_with_the_shape_cache_setting(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """rapidocr's own settings would keep 5000 compiled shapes (it cannot pass the cap)."""
    from rapidocr.inference_engine.openvino import main as ov_main

    base = ov_main.CPUConfig
    asked: list[int] = []
    monkeypatch.setattr(rapid, "shape_cache", lambda: asked.append(1) or 0)
    RapidOcrEngine(runtime="openvino").load()
    assert len(asked) == 3  # det, cls and rec, each compiled once with it
    assert ov_main.CPUConfig is base  # rapidocr's class is given back after the build


def test_each_file_gives_its_memory_back(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from docpipe import memory

    assert memory.limit_arenas() and memory.give_back()  # glibc, as on every Linux worker
    given: list[int] = []
    monkeypatch.setattr(memory, "give_back", lambda: given.append(1) or True)
    report = pipeline.review(submission_dir(CASE), engine="replay")
    read = sum(1 for a in report.attachments if a.status.value == "read")
    assert read and len(given) == read


class _Releases:
    """A compiled model that counts its ``release_memory`` calls and then makes them."""

    def __init__(self, compiled: object, calls: list[str], name: str) -> None:
        self._compiled, self._calls, self._name = compiled, calls, name

    def release_memory(self) -> None:
        self._calls.append(self._name)
        self._compiled.release_memory()  # type: ignore[attr-defined]


def test_openvino_gives_its_buffers_back_around_each_page() -> None:
    """The plugin keeps buffers sized for the largest input between runs (bench/README)."""
    import cv2

    engine = RapidOcrEngine(runtime="openvino")
    engine.load()
    calls: list[str] = []
    engine._compiled = tuple(
        _Releases(c, calls, n) for c, n in zip(engine._compiled, ("det", "cls", "rec"), strict=True)
    )
    page = np.full((200, 700, 3), 255, np.uint8)
    cv2.putText(page, "DOCPIPE 2026", (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 4)
    first = engine.recognize(page)
    assert sorted(calls) == ["cls", "cls", "det", "det", "rec", "rec"]  # before and after
    again = engine.recognize(page)
    assert [ln.text for ln in first] == [ln.text for ln in again]
    assert [ln.confidence for ln in first] == [ln.confidence for ln in again]
    assert "".join(ln.text for ln in first).replace(" ", "") == "DOCPIPE2026"
    assert not RapidOcrEngine(runtime="onnxruntime")._compiled  # onnxruntime frees its own
