"""Enterprise rules on the filed values alone: credit code and unit category.

The rules that compare the filed enterprise with the business license live with the
license checks; these need no document. Sources: RULES.md "Enterprise" (USCC-FORMAT,
USCC-CHECK, USCC-ORG-CHECK after GB 32100-2015 and GB 11714; ENT-UNIT-CATEGORY after
the portal manual: "生产、贸易、进出口企业选择A（进出口收发货人），报关行请选C").
"""

from __future__ import annotations

from collections.abc import Iterator

from docpipe.checkdigits import USCC_ALPHABET, org_check_char, uscc_check_char
from docpipe.normalize import norm_id, norm_text
from docpipe.rules import Hit, RuleContext, rule

FIELD_CODE = "enterprise.credit_code"
FIELD_CATEGORY = "enterprise.unit_category"

# First two digits of a GB/T 2260 region code; 10 only as 100000, the central registry.
PROVINCES = frozenset(
    {*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55)}
    | {*range(61, 66), 71, 81, 82}
)
_NATIONAL_REGION = "100000"

# Scope words of a production, trade or import/export business (category A).
_TRADE_WORDS = ("生产", "制造", "加工", "贸易", "销售", "批发", "零售", "进出口")


def _filed_code(ctx: RuleContext) -> tuple[str, str] | None:
    """Return ``(raw, normalised)`` credit code, or ``None`` when nothing was filed."""
    sub = ctx.submission
    if sub is None or sub.enterprise.credit_code is None:
        return None
    raw = sub.enterprise.credit_code
    code = norm_id(raw)
    return (raw, code) if code else None


def uscc_format_problem(code: str) -> tuple[str, str] | None:
    """Say what is wrong with a normalised credit code's shape (Chinese, English), or None.

    >>> uscc_format_problem("91330784579324580M") is None
    True
    >>> uscc_format_problem("9133078457932458")[1]
    'has 16 characters, needs 18'
    >>> uscc_format_problem("91330784579324S80M")[1]
    'character 15 "S" is not allowed (no I, O, S, V, Z)'
    >>> uscc_format_problem("91990784579324580M")[1]
    'characters 3-8 "990784" are not a region code'
    """
    if len(code) != 18:
        return f"长度为{len(code)}位，应为18位", f"has {len(code)} characters, needs 18"
    for pos, char in enumerate(code, start=1):
        if char not in USCC_ALPHABET:
            return (
                f"第{pos}位“{char}”不是允许的字符（不含I、O、S、V、Z）",
                f'character {pos} "{char}" is not allowed (no I, O, S, V, Z)',
            )
    region = code[2:8]
    if not (region.isdigit() and (int(region[:2]) in PROVINCES or region == _NATIONAL_REGION)):
        return (
            f"第3-8位“{region}”不是行政区划代码",
            f'characters 3-8 "{region}" are not a region code',
        )
    return None


@rule("USCC-FORMAT", code="invalid_format", severity="error")
def uscc_format(ctx: RuleContext) -> Iterator[Hit]:
    """统一社会信用代码格式 / Credit code format.

    18 characters over ``0-9 A-H J-N P-R T-U W-Y``, characters 3-8 a region code
    (GB 32100-2015). Full-width characters and spaces are normalised first.
    """
    filed = _filed_code(ctx)
    if filed is None:
        return
    raw, code = filed
    problem = uscc_format_problem(code)
    if problem is not None:
        zh, en = problem
        yield Hit(
            field=FIELD_CODE,
            filed=raw,
            message=f"统一社会信用代码格式错误：{zh} / credit code is malformed: {en}",
        )


@rule("USCC-CHECK", code="invalid_format", severity="error")
def uscc_check(ctx: RuleContext) -> Iterator[Hit]:
    """统一社会信用代码校验位 / Credit code check character.

    Character 18 is the GB 32100-2015 MOD 31 check over the first 17. Only judged
    when the format is right, so a malformed code gives one finding, not two.
    """
    filed = _filed_code(ctx)
    if filed is None:
        return
    raw, code = filed
    if uscc_format_problem(code) is not None:
        return
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        yield Hit(
            field=FIELD_CODE,
            filed=raw,
            found=expected,
            message=(
                f"统一社会信用代码第18位校验码应为“{expected}”，填报为“{code[17]}” / "
                f'credit code check character should be "{expected}", not "{code[17]}"'
            ),
        )


@rule("USCC-ORG-CHECK", code="invalid_format", severity="error")
def uscc_org_check(ctx: RuleContext) -> Iterator[Hit]:
    """统一社会信用代码中组织机构代码校验位 / Organisation code check inside the credit code.

    Character 17 is the GB 11714 check of characters 9-16. Only judged when the format
    is right.
    """
    filed = _filed_code(ctx)
    if filed is None:
        return
    raw, code = filed
    if uscc_format_problem(code) is not None:
        return
    expected = org_check_char(code[8:16])
    if code[16] != expected:
        yield Hit(
            field=FIELD_CODE,
            filed=raw,
            found=expected,
            message=(
                f"统一社会信用代码第17位（组织机构代码校验码）应为“{expected}”，"
                f"填报为“{code[16]}” / credit code character 17 (organisation code check) "
                f'should be "{expected}", not "{code[16]}"'
            ),
        )


def _is_broker_category(category: str) -> bool:
    """Tell whether the category is ``C`` as the portal sends it (``C`` or ``C 报关企业``)."""
    value = norm_text(category)
    return value.startswith("C") or value.startswith("报关企业")


@rule("ENT-UNIT-CATEGORY", code="policy", severity="warning")
def unit_category(ctx: RuleContext) -> Iterator[Hit]:
    """单位类别与经营范围 / Unit category against the business scope.

    ``C`` (报关企业) is for customs brokers, whose scope mentions 报关; production,
    trade and import/export businesses use ``A`` (进出口收发货人). Manual, unit
    category page. Nothing is said when the scope was not filed.
    """
    sub = ctx.submission
    if sub is None:
        return
    category = sub.enterprise.unit_category
    scope = norm_text(sub.enterprise.business_scope or "")
    if not category or not scope or not _is_broker_category(category):
        return
    if "报关" in scope:
        return
    trade = [w for w in _TRADE_WORDS if w in scope]
    why_zh = f"（经营范围含“{'、'.join(trade)}”）" if trade else ""
    why_en = f" (scope mentions {', '.join(trade)})" if trade else ""
    yield Hit(
        field=FIELD_CATEGORY,
        filed=category,
        found="A",
        message=(
            f"单位类别填报为C（报关企业），但经营范围未提及报关{why_zh}，"
            f"生产、贸易、进出口企业应选A / unit category C is for customs brokers but the "
            f"business scope does not mention 报关{why_en}; production, trade and "
            f"import/export businesses use A"
        ),
    )
