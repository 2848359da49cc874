"""ID card extractors: the committed samples' recorded OCR, and hand-built edge cases.

The sample tests run the real reading path (replay engine → upright page → classify →
extract) and compare every ``id_card_front`` / ``id_card_back`` document of every
sample's ``expected.json``. The hand-built tests feed line lists that show what the
generator does not: spaced and glued labels, lost labels, validity spellings, a
lower-case x, a number split over two boxes, look-alike letters.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from docpipe.checkdigits import id_check_char
from docpipe.classify import classify_page
from docpipe.extract import Region
from docpipe.intake import load_submission
from docpipe.layout import _turn
from docpipe.models import DocKind, Document
from docpipe.normalize import norm_text
from docpipe.ocr import get_engine
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.pages import open_pages
from docpipe.reading import extract_region, read_page
from extractors.id_card import (
    extract_back,
    extract_front,
    id_candidates,
    norm_ethnicity,
    parse_validity,
)

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
ID_KINDS = ("id_card_front", "id_card_back")

# Fields the recorded OCR does not hold at all (the detector found no box where the
# value is printed), so no extractor can read them. They must be absent, never wrong.
OCR_MISSES = {("case-0105-uscc-check-id-expired", "法人身份证.jpg", "gender")}


@cache
def read_sample_file(case: str, file: str) -> tuple[Document, ...]:
    """Every document docpipe reads from one attachment of a committed sample."""
    intake = load_submission(SAMPLES / case / "submission")
    (att,) = [f for f in intake.files if f.name == file]
    docs: list[Document] = []
    for page in open_pages(att):
        rp = read_page(page, get_engine())
        docs.extend(extract_region(r) for r in classify_page(rp.ocr, file, page.number))
    return tuple(docs)


def _expected_id_docs() -> list[Any]:
    params = []
    for exp_file in sorted(SAMPLES.glob("case-*/expected.json")):
        case = exp_file.parent.name
        for doc in json.loads(exp_file.read_text(encoding="utf-8"))["documents"]:
            if doc["kind"] in ID_KINDS:
                params.append(
                    pytest.param(case, doc, id=f"{case[:9]}-{doc['file']}-{doc['kind'][8:]}")
                )
    return params


@pytest.mark.parametrize(("case", "expected"), _expected_id_docs())
def test_sample_id_document_fields(case: str, expected: dict[str, Any]) -> None:
    """Each ID side of each sample is found once, with exactly the expected fields."""
    docs = [d for d in read_sample_file(case, expected["file"]) if d.kind == expected["kind"]]
    assert len(docs) == 1, f"{expected['kind']} found {len(docs)} times"
    got = {k: v.value for k, v in docs[0].fields.items() if v.value is not None}
    for name, value in expected["fields"].items():
        if (case, expected["file"], name) in OCR_MISSES:
            assert name not in got or norm_text(got[name]) == norm_text(value)
            continue
        assert name in got, f"{name} not read"
        assert norm_text(got[name]) == norm_text(value), name
    assert set(got) <= set(expected["fields"])


def test_sample_fields_carry_evidence() -> None:
    """Every read field has a box on the page, a confidence and the OCR text it came from."""
    (front,) = [
        d for d in read_sample_file("case-0104", "操作员身份证.jpg") if d.kind == "id_card_front"
    ]
    for name, fv in front.fields.items():
        assert fv.bbox is not None and fv.bbox[2] > fv.bbox[0], name
        assert 0.5 < fv.confidence <= 1.0, name
        assert fv.raw, name
    # The address box spans both printed lines.
    box = front.fields["address"].bbox
    assert box is not None and box[3] - box[1] > 50


# --------------------------------------------------------------------------- hand-built


def ln(text: str, x: float, y: float, w: float | None = None, h: float = 30) -> OcrLine:
    """One OCR line at (x, y), about 30 px per character unless ``w`` is given."""
    w = 30.0 * len(text) if w is None else w
    return OcrLine(
        text=text, poly=[(x, y), (x + w, y), (x + w, y + h), (x, y + h)], confidence=0.98
    )


def region(lines: list[OcrLine], kind: DocKind = DocKind.id_card_front) -> Region:
    """A region of a 1000 × 630 card holding ``lines``."""
    page = OcrPage(width=1000, height=630, lines=lines)
    return Region("card.jpg", 1, lines, page, None, kind)


def values(fields: dict[str, Any]) -> dict[str, str | None]:
    """Field name → value."""
    return {k: v.value for k, v in fields.items()}


NUMBER = "33010619900102123" + id_check_char("33010619900102123")


def front_lines(**override: list[OcrLine]) -> list[OcrLine]:
    """A clean front, with some rows replaced."""
    rows = {
        "name": [ln("姓名", 60, 70), ln("张三丰", 180, 68)],
        "gender": [
            ln("性别", 60, 150),
            ln("男", 180, 150),
            ln("民族", 330, 150),
            ln("汉", 450, 150),
        ],
        "birth": [ln("出生", 60, 230), ln("1990年1月2日", 180, 230)],
        "address": [
            ln("住址", 60, 310),
            ln("浙江省杭州市西湖区文三", 180, 310),
            ln("路100号", 180, 355),
        ],
        "number": [ln("公民身份号码", 60, 520), ln(NUMBER, 320, 518, w=500)],
    }
    rows.update(override)
    return [line for row in rows.values() for line in row]


CLEAN_FRONT = {
    "name": "张三丰",
    "gender": "男",
    "ethnicity": "汉",
    "birth_date": "1990-01-02",
    "address": "浙江省杭州市西湖区文三路100号",
    "id_number": NUMBER,
}


@pytest.mark.parametrize(
    ("override", "changed"),
    [
        pytest.param({}, {}, id="clean"),
        pytest.param(
            {
                "name": [ln("姓  名", 60, 70), ln("张 三 丰", 180, 68)],
                "gender": [
                    ln("性 别", 60, 150),
                    ln("男", 180, 150),
                    ln("民 族", 330, 150),
                    ln("汉", 450, 150),
                ],
            },
            {},
            id="spaced-labels-and-name",
        ),
        pytest.param(
            {"gender": [ln("性别女", 60, 150), ln("民族汉", 330, 150)]},
            {"gender": "女"},
            id="glued-label-value-boxes",
        ),
        pytest.param(
            {"gender": [ln("性别女民族汉", 60, 150)]},
            {"gender": "女"},
            id="gender-and-ethnicity-one-box",
        ),
        pytest.param(
            {"gender": [ln("性别男", 60, 150), ln("民族漢", 330, 150)]},
            {},
            id="traditional-han",
        ),
        pytest.param(
            {
                "gender": [
                    ln("性别", 60, 150),
                    ln("女", 180, 150),
                    ln("民族", 330, 150),
                    ln("维吾尔", 450, 150),
                ]
            },
            {"gender": "女", "ethnicity": "维吾尔"},
            id="two-char-ethnicity",
        ),
        pytest.param(
            {"name": [ln("姓名张三丰", 60, 70)], "birth": [ln("出生2013年05 月 06 日", 60, 230)]},
            {"birth_date": "2013-05-06"},
            id="glued-name-and-spaced-date",
        ),
        pytest.param(
            {"address": [ln("住址浙江省杭州市西湖区文三", 60, 310), ln("路100号", 180, 355)]},
            {},
            id="address-glued-to-label",
        ),
        pytest.param(
            {
                "address": [
                    ln("住址", 60, 310),
                    ln("浙江省杭州市西湖区文三", 180, 310),
                    ln("路100号东方名苑3幢", 180, 355),
                    ln("2单元201室", 180, 400),
                ]
            },
            {"address": "浙江省杭州市西湖区文三路100号东方名苑3幢2单元201室"},
            id="address-three-lines",
        ),
        pytest.param(
            {"number": [ln("公民身份证号码", 60, 520), ln(NUMBER, 320, 518, w=500)]},
            {},
            id="number-label-variant",
        ),
        pytest.param(
            {
                "number": [
                    ln("公民身份号码", 60, 520),
                    ln(NUMBER[:10], 320, 518),
                    ln(NUMBER[10:], 640, 518),
                ]
            },
            {},
            id="number-split-two-boxes",
        ),
        pytest.param(
            {
                "number": [
                    ln("公民身份号码", 60, 520),
                    ln(" ".join([NUMBER[:6], NUMBER[6:14], NUMBER[14:]]), 320, 518),
                ]
            },
            {},
            id="number-with-spaces",
        ),
        pytest.param(
            {"number": [ln(NUMBER, 320, 518, w=500)]},
            {},
            id="number-label-lost",
        ),
    ],
)
def test_front_layouts(override: dict[str, list[OcrLine]], changed: dict[str, str]) -> None:
    """Label spellings and layouts the cards and the OCR produce all read the same."""
    got = values(extract_front(region(front_lines(**override))))
    assert got == {**CLEAN_FRONT, **changed}


def test_front_lower_case_x() -> None:
    """A trailing x is read as X."""
    first17 = "11010519491231002"
    assert id_check_char(first17) == "X"
    lines = front_lines(number=[ln("公民身份号码", 60, 520), ln(first17 + "x", 320, 518, w=500)])
    assert values(extract_front(region(lines)))["id_number"] == first17 + "X"


def test_front_photo_crop_without_labels() -> None:
    """A crop that cut the labels off still gives number, birth date, gender and address."""
    lines = [
        ln("男", 10, 150),
        ln("1990年1月2日", 10, 230),
        ln(NUMBER, 200, 518, w=500),
    ]
    got = values(extract_front(region(lines)))
    assert got == {"gender": "男", "birth_date": "1990-01-02", "id_number": NUMBER}


def test_address_stops_before_number_when_its_label_is_lost() -> None:
    """The number row under the address, label lost, is not glued to the address."""
    lines = front_lines(number=[ln(NUMBER, 180, 400, w=500)])
    got = values(extract_front(region(lines)))
    assert got["address"] == CLEAN_FRONT["address"]
    assert got["id_number"] == NUMBER


def test_look_alike_letters_replaced_only_when_the_check_digit_agrees() -> None:
    """O/I are digits when that gives the one valid reading; raw and confidence say so."""
    assert NUMBER[2:4] == "01"
    garbled = NUMBER[:2] + "OI" + NUMBER[4:]
    lines = front_lines(number=[ln("公民身份号码", 60, 520), ln(garbled, 320, 518, w=500)])
    fv = extract_front(region(lines))["id_number"]
    assert fv.value == NUMBER
    assert fv.raw == garbled
    assert fv.confidence < 0.98


def test_look_alike_into_an_invalid_number_is_not_read() -> None:
    """An O where the card printed another digit: no valid candidate, nothing invented."""
    wrong = "O" + NUMBER[1:]  # the card prints 3 there
    lines = front_lines(number=[ln("公民身份号码", 60, 520), ln(wrong, 320, 518, w=500)])
    assert "id_number" not in extract_front(region(lines))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("11010519491231002X", ("11010519491231002X", False), id="exact"),
        pytest.param("1101O519491231002X", ("11010519491231002X", True), id="O-for-0"),
        pytest.param("11010519491231OO2x", ("11010519491231002X", True), id="two-O-and-x"),
        pytest.param("110105194912310O2X9", None, id="nineteen-chars"),
        pytest.param("1101O519491231002", None, id="seventeen-chars"),
        pytest.param("1101O519491231003X", None, id="look-alike-but-check-digit-wrong"),
    ],
)
def test_id_candidates(text: str, expected: tuple[str, bool] | None) -> None:
    """Look-alikes are replaced only into the one candidate with a valid check digit."""
    assert id_candidates(text) == expected


def test_ethnicity_folding() -> None:
    """Traditional forms and a trailing 族 fold to the printed simplified name."""
    assert norm_ethnicity("漢") == ("汉", True)
    assert norm_ethnicity("满族") == ("满", True)
    assert norm_ethnicity("火星") == ("火星", False)


# --------------------------------------------------------------------------- back


def back_lines(validity: list[OcrLine] | None = None) -> list[OcrLine]:
    """A back with the given 有效期限 row."""
    return [
        ln("中华人民共和国", 330, 90),
        ln("居民身份证", 300, 170, h=80),
        ln("签发机关", 170, 425),
        ln("杭州市公安局西湖分局", 350, 425),
        *(validity or [ln("有效期限", 170, 505), ln("2015.03.02-2035.03.02", 350, 505)]),
    ]


@pytest.mark.parametrize(
    ("printed", "valid_to"),
    [
        pytest.param("2015.03.02-2035.03.02", "2035-03-02", id="dash"),
        pytest.param("2015.03.02-长期", "长期", id="long-term"),
        pytest.param("2015.03.02 - 长 期", "长期", id="long-term-spaced"),
        pytest.param("2015.03.02至2035.03.02", "2035-03-02", id="zhi"),
        pytest.param("2015.03.02 至 长期", "长期", id="zhi-long-term"),
        pytest.param("2015.03.02—2035.03.02", "2035-03-02", id="em-dash"),
        pytest.param("2015.03.02一2035.03.02", "2035-03-02", id="dash-read-as-yi"),
        pytest.param("2015.03.02~2035.03.02", "2035-03-02", id="tilde"),
        pytest.param("2015. 03. 02 - 2035. 03. 02", "2035-03-02", id="spaces"),
        pytest.param("20150302-20350302", "2035-03-02", id="dots-lost"),
        pytest.param("2015．03．02－2035．03．02", "2035-03-02", id="full-width"),
    ],
)
def test_back_validity_spellings(printed: str, valid_to: str) -> None:
    """Every spelling of the validity gives the same ISO start and end (or 长期)."""
    lines = back_lines([ln("有效期限", 170, 505), ln(printed, 350, 505)])
    got = values(extract_back(region(lines, DocKind.id_card_back)))
    assert got == {
        "issuing_authority": "杭州市公安局西湖分局",
        "valid_from": "2015-03-02",
        "valid_to": valid_to,
    }


@pytest.mark.parametrize(
    "validity",
    [
        pytest.param(
            [ln("有 效 期 限", 170, 505), ln("2015.03.02-2035.03.02", 350, 505)], id="spaced-label"
        ),
        pytest.param([ln("有效期限2015.03.02-2035.03.02", 170, 505)], id="glued"),
        pytest.param([ln("2015.03.02-2035.03.02", 350, 505)], id="label-lost"),
        pytest.param(
            [ln("有效期限", 170, 505), ln("2015.03.02-", 350, 505), ln("2035.03.02", 700, 505)],
            id="two-boxes",
        ),
    ],
)
def test_back_validity_layouts(validity: list[OcrLine]) -> None:
    """The validity is found glued, spaced, split or without its label."""
    got = values(extract_back(region(back_lines(validity), DocKind.id_card_back)))
    assert got["valid_from"] == "2015-03-02"
    assert got["valid_to"] == "2035-03-02"


@pytest.mark.parametrize(("conf", "read"), [(0.86, True), (0.99, False)])
def test_back_a_label_read_one_character_wrong_is_that_label(conf: float, read: bool) -> None:
    """Varied case-6219: 签发机关 read 警发机关 at 0.86; a sure 警发机关 is text."""
    lines = back_lines()
    lines[2] = ln("警发机关", 170, 425).model_copy(update={"confidence": conf})
    got = values(extract_back(region(lines, DocKind.id_card_back)))
    assert (got.get("issuing_authority") == "杭州市公安局西湖分局") == read


def test_back_unreadable_validity_is_omitted() -> None:
    """A validity whose dates cannot be read is left out, not guessed."""
    lines = back_lines([ln("有效期限", 170, 505), ln("2015.13.45-20", 350, 505)])
    got = values(extract_back(region(lines, DocKind.id_card_back)))
    assert "valid_from" not in got and "valid_to" not in got
    assert got["issuing_authority"] == "杭州市公安局西湖分局"


def test_parse_validity_needs_dates() -> None:
    """No date: nothing; a start without an end: only the start."""
    assert parse_validity("长期") == (None, "长期")
    assert parse_validity("有效期限") == (None, None)
    assert parse_validity("2015.03.02-") == ("2015-03-02", None)


@pytest.mark.parametrize("degrees", [-8.0, 8.0], ids=["ccw", "cw"])
def test_tilted_photo_rows_level(degrees: float) -> None:
    """A card photographed 8° askew reads the same; boxes stay in the page's frame.

    Unlevelled, a value 200 px right of its label sits a row lower or higher: the name
    and the first address line (front) and the issuing authority (back) get lost.
    """
    tilted = [line.model_copy(update={"poly": _turn(line.poly, degrees)}) for line in front_lines()]
    page = OcrPage(width=1000, height=630, lines=tilted, skew=degrees)
    fields = extract_front(Region("card.jpg", 1, tilted, page, None, DocKind.id_card_front))
    assert values(fields) == CLEAN_FRONT
    # The number's box still holds the tilted number line.
    (number_line,) = [t for t in tilted if t.text == NUMBER]
    box = fields["id_number"].bbox
    assert box is not None
    x0, y0, x1, y1 = number_line.bbox
    assert box[0] <= x0 + 1 and box[1] <= y0 + 1 and box[2] >= x1 - 1 and box[3] >= y1 - 1
    back = [line.model_copy(update={"poly": _turn(line.poly, degrees)}) for line in back_lines()]
    page = OcrPage(width=1000, height=630, lines=back, skew=degrees)
    got = values(extract_back(Region("card.jpg", 1, back, page, None, DocKind.id_card_back)))
    assert got["issuing_authority"] == "杭州市公安局西湖分局"


def _rereads(*texts: str) -> Any:
    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        assert 3 < reach < 10  # short of the portrait
        assert line.bbox[0] == 60  # the label's row
        return [OcrLine(text=t, poly=line.poly, confidence=0.99) for t in texts]

    return reread


def test_a_name_the_detector_missed_is_read_beside_its_label() -> None:
    """Generated case 5074 (clean): 冯斌 not detected beside 姓名; the row reads it."""
    reg = region(front_lines(name=[ln("姓名", 60, 70)]))
    assert "name" not in extract_front(reg)
    reg.reread = _rereads("姓名冯斌", "姓名冯斌", "姓名冯")
    got = extract_front(reg)["name"]
    assert got.value == "冯斌" and got.raw == "冯斌" and got.bbox is not None
    # A second reading that runs into another label is not a name.
    reg.reread = _rereads("姓名性别", "姓名性别")
    assert "name" not in extract_front(reg)


@pytest.mark.parametrize(
    ("row", "field", "again", "want"),
    [
        # Case 5072: 汉/满 read as a mark; the row beside 民族 read again.
        (
            [ln("性别", 60, 150), ln("男", 180, 150), ln("民族", 330, 150), ln("[", 450, 150)],
            "ethnicity",
            ("民族满", "民族满"),
            "满",
        ),
        # Cases 5011 / 5023: 女 beside 性别 not detected.
        (
            [ln("性别", 60, 150), ln("民族", 330, 150), ln("汉", 450, 150)],
            "gender",
            ("性别女民族", "性别女民族汉"),
            "女",
        ),
    ],
    ids=["ethnicity-mark", "gender-missed"],
)
def test_a_short_value_missed_or_misread_is_read_beside_its_label(
    row: list[OcrLine], field: str, again: tuple[str, ...], want: str
) -> None:
    reg = region(front_lines(gender=row))
    first = extract_front(reg).get(field)
    assert first is None or first.value != want

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        assert reach <= 6  # one character and the next label, not the portrait
        return [OcrLine(text=t, poly=line.poly, confidence=0.99) for t in again]

    reg.reread = reread
    assert extract_front(reg)[field].value == want


def test_ethnicity_neither_label_nor_value_detected_is_read_on_the_gender_row() -> None:
    """Accuracy case-5001 (a soft photo): 性别 女 detected, 民族 满 beside them not. The
    性别 row is read again far enough to hold them; a reading without 民族 says nothing."""
    reg = region(front_lines(gender=[ln("性别", 60, 150), ln("女", 180, 150)]))
    assert "ethnicity" not in extract_front(reg)
    seen: list[float] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        seen.append(reach)
        return [OcrLine(text=t, poly=line.poly, confidence=0.99) for t in ("性别女民族满",) * 2]

    reg.reread = reread
    got = extract_front(reg)
    assert got["ethnicity"].value == "满" and got["gender"].value == "女"
    assert max(seen) <= 10  # the row's two labels and values, not the portrait
    reg.reread = _rereads("性别女", "性别女")
    assert "ethnicity" not in extract_front(reg)


def test_a_label_read_one_character_wrong_is_that_label() -> None:
    """Case 5053: 姓名 read 姓者 at 0.79; the name beside it is read. A confident 姓者 is
    text, not a label, and stays so: the name is then only the lone name above 性别,
    a little less sure."""
    doubted = ln("姓者", 60, 70).model_copy(update={"confidence": 0.79})
    reg = region(front_lines(name=[doubted, ln("司马丽", 180, 68)]))
    labelled = extract_front(reg)["name"]
    assert labelled.value == "司马丽"
    sure = doubted.model_copy(update={"confidence": 0.99})
    got = extract_front(region(front_lines(name=[sure, ln("司马丽", 180, 68)])))["name"]
    assert got.value == "司马丽"
    assert got.confidence < labelled.confidence


def test_a_name_whose_label_was_not_read_is_the_name_above_gender() -> None:
    """Varied case-7301: no box held 姓名; 郭晟鑫 alone in the row above 性别."""
    got = extract_front(region(front_lines(name=[ln("郭晟鑫", 180, 68)])))["name"]
    assert got.value == "郭晟鑫" and got.confidence < 0.99
    # 姓 lost, its 名 glued before the name at the label column (varied case-6219).
    half = [ln("名姚煜钰", 60, 68)]
    assert extract_front(region(front_lines(name=half)))["name"].value == "姚煜钰"
    # Two name-shaped boxes there, or a label among them: no guess.
    two = [ln("郭晟鑫", 180, 68), ln("中华", 330, 68)]
    assert "name" not in extract_front(region(front_lines(name=two)))
    assert "name" not in extract_front(region(front_lines(name=[ln("住址", 180, 68)])))


@pytest.mark.parametrize(
    ("box", "conf", "want"),
    [
        ("属族汉", 0.86, "汉"),  # accuracy case-5075: 民族 read 属族, glued to its value
        ("民旅满", 0.7, "满"),
        ("属族汉", 0.99, None),  # read without doubt: text, not a label
        ("属族书", 0.86, None),  # no 民族 is 书: not the label and its value
    ],
)
def test_a_misread_label_glued_to_a_known_value_is_given_back(
    box: str, conf: float, want: str | None
) -> None:
    glued = ln(box, 330, 150).model_copy(update={"confidence": conf})
    row = [ln("性别", 60, 150), ln("女", 180, 150), glued]
    got = extract_front(region(front_lines(gender=row))).get("ethnicity")
    assert (got.value if got else None) == want


@pytest.mark.parametrize(
    ("read", "name"),
    [("☑何阳志", "何阳志"), ("何阳志。", "何阳志"), ("买买提·艾力", "买买提·艾力")],
)
def test_marks_at_the_ends_of_a_name_are_no_part_of_it(read: str, name: str) -> None:
    """accuracy case-7319: the card's pattern read as a tick box before the name."""
    lines = front_lines(name=[ln("姓名", 60, 70), ln(read, 180, 68)])
    out = extract_front(region(lines))
    assert out["name"].value == name


class _Reading:
    """Second looks that read ``texts``, whatever line they are asked about."""

    def __init__(self, *texts: str) -> None:
        self.texts = texts
        self.asked: list[OcrLine] = []

    def __call__(self, line: OcrLine, reach: float) -> list[OcrLine]:
        self.asked.append(line)
        return [OcrLine(text=t, poly=line.poly, confidence=0.99) for t in self.texts]


@pytest.mark.parametrize(
    ("below", "want"),
    [
        (["3号", "3号"], "浙江省义乌市丽州中路593号"),  # accuracy case-8414, a clean card
        (["3号", "8号"], "浙江省义乌市丽州中路59"),  # the readings disagree
        (["", ""], "浙江省义乌市丽州中路59"),  # nothing there
        (["公民身份号"] * 2, "浙江省义乌市丽州中路59"),  # a label, not the address
    ],
)
def test_an_address_last_line_the_detector_missed_is_read_under_it(
    below: list[str], want: str
) -> None:
    address = [ln("住址", 60, 310), ln("浙江省义乌市丽州中路59", 180, 310)]
    reg = region(front_lines(address=address))
    reg.reread = _Reading(*below)
    got = extract_front(reg)["address"]
    assert got.value == want
    assert got.bbox is not None and (got.bbox[3] > 340) == (want != "浙江省义乌市丽州中路59")


def test_an_address_that_ends_as_addresses_end_is_not_read_further() -> None:
    reg = region(front_lines())
    reg.reread = reading = _Reading("3号", "3号")
    assert extract_front(reg)["address"].value == "浙江省杭州市西湖区文三路100号"
    assert reading.asked == []


@pytest.mark.parametrize(("source", "want"), [("ocr", "熊鹏强"), ("text-layer", "熊鹏強")])
def test_traditional_forms_the_recogniser_read_are_folded(source: str, want: str) -> None:
    """Seed 8600 case-8604, a clean card: 熊鹏強 read for 熊鹏强. A text layer says what
    the document prints and is left as it is."""
    lines = front_lines(name=[ln("姓名", 60, 70), ln("熊鹏強", 180, 68)])
    page = OcrPage(width=1000, height=630, lines=lines, source=source)
    got = extract_region(Region("card.jpg", 1, lines, page, None, DocKind.id_card_front))
    assert got.fields["name"].value == want
    assert got.fields["name"].raw == "熊鹏強"


def test_a_birth_date_over_the_address_with_its_label_lost_is_not_the_address() -> None:
    """Acc4 80073: 出生 not read, its date alone on the line over 住址's value: the date
    is the birth date's, the address starts under it."""
    lines = [
        ln("姓名", 177, 233, w=58),
        ln("司马琳", 261, 230, w=79, h=32),
        ln("性别", 178, 290, w=60, h=27),
        ln("女", 258, 291, w=33, h=24),
        ln("民族汉", 358, 287, w=119, h=33),
        ln("2003年9月25日", 260, 347, w=189, h=27),
        ln("住址", 178, 404, w=57, h=25),
        ln("广东省深圳市南山区学院", 261, 402, w=248, h=27),
        ln("路937号", 261, 431, w=88, h=31),
        ln("公民身份号码", 180, 551, w=115, h=27),
        ln("44030520030925708X", 360, 547, w=365),
    ]
    got = values(extract_front(region(lines)))
    assert got["address"] == "广东省深圳市南山区学院路937号"
    assert got["birth_date"] == "2003-09-25"
