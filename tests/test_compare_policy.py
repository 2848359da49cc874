"""RULES.md decision "A reading is not a finding": ``compare.judge`` on reading problems.

A neighbour's label or value absorbed into a reading, a value cut at a line or cell
boundary, a reading whose shape its field cannot have: ``not_found`` warnings. A value
genuinely longer or shorter: ``mismatch``. A number failing its check character that
reads the same at a second look: the document's own error, ``inconsistent``.
"""

from __future__ import annotations

import pytest
from test_extract_form import ln, region
from test_extract_letter import FOOT
from test_extract_letter import region as letter_region
from test_rules_forms import filed, form, fv, letter, one, run

from docpipe.compare import Check, filed_values, judge
from docpipe.misread import absorbed, label_words
from docpipe.models import Code, DocKind, Document, FieldValue, Severity
from docpipe.ocr.base import OcrLine
from docpipe.reading import extract_region
from docpipe.reread import confirm

NAME = "杭州市宏华工贸有限公司"
ID = "370202197906096686"  # valid, filed()'s operator
SWAPPED = "370202197906069686"  # ID with its 14th and 15th digits swapped: fails its check


def _license(**fields: FieldValue) -> Document:
    return Document(file="license.jpg", kind=DocKind.business_license, fields=fields)


def _check(
    doc: Document, field: str, filed_value: str, how: str = "text", others: tuple[str, ...] = ()
) -> Check:
    what = ("某项", "some field", "营业执照", "the license")
    return Check("enterprise.x", filed_value, doc, field, *what, how=how, others=others)


def _form_rows(number: str) -> list[OcrLine]:
    """An application form's table agreeing with ``filed()`` but for the ID number."""
    rows = [
        ("企业名称", NAME),
        ("统一社会信用代码", "91330106592460771J"),
        ("持卡人姓名", "蔡娜"),
        ("证件类型", "居民身份证"),
        ("身份证号码", number),
        ("性别", "女"),
        ("手机号码", "18090403771"),
        ("设备类型", "IC卡"),
        ("介质编号", "7193919419210"),
    ]
    out = [ln("电子口岸制发卡业务申请书", 300, 40, h=40)]
    for i, (label, value) in enumerate(rows):
        out += [ln(label, 100, 120 + 60 * i), ln(value, 400, 120 + 60 * i, w=330)]
    return out


def _reading(*texts: str, confidence: float = 0.97):  # type: ignore[no-untyped-def]
    """A second look at a line that reads each of ``texts`` in turn."""

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        return [OcrLine(text=t, poly=line.poly, confidence=confidence) for t in texts]

    return reread


# --------------------------------------------------------------------------- absorbed


def test_the_label_lexicon_holds_every_kinds_labels() -> None:
    words = label_words()
    assert {"住所", "经营范围", "统一社会信用代码", "公民身份号码", "受托人", "设备编号"} <= words
    assert all(len(w) >= 2 for w in words)


@pytest.mark.parametrize(
    "read",
    [f"{NAME}住所杭州市西湖区文三路1号", f"{NAME}统一社会信用代码", f"名称：{NAME}",
     f"心：{NAME}"],
    # Acc4 80029: what was left of the label, its colon, before the name.
    ids=["address-label", "code-label", "label-before", "label-remnant"],
)  # fmt: skip
def test_a_neighbouring_label_absorbed_is_not_found(read: str) -> None:
    f = one(
        run(filed(), [form(enterprise_name=fv(read))], "FORM-MATCH"),
        "FORM-MATCH",
        "not_found",
        "warning",
        "enterprise.name",
    )
    assert f.found == read
    zh, en = f.message.split(" / ")
    assert read in zh and read in en and "相邻" in zh and "neighbouring" in en


def test_another_filed_value_absorbed_is_not_found() -> None:
    sub = filed(enterprise={"name": NAME, "registered_address": "杭州市西湖区文三路1号"})
    read = f"{NAME}杭州市西湖区文三路1号"
    one(
        run(sub, [form(enterprise_name=fv(read))], "FORM-MATCH"),
        "FORM-MATCH",
        "not_found",
        "warning",
        "enterprise.name",
    )
    # Without that filed value nothing says the rest is a neighbour's: a mismatch.
    one(
        run(filed(), [form(enterprise_name=fv(read))], "FORM-MATCH"),
        "FORM-MATCH",
        "mismatch",
        "error",
        "enterprise.name",
    )


def test_another_field_of_the_same_document_absorbed_is_not_found() -> None:
    """The form's gender cell run into the name cell: 蔡娜女, the form's gender 女."""
    one(
        run(filed(), [form(operator_name=fv("蔡娜女"))], "FORM-MATCH"),
        "FORM-MATCH",
        "not_found",
        "warning",
        "operators[0].name",
    )


def test_an_address_with_the_scope_glued_on_is_not_found() -> None:
    lic = _license(address=fv("杭州市西湖区文三路1号经营范围：五金交电批发"))
    hit = judge(_check(lic, "address", "杭州市西湖区文三路1号"))
    assert hit is not None and (hit.code, hit.severity) == (Code.not_found, Severity.warning)
    assert "五金交电批发" in hit.message


def test_a_genuinely_longer_name_stays_a_mismatch() -> None:
    """天佳工贸有限公司 filed, 永康市天佳工贸有限公司 printed: another name, not a misreading."""
    sub = filed(enterprise={"name": "天佳工贸有限公司", "registered_address": "永康市花街镇1号"})
    lic = _license(name=fv("永康市天佳工贸有限公司"), address=fv("永康市花街镇1号"))
    hit = judge(_check(lic, "name", "天佳工贸有限公司", others=filed_values(sub)))
    assert hit is not None and hit.code == Code.mismatch
    assert not absorbed("天佳工贸有限公司", "永康市天佳工贸有限公司", ["永康市花街镇1号"])
    one(
        run(sub, [form(enterprise_name=fv("永康市天佳工贸有限公司"))], "FORM-MATCH"),
        "FORM-MATCH",
        "mismatch",
        "error",
        "enterprise.name",
    )


# --------------------------------------------------------------------------- cut


def test_a_value_cut_at_a_boundary_is_not_found_and_without_the_flag_a_mismatch() -> None:
    cut = FieldValue(value="杭州市宏华工贸", confidence=0.99, cut=True)
    f = one(
        run(filed(), [form(enterprise_name=cut)], "FORM-MATCH"),
        "FORM-MATCH",
        "not_found",
        "warning",
        "enterprise.name",
    )
    assert "杭州市宏华工贸" in f.message and "boundary" in f.message
    whole = cut.model_copy(update={"cut": False})
    one(
        run(filed(), [form(enterprise_name=whole)], "FORM-MATCH"),
        "FORM-MATCH",
        "mismatch",
        "error",
        "enterprise.name",
    )
    # The flag explains a missing end, not another value.
    other = FieldValue(value="宁波市泰云", confidence=0.99, cut=True)
    one(
        run(filed(), [form(enterprise_name=other)], "FORM-MATCH"),
        "FORM-MATCH",
        "mismatch",
        "error",
        "enterprise.name",
    )


# --------------------------------------------------------------------------- shape


@pytest.mark.parametrize(
    ("field", "path", "read"),
    [
        ("operator_gender", "operators[0].gender", "文"),
        ("operator_id_number", "operators[0].id_number", "37020219790609668"),
        ("credit_code", "enterprise.credit_code", "9133010659246077J"),
        ("device_type", "operators[0].device_type", "IC"),
        ("operator_id_type", "operators[0].id_type", "居民身份"),
        ("device_number", "operators[0].device_number", "719391941921"),
    ],
    ids=["gender", "id-length", "code-length", "device-type", "id-type", "device-length"],
)
def test_a_confident_reading_of_the_wrong_shape_is_not_found(
    field: str, path: str, read: str
) -> None:
    f = one(
        run(filed(), [form("form.jpg", **{field: fv(read)})], "FORM-MATCH"),
        "FORM-MATCH",
        "not_found",
        "warning",
        path,
    )
    assert read in f.message and "shape" in f.message


def test_a_date_that_does_not_parse_is_not_found() -> None:
    lic = _license(established_date=fv("2011年13月41日"))
    hit = judge(_check(lic, "established_date", "2011-07-01", "date"))
    assert hit is not None and (hit.code, hit.severity) == (Code.not_found, Severity.warning)
    other = _license(established_date=fv("2012年7月1日"))
    hit = judge(_check(other, "established_date", "2011-07-01", "date"))
    assert hit is not None and hit.code == Code.mismatch


@pytest.mark.parametrize(
    ("field", "path", "read"),
    [
        ("operator_gender", "operators[0].gender", "男"),
        ("operator_id_number", "operators[0].id_number", "110105197107211014"),
        ("device_type", "operators[0].device_type", "U盾"),
        ("credit_code", "enterprise.credit_code", "91330206136905861X"),
    ],
    ids=["gender", "id-number", "device-type", "credit-code"],
)
def test_a_confident_valid_different_reading_is_a_mismatch(
    field: str, path: str, read: str
) -> None:
    f = one(
        run(filed(), [form("form.jpg", **{field: fv(read)})], "FORM-MATCH"),
        "FORM-MATCH",
        "mismatch",
        "error",
        path,
    )
    assert f.found == read


# --------------------------------------------------------------------------- check failed


def test_swapped_digits_read_surely_twice_are_the_forms_own_error() -> None:
    """The form's number read, fails its check, reads the same again: ``inconsistent``."""
    reg = region(_form_rows(SWAPPED))
    reg.reread = _reading(SWAPPED, SWAPPED)
    doc = extract_region(reg)
    got = doc.fields["operator_id_number"]
    assert got.value == SWAPPED and got.check_failed and got.confidence >= 0.9
    f = one(
        run(filed(), [doc], "FORM-MATCH"),
        "FORM-MATCH",
        "inconsistent",
        "error",
        "operators[0].id_number",
    )
    assert (f.filed, f.found) == (ID, SWAPPED)
    assert f.evidence[0].file == "form.jpg" and f.evidence[0].text
    zh, en = f.message.split(" / ")
    assert "校验位" in zh and "check character" in en and "differs from the filed" in en


def test_a_failing_number_read_otherwise_the_second_time_stays_not_found() -> None:
    reg = region(_form_rows(SWAPPED))
    reg.reread = _reading(SWAPPED, "370202197906089686")  # another reading, also invalid
    doc = extract_region(reg)
    assert not doc.fields["operator_id_number"].check_failed
    one(
        run(filed(), [doc], "FORM-MATCH"),
        "FORM-MATCH",
        "not_found",
        "warning",
        "operators[0].id_number",
    )


def test_a_failing_number_read_again_weakly_stays_not_found() -> None:
    reg = region(_form_rows(SWAPPED))
    reg.reread = _reading(SWAPPED, SWAPPED, confidence=0.8)
    doc = extract_region(reg)
    assert not doc.fields["operator_id_number"].check_failed
    one(
        run(filed(), [doc], "FORM-MATCH"),
        "FORM-MATCH",
        "not_found",
        "warning",
        "operators[0].id_number",
    )


@pytest.mark.parametrize(
    ("kind", "field", "typed"),
    [
        ("application_form", "credit_code", True),
        ("authorization_letter", "credit_code", True),
        ("business_license", "credit_code", False),
        ("id_card_front", "id_number", False),
    ],
)
def test_only_documents_the_applicant_writes_keep_a_failing_number(
    kind: str, field: str, typed: bool
) -> None:
    """A license or an ID card is printed by an authority: a failing number is a misreading."""
    value = "91330106592460772J" if field == "credit_code" else SWAPPED
    box = [(100.0, 100.0), (500.0, 100.0), (500.0, 130.0), (100.0, 130.0)]
    line = OcrLine(text=value, poly=box, confidence=0.6)
    first = {field: FieldValue(value=value, confidence=0.59, bbox=(100, 100, 500, 130))}
    got = confirm(first, [line], _reading(value, value), kind)[field]
    assert got.check_failed is typed
    assert (got.confidence >= 0.9) is typed


def test_a_letters_failing_credit_code_read_twice_is_inconsistent() -> None:
    code = "91330106592460772J"  # the filed code with its 17th character off: fails
    sure = FieldValue(value=code, confidence=0.97, bbox=(1, 2, 3, 4), check_failed=True)
    bad = letter(enterprise_name=fv(NAME), credit_code=sure)
    one(
        run(filed(), [bad], "AUTH-LETTER"),
        "AUTH-LETTER",
        "inconsistent",
        "error",
        "enterprise.credit_code",
    )
    # Read in doubt, the name agreeing is enough.
    doubt = sure.model_copy(update={"confidence": 0.58, "check_failed": False})
    assert run(filed(), [letter(enterprise_name=fv(NAME), credit_code=doubt)], "AUTH-LETTER") == []


def test_a_letters_agent_number_read_twice_says_the_letter_must_be_corrected() -> None:
    sure = FieldValue(value=SWAPPED, confidence=0.97, check_failed=True)
    f = one(
        run(filed(), [letter(agent_id_number=sure)], "AUTH-LETTER"),
        "AUTH-LETTER",
        "policy",
        "warning",
        "file:letter.jpg",
    )
    assert "再次识别仍相同" in f.message and "second look" in f.message


def test_a_letters_agent_number_read_again_the_same_through_the_extractor() -> None:
    """The letter's prose, its agent's number with two digits swapped, read the same again."""
    number = "330784199001011213"  # 330784199001011231 with its last two digits swapped
    body = f"兹委托张三（身份证号码：{number}）前往办理电子口岸卡变更操作员业务。"
    reg = letter_region([ln("授权委托书", 300, 110, h=40), ln(body, 90, 300, w=850), *FOOT])

    def again(line: OcrLine, reach: float) -> list[OcrLine]:
        return [OcrLine(text=line.text, poly=line.poly, confidence=0.97)] * 2

    reg.reread = again
    got = extract_region(reg).fields["agent_id_number"]
    assert got.value == number and got.check_failed and got.confidence >= 0.9
    sub = filed(enterprise={"name": "永康市天佳工贸有限公司", "credit_code": "91330784579324580M"})
    f = one(
        run(sub, [extract_region(reg)], "AUTH-LETTER"),
        "AUTH-LETTER",
        "policy",
        "warning",
        "file:letter.jpg",
    )
    assert f.found == number and "second look" in f.message
