"""The application form and the authorization letter against the filed fields.

Sources: RULES.md "Forms and letters"; the portal manual: "表格填写操作员信息须与页面上填写
一致" (FORM-MATCH) and "请携带《企业授权委托书》至网点领取介质设备" (AUTH-LETTER).

Where the findings go (RULES.md "Where a finding goes", and our choices where it is silent):

- FORM-MATCH: the filed field the form contradicts — ``enterprise.name``,
  ``enterprise.credit_code``, ``operators[i].<field>``, ``application_type``.
- FORM-SIGNED: ``file:<form file>`` — the thing to fix is the form itself (sign and date
  it, stamp it), not a filed value.
- AUTH-LETTER: the enterprise named by the letter → ``enterprise.name`` (or
  ``enterprise.credit_code`` when only the code was read); the agent (none read, ID number
  failing its check digit) → ``file:<letter file>``: the applicant must bring a corrected
  letter, there is no filed field to correct.
- A number or code on the form or letter that fails its check character and read the
  same at a second look (``FieldValue.check_failed``) is the applicant's slip, not a
  misreading: ``inconsistent`` error on the filed field it differs from (``judge``);
  the letter's agent number, with no filed field, stays AUTH-LETTER's warning, which
  then says the letter must be corrected.
- A reading that runs into a neighbour, is cut at a boundary, or has not its field's
  shape (``_SHAPES``) is a ``not_found`` warning (``docpipe.misread``).

A form or letter that is absent gives no finding here: that is FILE-REQUIRED's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import numpy as np

from docpipe.checkdigits import id_check_char, is_valid_id
from docpipe.compare import (
    Check,
    Outcome,
    evidence,
    filed_values,
    is_doubtful,
    is_filed,
    judge,
    norm_value,
    outcome,
)
from docpipe.kinds import id_type_name, id_type_names
from docpipe.misread import credit_code_shaped, id_number_shaped, one_of
from docpipe.models import Code, DocKind, Document, Person, Severity, Submission
from docpipe.normalize import edit_distance, norm_id, norm_text, parse_date
from docpipe.rules import Hit, RuleContext, rule
from validators.dates import as_of
from validators.devices import DEVICE_TYPES
from validators.required import NEEDS

_FORM_ZH, _FORM_EN = "申请书", "the application form"
_LETTER_ZH, _LETTER_EN = "授权委托书", "the authorization letter"


def _enterprise_fields(
    sub: Submission,
) -> tuple[tuple[str, str | None, str, str, str, str], ...]:
    """The enterprise's name and credit code as form and letter print them.

    Each: filed path, filed value, document field, how compared, Chinese and English name.
    """
    ent = sub.enterprise
    return (
        (
            "enterprise.name",
            ent.name,
            "enterprise_name",
            "text",
            "企业名称",
            "enterprise name",
        ),
        (
            "enterprise.credit_code",
            ent.credit_code,
            "credit_code",
            "id",
            "统一社会信用代码",
            "credit code",
        ),
    )


# (form field, filed attribute of the operator, how, 中文, English)
_PERSON_FIELDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("operator_name", "name", "name", "操作员姓名", "operator name"),
    ("operator_id_type", "id_type", "text", "操作员证件类型", "operator ID type"),
    ("operator_id_number", "id_number", "id", "操作员证件号码", "operator ID number"),
    ("operator_gender", "gender", "text", "操作员性别", "operator gender"),
    ("operator_mobile", "mobile", "text", "操作员移动电话", "operator mobile number"),
    ("device_type", "device_type", "text", "操作员设备类型", "operator device type"),
    ("device_number", "device_number", "text", "操作员设备编号", "operator device number"),
)
# 居民身份证 and 身份证 name the same document.
# Red seal: a red pixel is clearly red; a page needs this share of them to show a seal.
SEAL_MIN_SHARE = 0.0004
# A page whose channels never differ by more than this is greyscale: a seal cannot show.
GREY_SPREAD = 30


def _same_id_type(a: str, b: str) -> bool:
    """Tell whether two ID type names mean the same document.

    >>> _same_id_type("身份证", "居民身份证"), _same_id_type("护照", "居民身份证")
    (True, False)
    """
    return (id_type_name(a) or a) == (id_type_name(b) or b)


def _digits(value: str) -> str:
    """Digits only, without a +86 / 0086 prefix (phones and device numbers).

    >>> _digits("+86 138-0000-0000")
    '13800000000'
    """
    text = re.sub(r"\D", "", norm_text(value))
    if value.strip().startswith(("+86", "0086")) and len(text) > 11:
        text = text[-11:]
    return text


def _same_digits(a: str, b: str) -> bool:
    return _digits(a) == _digits(b) and bool(_digits(a))


_EQUAL: dict[str, Callable[[str, str], bool]] = {
    "id_type": _same_id_type,
    "mobile": _same_digits,
    "device_number": _same_digits,
}
# The ID types a form may name: every identity kind's (docpipe.kinds) and the rest of
# the portal's list.
ID_TYPE_NAMES = (
    *id_type_names(),
    "护照",
    "港澳居民来往内地通行证",
    "台湾居民来往大陆通行证",
    "港澳台居民居住证",
    "港澳居民居住证",
    "台湾居民居住证",
    "外国人永久居留身份证",
)
# What a reading must look like to stand as a mismatch, by document field (RULES.md
# decision "A reading is not a finding": dates, closed sets, lengths).
_SHAPES: dict[str, Callable[[str], bool]] = {
    "credit_code": credit_code_shaped,
    "operator_id_number": id_number_shaped,
    "operator_id_type": one_of(ID_TYPE_NAMES),
    "operator_gender": one_of(("男", "女")),
    "operator_mobile": lambda v: re.fullmatch(r"1\d{10}", _digits(v)) is not None,
    "device_type": one_of(DEVICE_TYPES),
    "device_number": lambda v: re.fullmatch(r"\d{13}", _digits(v)) is not None,
    "application_type": one_of((*NEEDS, "new_enterprise")),
}


def _check(
    sub: Submission,
    doc: Document,
    path: str,
    filed: str | None,
    doc_field: str,
    how: str,
    zh: str,
    en: str,
) -> Check:
    """One filed value against the form or the letter, shaped by its document field."""
    letter = doc.kind == DocKind.authorization_letter
    source_zh, source_en = (_LETTER_ZH, _LETTER_EN) if letter else (_FORM_ZH, _FORM_EN)
    return Check(
        path,
        filed,
        doc,
        doc_field,
        zh,
        en,
        source_zh,
        source_en,
        how,
        _SHAPES.get(doc_field),
        filed_values(sub),
    )


def _value(doc: Document, name: str) -> str | None:
    fv = doc.fields.get(name)
    return fv.value if fv is not None and fv.value else None


def operator_for_form(sub: Submission, form: Document, taken: set[int]) -> int | None:
    """Index of the filed operator an application form is about, or ``None``.

    By the form's ID number, then its name, then (one operator filed, or one left that
    no other form claimed) by elimination.
    """
    number = _value(form, "operator_id_number")
    name = _value(form, "operator_name")
    ops = sub.operators
    if number:
        for i, op in enumerate(ops):
            if op.id_number and norm_id(op.id_number) == norm_id(number):
                return i
    if name:
        for i, op in enumerate(ops):
            if op.name and norm_value(op.name, "name") == norm_value(name, "name"):
                return i
    if len(ops) == 1:
        return 0
    left = [i for i in range(len(ops)) if i not in taken]
    return left[0] if len(left) == 1 else None


def _person_checks(sub: Submission, form: Document, path: str, op: Person) -> Iterator[Hit]:
    for doc_field, attr, how, zh, en in _PERSON_FIELDS:
        filed = getattr(op, attr)
        check = _check(sub, form, f"{path}.{attr}", filed, doc_field, how, zh, en)
        hit = judge(check, equal=_EQUAL.get(attr))
        if hit is not None:
            yield hit


@rule("FORM-MATCH", code="mismatch", severity="error")
def form_match(ctx: RuleContext) -> Iterator[Hit]:
    """申请书与填报信息一致 / application form matches the filed fields.

    Every application form (one per operator is allowed) against the enterprise, the
    operator it is about (matched by ID number, then name) and the application type.
    """
    sub = ctx.submission
    assert sub is not None
    seen: set[tuple[str, str]] = set()
    taken: set[int] = set()
    forms = ctx.docs("application_form")
    matched = [(form, operator_for_form(sub, form, set())) for form in forms]
    taken = {i for _, i in matched if i is not None}
    for form, index in matched:
        if index is None:
            index = operator_for_form(sub, form, taken)
            if index is not None:
                taken.add(index)
        hits: list[Hit] = []
        for path, filed, doc_field, how, zh, en in _enterprise_fields(sub):
            check = _check(sub, form, path, filed, doc_field, how, zh, en)
            if (hit := judge(check)) is not None:
                hits.append(hit)
        if index is not None:
            hits.extend(_person_checks(sub, form, f"operators[{index}]", sub.operators[index]))
        elif sub.operators:
            name = _value(form, "operator_name") or "?"
            hits.append(
                Hit(
                    field="operators",
                    found=name,
                    evidence=evidence(form, form.fields.get("operator_name")),
                    message=(
                        f"申请书上的操作员“{name}”与填报的任何操作员都不对应 / the operator "
                        f"on the application form (“{name}”) is none of the filed operators"
                    ),
                )
            )
        check = _check(
            sub,
            form,
            "application_type",
            sub.application_type,
            "application_type",
            "text",
            "申请业务",
            "application type",
        )
        # RULES.md's FORM-MATCH list does not include the business ticked on the form:
        # a tick OCR could not see is no reason to send a clean case to review. Only a
        # confidently read different business is reported.
        if (hit := judge(check)) is not None and hit.code == Code.mismatch:
            hits.append(hit)
        for hit in hits:
            key = (hit.field, str(hit.code))
            if key not in seen:
                seen.add(key)
                yield hit


def red_seal_share(image: object) -> float | None:
    """Share of clearly red pixels on a page, ``None`` when the page is greyscale.

    A greyscale page (a photocopy, a grey scan) cannot show a red seal, so no verdict.
    """
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] < 3:
        return None
    rgb = a[..., :3].astype(np.int16)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    spread = np.maximum(np.abs(r - g), np.abs(g - b))
    if int(spread.max(initial=0)) <= GREY_SPREAD:
        return None
    red = (r > 140) & (r - g > 60) & (r - b > 60)
    return float(red.mean())


@rule("FORM-SIGNED", code="policy", severity="warning")
def form_signed(ctx: RuleContext) -> Iterator[Hit]:
    """申请书签署 / application form signed and dated.

    The form carries a sign date not after the reference date and, on a colour page,
    a red seal. Field: ``file:<form>`` (the form is what must be fixed).
    """
    for form in ctx.docs("application_form"):
        field = f"file:{form.file}"
        fv = form.fields.get("sign_date")
        day = parse_date(fv.value) if fv is not None and fv.value else None
        if day is None:
            yield Hit(
                field=field,
                found=fv.raw if fv is not None else None,
                evidence=evidence(form, fv),
                message=(
                    f"申请书（{form.file}）上未见签署日期 / the application form "
                    f"({form.file}) carries no sign date that could be read"
                ),
            )
        elif (ref := as_of(ctx)) is not None and day > ref:
            yield Hit(
                field=field,
                filed=ref.isoformat(),
                found=day.isoformat(),
                evidence=evidence(form, fv),
                message=(
                    f"申请书（{form.file}）的签署日期 {day.isoformat()} 晚于审核日期 / the "
                    f"application form ({form.file}) is dated {day.isoformat()}, after the "
                    "reference date"
                ),
            )
        page = ctx.pages.get((form.file, form.page))
        if page is None:
            continue
        share = red_seal_share(page.image())
        if share is not None and share < SEAL_MIN_SHARE:
            yield Hit(
                field=field,
                found=f"red share {share:.5f}",
                evidence=evidence(form, None),
                message=(
                    f"申请书（{form.file}）上未见红色印章 / no red seal found on the "
                    f"application form ({form.file})"
                ),
            )


def _letter_enterprise(sub: Submission, letter: Document) -> Hit | None:
    """The finding on the enterprise a letter names, ``None`` when name or code agrees.

    A credit code the letter prints wrong (failing its check character, read the same at
    a second look) is the letter's own error whatever its name says: ``inconsistent``.
    """
    checks = [
        _check(sub, letter, path, filed, doc_field, how, zh, en)
        for path, filed, doc_field, how, zh, en in _enterprise_fields(sub)
        if is_filed(filed)
    ]
    for check in checks:
        fv = letter.fields.get(check.doc_field)
        if fv is not None and fv.check_failed:
            hit = judge(check)
            if hit is not None and hit.code == Code.inconsistent:
                return hit
    results = []
    for check in checks:
        assert check.filed is not None
        result = outcome(check.filed, letter.fields.get(check.doc_field), check.how)
        if result is Outcome.equal:
            return None
        results.append((result, check))
    if not results:
        return None
    # A confident difference is a mismatch: the letter names another enterprise (a
    # reading problem, ``judge``'s warning, only when nothing else settles it).
    for result, check in results:
        hit = judge(check) if result is Outcome.different else None
        if hit is not None and hit.severity != Severity.warning:
            return hit
    # The seal is stamped over the name and the code: a doubtful reading a character or
    # two away from the filed value is that, not another enterprise.
    for result, check in results:
        fv = letter.fields.get(check.doc_field)
        if result is Outcome.doubtful and fv is not None and fv.value and check.filed:
            a, b = norm_value(check.filed, check.how), norm_value(fv.value, check.how)
            if edit_distance(a, b) <= max(2, len(a) // 6):
                return None
    return judge(results[0][1])


@rule("AUTH-LETTER", code="mismatch", severity="error")
def auth_letter(ctx: RuleContext) -> Iterator[Hit]:
    """企业授权委托书 / authorization letter.

    Offline channel only. The letter names the enterprise (name or credit code = filed;
    a mismatch only when neither agrees and the reading is confident) and an agent whose
    ID number passes MOD 11-2 (``policy`` warnings on ``file:<letter>`` otherwise).
    """
    sub = ctx.submission
    assert sub is not None
    mode = norm_text(sub.channel.mode or "").lower() if sub.channel else ""
    if mode != "offline":
        return
    seen: set[tuple[str, str]] = set()
    for letter in ctx.docs("authorization_letter"):
        hits: list[Hit] = []
        if (hit := _letter_enterprise(sub, letter)) is not None:
            hits.append(hit)
        field = f"file:{letter.file}"
        name_fv = letter.fields.get("agent_name")
        id_fv = letter.fields.get("agent_id_number")
        agent_name = name_fv.value if name_fv is not None else None
        agent_id = id_fv.value if id_fv is not None else None
        if not agent_name and not agent_id:
            hits.append(
                Hit(
                    field=field,
                    code=Code.policy,
                    severity=Severity.warning,
                    evidence=evidence(letter, None),
                    message=(
                        f"授权委托书（{letter.file}）上未识别到受托人姓名或证件号码 / no agent "
                        f"name or ID number could be read on the authorization letter "
                        f"({letter.file})"
                    ),
                )
            )
        elif agent_id and not is_valid_id(norm_id(agent_id)):
            number = norm_id(agent_id)
            doubtful = id_fv is not None and is_doubtful(id_fv)
            sure = id_fv is not None and id_fv.check_failed
            expected = id_check_char(number[:17]) if re.fullmatch(r"\d{17}[\dX]", number) else None
            tail_zh = f"，校验位应为 {expected}" if expected else "，格式不符"
            tail_en = f": check character should be {expected}" if expected else ": malformed"
            if sure:  # read the same twice: the letter's own error, not a misreading
                tail_zh += "（再次识别仍相同，系委托书填写有误，请更正委托书）"
                tail_en += " (read the same at a second look: the letter must be corrected)"
            hits.append(
                Hit(
                    field=field,
                    code=Code.policy,
                    severity=Severity.warning,
                    found=agent_id,
                    evidence=evidence(letter, id_fv),
                    message=(
                        f"授权委托书（{letter.file}）上受托人的证件号码校验不通过"
                        f"{'（识别不确定）' if doubtful else ''}{tail_zh} / the agent's ID number "
                        f"on the authorization letter ({letter.file}) fails its check"
                        f"{' (read with low confidence)' if doubtful else ''}{tail_en}"
                    ),
                )
            )
        for hit in hits:
            key = (hit.field, str(hit.code))
            if key not in seen:
                seen.add(key)
                yield hit
