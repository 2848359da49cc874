"""OCR engines behind one Protocol, one instance per process, and a page cache.

``get_engine(name)`` returns the process-wide instance of an engine:

- ``rapidocr-openvino``, ``rapidocr-onnxruntime``: PP-OCRv6 from rapidocr's wheel on
  either runtime; ``rapidocr`` is onnxruntime, or OpenVINO where only it is installed
  (``docpipe.ocr.rapid.RUNTIMES`` says why);
- ``paddleocr`` (optional, local PaddlePaddle models), ``replay`` (recorded output) or a
  test fake registered by a test.

The setting ``DOCPIPE_ENGINE`` (``--engine`` on the command line) chooses the default;
``DOCPIPE_OCR_ENGINE`` is its older name. ``engine_info`` names the engine for the report.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from docpipe.errors import ConfigError
from docpipe.ocr.base import OcrEngine, OcrLine, OcrPage

__all__ = [
    "ENGINE_FACTORIES",
    "OcrEngine",
    "OcrLine",
    "OcrPage",
    "engine_info",
    "get_engine",
    "register_engine",
    "resolve",
]

ENGINE_FACTORIES: dict[str, Callable[[], OcrEngine]] = {}
_INSTANCES: dict[str, OcrEngine] = {}
_LOCK = threading.Lock()


def register_engine(name: str, factory: Callable[[], OcrEngine]) -> None:
    """Make ``factory`` the way to build engine ``name`` (replaces a loaded instance)."""
    with _LOCK:
        ENGINE_FACTORIES[name] = factory
        _INSTANCES.pop(name, None)


def _rapid(runtime: str) -> Callable[[], OcrEngine]:
    def build() -> OcrEngine:
        from docpipe.ocr.rapid import RapidOcrEngine

        return RapidOcrEngine(runtime=runtime)

    return build


def _paddle() -> OcrEngine:
    from docpipe.ocr.paddle import PaddleOcrEngine

    return PaddleOcrEngine()


def _replay() -> OcrEngine:
    """Recorded output (``ocr.json`` files) named by ``DOCPIPE_OCR_REPLAY``: tests, demos."""
    from pathlib import Path

    from docpipe.ocr.fake import ReplayEngine

    value = os.environ.get("DOCPIPE_OCR_REPLAY", "")
    files: list[Path] = []
    for part in filter(None, value.split(os.pathsep)):
        p = Path(part)
        files.extend(sorted(p.rglob("ocr.json")) if p.is_dir() else [p])
    if not files:
        raise ConfigError(
            "the replay engine needs DOCPIPE_OCR_REPLAY: ocr.json files or folders holding them",
            "回放引擎需要 DOCPIPE_OCR_REPLAY：ocr.json 文件或包含它们的目录",
        )
    return ReplayEngine.from_files(*files)


register_engine("rapidocr-openvino", _rapid("openvino"))
register_engine("rapidocr-onnxruntime", _rapid("onnxruntime"))
register_engine("paddleocr", _paddle)
register_engine("replay", _replay)


def default_engine_name() -> str:
    """The engine used when none is named.

    ``DOCPIPE_ENGINE`` (or its older name ``DOCPIPE_OCR_ENGINE``), else ``rapidocr``.
    """
    return os.environ.get("DOCPIPE_ENGINE") or os.environ.get("DOCPIPE_OCR_ENGINE") or "rapidocr"


def resolve(name: str | None = None) -> str:
    """The registered engine a name means: ``rapidocr`` is the first installed runtime."""
    key = name or default_engine_name()
    if key == "rapidocr":
        from docpipe.ocr.rapid import default_runtime

        return f"rapidocr-{default_runtime()}"
    return key


def get_engine(name: str | None = None) -> OcrEngine:
    """The process-wide instance of an engine, built on first use.

    A real engine's models load on the first page it reads (``RapidOcrEngine.load``).
    """
    key = resolve(name)
    with _LOCK:
        if key not in _INSTANCES:
            factory = ENGINE_FACTORIES.get(key)
            if factory is None:
                known = ", ".join(sorted(ENGINE_FACTORIES))
                raise ConfigError(
                    f"unknown OCR engine {key!r}; known: {known}",
                    f"未知的文字识别引擎 {key!r}；可用：{known}",
                )
            _INSTANCES[key] = factory()
        return _INSTANCES[key]


def engine_info(engine: OcrEngine) -> dict[str, str]:
    """``{"name", "version", ...}`` of an engine for report.json (CONTRACT §3).

    Real engines say their library, runtime and models (``info()``); the others are
    named by what they are, at docpipe's version.
    """
    info = getattr(engine, "info", None)
    if callable(info):
        return dict(info())
    from docpipe import package_version

    return {"name": engine.name, "version": package_version()}
