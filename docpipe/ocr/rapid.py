"""RapidOCR adapter: PaddleOCR's PP-OCR det/cls/rec models as ONNX, shipped in the wheel.

The steps are driven one by one (detect, crop, classify direction, recognise) instead
of through ``RapidOCR.__call__`` because the per-line direction labels are needed to
decide the page orientation, and the one-call API drops them.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from docpipe import memory, package_version
from docpipe.errors import OcrError
from docpipe.ocr import ctc
from docpipe.ocr.base import OcrLine
from docpipe.ocr.cache import image_key

log = logging.getLogger(__name__)


# Lines whose recogniser columns are kept for a scoring to follow (``_columns``).
RECENT_LINES = 8


def default_threads() -> int:
    """Threads of onnxruntime for one process: the cores shared among the workers.

    ``DOCPIPE_OCR_THREADS`` overrides; ``DOCPIPE_WORKERS`` (set by ``scan --workers``)
    divides the cores so that N workers do not oversubscribe the machine.
    """
    env = os.environ.get("DOCPIPE_OCR_THREADS")
    if env:
        return max(1, int(env))
    cores = os.cpu_count() or 1
    workers = max(1, int(os.environ.get("DOCPIPE_WORKERS", "1")))
    return max(1, cores // workers)


# The runtimes rapidocr can run the same ONNX files on, in the order ``rapidocr`` picks
# the first installed. onnxruntime first, OpenVINO by name (``rapidocr-openvino``): on
# this project's 2-core machine OpenVINO read a page in 0.41 to 0.83 of onnxruntime's
# time (by the machine's load), read the accuracy benches as well, but a worker on it
# peaked at 1428 MB over 24 submissions (2306 MB before its buffers were given back
# around each page, ``_release``) against onnxruntime's 1002 to 1387 MB by run: over the 1.2 GB a
# worker may take, so not the default. What stays is about 860 MB against 480 MB, kept
# by the plugin's code for the shapes it has run (bucketing the detector's input to
# multiples of 256 px kept as much).
RUNTIMES = ("onnxruntime", "openvino")
# The model files in rapidocr's wheel (PP-OCRv6 small, the mobile direction classifier).
MODEL_FILES = {
    "det": "PP-OCRv6_det_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
}


def runtime_available(runtime: str) -> bool:
    """Whether the Python package of ``runtime`` is installed (nothing is imported)."""
    return importlib.util.find_spec(runtime) is not None


def default_runtime() -> str:
    """The first installed runtime of ``RUNTIMES``: onnxruntime, else OpenVINO."""
    return next((r for r in RUNTIMES if runtime_available(r)), RUNTIMES[-1])


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise OcrError(f"{package} is not installed", f"未安装 {package}")
    return Path(spec.origin).parent


class RapidOcrEngine:
    """The default engine, one per process (``docpipe.ocr.get_engine``).

    Its models load on the first page it reads, so a review whose pages are all cached
    never loads them.
    """

    def __init__(
        self,
        threads: int | None = None,
        min_score: float = 0.3,
        box_thresh: float | None = None,
        runtime: str | None = None,
    ) -> None:
        self.runtime = runtime or default_runtime()
        if self.runtime not in RUNTIMES:
            raise OcrError(f"unknown rapidocr runtime {self.runtime!r}")
        self.name = f"rapidocr-{self.runtime}"
        n = threads or default_threads()
        # 0.3 instead of rapidocr's 0.5: a lone character (the 男/女 of an ID card) gets a
        # weak detection score and is otherwise dropped before recognition.
        box = (
            box_thresh
            if box_thresh is not None
            else float(os.environ.get("DOCPIPE_DET_BOX_THRESH", "0.3"))
        )
        self._params: dict[str, object] = {
            "Global.log_level": "warning",
            # Low-score lines are kept (the extractors judge doubt, and a doubt must be
            # reported, not silently dropped); the cut only removes noise.
            "Global.text_score": min_score,
            "Det.box_thresh": box,
            # Per-character scores: a line's score is their mean, which one misread
            # character in a long line hardly lowers.
            "Global.return_word_box": True,
        }
        self.min_score = min_score
        self.threads = n
        self.det_max_side = det_max_side()
        self.versions = {r: package_version(r) for r in ("rapidocr", self.runtime)}
        # Part of the OCR cache key: another runtime, version or detector setting is
        # another reading (OpenVINO and onnxruntime differ on about 2 % of the lines).
        self.cache_tag = (
            f"rapidocr{self.versions['rapidocr']}-{self.runtime}{self.versions[self.runtime]}"
            f"-box{box:g}-det{self.det_max_side}-chars"
        )
        self._ocr: Any = None
        self._cls: Any = None
        # OpenVINO's compiled models, whose buffers are given back around each page.
        self._compiled: tuple[Any, ...] = ()
        self._load_lock = threading.Lock()
        self._recent: OrderedDict[str, tuple[np.ndarray, float]] = OrderedDict()
        self._lock = threading.Lock()

    def info(self) -> dict[str, str]:
        """The engine and runtime that read the pages, for report.json (not loaded for it)."""
        return {
            "name": "rapidocr",
            "version": self.versions["rapidocr"],
            "runtime": self.runtime,
            "runtime_version": self.versions[self.runtime],
            "models": ", ".join(MODEL_FILES[k] for k in ("det", "cls", "rec")),
        }

    @property
    def loaded(self) -> bool:
        """Whether the models are in memory (a review read from the cache never loads them)."""
        return self._ocr is not None

    def load(self) -> Any:
        """The rapidocr pipeline with its three models loaded (once, on first use)."""
        with self._load_lock:
            if self._ocr is None:
                self._ocr = self._build()
            return self._ocr

    def _build(self) -> Any:
        memory.limit_arenas()  # before the runtime starts its threads (docpipe.memory)
        if self.runtime == "openvino":
            _telemetry_off()
        from rapidocr import EngineType, RapidOCR

        params = dict(self._params)
        if self.runtime == "openvino":
            # OpenVINO reads the wheel's ONNX files as they are (rapidocr's own table of
            # OpenVINO models stops at PP-OCRv4 and would download them).
            models = _package_dir("rapidocr") / "models"
            kind = EngineType.OPENVINO
            for step in ("Det", "Cls", "Rec"):
                params[f"{step}.engine_type"] = kind
                params[f"{step}.model_path"] = str(models / MODEL_FILES[step.lower()])
            params["EngineConfig.openvino.inference_num_threads"] = self.threads
        else:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        ocr = RapidOCR(params=params)
        # Load the three models now, not on the first page.
        with _openvino_settings(self.runtime == "openvino"):
            det = ocr._load_det_model()  # type: ignore[no-untyped-call]
            self._cls = ocr._load_cls_model()  # type: ignore[no-untyped-call]
            rec = ocr._load_rec_model()  # type: ignore[no-untyped-call]
        if self.runtime == "openvino":
            self._compiled = tuple(
                m.session.session.get_compiled_model() for m in (det, self._cls, rec)
            )
        det.get_preprocess = partial(_capped_preprocess, det, self.det_max_side)
        logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        return ocr

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Lines of an RGB image, boxes in its pixel frame."""
        from rapidocr.utils.process_img import map_boxes_to_original

        ocr = self.load()
        start = time.perf_counter()
        self._release()  # what the last page and its second looks left allocated
        bgr = np.ascontiguousarray(image[..., ::-1])
        h, w = bgr.shape[:2]
        try:
            img, op_record = ocr.preprocess_img(bgr)
            try:
                crops, det = ocr.detect_and_crop(img, op_record)
            except Exception as exc:  # rapidocr raises its own error for "no text"
                if "empty" in str(exc):
                    return []
                raise
            cls_imgs, cls = ocr.cls_and_rotate(crops)
            rec = ocr.recognize_txt(cls_imgs)
        except Exception as exc:
            raise OcrError(f"rapidocr failed: {exc}", f"文字识别失败：{exc}") from exc
        if det.boxes is None:
            return []
        boxes = map_boxes_to_original(det.boxes, op_record, h, w)
        labels = cls.cls_res or [("0", 1.0)] * len(boxes)
        words = rec.word_results or [None] * len(boxes)
        lines = []
        for box, txt, score, (label, lscore), word in zip(
            boxes, rec.txts or (), rec.scores, labels, words, strict=False
        ):
            text = txt.strip()
            if not text or score < self.min_score:
                continue
            lines.append(
                OcrLine(
                    text=text,
                    poly=[(float(x), float(y)) for x, y in box.tolist()],
                    confidence=float(score),
                    flipped="180" in label and lscore > self._cls.cls_thresh,
                    char_confidences=_char_confidences(txt, word),
                )
            )
        self._release()
        log.debug("rapidocr: %d lines in %.2fs", len(lines), time.perf_counter() - start)
        return lines

    def _release(self) -> None:
        """Give back the buffers OpenVINO keeps for the largest input seen (a no-op else).

        OpenVINO's CPU plugin keeps each model's intermediate buffers, sized for the
        largest page or line batch so far, between runs: a worker held 1300 MB after a
        dozen submissions, 760 MB with them released before and after each page, in
        the same time (65.8 against 66.3 s). onnxruntime frees its own.
        """
        for compiled in self._compiled:
            compiled.release_memory()
        if self._compiled:
            memory.give_back()

    def recognize_line(self, image: np.ndarray) -> list[OcrLine]:
        """Recognise one already cropped text line (no detection), as one ``OcrLine``.

        The detector scales any image up to 736 px on its shorter side, so a thin strip
        (a seal's unrolled arc) would cost as much as a page through ``recognize``.
        Decoded as rapidocr decodes one image; the recogniser's columns are kept for a
        scoring of the same line (``score_line``) to follow without a second run.
        """
        rec = self.load()._load_rec_model()
        columns, ratio = self._columns(image)
        h, w = image.shape[:2]
        results, words = rec.postprocess_op(
            columns[np.newaxis], True, wh_ratio_list=[w / h], max_wh_ratio=ratio
        )
        poly = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
        return [
            OcrLine(
                text=str(t).strip(),
                poly=poly,
                confidence=float(sc),
                char_confidences=_char_confidences(str(t), word),
            )
            for (t, sc), word in zip(results, words or [None] * len(results), strict=False)
            if str(t).strip()
        ]

    def score_line(self, image: np.ndarray, texts: Sequence[str]) -> list[float | None]:
        """How well one cropped text line supports each of ``texts`` (``ctc.support``).

        ``None`` for a text with a character outside the recogniser's alphabet.
        """
        rec = self.load()._load_rec_model()
        columns, _ = self._columns(image)
        index: dict[str, int] = rec.postprocess_op.dict
        out: list[float | None] = []
        for text in texts:
            labels = [index[ch] for ch in text if ch in index]
            out.append(ctc.support(columns, labels) if len(labels) == len(text) else None)
        return out

    def _columns(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """The recogniser's per-column probabilities for a line (T x C), and its width ratio.

        The last few lines' are kept: a seal's strip is read, then scored.
        """
        key = image_key(image)
        with self._lock:
            if key in self._recent:
                return self._recent[key]
        rec = self.load()._load_rec_model()
        bgr = np.ascontiguousarray(image[..., ::-1])
        _, height, width = rec.rec_image_shape
        ratio = max(bgr.shape[1] / bgr.shape[0], width / height)
        batch = rec.resize_norm_img(bgr, ratio)[np.newaxis].astype(np.float32)
        try:
            # A copy: OpenVINO returns a view of its output buffer, overwritten by the next run.
            columns = np.array(np.asarray(rec.session(batch))[0])
        except Exception as exc:
            raise OcrError(f"rapidocr failed: {exc}", f"文字识别失败：{exc}") from exc
        with self._lock:
            self._recent[key] = (columns, ratio)
            while len(self._recent) > RECENT_LINES:
                self._recent.popitem(last=False)
        return columns, ratio


def det_max_side() -> int:
    """The longest side the detector sees (``DOCPIPE_DET_MAX_SIDE``, default 2000 px).

    rapidocr runs its detector on the whole image once its shorter side is 736 px or
    more. Above the cap the detector sees the page scaled down (the lines are still
    recognised from the page at its own size). The default equals the size docpipe
    OCRs a page at (``reading.OCR_MAX_SIDE``), so it changes nothing: at 1600 a worker's
    peak RSS fell from 1345 to 1150 MB, but 11 values more were misread on the browser
    printing (sign dates and letter names under seals, acc3: 4497 → 4486 of 4537).
    """
    return int(os.environ.get("DOCPIPE_DET_MAX_SIDE", "2000"))


def _capped_preprocess(det: Any, max_side: int) -> Any:
    """The detector preprocessing of rapidocr, its longest side capped at ``max_side``."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    class Capped(DetPreProcess):
        def resize(self, img: np.ndarray) -> np.ndarray | None:
            h, w = img.shape[:2]
            if max(h, w) * self._ratio(h, w) <= max_side:
                return super().resize(img)  # as rapidocr does it, to the pixel
            ratio = max_side / max(h, w)
            rh, rw = round(int(h * ratio) / 32) * 32, round(int(w * ratio) / 32) * 32
            if rh <= 0 or rw <= 0:
                return None
            return cv2.resize(img, (rw, rh))

        def _ratio(self, h: int, w: int) -> float:
            # rapidocr's "min" rule: a shorter side under the limit is scaled up to it.
            short = min(h, w)
            return self.limit_side_len / short if short < self.limit_side_len else 1.0

    return Capped(det.limit_side_len, det.limit_type, det.mean, det.std)


def shape_cache() -> int:
    """Compiled shapes OpenVINO's CPU plugin keeps (``DOCPIPE_OV_SHAPE_CACHE``, default 0).

    Every page and line batch has its own input shape; the plugin's default keeps 5000
    of them compiled, and a worker grew by their memory with every submission.
    """
    return int(os.environ.get("DOCPIPE_OV_SHAPE_CACHE", "0"))


_SETTINGS_LOCK = threading.Lock()


@contextmanager
def _openvino_settings(active: bool) -> Iterator[None]:
    """While rapidocr compiles its OpenVINO models, add docpipe's CPU settings to its own.

    rapidocr passes only the CPU plugin settings it knows (threads, hints, streams);
    the shape cache is not one of them. Its settings class is extended for the time of
    this build only, so the models are compiled once, with both.
    """
    if not active:
        yield
        return
    from rapidocr.inference_engine.openvino import main as ov_main

    base: Any = getattr(ov_main, "CPUConfig")  # noqa: B009 (not re-exported: mypy)

    class WithShapeCache(base):  # type: ignore[misc]
        def get_config(self) -> dict[str, Any]:
            config: dict[str, Any] = super().get_config()
            config["CPU_RUNTIME_CACHE_CAPACITY"] = str(shape_cache())
            return config

    with _SETTINGS_LOCK:
        setattr(ov_main, "CPUConfig", WithShapeCache)  # noqa: B010
        try:
            yield
        finally:
            setattr(ov_main, "CPUConfig", base)  # noqa: B010


def _telemetry_off() -> None:
    """Switch OpenVINO's telemetry off before it is imported.

    ``import openvino`` imports its model converter, which imports ``openvino_telemetry``
    (a dependency of the wheel) and falls back to its own no-op stub when that import
    fails. docpipe never converts a model, and a review must send nothing anywhere, so
    the telemetry package is made unimportable in this process: the stub is used.
    """
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]


def _char_confidences(txt: str, word: object) -> list[float] | None:
    """The recogniser's score of each character of ``txt.strip()``, when it gave them.

    rapidocr scores every decoded character (``WordInfo.confs``, one per character of
    the raw text) and reports their mean as the line's score.
    """
    confs = getattr(word, "confs", None)
    if not confs or len(confs) != len(txt):
        return None
    lead = len(txt) - len(txt.lstrip())
    n = len(txt.strip())
    return [round(float(c), 4) for c in confs[lead : lead + n]]
