"""Application form extractor: committed samples (text layer and scan) and layout variants."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from docpipe.classify import best_kind
from docpipe.compare import DOUBT_BELOW
from docpipe.extract import Region
from docpipe.intake import load_submission
from docpipe.models import DocKind, FieldValue
from docpipe.normalize import norm_text
from docpipe.ocr import get_engine
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.pages import open_pages
from docpipe.reading import read_page
from extractors._ticks import find_options, ticked
from extractors.application_form import BUSINESSES, DEVICES, extract_application_form

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"

# What the recorded OCR of a committed sample lost (checked in the image): the value must
# then be absent or doubtful, never a confident wrong one. Anything else must be exact.
KNOWN_OCR_DAMAGE = {
    ("case-0105-uscc-check-id-expired", "application_form", "device_type"),  # IC卡 read as "1"
}


def sample_documents(kind: str) -> list[tuple[Path, dict[str, object]]]:
    """(case folder, expected document) for every document of ``kind`` in the samples."""
    out = []
    for case in sorted(SAMPLES.glob("case-*")):
        expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        out += [(case, d) for d in expected["documents"] if d["kind"] == kind]
    return out


def read_sample(case: Path, doc: dict[str, object]) -> tuple[OcrPage, dict[str, FieldValue]]:
    """Read one sample document the way the pipeline does (recorded OCR or text layer)."""
    from docpipe.classify import classify_page
    from docpipe.reading import extract_region

    files = {a.name: a for a in load_submission(case / "submission").files}
    page = open_pages(files[str(doc["file"])])[int(str(doc["page"])) - 1]
    rp = read_page(page, get_engine())
    regions = [r for r in classify_page(rp.ocr, page.file, page.number) if r.kind == doc["kind"]]
    assert len(regions) == 1, f"{doc['file']} not classified as {doc['kind']}"
    return rp.ocr, extract_region(regions[0]).fields


def check_against_expected(
    case: Path, doc: dict[str, object], damage: set[tuple[str, str, str]]
) -> None:
    """Every expected field exact, or (known OCR damage only) absent or in doubt."""
    _, fields = read_sample(case, doc)
    wrong = set()
    expected = doc["fields"]
    assert isinstance(expected, dict)
    for name, value in expected.items():
        got = fields.get(name)
        if got is not None and got.value is not None and norm_text(got.value) == norm_text(value):
            continue
        wrong.add((case.name, str(doc["kind"]), name))
        assert got is None or got.value is None or got.confidence < DOUBT_BELOW, (
            f"{name}: confident wrong value {got.value!r} (expected {value!r})"
        )
    known = {k for k in damage if k[:2] == (case.name, doc["kind"])}
    assert wrong == known


@pytest.mark.parametrize(
    ("case", "doc"),
    sample_documents("application_form"),
    ids=lambda v: v.name if isinstance(v, Path) else str(v["file"]),
)
def test_sample_forms_read_exactly(case: Path, doc: dict[str, object]) -> None:
    """Each committed form (born-digital PDF or scan) gives exactly the expected fields."""
    check_against_expected(case, doc, KNOWN_OCR_DAMAGE)


def test_samples_hold_both_form_paths() -> None:
    """The committed samples exercise the text layer and the scan (so the above covers both)."""
    sources = {read_sample(c, d)[0].source for c, d in sample_documents("application_form")}
    assert sources == {"text-layer", "ocr"}


# ----------------------------------------------------------------------------- hand-built


def ln(
    text: str, x: float, y: float, *, w: float | None = None, h: float = 30, conf: float = 0.99
) -> OcrLine:
    """One OCR line with its top-left corner at (x, y)."""
    width = w if w is not None else 28 * len(text)
    return OcrLine(
        text=text,
        poly=[(x, y), (x + width, y), (x + width, y + h), (x, y + h)],
        confidence=conf,
    )


def region(lines: list[OcrLine], source: str = "ocr") -> Region:
    """A whole-page region of these lines."""
    page = OcrPage(width=1200, height=1600, lines=lines, source=source)
    return Region("form.jpg", 1, lines, page, None, DocKind.application_form)


ROWS = [
    ("企业名称", "杭州市宏华工贸有限公司"),
    ("统一社会信用代码", "91330106592460771J"),
    ("持卡人姓名", "蔡娜"),
    ("证件类型", "居民身份证"),
    ("身份证号码", "37020219790609668x"),
    ("性别", "女"),
    ("手机号码", "18090403771"),
    ("设备类型", "U盾"),
    ("介质编号", "7193919419210"),
]
EXPECTED = {
    "enterprise_name": "杭州市宏华工贸有限公司",
    "credit_code": "91330106592460771J",
    "operator_name": "蔡娜",
    "operator_id_type": "居民身份证",
    "operator_id_number": "37020219790609668X",
    "operator_gender": "女",
    "operator_mobile": "18090403771",
    "device_type": "U盾",
    "device_number": "7193919419210",
}


def table(rows: list[tuple[str, str]], x_label: float = 100, x_value: float = 400) -> list[OcrLine]:
    """Label cell left, value cell right, one row after the other."""
    out = [ln("电子口岸制发卡业务申请书", 300, 40, h=40)]
    for i, (label, value) in enumerate(rows):
        y = 120 + 60 * i
        out += [ln(label, x_label, y), ln(value, x_value, y)]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3], ids=lambda s: f"order{s}")
def test_label_variants_in_any_order(seed: int) -> None:
    """Variant labels, rows shuffled, page shifted: the same fields come out."""
    rows = list(ROWS)
    random.Random(seed).shuffle(rows)
    lines = table(rows, x_label=60 + 20 * seed, x_value=380 + 15 * seed)
    lines += [ln("签署日期：2025年 1月15日", 600, 900)]
    out = extract_application_form(region(lines))
    assert {k: v.value for k, v in out.items() if k in EXPECTED} == EXPECTED
    assert out["sign_date"].value == "2025-01-15"


@pytest.mark.parametrize("degrees", [-4.0, 3.0, 6.0])
def test_a_scan_a_few_degrees_askew_reads_the_same(degrees: float) -> None:
    """A tilted scan puts a value 300 px right of its label 20 px lower: still its row."""
    from docpipe.layout import _turn

    lines = [
        line.model_copy(update={"poly": _turn(line.poly, degrees)})
        for line in table(ROWS, x_value=700)
    ]
    page = OcrPage(width=1200, height=1600, lines=lines, skew=degrees)
    out = extract_application_form(
        Region("form.jpg", 1, lines, page, None, DocKind.application_form)
    )
    assert {k: v.value for k, v in out.items() if k in EXPECTED} == EXPECTED


def test_values_in_the_cell_below_and_glued_labels() -> None:
    """A header row of labels with the values under them; labels glued to values."""
    lines = [
        ln("电子口岸制发卡业务申请书", 300, 40, h=40),
        ln("企业名称：杭州市宏华工贸有限公司", 100, 120),
        ln("统一社会信用代码:91330106592460771J", 100, 180),
        ln("姓名", 100, 260),
        ln("证件号码", 300, 260),
        ln("联系电话", 800, 260),
        ln("蔡娜", 100, 310),
        ln("370202197906096686", 300, 310, w=330),
        ln("18090403771", 800, 310, w=200),
    ]
    out = extract_application_form(region(lines))
    assert out["enterprise_name"].value == "杭州市宏华工贸有限公司"
    assert out["credit_code"].value == "91330106592460771J"
    assert out["operator_name"].value == "蔡娜"
    assert out["operator_id_number"].value == "370202197906096686"
    assert out["operator_mobile"].value == "18090403771"
    # The box points at the value under the label, not at the label.
    assert out["operator_name"].bbox is not None and out["operator_name"].bbox[1] >= 310


BUSINESS_LINES = [
    "新企业入网",
    "变更企业操作员",
    "新增企业操作员",
    "遗失或损坏补办",
    "证书更新",
    "企业信息变更",
]


def options_block(marks: list[str], *, separate: bool) -> list[OcrLine]:
    """The 申请业务 row: six options, each with its mark glued or as its own small box."""
    out = [ln("申请业务", 100, 500)]
    for i, (mark, name) in enumerate(zip(marks, BUSINESS_LINES, strict=True)):
        x, y = 400 + (i % 3) * 300, 480 + (i // 3) * 45
        if separate and mark:
            out += [ln(mark, x, y + 5, w=20, h=20), ln(name, x + 30, y)]
        else:
            out.append(ln(mark + name, x, y))
    return out


@pytest.mark.parametrize(
    ("marks", "separate", "expected"),
    [
        (["□", "☑", "□", "□", "□", "□"], True, "change_operator"),
        (["□", "□", "■", "□", "□", "□"], False, "new_operator"),
        (["口", "口", "口", "√", "口", "口"], False, "lost_or_damaged"),
        (["□", "□", "□", "□", "☑", "□"], True, "certificate_renewal"),
        (["□ ", "□ ", "□ ", "□ ", "□ ", "区"], False, "enterprise_info_change"),
        # The tick hid the box from the OCR: the one bare option among empty boxes.
        (["□", "", "□", "□", "□", "□"], False, "change_operator"),
        # Two ticks, or no box read at all: cannot be told.
        (["□", "☑", "☑", "□", "□", "□"], True, None),
        (["", "", "", "", "", ""], False, None),
    ],
    ids=[
        "drawn-tick",
        "filled",
        "check-glyph",
        "renewal",
        "cross-glyph",
        "inferred",
        "two",
        "none",
    ],
)
def test_ticked_business(marks: list[str], separate: bool, expected: str | None) -> None:
    """The application type is the ticked option, whatever glyph the tick became."""
    out = extract_application_form(region(table(ROWS) + options_block(marks, separate=separate)))
    assert out["application_type"].value == expected
    if marks[1] == "" and expected:
        assert out["application_type"].confidence < 0.99  # inferred, not seen


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("☑IC卡 □U盾 □共享盾", "IC卡"),
        ("□IC卡 □U盾 ■共享盾", "共享盾"),
        ("□ IC卡 √ U盾 □ 共享盾", "U盾"),
        ("ＩＣ卡", "IC卡"),
        ("1", None),
    ],
    ids=["ticked-ic", "filled-shared", "check-u", "fullwidth", "garbled"],
)
def test_device_type(cell: str, expected: str | None) -> None:
    """Device type: the ticked one of three printed options; a garble is not guessed."""
    rows = [r if r[0] != "设备类型" else ("设备类型", cell) for r in ROWS]
    out = extract_application_form(region(table(rows)))
    assert out["device_type"].value == expected
    if expected is None:
        assert out["device_type"].confidence == 0.0
        assert out["device_type"].raw == cell


def test_date_at_the_foot_without_label() -> None:
    """``年 月 日`` under the seal, in separate boxes, is the sign date."""
    lines = [
        *table(ROWS),
        ln("企业（盖章）：", 600, 900),
        ln("2026", 600, 1000, w=80),
        ln("年", 690, 1000, w=30),
        ln("8", 730, 1000, w=20),
        ln("月", 760, 1000, w=30),
        ln("14", 800, 1000, w=40),
        ln("日", 850, 1000, w=30),
    ]
    out = extract_application_form(region(lines))
    assert out["sign_date"].value == "2026-08-14"
    assert out["sign_date"].bbox is not None and out["sign_date"].bbox[0] == 600


def test_ocr_confusions_and_doubts() -> None:
    """Look-alikes in numbers are repaired (a little less sure); bad shapes are doubtful."""
    rows = [
        ("企业名称", "杭州市宏华工贸有限公司"),
        ("统一社会信用代码", "9133O1O6592460771J"),
        ("证件号码", "3702021979O6096686"),
        ("移动电话", "1809040377"),
        ("设备编号", "71939l9419210"),
    ]
    out = extract_application_form(region(table(rows)))
    assert out["credit_code"].value == "91330106592460771J"
    assert DOUBT_BELOW <= out["credit_code"].confidence < 0.99
    assert out["operator_id_number"].value == "370202197906096686"
    assert out["operator_mobile"].confidence < DOUBT_BELOW
    assert out["device_number"].confidence < DOUBT_BELOW


def test_seal_over_a_scanned_value_makes_it_doubtful() -> None:
    """A legend piece crossing the enterprise name: the value is kept, but in doubt."""
    lines = [*table(ROWS), ln("工贸", 500, 112, w=60, h=40)]
    out = extract_application_form(region(lines))
    assert out["enterprise_name"].confidence < DOUBT_BELOW
    text_layer = extract_application_form(
        region([*table(ROWS), ln("工贸", 500, 112, w=60, h=40)], "text-layer")
    )
    assert text_layer["enterprise_name"].confidence == pytest.approx(0.99)


@pytest.mark.parametrize(
    ("texts", "kind"),
    [
        (["电子口岸制发卡业务申请书", "申请业务", "操作员姓名"], DocKind.application_form),
        (["企业授权委托书", "兹委托张三（身份证号码：…）前往"], DocKind.authorization_letter),
        (["姓名 张三", "公民身份号码", "签发机关", "有效期限"], None),
    ],
    ids=["form", "letter", "id-card"],
)
def test_classification_keywords(texts: list[str], kind: DocKind | None) -> None:
    """Form and letter cues are specific: an ID card's words select neither."""
    got, _ = best_kind([ln(t, 100, 100 + 50 * i) for i, t in enumerate(texts)])
    if kind is None:
        assert got not in (DocKind.application_form, DocKind.authorization_letter)
    else:
        assert got == kind


# ------------------------------------------------------------------ pixels and a second look


def _boxes_page(ticked: set[int], size: int = 26, tick_alone: bool = False) -> np.ndarray:
    """A scan row of three options, each a square box left of its text; ``ticked`` hold a tick.

    With ``tick_alone`` the boxes are not printed, only the tick strokes (no outline).
    """
    im = Image.new("RGB", (1200, 300), (246, 246, 242))
    d = ImageDraw.Draw(im)
    for i in range(3):
        x, y = 100 + 350 * i, 100
        if not tick_alone:
            d.rectangle((x, y, x + size, y + size), outline=(30, 30, 30), width=2)
        if i in ticked:
            d.line((x + 5, y + 13, x + 11, y + 21, x + 24, y - 4), fill=(20, 20, 20), width=3)
    return np.asarray(im)


OPTION_TEXTS = ("新企业入网", "变更企业操作员", "新增企业操作员")
OPTION_CODES = ("new_enterprise", "change_operator", "new_operator")


def _option_lines(box_inside: bool) -> list[OcrLine]:
    """OCR lines of the three options; the OCR dropped the boxes' glyphs.

    ``box_inside``: the detector's line box starts at the box (as on rendered scans),
    else at the text, right of the box.
    """
    x_of = (lambda i: 100 + 350 * i) if box_inside else (lambda i: 100 + 350 * i + 36)
    return [ln(t, x_of(i), 98, h=32) for i, t in enumerate(OPTION_TEXTS)]


@pytest.mark.parametrize("box_inside", [True, False], ids=["box-in-line", "box-left-of-line"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_the_ticked_box_is_seen_in_the_pixels(which: int, box_inside: bool) -> None:
    from extractors._ticks import find_options, ticked, ticked_by_pixels

    found = find_options(_option_lines(box_inside), BUSINESSES)
    assert ticked(found) is None  # the text alone cannot tell
    pick = ticked_by_pixels(found, _boxes_page({which}), lambda p: p)
    assert pick is not None and pick[0].code == OPTION_CODES[which]


@pytest.mark.parametrize(
    ("ticks", "tick_alone"),
    [(set(), False), ({0, 2}, False), ({1}, True)],
    ids=["none-ticked", "two-ticked", "no-box-outline"],
)
def test_pixels_that_do_not_tell_give_no_tick(ticks: set[int], tick_alone: bool) -> None:
    from extractors._ticks import find_options, ticked_by_pixels

    found = find_options(_option_lines(True), BUSINESSES)
    assert ticked_by_pixels(found, _boxes_page(ticks, tick_alone=tick_alone), lambda p: p) is None


def test_application_type_of_a_scan_comes_from_the_boxes() -> None:
    lines = table(ROWS) + _option_lines(True)
    lines = [
        x.model_copy(update={"poly": [(p[0], p[1] + 700) for p in x.poly]})
        if x.text in OPTION_TEXTS
        else x
        for x in lines
    ]
    page_px = np.full((1600, 1200, 3), 246, np.uint8)
    page_px[700:1000] = _boxes_page({1})
    reg = region(lines)
    assert extract_application_form(reg).get("application_type") is None or (
        extract_application_form(reg)["application_type"].value is None
    )
    reg.pixels = lambda: page_px
    got = extract_application_form(reg)["application_type"]
    assert got.value == "change_operator" and got.confidence < 1.0


def _rereads(*texts: str) -> Callable[[OcrLine, float], list[OcrLine]]:
    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        assert reach > 5  # the row is read well right of the label
        return [OcrLine(text=t, poly=line.poly, confidence=0.98) for t in texts]

    return reread


def test_an_undetected_device_type_is_read_beside_its_label() -> None:
    rows = [r for r in ROWS if r[0] != "设备类型"] + [("设备类型", "")]
    lines = [x for x in table(rows) if x.text]
    reg = region(lines)
    assert "device_type" not in extract_application_form(reg) or (
        extract_application_form(reg)["device_type"].value is None
    )
    reg.reread = _rereads("设备类型IC卡", "设备类型IC卡", "设备类塑1C卡")
    got = extract_application_form(reg)["device_type"]
    assert got.value == "IC卡" and got.raw == "IC卡"
    # One reading alone is not enough; nor is a text naming no option.
    reg.reread = _rereads("设备类型IC卡", "设备类型")
    unread = extract_application_form(reg).get("device_type")
    assert unread is None or unread.value is None


def test_a_device_type_misread_in_its_row_is_read_again() -> None:
    """accuracy case-5044 (serif print): IC卡 read ``It`` at 0.53, naming no device."""
    rows = [r for r in ROWS if r[0] != "设备类型"] + [("设备类型", "It")]
    reg = region(table(rows))
    first = extract_application_form(reg).get("device_type")
    assert first is None or first.value is None
    reg.reread = _rereads("设备类型IC卡", "设备类型IC卡")
    got = extract_application_form(reg)["device_type"]
    assert got.value == "IC卡" and got.raw == "IC卡"


def test_options_whose_labels_were_lost_are_the_lone_option_lines() -> None:
    """Serif bold labels blurred (证件类型 read 银, 设备类型 read 型; accuracy case-5003):
    the value cells 居民身份证 and 共享盾, each the only such line, are the values."""
    rows = [
        ("银", "居民身份证")
        if r[0] == "证件类型"
        else ("型", "共享盾")
        if r[0] == "设备类型"
        else r
        for r in ROWS
    ]
    out = extract_application_form(region(table(rows)))
    assert out["operator_id_type"].value == "居民身份证"
    assert out["device_type"].value == "共享盾"
    assert out["device_type"].confidence < 1.0  # found without its label: a little less sure
    # Two different options alone on lines: no telling which is the value.
    two = [*table(rows), ln("IC卡", 400, 1200)]
    got = extract_application_form(region(two)).get("device_type")
    assert got is None or got.value is None


def test_an_id_number_whose_label_was_lost_is_the_lone_valid_number() -> None:
    rows = [r for r in ROWS if r[0] != "身份证号码"]
    lines = [*table(rows), ln("370202197906096686", 400, 900)]
    out = extract_application_form(region(lines))
    assert out["operator_id_number"].value == "370202197906096686"
    # An invalid number alone on a line is not taken.
    lines = [*table(rows), ln("370202197906096681", 400, 900)]
    assert "operator_id_number" not in extract_application_form(region(lines))


@pytest.mark.parametrize(
    ("read", "value"),
    [
        ("属民身份证", "居民身份证"),
        ("居民费份证", "居民身份证"),
        ("居民身份", "居民身份"),
        ("护照", "护照"),
    ],
)
def test_an_id_type_one_character_off_the_list_is_that_type(read: str, value: str) -> None:
    rows = [(k, read if k == "证件类型" else v) for k, v in ROWS]
    assert extract_application_form(region(table(rows)))["operator_id_type"].value == value


def _rows_with(label: str, value: str | None, conf: float = 0.99) -> list[OcrLine]:
    """The table of ROWS with one row's value replaced (``None``: not detected)."""
    out = [ln("电子口岸制发卡业务申请书", 300, 40, h=40)]
    for i, (lab, val) in enumerate(ROWS):
        y = 120 + 60 * i
        out.append(ln(lab, 100, y))
        if lab != label:
            out.append(ln(val, 400, y))
        elif value is not None:
            out.append(ln(value, 400, y, conf=conf))
    return out


def test_a_doubtful_name_in_its_row_is_read_again() -> None:
    reg = region(_rows_with("持卡人姓名", "挺", conf=0.66))
    assert extract_application_form(reg)["operator_name"].value == "挺"  # no second look
    reg.reread = _rereads("持卡人姓名潘芮", "持卡人姓名潘芮", "持卡人姓名潘内")
    got = extract_application_form(reg)["operator_name"]
    assert got.value == "潘芮" and got.confidence >= DOUBT_BELOW


def test_a_second_look_beside_a_label_printed_as_its_short_word_drops_that_word() -> None:
    """Acc3 60064: the label printed 操作员 alone (not 操作员姓名), 叶翀 weak; the cut-out
    row reads 操作员叶翀, whose name is 叶翀."""
    rows = [("操作员", v) if lab == "持卡人姓名" else (lab, v) for lab, v in ROWS]
    lines = [ln("电子口岸制发卡业务申请书", 300, 40, h=40)]
    for i, (lab, val) in enumerate(rows):
        lines += [ln(lab, 100, 120 + 60 * i), ln(val, 400, 120 + 60 * i)]
    i = [lab for lab, _ in rows].index("操作员")
    lines[2 + 2 * i] = ln("叶翀", 400, 120 + 60 * i, conf=0.7)
    reg = region(lines)
    assert extract_application_form(reg)["operator_name"].value == "叶翀"
    reg.reread = _rereads("操作员叶翀", "操作员叶翀")
    got = extract_application_form(reg)["operator_name"]
    assert got.value == "叶翀" and got.confidence >= DOUBT_BELOW


def test_a_second_look_beside_a_label_worded_by_its_grammar_drops_that_wording() -> None:
    """Verify 90049: 企业全称 (found by the label's grammar, no listed variant), its value
    doubtful; the cut-out row reads 企业全称… whole: the name is what follows it."""
    rows = [("企业全称", v) if lab == "企业名称" else (lab, v) for lab, v in ROWS]
    lines = [ln("电子口岸制发卡业务申请书", 300, 40, h=40)]
    for i, (lab, val) in enumerate(rows):
        lines += [ln(lab, 100, 120 + 60 * i), ln(val, 400, 120 + 60 * i)]
    lines[2] = ln("杭州市宏华工贸有限公", 400, 120, conf=0.7)
    reg = region(lines)
    reg.reread = _rereads("企业全称杭州市宏华工贸有限公司", "企业全称杭州市宏华工贸有限公司")
    got = extract_application_form(reg)["enterprise_name"]
    assert got.value == "杭州市宏华工贸有限公司"


def test_a_confident_name_is_not_read_again() -> None:
    def never(line: OcrLine, reach: float) -> list[OcrLine]:
        raise AssertionError("read again")

    reg = region(_rows_with("持卡人姓名", "蔡娜"))
    reg.reread = never
    assert extract_application_form(reg)["operator_name"].value == "蔡娜"


def test_a_second_reading_naming_a_label_is_not_a_name() -> None:
    # Values printed under their labels: right of the label is the next label.
    reg = region(_rows_with("持卡人姓名", "挺", conf=0.66))
    reg.reread = _rereads("持卡人姓名证件类型", "持卡人姓名证件类型")
    assert extract_application_form(reg)["operator_name"].value == "挺"


def test_an_undetected_name_is_read_beside_its_label() -> None:
    reg = region(_rows_with("持卡人姓名", None))
    assert "operator_name" not in extract_application_form(reg)
    reg.reread = _rereads("持卡人姓名冯斌", "持卡人姓名冯斌")
    assert extract_application_form(reg)["operator_name"].value == "冯斌"


def test_a_long_doubtful_name_is_read_again_to_its_end() -> None:
    """A cut as short as the options' would end a long name early: 瑞安禾(义乌)进出口有."""
    asked: list[float] = []
    name = "瑞安禾（义乌）进出口有限公司"

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(reach)
        text = "企业名称" + (name if reach > 16 else name[:10])
        return [OcrLine(text=text, poly=line.poly, confidence=0.98)] * 2

    reg = region(_rows_with("企业名称", name.replace("禾", "未"), conf=0.7))
    reg.reread = reread
    got = extract_application_form(reg)["enterprise_name"]
    assert asked and min(asked) > 16
    assert norm_text(got.value or "") == norm_text(name)


def test_a_misread_sign_date_is_read_again() -> None:
    """Generated case 5095: 申请日期：2025年0i月16日 (an i for a 1)."""
    lines = [*table(ROWS), ln("申请日期：2025年0i月16日", 600, 900)]
    reg = region(lines)
    assert "sign_date" not in extract_application_form(reg)
    reg.reread = lambda line, reach: (
        [OcrLine(text="申请日期：2025年01月16日", poly=line.poly, confidence=0.97)] * 2
    )
    assert extract_application_form(reg)["sign_date"].value == "2025-01-16"


def test_a_second_reading_with_a_weak_character_does_not_settle_a_doubt() -> None:
    """bench/verify.py case-7044: 吕丽彧 read 吕丽或 twice, 或 weak: still a doubt."""
    reg = region(_rows_with("持卡人姓名", "吕丽或", conf=0.72))

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        text = "持卡人姓名吕丽或"
        confs = [0.99] * 7 + [0.55]
        return [OcrLine(text=text, poly=line.poly, confidence=0.95, char_confidences=confs)] * 2

    reg.reread = reread
    got = extract_application_form(reg)["operator_name"]
    assert got.value == "吕丽或" and got.confidence < DOUBT_BELOW  # the first reading, in doubt


def test_an_enterprise_name_whose_label_was_not_read_is_the_lone_name_at_the_top() -> None:
    rows = [r for r in ROWS if r[0] != "企业名称"]
    lines = [*table(rows), ln("杭州市宏华工贸有限公司", 400, 100)]
    assert (
        extract_application_form(region(lines))["enterprise_name"].value == "杭州市宏华工贸有限公司"
    )
    # Two name-shaped lines at the top: which is the enterprise cannot be told.
    lines = [*lines, ln("宁波市泰云工贸有限公司", 400, 140)]
    assert "enterprise_name" not in extract_application_form(region(lines))


def test_two_fields_to_a_row_with_the_second_label_misread() -> None:
    """姓名 | 任敏琳 | 性别 | 女 with 性别 read 盛 (accuracy case 5031, a two-column form):
    the name stops at the cell border, and the lone 女 is the gender."""
    rows = [r for r in ROWS if r[0] not in ("持卡人姓名", "性别")]
    lines = [
        *table(rows),
        ln("持卡人姓名", 100, 700),
        ln("任敏琳", 400, 700, w=84),
        ln("盛", 700, 700, w=28, conf=0.4),
        ln("女", 900, 700, w=28),
    ]
    out = extract_application_form(region(lines))
    assert out["operator_name"].value == "任敏琳"
    assert out["operator_gender"].value == "女"
    # Both genders standing alone (options printed without boxes): none is chosen.
    both = extract_application_form(region([*lines, ln("男", 1000, 700, w=28)]))
    assert "operator_gender" not in both or both["operator_gender"].value is None


def test_a_credit_code_label_wrapped_in_its_cell() -> None:
    """统一社会信用代 / 码 in a narrow label cell, the code beside and a little lower:
    the code is read (not 码), and the enterprise name above does not run on into it."""
    rows = [r for r in ROWS if r[0] != "统一社会信用代码"]
    lines = [
        *table(rows),
        # Boxes as read on accuracy case-5008: the code level with the label's lower
        # half falls into the row of 码.
        ln("统一社会信用代", 100, 600, h=27),
        ln("91330106592460771J", 400, 615, h=23),
        ln("码", 100, 623, w=29, h=32),
    ]
    out = extract_application_form(region(lines))
    assert out["credit_code"].value == "91330106592460771J"
    assert out["enterprise_name"].value == "杭州市宏华工贸有限公司"


def test_a_label_holding_another_fields_label_is_the_longer_one() -> None:
    """申请单位承诺：… holds 申请单位 (an enterprise-name label): with 企业名称 unread,
    the promise is not taken for the enterprise's name (accuracy case 5003)."""
    rows = [r for r in ROWS if r[0] != "企业名称"]
    lines = [*table(rows), ln("申请单位承诺：所填信息及所附材料真实有效。", 100, 700)]
    out = extract_application_form(region(lines))
    assert "承诺" not in str(out.get("enterprise_name") and out["enterprise_name"].value)


def test_a_business_typed_into_its_cell_without_boxes() -> None:
    """申请业务 | 变更企业操作员, no options to tick (accuracy seed 6200, varied forms:
    9 of 22 unread before): the one business named is the application type."""
    out = extract_application_form(region(table([*ROWS, ("申请业务", "变更企业操作员")])))
    assert out["application_type"].value == "change_operator"
    # Two businesses in the cell without a tick: not told.
    two = table([*ROWS, ("申请业务", "变更企业操作员 新增企业操作员")])
    got = extract_application_form(region(two)).get("application_type")
    assert got is None or got.value is None


@pytest.mark.parametrize(
    ("row", "want"),
    [
        ("□IC卡 ☑U盾 □共享盾", "U盾"),
        ("■IC卡 □U盾 □共享盾", "IC卡"),
        ("□IC卡 □U盾 √共享盾", "共享盾"),
        ("[ ]IC卡 [x]U盾 [ ]共享盾", "U盾"),
        ("（ ）IC卡 （ ）U盾 （✓）共享盾", "共享盾"),
    ],
)
def test_checkbox_list_glyphs_give_the_ticked_option(row: str, want: str) -> None:
    """A list of options in one line: the ticked one is the value, the glyph never is."""
    found = find_options(
        [OcrLine(text=row, poly=[(0, 0), (600, 0), (600, 30), (0, 30)], confidence=0.99)], DEVICES
    )
    pick = ticked(found)
    assert pick is not None
    assert pick[0].code == want


def test_a_date_label_beside_digits_that_are_no_date_is_read_again_and_outvoted() -> None:
    """Acc3 60011: 申请日期：20.10.03 on a blurred scan, the ring across 2026. The second
    looks disagree (2026 five times, 2020 twice, 2023 once, 2389 no year a form has):
    the date most of the dated readings give stands, in doubt; a tie gives none."""
    lines = [*table(ROWS), ln("申请日期：20.10.03", 600, 900)]
    reg = region(lines)
    assert "sign_date" not in extract_application_form(reg)
    texts = ["申请日期：2389.10.03", "申请日期：2026.10.03", "申请日期：28.10.03"]
    texts += ["申请日期：2026.10.03", "申请日期：2026.10.03", "申请日期：2020.10.03"]
    reg.reread = lambda line, reach: [
        OcrLine(text=t, poly=line.poly, confidence=0.97) for t in texts
    ]
    reg.reread_ringless = lambda line, reach: [
        OcrLine(text=t, poly=line.poly, confidence=0.97)
        for t in ("申请日期：2026.10.03", "申请日期：2026.10.03", "申请日期：2023.10.03")
    ]
    got = extract_application_form(reg)["sign_date"]
    assert got.value == "2026-10-03" and got.confidence < DOUBT_BELOW
    reg.reread_ringless = lambda line, reach: [
        OcrLine(text=t, poly=line.poly, confidence=0.97)
        for t in ("申请日期：2020.10.03", "申请日期：2020.10.03", "申请日期：2023.10.03")
    ]
    assert "sign_date" not in extract_application_form(reg)  # 2026 ×3 against 2020 ×3, 2023


def test_a_date_label_with_nothing_after_it_is_read_further_right() -> None:
    """Acc3 60045: 日期: alone in its box, the date beside it not detected."""
    reg = region([*table(ROWS), ln("日期:", 600, 900)])
    asked: list[float] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(reach)
        return [OcrLine(text="日期：二〇二四年十二月三十一日", poly=line.poly, confidence=0.9)] * 3

    reg.reread = reread
    assert extract_application_form(reg)["sign_date"].value == "2024-12-31"
    assert asked and min(asked) > 5


def test_a_page_of_many_broken_dates_is_read_again_a_few_lines_only() -> None:
    """Each line read again costs a dozen recognitions: a page of a hundred date-like
    lines (a hostile one) has a handful of them read again, not all."""
    lines = [
        *table(ROWS),
        *(ln(f"日期：20.1{i % 10}.0{i % 9}", 600, 900 + 10 * i) for i in range(100)),
    ]
    reg = region(lines)
    asked: list[str] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(line.text)
        return [OcrLine(text="日期：无", poly=line.poly, confidence=0.9)]

    reg.reread = reread
    assert "sign_date" not in extract_application_form(reg)
    assert 0 < len(asked) <= 5
