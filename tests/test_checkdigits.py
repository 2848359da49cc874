"""Property tests of the check characters (GB 32100, GB 11714, ISO 7064 MOD 11-2)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from docpipe.checkdigits import (
    ID_CHECK,
    USCC_ALPHABET,
    id_check_char,
    is_valid_id,
    is_valid_uscc,
    org_check_char,
    uscc_check_char,
)

uscc_char = st.sampled_from(USCC_ALPHABET)
digit = st.sampled_from("0123456789")


@st.composite
def valid_uscc(draw: st.DrawFn) -> str:
    """A credit code with both check characters right; any first character, letters too."""
    head = draw(st.text(uscc_char, min_size=2, max_size=2))
    region = draw(st.text(digit, min_size=6, max_size=6))
    body = draw(st.text(uscc_char, min_size=8, max_size=8))
    first17 = head + region + body + org_check_char(body)
    return first17 + uscc_check_char(first17)


@st.composite
def valid_id(draw: st.DrawFn) -> str:
    """An ID number: region, a real birth date, sequence, and its check character."""
    region = draw(st.text(digit, min_size=6, max_size=6))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    seq = draw(st.text(digit, min_size=3, max_size=3))
    first17 = region + birth.strftime("%Y%m%d") + seq
    return first17 + id_check_char(first17)


@given(valid_uscc())
def test_every_generated_credit_code_is_valid(code: str) -> None:
    assert is_valid_uscc(code)


@given(valid_uscc())
def test_every_single_substitution_of_a_credit_code_fails(code: str) -> None:
    for i, old in enumerate(code):
        for new in USCC_ALPHABET:
            if new != old:
                assert not is_valid_uscc(code[:i] + new + code[i + 1 :]), (i, new)


@given(valid_uscc(), st.sampled_from("NY"))
def test_letter_first_codes_are_valid(code: str, first: str) -> None:
    first17 = first + code[1:17]
    assert is_valid_uscc(first17 + uscc_check_char(first17))


@given(valid_uscc().filter(lambda c: c[:8].isdigit()))
def test_stdnum_agrees_on_character_18(code: str) -> None:
    # stdnum only reads digit-first codes and checks character 18 alone.
    assert stdnum_uscc.calc_check_digit(code[:17]) == code[17]
    assert stdnum_uscc.is_valid(code)


@given(valid_id())
def test_every_generated_id_number_is_valid(number: str) -> None:
    assert is_valid_id(number)
    assert stdnum_ric.calc_check_digit(number) == number[17]


@given(valid_id())
def test_every_single_change_of_an_id_number_fails(number: str) -> None:
    for i, old in enumerate(number):
        alphabet = ID_CHECK if i == 17 else "0123456789"  # X only in the check position
        for new in alphabet:
            if new != old:
                assert not is_valid_id(number[:i] + new + number[i + 1 :]), (i, new)


@pytest.mark.parametrize(
    "value",
    ["", "91330784579324580", "91330784579324580MM", "91330784579324580I", "9133078457932458OM"],
    ids=["empty", "17", "19", "letter-I", "letter-O"],
)
def test_malformed_credit_codes_are_invalid(value: str) -> None:
    assert not is_valid_uscc(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "11010519491231002",
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２X",
        "110105491231002",
    ],
    ids=["empty", "17", "lower-x-unnormalised", "full-width-unnormalised", "15-digit"],
)
def test_malformed_id_numbers_are_invalid(value: str) -> None:
    assert not is_valid_id(value)


def test_check_chars_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        id_check_char("1101051949123100A")
    with pytest.raises(ValueError):
        uscc_check_char("9133078457932458I")
    with pytest.raises(ValueError):
        org_check_char("5793245")
