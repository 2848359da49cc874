"""Authorization letter extractor: committed samples, wrapped prose and wording variants."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_extract_form import check_against_expected, ln, sample_documents

from docpipe.compare import DOUBT_BELOW
from docpipe.extract import Region
from docpipe.models import DocKind
from docpipe.ocr.base import OcrLine, OcrPage
from docpipe.seal import SealText
from extractors.authorization_letter import extract_authorization_letter

# Seal damage in the recorded OCR of the committed letters (checked in the images): the
# seal hides characters of the enterprise name or code. These must come out absent or
# doubtful; every other field exactly.
# Fields OCR may damage on the committed letters. Empty since the reading stage fades
# the red seal before OCR: every sample letter now reads exactly.
LETTER_DAMAGE: set[tuple[str, str, str]] = set()


@pytest.mark.parametrize(
    ("case", "doc"),
    sample_documents("authorization_letter"),
    ids=lambda v: v.name if isinstance(v, Path) else str(v["file"]),
)
def test_sample_letters(case: Path, doc: dict[str, object]) -> None:
    """Each committed letter: exact fields, and seal damage reported as doubt, not as a value."""
    check_against_expected(case, doc, LETTER_DAMAGE)


def region(lines: list[OcrLine]) -> Region:
    """A whole-page OCR region of these lines."""
    page = OcrPage(width=1000, height=1400, lines=lines, source="ocr")
    return Region("letter.jpg", 1, lines, page, None, DocKind.authorization_letter)


ID = "330784199001011231"  # synthetic, valid check digit
ID_X = "33078419900101124X"
FOOT = [
    ln("委托单位（盖章）：永康市天佳工贸有限公司", 330, 800),
    ln("统一社会信用代码：91330784579324580M", 330, 860),
    ln("2025年10月11日", 500, 940, w=180),
]


def test_prose_wrapped_across_lines() -> None:
    """The name and the number wrap onto the next line: joined, with boxes from both."""
    lines = [
        ln("企业授权委托书", 280, 110, h=40),
        ln("兹委托张", 140, 300, w=112, conf=0.97),
        ln(f"三（身份证号码：{ID[:9]}", 90, 340, w=500, conf=0.95),
        ln(f"{ID[9:]}）前往中国电子口岸数据中心杭州分中心办理电子口岸卡变更", 90, 380, w=800),
        ln("操作员业务，并代为领取相关介质设备。", 90, 420, w=500),
        *FOOT,
    ]
    out = extract_authorization_letter(region(lines))
    assert out["agent_name"].value == "张三"
    assert out["agent_name"].confidence == pytest.approx(0.95)  # the weaker line of the two
    box = out["agent_name"].bbox
    assert box is not None and box[1] == 300 and box[3] == 370  # spans both lines
    assert out["agent_id_number"].value == ID
    assert out["matter"].value == "变更企业操作员"
    assert out["enterprise_name"].value == "永康市天佳工贸有限公司"
    assert out["credit_code"].value == "91330784579324580M"
    assert out["sign_date"].value == "2025-10-11"


@pytest.mark.parametrize(
    ("body", "name", "number"),
    [
        (f"特委托我公司员工李四（身份证号：{ID}）全权办理电子口岸卡变更操作员业务。", "李四", ID),
        (f"现委托王小明同志，证件号码：{ID}，前来办理电子口岸卡变更操作员业务；", "王小明", ID),
        (
            f"兹委托欧阳娜娜(身份证号码:{ID_X.lower()})代为办理电子口岸卡变更操作员业务,",
            "欧阳娜娜",
            ID_X,
        ),
        # A Uyghur name with its middle dot, longer than five characters.
        (
            f"兹委托阿依古丽·吐尔逊（身份证号码：{ID}）前往办理电子口岸卡变更操作员业务。",
            "阿依古丽·吐尔逊",
            ID,
        ),
    ],
    ids=["te-weituo", "xian-weituo", "halfwidth", "dotted-name"],
)
def test_wording_variants(body: str, name: str, number: str) -> None:
    """特委托 / 现委托 / half-width punctuation, 身份证号 / 证件号码: the same fields."""
    lines = [ln("授权委托书", 300, 110, h=40), ln(body, 90, 300, w=850), *FOOT]
    out = extract_authorization_letter(region(lines))
    assert out["agent_name"].value == name
    assert out["agent_id_number"].value == number
    assert out["matter"].value == "变更企业操作员"


def test_header_style_letter() -> None:
    """委托人 / 受托人 as labels instead of a sentence naming the agent."""
    lines = [
        ln("授权委托书", 300, 110, h=40),
        ln("委托人：永康市天佳工贸有限公司", 90, 200, w=600),
        ln("受托人：李四", 90, 260, w=200),
        ln("身份证号码：", 420, 260, w=170),
        ln(ID, 600, 260, w=330),
        ln("现授权受托人前往办理电子口岸卡变更操作员业务。", 90, 330, w=800),
        ln("统一社会信用代码：91330784579324580M", 330, 860),
        ln("委托期限：自2025年10月11日至2025年12月31日", 90, 400, w=700),
        ln("2025年10月11日", 500, 940, w=180),
    ]
    out = extract_authorization_letter(region(lines))
    assert out["enterprise_name"].value == "永康市天佳工贸有限公司"
    assert out["agent_name"].value == "李四"
    assert out["agent_id_number"].value == ID
    assert out["matter"].value == "变更企业操作员"
    # The signature date, not the end of the term.
    assert out["sign_date"].value == "2025-10-11"
    assert out["sign_date"].bbox is not None and out["sign_date"].bbox[1] == 940


@pytest.mark.parametrize(
    ("label_line", "expected", "doubtful"),
    [
        ("委托单位（盖章所：杭州市宏华工贸有限公司", "杭州市宏华工贸有限公司", False),
        ("委托单位（盖章）宁波市泰云工贸有限公司", "宁波市泰云工贸有限公司", False),
        ("委托单位（盖章：创宏嘉宁波）贸易有限公司", "创宏嘉宁波）贸易有限公司", True),
        ("委托单位（盖章", None, True),
        # The seal's edge read as a stray mark before the name (accuracy cases 5086, 5033).
        ("委托单位（盖章）：·义乌市信海纳工贸有限公司", "义乌市信海纳工贸有限公司", False),
        ("委托单位（盖章）e宁波市创天贸易股份有限公司", "宁波市创天贸易股份有限公司", False),
        # 章 lost or misread under the seal, the bracket kept (accuracy cases 5031, 5101).
        ("委托单位（盖：永康市华博安五金店", "永康市华博安五金店", False),
        ("委托单位（盖汽）杭州市华宇宏贸易有限公司", "杭州市华宇宏贸易有限公司", False),
        # A name that starts with 盖 (盖州市) is not a 盖章 mark.
        ("委托单位（盖章）：盖州市天佳工贸有限公司", "盖州市天佳工贸有限公司", False),
    ],
    ids=[
        "junk-char",
        "no-colon",
        "lost-bracket",
        "name-unread",
        "dot",
        "stray-letter",
        "half-mark",
        "misread-mark",
        "gaizhou",
    ],
)
def test_enterprise_after_half_read_label(
    label_line: str, expected: str | None, doubtful: bool
) -> None:
    """The label's ``（盖章）：`` is dropped however the OCR read it; damage is doubt."""
    lines = [ln("企业授权委托书", 280, 110, h=40), ln(label_line, 330, 800), *FOOT[1:]]
    out = extract_authorization_letter(region(lines))
    assert out["enterprise_name"].value == expected
    assert (out["enterprise_name"].confidence < DOUBT_BELOW) == doubtful


def test_seal_pieces_are_not_part_of_the_name() -> None:
    """Seal legend pieces in the name's row are left out, and the name is in doubt."""
    lines = [
        ln("企业授权委托书", 280, 110, h=40),
        ln("委托单位（盖章）：宁波市泰云工贸有限公司", 330, 800, w=560),
        ln("工贸", 520, 785, w=90, h=36),
        *FOOT[1:],
    ]
    out = extract_authorization_letter(region(lines))
    assert out["enterprise_name"].value == "宁波市泰云工贸有限公司"
    assert out["enterprise_name"].confidence < DOUBT_BELOW
    assert "工贸 |" not in (out["enterprise_name"].raw or "")


def test_seal_pieces_crossing_a_name_in_its_own_box_are_left_out() -> None:
    """Case 5047: the label alone in its box, then 秀 | 远 (the seal's legend, crossing
    each other and the name's box) and the name: the name without them, in doubt."""
    lines = [
        ln("企业授权委托书", 280, 110, h=40),
        ln("委托单位（盖章", 330, 800, w=160),
        OcrLine(text="秀", poly=[(482, 787), (530, 787), (530, 827), (482, 827)], confidence=0.53),
        OcrLine(text="远", poly=[(502, 785), (550, 785), (550, 814), (502, 814)], confidence=0.92),
        OcrLine(
            text="义乌市远盛贸易有限公司",
            poly=[(519, 794), (771, 794), (771, 823), (519, 823)],
            confidence=1.0,
        ),
        *FOOT[1:],
    ]
    got = extract_authorization_letter(region(lines))["enterprise_name"]
    assert got.value == "义乌市远盛贸易有限公司"
    assert got.confidence < DOUBT_BELOW


SEALED = "义乌市鑫嘉报关有限公司"


def _answering(reg: Region, again: list[str]) -> list[OcrLine]:
    """Second looks at ``reg``'s lines read ``again``; the lines they were asked about."""
    asked: list[OcrLine] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(line)
        return [OcrLine(text=t, poly=line.poly, confidence=0.97) for t in again]

    reg.reread = reread
    return asked


def _sealed_region(
    first: str, again: list[str], seal: str, seal_conf: float = 0.999
) -> tuple[Region, list[OcrLine]]:
    """A letter whose name line reads ``first``, a second look ``again``, the seal ``seal``."""
    lines = [ln("企业授权委托书", 280, 110, h=40), ln(first, 330, 800, w=560), *FOOT[1:]]
    reg = region(lines)
    reg.seal_texts = [SealText(seal, seal_conf, (560, 700, 770, 910), seal)]
    return reg, _answering(reg, again)


def test_a_second_look_that_reads_what_the_seal_reads_stands() -> None:
    """又乌市 (the ring across 义) read again as 义乌市, which the seal's arc reads too."""
    reg, asked = _sealed_region(
        "委托单位（盖章：又乌市鑫嘉报关有限公司",
        ["委托单位（盖章乌市鑫嘉报关有限公司", f"委托单位（盖章）{SEALED}"],
        SEALED,
    )
    got = extract_authorization_letter(reg)["enterprise_name"]
    assert got.value == SEALED
    assert got.confidence == 0.97  # the second look's, under the seal's 0.999
    assert got.raw is not None and "又乌市" in got.raw and "seal" in got.raw
    assert [a.text for a in asked] == ["委托单位（盖章：又乌市鑫嘉报关有限公司"]


@pytest.mark.parametrize(
    ("first", "again", "seal", "seal_conf"),
    [
        # The second looks never read what the seal reads: the first reading stays.
        (
            "委托单位（盖章：又乌市鑫嘉报关有限公司",
            ["委托单位（盖章乌市鑫嘉报关有限公司"],
            SEALED,
            0.999,
        ),
        # The seal's reading is not confident: not a witness.
        ("委托单位（盖章：又乌市鑫嘉报关有限公司", [f"委托单位（盖章）{SEALED}"], SEALED, 0.9),
        # The letter names another enterprise than its seal: the typed name is reported.
        (
            "委托单位（盖章）：永康市天佳工贸有限公司",
            ["委托单位（盖章）永康市天佳工贸有限公司"],
            SEALED,
            0.999,
        ),
    ],
    ids=["no-agreement", "weak-seal", "other-enterprise"],
)
def test_the_seal_alone_never_names_the_enterprise(
    first: str, again: list[str], seal: str, seal_conf: float
) -> None:
    reg, _ = _sealed_region(first, again, seal, seal_conf)
    got = extract_authorization_letter(reg)["enterprise_name"]
    assert got.value == first.split("）", 1)[-1].split("：", 1)[-1]
    assert got.value != SEALED


def test_a_name_the_seal_confirms_is_not_read_again() -> None:
    reg, asked = _sealed_region(f"委托单位（盖章）：{SEALED}", [], SEALED)
    assert extract_authorization_letter(reg)["enterprise_name"].value == SEALED
    assert asked == []


def test_a_letter_of_labelled_facts() -> None:
    """委托单位： / 受托人： / 身份证号： / 委托事项： under each other, dated in Chinese
    numerals: every field, the matter without its verb and not run on into the term."""
    lines = [
        ln("授权委托书", 330, 110, h=40),
        ln("委托单位：永康市天佳工贸有限公司", 110, 260),
        ln("统一社会信用代码：91330784579324580M", 110, 320),
        ln("受托人：张三", 110, 380),
        ln(f"身份证号：{ID}", 110, 440),
        ln("委托事项：办理电子口岸卡变更操作员业务", 110, 500),
        ln("委托期限：自签发之日起至上述事项办结之日止", 110, 560),
        ln("受托人在办理上述事项过程中所签署的有关文件，我单位均予以承认。", 160, 640),
        ln("永康市天佳工贸有限公司", 420, 900),
        ln("（盖章）", 420, 950),
        ln("二〇二五年十月十一日", 540, 1030, w=280),
    ]
    out = extract_authorization_letter(region(lines))
    assert {k: v.value for k, v in out.items()} == {
        "enterprise_name": "永康市天佳工贸有限公司",
        "credit_code": "91330784579324580M",
        "agent_name": "张三",
        "agent_id_number": ID,
        "matter": "变更企业操作员",
        "sign_date": "2025-10-11",
    }


def test_a_labelled_number_wrapped_onto_the_next_line() -> None:
    """被委托人：… 身份证号3702…240 | X on the next line (verify case-6068, a labelled
    letter whose line wrapped inside the number): the whole number, not 17 digits."""
    lines = [
        ln("企业授权委托书", 283, 111, h=37),
        ln("委托单位：宁波市安盛贸易有限公司", 89, 264, w=392),
        ln("被委托人：阿依古丽·吐尔逊", 89, 367, w=322),
        ln(f"身份证号{ID_X[:17]}", 451, 366, w=340),
        ln("X", 86, 405, w=26),
        ln("委托事项：办理电子口岸卡变更操作员业务", 90, 457, w=462),
        *FOOT,
    ]
    out = extract_authorization_letter(region(lines))
    assert out["agent_name"].value == "阿依古丽·吐尔逊"
    assert out["agent_id_number"].value == ID_X


def _stamped_region(name_line: OcrLine, again: list[str]) -> tuple[Region, list[OcrLine]]:
    """A letter whose name is crossed by a seal legend piece, its line read ``again``."""
    lines = [
        ln("企业授权委托书", 280, 110, h=40),
        ln("委托单位（盖", 330, 800, w=150),
        name_line,
        ln("工贸", 560, 785, w=60, h=36, conf=0.6),  # the seal's legend across the name
        *FOOT[1:],
    ]
    reg = region(lines)
    return reg, _answering(reg, again)


def test_a_doubtful_name_is_what_most_second_looks_read() -> None:
    """Case 5071: the label's line ends in its half-read mark, the name in its own box
    (信 read 德 under the ring); four of six second looks at that box read 信."""
    first = ln("义乌市德联创贸易有限公司", 500, 800, w=290, conf=0.93)
    again = ["义乌市信联创贸易有限公司"] * 2 + ["：义乌市信联创贸易有限公司"] * 2
    reg, asked = _stamped_region(first, [*again, "义乌市德联创贸易有限公司"])
    got = extract_authorization_letter(reg)["enterprise_name"]
    assert got.value == "义乌市信联创贸易有限公司"
    assert got.confidence < DOUBT_BELOW  # no check character says it is right
    assert got.raw is not None and "德联创" in got.raw
    assert asked == [first]  # the name's box, not the label's


@pytest.mark.parametrize(
    "again",
    [
        # Split two against two (with the page's reading): no name stands.
        ["义乌市信联创贸易有限公司", "义乌市德联创贸易有限公司", "义乌市信联创贸易有限公司"],
        # Cuts that lose the name's first character do not vote (case 5045).
        ["乌市德联创贸易有限公司"] * 4,
        # Fewer than three readings agree.
        ["义乌市信联创贸易有限公司"] * 2,
    ],
    ids=["tie", "shorter", "too-few"],
)
def test_a_split_or_short_second_look_leaves_the_page_reading(again: list[str]) -> None:
    first = ln("义乌市德联创贸易有限公司", 500, 800, w=290, conf=0.93)
    reg, _ = _stamped_region(first, again)
    got = extract_authorization_letter(reg)["enterprise_name"]
    assert got.value == "义乌市德联创贸易有限公司"
    assert got.confidence < DOUBT_BELOW


def test_a_sure_name_is_not_voted_on() -> None:
    lines = [ln("企业授权委托书", 280, 110, h=40), *FOOT]
    reg = region(lines)

    def never(line: OcrLine, reach: float) -> list[OcrLine]:
        raise AssertionError("read again")

    reg.reread = never
    assert extract_authorization_letter(reg)["enterprise_name"].value == "永康市天佳工贸有限公司"


def _letter_body(*body: str) -> list[OcrLine]:
    head = [ln("企业授权委托书", 280, 110, h=40), ln("中国电子口岸数据中心杭州分中心：", 90, 240)]
    return [*head, *(ln(t, 90, 300 + 42 * i, w=700) for i, t in enumerate(body)), *FOOT]


def test_the_matter_ends_where_a_second_clause_starts_without_its_comma() -> None:
    """Case 5047: the comma at the line's end lost (…操作员业务 | 并代为领取…)."""
    lines = _letter_body(
        f"兹委托任杰（身份证号码：{ID}）前往中",
        "国电子口岸数据中心杭州分中心办理电子口岸卡变更操作员业务",
        "并代为领取相关介质设备。被委托人在办理上述事项过程中所签",
    )
    got = extract_authorization_letter(region(lines))["matter"]
    assert got.value == "变更企业操作员"


def test_dealing_with_the_above_is_no_matter() -> None:
    """Case 5067: the line holding 办理电子口岸卡变更操作 not detected; 办理上述事项过程中…
    is what is left: the matter is unread, not that."""
    lines = _letter_body(
        f"兹委托林璐璟（身份证号码：{ID}）前",
        "员业务，并代为领取相关介质设备。被委托人在办理上述事项",
        "过程中所签署的有关文件，我单位均予以承认，由此产生的法",
    )
    got = extract_authorization_letter(region(lines))
    assert got["agent_name"].value == "林璐璟"
    assert "matter" not in got


def test_a_seal_piece_beside_the_label_is_no_name() -> None:
    """Varied case-7311: the name under the seal not detected; the seal's N beside the label."""
    lines = [
        ln("授权委托书", 330, 110, h=40),
        ln("委托单位", 420, 873, w=90),
        ln("N", 506, 881, w=10, h=8, conf=0.89),
        ln("(公章)", 424, 919, w=80),
        ln("2025年05月28日", 526, 988, w=174),
    ]
    got = extract_authorization_letter(region(lines)).get("enterprise_name")
    assert got is None or got.value is None


def test_a_name_under_the_seal_not_detected_is_read_beside_its_label() -> None:
    """Varied case-7311: nothing but the seal's N right of 委托单位; three second looks
    read the name, three lose its first character: the longer stands, in doubt."""
    name = "宁波市源瑞安恒报关有限公司"
    lines = [
        ln("授权委托书", 330, 110, h=40),
        ln("委托单位", 420, 873, w=90),
        ln("N", 506, 881, w=10, h=8, conf=0.89),
        ln("2025年05月28日", 526, 988, w=174),
    ]
    reg = region(lines)
    reads = [f"委托单位{name[1:]}", f"委托单位{name}"] * 3
    reg.reread = lambda line, reach: [
        OcrLine(text=t, poly=line.poly, confidence=0.98) for t in reads
    ]
    got = extract_authorization_letter(reg)["enterprise_name"]
    assert got.value == name
    assert got.confidence < DOUBT_BELOW


@pytest.mark.parametrize(
    ("label_line", "want"),
    [
        (
            "委托单立：泰帆安（杭州）贸易有限公司",
            "泰帆安（杭州）贸易有限公司",
        ),  # seed 8400 case-8405
        ("委托单位：泰帆安（杭州）贸易有限公司", "泰帆安（杭州）贸易有限公司"),
        ("委托书立：泰帆安（杭州）贸易有限公司", None),  # two characters off: not the label
    ],
)
def test_a_label_before_its_colon_read_one_character_wrong(
    label_line: str, want: str | None
) -> None:
    lines = [ln("授权委托书", 330, 110, h=40), ln(label_line, 330, 800), *FOOT[1:]]
    got = extract_authorization_letter(region(lines)).get("enterprise_name")
    assert (got.value if got else None) == want


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (
            f"兹有我单位员工张三（身份证号码：{ID}）前往中国电子口岸数据中心杭州分中心办理变更企业操作员业务。",
            "张三",
        ),
        (
            f"本公司现授权李四同志（身份证号：{ID}）为我单位代理人，代为办理电子口岸新增企业操作员业务。",
            "李四",
        ),
        (f"我单位特委派王小明，身份证号码{ID}，到电子口岸办理遗失或损坏补办业务。", "王小明"),
        (
            f"兹委托欧阳娜娜前往中国电子口岸数据中心办理证书更新业务，受托人身份证号码：{ID}。",
            "欧阳娜娜",
        ),
    ],
    ids=["zi-you", "xian-shouquan", "wei-pai", "number-after"],
)
def test_phrase_families(body: str, name: str) -> None:
    """Each way of sending the agent gives the agent, the number and the business."""
    lines = [ln("授权委托书", 300, 110, h=40), ln(body, 90, 300, w=900), *FOOT]
    out = extract_authorization_letter(region(lines))
    assert out["agent_name"].value == name
    assert out["agent_id_number"].value == ID
    business = {"张三": "变更企业操作员", "李四": "新增企业操作员", "王小明": "遗失或损坏补办"}
    assert out["matter"].value == business.get(name, "证书更新")


def test_unknown_wording_of_the_matter_is_not_guessed() -> None:
    """A matter that names no portal business is kept as read, with no value."""
    lines = [
        ln("授权委托书", 300, 110, h=40),
        ln(f"兹委托张三（身份证号码：{ID}）前往办理相关手续。", 90, 300, w=900),
        *FOOT,
    ]
    out = extract_authorization_letter(region(lines))
    assert out["matter"].value is None
    assert out["matter"].raw is not None and "相关手续" in out["matter"].raw


def test_labelled_letter_in_chinese_numerals() -> None:
    """A table of labelled facts, dated in Chinese numerals."""
    lines = [
        ln("授权委托书", 300, 110, h=40),
        ln("委托单位：永康市天佳工贸有限公司", 90, 200, w=600),
        ln("统一社会信用代码：91330784579324580M", 90, 250, w=600),
        ln("受托人姓名：李四", 90, 300, w=300),
        ln(f"身份证号码：{ID}", 90, 350, w=600),
        ln("委托事项：办理电子口岸卡变更操作员业务", 90, 400, w=700),
        ln("二〇二五年十月十一日", 500, 940, w=260),
    ]
    out = extract_authorization_letter(region(lines))
    assert out["agent_name"].value == "李四"
    assert out["agent_id_number"].value == ID
    assert out["matter"].value == "变更企业操作员"
    assert out["credit_code"].value == "91330784579324580M"
    assert out["sign_date"].value == "2025-10-11"


def test_enterprise_name_wrapped_back_to_the_margin() -> None:
    """The name runs to the line's end and goes on under the label: both lines are the name."""
    lines = [
        ln("授权委托书", 300, 110, h=40),
        ln(f"兹委托我单位梁晶钰（身份证号：{ID}）前往办理变更企业操作员相关事宜。", 90, 300, w=900),
        ln("授权单位（盖章）：杭州市诚恒贸易合伙", 480, 800, w=440),
        ln("企业（有限合伙）", 480, 850, w=200),
        ln("统一社会信用代码：", 480, 900, w=220),
        ln("91330784579324580M", 480, 950, w=300),
        ln("二〇二五年二月十九日", 600, 1050, w=260),
    ]
    out = extract_authorization_letter(region(lines))
    assert out["enterprise_name"].value == "杭州市诚恒贸易合伙企业（有限合伙）"
    assert out["credit_code"].value == "91330784579324580M"
    assert out["agent_name"].value == "梁晶钰"
    assert out["matter"].value == "变更企业操作员"
    assert out["sign_date"].value == "2025-02-19"


def test_a_branch_name_wrapped_after_its_company_goes_on() -> None:
    """``…有限公司`` / ``永康分公司``: the short line under it ends the branch's name."""
    lines = [
        ln("授权委托书", 300, 110, h=40),
        ln(f"兹委托张三（身份证号码：{ID}）前往办理变更企业操作员业务。", 90, 300, w=900),
        ln("委托单位（盖章）：宁波远新工贸有限公司", 480, 800, w=440),
        ln("永康分公司", 480, 850, w=140),
        ln("2025年10月11日", 600, 950, w=180),
    ]
    out = extract_authorization_letter(region(lines))
    assert out["enterprise_name"].value == "宁波远新工贸有限公司永康分公司"
    assert out["sign_date"].value == "2025-10-11"


def test_a_seal_mark_under_the_name_is_not_the_names() -> None:
    """``（公章）`` on the line under a whole name is the mark, not part of the name."""
    lines = [
        ln("授权委托书", 300, 110, h=40),
        ln(f"兹委托张三（身份证号码：{ID}）前往办理变更企业操作员业务。", 90, 300, w=900),
        ln("委托单位：义乌市鑫嘉报关有限公司", 480, 800, w=440),
        ln("（公章）", 480, 850, w=110),
    ]
    out = extract_authorization_letter(region(lines))
    assert out["enterprise_name"].value == "义乌市鑫嘉报关有限公司"


def test_the_name_in_the_text_stands_over_its_seal_crossed_reading_under_the_seal() -> None:
    """本单位X（统一社会信用代码…）: the text's X, not 委托单位：… read through the seal's ink."""
    lines = [
        ln("授权委托书", 448, 168),
        ln("本单位义乌市世世晟工贸经营部（统一社会信用代码：", 213, 377),
        ln("91330782725118J58U)现授权许俊（身份证号码：", 149, 436),
        ln("370202197105207278)为我单位代理人，代表本单位前往中国电子口", 149, 496),
        ln("岸数据中心杭州分中心办理中国电子口岸变更企业操作员业务。", 149, 556),
        ln("委托单位", 544, 936, w=132),
        ln("(盖章)：义乌市世世晟工贸", 693, 932, w=386, conf=0.95),
        ln("器", 857, 970, w=56, conf=0.34),
        ln("经营部", 541, 1002, w=106),
        ln("2025年08月28日", 839, 1109),
    ]
    got = extract_authorization_letter(region(lines))
    assert got["enterprise_name"].value == "义乌市世世晟工贸经营部"
    assert got["enterprise_name"].confidence >= DOUBT_BELOW


def test_a_table_letters_agent_label_is_no_sentence_sending_someone() -> None:
    """Acc2 20014: 被委托人 | 陈琪雪 | 公民身份号码 | … joined read 委托 人陈琪雪 (身份号码 …) as
    the sending sentence; 20018: with the agent's name not read, 在上述授权范围内所办理 gave
    范围内所. The label's 委托 sends no one; a label's noun names no one."""
    lines = [
        ln("委托人", 268, 440), ln("永康市恒鑫科技有限公司", 482, 440),
        ln("统一社会信用代码", 211, 527), ln("913307848664027G6X", 482, 553, w=286),
        ln("被委托人", 252, 652), ln("陈琪雪", 480, 653),
        ln("公民身份号码", 224, 740), ln(ID, 482, 744, w=286),
        ln("委托事项", 255, 822), ln("变更企业操作员", 486, 826),
        ln("委托人对受托人在上述授权范围内所办理的事项及签署的文件均予以认可。", 140, 1015, w=960),
    ]  # fmt: skip
    assert extract_authorization_letter(region(lines))["agent_name"].value == "陈琪雪"
    unread = [x for x in lines if x.text != "陈琪雪"]
    assert "agent_name" not in extract_authorization_letter(region(unread))


def test_a_credit_code_label_beside_a_stamps_number_takes_the_lone_code_below() -> None:
    """Acc2 20044: 统一社会信用代码2528678 (a number of the seal's), the code on the next
    line: the one valid code on the page stands; with none, the reading stays, unshaped."""
    lines = [
        ln("委托单位（盖章）：永康市天佳工贸有限公司", 330, 800),
        ln("统一社会信用代码2528678", 330, 860),
        ln("91330784579324580M", 330, 920, w=286),
        ln("2025年10月11日", 500, 1000, w=180),
    ]
    got = extract_authorization_letter(region(lines))["credit_code"]
    assert got.value == "91330784579324580M" and got.bbox is not None and got.bbox[1] == 920
    alone = extract_authorization_letter(region([x for x in lines if x.text[:2] != "91"]))
    assert alone["credit_code"].value == "2528678"


@pytest.mark.parametrize(
    "name_lines",
    [
        # Acc2 20024: the wrap in two boxes, 合伙企业 | (有限合伙).
        [ln("委托单位（盖章）：义乌市信世锐工贸", 330, 800), ln("合伙企业", 330, 850),
         ln("(有限合伙)", 450, 850, w=190)],
        # Acc2 20096: the name whole on its line, its partnership's note under it.
        [ln("委托单位（盖章）：义乌市信世锐工贸合伙企业", 330, 800),
         ln("(有限合伙)", 337, 850, w=160)],
    ],
    ids=["wrap-in-two-boxes", "note-under-a-whole-name"],
)  # fmt: skip
def test_a_partnerships_bracketed_note_ends_its_name(name_lines: list[OcrLine]) -> None:
    """A name's own bracketed note is the name's; a seal's mark under it is not."""
    lines = [*name_lines, ln("统一社会信用代码：91330784579324580M", 330, 920)]
    got = extract_authorization_letter(region(lines))["enterprise_name"].value
    assert got is not None and got.replace("(", "（").replace(")", "）") == (
        "义乌市信世锐工贸合伙企业（有限合伙）"
    )
    marked = [ln("委托单位：义乌市信世锐工贸合伙企业", 330, 800), ln("(公章)", 337, 850, w=100)]
    assert extract_authorization_letter(region(marked))["enterprise_name"].value == (
        "义乌市信世锐工贸合伙企业"
    )


def test_a_names_wrap_is_the_next_rows_first_box_of_the_texts_size() -> None:
    """Acc3 60062: a seal's 晟 alone between the lines, and (有限合伙) 2 px above 伙企业
    on its right: the wrap is 伙企业, then (有限合伙). Acc3 60139: a wrap misread so that
    the name never ends is left unread, and the name's reading is marked cut."""
    head = ln("委托单位（盖章）：杭州市晟恒进出口合", 563, 900, w=553, h=40)
    lines = [
        head,
        ln("晟", 673, 937, w=41, h=27),
        ln("(有限合伙)", 669, 970, w=153, h=38),
        ln("伙企业", 560, 972, w=101, h=38),
        ln("统一社会信用代码：91330784579324580M", 563, 1041),
    ]
    got = extract_authorization_letter(region(lines))["enterprise_name"]
    assert got.value == "杭州市晟恒进出口合伙企业(有限合伙)" and not got.cut
    misread = [head, ln("伙企业普通合伙）", 560, 972, w=264, h=38), lines[-1]]
    cut = extract_authorization_letter(region(misread))["enterprise_name"]
    assert cut.value == "杭州市晟恒进出口合" and cut.cut


def test_a_box_that_reads_the_wraps_end_again_is_not_more_of_the_name() -> None:
    """Acc3 60096 / 60256: the detector saw 仑分公司 (or 工分公司) again just after the
    wrapped line 司宁波北仑分公司: a second look at its end, not more name."""
    for echo in ("仑分公司", "工分公司"):
        lines = [
            ln("委托单位(公章）：上海联诚源贸易有限公", 592, 976, w=568, h=40),
            ln("司宁波北仑分公司", 592, 1040, w=240, h=40),
            ln(echo, 840, 1042, w=120, h=38),
            ln("统一社会信用代码：91330784579324580M", 592, 1120),
        ]
        got = extract_authorization_letter(region(lines))["enterprise_name"].value
        assert got == "上海联诚源贸易有限公司宁波北仑分公司", echo


def test_a_names_wrap_is_found_under_a_label_line_the_seal_made_taller() -> None:
    """Acc3 60030: the seal's ink merged into the name's first box (55 px over 37 px
    text); its wrap 公司宁波北仑分公司, of the text's size, is still the name's."""
    lines = [
        ln("委托单位（盖章）：杭州天宏进出口有限", 583, 1026, w=608, h=55),
        ln("口有限公", 688, 956, w=138, h=104),
        ln("公司宁波北仑分公司", 589, 1112, w=299, h=37),
        ln("统一社会信用代码：", 586, 1182, w=288, h=43),
        ln("913302063828132921", 588, 1259, w=360, h=36),
        ln("受托人（签字）：邹芮暄", 586, 1336, w=389, h=37),
        ln("特此委托。", 212, 824, w=157, h=37),
    ]
    got = extract_authorization_letter(region(lines))["enterprise_name"]
    assert got.value == "杭州天宏进出口有限公司宁波北仑分公司"


def test_a_wrap_ending_in_the_seals_mark_or_beside_its_legend_is_the_name_without_them() -> None:
    """Acc3 60036: the wrap 有限公司X, the ring read as an X after it. Acc3 60020: the
    legend 永康市 read down the seal's arc (a box taller than wide) beside 有限公司."""
    head = ln("委托单位（公章）：禾瑞天（杭州）贸易", 622, 1062, w=594, h=41)
    code = ln("统一社会信用代码：913301088924Q9005B", 619, 1197, w=600, h=40)
    marked = [head, ln("有限公司X", 620, 1133, w=175, h=40), code]
    got = extract_authorization_letter(region(marked))["enterprise_name"]
    assert got.value == "禾瑞天（杭州）贸易有限公司"
    standing = OcrLine(
        text="永康市", poly=[(787, 1045), (866, 1045), (866, 1160), (787, 1160)], confidence=1.0
    )
    head = ln("授权单位（盖章）：禾瑞天（杭州）贸易", 614, 1015, w=617, h=43)
    beside = [head, ln("有限公司", 613, 1087, w=138, h=41), standing, code]
    got = extract_authorization_letter(region(beside))["enterprise_name"]
    assert got.value == "禾瑞天（杭州）贸易有限公司"
    # A box of that height read across (a written line) still goes on the line.
    lying = ln("上海分公司", 780, 1087, w=170, h=41)
    got = extract_authorization_letter(region([head, beside[1], lying, code]))["enterprise_name"]
    assert got.value == "禾瑞天（杭州）贸易有限公司上海分公司"


def _box(text: str, x0: float, y0: float, x1: float, y1: float, conf: float) -> OcrLine:
    return OcrLine(text=text, poly=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], confidence=conf)


@pytest.mark.parametrize(
    ("head", "between", "wrap", "want"),
    [
        # Acc4 80108: 酒 read faintly, 菅部 down the arc, nearer than the wrap.
        (_box("委托单位(盖章)）：杭州市滨江区源盛", 554, 969, 1082, 1005, 0.96),
         [_box("酒", 838, 1010, 871, 1053, 0.38), _box("菅部", 821, 1031, 876, 1110, 0.83)],
         _box("贸易经营部", 555, 1034, 716, 1075, 1.0), "杭州市滨江区源盛贸易经营部"),
        # Acc4 80114: the ring read as a faint X under the name's end.
        (_box("授权单位（盖章）：宁波市博新科技有限", 595, 1068, 1198, 1108, 0.97),
         [_box("X", 816, 1113, 897, 1163, 0.53)],
         _box("公司", 593, 1138, 670, 1184, 1.0), "宁波市博新科技有限公司"),
        # Acc4 80132: the legend 宁波市 standing, 器 and 呵 faint, level with the wrap.
        (_box("委托单位（公章）：宁波市北仑区世创工贸经", 562, 866, 1133, 903, 0.99),
         [_box("宁波市", 657, 892, 720, 996, 1.0), _box("器", 839, 931, 888, 979, 0.47),
          _box("呵", 848, 909, 891, 948, 0.39)],
         _box("营部", 559, 927, 629, 969, 1.0), "宁波市北仑区世创工贸经营部"),
    ],
    ids=["faint-and-standing", "faint-ring", "standing-legend"],
)  # fmt: skip
def test_a_names_wrap_at_the_left_edge_is_found_past_the_seals_glyphs(
    head: OcrLine, between: list[OcrLine], wrap: OcrLine, want: str
) -> None:
    """Seal glyphs read alone (faintly, or down the arc) sit nearer the name's line than
    its wrap back at the left edge: they are not the wrap, and the name is whole."""
    code = ln("统一社会信用代码：91330784579324580M", head.bbox[0], wrap.bbox[3] + 30)
    got = extract_authorization_letter(region([head, *between, wrap, code]))["enterprise_name"]
    assert got.value == want
    # A surely read short wrap (公司 at 1.00) is still one, however short.
    assert not got.cut


def test_a_labels_last_character_read_again_before_the_seal_mark_is_not_the_names() -> None:
    """Acc4 80170: 授权单位 in one box, 立（盖章）：永康市… in the next (位 read again as
    立): what stands before the mark is the label's, not the enterprise's."""
    lines = [
        _box("授权单位", 617, 1050, 769, 1092, 1.0),
        _box("立（盖章）：永康市宇联联五金", 747, 1051, 1213, 1092, 0.95),
        _box("店", 613, 1125, 662, 1173, 1.0),
        ln("统一社会信用代码：923307846479662605", 620, 1206),
    ]
    got = extract_authorization_letter(region(lines))["enterprise_name"]
    assert got.value == "永康市宇联联五金店"


def test_an_agent_whose_name_the_detector_missed_is_read_beside_the_label() -> None:
    """Acc3 60005: a letter of labelled facts, nothing detected beside 受托人姓名: the
    row is read again right of the label; a reading naming the next label is no name."""
    lines = [
        ln("企业授权委托书", 504, 336, w=438, h=63),
        ln("委托单位", 300, 568, w=130, h=45),
        ln("义乌市金海贸易商行", 517, 567, w=267, h=42),
        ln("受托人姓名", 283, 767, w=153, h=45),
        ln("身份证号", 295, 846, w=125, h=42),
        ln(ID, 506, 847, w=273, h=34),
        ln("委托事项", 293, 922, w=126, h=43),
        ln("办理中国电子口岸变更企业操作员业务", 507, 916, w=502, h=45),
    ]
    reg = region(lines)
    assert "agent_name" not in extract_authorization_letter(reg)
    asked: list[float] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(reach)
        return [OcrLine(text="受托人姓名蒋磊阳", poly=line.poly, confidence=0.98)] * 2

    reg.reread = reread
    assert extract_authorization_letter(reg)["agent_name"].value == "蒋磊阳"
    assert asked and min(asked) >= 5
    reg.reread = lambda line, reach: (
        [OcrLine(text="受托人姓名身份证号", poly=line.poly, confidence=0.98)] * 2
    )
    assert "agent_name" not in extract_authorization_letter(reg)
