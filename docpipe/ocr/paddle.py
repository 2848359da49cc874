"""PaddleOCR adapter (optional extra ``docpipe[paddle]``), for users with local models.

Nothing is downloaded: the model directories come from ``DOCPIPE_PADDLE_MODEL_DIR``,
which must hold ``det/``, ``rec/`` and optionally ``cls/`` (PaddlePaddle inference
models, as exported by PaddleOCR). Without it the engine refuses to start and says
which setting to make.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from docpipe.errors import ConfigError, OcrError
from docpipe.ocr.base import OcrLine

ENV_MODEL_DIR = "DOCPIPE_PADDLE_MODEL_DIR"


def model_dirs(root: str | None = None) -> dict[str, Path]:
    """The det/rec(/cls) model folders under the configured root, checked to exist."""
    value = root or os.environ.get(ENV_MODEL_DIR)
    if not value:
        raise ConfigError(
            f"paddleocr needs local models: set {ENV_MODEL_DIR} to a folder with det/ and rec/",
            f"paddleocr 需要本地模型：请设置 {ENV_MODEL_DIR} 为含 det/ 与 rec/ 的目录",
        )
    base = Path(value)
    dirs = {k: base / k for k in ("det", "rec", "cls")}
    missing = [k for k in ("det", "rec") if not dirs[k].is_dir()]
    if missing:
        raise ConfigError(
            f"{ENV_MODEL_DIR}={base} lacks {', '.join(missing)}/ model folder(s)",
            f"{ENV_MODEL_DIR}={base} 缺少模型目录 {', '.join(missing)}/",
        )
    if not dirs["cls"].is_dir():
        del dirs["cls"]
    return dirs


class PaddleOcrEngine:
    """PaddleOCR (PP-OCR pipeline) over local models, same output as every engine."""

    name = "paddleocr"

    def __init__(self, root: str | None = None) -> None:
        dirs = model_dirs(root)
        try:
            from paddleocr import PaddleOCR
        except ImportError as exc:
            raise ConfigError(
                "paddleocr is not installed: pip install 'docpipe[paddle]'",
                "未安装 paddleocr：请 pip install 'docpipe[paddle]'",
            ) from exc
        kwargs: dict[str, Any] = {
            "text_detection_model_dir": str(dirs["det"]),
            "text_recognition_model_dir": str(dirs["rec"]),
            "use_doc_orientation_classify": False,
            "use_doc_unwarping": False,
            "use_textline_orientation": "cls" in dirs,
        }
        if "cls" in dirs:
            kwargs["textline_orientation_model_dir"] = str(dirs["cls"])
        self._ocr = PaddleOCR(**kwargs)

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Lines of an RGB image, boxes in its pixel frame."""
        try:
            results = self._ocr.predict(np.ascontiguousarray(image[..., ::-1]))
        except Exception as exc:
            raise OcrError(f"paddleocr failed: {exc}", f"文字识别失败：{exc}") from exc
        lines: list[OcrLine] = []
        for res in results:
            angles = res.get("textline_orientation_angles") or []
            for i, (text, score, poly) in enumerate(
                zip(res["rec_texts"], res["rec_scores"], res["rec_polys"], strict=False)
            ):
                if not str(text).strip():
                    continue
                lines.append(
                    OcrLine(
                        text=str(text).strip(),
                        poly=[(float(x), float(y)) for x, y in np.asarray(poly).tolist()],
                        confidence=float(score),
                        flipped=bool(i < len(angles) and angles[i] == 1),
                    )
                )
        return lines
