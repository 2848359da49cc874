"""Device and contact rules on filed values (RULES.md "Cards and devices")."""

from __future__ import annotations

import pytest

# The shared synthetic-submission builder (tests/ is on sys.path under pytest's default
# import mode, as tests/ has no __init__.py).
from test_rules_filed import assert_one, run, valid_data, with_values

# --------------------------------------------------------------------------- DEV-TYPE


@pytest.mark.parametrize(
    "value",
    ["IC卡", "ＩＣ卡", "ic卡", "U盾", "Ｕ盾", "共享盾", " 共享盾 ", None],
    ids=[
        "ic",
        "ic-full-width",
        "ic-lower",
        "u",
        "u-full-width",
        "shared",
        "shared-spaces",
        "missing",
    ],
)
def test_device_type_accepted(value: str | None) -> None:
    data = with_values(valid_data(), legal_person__device_type=value)
    assert run(data, "DEV-TYPE") == []


@pytest.mark.parametrize("value", ["Key", "IC", "优盾"], ids=["key", "ic-only", "homophone"])
def test_device_type_refused(value: str) -> None:
    data = with_values(valid_data(), operators__0__device_type=value)
    f = assert_one(
        run(data, "DEV-TYPE"), "DEV-TYPE", "invalid_format", "error", "operators[0].device_type"
    )
    assert f.filed == value


# --------------------------------------------------------------------------- DEV-NUMBER


@pytest.mark.parametrize(
    "value",
    ["5000123456789", "５０００１２３４５６７８９", "5000 1234 56789"],
    ids=["plain", "full-width", "spaces"],
)
def test_device_number_accepted(value: str) -> None:
    data = with_values(valid_data(), operators__1__device_number=value)
    assert run(data, "DEV-NUMBER") == []


@pytest.mark.parametrize(
    "value",
    ["500012345678", "50001234567890", "500012345678A"],
    ids=["12-digits", "14-digits", "letter"],
)
def test_device_number_refused(value: str) -> None:
    data = with_values(valid_data(), operators__1__device_number=value)
    assert_one(
        run(data, "DEV-NUMBER"),
        "DEV-NUMBER",
        "invalid_format",
        "error",
        "operators[1].device_number",
    )


# --------------------------------------------------------------------------- DEV-FORGOTTEN


@pytest.mark.parametrize(
    "remarks",
    ["操作员忘记设备编号", "法人U盾遗失，不记得编号", "设备编号遗忘"],
    ids=["forgot-number", "lost-dont-remember", "forgotten"],
)
def test_device_forgotten_with_remark(remarks: str) -> None:
    data = with_values(valid_data(), operators__0__device_number="8900000002345", remarks=remarks)
    assert run(data, "DEV-FORGOTTEN") == []


def test_device_not_forgotten_needs_no_remark() -> None:
    assert run(valid_data(), "DEV-FORGOTTEN") == []


@pytest.mark.parametrize(
    "remarks",
    [None, "", "忘记密码", "请尽快办理"],
    ids=["none", "empty", "forgot-password", "unrelated"],
)
def test_device_forgotten_without_remark(remarks: str | None) -> None:
    data = with_values(
        valid_data(),
        legal_person__device_number="8900000002345",
        operators__1__device_number="8912345678901",
        remarks=remarks,
    )
    f = assert_one(run(data, "DEV-FORGOTTEN"), "DEV-FORGOTTEN", "policy", "warning", "remarks")
    assert f.found == "legal_person, operators[1]"


# --------------------------------------------------------------------------- DEV-DISTINCT


def test_device_distinct_passes_with_different_numbers() -> None:
    assert run(valid_data(), "DEV-DISTINCT") == []


def test_device_distinct_operator_equals_legal_person() -> None:
    data = with_values(
        valid_data(),
        legal_person__device_number="8900000002345",
        operators__1__device_number="８９０００００００２３４５",
    )
    f = assert_one(
        run(data, "DEV-DISTINCT"),
        "DEV-DISTINCT",
        "inconsistent",
        "error",
        "operators[1].device_number",
    )
    assert f.found == "legal_person"


def test_device_distinct_two_operators_equal() -> None:
    data = with_values(valid_data(), operators__1__device_number="5000123456790")
    f = assert_one(
        run(data, "DEV-DISTINCT"),
        "DEV-DISTINCT",
        "inconsistent",
        "error",
        "operators[1].device_number",
    )
    assert f.found == "operators[0]"


# --------------------------------------------------------------------------- CONTACT-MOBILE


@pytest.mark.parametrize(
    "value",
    ["13800000001", "+86 138 0000 0001", "138-0000-0001", "１９９０００００００１", None],
    ids=["plain", "country-code", "dashes", "full-width", "missing"],
)
def test_mobile_accepted(value: str | None) -> None:
    data = with_values(valid_data(), operators__0__mobile=value)
    assert run(data, "CONTACT-MOBILE") == []


@pytest.mark.parametrize(
    "value",
    ["12800000001", "1380000001", "0579-87654321", "1380000000a"],
    ids=["second-digit-2", "10-digits", "landline", "letter"],
)
def test_mobile_refused(value: str) -> None:
    data = with_values(valid_data(), operators__0__mobile=value)
    f = assert_one(
        run(data, "CONTACT-MOBILE"),
        "CONTACT-MOBILE",
        "invalid_format",
        "error",
        "operators[0].mobile",
    )
    assert f.filed == value


@pytest.mark.parametrize(
    ("phone", "ok"),
    [("13800000001", True), ("0579-87654321", True), ("12345", False)],
    ids=["mobile", "landline", "short"],
)
def test_channel_phone(phone: str, ok: bool) -> None:
    channel = {"mode": "online", "recipient": "王示例", "address": "永康", "phone": phone}
    findings = run(with_values(valid_data(), channel=channel), "CONTACT-MOBILE")
    if ok:
        assert findings == []
    else:
        assert_one(findings, "CONTACT-MOBILE", "invalid_format", "error", "channel.phone")


# --------------------------------------------------------------------------- CONTACT-POSTCODE


@pytest.mark.parametrize(
    "value", ["321300", "３２１３００", None, ""], ids=["plain", "full-width", "missing", "empty"]
)
def test_postcode_accepted(value: str | None) -> None:
    data = with_values(valid_data(), enterprise__postal_code=value, operators__0__postal_code=value)
    assert run(data, "CONTACT-POSTCODE") == []


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("enterprise__postal_code", "enterprise.postal_code", "32130"),
        ("operators__0__postal_code", "operators[0].postal_code", "ABCDEF"),
        ("legal_person__postal_code", "legal_person.postal_code", "3213000"),
    ],
    ids=["enterprise-5", "operator-letters", "legal-7"],
)
def test_postcode_refused(path: str, field: str, value: str) -> None:
    f = assert_one(
        run(with_values(valid_data(), **{path: value}), "CONTACT-POSTCODE"),
        "CONTACT-POSTCODE",
        "invalid_format",
        "warning",
        field,
    )
    assert f.filed == value
