"""The table layer: cells from ruling lines (scans, photos) and from a PDF's drawing.

One form is drawn with PyMuPDF (its CJK font, no system font): a header cell across the
table, rows of 4 cells (label | value | label | value) and rows of 2 (label | a value
across the rest), one row twice as tall. Its rendering, degraded as scans and photos
are, is read by ``grid_from_image``; the PDF itself by the text-layer reader in its
contained child (``OcrPage.cells``).
"""

from __future__ import annotations

import io
import itertools
import math
import pickle
import time
from typing import Any

import cv2
import numpy as np
import pymupdf as _pymupdf
import pytest
from PIL import Image

from docpipe.extract import Region
from docpipe.intake import AttachmentFile
from docpipe.models import DocKind
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.pages import open_pages, render_zoom
from docpipe.tables import (
    Box,
    Grid,
    cell_of,
    grid_from_boxes,
    grid_from_cells,
    grid_from_image,
    grid_from_pdf_page,
    pair,
    split_at_rulings,
)

pymupdf: Any = _pymupdf

# The form, in PDF points: 600 × 840 pt renders at 10/3 to 2000 × 2800 px.
PAGE_W, PAGE_H, ZOOM = 600.0, 840.0, 10 / 3
FOUR = (45.0, 135.0, 300.0, 390.0, 555.0)
TWO = (45.0, 135.0, 555.0)
ONE = (45.0, 555.0)
# (top, bottom, x edges, texts) of each row.
ROWS = (
    (90.0, 117.0, ONE, ("基本信息",)),
    (117.0, 144.0, FOUR, ("企业名称", "天佳工贸有限公司", "住所", "杭州市西湖区")),
    (144.0, 171.0, TWO, ("统一社会信用代码", "91330106592460771J")),
    (171.0, 198.0, FOUR, ("法定代表人", "皇甫喆", "联系电话", "13726951304")),
    (198.0, 249.0, TWO, ("经营范围", "五金产品批发；五金产品零售；家用电器销售")),
    (249.0, 276.0, FOUR, ("操作员", "韦懿", "证件号码", "110105197107211014")),
)
#: Every cell of the form, in pixels of the 2000 × 2800 rendering.
TRUTH = [
    (a * ZOOM, top * ZOOM, b * ZOOM, bottom * ZOOM)
    for top, bottom, xs, _ in ROWS
    for a, b in itertools.pairwise(xs)
]


def form_pdf(*, table: bool = True, grey: float = 0.0, width: float = 1.0) -> bytes:
    """The form (or, without ``table``, the same text with no ruling) as PDF bytes."""
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_W, height=PAGE_H)
    page.insert_text((200, 60), "电子口岸制发卡业务申请书", fontname="china-s", fontsize=16)
    for top, bottom, xs, texts in ROWS:
        for (a, b), text in zip(itertools.pairwise(xs), texts, strict=True):
            if table:
                page.draw_rect(pymupdf.Rect(a, top, b, bottom), color=(grey,) * 3, width=width)
            page.insert_text((a + 5, top + 17), text, fontname="china-s", fontsize=10)
    page.insert_text(
        (45, 320), "本单位承诺所填写内容真实有效。" * 2, fontname="china-s", fontsize=10
    )
    data: bytes = doc.tobytes()
    doc.close()
    return data


def rendered(data: bytes) -> np.ndarray:
    """The first page of a PDF at the form's zoom, RGB."""
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        pix = doc[0].get_pixmap(matrix=pymupdf.Matrix(ZOOM, ZOOM), alpha=False)
        return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3).copy()


def skewed(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The page turned by ``degrees`` (counter-clockwise) about its centre, paper behind."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), borderValue=(255, 255, 255))


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The page through JPEG at ``quality`` (block noise, chroma bleeding)."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB")).copy()


def sealed(rgb: np.ndarray) -> np.ndarray:
    """A red seal ring printed over the table, crossing rulings (ink multiplies)."""
    stamp = np.full_like(rgb, 255)
    cv2.circle(stamp, (1250, 760), 210, (220, 40, 40), 14)
    cv2.putText(stamp, "SEAL", (1130, 790), cv2.FONT_HERSHEY_SIMPLEX, 3, (220, 40, 40), 10)
    return (rgb.astype(np.uint16) * stamp // 255).astype(np.uint8)


def uneven(rgb: np.ndarray) -> np.ndarray:
    """A photo's light: dark at the left, bright at the right."""
    w = rgb.shape[1]
    shade = np.linspace(0.55, 1.0, w, dtype=np.float32)[None, :, None]
    return (rgb * shade).astype(np.uint8)


def assert_form(grid: Grid | None, rotation: float = 0.0, tol: float = 4.0) -> None:
    """The grid is the form: its 17 cells, each where it was drawn (within ``tol`` px)."""
    assert grid is not None
    assert len(grid.cells) == len(TRUTH)
    centre = (1000.0, 1400.0)
    m = cv2.getRotationMatrix2D(centre, rotation, 1.0)
    for box in TRUTH:
        mid = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 1.0])
        x, y = m @ mid  # where the drawn cell's middle is on the page
        cell = grid.cell_at(float(x), float(y))
        assert cell is not None, box
        assert max(abs(u - v) for u, v in zip(cell.level, box, strict=True)) <= tol, (box, cell)
    # Rows of 4 cells and rows of 2 in one table: header across, values across three.
    assert [len(grid.in_row(r)) for r in range(len(grid.rows) - 1)] == [1, 4, 2, 4, 2, 4]
    assert [c.col_span for c in grid.in_row(2)] == [1, 3]


@pytest.fixture(scope="module")
def form_pixels() -> np.ndarray:
    """The form rendered at 2000 × 2800 px."""
    return rendered(form_pdf())


def thin_grey_pixels() -> np.ndarray:
    """The form with hairline grey rulings (0.3 pt: one pixel, grey 150)."""
    return rendered(form_pdf(grey=0.6, width=0.3))


CASES = {
    "clean": lambda px: (px, 0.0),
    "thin-grey": lambda px: (thin_grey_pixels(), 0.0),
    "skew-1.5": lambda px: (skewed(px, 1.5), 1.5),
    "skew-minus-2": lambda px: (skewed(px, -2.0), -2.0),
    "jpeg-40": lambda px: (jpeg(px, 40), 0.0),
    "red-seal": lambda px: (sealed(px), 0.0),
    "uneven-light": lambda px: (uneven(px), 0.0),
    "all-at-once": lambda px: (jpeg(uneven(sealed(skewed(thin_grey_pixels(), 1.5))), 40), 1.5),
}


@pytest.mark.parametrize("case", sorted(CASES), ids=str)
def test_cells_from_the_rulings_of_an_image(case: str, form_pixels: np.ndarray) -> None:
    """Each degradation still gives the 17 cells where they were drawn."""
    rgb, rotation = CASES[case](form_pixels)
    grid = grid_from_image(rgb)
    assert_form(grid, rotation)
    assert grid is not None
    # The skew is measured (cv2 turns counter-clockwise: the rulings rise to the right).
    assert grid.skew == pytest.approx(-rotation, abs=0.15)


def test_no_table_no_grid() -> None:
    """The same text without rulings, an underlined letter, and a framed page: None."""
    assert grid_from_image(rendered(form_pdf(table=False))) is None
    letter = np.full((2800, 2000, 3), 255, np.uint8)
    for y in range(300, 1500, 80):
        cv2.putText(
            letter, "We authorise Mr. X", (150, y), cv2.FONT_HERSHEY_SIMPLEX, 2, (0,) * 3, 4
        )
        cv2.line(letter, (1000, y + 8), (1800, y + 8), (0, 0, 0), 2)  # blanks to fill in
    assert grid_from_image(letter) is None
    framed = letter.copy()
    cv2.rectangle(framed, (60, 60), (1940, 2740), (60, 40, 20), 12)  # a license's frame
    cv2.rectangle(framed, (90, 90), (1910, 2710), (60, 40, 20), 3)
    assert grid_from_image(framed) is None
    assert grid_from_image(np.full((30, 30, 3), 255, np.uint8)) is None


def test_grid_from_image_is_fast(form_pixels: np.ndarray) -> None:
    """A 2000 × 2800 page in tens of milliseconds (the best of five, for noisy CI)."""
    rgb = jpeg(sealed(skewed(form_pixels, 1.5)), 40)
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        grid_from_image(rgb)
        best = min(best, time.perf_counter() - start)
    print(f"grid_from_image 2000x2800: {best * 1000:.1f} ms")
    assert best < 0.3


# --------------------------------------------------------------------------- PDF


def pdf_file(data: bytes, name: str = "form.pdf") -> AttachmentFile:
    """An in-memory attachment of these PDF bytes."""
    return AttachmentFile(name=name, size=len(data), sha256="", data=data, head=data[:16])


def close(got: list[Box], want: list[Box], tol: float) -> bool:
    """The same number of boxes, each within ``tol`` of its counterpart."""
    return len(got) == len(want) and all(
        max(abs(u - v) for u, v in zip(a, b, strict=True)) <= tol
        for a, b in zip(got, want, strict=True)
    )


def test_text_layer_page_carries_its_cells() -> None:
    """Read through the contained child, the born-digital form has the drawn cells."""
    data = form_pdf()
    page = open_pages(pdf_file(data))[0]
    assert page.layer is not None and page.layer.source == "text-layer"
    assert page.layer.cells is not None
    zoom = render_zoom(PAGE_W, PAGE_H)
    drawn = sorted(tuple(v / ZOOM * zoom for v in box) for box in TRUTH)
    assert close(sorted(page.layer.cells), drawn, 1.5)
    grid = grid_from_cells(page.layer.cells)
    assert grid is not None and len(grid.cells) == len(TRUTH)
    # The layer's own lines sit in their cells: 天佳工贸有限公司 right of 企业名称.
    name = next(ln for ln in page.layer.lines if ln.text == "企业名称")
    value = next(ln for ln in page.layer.lines if ln.text == "天佳工贸有限公司")
    label_cell = cell_of(name, grid)
    assert label_cell is not None and pair(label_cell, grid) == cell_of(value, grid)
    # The same in-process, at the form's own zoom.
    direct = grid_from_pdf_page(data, 1, ZOOM)
    assert direct is not None
    assert close(sorted(c.bbox for c in direct.cells), sorted(TRUTH), 1.5)


def test_text_layer_page_without_table() -> None:
    """No ruling: the page says so ([]), and there is no grid."""
    page = open_pages(pdf_file(form_pdf(table=False)))[0]
    assert page.layer is not None and page.layer.cells == []
    assert grid_from_cells(page.layer.cells) is None


def test_pdfplumber_failure_is_no_cells_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """pdfplumber raising leaves the page read, its cells unknown (the child inherits the patch)."""
    import pdfplumber

    def broken(*_: object, **__: object) -> None:
        raise ValueError("no xref")

    monkeypatch.setattr(pdfplumber, "open", broken)
    page = open_pages(pdf_file(form_pdf()))[0]
    assert page.layer is not None and page.layer.cells is None
    assert any(ln.text == "天佳工贸有限公司" for ln in page.layer.lines)


def test_cells_round_trip() -> None:
    """The page with its cells pickles (the child's way back) and dumps to JSON alike."""
    page = OcrPage(width=10, height=10, cells=[(0.0, 0.0, 5.0, 5.0)])
    assert pickle.loads(pickle.dumps(page)) == page
    assert OcrPage.model_validate_json(page.model_dump_json()) == page
    assert OcrPage.model_validate_json(OcrPage(width=1, height=1).model_dump_json()).cells is None


# --------------------------------------------------------------------------- reading


def line(text: str, x0: float, x1: float, y0: float, y1: float, **kw: Any) -> OcrLine:
    """An OCR line over the box (x0, y0)-(x1, y1)."""
    return OcrLine(text=text, poly=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], confidence=0.9, **kw)


def test_split_at_a_ruling() -> None:
    """A line read across a ruling is cut where the ruling falls, confidences with it."""
    grid = grid_from_boxes([(0, 0, 392, 100), (392, 0, 900, 100), (0, 100, 900, 200)])
    assert grid is not None
    merged = line(
        "天佳工贸有限公司住所杭州市", 60, 600, 30, 70, char_confidences=[0.9] * 8 + [0.5] * 5
    )
    inside = line("统一社会", 20, 200, 130, 170)
    edge = line("公司", 340, 400, 30, 70)  # ends just past the ruling: not split
    out = split_at_rulings([merged, inside, edge], grid)
    assert [ln.text for ln in out] == ["天佳工贸有限公司", "住所杭州市", "统一社会", "公司"]
    left, right = out[:2]
    assert left.bbox == pytest.approx((60, 30, 392, 70)) and right.bbox[0] == pytest.approx(392)
    assert left.char_confidences == [0.9] * 8 and right.char_confidences == [0.5] * 5
    assert out[2] is inside and out[3] is edge
    assert [cell_of(ln, grid) for ln in (left, right)] == list(grid.cells[:2])


def test_split_weighs_half_width_characters() -> None:
    """ASCII counts half a CJK character: ``ABCD天佳`` + ``住所`` cut after 佳."""
    grid = grid_from_boxes([(0, 0, 200, 100), (200, 0, 500, 100)])
    assert grid is not None
    # 2 (ABCD) + 2 (天佳) + 2 (住所) ems over 0..300: the ruling at 200 falls after 佳.
    out = split_at_rulings([line("ABCD天佳 住所", 0, 300, 30, 70)], grid)
    assert [ln.text for ln in out] == ["ABCD天佳", "住所"]


def test_split_on_a_skewed_page(form_pixels: np.ndarray) -> None:
    """On the form scanned 1.5° askew, a line glued across two cells splits at the ruling."""
    grid = grid_from_image(skewed(form_pixels, 1.5))
    assert grid is not None
    row = grid.in_row(1)  # 企业名称 | 天佳工贸有限公司 | 住所 | 杭州市西湖区
    ruling = row[2].level[0]
    top, bottom = row[1].level[1] + 25, row[1].level[3] - 25
    w = (bottom - top) * 0.9  # a character's advance
    box = [
        (ruling - 8 * w, top),
        (ruling + 5 * w, top),
        (ruling + 5 * w, bottom),
        (ruling - 8 * w, bottom),
    ]
    poly = [grid.unlevel(x, y) for x, y in box]  # the line as OCR sees it on the page
    merged = OcrLine(text="天佳工贸有限公司住所杭州市", poly=poly, confidence=0.9)
    left, right = split_at_rulings([merged], grid)
    assert (left.text, right.text) == ("天佳工贸有限公司", "住所杭州市")
    assert (cell_of(left, grid), cell_of(right, grid)) == (row[1], row[2])


def test_pair_right_then_below() -> None:
    """A label's value is across its right ruling; a lone header's is the cell below."""
    grid = grid_from_boxes(
        [
            (0, 0, 900, 50),  # 经营范围 (a header alone on its row)
            (0, 50, 900, 200),  # its value
            (0, 200, 300, 250),  # 姓名 | value | 电话 | value
            (300, 200, 450, 250),
            (450, 200, 600, 250),
            (600, 200, 900, 250),
        ]
    )
    assert grid is not None
    header, value, name, name_value, phone, phone_value = sorted(
        grid.cells, key=lambda c: (c.row, c.col)
    )
    assert pair(header, grid) == value
    assert pair(name, grid) == name_value and pair(phone, grid) == phone_value
    assert pair(phone_value, grid) is None  # the row's end, and nothing under it
    assert pair(name, grid, header=True) is None
    assert grid.right_of(value) is None and grid.below(header) == value
    assert grid.cell_at(950, 10) is None


def test_lone_boxes_are_no_table() -> None:
    """Two boxes apart (two ID card copies on a page) share no ruling: no grid."""
    assert grid_from_boxes([(100, 100, 900, 600), (100, 700, 900, 1200)]) is None


# --------------------------------------------------------------------------- Region.grid


def region(ocr: OcrPage, **kw: Any) -> Region:
    """A form region of ``ocr``."""
    return Region("form", 1, ocr.lines, ocr, kind=DocKind.application_form, **kw)


def test_region_grid_from_text_layer_cells() -> None:
    """A text-layer page's grid comes from its cells, limited to the region's box."""
    ocr = OcrPage(width=1000, height=1000, cells=[(0, 0, 100, 50), (100, 0, 400, 50)])
    assert region(ocr).grid() is not None
    assert region(ocr, bbox=(500, 500, 900, 900)).grid() is None
    assert region(OcrPage(width=1000, height=1000)).grid() is None  # no cells, no pixels


def test_region_grid_from_pixels_is_cached_and_offset(form_pixels: np.ndarray) -> None:
    """From the pixels, once; a region's crop gives cells in page pixels."""
    calls = []

    def pixels() -> np.ndarray:
        calls.append(1)
        return form_pixels

    ocr = OcrPage(width=2000, height=2800)
    whole = region(ocr, pixels=pixels)
    assert_form(whole.grid())
    assert whole.grid() is whole.grid() and len(calls) == 1
    part = region(ocr, pixels=pixels, bbox=(100.0, 250.0, 1900.0, 1000.0))
    assert_form(part.grid())


def test_region_grid_failure_is_none() -> None:
    """Pixels that cannot be had are no grid, not an error."""

    def broken() -> np.ndarray:
        raise OSError("gone")

    assert region(OcrPage(width=10, height=10), pixels=broken).grid() is None
