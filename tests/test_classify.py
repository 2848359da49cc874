"""Page classification and the cut of a two-sided ID page into its front and back.

Runs on the committed samples' recorded OCR (replay engine) and on line lists derived
from them: the template turned a quarter, two cards side by side, a stray cue word.
Letters and forms print 身份证号码, 证件号码, 姓名, 性别 and 居民身份证 too; they must
not become ID cards.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from docpipe.classify import Sides, best_kind, classify_page, scores, split_id_sides
from docpipe.extract import load_extractors
from docpipe.intake import load_submission
from docpipe.models import BBox, DocKind
from docpipe.ocr import get_engine
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.ocr.orient import make_upright
from docpipe.pages import open_pages
from docpipe.reading import extract_region, read_page
from extractors.id_card import BACK, FRONT, THRESHOLD

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
ID_KINDS = {DocKind.id_card_front, DocKind.id_card_back}
RESIDENT = Sides.of(FRONT, BACK)


@cache
def sample_page(case: str, file: str) -> OcrPage:
    """The upright OCR page (page 1) of one attachment of a committed sample."""
    intake = load_submission(SAMPLES / case / "submission")
    (att,) = [f for f in intake.files if f.name == file]
    return read_page(open_pages(att)[0], get_engine()).ocr


def expected_by_file(case: str) -> dict[str, list[dict[str, Any]]]:
    """expected.json documents of a sample, grouped by file."""
    docs = json.loads((SAMPLES / case / "expected.json").read_text(encoding="utf-8"))["documents"]
    out: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        out.setdefault(d["file"], []).append(d)
    return out


def _sample_files() -> list[Any]:
    return [
        pytest.param(case.name, file, id=f"{case.name[:9]}-{file}")
        for case in sorted(SAMPLES.glob("case-*"))
        for file in expected_by_file(case.name)
    ]


@pytest.mark.parametrize(("case", "file"), _sample_files())
def test_sample_page_kinds(case: str, file: str) -> None:
    """Each sample page gets its expected ID kinds, and non-ID pages get none."""
    want = sorted(d["kind"] for d in expected_by_file(case)[file])
    regions = classify_page(sample_page(case, file), file, 1)
    got = sorted(r.kind.value for r in regions)
    want_ids = [k for k in want if DocKind(k) in ID_KINDS]
    assert [k for k in got if DocKind(k) in ID_KINDS] == want_ids
    registered = set(load_extractors().names())
    if all(k in registered for k in want):
        # Once every expected kind has its extractor, the page must be exactly that.
        assert got == want


TEMPLATES = [
    ("case-0104", "操作员身份证.jpg"),
    ("case-0105-uscc-check-id-expired", "法人身份证.jpg"),
    ("case-0107", "法人身份证.jpg"),
    ("case-0110-id-check-dev-distinct", "操作员身份证.jpg"),
]


def _disjoint(a: BBox, b: BBox) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


@pytest.mark.parametrize(("case", "file"), [pytest.param(*t, id=t[0][:9]) for t in TEMPLATES])
def test_template_yields_front_above_back(case: str, file: str) -> None:
    """The one-page template gives one front and one back region, boxes apart, front on top."""
    regions = classify_page(sample_page(case, file), file, 1)
    assert [r.kind for r in regions] == [DocKind.id_card_front, DocKind.id_card_back]
    front, back = regions
    assert front.bbox is not None and back.bbox is not None
    assert _disjoint(front.bbox, back.bbox)
    assert front.bbox[3] <= back.bbox[1]
    assert any("公民身份号码" in ln.text for ln in front.lines)
    assert not any("公民身份号码" in ln.text for ln in back.lines)
    assert any("签发机关" in ln.text for ln in back.lines)


def _shift(lines: list[OcrLine], dx: float, dy: float) -> list[OcrLine]:
    return [ln.model_copy(update={"poly": [(x + dx, y + dy) for x, y in ln.poly]}) for ln in lines]


def _fields(regions: list[Any]) -> dict[DocKind, dict[str, str | None]]:
    return {r.kind: {k: v.value for k, v in extract_region(r).fields.items()} for r in regions}


def _expected_fields(case: str, file: str) -> dict[DocKind, dict[str, str]]:
    return {DocKind(d["kind"]): d["fields"] for d in expected_by_file(case)[file]}


@pytest.mark.parametrize("back_left", [False, True], ids=["front-left", "back-left"])
def test_two_cards_side_by_side(back_left: bool) -> None:
    """Front and back photographed side by side are cut down the middle, fields intact."""
    case = "case-0104"
    front = list(sample_page(case, "法人身份证正面.jpg").lines)
    back = list(sample_page(case, "法人身份证反面.jpg").lines)
    # Cards 1000 px wide, 60 px apart, the right one a little lower (a photo on a desk).
    lines = back + _shift(front, 1060, 25) if back_left else front + _shift(back, 1060, 25)
    page = OcrPage(width=2100, height=700, lines=lines)
    regions = classify_page(page, "both.jpg", 1)
    assert sorted(r.kind for r in regions) == sorted(ID_KINDS)
    a, b = (r.bbox for r in regions)
    assert a is not None and b is not None and _disjoint(a, b)
    want = {
        **_expected_fields(case, "法人身份证正面.jpg"),
        **_expected_fields(case, "法人身份证反面.jpg"),
    }
    assert _fields(regions) == want


def _as_turned(lines: list[OcrLine], width: int, height: int) -> list[OcrLine]:
    """The lines an engine returns for the upright page turned a quarter clockwise.

    Undoes ``rotate_point(·, 90)``: the engine sees a tall page whose text runs down;
    it reads each (tall) box after turning the crop, so ``flipped`` stays False.
    """
    out = []
    for ln in lines:
        pts = [(height - y, x) for x, y in ln.poly]
        out.append(ln.model_copy(update={"poly": pts}))
    return out


def test_quarter_turned_template_split_after_orient() -> None:
    """A template photographed sideways is turned upright by orient, then split as usual."""
    case, file = TEMPLATES[0]
    upright = sample_page(case, file)
    turned = _as_turned(list(upright.lines), upright.width, upright.height)
    page, rotation = make_upright(turned, upright.height, upright.width)
    assert rotation == 90
    regions = classify_page(page, file, 1)
    assert [r.kind for r in regions] == [DocKind.id_card_front, DocKind.id_card_back]
    assert _fields(regions) == _expected_fields(case, file)


def test_stray_cue_does_not_stop_the_split() -> None:
    """A misread cue word on the wrong card (民族 in the back's noise) still splits."""
    case, file = TEMPLATES[0]
    page = sample_page(case, file)
    stray = OcrLine(
        text="民族", poly=[(700, 1200), (760, 1200), (760, 1230), (700, 1230)], confidence=0.4
    )
    sides = split_id_sides([*page.lines, stray], RESIDENT)
    assert sides is not None
    front, back = sides
    assert stray in back
    assert any("公民身份号码" in ln.text for ln in front)


def test_template_with_front_labels_misread_is_split_by_its_number() -> None:
    """Generated case 5001 (motion-blurred, upside down): only 姓名 of the front's labels
    was read (性别 as 修科, 公民身份号码 as 公号); its valid ID number marks the front."""

    def at(text: str, x: float, y: float) -> OcrLine:
        w = 24 * len(text)
        return OcrLine(
            text=text, poly=[(x, y), (x + w, y), (x + w, y + 28), (x, y + 28)], confidence=0.9
        )

    lines = [
        at("身份证明材料", 382, 74), at("姓名", 176, 229), at("石婷", 254, 227),
        at("修科", 177, 285), at("女", 231, 284), at("1984年2月23日", 260, 339),
        at("四川省成都市武侯区稠州", 259, 394), at("公号", 178, 539),
        at("510107198402236320", 355, 535),
        at("中华人民共和国", 359, 773), at("居民身份证", 337, 833),
        at("签发机关", 251, 1007), at("成都市公安局武侯区分局", 374, 1006),
        at("有效期限", 251, 1062), at("2024.08.09-2044.08.09", 373, 1063),
    ]  # fmt: skip
    page = OcrPage(width=990, height=1401, lines=lines)
    regions = classify_page(page, "法人身份证.jpg", 1)
    assert [r.kind for r in regions] == [DocKind.id_card_front, DocKind.id_card_back]
    assert any(ln.text == "510107198402236320" for ln in regions[0].lines)
    assert all(ln.center[1] > 700 for ln in regions[1].lines)


@pytest.mark.parametrize(
    "file",
    ["法人身份证正面.jpg", "法人身份证反面.jpg"],
    ids=["front-only", "back-only"],
)
def test_single_side_is_not_split(file: str) -> None:
    """A page with one side is one region of that side."""
    page = sample_page("case-0104", file)
    assert split_id_sides(page.lines, RESIDENT) is None
    (region,) = classify_page(page, file, 1)
    assert region.kind == (DocKind.id_card_front if "正面" in file else DocKind.id_card_back)
    assert region.bbox is None


# --------------------------------------------------------------------------- not ID cards


def _lines(*texts: str) -> list[OcrLine]:
    return [
        OcrLine(
            text=t,
            poly=[
                (60, 60 + 50 * i),
                (60 + 28 * len(t), 60 + 50 * i),
                (60 + 28 * len(t), 90 + 50 * i),
                (60, 90 + 50 * i),
            ],
            confidence=0.99,
        )
        for i, t in enumerate(texts)
    ]


LETTER = _lines(
    "企业授权委托书",
    "中国电子口岸数据中心杭州分中心：",
    "兹委托张三（身份证号码：330106199001021234）前往中国电子口岸数据中心",
    "杭州分中心办理电子口岸卡变更操作员业务，并代为领取相关介质设备。",
    "被委托人姓名、性别及居民身份证信息以所附材料为准。",
    "委托期限：自签发之日起至上述事项办结之日止。",
    "委托单位（盖章）：杭州市宏华工贸有限公司",
    "2025年1月15日",
)
FORM = _lines(
    "电子口岸制发卡业务申请书",
    "企业名称 杭州市宏华工贸有限公司",
    "操作员姓名 蔡娜",
    "证件类型 居民身份证",
    "证件号码 370202197906096686",
    "性别 女",
    "出生日期 1979年6月9日",
    "住址 山东省青岛市市南区新华西路741号",
    "申请日期：2025年01月15日",
)


@pytest.mark.parametrize("lines", [LETTER, FORM], ids=["letter", "form"])
def test_letter_and_form_are_not_id_cards(lines: list[OcrLine]) -> None:
    """ID words in a letter or a form stay below the ID kinds' threshold."""
    s = scores(lines)
    assert s[DocKind.id_card_front] < THRESHOLD
    assert s[DocKind.id_card_back] < THRESHOLD
    kind, _ = best_kind(lines)
    assert kind not in ID_KINDS
    assert all(
        r.kind not in ID_KINDS
        for r in classify_page(OcrPage(width=900, height=1300, lines=lines), "x.jpg", 1)
    )


@pytest.mark.parametrize(
    ("case", "file"),
    [
        ("case-0104", "授权委托书.jpg"),
        ("case-0104", "申请书.pdf"),
        ("case-0105-uscc-check-id-expired", "IMG_2441.jpg"),
        ("case-0104", "营业执照.jpg"),
    ],
    ids=["letter", "form-pdf", "form-scan", "license"],
)
def test_sample_non_id_pages_score_low(case: str, file: str) -> None:
    """On the samples' letter, forms and license the ID kinds stay far below threshold."""
    s = scores(sample_page(case, file).lines)
    assert max(s[DocKind.id_card_front], s[DocKind.id_card_back]) <= THRESHOLD / 2


def test_a_title_read_in_traditional_forms_still_names_its_kind() -> None:
    """Acc4 80041: a serif face's title read 企業授權委托书, the addressee 中國電子口岸數据
    中心: the letter (the recogniser's traditional forms are the simplified ones printed)."""

    def line(text: str, y: float) -> OcrLine:
        poly = [(240, y), (1000, y), (1000, y + 60), (240, y + 60)]
        return OcrLine(text=text, poly=poly, confidence=0.97)

    lines = [
        line("企業授權委托书", 217),
        line("中國電子口岸數据中心杭州分中心：", 364),
        line("本单位宁波市鑫安进出口合伙企业（普通合伙）（统一社会信用", 434),
        line("代理人无转委托权。", 841),
    ]
    assert best_kind(lines)[0] == DocKind.authorization_letter
