"""Enterprise rules against the business license: the filed ``enterprise.*`` as printed.

RULES.md "Enterprise": USCC-MATCH, ENT-NAME, ENT-LEGAL-REP, ENT-TYPE, ENT-DATES,
ENT-TERM, ENT-TERM-EXPIRED, ENT-ADDRESS (the filed-value rules on the credit code are
in ``enterprise``). Every comparison goes through ``docpipe.compare.judge``, the one
uncertainty policy: a doubtful or unread value is a ``not_found`` warning, never a
mismatch.

A submission may carry several licenses (正本 and 副本). Each filed field is compared
with each of them and gives at most one finding: when any license agrees, none; else the
most telling disagreement (a confident difference before a doubtful reading before an
unread field). No license, no comparison: the missing document is FILE-REQUIRED's.

Conventions of the portal manual: "有限公司选择“有限责任公司”即可" (ENT-TYPE), "填写营业
执照右下角盖章日期" (the issue date is the date under the seal), "如果是“长期”，可填写
发证日期60年后日期" (ENT-TERM). A 个体工商户 license (credit code ``92…``) prints no
term at all: its term is 长期.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from docpipe.compare import (
    Check,
    Outcome,
    evidence,
    filed_values,
    is_doubtful,
    is_filed,
    judge,
    outcome,
)
from docpipe.misread import credit_code_shaped
from docpipe.models import Code, DocKind, Document, Enterprise, Severity
from docpipe.normalize import (
    LONG_TERM,
    is_long_term,
    norm_id,
    norm_text,
    parse_date,
    parse_filed_date,
    year_ends,
)
from docpipe.rules import Hit, RuleContext, rule
from validators.dates import as_of

LICENSE_ZH, LICENSE_EN = "营业执照", "the business license"
TERM_FIELD = "enterprise.business_term_to"
ISSUE_FIELD = "enterprise.license_issue_date"
LONG_TERM_YEARS = 60  # manual: 长期 is filed as the issue date + 60 years
INDIVIDUAL_TYPE = "个体工商户"
INDIVIDUAL_CODE_PREFIX = "92"

Equal = Callable[[str, str], bool]


# --------------------------------------------------------------------------- tolerance

_BRACKET = re.compile(r"[(（〔【\[].*$")
# Qualifiers the register prints before a type the portal lists without them
# (其他股份有限公司 → 股份有限公司, 普通合伙企业 → 合伙企业). 股份 is not one: 股份有限公司
# is not a 有限公司.
_TYPE_QUALIFIERS = ("其他", "特殊普通", "普通", "有限")


def _type_base(value: str) -> str:
    """A type without its bracketed detail: ``有限责任公司(自然人独资)`` → ``有限责任公司``."""
    return _BRACKET.sub("", norm_text(value))


def type_equal(filed: str, printed: str) -> bool:
    """Tell whether a filed enterprise type agrees with the license's 类型.

    The portal lists bare types; the license adds a bracketed detail (any bracket width)
    and sometimes a qualifier. ``有限公司`` is not accepted for ``有限责任公司``: the
    manual asks for 有限责任公司.

    >>> type_equal("有限责任公司", "有限责任公司（自然人投资或控股）")
    True
    >>> type_equal("股份有限公司", "其他股份有限公司(非上市)")
    True
    >>> type_equal("个体工商户", "个体工商户")
    True
    >>> type_equal("有限公司", "有限责任公司(自然人独资)")
    False
    >>> type_equal("有限公司", "股份有限公司")
    False
    """
    f, p = norm_text(filed), norm_text(printed)
    if f == p:
        return True
    fb, pb = _type_base(f), _type_base(p)
    if not fb or not pb:
        return False
    if fb == pb:
        return True
    return any(pb == q + fb for q in _TYPE_QUALIFIERS)


_PUNCT = str.maketrans("", "", "，,、。；;：:")
_PROVINCE = r"(?:北京市|上海市|天津市|重庆市|[^省市区县]{2,7}?(?:省|自治区|特别行政区))"
_CITY = r"(?:[^省市区县]{1,7}?(?:市|自治州|地区|盟))"
_DROPPABLE = re.compile(rf"{_PROVINCE}?{_CITY}?")
# What the shorter address must still begin with: an administrative unit, so that only
# the province and city can be left out, not the district or county.
_ADMIN_START = re.compile(r"^[^路街道巷号弄村]{1,9}?(?:市|区|县|旗)")


def _address_norm(value: str) -> str:
    return norm_text(value).translate(_PUNCT)


def address_equal(filed: str, printed: str) -> bool:
    """Tell whether two addresses agree, tolerating a missing province or city prefix.

    Normalised as RULES.md says (NFKC, no whitespace, brackets of any width), also without
    commas and the like. One address may lack the leading province and/or city of the
    other, as long as it still starts with an administrative unit.

    >>> address_equal("杭州市西湖区华星路883号", "浙江省杭州市西湖区华星路883号")
    True
    >>> address_equal("浙江省义乌市华星路613号", "义乌市华星路613号")
    True
    >>> address_equal("西湖区华星路883号", "浙江省杭州市西湖区华星路883号")
    True
    >>> address_equal("杭州市西湖区华星路833号", "浙江省杭州市西湖区华星路883号")
    False
    >>> address_equal("华星路883号", "浙江省杭州市西湖区华星路883号")
    False
    """
    a, b = _address_norm(filed), _address_norm(printed)
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if not short or not long.endswith(short) or not _ADMIN_START.match(short):
        return False
    return _DROPPABLE.fullmatch(long[: len(long) - len(short)]) is not None


# --------------------------------------------------------------------------- combining


def _rank(hit: Hit) -> tuple[bool, bool]:
    """Order of disagreements: confident difference, then doubtful reading, then unread."""
    return (hit.code is Code.not_found, hit.found is None)


def best(hits: Iterable[Hit | None]) -> Hit | None:
    """One finding over several licenses: none when any agrees, else the most telling."""
    found: list[Hit] = []
    for hit in hits:
        if hit is None:
            return None
        found.append(hit)
    return min(found, key=_rank) if found else None


def _licenses(ctx: RuleContext) -> list[Document]:
    return ctx.docs(DocKind.business_license)


@dataclass(frozen=True)
class _Field:
    """A filed field, the license field it is compared with, and the reviewer's words."""

    path: str
    doc_field: str
    zh: str
    en: str
    how: str = "text"
    shape: Callable[[str], bool] | None = None  # a reading's valid shape; None: by ``how``


CODE = _Field(
    "enterprise.credit_code",
    "credit_code",
    "统一社会信用代码",
    "credit code",
    "id",
    credit_code_shaped,
)
NAME = _Field("enterprise.name", "name", "企业名称", "enterprise name")
LEGAL = _Field(
    "legal_person.name", "legal_representative", "法定代表人姓名", "legal representative", "name"
)
TYPE = _Field("enterprise.enterprise_type", "enterprise_type", "企业类型", "enterprise type")
ESTABLISHED = _Field(
    "enterprise.established_date", "established_date", "成立日期", "date of establishment", "date"
)
ISSUE = _Field(ISSUE_FIELD, "issue_date", "发证日期（盖章日期）", "issue date (seal)", "date")
TERM = _Field(TERM_FIELD, "business_term_to", "营业期限截止日期", "business term end", "date")
ADDRESS = _Field("enterprise.registered_address", "address", "注册地址", "registered address")


def _check(f: _Field, filed: str | None, doc: Document, others: tuple[str, ...] = ()) -> Check:
    return Check(
        f.path, filed, doc, f.doc_field, f.zh, f.en, LICENSE_ZH, LICENSE_EN, f.how, f.shape, others
    )


def _compare(
    ctx: RuleContext, f: _Field, filed: str | None, equal: Equal | None = None
) -> Iterator[Hit]:
    """The finding (none or one) for one filed field against every license."""
    others = filed_values(ctx.submission) if ctx.submission is not None else ()
    hit = best(judge(_check(f, filed, doc, others), equal=equal) for doc in _licenses(ctx))
    if hit is not None:
        yield hit


def _ent(ctx: RuleContext) -> Enterprise:
    # Rules run only with a submission (RuleSpec.needs_submission).
    return ctx.submission.enterprise if ctx.submission is not None else Enterprise()


# --------------------------------------------------------------------------- rules


@rule("USCC-MATCH", code="mismatch", severity="error")
def uscc_match(ctx: RuleContext) -> Iterator[Hit]:
    """统一社会信用代码与营业执照 / Credit code against the business license.

    The filed ``enterprise.credit_code`` equals the license's 统一社会信用代码 after
    normalising (NFKC, spaces, case). Manual: the page is filled from the license.
    """
    yield from _compare(ctx, CODE, _ent(ctx).credit_code)


@rule("ENT-NAME", code="mismatch", severity="error")
def enterprise_name(ctx: RuleContext) -> Iterator[Hit]:
    """企业名称与营业执照 / Enterprise name against the business license.

    The filed ``enterprise.name`` equals the license's 名称, exactly after normalising:
    bracket width and spacing never count, one character does.
    """
    yield from _compare(ctx, NAME, _ent(ctx).name)


@rule("ENT-LEGAL-REP", code="mismatch", severity="error")
def legal_representative(ctx: RuleContext) -> Iterator[Hit]:
    """法定代表人与营业执照 / Legal representative against the business license.

    The filed ``legal_person.name`` equals the license's 法定代表人 (负责人,
    执行事务合伙人, 投资人 or 经营者 by entity type; the extractor reports each as
    ``legal_representative``). Manual: "请填写与营业执照相同的法人姓名".
    """
    lp = ctx.submission.legal_person if ctx.submission is not None else None
    if lp is not None:
        yield from _compare(ctx, LEGAL, lp.name)


@rule("ENT-TYPE", code="mismatch", severity="warning")
def enterprise_type(ctx: RuleContext) -> Iterator[Hit]:
    """企业类型与营业执照 / Enterprise type against the business license.

    The filed type is the license's 类型 without its bracketed detail
    (有限责任公司(自然人投资或控股) → 有限责任公司); 有限公司 is filed as 有限责任公司
    (manual). A difference is a warning: the portal's list is coarser than the register.
    """
    yield from _compare(ctx, TYPE, _ent(ctx).enterprise_type, equal=type_equal)


@rule("ENT-DATES", code="mismatch", severity="error")
def enterprise_dates(ctx: RuleContext) -> Iterator[Hit]:
    """成立日期与发证日期 / Established and issue dates against the business license.

    Filed ``established_date`` = 成立日期 (注册日期 on a 个体工商户 license); filed
    ``license_issue_date`` = the date under the seal (manual: "填写营业执照右下角盖章
    日期"). And 成立日期 ≤ issue date ≤ reference date, judged on the filed dates
    (the license's where a filed one does not parse) only when neither date differs from
    the license: a wrong date is reported once, where it was filed.
    """
    ent = _ent(ctx)
    hits = [
        *_compare(ctx, ESTABLISHED, ent.established_date),
        *_compare(ctx, ISSUE, ent.license_issue_date),
    ]
    yield from hits
    if not any(h.code is Code.mismatch for h in hits):
        yield from _date_order(ctx, ent)


def _read_date(ctx: RuleContext, name: str) -> date | None:
    for doc in _licenses(ctx):
        fv = doc.fields.get(name)
        if fv is not None and (d := parse_date(fv.value)) is not None:
            return d
    return None


def _date_order(ctx: RuleContext, ent: Enterprise) -> Iterator[Hit]:
    # A filed date DATE-FORMAT refuses (no date, a year outside 1900-2199) gives way to
    # the license's, as one that does not parse does.
    est = parse_filed_date(ent.established_date) or _read_date(ctx, "established_date")
    issue = parse_filed_date(ent.license_issue_date) or _read_date(ctx, "issue_date")
    ref = as_of(ctx)  # None: DATE-FORMAT reports the reference date
    zh: list[str] = []
    en: list[str] = []
    if est is not None and issue is not None and est > issue:
        zh.append(f"成立日期 {est} 晚于发证日期 {issue}")
        en.append(f"the date of establishment {est} is after the issue date {issue}")
    late = issue or est  # without an issue date, the establishment must not be late
    f = ISSUE if issue else ESTABLISHED
    if late is not None and ref is not None and late > ref:
        zh.append(f"{f.zh[:4]} {late} 晚于审核基准日 {ref}")
        en.append(f"the {f.en.removesuffix(' (seal)')} {late} is after the reference date {ref}")
    if zh:
        yield Hit(
            field=f.path,
            filed=ent.license_issue_date if issue else ent.established_date,
            found=(issue or est or ctx.reference_date).isoformat(),
            code=Code.inconsistent,
            message=f"{'；'.join(zh)} / {'; '.join(en)}",
        )


def _is_individual(doc: Document, ent: Enterprise) -> bool:
    """A 个体工商户 license (credit code 92…, or its type says so), read or filed."""
    codes = [ent.credit_code, _value(doc, "credit_code")]
    types = [ent.enterprise_type, _value(doc, "enterprise_type")]
    return any(c and norm_id(c).startswith(INDIVIDUAL_CODE_PREFIX) for c in codes) or any(
        t and INDIVIDUAL_TYPE in norm_text(t) for t in types
    )


def _value(doc: Document, name: str) -> str | None:
    fv = doc.fields.get(name)
    return fv.value if fv is not None and fv.value else None


def _long_term_ends(ent: Enterprise, doc: Document) -> list[date]:
    """Every accepted "issue date + 60 years": from the filed issue date and the read one."""
    # year_ends saturates (a read 9940 gives 9999-12-31), so no start makes it raise.
    starts = {parse_filed_date(ent.license_issue_date), parse_date(_value(doc, "issue_date"))}
    return sorted(e for s in starts if s is not None for e in year_ends(s, LONG_TERM_YEARS))


def _term_against(ctx: RuleContext, ent: Enterprise, doc: Document) -> Hit | None:
    """ENT-TERM for one license."""
    filed = ent.business_term_to
    assert filed is not None
    fv = doc.fields.get("business_term_to")
    printed = fv.value if fv is not None else None
    unprinted = not printed and _is_individual(doc, ent)
    if not unprinted and not is_long_term(printed):
        return judge(_check(TERM, filed, doc))
    # The license says 长期 (or, a 个体工商户's, prints no term): the portal wants a date.
    if is_long_term(filed):
        return None  # as printed; the manual's date is a "may" (可填写)
    ends = _long_term_ends(ent, doc)
    if parse_filed_date(filed) in ends:
        return None
    # A 长期 that may be a misread date is a doubt, reported as such (judge); a weak
    # character elsewhere in the line does not make 长期 a date (verify seed 9700
    # case-9737: 长期 read whole, the colon after 营业期限 at 0.50 — the rule's
    # inconsistent warning, not a mismatch error).
    if fv is not None and printed and outcome(filed, fv, TERM.how) is Outcome.doubtful:
        return judge(_check(TERM, filed, doc))
    why_zh = "个体工商户营业执照未载营业期限（长期）" if unprinted else "营业执照营业期限为长期"
    why_en = (
        "the sole proprietor's license prints no term (long-term)"
        if unprinted
        else ("the license term is long-term (长期)")
    )
    if not ends:
        return Hit(
            field=TERM_FIELD,
            filed=filed,
            found=LONG_TERM,
            evidence=evidence(doc, fv),
            code=Code.not_found,
            severity=Severity.warning,
            message=(
                f"{why_zh}，但发证日期未知，无法核对“发证日期后60年” / {why_en}, but the "
                f"issue date is unknown: cannot check the issue date + 60 years convention"
            ),
        )
    expected = ends[0].isoformat()
    # Where the reviewer sees 长期 (if printed) and the issue date the 60 years count from.
    issue = doc.fields.get("issue_date")
    ev = (evidence(doc, fv) if printed else []) + (evidence(doc, issue) if issue else [])
    return Hit(
        field=TERM_FIELD,
        filed=filed,
        found=expected,
        evidence=ev or evidence(doc, fv),
        code=Code.inconsistent,
        severity=Severity.warning,
        message=(
            f"{why_zh}，营业期限应填发证日期后60年（{expected}），填报为 {filed} / "
            f"{why_en}: the term end should be the issue date + 60 years ({expected}), "
            f"not {filed}"
        ),
    )


@rule("ENT-TERM", code="mismatch", severity="error")
def business_term(ctx: RuleContext) -> Iterator[Hit]:
    """营业期限与营业执照 / Business term against the business license.

    Filed ``business_term_to`` = the license's term end. When the license says 长期
    (永久, 无固定期限; or, a 个体工商户 license, prints no term) the filed end should be
    the issue date + 60 years, same month and day (manual: "如果是“长期”，可填写发证
    日期60年后日期"); otherwise an ``inconsistent`` warning. A filed 长期 is accepted.
    """
    ent = _ent(ctx)
    if not is_filed(ent.business_term_to):
        return
    if hit := best(_term_against(ctx, ent, doc) for doc in _licenses(ctx)):
        yield hit


@rule("ENT-TERM-EXPIRED", code="expired", severity="error")
def business_term_expired(ctx: RuleContext) -> Iterator[Hit]:
    """营业期限已届满 / Business term expired.

    The license's term end — as read, or as filed when no license shows one — is before
    the reference date. A doubtful reading alone does not make a license expired
    (ENT-TERM already asks a person to look); a long-term license never expires.
    """
    ent = _ent(ctx)
    ref = as_of(ctx)
    if ref is None:
        return  # DATE-FORMAT reports the reference date
    read: list[tuple[Document, date]] = []
    for doc in _licenses(ctx):
        fv = doc.fields.get("business_term_to")
        printed = fv.value if fv is not None else None
        if is_long_term(printed) or (not printed and _is_individual(doc, ent)):
            return
        end = parse_date(printed)
        if fv is not None and end is not None:
            if end >= ref:
                return
            if not is_doubtful(fv):
                read.append((doc, end))
    filed_end = parse_filed_date(ent.business_term_to)
    if read:
        doc, end = read[0]
        ev = evidence(doc, doc.fields.get("business_term_to"))
    elif filed_end is not None and filed_end < ref:
        # Nothing confident was read (and nothing read says otherwise): the filed end.
        end = filed_end
        ev = [e for doc in _licenses(ctx)[:1] for e in evidence(doc, None)]
    else:
        return
    yield Hit(
        field=TERM_FIELD,
        filed=ent.business_term_to,
        found=end.isoformat(),
        evidence=ev,
        message=(
            f"营业执照营业期限已于 {end} 届满（审核基准日 {ref}） / "
            f"the business license's term ended on {end} (reference date {ref})"
        ),
    )


@rule("ENT-ADDRESS", code="mismatch", severity="warning")
def registered_address(ctx: RuleContext) -> Iterator[Hit]:
    """注册地址与营业执照 / Registered address against the business license.

    The filed ``registered_address`` ≈ the license's 住所 (营业场所, 主要经营场所,
    经营场所): normalised, and tolerant of a missing province or city prefix.
    """
    yield from _compare(ctx, ADDRESS, _ent(ctx).registered_address, equal=address_equal)


__all__ = ["address_equal", "best", "type_equal"]
