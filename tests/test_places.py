"""An enterprise name's misread place restored from its credit code (``docpipe.places``)."""

from __future__ import annotations

import pytest

from docpipe.models import FieldValue
from docpipe.places import RESTORED, restore_places

YIWU_CODE = "92330782145143504G"  # division 330782: 义乌市 (金华市, 浙江省)


def _fields(
    name: str, code: str | None = YIWU_CODE, weakest: float | None = 0.53
) -> dict[str, FieldValue]:
    out = {
        "enterprise_name": FieldValue(
            value=name, confidence=0.96, raw=name, char_confidence=weakest
        )
    }
    if code is not None:
        out["credit_code"] = FieldValue(value=code, confidence=1.0)
    return out


@pytest.mark.parametrize(
    ("read", "want"),
    [
        ("义鸟市博源五金店", "义乌市博源五金店"),  # 乌 read 鸟 (accuracy case 5045)
        ("文乌市金帆科技有限公司", "义乌市金帆科技有限公司"),  # 义 read 文 (serif case 5007)
        ("金华币博源五金店", "金华币博源五金店"),  # the place's own 市 misread: not touched
        ("义乌市博源五金店", "义乌市博源五金店"),  # right already
        ("浙江博源五金有限公司", "浙江博源五金有限公司"),  # a province without 省
        ("永康市博源五金店", "永康市博源五金店"),  # another place, two characters off
    ],
)
def test_a_place_one_character_off_the_codes_division_is_restored(read: str, want: str) -> None:
    got = restore_places("authorization_letter", _fields(read))["enterprise_name"]
    assert got.value == want
    if want != read:
        assert got.confidence == round(0.96 * RESTORED, 4)
        assert got.raw is not None and got.raw.startswith(read)
    else:
        assert got.confidence == 0.96


@pytest.mark.parametrize("weakest", [0.9998, None], ids=["confident", "text-layer"])
def test_a_name_read_without_doubt_is_what_the_document_says(weakest: float | None) -> None:
    """恒康市 for 永康市 (verify case-9004, an injected discrepancy) read at 0.9998: kept."""
    code = "91330784088269994D"  # division 330784: 永康市
    fields = _fields("恒康市佳瑞科技股份有限公司", code, weakest)
    got = restore_places("authorization_letter", fields)["enterprise_name"]
    assert got.value == "恒康市佳瑞科技股份有限公司"
    if weakest is not None:  # the same reading with a doubted character: restored
        doubted = _fields("恒康市佳瑞科技股份有限公司", code, 0.6)
        restored = restore_places("authorization_letter", doubted)["enterprise_name"]
        assert restored.value == "永康市佳瑞科技股份有限公司"


def test_no_valid_code_no_restoring() -> None:
    bad = YIWU_CODE[:-1] + "0"  # check character fails
    for code in (None, bad):
        got = restore_places("authorization_letter", _fields("义鸟市博源五金店", code))
        assert got["enterprise_name"].value == "义鸟市博源五金店"


def test_only_the_kinds_enterprise_name_is_touched() -> None:
    fields = {
        "name": FieldValue(value="义鸟市博源五金店", confidence=0.96, char_confidence=0.5),
        "credit_code": FieldValue(value=YIWU_CODE, confidence=1.0),
    }
    assert restore_places("business_license", fields)["name"].value == "义乌市博源五金店"
    assert restore_places("id_card_front", fields) == fields
