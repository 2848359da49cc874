"""OCR engines behind one Protocol, loaded once per process, and a page cache.

``get_engine(name)`` returns the process-wide instance of an engine: ``rapidocr`` (the
default, models in the wheel), ``paddleocr`` (optional, local PaddlePaddle models) or a
test fake registered by a test. ``DOCPIPE_OCR_ENGINE`` chooses the default.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from docpipe.errors import ConfigError
from docpipe.ocr.base import OcrEngine, OcrLine, OcrPage

__all__ = ["ENGINE_FACTORIES", "OcrEngine", "OcrLine", "OcrPage", "get_engine", "register_engine"]

ENGINE_FACTORIES: dict[str, Callable[[], OcrEngine]] = {}
_INSTANCES: dict[str, OcrEngine] = {}
_LOCK = threading.Lock()


def register_engine(name: str, factory: Callable[[], OcrEngine]) -> None:
    """Make ``factory`` the way to build engine ``name`` (replaces a loaded instance)."""
    with _LOCK:
        ENGINE_FACTORIES[name] = factory
        _INSTANCES.pop(name, None)


def _rapid() -> OcrEngine:
    from docpipe.ocr.rapid import RapidOcrEngine

    return RapidOcrEngine()


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


register_engine("rapidocr", _rapid)
register_engine("paddleocr", _paddle)
register_engine("replay", _replay)


def default_engine_name() -> str:
    """The engine used when none is named: ``DOCPIPE_OCR_ENGINE`` or ``rapidocr``."""
    return os.environ.get("DOCPIPE_OCR_ENGINE", "rapidocr")


def get_engine(name: str | None = None) -> OcrEngine:
    """The process-wide instance of an engine, built on first use."""
    key = name or default_engine_name()
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
