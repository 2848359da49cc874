"""Layouts nobody tuned for: ruled tables of four cells a row, wrapped cells, labels above
values, labels outside any list, labels centred on a tall value (issue 15)."""

from __future__ import annotations

import numpy as np
from test_extract_business_license import read as read_license
from test_extract_form import ln

from docpipe.extract import Region
from docpipe.models import DocKind
from docpipe.ocr.base import OcrLine, OcrPage
from extractors.application_form import extract_application_form

CODE = "91330106592460771J"  # synthetic, valid check characters
ID = "330784199001011231"


def form(lines: list[OcrLine], cells: list[tuple[float, float, float, float]] | None) -> dict:
    """The values read from a form page with these lines and table cells."""
    page = OcrPage(width=1200, height=1600, lines=lines, source="text-layer", cells=cells)
    got = extract_application_form(
        Region("form.pdf", 1, lines, page, None, DocKind.application_form)
    )
    return {k: v.value for k, v in got.items()}


# label | value | label | value, three rows of a ruled table 1000 px wide.
COLS = (100, 260, 560, 720, 1100)
ROWS_Y = (300, 360, 420, 480)
CELLS = [(COLS[c], ROWS_Y[r], COLS[c + 1], ROWS_Y[r + 1]) for r in range(3) for c in range(4)]


def test_four_cells_a_row_a_value_never_runs_into_the_next_cell() -> None:
    """The OCR read the name and the next cell's label as one line: cut at the ruling."""
    lines = [
        ln("电子口岸制发卡业务申请书", 300, 150),
        ln("单位名称", 110, 315),
        ln("杭州天佳工贸有限公司统一社会信用代码", 270, 315, w=28 * 10 + 40 + 28 * 8),
        ln(CODE, 730, 315, w=340),
        ln("姓名", 110, 375), ln("李四", 270, 375), ln("性别", 570, 375), ln("男", 730, 375),
        ln("证件号码", 110, 435), ln(ID, 270, 435, w=280),
        ln("联系手机", 570, 435), ln("13812345678", 730, 435, w=200),
    ]  # fmt: skip
    got = form(lines, CELLS)
    assert got["enterprise_name"] == "杭州天佳工贸有限公司"
    assert got["credit_code"] == CODE
    assert got["operator_name"] == "李四"
    assert got["operator_gender"] == "男"
    assert got["operator_id_number"] == ID
    assert got["operator_mobile"] == "13812345678"
    # Without the table the glued line is what the page shows: a value with a label in it.
    glued = form(lines, None).get("enterprise_name")
    assert glued is not None and "统一社会信用代码" in glued


def test_a_cell_of_options_taller_than_its_labels_row_is_the_labels_value() -> None:
    """Verify 70032: 证件名称 centred beside two rows of options, the first row above it."""
    cells = [(100, 1080, 250, 1175), (250, 1080, 1100, 1175), (100, 1175, 250, 1235)]
    cells.append((250, 1175, 1100, 1235))
    lines = [
        ln("■居民身份证", 260, 1087), ln("□港澳台居民居住证", 450, 1087),
        ln("证件名称", 110, 1111),
        ln("□其他", 260, 1133),
        ln("介质编号", 110, 1190), ln("7147666354406", 260, 1190, w=200),
    ]  # fmt: skip
    got = form(lines, cells)
    assert got["operator_id_type"] == "居民身份证"
    assert got["device_number"] == "7147666354406"
    # Without the table the options above the label's row are no one's.
    assert form(lines, None).get("operator_id_type") != "居民身份证"


def test_a_label_wrapped_in_its_cell_is_one_label() -> None:
    """身份证件类 / 型 in a narrow label cell: read as 身份证件类型, its value beside it."""
    cells = [(100, 300, 250, 380), (250, 300, 700, 380)]
    lines = [
        ln("身份证件类", 105, 305, w=140),
        ln("型", 105, 345, w=28),
        ln("居民身份证", 260, 325),
    ]
    assert form(lines, cells)["operator_id_type"] == "居民身份证"


def test_labels_above_values_and_a_label_outside_every_list() -> None:
    """介质种类 over its tick boxes, 联系手机 over the number: labels above values."""
    lines = [
        ln("企业中文名称", 210, 380), ln("杭州市宇图进出口有限公司", 444, 380),
        ln("介质种类", 210, 750), ln("联系手机", 860, 750),
        ln("☐IC卡", 210, 785), ln("☒U盾", 330, 785), ln("☐共享盾", 443, 785),
        ln("19693699029", 860, 785, w=180),
        ln("操作员", 210, 540), ln("性别", 860, 540),
        ln("陈华霞", 210, 575), ln("√女", 860, 575), ln("□男", 930, 575),
    ]  # fmt: skip
    got = form(lines, None)
    assert got["device_type"] == "U盾"
    assert got["operator_mobile"] == "19693699029"
    assert got["operator_name"] == "陈华霞"
    assert got["operator_gender"] == "女"
    assert got["enterprise_name"] == "杭州市宇图进出口有限公司"


def test_a_mobile_without_its_label_is_found_by_its_shape_in_doubt() -> None:
    """No label names the mobile: the one number of its shape is it, read in doubt."""
    lines = [ln("企业名称", 100, 300), ln("杭州市宏华工贸有限公司", 300, 300),
             ln("☎", 100, 360), ln("13812345678", 300, 360, w=200)]  # fmt: skip
    page = OcrPage(width=1200, height=1600, lines=lines)
    got = extract_application_form(Region("f.jpg", 1, lines, page, None, DocKind.application_form))
    assert got["operator_mobile"].value == "13812345678"
    assert got["operator_mobile"].confidence < 0.9


def test_scope_label_centred_on_its_four_lines_and_an_address_that_does_not_wrap() -> None:
    """经营范围 printed level with the middle of its value; the address above ends short."""
    from test_extract_business_license import footer, header
    from test_extract_business_license import ln as lln

    lines = [
        *header(),
        lln("名称", 146, 485, 33), lln("杭州市金源科技股份有限公司", 334, 489, 30),
        lln("类型", 146, 556, 33), lln("其他股份有限公司(非上市)", 334, 557, 30),
        lln("法定代表人", 146, 625, 33), lln("邱斌龙", 334, 625, 33),
        lln("注册资本", 146, 697, 33), lln("200万元人民币", 334, 698, 33),
        lln("成立日期", 146, 769, 33), lln("2016年3月20日", 334, 769, 33),
        lln("住所", 146, 908, 33), lln("浙江省杭州市滨江区明辉路550号", 334, 910, 30),
        lln("一般项目：农副产品销售；食用农产品批发；", 334, 981, 30),
        lln("初级农产品收购；茶叶种植；", 334, 1028, 30),
        lln("经营范围", 146, 1052, 33),
        lln("竹制品销售；包装材料及制品销售；", 334, 1077, 30),
        lln("货物进出口。", 334, 1123, 30),
        *[lln(t.text, t.bbox[0], t.bbox[1] + 1000, 26) for t in footer()],
    ]  # fmt: skip
    got = read_license(lines)
    assert got["address"] == "浙江省杭州市滨江区明辉路550号"
    assert got["business_scope"] == (
        "一般项目：农副产品销售；食用农产品批发；初级农产品收购；茶叶种植；"
        "竹制品销售；包装材料及制品销售；货物进出口。"
    )


def test_a_text_layer_forms_failing_number_is_the_documents_own() -> None:
    """Born digital, the number is what the form prints: a failing check is a typo."""
    from docpipe.reading import extract_region

    swapped = ID[:10] + ID[11] + ID[10] + ID[12:]  # two adjacent digits swapped
    lines = [
        ln("电子口岸制发卡业务申请书", 300, 150, conf=1.0),
        ln("操作员姓名", 100, 300, conf=1.0), ln("李四", 300, 300, conf=1.0),
        ln("证件号码", 100, 360, conf=1.0), ln(swapped, 300, 360, w=300, conf=1.0),
    ]  # fmt: skip
    page = OcrPage(width=1200, height=1600, lines=lines, source="text-layer")
    doc = extract_region(Region("f.pdf", 1, lines, page, None, DocKind.application_form))
    got = doc.fields["operator_id_number"]
    assert got.value == swapped
    assert got.check_failed


def test_a_caption_far_right_of_a_value_is_not_part_of_it() -> None:
    """A QR code's caption level with the name, far to its right, ends the name."""
    from test_extract_business_license import footer, header
    from test_extract_business_license import ln as lln

    lines = [
        *header(),
        lln("名称", 131, 308, 37), lln("：杭州市佳华海纳进出口有限公司", 235, 308, 30),
        lln("信用信息公示系统了解更", 1096, 310, 15),
        lln("类型", 130, 374, 37), lln("：有限责任公司(自然人独资)", 233, 375, 30),
        *footer(),
    ]  # fmt: skip
    assert read_license(lines)["name"] == "杭州市佳华海纳进出口有限公司"
    # Verify 30005: the caption's piece right after the name, within the far gap, in the
    # name's own box: the caption's words stop it.
    glued = [
        *header(),
        lln("名称", 131, 308, 37),
        lln("：上海达佳工贸有限公司杭州西湖分公司信用信息公示系统”了解更多登记", 235, 308, 24),
        lln("类型", 130, 374, 37), lln("：有限责任公司分公司", 233, 375, 30),
        *footer(),
    ]  # fmt: skip
    assert read_license(glued)["name"] == "上海达佳工贸有限公司杭州西湖分公司"


def _table_pdf() -> bytes:
    """A born-digital form: a narrow cell whose name wraps, four cells to a row."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=600, height=840)
    page.insert_text((180, 60), "电子口岸制发卡业务申请书", fontname="china-s", fontsize=16)
    cells = [
        ((45, 100, 135, 140), ["单位名称"]),
        ((135, 100, 262, 140), ["温州宇诚工贸有限公司义", "乌分公司"]),
        ((262, 100, 320, 140), ["统一社会信", "用代码"]),
        ((320, 100, 590, 140), [CODE]),
        ((45, 140, 135, 170), ["姓名"]),
        ((135, 140, 262, 170), ["姚琪娜"]),
        ((262, 140, 320, 170), ["手机"]),
        ((320, 140, 590, 170), ["17622830388"]),
    ]
    for (x0, y0, x1, y1), texts in cells:
        page.draw_rect(pymupdf.Rect(x0, y0, x1, y1), color=(0, 0, 0), width=0.8)
        for k, text in enumerate(texts):
            page.insert_text((x0 + 4, y0 + 14 + 13 * k), text, fontname="china-s", fontsize=10.5)
    data: bytes = doc.tobytes()
    doc.close()
    return data


def test_a_text_layer_form_is_read_from_its_pdfplumber_cells() -> None:
    """The wrapped name and the wrapped label are whole: the cells say where they end."""
    from test_tables import pdf_file

    from docpipe.ocr import get_engine
    from docpipe.pages import open_pages
    from docpipe.reading import extract_region, read_page

    page = open_pages(pdf_file(_table_pdf()))[0]
    rp = read_page(page, get_engine())
    ocr = rp.ocr
    assert ocr.source == "text-layer" and ocr.cells, "the page is read from its text layer"
    region = Region("form.pdf", 1, ocr.lines, ocr, None, DocKind.application_form)
    fields = {k: v.value for k, v in extract_region(region).fields.items()}
    assert fields["enterprise_name"] == "温州宇诚工贸有限公司义乌分公司"
    assert fields["credit_code"] == CODE
    assert fields["operator_name"] == "姚琪娜"
    assert fields["operator_mobile"] == "17622830388"
    # Without its cells the same text layer runs the name into the next cell.
    bare = ocr.model_copy(update={"cells": None})
    again = extract_region(Region("form.pdf", 1, bare.lines, bare, None, DocKind.application_form))
    assert again.fields["enterprise_name"].value != "温州宇诚工贸有限公司义乌分公司"


def test_an_address_line_level_with_the_next_rows_label_continues_the_address() -> None:
    """Two columns: the address's second line stands level with 类型 on the left."""
    from test_extract_business_license import footer, header
    from test_extract_business_license import ln as lln

    lines = [
        *header(),
        lln("名", 133, 506, 31), lln("称", 206, 506, 31),
        lln("杭州市西湖区博世盛贸易经营部", 265, 506, 26),
        lln("住", 982, 503, 33), lln("所", 1050, 506, 31),
        lln("浙江省杭州市西湖区长江中路430号阳光花园12幢", 1116, 506, 24),
        lln("类", 132, 563, 34), lln("型", 207, 565, 30), lln("个人独资企业", 263, 565, 30),
        lln("2单元1803室", 1116, 550, 30),
        lln("投资人", 131, 620, 35), lln("姜洋琰", 262, 619, 36),
        lln("成立日期", 983, 605, 34), lln("2007年2月25日", 1114, 607, 30),
        *footer(),
    ]  # fmt: skip
    got = read_license(lines)
    assert got["address"] == "浙江省杭州市西湖区长江中路430号阳光花园12幢2单元1803室"
    assert got["enterprise_type"] == "个人独资企业"


def test_an_address_line_beside_a_long_scope_line_is_the_addresss_not_the_scopes() -> None:
    """Verify 70041: the scope's first line reaches within FAR_GAP of the right column, so
    the address's wrapped line level with it is bounded off by the open address's column."""
    from test_extract_business_license import footer, header
    from test_extract_business_license import ln as lln

    lines = [
        *header(),
        lln("名称：佳安（宁波）贸易商行", 135, 497, 33),
        lln("成立日期：2009年02月28日", 1011, 495, 33),
        lln("类型：个人独资企业", 134, 555, 33),
        lln("投资人：廖婧", 133, 610, 33),
        lln("住所：浙江省宁波市北仑区建设一路290号东方名苑16幢", 1012, 610, 31),
        lln("3单元2001室", 1101, 654, 33),
        lln("经营范围", 134, 668, 33),
        lln("：一般项目：技术服务、技术开发、技术咨询、技术", 249, 670, 29),
        lln("交流、技术转让、技术推广；软件开发。", 278, 709, 33),
        *footer(),
    ]  # fmt: skip
    got = read_license(lines)
    assert got["address"] == "浙江省宁波市北仑区建设一路290号东方名苑16幢3单元2001室"
    assert got["business_scope"] == (
        "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发。"
    )


def test_boxes_the_ocr_dropped_are_found_along_the_line_and_paired_in_order() -> None:
    """新企业入网 变更企业操作员 新增企业操作员, the boxes not read: the inked one wins."""
    import numpy as np
    from PIL import Image, ImageDraw

    from extractors._business import OPTIONS
    from extractors._ticks import find_options, ticked_by_pixels

    im = Image.new("RGB", (1000, 80), "white")
    draw = ImageDraw.Draw(im)
    # Three boxes, 24 px, their texts estimated wrongly by the OCR's even spacing.
    for k, x in enumerate((20, 300, 620)):
        draw.rectangle((x, 28, x + 24, 52), outline="black", width=2)
        if k == 1:  # the tick
            draw.line((x + 4, 40, x + 10, 48), fill="black", width=4)
            draw.line((x + 10, 48, x + 22, 30), fill="black", width=4)
    text = "新企业入网变更企业操作员新增企业操作员"
    line = OcrLine(text=text, poly=[(10, 26), (900, 26), (900, 54), (10, 54)], confidence=0.95)
    found = find_options([line], OPTIONS)
    pick = ticked_by_pixels(found, np.asarray(im), lambda p: p)
    assert pick is not None and pick[0].code == "change_operator"


def test_boxes_on_a_tilted_line_are_its_own_and_a_boxlike_character_is_passed_over() -> None:
    """A tilted scan: the row below's ticked box is in the line's window, and a
    character inside an option's text (曾 of 增) looks like a full box."""
    import numpy as np
    from PIL import Image, ImageDraw

    from extractors._business import OPTIONS
    from extractors._ticks import find_options, ticked_by_pixels

    slope = 0.08  # about 4.6 degrees

    def box(draw: ImageDraw.ImageDraw, x: int, mid_y: float, tick: bool, full: bool) -> None:
        y = round(mid_y + slope * x) - 12
        draw.rectangle((x, y, x + 24, y + 24), outline="black", width=2)
        if tick:
            draw.line((x + 4, y + 12, x + 10, y + 20), fill="black", width=4)
            draw.line((x + 10, y + 20, x + 22, y + 2), fill="black", width=4)
        if full:  # the strokes of a character, denser than any tick
            for k in (6, 12, 18):
                draw.line((x + 3, y + k, x + 21, y + k), fill="black", width=3)

    im = Image.new("RGB", (1000, 200), "white")
    draw = ImageDraw.Draw(im)
    for k, x in enumerate((20, 300, 620)):
        box(draw, x, 40, tick=k == 1, full=False)
    box(draw, 700, 40, tick=False, full=True)  # inside 新增企业操作员's text
    box(draw, 160, 80, tick=True, full=False)  # the next row's tick, under the line
    text = "新企业入网变更企业操作员新增企业操作员"
    poly = [(10, 26 + slope * 10), (900, 26 + slope * 900), (900, 54 + slope * 900)]
    poly.append((10, 54 + slope * 10))
    line = OcrLine(text=text, poly=poly, confidence=0.95)
    assert line.bbox[3] - line.bbox[1] > 2.5 * line.height  # the box is not the text
    found = find_options([line], OPTIONS)
    pick = ticked_by_pixels(found, np.asarray(im), lambda p: p)
    assert pick is not None and pick[0].code == "change_operator"


def _tick_row(boxes: list[tuple[int, str]]) -> np.ndarray:
    """A row of drawn boxes at x: "empty", "tick", "faint" (a light outline, broken at
    its corners), or "glyph" (a character's strokes closed in a square)."""
    import numpy as np
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (1000, 80), "white")
    draw = ImageDraw.Draw(im)
    for x, kind in boxes:
        y = 28
        if kind == "faint":  # thin light grey, each side a pixel short of the corners
            for a, b in (((x + 1, y), (x + 23, y)), ((x + 1, y + 24), (x + 23, y + 24))):
                draw.line((a, b), fill=(170, 170, 170), width=1)
            for a, b in (((x, y + 1), (x, y + 23)), ((x + 24, y + 1), (x + 24, y + 23))):
                draw.line((a, b), fill=(170, 170, 170), width=1)
            continue
        draw.rectangle((x, y, x + 24, y + 24), outline="black", width=2)
        if kind == "tick":
            draw.line((x + 4, y + 12, x + 10, y + 20), fill="black", width=4)
            draw.line((x + 10, y + 20, x + 22, y + 2), fill="black", width=4)
        if kind == "glyph":
            for k in (6, 10, 14, 18):
                draw.line((x + 3, y + k, x + 21, y + k), fill="black", width=2)
    return np.asarray(im)


def _options_line() -> OcrLine:
    text = "新企业入网变更企业操作员新增企业操作员"
    return OcrLine(text=text, poly=[(10, 26), (900, 26), (900, 54), (10, 54)], confidence=0.95)


def test_a_faint_empty_box_broken_at_its_corners_is_still_a_box() -> None:
    """Light grey outlines a scan broke at the corners are traced, so every box is seen."""
    from extractors._business import OPTIONS
    from extractors._ticks import SEEN, find_options, ticked_by_pixels

    image = _tick_row([(20, "faint"), (300, "tick"), (620, "faint")])
    found = find_options([_options_line()], OPTIONS)
    pick = ticked_by_pixels(found, image, lambda p: p)
    assert pick is not None and pick[0].code == "change_operator" and pick[1] == SEEN


def test_a_square_character_beside_an_option_is_not_its_box() -> None:
    """A square of strokes (a character) holds more ink than a tick: never the tick."""
    from extractors._business import OPTIONS
    from extractors._ticks import find_options, ticked_by_pixels

    # The glyph stands where 新企业入网's box should be; its own box is not seen.
    image = _tick_row([(30, "glyph"), (300, "empty"), (620, "empty")])
    found = find_options([_options_line()], OPTIONS)
    pick = ticked_by_pixels(found, image, lambda p: p)
    # Every box seen is empty and one option has none: that one is inferred, in doubt.
    assert pick is not None and pick[0].code == "new_enterprise" and pick[1] < 0.9


def test_a_tick_seen_with_most_other_boxes_unseen_is_a_doubt() -> None:
    """One tick seen, two of the other boxes not: kept, below the comparison's line."""
    from docpipe.compare import DOUBT_BELOW
    from extractors._business import OPTIONS
    from extractors._ticks import find_options, ticked_by_pixels

    line = OcrLine(
        text="新企业入网变更企业操作员新增企业操作员遗失或损坏补办",
        poly=[(10, 26), (990, 26), (990, 54), (10, 54)],
        confidence=0.95,
    )
    image = _tick_row([(20, "empty"), (270, "tick")])
    found = find_options([line], OPTIONS)
    pick = ticked_by_pixels(found, image, lambda p: p)
    assert pick is not None and pick[0].code == "change_operator"
    assert pick[1] * line.confidence < DOUBT_BELOW


def test_a_date_under_a_signature_that_reached_the_cell_edge_is_its_own_field() -> None:
    """经办人（签字）：… ends at the cell's edge; 填表日期：… under it starts a label."""
    from docpipe.layout import in_cells
    from docpipe.tables import grid_from_cells
    from extractors.application_form import LABELS

    grid = grid_from_cells([(100, 1100, 1150, 1300), (100, 1300, 1150, 1450)])
    assert grid is not None
    lines = [
        ln("经办人(签字)：曹红", 853, 1325, w=240, h=40),
        ln("填表日期：2026/5/7", 857, 1380, w=215, h=36),
    ]
    assert len(in_cells(lines, grid, LABELS)) == 2
    # Without the labels the two lines are one wrapped value (what the form used to read).
    assert len(in_cells(lines, grid)) == 1


def test_a_labelled_date_that_lost_its_first_dot_is_read_in_doubt() -> None:
    from docpipe.compare import DOUBT_BELOW

    lines = [ln("申请日期：202501.20", 900, 1600)]
    got = extract_application_form(
        Region(
            "f.jpg",
            1,
            lines,
            OcrPage(width=1400, height=2000, lines=lines),
            kind=DocKind.application_form,
        )
    )
    assert got["sign_date"].value == "2025-01-20"
    assert got["sign_date"].confidence < DOUBT_BELOW


def test_an_id_type_list_in_bracketed_marks_under_its_label() -> None:
    """证件类别 over [x]居民身份证 [ ]港澳台居民居住证 …: the ticked type, no bracket."""
    lines = [
        ln("证件类别", 199, 1146, w=100, h=24),
        ln("[x]居民身份证", 199, 1182, w=191, h=36),
        ln("[ ]港澳台居民居住证", 424, 1182, w=275, h=36),
        ln("[ ]外国人永久居留身份证", 733, 1182, w=337, h=36),
        ln("[ ]其他", 1103, 1182, w=92, h=36),
    ]
    page = OcrPage(width=1400, height=2000, lines=lines, source="text-layer")
    got = extract_application_form(Region("f.pdf", 1, lines, page, kind=DocKind.application_form))
    assert got["operator_id_type"].value == "居民身份证"


def test_a_date_under_a_name_that_filled_its_cell_is_not_the_names_wrap() -> None:
    """Verify 70043: 阿依古丽·吐尔逊 reached the signature cell's edge; the date under it
    starts a line of its own (its first numeral misread), not the name's second line."""
    from docpipe.layout import in_cells

    cells = [(100, 1500, 300, 1720), (300, 1500, 1000, 1720)]
    lines = [
        ln("经办人（签字）：阿依古丽·吐尔逊", 320, 1590, w=670),
        ln("上〇二五年九月五", 330, 1640, w=236),
    ]
    page = OcrPage(width=1200, height=1800, lines=lines, source="text-layer", cells=cells)
    reg = Region("form.pdf", 1, lines, page, None, DocKind.application_form)
    assert [x.text for x in in_cells(lines, reg.grid())] == [x.text for x in lines]
    # A name's true wrap still joins.
    wrapped = [lines[0], ln("买买提", 330, 1640, w=90)]
    joined = [x.text for x in in_cells(wrapped, reg.grid())]
    assert joined == ["经办人（签字）：阿依古丽·吐尔逊买买提"]


def test_a_sign_date_whose_first_numeral_was_misread_is_read_again_in_doubt() -> None:
    """上〇二五年九月五 on the page: cut wider on the left and read again, 〇二五年九月五日
    (the first 二 under the ring) gives the one year that can have lost a numeral."""
    from docpipe.compare import DOUBT_BELOW

    lines = [ln("申请日期", 786, 1656), ln("上〇二五年九月五", 885, 1644, w=236, h=49)]
    page = OcrPage(width=1413, height=2000, lines=lines)
    reg = Region("form.jpg", 1, lines, page, None, DocKind.application_form)
    assert "sign_date" not in extract_application_form(reg)
    seen: list[OcrLine] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        seen.append(line)
        texts = ("申请日期○二五年九月五日", "申请日期正二五年九月", "申请日期○二五年九月五日")
        return [OcrLine(text=t, poly=line.poly, confidence=0.95) for t in texts]

    reg.reread = reread
    got = extract_application_form(reg)["sign_date"]
    assert got.value == "2025-09-05" and got.confidence < DOUBT_BELOW
    assert seen[0].bbox[0] < 885 - 100


def test_a_scopes_wrapped_line_level_with_the_right_columns_label_is_the_scopes() -> None:
    """Acc2 20121: the scope's second line, in two boxes, stands left of 合伙期限 on the
    right: what lies left of a row's first label continues the open value of its column,
    and the line's second box goes with its first."""
    from test_extract_business_license import footer, header
    from test_extract_business_license import ln as lln

    lines = [
        *header(),
        lln("名称", 95, 500, 33), lln("杭州市创鑫科技合伙企业（有限合伙）", 309, 500, 30),
        lln("成立日期", 934, 601, 33), lln("2011年10月22日", 1146, 604, 29),
        lln("经营范围", 95, 615, 33),
        lln("一般项目：农副产品销售；", 309, 615, 25),
        lln("食用农产品批发；初", 601, 615, 29),
        lln("自2011年10月22日至长期", 1149, 655, 20),
        lln("级农产品收购；茶叶种植；", 310, 657, 25),
        lln("竹制品销售；包装材", 618, 657, 27),
        lln("合伙期限", 936, 657, 33),
        lln("料及制品销售；货物进出口。", 309, 695, 33),
        *footer(),
    ]  # fmt: skip
    got = read_license(lines)
    assert got["business_scope"] == (
        "一般项目：农副产品销售；食用农产品批发；初级农产品收购；茶叶种植；竹制品销售；"
        "包装材料及制品销售；货物进出口。"
    )
    assert got["business_term_to"] == "长期"


def test_wraps_in_a_tilted_cell_are_told_by_their_centres() -> None:
    """Acc2 20083: at 4° the boxes of a cell's five lines overlap their neighbours'; told
    by box edges, the lines joined every other one. In the grid's levelled frame, centre to
    centre, they join in order."""
    from docpipe.layout import Turn, in_cells
    from docpipe.tables import grid_from_boxes

    cells = [(250.0, 840.0, 490.0, 1080.0), (490.0, 840.0, 1290.0, 1080.0)]
    grid = grid_from_boxes(cells, skew=4.0, pivot=(700.0, 900.0))
    assert grid is not None
    texts = [
        "一般项目：货物进出口；技术进",
        "出口；进出口代理；针纺织品及",
        "原料销售；服装服饰零售；鞋帽",
        "批发；箱包销售；日用品销售；",
        "化妆品零售。",
    ]
    # The photo's text leans 2° more than its rulings (a page not flat): each line's box,
    # levelled, is still taller than its text and overlaps the next line's.
    lean = Turn(2.0, 700.0, 900.0)
    lines = []
    for i, text in enumerate(texts):
        x1 = 1270 if i < len(texts) - 1 else 700
        y0, y1 = 860 + 40 * i, 896 + 40 * i
        quad = [grid.unlevel(*lean.point(p)) for p in ((500, y0), (x1, y0), (x1, y1), (500, y1))]
        lines.append(OcrLine(text=text, poly=quad, confidence=0.99))
    joined = [x.text for x in in_cells(lines, grid)]
    assert joined == ["".join(texts)]


def test_a_stop_word_printed_twice_stops_a_value_both_times() -> None:
    """Verify 70043: 传真 then 固定电话 (both the phone's, a field not reported); the second
    stood beside 设备号 in a row of labels over values and was read as the device number."""
    lines = [
        ln("传真", 108, 509),
        ln("设备号", 109, 923), ln("固定电话", 702, 924),
        ln("7131477826355", 111, 959, w=168),
    ]  # fmt: skip
    assert form(lines, None)["device_number"] == "7131477826355"


def test_a_weak_glyph_box_inside_a_line_is_the_lines_echo_not_text() -> None:
    """Acc2 20149: ``o`` at 0.67 over the end of a scope line is dropped; a short box of
    its own, or a sure one, is kept."""
    from docpipe.layout import in_cells
    from docpipe.tables import grid_from_boxes

    grid = grid_from_boxes([(100, 840, 300, 1080), (300, 840, 1100, 1080)])
    assert grid is not None
    line = ln("依法须经批准的项目外，凭营业执照依法自主开展经营活动", 308, 942, w=777)
    echo = ln("o", 1039, 947, w=36, h=18, conf=0.67)
    alone = ln("o", 500, 1020, w=36, h=18, conf=0.67)
    sure = ln("号", 1000, 947, w=30, h=18, conf=0.95)
    kept = [x.text for x in in_cells([line, echo, alone, sure], grid)]
    assert kept.count("o") == 1 and "号" in kept and line.text in kept


def test_a_date_label_that_lost_its_head_into_the_signature_is_still_its_label() -> None:
    """Acc2 20059: 孟璐请日期：202506.18 in one box, the signature glued before 申请日期's
    请: the label is found inside the box, its value read in doubt (a dot lost)."""
    from docpipe.compare import DOUBT_BELOW

    lines = [ln("经办人（签字）：", 800, 1600), ln("孟璐请日期：202506.18", 948, 1672)]
    got = extract_application_form(
        Region("f.pdf", 1, lines, OcrPage(width=1474, height=2000, lines=lines), None,
               DocKind.application_form)
    )["sign_date"]  # fmt: skip
    assert got.value == "2025-06-18" and got.confidence < DOUBT_BELOW
    # A name glued before 日期 of another wording is no date label.
    other = [ln("经办人（签字）：", 800, 1600), ln("孟璐出生日期：19900101", 948, 1672)]
    page = OcrPage(width=1474, height=2000, lines=other)
    read = extract_application_form(Region("f.pdf", 1, other, page, None, DocKind.application_form))
    assert "sign_date" not in read


def test_a_date_the_detector_cut_in_two_boxes_is_read_again_as_one() -> None:
    """Acc2 20003: 〇元五年一月十 | 三日: the second look cuts both boxes as one line."""
    lines = [ln("填表日期：", 793, 1557), ln("〇元五年一月十", 945, 1559, w=228, h=38),
             ln("三日", 1156, 1560, w=60, h=35)]  # fmt: skip
    reg = Region("f.jpg", 1, lines, OcrPage(width=1474, height=2000, lines=lines), None,
                 DocKind.application_form)  # fmt: skip
    seen: list[OcrLine] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        seen.append(line)
        return [OcrLine(text="二〇二五年一月十三日", poly=line.poly, confidence=0.95)] * 2

    reg.reread = reread
    assert extract_application_form(reg)["sign_date"].value == "2025-01-13"
    assert seen[0].bbox[2] >= 1216 - 1  # reaching over 三日


def test_a_seals_number_under_a_date_that_filled_its_cell_is_no_wrap_of_it() -> None:
    """Acc3 60024: 填表日期：2026/7/6 reached the cell's edge, the seal's 13-digit number
    under it was joined on: 2026/7/65957508897780, no date. A whole date ends its field."""
    from docpipe.layout import in_cells

    cells = [(100, 1250, 780, 1400), (780, 1250, 1110, 1400)]
    lines = [ln("填表日期：2026/7/6", 791, 1292, w=302), ln("5957508897780", 840, 1335, w=200)]
    page = OcrPage(width=1413, height=2000, lines=lines, source="text-layer", cells=cells)
    reg = Region("form.pdf", 1, lines, page, None, DocKind.application_form)
    assert [x.text for x in in_cells(lines, reg.grid())] == [x.text for x in lines]
    assert form(lines, cells)["sign_date"] == "2026-07-06"


def test_a_date_label_whose_box_stops_inside_the_date_is_read_further_right() -> None:
    """Acc3 60065: the detector's box ended at 申请日期：2025年; read again reaching right."""
    lines = [ln("申请日期：2025年", 861, 1465, w=184)]
    reg = Region("f.jpg", 1, lines, OcrPage(width=1413, height=2000, lines=lines), None,
                 DocKind.application_form)  # fmt: skip
    reaches: list[float] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        reaches.append(reach)
        return [OcrLine(text="申请日期：2025年9月30日", poly=line.poly, confidence=0.96)] * 2

    reg.reread = reread
    assert extract_application_form(reg)["sign_date"].value == "2025-09-30"
    assert reaches and min(reaches) >= 5.0


def test_a_form_date_padded_unevenly_is_in_doubt() -> None:
    """Acc3 60023: 2026年04月1日, the 5 of 15 under the seal; 2026年4月1日 stays sure."""
    from docpipe.compare import DOUBT_BELOW

    def signed(text: str) -> float:
        lines = [ln(text, 900, 1600, w=300)]
        page = OcrPage(width=1413, height=2000, lines=lines)
        got = extract_application_form(
            Region("f.jpg", 1, lines, page, None, DocKind.application_form)
        )
        return got["sign_date"].confidence

    assert signed("日期：2026年04月1日") < DOUBT_BELOW <= signed("日期：2026年4月1日")


def test_a_qr_captions_fine_print_does_not_shrink_the_wrap_gap() -> None:
    """Acc3 60242: the caption's words are stop words, but its small, close rows are no
    field rows: counted, they made the scope's second line look like a new field."""
    from test_extract_business_license import read as read_lines

    def box(x0: float, y0: float, x1: float, y1: float, text: str) -> OcrLine:
        return OcrLine(text=text, poly=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], confidence=1.0)

    lines = [
        box(129, 130, 374, 166, "统一社会信用代码"), box(131, 176, 566, 209, CODE),
        box(717, 312, 1267, 437, "营业执照"),
        box(1074, 575, 1197, 611, "营业场所"), box(129, 576, 194, 610, "名称"),
        box(221, 576, 710, 611, "上海永金科技有限公司宁波北仑分公司"),
        box(1223, 578, 1837, 609, "浙江省宁波市北仑区明辉路625号锦绣江南17幢3"),
        box(1225, 620, 1378, 654, "单元2304室"),
        box(129, 636, 194, 669, "类型"), box(219, 636, 539, 669, "其他有限责任公司分公司"),
        box(1074, 678, 1196, 713, "成立日期"), box(1222, 679, 1439, 712, "2010年01月06日"),
        box(127, 692, 224, 730, "负责人"), box(242, 693, 312, 729, "郭华"),
        box(1075, 739, 1197, 774, "营业期限"),
        box(1222, 740, 1678, 773, "2010年01月06日至2030年01月06日"),
        box(128, 753, 250, 787, "经营范围"),
        box(277, 755, 996, 785, "一般项目：货物进出口；技术进出口；进出口代理；针纺"),
        box(278, 799, 983, 833, "织品及原料销售；服装服饰零售；鞋帽批发；箱包销售；"),
        box(281, 844, 996, 874, "日用品销售；化妆品零售；玩具销售；工艺美术品及礼仪"),
        box(277, 885, 996, 919, "用品销售（象牙及其制品除外）（除依法须经批准的项目"),
        box(277, 927, 808, 963, "外，凭营业执照依法自主开展经营活动）。"),
        box(1333, 1119, 1498, 1164, "登记机关"), box(1434, 1167, 1484, 1216, "报"),
        box(131, 1191, 292, 1211, "扫描二维码登录“国家企"),
        box(131, 1209, 292, 1229, "业信用信息公示系统”了"),
        box(1388, 1218, 1705, 1255, "二〇二〇年八月二十日"),
        box(137, 1229, 287, 1249, "解更多登记、备案、许"),
        box(158, 1245, 257, 1268, "可、监管信息。"),
        box(1102, 1278, 1607, 1306, "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn"),
        box(1611, 1279, 1853, 1306, "国家市场监督管理总局监制"),
    ]  # fmt: skip
    scope = read_lines(lines)["business_scope"]
    assert scope is not None and scope.endswith("凭营业执照依法自主开展经营活动）。")


def test_a_box_printed_smaller_than_its_options_text_is_still_a_box() -> None:
    """Acc4 80085: □ and ■ a size below the option's text (14 px sides beside a 36 px
    line box), the OCR keeping none of the glyphs: the filled one is the ticked option."""
    import numpy as np
    from PIL import Image, ImageDraw

    from extractors._business import OPTIONS
    from extractors._ticks import find_options, ticked_by_pixels

    text = "新企业入网变更企业操作员新增企业操作员"
    x0, x1, pitch = 60.0, 915.0, 45.0  # 19 characters, 45 px each
    line = OcrLine(text=text, poly=[(x0, 22), (x1, 22), (x1, 58), (x0, 58)], confidence=0.97)
    assert 14 / line.height < 0.45  # under the smallest box seen before
    im = Image.new("RGB", (1000, 80), "white")
    draw = ImageDraw.Draw(im)
    for start, full in ((0, False), (5, True), (12, False)):
        x = round(x0 + start * pitch) - 22  # the box just left of its option's text
        draw.rectangle((x, 33, x + 14, 47), outline="black", fill="black" if full else None)
    found = find_options([line], OPTIONS)
    pick = ticked_by_pixels(found, np.asarray(im), lambda p: p)
    assert pick is not None and pick[0].code == "change_operator"
