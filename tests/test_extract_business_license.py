"""The business license extractor: recorded OCR of the samples, and hand-built layouts.

The samples' recorded OCR (replay engine) must give exactly the expected fields. The
hand-built line lists cover what the samples do not: the label variants of each entity
type, old-style terms, glued and half-read labels, a missing credit-code label, look-alike
letters in the code, a skewed photo.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from docpipe.checkdigits import is_valid_uscc
from docpipe.classify import best_kind, classify_page
from docpipe.compare import DOUBT_BELOW
from docpipe.extract import Region
from docpipe.intake import load_submission
from docpipe.models import DocKind, FieldValue
from docpipe.ocr import get_engine
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.pages import open_pages
from docpipe.reading import read_page
from extractors.business_license import extract_business_license

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
CODE = "91330106592460771J"  # valid check characters (synthetic)
SCOPE = "一般项目：五金产品批发；五金产品零售；家用电器销售。"


def _nfkc(v: str | None) -> str | None:
    return None if v is None else unicodedata.normalize("NFKC", v)


def _sample_pages() -> list[tuple[str, str, int]]:
    out = []
    for exp in sorted(SAMPLES.glob("case-*/expected.json")):
        for doc in json.loads(exp.read_text(encoding="utf-8"))["documents"]:
            out.append((exp.parent.name, doc["file"], doc["page"]))
    return out


def _read(case: str, file: str, page: int) -> OcrPage:
    intake = load_submission(SAMPLES / case / "submission")
    att = next(f for f in intake.files if f.name == file)
    return read_page(open_pages(att)[page - 1], get_engine()).ocr


def _expected(case: str, file: str, page: int) -> dict[str, object]:
    data = json.loads((SAMPLES / case / "expected.json").read_text(encoding="utf-8"))
    return next(d for d in data["documents"] if d["file"] == file and d["page"] == page)


LICENSE_PAGES = [
    p for p in _sample_pages() if _expected(*p)["kind"] == DocKind.business_license.value
]
OTHER_PAGES = [
    p for p in _sample_pages() if _expected(*p)["kind"] != DocKind.business_license.value
]


@pytest.mark.parametrize("case,file,page", LICENSE_PAGES, ids=lambda v: str(v))
def test_sample_license_read_exactly(case: str, file: str, page: int) -> None:
    """Every expected field is read exactly; the seal-only authority is None, not guessed."""
    ocr = _read(case, file, page)
    regions = classify_page(ocr, file, page)
    assert [r.kind for r in regions] == [DocKind.business_license]
    got = extract_business_license(regions[0])
    want = dict(_expected(case, file, page)["fields"])  # type: ignore[call-overload]
    authority = want.pop("registration_authority")
    assert got.pop("registration_authority").value in (None, authority)
    assert {k: _nfkc(v.value) for k, v in got.items()} == {k: _nfkc(v) for k, v in want.items()}
    assert all(v.bbox is not None and v.raw for v in got.values())


@pytest.mark.parametrize("case,file,page", OTHER_PAGES, ids=lambda v: str(v))
def test_other_documents_not_taken_for_a_license(case: str, file: str, page: int) -> None:
    """The application form and the letter also print 统一社会信用代码: still not licenses."""
    ocr = _read(case, file, page)
    assert DocKind.business_license not in [r.kind for r in classify_page(ocr, file, page)]


# --------------------------------------------------------------------------- hand-built


def ln(text: str, x: float, y: float, h: float = 24.0, conf: float = 0.99) -> OcrLine:
    """One OCR box of ``text`` at (x, y), one character per ``h`` pixels."""
    w = max(len(text), 1) * h
    return OcrLine(
        text=text, poly=[(x, y), (x + w, y), (x + w, y + h), (x, y + h)], confidence=conf
    )


def region(lines: list[OcrLine], skew: float = 0.0) -> Region:
    """A license region of a 1300 × 920 page."""
    page = OcrPage(width=1300, height=920, lines=lines, skew=skew)
    return Region("lic.jpg", 1, lines, page, None, DocKind.business_license)


def read(lines: list[OcrLine]) -> dict[str, str | None]:
    """The values read from ``lines``."""
    return {k: v.value for k, v in extract_business_license(region(lines)).items()}


def header(code: str = CODE, *, label: bool = True) -> list[OcrLine]:
    """Credit code under its label, licence number, title: the top of a new-style license."""
    out = [
        ln("证照编号：330106000201811230115", 900, 160, 18),
        ln(code, 80, 190),
        ln("营业执照", 480, 150, 70),
    ]
    return ([ln("统一社会信用代码", 80, 160)] if label else []) + out


def footer(date_text: str = "2018年09月09日") -> list[OcrLine]:
    """登记机关, the date under the seal, the footer line."""
    return [
        ln("登记机关", 780, 730),
        ln(date_text, 810, 790, 26),
        ln("国家企业信用信息公示系统网址：http://www.gsxt.gov.cn", 80, 845, 16),
    ]


def company(term: str = "2017年05月14日至2047年05月14日") -> list[OcrLine]:
    """A company license in two columns, the address wrapping beside the scope."""
    return [
        *header(),
        ln("名", 100, 300), ln("称杭州市宏华工贸有限公司", 180, 300),
        ln("注册资本100万元人民币", 685, 300),
        ln("类", 100, 350), ln("型", 180, 350), ln("有限责任公司(自然人投资或控股)", 220, 350),
        ln("成立日期", 685, 350), ln("2017年05月14日", 790, 350),
        ln("法定代表人", 100, 400), ln("皇甫喆", 215, 400),
        ln("营业期限", 685, 400), ln(term, 805, 400),
        ln("经营范围", 100, 450), ln("一般项目：五金产品批发；五金", 220, 450),
        ln("住", 685, 450), ln("所", 765, 450), ln("浙江省杭州市西湖区华星路883号", 805, 450, 20),
        ln("产品零售；家用电器销售。", 222, 478), ln("锦绣江南2幢1单元201室", 808, 478, 20),
        *footer(),
    ]  # fmt: skip


def test_company_two_columns() -> None:
    """Columns kept apart: the address continuation is not glued to the scope."""
    got = read(company())
    assert got == {
        "credit_code": CODE,
        "name": "杭州市宏华工贸有限公司",
        "enterprise_type": "有限责任公司(自然人投资或控股)",
        "legal_representative": "皇甫喆",
        "registered_capital": "100万元人民币",
        "established_date": "2017-05-14",
        "business_term_from": "2017-05-14",
        "business_term_to": "2047-05-14",
        "address": "浙江省杭州市西湖区华星路883号锦绣江南2幢1单元201室",
        "business_scope": SCOPE,
        "registration_authority": None,
        "issue_date": "2018-09-09",
    }


def _one_column(rows: list[tuple[str, str]], top: list[OcrLine] | None = None) -> list[OcrLine]:
    """An old-style single-column license: one ``label value`` box pair per row."""
    lines = list(header() if top is None else top)
    for i, (label, value) in enumerate(rows):
        lines.append(ln(label, 100, 300 + 45 * i))
        if value:
            lines.append(ln(value, 260, 300 + 45 * i))
    return lines + footer()


VARIANTS = {
    "individual": (
        [("名称", "义乌市源世永五金店"), ("类型", "个体工商户"), ("经营者", "吕祎"),
         ("组成形式", "个人经营"), ("注册日期", "2001年12月29日"),
         ("经营场所", "浙江省义乌市华星路613号"), ("经营范围", SCOPE)],
        {"legal_representative": "吕祎", "established_date": "2001-12-29",
         "address": "浙江省义乌市华星路613号"},
    ),
    "partnership": (
        [("名称", "宁波市泰云投资合伙企业(有限合伙)"), ("类型", "有限合伙企业"),
         ("执行事务合伙人", "邓晨"), ("出资额", "500万元人民币"), ("成立日期", "2015年3月2日"),
         ("合伙期限", "2015年3月2日至2035年3月1日"),
         ("主要经营场所", "浙江省宁波市北仑区新华西路925号"),
         ("经营范围", SCOPE)],
        {"legal_representative": "邓晨", "registered_capital": "500万元人民币",
         "business_term_from": "2015-03-02", "business_term_to": "2035-03-01",
         "address": "浙江省宁波市北仑区新华西路925号"},
    ),
    "branch": (
        [("名称", "杭州市宏华工贸有限公司滨江分公司"), ("类型", "有限责任公司分公司"),
         ("负责人", "彭玲"), ("成立日期", "2013年05月19日"), ("营业期限", "2013年05月19日至长期"),
         ("营业场所", "浙江省杭州市滨江区华星路470号"), ("经营范围", SCOPE)],
        {"legal_representative": "彭玲", "business_term_to": "长期",
         "address": "浙江省杭州市滨江区华星路470号"},
    ),
    "sole_proprietorship": (
        [("名称", "永康市嘉达五金厂"), ("类型", "个人独资企业"), ("投资人", "苏婧琪"),
         ("成立日期", "2012年03月07日"), ("营业期限", "2012年03月07日至永久"),
         ("住所", "浙江省永康市江南大道310号"), ("经营范围", SCOPE)],
        {"legal_representative": "苏婧琪", "business_term_from": "2012-03-07",
         "business_term_to": "长期"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(VARIANTS), ids=str)
def test_entity_type_label_variants(kind: str) -> None:
    """负责人 / 执行事务合伙人 / 投资人 / 经营者, 出资额, 合伙期限, 场所 variants."""
    rows, want = VARIANTS[kind]
    got = read(_one_column(rows))
    assert {k: got.get(k) for k in want} == want
    assert got["business_scope"] == SCOPE
    assert got["credit_code"] == CODE and got["issue_date"] == "2018-09-09"


def test_individual_license_has_no_term_fields() -> None:
    """个体工商户 prints no term: business_term_* are absent, not empty or guessed."""
    got = read(_one_column(VARIANTS["individual"][0]))
    assert "business_term_from" not in got and "business_term_to" not in got
    assert got["registration_authority"] is None
    assert "个人经营" not in str(got.values())  # 组成形式 stops values, is not one


@pytest.mark.parametrize(
    "printed,start,end",
    [
        ("自2011年07月21日至2031年07月20日", "2011-07-21", "2031-07-20"),
        ("自 2011年7月21日 至 2031年7月20日", "2011-07-21", "2031-07-20"),
        ("2011年07月21日 至 长期", "2011-07-21", "长期"),
        ("2011年07月21日至永久", "2011-07-21", "长期"),
        ("2011年07月21日至无固定期限", "2011-07-21", "长期"),
        ("2011年07月21日至", "2011-07-21", None),  # end not read: absent, not guessed
    ],
    ids=["old-style", "unpadded-spaced", "long-term", "permanent", "no-fixed", "end-unread"],
)
def test_term_spellings(printed: str, start: str, end: str | None) -> None:
    """Old-style 营业期限自 … 至 …, and every long-term wording normalised to 长期."""
    got = read(_one_column([("名称", "永康市天佳工贸有限公司"), ("营业期限", printed)]))
    assert got["business_term_from"] == start
    assert got.get("business_term_to") == end


def test_glued_labels_in_one_box() -> None:
    """A label glued after the previous value in one OCR box still splits the values."""
    lines = [
        *header(),
        ln("名称杭州市安瑞工贸有限公司注册资本200万元人民币", 100, 300),
        ln("法定代表人彭玲营业期限2013年05月19日至2043年05月18日", 100, 350),
        *footer(),
    ]
    got = read(lines)
    assert got["name"] == "杭州市安瑞工贸有限公司"
    assert got["registered_capital"] == "200万元人民币"
    assert got["legal_representative"] == "彭玲"
    assert (got["business_term_from"], got["business_term_to"]) == ("2013-05-19", "2043-05-18")


def test_half_read_spaced_labels() -> None:
    """称 (名 lost), 型 (类 lost) and a lone 住 (所 lost) still anchor their values."""
    lines = [
        *header(),
        ln("称 义乌市源世永五金店", 138, 300),
        ln("型 个体工商户", 143, 350),
        ln("住", 685, 400), ln("浙江省宁波市北仑区建设一路965号", 805, 400),
        *footer(),
    ]  # fmt: skip
    got = read(lines)
    assert got["name"] == "义乌市源世永五金店"
    assert got["enterprise_type"] == "个体工商户"
    assert got["address"] == "浙江省宁波市北仑区建设一路965号"


def test_a_spaced_label_read_whole_in_its_values_box() -> None:
    """Acc3 60016: ``名 称 宁波市…`` in one box, both halves read: the name starts after 称."""
    lines = [*header(), ln("名 称 宁波市北仑区源佳工贸商行", 124, 300), ln("类型", 124, 350),
             ln("个人独资企业", 259, 350), *footer()]  # fmt: skip
    assert read(lines)["name"] == "宁波市北仑区源佳工贸商行"


def test_label_halves_stacked_in_one_tall_box() -> None:
    """名 and 类 (of 名 称, 类 型) read as one tall box ``名类``; 称 and 型 glued to values.

    Seen on a license photographed 90° turned (verify case-7090): without the split the
    enterprise name was not found.
    """
    stacked = OcrLine(
        text="名类",
        poly=[(93, 292), (128, 292), (128, 381), (93, 381)],
        confidence=1.0,
    )
    lines = [
        *header(),
        stacked,
        ln("称义乌市晟纳贸易股份有限公司", 184, 293),
        ln("型 其他股份有限公司(非上市)", 183, 345),
        *footer(),
    ]
    got = read(lines)
    assert got["name"] == "义乌市晟纳贸易股份有限公司"
    assert got["enterprise_type"] == "其他股份有限公司(非上市)"


def test_label_halves_in_a_tall_box_that_reaches_past_its_text() -> None:
    """Verify seed 9700 case-9759: 名类 at y 371–481, the rows at 376–402 and 426–452,
    the labels' halves glued to the values with a colon (称：…, 型：…)."""
    stacked = OcrLine(
        text="名类",
        poly=[(117, 371), (151, 371), (151, 481), (117, 481)],
        confidence=1.0,
    )
    lines = [
        *header(),
        stacked,
        ln("称：安源金世（义乌）报关有限公司", 211, 376, 26),
        ln("型：有限责任公司(自然人独资)", 211, 426, 26),
        *footer(),
    ]
    got = read(lines)
    assert got["name"] == "安源金世（义乌）报关有限公司"
    assert got["enterprise_type"] == "有限责任公司(自然人独资)"


def test_a_misread_second_half_of_a_spaced_label_is_not_the_value() -> None:
    """类 … 型 with 型 read as 雨 at 0.36 (verify case-8091): the type has no 雨 in it."""
    lines = [
        *header(),
        ln("名称", 93, 298), ln("宁波市图天科技股份有限公司", 225, 300),
        ln("类", 92, 348), ln("雨", 183, 352, conf=0.36), ln("其他股份有限公司(非上市)", 226, 350),
        *footer(),
    ]  # fmt: skip
    got = read(lines)
    assert got["enterprise_type"] == "其他股份有限公司(非上市)"
    # A confidently read character there is text, and stays.
    lines[-len(footer()) - 2] = ln("雨", 183, 352, conf=0.99)
    assert read(lines)["enterprise_type"].startswith("雨")


def test_a_misread_first_half_of_a_spaced_label_is_not_the_value() -> None:
    """住 read 佳 in its own box, 所 glued to the address (accuracy case-5073): the scope
    beside it in the same row does not swallow the address, and the address is read."""
    address = "浙江省永康市中山北路224号锦绣江南9幢2单元2201室"
    lines = [
        *header(),
        ln("名称", 93, 298), ln("永康市海晟进出口有限公司", 225, 300),
        ln("经营范围", 93, 400), ln("一般项目：五金产品批发；家用", 225, 400, 20),
        ln("佳", 751, 402), ln("所" + address[:20], 832, 404, 18),
        ln("电器销售。", 225, 428, 20), ln(address[20:], 877, 430, 18),
        *footer(),
    ]  # fmt: skip
    got = read(lines)
    assert got["business_scope"] == "一般项目：五金产品批发；家用电器销售。"
    assert got["address"] == address
    # A value that only starts with 所 and has no lone character before it is left whole.
    lines[-len(footer()) - 4] = ln("x", 10, 900)
    assert "address" not in read(lines) or read(lines)["address"] != address


def test_overlapping_boxes_read_once() -> None:
    """Two overlapping boxes read the shared ``2`` twice; the value has it once."""
    lines = [*header(), ln("注册资本2", 684, 340, 28), ln("200万元人民币", 812, 340, 20), *footer()]
    assert read(lines)["registered_capital"] == "200万元人民币"


def test_code_without_its_label() -> None:
    """统一社会信用代码 not read: the only USCC-shaped run on the page is the code."""
    got = read(_one_column([("名称", "永康市天佳工贸有限公司")], top=header(label=False)))
    assert got["credit_code"] == CODE


def test_code_on_the_next_row_beside_the_title() -> None:
    """The code a row below its label, the big title between them in reading order."""
    top = [ln("统一社会信用代码", 70, 160), ln("营业执照", 460, 150, 80), ln(CODE, 72, 200)]
    assert read(_one_column([("名称", "永康市天佳工贸有限公司")], top=top))["credit_code"] == CODE


def test_licence_number_is_not_the_code() -> None:
    """An 18-digit 证照编号 beside an unread code is not taken for the credit code."""
    top = [ln("证照编号：", 900, 160), ln("330106000201811230", 1020, 160)]
    got = read(_one_column([("名称", "永康市天佳工贸有限公司")], top=top))
    assert "credit_code" not in got


def test_o_for_zero_chosen_by_check_characters() -> None:
    """O is not in the USCC alphabet; O→0 validates, so it is taken, marked and doubted."""
    misread = CODE[:13] + "O" + CODE[14:]
    assert CODE[13] == "0" and not is_valid_uscc(misread)
    fv: FieldValue = extract_business_license(region(header(misread) + footer()))["credit_code"]
    assert fv.value == CODE
    assert fv.raw is not None and misread in fv.raw and "O→0" in fv.raw
    assert fv.confidence < 0.99


def test_look_alike_that_does_not_validate_is_left_as_read() -> None:
    """O→0 still fails the check: the value stays as read (the format rule judges it)."""
    misread = "9133010659246O771K"
    got = read(header(misread) + footer())
    assert got["credit_code"] == misread


def test_b_and_8_not_swapped_without_the_engines_doubt() -> None:
    """A code whose check fails keeps its B/8 as read when the engine was sure of them."""
    wrong = "913302067329484037"  # check character wrong on purpose (case-0105)
    assert read(header(wrong) + footer())["credit_code"] == wrong


def test_issue_date_is_the_date_nearest_the_lower_right() -> None:
    """Not 成立日期, not the term; the seal date even when a row holds other dates."""
    lines = [*company(), ln("2018年09月", 810, 790, 26), ln("10日", 1030, 790, 26)]
    lines = [x for x in lines if x.text != "2018年09月09日"]
    got = read(lines)
    assert got["issue_date"] == "2018-09-10"
    assert got["established_date"] == "2017-05-14"


def test_issue_date_unread_is_absent() -> None:
    """The seal hid the date entirely: no issue date, and no other date taken for it."""
    lines = [x for x in company() if x.text != "2018年09月09日"]
    assert "issue_date" not in read(lines)


def test_registration_authority_after_its_label() -> None:
    """登记机关 followed by the authority's name gives it; nothing else is guessed."""
    lines = [x for x in company() if x.text != "登记机关"]
    lines.append(ln("登记机关 杭州市西湖区市场监督管理局", 700, 730))
    assert read(lines)["registration_authority"] == "杭州市西湖区市场监督管理局"


def _rotate(lines: list[OcrLine], degrees: float, cx: float, cy: float) -> list[OcrLine]:
    a = math.radians(degrees)

    def turn(p: tuple[float, float]) -> tuple[float, float]:
        dx, dy = p[0] - cx, p[1] - cy
        return (cx + dx * math.cos(a) - dy * math.sin(a), cy + dx * math.sin(a) + dy * math.cos(a))

    return [x.model_copy(update={"poly": [turn(p) for p in x.poly]}) for x in lines]


def test_skewed_photo_rows_line_up() -> None:
    """A photo turned 6°: the right column's labels still find their values."""
    straight = extract_business_license(region(company()))
    tilted = _rotate(company(), 6.0, 650, 500)
    got = extract_business_license(region(tilted, skew=6.0))
    assert {k: v.value for k, v in got.items()} == {k: v.value for k, v in straight.items()}
    x0, y0, x1, y1 = got["registered_capital"].bbox or (0, 0, 0, 0)
    # Reported in the page's pixels, around where the tilted box stands.
    box = next(x for x in tilted if x.text.startswith("注册资本")).bbox
    assert x0 < box[2] and x1 > box[0] and y0 < box[3] and y1 > box[1]


def test_hand_built_license_is_classified_as_license() -> None:
    """The keywords of a license reach its threshold."""
    assert best_kind(company())[0] == DocKind.business_license


@pytest.mark.parametrize(
    "arc,want",
    [
        ("杭州市西湖区市场监督管理局", "杭州市西湖区市场监督管理局"),
        ("杭州市高新区（滨江）市场监督管理局", "杭州市高新区（滨江）市场监督管理局"),
        ("西湖区市场监督管理局", None),  # the arc's start lost: a partial name is no value
        ("监督管理局", None),
    ],
    ids=["whole", "bracketed", "partial-arc", "fragment"],
)
def test_registration_authority_from_the_seal_only_when_whole(arc: str, want: str | None) -> None:
    """The seal's arc read as one line counts only when the whole name is there."""
    assert read([*company(), ln(arc, 760, 700, 20)])["registration_authority"] == want


def _rereading(*texts: str) -> Callable[[OcrLine, float], list[OcrLine]]:
    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        # A date's line, or the empty place under 登记机关 (``date_below``).
        assert reach == 0.0 and ("年" in line.text or not line.text)
        return [OcrLine(text=t, poly=line.poly, confidence=0.99) for t in texts]

    return reread


def test_an_issue_date_with_a_digit_lost_under_the_seal_is_read_again() -> None:
    """Generated case 5033: the ring took a digit, 202年09月16日 at confidence 1.0."""
    lines = [*company()[:-3], *footer("202年09月16日")]
    reg = region(lines)
    assert "issue_date" not in extract_business_license(reg)
    reg.reread = _rereading("2024年09月16日", "2024年09月16日")
    got = extract_business_license(reg)["issue_date"]
    assert got.value == "2024-09-16" and got.raw == "2024年09月16日" and got.bbox is not None
    # Second readings that disagree leave it unread: no guess between 2024 and 2021.
    reg.reread = _rereading("2024年09月16日", "2021年09月16日")
    assert "issue_date" not in extract_business_license(reg)
    # ...unless the ringless readings (the ring faded) all give one date (serif case 5050).
    reg.reread_ringless = _rereading("2024年09月16日", "2024年09月16日")
    assert extract_business_license(reg)["issue_date"].value == "2024-09-16"
    reg.reread_ringless = _rereading("2024年09月16日", "2021年09月16日")
    assert "issue_date" not in extract_business_license(reg)


def test_a_numeral_date_whose_year_lost_its_head_is_read_from_further_left() -> None:
    """Accuracy 20041: the ring crossed 二〇 of 二〇一六年五月十九日; the box began at 一六年.

    The second look cuts the line wider on the left (where the lost characters are);
    readings that give no date abstain, a year that lost one 〇 gives the one year it can
    be, and the date stands in doubt, never sure.
    """
    lines = [*company()[:-3], *footer("一六年五月十九日")]
    reg = region(lines)
    assert "issue_date" not in extract_business_license(reg)
    seen: list[OcrLine] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        seen.append(line)
        texts = ("二〇一六年五月十九日", "二一六年五月十九日", "二〇一六年五月十九日")
        return [OcrLine(text=t, poly=line.poly, confidence=0.99) for t in texts]

    reg.reread = reread
    got = extract_business_license(reg)["issue_date"]
    assert got.value == "2016-05-19" and got.confidence < DOUBT_BELOW
    box = next(x for x in lines if x.text == "一六年五月十九日").bbox
    # Reached at least three line heights further left, no further right.
    assert seen[0].bbox[0] <= box[0] - 3 * 26 + 1 and seen[0].bbox[2] == pytest.approx(box[2])
    reg.reread = _rereading("二二一年十一月九日", "二二一年十一月九日")
    assert extract_business_license(reg)["issue_date"].value == "2021-11-09"
    # A reading that gives another date contradicts: unread.
    reg.reread = _rereading("二〇一六年五月十九日", "二〇一五年五月十九日")
    assert "issue_date" not in extract_business_license(reg)


def test_an_issue_date_the_detector_missed_is_read_under_its_label() -> None:
    """Verify 70045: the ring crossed the whole date and the detector gave no box; the
    place under 登记机关 is read like a line, its year short of the 2 under the ring."""
    lines = [*company()[:-3], *[x for x in footer() if x.text != "2018年09月09日"]]
    reg = region(lines)
    assert "issue_date" not in extract_business_license(reg)
    label = next(x for x in lines if x.text == "登记机关").bbox
    looked: list[OcrLine] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        looked.append(line)
        texts = ("021年10月24日", "021年10月24", "2021年10月24日", "021年10月24日")
        return [OcrLine(text=t, poly=line.poly, confidence=0.95) for t in texts]

    reg.reread = reread
    got = extract_business_license(reg)["issue_date"]
    assert got.value == "2021-10-24" and got.confidence < DOUBT_BELOW
    assert looked and looked[0].bbox[1] > label[3]  # under the label, not over it
    reg.reread = _rereading("2021年10月24日", "2020年10月24日")
    assert "issue_date" not in extract_business_license(reg)


@pytest.mark.parametrize(
    "printed,value",
    [("2011年09月1日", "2011-09-01"), ("2085年01月31日", "2085-01-31")],
    ids=["day-lost-a-digit", "not-yet-come"],
)
def test_an_issue_date_the_license_cannot_print_is_in_doubt(printed: str, value: str) -> None:
    """A padded month beside a one-digit day, or a date ahead: read, but never sure."""
    got = extract_business_license(region([*company()[:-3], *footer(printed)]))["issue_date"]
    assert got.value == value and got.confidence < DOUBT_BELOW
    sure = extract_business_license(region([*company()[:-3], *footer("2011年9月1日")]))
    assert sure["issue_date"].confidence >= DOUBT_BELOW


def _scored(*readings: tuple[str, float]) -> Callable[[OcrLine, float], list[OcrLine]]:
    """Second readings, each scoring every character but the fourth 1.0, that one as given."""

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        return [
            OcrLine(
                text=t,
                poly=line.poly,
                confidence=0.95,
                char_confidences=[1.0, 1.0, 1.0, fourth, *[1.0] * (len(t) - 4)],
            )
            for t, fourth in readings
        ]

    return reread


def test_readings_sure_of_every_character_outvote_a_weak_one() -> None:
    """Letter case 5075: 2026 once with its 6 at 0.63, 2025 by readings sure of every
    character: 2025, in doubt. Readings as weak as the dissent settle nothing."""
    reg = region([*company()[:-3], *footer("2025年0月8日")])
    sure, weak = ("2025年6月8日", 1.0), ("2025年6月8日", 0.61)
    reg.reread = _scored(("2026年6月8日", 0.63), sure, weak, sure)
    got = extract_business_license(reg)["issue_date"]
    assert got.value == "2025-06-08" and got.confidence < DOUBT_BELOW
    reg.reread = _scored(("2026年6月8日", 0.63), weak, weak, sure)
    assert "issue_date" not in extract_business_license(reg)
    reg.reread = _scored(("2026年6月8日", 1.0), sure, sure)
    assert "issue_date" not in extract_business_license(reg)


def _with_person(text: str, conf: float) -> list[OcrLine]:
    lines = [line for line in company() if line.text not in ("法定代表人", "皇甫喆")]
    return [*lines, ln(text, 100, 400, conf=conf)]


def _readings(*texts: str) -> Callable[[OcrLine, float], list[OcrLine]]:
    return lambda line, reach: [OcrLine(text=t, poly=line.poly, confidence=0.95) for t in texts]


@pytest.mark.parametrize(
    ("conf", "again", "want"),
    [
        # Accuracy case-5014: 余浩君 at 0.94 with 君 doubted, 余浩珺 in every second look.
        (0.85, ["法定代表人　余浩珺"] * 6, "余浩珺"),
        # A sure reading is not voted on.
        (0.99, ["法定代表人　余浩珺"] * 6, "余浩君"),
        # The label's tail in the cut (人余浩珺) is not a person of the page's length.
        (0.85, ["人余浩珺"] * 6, "余浩君"),
        # Not every second look (varied case-5033: 范淼林 right on the page, 范森林 in
        # five looks of six).
        (0.85, ["法定代表人余浩珺"] * 5 + ["法定代表人余浩君"], "余浩君"),
    ],
    ids=["every-look", "sure", "label-tail", "not-every-look"],
)
def test_a_doubtful_legal_representative_is_what_most_second_looks_read(
    conf: float, again: list[str], want: str
) -> None:
    reg = region(_with_person("法定代表人余浩君", conf))
    reg.reread = _readings(*again)
    got = extract_business_license(reg)["legal_representative"]
    assert got.value == want
    assert got.confidence == conf  # the page's doubt, whatever the vote


def test_a_capital_whose_label_was_lost_is_the_one_amount_on_the_page() -> None:
    """注册资本 lost to motion blur (accuracy case 5017, a portrait 正本): the one line
    shaped like an amount is the capital, a little less sure; two such lines, none."""
    rows = [("名称", "杭州市宏华工贸有限公司"), ("法定代表人", "皇甫喆"), ("", "200万元人民币")]
    lines = [line for line in _one_column(rows) if line.text]
    got = extract_business_license(region(lines))["registered_capital"]
    assert got.value == "200万元人民币" and got.confidence < 0.99
    assert "registered_capital" not in read([*lines, ln("50万美元", 260, 600)])


def test_a_person_the_detector_missed_is_read_beside_the_label() -> None:
    """Verify 90058: 投资人 with no box beside it (肖翀 not detected): the row is read
    again right of the label; a reading that runs into a label is no name."""
    lines = [x for x in company() if x.text != "皇甫喆"]
    reg = region(lines)
    assert "legal_representative" not in extract_business_license(reg)
    asked: list[float] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(reach)
        return [OcrLine(text=t, poly=line.poly, confidence=0.98) for t in ("法定代表人肖翀",) * 2]

    reg.reread = reread
    assert extract_business_license(reg)["legal_representative"].value == "肖翀"
    assert asked and all(r <= 8 for r in asked)  # the other column's label left out

    def into_label(line: OcrLine, reach: float) -> list[OcrLine]:
        return [OcrLine(text="法定代表人营业期限", poly=line.poly, confidence=0.98)] * 2

    reg.reread = into_label
    assert "legal_representative" not in extract_business_license(reg)
