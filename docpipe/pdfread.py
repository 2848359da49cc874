"""A PDF read whole in a contained child: checks, text layer, rendering, active content.

``docpipe.pages`` calls ``read_pdf`` through ``docpipe.contain.run_contained``, so all
of MuPDF's work on a client's PDF (parsing, repairing, decompressing, drawing, text
extraction) runs under a deadline and a memory cap, and the parent gets plain data
back: each page's pixels and text layer, and notes on active content.

Limits refused here (``FileUnreadable``, the limit named): encryption, page count,
embedded image pixels, the render budget, a page's shape, and the work a page asks
for before any is done — form XObjects drawn (nested forms multiply: 10 forms each
drawing the next 10 times draw 10¹⁰ times from a 3 KB file) and content bytes drawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pdfplumber  # noqa: F401  (see below)
import pymupdf as _pymupdf

from docpipe.errors import FileUnreadable
from docpipe.ocr.base import OcrPage
from docpipe.pdfcost import check_drawing
from docpipe.pdftables import PdfTables
from docpipe.textlayer import read_layer

pymupdf: Any = _pymupdf
# pdfplumber (``docpipe.pdftables``) is imported here, where the parent imports
# this module to fork its child: each child inherits it instead of importing it again
# (0.15-0.6 s) for every PDF.

MAX_PDF_PAGES = 20
#: Sum of the rendered pixels of all pages of one PDF.
RENDER_BUDGET_PIXELS = 120_000_000
#: An image embedded in a PDF page (high-resolution scans are legitimate; bombs are not).
MAX_EMBEDDED_IMAGE_PIXELS = 100_000_000
#: PDF objects looked at for active content (JavaScript, launch actions, attachments).
MAX_OBJECTS_SCANNED = 200_000

_ACTIVE = {
    "/JavaScript": ("JavaScript", "JavaScript 脚本"),
    "/JS": ("JavaScript", "JavaScript 脚本"),
    "/Launch": ("a launch action", "启动外部程序的动作"),
    "/EmbeddedFile": ("an embedded file", "内嵌文件"),
    "/RichMedia": ("rich media", "富媒体内容"),
    "/XFA": ("an XFA form", "XFA 表单"),
}
_ACTIVE_KEY = re.compile("(" + "|".join(re.escape(k) for k in _ACTIVE) + r")(?![A-Za-z])")


@dataclass
class PdfPageData:
    """One page as the child read it: its text layer, or its rendering (RGB bytes).

    A page read from its text layer is not rendered here: nothing reads its pixels
    unless the report shows it, and then it is rendered alone (``render_page``).
    """

    number: int
    width: int
    height: int
    zoom: float
    samples: bytes | None = field(repr=False)
    layer: OcrPage | None


@dataclass
class PdfData:
    """What the child sends back for one PDF."""

    pages: list[PdfPageData]
    #: Active content found, each as (English, Chinese), for an ``info`` finding.
    active: list[tuple[str, str]]
    repaired: bool


def read_pdf(name: str, data: bytes) -> PdfData:
    """Check, read and render every page of one PDF (run it contained: see the module)."""
    from docpipe.pages import check_shape, render_zoom

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
        plans = []
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
            check_shape(
                f"{name}: page {index + 1}", f"{name}：第 {index + 1} 页", box.width, box.height
            )
            total += box.width * box.height
            if total > RENDER_BUDGET_PIXELS:
                raise FileUnreadable(
                    f"{name}: the pages are over the render budget"
                    f" of {RENDER_BUDGET_PIXELS // 1_000_000} megapixels",
                    f"{name}：页面总像素超过渲染预算 {RENDER_BUDGET_PIXELS // 1_000_000} 百万像素",
                )
            check_drawing(doc, page, name, index + 1)
            plans.append((page, zoom, box))
        # Table cells of the pages read from their layer: pdfplumber's table finder over
        # each page's ruling lines (it opens the file, here in the child, at the first
        # page that has some).
        with PdfTables(data, name) as tables:
            pages = [_render(name, page, zoom, box, tables) for page, zoom, box in plans]
        return PdfData(pages=pages, active=active_content(doc), repaired=doc.is_repaired)


def _render(name: str, page: Any, zoom: float, box: Any, tables: PdfTables) -> PdfPageData:
    number = page.number + 1
    try:
        layer = read_layer(
            page,
            width=box.width,
            height=box.height,
            zoom=zoom,
            where=f"{name} p{number}",
            tables=lambda drawings: tables.cells(page.number, zoom, drawings),
        )
        samples = None if layer is not None else _pixels(page, zoom)
    except Exception as exc:  # MuPDF raises several unrelated types; cause kept below
        raise FileUnreadable(
            f"{name}: page {number} cannot be rendered ({type(exc).__name__}: {exc})",
            f"{name}：第 {number} 页无法渲染",
        ) from exc
    return PdfPageData(
        number=number, width=box.width, height=box.height, zoom=zoom, samples=samples, layer=layer
    )


def _pixels(page: Any, zoom: float) -> bytes:
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csRGB, alpha=False)
    return bytes(pix.samples)


def render_page(name: str, data: bytes, number: int, zoom: float) -> bytes:
    """RGB bytes of one page of a PDF already checked by ``read_pdf`` (run it contained)."""
    try:
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            return _pixels(doc.load_page(number - 1), zoom)
    except Exception as exc:  # MuPDF raises several unrelated types; cause kept below
        raise FileUnreadable(
            f"{name}: page {number} cannot be rendered ({type(exc).__name__}: {exc})",
            f"{name}：第 {number} 页无法渲染",
        ) from exc


# --------------------------------------------------------------------------- active content


def active_content(doc: Any) -> list[tuple[str, str]]:
    """What in a PDF does more than show a page: scripts, actions, attachments.

    None of it is run by docpipe (MuPDF does not run scripts); it is reported because a
    portal upload has no reason to carry it, and a reviewer opening the file in another
    reader might run it.
    """
    found: dict[str, tuple[str, str]] = {}
    try:
        if doc.embfile_count():
            found["/EmbeddedFile"] = _ACTIVE["/EmbeddedFile"]
        for xref in range(1, min(doc.xref_length(), MAX_OBJECTS_SCANNED)):
            for key in _ACTIVE_KEY.findall(doc.xref_object(xref, compressed=True)):
                found.setdefault(key, _ACTIVE[key])
            if len(found) == len(_ACTIVE):
                break
    except Exception:  # a broken object is a reading matter, not active content
        pass
    return list(dict.fromkeys(found.values()))
