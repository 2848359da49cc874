"""Born-digital PDF pages are read from the text layer, never OCR'd."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pymupdf as _pymupdf
import pytest
from PIL import Image

from docpipe.errors import DocpipeError
from docpipe.intake import AttachmentFile, load_submission
from docpipe.models import DocKind
from docpipe.ocr import register_engine
from docpipe.ocr.fake import CrashEngine
from docpipe.pages import Page, open_pages
from docpipe.reading import read_documents
from docpipe.textlayer import EMPTY, TICKED, text_layer_page

# PyMuPDF ships without annotations (as in docpipe.pages).
pymupdf: Any = _pymupdf

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
CASE = SAMPLES / "case-0104"
FORM = "申请书.pdf"


def sample_form() -> AttachmentFile:
    """The committed born-digital application form of case-0104."""
    return next(a for a in load_submission(CASE / "submission").files if a.name == FORM)


def pdf_file(data: bytes, name: str = "x.pdf") -> AttachmentFile:
    """An in-memory attachment of these PDF bytes."""
    return AttachmentFile(name=name, size=len(data), sha256="", data=data, head=data[:16])


def test_form_pdf_is_read_without_ocr() -> None:
    """With an engine that crashes on any call, the PDF form still yields its document."""
    register_engine("crash", CrashEngine)
    errors: dict[str, DocpipeError] = {}
    docs = read_documents({FORM: open_pages(sample_form())}, engine="crash", errors=errors)
    assert errors == {}
    assert [d.kind for d in docs] == [DocKind.application_form]
    expected = json.loads((CASE / "expected.json").read_text(encoding="utf-8"))
    truth = next(d["fields"] for d in expected["documents"] if d["file"] == FORM)
    assert {k: v.value for k, v in docs[0].fields.items()} == truth
    # Every value is the layer's own text: full confidence, a box on the page.
    assert all(v.confidence == 1.0 and v.bbox is not None for v in docs[0].fields.values())


def test_drawn_tick_boxes_become_marks() -> None:
    """The vector boxes of 申请业务 come out as one ☑ and five □, beside their options."""
    page = text_layer_page(open_pages(sample_form())[0])
    assert page is not None and page.source == "text-layer"
    marks = [ln for ln in page.lines if ln.text in (TICKED, EMPTY)]
    assert sorted(m.text for m in marks) == [EMPTY] * 5 + [TICKED]
    tick = next(m for m in marks if m.text == TICKED)
    right = [
        ln
        for ln in page.lines
        if abs(ln.center[1] - tick.center[1]) < ln.height and 0 < ln.bbox[0] - tick.bbox[2] < 30
    ]
    assert [ln.text for ln in right] == ["变更企业操作员"]


def test_text_layer_is_fast() -> None:
    """Reading the layer takes milliseconds (OCR of the rendered page takes seconds)."""
    page = open_pages(sample_form())[0]
    best = min(_timed(lambda: text_layer_page(page)) for _ in range(3))
    # rapidocr needs ≥ 2 s for this 1653 × 2339 page on this machine: 0.1 s is ≥ 20× faster.
    assert best < 0.1


def _timed(f: object) -> float:
    start = time.perf_counter()
    f()  # type: ignore[operator]
    return time.perf_counter() - start


def _scan_pdf() -> bytes:
    """A PDF that is only a picture of a page, plus a short typed header."""
    im = Image.new("RGB", (600, 800), "white")
    buf = io.BytesIO()
    im.save(buf, "JPEG")
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(page.rect, stream=buf.getvalue())
    page.insert_text((40, 30), "Scan 2025-01-15 page 1 of 1", fontsize=8)
    data: bytes = doc.tobytes()
    doc.close()
    return data


def _empty_pdf() -> bytes:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    data: bytes = doc.tobytes()
    doc.close()
    return data


@pytest.mark.parametrize("make", [_scan_pdf, _empty_pdf], ids=["image-with-header", "no-text"])
def test_pages_without_a_usable_layer_go_to_ocr(make: object) -> None:
    """A scanned page in a PDF, or a blank one, is not read from its (useless) layer."""
    page: Page = open_pages(pdf_file(make()))[0]  # type: ignore[operator]
    assert text_layer_page(page) is None


def test_filled_form_fields_are_read() -> None:
    """Values typed into AcroForm fields and ticked check boxes are part of the page."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((60, 100), "Enterprise name / credit code / operator", fontsize=11)
    for rect, kind, value in (
        (pymupdf.Rect(200, 120, 400, 140), pymupdf.PDF_WIDGET_TYPE_TEXT, "91330106592460771J"),
        (pymupdf.Rect(60, 160, 72, 172), pymupdf.PDF_WIDGET_TYPE_CHECKBOX, True),
        (pymupdf.Rect(60, 190, 72, 202), pymupdf.PDF_WIDGET_TYPE_CHECKBOX, False),
    ):
        w = pymupdf.Widget()
        w.rect, w.field_type = rect, kind
        w.field_name = f"f{rect.y0:.0f}"
        w.field_value = value
        page.add_widget(w)
    data: bytes = doc.tobytes()
    doc.close()
    read = text_layer_page(open_pages(pdf_file(data))[0])
    assert read is not None
    texts = [ln.text for ln in read.lines]
    assert "91330106592460771J" in texts
    assert texts.count(TICKED) == 1 and texts.count(EMPTY) == 1
