"""Pages: an attachment becomes the page images OCR reads, under safety limits.

Images are decoded fully up front (a truncated file must fail here, not halfway through
OCR), turned upright by their EXIF orientation and flattened onto white. PDFs are
checked up front (encryption, page count, render budget) and rendered lazily, one page
at a time, at ``DEFAULT_DPI`` with no side over ``MAX_SIDE`` pixels.

Limits are refused before any large allocation: an image's size is read from its
header, a PDF page's from its media box.
"""

from __future__ import annotations

import io
import logging
import struct
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymupdf as _pymupdf
from PIL import Image, ImageOps

from docpipe import contain
from docpipe.budget import FILE_SECONDS
from docpipe.errors import FileTypeNotAllowed, FileUnreadable
from docpipe.intake import AttachmentFile
from docpipe.ocr.base import OcrPage

log = logging.getLogger(__name__)

# PyMuPDF ships without usable annotations; one Any-typed handle keeps mypy quiet here.
pymupdf: Any = _pymupdf

ALLOWED_EXTENSIONS: dict[str, str] = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "pdf": "pdf"}

DEFAULT_DPI = 200
MAX_SIDE = 4000
MAX_IMAGE_PIXELS = 40_000_000
#: Longest side over shortest. The OCR detector enlarges a page's short side to 736
#: pixels: a 100000 × 1 image became a gigapixel (22.7 GB). Documents and phone
#: screenshots are under 6:1; a long scrolled capture may be 10:1.
MAX_ASPECT = 16
#: Nothing bigger is decoded at all, whatever FILE-SIZE says about it.
MAX_DECODE_BYTES = 50 * 1024 * 1024

# Pillow refuses (DecompressionBombError) at twice this and warns above it; the explicit
# header check in _open_image refuses anything above it first.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# MuPDF prints repair notes to stderr, where the CLI's progress goes; failures are
# raised as exceptions and reported per file instead.
pymupdf.TOOLS.mupdf_display_errors(False)

_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


def check_type(file: AttachmentFile) -> None:
    """Raise ``FileTypeNotAllowed`` unless the extension is allowed and the bytes agree.

    The FILE-TYPE rule and ``open_pages`` share this, so a file is refused the same way
    wherever it is looked at.
    """
    expected = ALLOWED_EXTENSIONS.get(file.extension)
    found = file.detected_type
    if expected is not None and expected == found:
        return
    ext = f".{file.extension}" if file.extension else "(no extension)"
    if expected is None:
        en = f"; the content is {found}" if found else ""
        zh = f"；文件内容为 {found}" if found else ""
        raise FileTypeNotAllowed(
            f"{file.name}: type {ext} is not allowed (jpg, jpeg, png, pdf only){en}",
            f"{file.name}：不支持 {ext} 类型（仅限 jpg、jpeg、png、pdf）{zh}",
        )
    if found is None:
        raise FileTypeNotAllowed(
            f"{file.name}: the content is not a JPEG, PNG or PDF, though the extension is {ext}",
            f"{file.name}：文件内容不是 JPEG、PNG 或 PDF，与扩展名 {ext} 不符",
        )
    raise FileTypeNotAllowed(
        f"{file.name}: the content is {found}, not what the extension {ext} says",
        f"{file.name}：文件内容为 {found}，与扩展名 {ext} 不符",
    )


@dataclass
class Page:
    """One page to OCR: a decoded image, or a PDF page rendered in the contained child."""

    file: str
    number: int
    width: int
    height: int
    source: str
    zoom: float = 1.0
    _image: Image.Image | None = field(default=None, repr=False)
    #: A PDF page's text layer as the child read it (``None``: OCR the rendering).
    layer: OcrPage | None = field(default=None, repr=False)
    #: Active content of the file (scripts, attachments, a zip inside), (English, Chinese).
    active: list[tuple[str, str]] = field(default_factory=list, repr=False)
    #: The PDF's bytes, for a page rendered only when its pixels are asked for.
    _pdf: bytes | None = field(default=None, repr=False)

    def image(self) -> Image.Image:
        """Return the page as an RGB image of ``width`` × ``height`` pixels.

        A PDF page read from its text layer is rendered at the first call, contained
        like every MuPDF call (``docpipe.contain``). Raises ``FileUnreadable`` when it
        cannot be rendered. The returned image is shared: copy it before drawing on it.
        """
        if self._image is None and self._pdf is not None:
            from docpipe.pdfread import render_page

            samples = contain.run_contained(
                render_page,
                self.file,
                self._pdf,
                self.number,
                self.zoom,
                seconds=FILE_SECONDS,
                what=(f"{self.file}: page {self.number}", f"{self.file}：第 {self.number} 页"),
            )
            self._image = Image.frombytes("RGB", (self.width, self.height), samples)
        if self._image is None:
            raise FileUnreadable(f"{self.file}: page has no content", f"{self.file}：页面无内容")
        return self._image


def open_pages(file: AttachmentFile, *, deadline: float | None = None) -> list[Page]:
    """Return the pages of one attachment, after the type and safety checks.

    Raises ``FileTypeNotAllowed`` when the bytes are not what an allowed extension says,
    ``FileUnreadable`` when the file is empty, corrupt, truncated, encrypted or over a
    limit (pixels, shape, pages, render budget, drawing operations, memory), and
    ``TimeBudgetExceeded`` when a PDF is not read by ``deadline`` (``time.monotonic``;
    default ``FILE_SECONDS`` from now).
    """
    if file.size == 0:
        raise FileUnreadable(f"{file.name} is empty", f"{file.name} 是空文件")
    check_type(file)
    if file.size > MAX_DECODE_BYTES:
        mb = MAX_DECODE_BYTES // (1024 * 1024)
        raise FileUnreadable(
            f"{file.name} is over {mb} MB and is not decoded",
            f"{file.name} 超过 {mb} MB，不予解码",
        )
    data = file.read()
    if file.detected_type == "pdf":
        end = deadline if deadline is not None else time.monotonic() + FILE_SECONDS
        pages = _open_pdf(file.name, data, end)
    else:
        pages = [_open_image(file.name, data, file.detected_type or "")]
    polyglot = zip_inside(data)
    for page in pages:
        page.active = page.active + polyglot
    return pages


def zip_inside(data: bytes) -> list[tuple[str, str]]:
    """A note when the bytes are also a zip archive (a polyglot), else nothing.

    Zip readers look for the archive's directory at the end of the file, so a PDF or an
    image with a zip appended opens as both.
    """
    try:
        both = zipfile.is_zipfile(io.BytesIO(data))
    except (OSError, ValueError):
        both = False
    if not both:
        return []
    return [
        ("a zip archive inside (the file is also a zip)", "内含 zip 压缩包（该文件同时是 zip）")
    ]


# ----------------------------------------------------------------------------- images


def _open_image(name: str, data: bytes, kind: str) -> Page:
    try:
        with warnings.catch_warnings():
            # Between the limit and twice it Pillow only warns: make that a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            width, height = im.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _too_many_pixels(name, width, height)
            check_shape(name, name, width, height)
            if im.format not in ("JPEG", "MPO", "PNG"):
                raise FileTypeNotAllowed(
                    f"{name}: decoded as {im.format}, not {kind}",
                    f"{name}：解码结果为 {im.format}，不是 {kind}",
                )
            im.load()  # decode everything now: truncation and bad data fail here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileUnreadable(
            f"{name}: over the limit of {MAX_IMAGE_PIXELS // 1_000_000} megapixels ({exc})",
            f"{name}：像素超过上限 {MAX_IMAGE_PIXELS // 1_000_000} 百万像素",
        ) from exc
    except _PIL_ERRORS as exc:
        raise FileUnreadable(
            f"{name}: corrupt or truncated image ({type(exc).__name__}: {exc})",
            f"{name}：图片已损坏或不完整",
        ) from exc
    rgb = to_rgb(_upright(name, im))
    return Page(
        file=name,
        number=1,
        width=rgb.width,
        height=rgb.height,
        source="image",
        _image=rgb,
    )


def _too_many_pixels(name: str, width: int, height: int) -> FileUnreadable:
    mp = MAX_IMAGE_PIXELS // 1_000_000
    return FileUnreadable(
        f"{name}: {width} × {height} pixels is over the limit of {mp} megapixels",
        f"{name}：{width} × {height} 像素，超过 {mp} 百万像素的上限",
    )


def check_shape(en: str, zh: str, width: int, height: int) -> None:
    """Refuse a page whose OCR input would explode: a side far longer than the other.

    ``en`` / ``zh`` name the file or page in the message.

    >>> check_shape("a.png", "a.png", 1240, 1754)
    >>> check_shape("a.png", "a.png", 100000, 1)
    Traceback (most recent call last):
    ...
    docpipe.errors.FileUnreadable: a.png: 100000 × 1 pixels, an aspect ratio over the limit of 16:1
    """
    short, long = sorted((width, height))
    if long > MAX_ASPECT * max(short, 1):
        raise FileUnreadable(
            f"{en}: {width} × {height} pixels, an aspect ratio over the limit of {MAX_ASPECT}:1",
            f"{zh}：{width} × {height} 像素，长宽比超过 {MAX_ASPECT}:1 的上限",
        )


def _upright(name: str, im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block leaves the image as it is."""
    try:
        return ImageOps.exif_transpose(im)
    except (*_PIL_ERRORS, KeyError, TypeError) as exc:
        log.warning("%s: EXIF orientation ignored (%s: %s)", name, type(exc).__name__, exc)
        return im


def to_rgb(im: Image.Image) -> Image.Image:
    """RGB with any transparency composited on white (dark text on clear stays readable)."""
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        # 16-bit grey: Pillow's convert clips to 255 (all white); scale to 8 bits instead.
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I") else max(float(arr.max()), 1.0)
        grey = np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if not has_alpha:
        return im if im.mode == "RGB" else im.convert("RGB")
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    return white.convert("RGB")


# ------------------------------------------------------------------------------- PDFs


def render_zoom(width_pt: float, height_pt: float, dpi: int = DEFAULT_DPI) -> float:
    """Zoom factor from PDF points at ``dpi``, lowered so no side exceeds ``MAX_SIDE``.

    >>> render_zoom(595, 842) == 200 / 72
    True
    >>> round(render_zoom(5000, 1000) * 5000)
    4000
    """
    zoom = dpi / 72.0
    longest = max(width_pt, height_pt, 1.0)
    if longest * zoom > MAX_SIDE:
        zoom = MAX_SIDE / longest
    return zoom


def _open_pdf(name: str, data: bytes, deadline: float) -> list[Page]:
    """Every page of a PDF, read and rendered in a contained child (``docpipe.pdfread``)."""
    from docpipe.pdfread import read_pdf

    got = contain.run_contained(
        read_pdf, name, data, seconds=deadline - time.monotonic(), what=(name, name)
    )
    if got.repaired:
        log.info("%s: PDF was repaired by MuPDF", name)
    return [
        Page(
            file=name,
            number=p.number,
            width=p.width,
            height=p.height,
            source="pdf",
            zoom=p.zoom,
            _image=None
            if p.samples is None
            else Image.frombytes("RGB", (p.width, p.height), p.samples),
            layer=p.layer,
            active=got.active,
            _pdf=data if p.samples is None else None,
        )
        for p in got.pages
    ]
