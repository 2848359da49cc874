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
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymupdf as _pymupdf
from PIL import Image, ImageOps

from docpipe.errors import FileTypeNotAllowed, FileUnreadable
from docpipe.intake import AttachmentFile

log = logging.getLogger(__name__)

# PyMuPDF ships without usable annotations; one Any-typed handle keeps mypy quiet here.
pymupdf: Any = _pymupdf

ALLOWED_EXTENSIONS: dict[str, str] = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "pdf": "pdf"}

DEFAULT_DPI = 200
MAX_SIDE = 4000
MAX_IMAGE_PIXELS = 40_000_000
MAX_PDF_PAGES = 20
#: Sum of the rendered pixels of all pages of one PDF.
RENDER_BUDGET_PIXELS = 120_000_000
#: An image embedded in a PDF page (high-resolution scans are legitimate; bombs are not).
MAX_EMBEDDED_IMAGE_PIXELS = 100_000_000
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
class _PdfSource:
    """One PDF shared by its pages; opened again lazily (e.g. in a worker process)."""

    data: bytes
    _doc: Any = field(default=None, repr=False)

    def doc(self) -> Any:
        if self._doc is None:
            self._doc = pymupdf.open(stream=self.data, filetype="pdf")
        return self._doc


@dataclass
class Page:
    """One page to OCR: a decoded image, or a PDF page rendered on demand."""

    file: str
    number: int
    width: int
    height: int
    source: str
    zoom: float = 1.0
    _image: Image.Image | None = field(default=None, repr=False)
    _pdf: _PdfSource | None = field(default=None, repr=False)

    def pdf_page(self) -> Any | None:
        """The PyMuPDF page of a PDF page (for its text layer), ``None`` for an image."""
        if self._pdf is None:
            return None
        return self._pdf.doc().load_page(self.number - 1)

    def image(self) -> Image.Image:
        """Return the page as an RGB image of ``width`` × ``height`` pixels.

        Raises ``FileUnreadable`` when a PDF page cannot be rendered. The returned
        image of an image file is shared: copy it before drawing on it.
        """
        if self._image is not None:
            return self._image
        if self._pdf is None:
            raise FileUnreadable(f"{self.file}: page has no content", f"{self.file}：页面无内容")
        try:
            page = self._pdf.doc().load_page(self.number - 1)
            pix = page.get_pixmap(
                matrix=pymupdf.Matrix(self.zoom, self.zoom),
                colorspace=pymupdf.csRGB,
                alpha=False,
            )
        except Exception as exc:  # MuPDF raises several unrelated types; cause kept below
            raise FileUnreadable(
                f"{self.file}: page {self.number} cannot be rendered ({type(exc).__name__}: {exc})",
                f"{self.file}：第 {self.number} 页无法渲染",
            ) from exc
        return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


def open_pages(file: AttachmentFile) -> list[Page]:
    """Return the pages of one attachment, after the type and safety checks.

    Raises ``FileTypeNotAllowed`` when the bytes are not what an allowed extension says,
    and ``FileUnreadable`` when the file is empty, corrupt, truncated, encrypted or over
    a limit (pixels, pages, render budget).
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
        return _open_pdf(file.name, data)
    return [_open_image(file.name, data, file.detected_type or "")]


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


def _open_pdf(name: str, data: bytes) -> list[Page]:
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several unrelated types; cause kept below
        raise FileUnreadable(
            f"{name}: broken PDF ({type(exc).__name__}: {exc})", f"{name}：PDF 文件已损坏"
        ) from exc
    with doc:
        if doc.needs_pass:
            raise FileUnreadable(
                f"{name}: the PDF is encrypted (needs a password)",
                f"{name}：PDF 已加密（需要密码）",
            )
        count = doc.page_count
        if count == 0:
            raise FileUnreadable(f"{name}: the PDF has no pages", f"{name}：PDF 没有页面")
        if count > MAX_PDF_PAGES:
            raise FileUnreadable(
                f"{name}: {count} pages, over the limit of {MAX_PDF_PAGES}",
                f"{name}：共 {count} 页，超过 {MAX_PDF_PAGES} 页的上限",
            )
        source = _PdfSource(data)
        pages: list[Page] = []
        total = 0
        for index in range(count):
            try:
                page = doc.load_page(index)
                rect = page.rect
                images = page.get_images(full=True)
            except Exception as exc:  # MuPDF raises several unrelated types; cause kept
                raise FileUnreadable(
                    f"{name}: page {index + 1} is broken ({type(exc).__name__}: {exc})",
                    f"{name}：第 {index + 1} 页已损坏",
                ) from exc
            for img in images:
                if int(img[2]) * int(img[3]) > MAX_EMBEDDED_IMAGE_PIXELS:
                    raise FileUnreadable(
                        f"{name}: page {index + 1} embeds a {img[2]} × {img[3]} image,"
                        f" over the render budget",
                        f"{name}：第 {index + 1} 页内嵌图片 {img[2]} × {img[3]}，超过渲染预算",
                    )
            zoom = render_zoom(rect.width, rect.height)
            box = (rect * pymupdf.Matrix(zoom, zoom)).irect
            total += box.width * box.height
            if total > RENDER_BUDGET_PIXELS:
                raise FileUnreadable(
                    f"{name}: the pages are over the render budget"
                    f" of {RENDER_BUDGET_PIXELS // 1_000_000} megapixels",
                    f"{name}：页面总像素超过渲染预算 {RENDER_BUDGET_PIXELS // 1_000_000} 百万像素",
                )
            pages.append(
                Page(
                    file=name,
                    number=index + 1,
                    width=box.width,
                    height=box.height,
                    source="pdf",
                    zoom=zoom,
                    _pdf=source,
                )
            )
        if doc.is_repaired:
            log.info("%s: PDF was repaired by MuPDF", name)
    return pages
