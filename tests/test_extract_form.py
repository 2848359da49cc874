"""Application form extractor: committed samples (text layer and scan) and layout variants."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

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
from extractors.application_form import extract_application_form

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
