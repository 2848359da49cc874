"""Card devices and contact details of every card holder, on the filed values alone.

Sources: RULES.md "Cards and devices" and the portal manual's device page: "填写中国电子
口岸证书背面条码对应的数字，如果遗失忘记，可输入以89开头的13位随机数字（不能与法人设备编号
相同），并在后面申请单的备注栏中注明忘记设备编号".
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from docpipe.normalize import norm_text
from docpipe.rules import Hit, RuleContext, rule

DEVICE_TYPES = ("IC卡", "U盾", "共享盾")
_DEVICE_TYPES_NORM = frozenset(norm_text(t) for t in DEVICE_TYPES)
FORGOTTEN_PREFIX = "89"
# A remark about a forgotten number needs a forgetting word and what was forgotten.
_FORGET_WORDS = ("忘记", "遗忘", "不记得", "忘了", "遗失", "丢失")
_DEVICE_WORDS = ("编号", "设备", "号码", "卡号", "序列号", "条码", "IC卡", "U盾", "共享盾", "KEY")
_DEVICE_NUMBER = re.compile(r"[0-9]{13}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}")
_POSTCODE = re.compile(r"[0-9]{6}")


def _present(value: str | None) -> bool:
    """Tell whether a value was filed (not null, not blank)."""
    return value is not None and bool(value.strip())


def norm_phone(value: str) -> str:
    """Return a phone number without spaces or dashes and without the +86 country prefix.

    >>> norm_phone("+86 138-0000-0000")
    '13800000000'
    >>> norm_phone("０５７９－８７６５４３２１")
    '0579-87654321'
    """
    text = norm_text(value)
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    # Dashes inside a mobile number are layout; a landline keeps its area-code dash.
    return text.replace("-", "") if text.startswith("1") else text


def mentions_forgotten(remarks: str | None) -> bool:
    """Tell whether the remarks say the device number was forgotten.

    >>> mentions_forgotten("法人忘记设备编号"), mentions_forgotten("操作员U盾遗失，不记得编号")
    (True, True)
    >>> mentions_forgotten("忘记密码"), mentions_forgotten(None)
    (False, False)
    """
    if remarks is None:
        return False
    text = norm_text(remarks)
    return any(w in text for w in _FORGET_WORDS) and any(w in text for w in _DEVICE_WORDS)


@rule("DEV-TYPE", code="invalid_format", severity="error")
def device_type(ctx: RuleContext) -> Iterator[Hit]:
    """设备类型 / Device type.

    ``device_type`` is one of IC卡, U盾, 共享盾 (full-width letters are folded first).
    """
    if ctx.submission is None:
        return
    for path, person in ctx.submission.persons():
        value = person.device_type
        if value is None or not _present(value) or norm_text(value) in _DEVICE_TYPES_NORM:
            continue
        yield Hit(
            field=f"{path}.device_type",
            filed=value,
            message=(
                f"设备类型“{value}”应为IC卡、U盾或共享盾 / device type must be IC卡, U盾 or 共享盾"
            ),
        )


@rule("DEV-NUMBER", code="invalid_format", severity="error")
def device_number(ctx: RuleContext) -> Iterator[Hit]:
    """设备编号格式 / Device number format.

    The number on the certificate's bar code: 13 digits.
    """
    if ctx.submission is None:
        return
    for path, person in ctx.submission.persons():
        value = person.device_number
        if value is None or not _present(value):
            continue
        number = norm_text(value)
        if _DEVICE_NUMBER.fullmatch(number):
            continue
        yield Hit(
            field=f"{path}.device_number",
            filed=value,
            message=(
                f"设备编号应为13位数字，填报为{len(number)}位“{number}” / "
                f"device number must be 13 digits, filed {len(number)} characters"
            ),
        )


@rule("DEV-FORGOTTEN", code="policy", severity="warning")
def device_forgotten(ctx: RuleContext) -> Iterator[Hit]:
    """忘记设备编号须备注 / A forgotten device number needs a remark.

    A device number starting with 89 stands for a forgotten one; the remarks must say
    so (忘记 / 遗忘 / 不记得 设备编号). One finding on ``remarks`` names every holder
    concerned.
    """
    sub = ctx.submission
    if sub is None or mentions_forgotten(sub.remarks):
        return
    holders = [
        path
        for path, person in sub.persons()
        if person.device_number is not None
        and norm_text(person.device_number).startswith(FORGOTTEN_PREFIX)
    ]
    if not holders:
        return
    who = ", ".join(holders)
    yield Hit(
        field="remarks",
        filed=sub.remarks,
        found=who,
        message=(
            f"设备编号以89开头（{who}），备注栏须注明忘记设备编号 / "
            f"device number starting with 89 ({who}) needs a remark that it was forgotten"
        ),
    )


@rule("DEV-DISTINCT", code="inconsistent", severity="error")
def device_distinct(ctx: RuleContext) -> Iterator[Hit]:
    """操作员设备编号不得与法人相同 / Operator device number differs from the legal person's.

    Manual: "不能与法人设备编号相同". Two operators with one device number are reported
    the same way, on the later operator.
    """
    sub = ctx.submission
    if sub is None:
        return
    seen: dict[str, str] = {}
    if sub.legal_person is not None and _present(sub.legal_person.device_number):
        seen[norm_text(sub.legal_person.device_number or "")] = "legal_person"
    for i, op in enumerate(sub.operators):
        if op.device_number is None or not _present(op.device_number):
            continue
        number = norm_text(op.device_number)
        other = seen.get(number)
        if other is None:
            seen[number] = f"operators[{i}]"
            continue
        whose_zh = "法人" if other == "legal_person" else f"{other}"
        whose_en = "the legal person's" if other == "legal_person" else f"that of {other}"
        yield Hit(
            field=f"operators[{i}].device_number",
            filed=op.device_number,
            found=other,
            message=(
                f"操作员设备编号与{whose_zh}设备编号相同 / operator device number equals {whose_en}"
            ),
        )


@rule("CONTACT-MOBILE", code="invalid_format", severity="error")
def contact_mobile(ctx: RuleContext) -> Iterator[Hit]:
    r"""手机号码格式 / Mobile number format.

    Each holder's ``mobile`` matches ``^1[3-9]\d{9}$`` (spaces, dashes and +86
    ignored). The courier channel's ``phone`` may also be a landline with area code.
    """
    sub = ctx.submission
    if sub is None:
        return
    for path, person in sub.persons():
        value = person.mobile
        if value is None or not _present(value) or _MOBILE.fullmatch(norm_phone(value)):
            continue
        yield Hit(
            field=f"{path}.mobile",
            filed=value,
            message="手机号码应为1开头的11位数字 / mobile number must be 11 digits starting with 1",
        )
    phone = sub.channel.phone if sub.channel is not None else None
    if phone is not None and _present(phone):
        number = norm_phone(phone)
        if not (_MOBILE.fullmatch(number) or _LANDLINE.fullmatch(number)):
            yield Hit(
                field="channel.phone",
                filed=phone,
                message=(
                    "收件人电话应为11位手机号码或带区号的固定电话 / recipient phone must be a "
                    "mobile number or a landline with area code"
                ),
            )


@rule("CONTACT-POSTCODE", code="invalid_format", severity="warning")
def contact_postcode(ctx: RuleContext) -> Iterator[Hit]:
    """邮政编码格式 / Postal code format.

    Six digits when given: ``enterprise.postal_code`` and each holder's ``postal_code``.
    """
    sub = ctx.submission
    if sub is None:
        return
    fields = [("enterprise.postal_code", sub.enterprise.postal_code)]
    fields += [(f"{path}.postal_code", person.postal_code) for path, person in sub.persons()]
    for field, value in fields:
        if value is None or not _present(value) or _POSTCODE.fullmatch(norm_text(value)):
            continue
        yield Hit(
            field=field,
            filed=value,
            message=f"邮政编码“{value}”应为6位数字 / postal code must be 6 digits",
        )
