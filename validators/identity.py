"""Identity rules on the filed ID numbers, for every card holder.

Applied to the legal person and each operator. The number rules (GB 11643-1999, ISO
7064 MOD 11-2) apply to ID types that use that number: 居民身份证 (also when the type
is left empty), 港澳台居民居住证 (81/82/83…) and 外国人永久居留身份证 (9…). The
validity rules (band by age, expiry) are in ``id_validity``. Sources: RULES.md
"Identity".

A value that is missing is not judged (the portal's required-field checks are another
rule's). Findings that derive from the number (birth date, gender, validity band) wait
until the number is well formed and its check digit right, so one typo gives one
finding on ``id_number`` rather than findings spread over other fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from docpipe.checkdigits import id_check_char
from docpipe.kinds import RESIDENT_ID_TYPE, gb11643_number, id_type_name
from docpipe.models import Code, Person
from docpipe.normalize import norm_id, norm_text, parse_date, parse_filed_date
from docpipe.rules import Hit, RuleContext, rule
from validators.dates import as_of

# Region prefixes of GB 11643 numbers; 81/82/83 are 港澳台 residence permits.
REGION_PREFIXES = frozenset(
    {*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55)}
    | {*range(61, 66), 71, 81, 82, 83}
)
_MALE = frozenset({"男", "男性", "M", "MALE"})
_FEMALE = frozenset({"女", "女性", "F", "FEMALE"})


def uses_id_number(id_type: str | None, number: str = "") -> bool:
    """Tell whether a number filed under ``id_type`` is a GB 11643 (MOD 11-2) number.

    Each identity kind says which of its numbers are (``KindSpec.gb11643``).

    >>> uses_id_number(None), uses_id_number("居民身份证"), uses_id_number("港澳台居民居住证")
    (True, True, True)
    >>> uses_id_number("护照")
    False
    """
    return gb11643_number(id_type, norm_id(number))


def is_resident_card(id_type: str | None) -> bool:
    """Tell whether the type is 居民身份证 (or empty), the card with legal validity bands."""
    if id_type is None or not norm_text(id_type):
        return True
    return id_type_name(id_type) == RESIDENT_ID_TYPE


@dataclass(frozen=True)
class IdNumber:
    """One filed ID number, normalised and judged once for all rules."""

    path: str
    person: Person
    raw: str
    number: str
    well_formed: bool
    check_ok: bool

    @property
    def birth(self) -> date | None:
        """Return the birth date from characters 7-14, when well formed and a real date."""
        return parse_date(self.number[6:14]) if self.well_formed else None


def id_number_shape_ok(number: str) -> bool:
    """``^[0-9]{17}[0-9X]$`` on a normalised number (ASCII digits only).

    >>> id_number_shape_ok("11010519491231002X"), id_number_shape_ok("110105491231002")
    (True, False)
    """
    return (
        len(number) == 18
        and number[:17].isascii()
        and number[:17].isdigit()
        and (number[17] == "X" or (number[17].isascii() and number[17].isdigit()))
    )


def filed_numbers(ctx: RuleContext) -> Iterator[IdNumber]:
    """Yield every filed ID number of a type that uses GB 11643 numbers."""
    if ctx.submission is None:
        return
    for path, person in ctx.submission.persons():
        if person.id_number is None or not uses_id_number(person.id_type, person.id_number):
            continue
        number = norm_id(person.id_number)
        if not number:
            continue
        shape = id_number_shape_ok(number)
        check = shape and id_check_char(number[:17]) == number[17]
        yield IdNumber(path, person, person.id_number, number, shape, check)


def stdnum_reason(number: str) -> tuple[str, str] | None:
    """Put python-stdnum's opinion of a number in words (Chinese, English); None if valid.

    Only for the message: stdnum is not the gate (it refuses valid 81/82/83 and 9…
    numbers and accepts future birth dates).

    >>> stdnum_reason("110105491231002")[1]
    'has 15 characters, needs 18'
    >>> stdnum_reason("11010519491231002Y")[1]
    'check character is wrong'
    """
    try:
        ric.validate(number)
    except InvalidLength:
        return f"长度为{len(number)}位，应为18位", f"has {len(number)} characters, needs 18"
    except InvalidFormat:
        return "前17位须为数字", "the first 17 characters must be digits"
    except InvalidChecksum:
        return "校验位错误", "check character is wrong"
    except InvalidComponent:
        return "出生日期或地址码无效", "birth date or region code is invalid"
    except ValidationError as exc:  # a future stdnum subclass: keep its own words
        return str(exc), str(exc)
    return None


@rule("ID-FORMAT", code="invalid_format", severity="error")
def id_format(ctx: RuleContext) -> Iterator[Hit]:
    r"""证件号码格式 / ID number format.

    ``^\d{17}[\dX]$`` after normalising (full-width digits folded, x → X); 15-digit
    numbers are refused (GB 11643-1999).
    """
    for n in filed_numbers(ctx):
        if n.well_formed:
            continue
        if len(n.number) == 15 and n.number.isdigit():
            zh, en = "15位旧号码不再受理，请填写18位号码", "15-digit numbers are not accepted"
        elif len(n.number) == 18 and n.number[:17].isascii() and n.number[:17].isdigit():
            # stdnum would call this a checksum error; the last character is simply no digit.
            zh, en = "第18位须为数字或X", "character 18 must be a digit or X"
        else:
            zh, en = stdnum_reason(n.number) or ("格式不符", "malformed")
        yield Hit(
            field=f"{n.path}.id_number",
            filed=n.raw,
            message=f"证件号码格式错误：{zh} / ID number is malformed: {en}",
        )


@rule("ID-CHECK", code="invalid_format", severity="error")
def id_check(ctx: RuleContext) -> Iterator[Hit]:
    """证件号码校验位 / ID number check digit.

    Character 18 = ``"10X98765432"[Σ dᵢ·Wᵢ mod 11]`` (ISO 7064 MOD 11-2). Judged only
    when the format is right.
    """
    for n in filed_numbers(ctx):
        if not n.well_formed or n.check_ok:
            continue
        expected = id_check_char(n.number[:17])
        yield Hit(
            field=f"{n.path}.id_number",
            filed=n.raw,
            found=expected,
            message=(
                f"证件号码第18位校验码应为“{expected}”，填报为“{n.number[17]}” / "
                f'ID number check character should be "{expected}", not "{n.number[17]}"'
            ),
        )


@rule("ID-BIRTH", code="invalid_format", severity="error")
def id_birth(ctx: RuleContext) -> Iterator[Hit]:
    """证件号码中的出生日期 / Birth date in the ID number.

    Characters 7-14 are a real date, not after the reference date nor the card's
    valid-from date (invalid_format on ``id_number``), and equal the filed
    ``birth_date`` when one is given (inconsistent on ``birth_date``).
    """
    for n in filed_numbers(ctx):
        if not n.well_formed:
            continue
        birth = n.birth
        field = f"{n.path}.id_number"
        # A filed date DATE-FORMAT refuses (year outside 1900-2199) is not compared.
        valid_from = parse_filed_date(n.person.id_valid_from)
        if birth is None:
            yield Hit(
                field=field,
                filed=n.raw,
                found=n.number[6:14],
                message=(
                    f"证件号码第7-14位“{n.number[6:14]}”不是有效日期 / "
                    f'characters 7-14 "{n.number[6:14]}" of the ID number are not a date'
                ),
            )
        elif (ref := as_of(ctx)) is not None and birth > ref:
            yield Hit(
                field=field,
                filed=n.raw,
                found=birth.isoformat(),
                message=(
                    f"证件号码中的出生日期{birth}晚于审核日期{ctx.reference_date} / "
                    f"birth date {birth} in the ID number is after the reference date"
                ),
            )
        elif valid_from is not None and birth > valid_from:
            yield Hit(
                field=field,
                filed=n.raw,
                found=birth.isoformat(),
                message=(
                    f"证件号码中的出生日期{birth}晚于证件有效期起始日{valid_from} / "
                    f"birth date {birth} in the ID number is after the card's valid-from date"
                ),
            )
        elif n.check_ok:
            filed_birth = parse_filed_date(n.person.birth_date)
            if filed_birth is not None and filed_birth != birth:
                yield Hit(
                    field=f"{n.path}.birth_date",
                    filed=n.person.birth_date,
                    found=birth.isoformat(),
                    code=Code.inconsistent,
                    message=(
                        f"出生日期{filed_birth}与证件号码中的{birth}不一致 / "
                        f"birth date {filed_birth} differs from {birth} in the ID number"
                    ),
                )


@rule("ID-REGION", code="invalid_format", severity="error")
def id_region(ctx: RuleContext) -> Iterator[Hit]:
    """证件号码地址码 / ID number region code.

    The first two digits are a province (11-15, 21-23, 31-37, 41-46, 50-54, 61-65,
    71), 81/82/83 (港澳台 residence permits) or the number starts with 9 (foreigner's
    permanent residence card).
    """
    for n in filed_numbers(ctx):
        if not n.well_formed:
            continue
        if n.number[0] == "9" or int(n.number[:2]) in REGION_PREFIXES:
            continue
        yield Hit(
            field=f"{n.path}.id_number",
            filed=n.raw,
            found=n.number[:2],
            message=(
                f"证件号码前两位“{n.number[:2]}”不是有效的省级地址码 / "
                f'ID number starts with "{n.number[:2]}", not a province code'
            ),
        )


def _gender_is_male(value: str) -> bool | None:
    """Return ``True`` for 男, ``False`` for 女, ``None`` for anything else."""
    text = norm_text(value)
    if text in _MALE:
        return True
    if text in _FEMALE:
        return False
    return None


@rule("ID-GENDER", code="inconsistent", severity="error")
def id_gender(ctx: RuleContext) -> Iterator[Hit]:
    """性别与证件号码 / Gender against the ID number.

    Character 17 odd = 男, even = 女; the filed ``gender`` must agree. Judged only when
    the number and its check digit are right.
    """
    for n in filed_numbers(ctx):
        gender = n.person.gender
        if not n.check_ok or gender is None or not gender.strip():
            continue
        field = f"{n.path}.gender"
        number_male = int(n.number[16]) % 2 == 1
        expected = "男" if number_male else "女"
        filed_male = _gender_is_male(gender)
        if filed_male is None:
            yield Hit(
                field=field,
                filed=gender,
                found=expected,
                code=Code.invalid_format,
                message=f"性别“{gender}”应为男或女 / gender must be 男 or 女",
            )
        elif filed_male != number_male:
            yield Hit(
                field=field,
                filed=gender,
                found=expected,
                message=(
                    f"性别“{gender}”与证件号码（第17位表示{expected}）不一致 / "
                    f"gender differs from the ID number (character 17 means {expected})"
                ),
            )
