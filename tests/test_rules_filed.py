"""Filed-field rules without documents: enterprise, dates, channel, and the clean case.

Also home of the synthetic submission builder the other ``test_rules_*`` files import:
synthetic people only, with valid check digits and a validity consistent with age.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any

import pytest

from docpipe.checkdigits import id_check_char, org_check_char, uscc_check_char
from docpipe.models import Finding, Submission
from docpipe.rules import RuleContext, load_rules, run_rules

REF = date(2026, 11, 20)
MY_MODULES = (
    "validators.enterprise",
    "validators.dates",
    "validators.identity",
    "validators.id_validity",
    "validators.devices",
    "validators.channel",
)


EXPECTED_IDS = {
    *("USCC-FORMAT", "USCC-CHECK", "USCC-ORG-CHECK", "ENT-UNIT-CATEGORY", "DATE-FORMAT"),
    *("ID-FORMAT", "ID-CHECK", "ID-BIRTH", "ID-REGION", "ID-GENDER", "ID-VALIDITY-TERM"),
    *("ID-EXPIRED", "ID-EXPIRING", "DEV-TYPE", "DEV-NUMBER", "DEV-FORGOTTEN", "DEV-DISTINCT"),
    *("CONTACT-MOBILE", "CONTACT-POSTCODE", "CHANNEL-ONLINE"),
}


def make_id(region: str, birth: str, seq: str) -> str:
    """A synthetic ID number: region (6), birth YYYYMMDD, sequence (3) and its check."""
    first17 = region + birth + seq
    return first17 + id_check_char(first17)


def make_uscc(prefix8: str, body8: str) -> str:
    """A synthetic credit code with both check characters right."""
    first17 = prefix8 + body8 + org_check_char(body8)
    return first17 + uscc_check_char(first17)


CREDIT_CODE = make_uscc("91330784", "MA2K3X7D")
# Legal person: born 1975-04-09 (male, seq 011), card from 2015-03-02 at 39 → 20 years.
LEGAL_ID = make_id("330784", "19750409", "011")
# Operator 0: born 1972-04-09 (female, seq 022), card from 2020-06-01 at 48 → 长期.
OP0_ID = make_id("330784", "19720409", "022")
# Operator 1: born 2001-02-14 (male, seq 035), card from 2019-05-10 at 18 → 10 years.
OP1_ID = make_id("330784", "20010214", "035")


def person(**fields: Any) -> dict[str, Any]:
    """A filed card holder; the caller supplies the identity, the rest is valid filler."""
    base: dict[str, Any] = {
        "name": "张三",
        "id_type": "居民身份证",
        "country": "中国",
        "mobile": "13800000001",
        "device_type": "IC卡",
        "device_number": "5000123456789",
    }
    base.update(fields)
    return base


def valid_data() -> dict[str, Any]:
    """A fully valid submission as the JSON dict (tests change one thing, then build it)."""
    return {
        "submission_id": "synthetic-ok",
        "application_type": "change_operator",
        "reference_date": REF.isoformat(),
        "enterprise": {
            "credit_code": CREDIT_CODE,
            "name": "永康市示例五金制品有限公司",
            "enterprise_type": "有限责任公司",
            "unit_category": "A",
            "registered_address": "浙江省永康市示例路1号",
            "registered_capital": "500万元",
            "capital_currency": "人民币",
            "established_date": "2011-07-21",
            "license_issue_date": "2019-05-10",
            "business_term_to": "2079-05-10",
            "business_scope": "五金制品制造、加工；货物进出口。",
            "postal_code": "321300",
        },
        "legal_person": person(
            name="王示例",
            id_number=LEGAL_ID,
            id_valid_from="2015-03-02",
            id_valid_to="2035-03-02",
            device_number="5000123456789",
        ),
        "operators": [
            person(
                name="李示例",
                id_number=OP0_ID,
                id_valid_from="2020-06-01",
                id_valid_to="长期",
                gender="女",
                birth_date="1972-04-09",
                mobile="13900000002",
                device_type="U盾",
                device_number="5000123456790",
                postal_code="321300",
            ),
            person(
                name="赵示例",
                id_number=OP1_ID,
                id_valid_from="2019-05-10",
                id_valid_to="2029-05-10",
                gender="男",
                birth_date="2001-02-14",
                mobile="13700000003",
                device_type="共享盾",
                device_number="5000123456791",
            ),
        ],
        "remarks": None,
        "channel": {"mode": "offline", "outlet": "中国电子口岸数据中心杭州分中心"},
    }


_STEP = re.compile(r"([a-z_]+)(?:\[(\d+)\])?")


def with_values(data: dict[str, Any], **paths: Any) -> dict[str, Any]:
    """A copy of ``data`` with values set at finding-style paths (``operators__0__gender``).

    Keyword names cannot hold dots or brackets, so ``__`` separates the steps and a
    numeric step indexes a list.
    """
    out = copy.deepcopy(data)
    for key, value in paths.items():
        steps = key.split("__")
        node: Any = out
        for step in steps[:-1]:
            node = node[int(step)] if step.isdigit() else node[step]
        last = steps[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return out


def run(data: dict[str, Any], rule_id: str, reference: date = REF) -> list[Finding]:
    """Findings of one rule over the submission built from ``data``."""
    ctx = RuleContext(reference_date=reference, submission=Submission.model_validate(data))
    return run_rules(ctx, only=[rule_id])


def assert_one(findings: list[Finding], rule: str, code: str, severity: str, field: str) -> Finding:
    """Exactly one finding, with the given rule, code, severity and field path."""
    assert len(findings) == 1, findings
    f = findings[0]
    assert (f.rule, f.code.value, f.severity.value, f.field) == (rule, code, severity, field)
    assert " / " in f.message, "message must be Chinese / English"
    return f


def my_rule_ids() -> list[str]:
    """Every rule id registered by this task's modules."""
    return [spec.id for spec in load_rules() if spec.func.__module__ in MY_MODULES]


# --------------------------------------------------------------------------- clean case


def test_valid_submission_has_no_finding_from_any_filed_rule() -> None:
    ids = my_rule_ids()
    assert set(ids) == EXPECTED_IDS  # every rule of the five modules is registered
    ctx = RuleContext(reference_date=REF, submission=Submission.model_validate(valid_data()))
    assert run_rules(ctx, only=ids) == []


def test_rules_without_submission_say_nothing() -> None:
    ctx = RuleContext(reference_date=REF, submission=None)
    assert run_rules(ctx, only=my_rule_ids()) == []


# --------------------------------------------------------------------------- credit code

FULL_WIDTH = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ",
)


@pytest.mark.parametrize(
    "code",
    [
        CREDIT_CODE,
        CREDIT_CODE.translate(FULL_WIDTH),
        " " + CREDIT_CODE.lower()[:9] + " " + CREDIT_CODE[9:] + " ",
        make_uscc("N2330784", "MA2K3X7D"),
        make_uscc("Y1330784", "5U7QW1LH"),
        make_uscc("12100000", "40001311"),
    ],
    ids=["plain", "full-width", "spaces-lower", "N-first", "Y-first", "national-region"],
)
@pytest.mark.parametrize("rule_id", ["USCC-FORMAT", "USCC-CHECK", "USCC-ORG-CHECK"])
def test_credit_code_accepted(rule_id: str, code: str) -> None:
    data = with_values(valid_data(), enterprise__credit_code=code)
    assert run(data, rule_id) == []


@pytest.mark.parametrize(
    "code",
    [
        CREDIT_CODE[:17],
        CREDIT_CODE[:14] + "O" + CREDIT_CODE[15:],
        "9199" + CREDIT_CODE[4:],
        "91AB" + CREDIT_CODE[4:],
    ],
    ids=["short", "letter-O", "region-99", "region-letters"],
)
def test_uscc_format_refuses_and_check_stays_quiet(code: str) -> None:
    data = with_values(valid_data(), enterprise__credit_code=code)
    f = assert_one(
        run(data, "USCC-FORMAT"), "USCC-FORMAT", "invalid_format", "error", "enterprise.credit_code"
    )
    assert f.filed == code
    assert run(data, "USCC-CHECK") == []
    assert run(data, "USCC-ORG-CHECK") == []


def test_uscc_check_gives_expected_character() -> None:
    wrong = "0" if CREDIT_CODE[17] != "0" else "1"
    data = with_values(valid_data(), enterprise__credit_code=CREDIT_CODE[:17] + wrong)
    f = assert_one(
        run(data, "USCC-CHECK"), "USCC-CHECK", "invalid_format", "error", "enterprise.credit_code"
    )
    assert f.found == CREDIT_CODE[17]
    assert run(data, "USCC-ORG-CHECK") == []


def test_uscc_org_check_gives_expected_character() -> None:
    right = CREDIT_CODE[16]
    wrong = "1" if right != "1" else "2"
    first17 = CREDIT_CODE[:16] + wrong
    code = first17 + uscc_check_char(first17)  # character 18 right, so only 17 is wrong
    data = with_values(valid_data(), enterprise__credit_code=code)
    f = assert_one(
        run(data, "USCC-ORG-CHECK"),
        "USCC-ORG-CHECK",
        "invalid_format",
        "error",
        "enterprise.credit_code",
    )
    assert f.found == right
    assert run(data, "USCC-CHECK") == []


# --------------------------------------------------------------------------- unit category


@pytest.mark.parametrize(
    ("category", "scope"),
    [
        ("A", "五金制品制造、加工；货物进出口。"),
        ("C", "代理报关、报检业务；国际货运代理。"),
        ("C", None),
        ("C", ""),
        (None, "货物进出口"),
    ],
    ids=["A-trade", "C-broker", "C-no-scope", "C-empty-scope", "no-category"],
)
def test_unit_category_accepted(category: str | None, scope: str | None) -> None:
    data = with_values(
        valid_data(), enterprise__unit_category=category, enterprise__business_scope=scope
    )
    assert run(data, "ENT-UNIT-CATEGORY") == []


def test_unit_category_c_for_a_trading_company_is_policy_warning() -> None:
    data = with_values(valid_data(), enterprise__unit_category="C")
    f = assert_one(
        run(data, "ENT-UNIT-CATEGORY"),
        "ENT-UNIT-CATEGORY",
        "policy",
        "warning",
        "enterprise.unit_category",
    )
    assert (f.filed, f.found) == ("C", "A")


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("enterprise__business_term_to", "长期"),
        ("enterprise__business_term_to", "无固定期限"),
        ("legal_person__id_valid_to", "长期"),
        ("enterprise__established_date", "2011.07.21"),
        ("operators__0__birth_date", None),
        ("enterprise__license_issue_date", ""),
        ("enterprise__established_date", "1900-01-01"),
        ("legal_person__id_valid_to", "2199-12-31"),
    ],
    ids=[
        "term-long",
        "term-unlimited",
        "id-long",
        "dotted",
        "missing",
        "empty",
        "first-year",
        "last-year",
    ],
)
def test_date_format_accepted(path: str, value: str | None) -> None:
    assert run(with_values(valid_data(), **{path: value}), "DATE-FORMAT") == []


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("reference_date", "reference_date", "2026-13-01"),
        ("enterprise__established_date", "enterprise.established_date", "长期"),
        ("enterprise__license_issue_date", "enterprise.license_issue_date", "2019-02-29"),
        ("enterprise__business_term_to", "enterprise.business_term_to", "60年"),
        ("legal_person__id_valid_from", "legal_person.id_valid_from", "2015-3"),
        ("operators__0__id_valid_to", "operators[0].id_valid_to", "永远"),
        ("operators__1__birth_date", "operators[1].birth_date", "2001-02-30"),
        ("operators__0__id_valid_to", "operators[0].id_valid_to", "9999-12-31"),
        ("enterprise__established_date", "enterprise.established_date", "0001-01-01"),
        ("reference_date", "reference_date", "1899-12-31"),
        ("enterprise__business_term_to", "enterprise.business_term_to", "2200-01-01"),
    ],
    ids=[
        "reference",
        "established-long",
        "issue-29feb",
        "term-text",
        "from-partial",
        "to-word",
        "birth-30feb",
        "to-year-9999",
        "established-year-1",
        "reference-1899",
        "term-2200",
    ],
)
def test_date_format_refused(path: str, field: str, value: str) -> None:
    f = assert_one(
        run(with_values(valid_data(), **{path: value}), "DATE-FORMAT"),
        "DATE-FORMAT",
        "invalid_format",
        "error",
        field,
    )
    assert f.filed == value


# --------------------------------------------------------------------------- channel


def test_channel_online_complete_and_offline_pass() -> None:
    online = {
        "mode": "online",
        "recipient": "王示例",
        "address": "浙江省永康市示例路1号",
        "phone": "13800000001",
    }
    assert run(with_values(valid_data(), channel=online), "CHANNEL-ONLINE") == []
    assert run(valid_data(), "CHANNEL-ONLINE") == []  # offline: the letter is checked elsewhere
    assert run(with_values(valid_data(), channel=None), "CHANNEL-ONLINE") == []


@pytest.mark.parametrize(
    ("channel", "missing"),
    [
        ({"mode": "online", "recipient": "王示例", "phone": "13800000001"}, ["address"]),
        ({"mode": "ONLINE", "recipient": "王示例", "address": "永康", "phone": "  "}, ["phone"]),
        ({"mode": "online"}, ["recipient", "address", "phone"]),
    ],
    ids=["no-address", "blank-phone", "nothing"],
)
def test_channel_online_missing_keys(channel: dict[str, str], missing: list[str]) -> None:
    findings = run(with_values(valid_data(), channel=channel), "CHANNEL-ONLINE")
    assert [f.field for f in findings] == [f"channel.{k}" for k in missing]
    assert {(f.rule, f.code.value, f.severity.value) for f in findings} == {
        ("CHANNEL-ONLINE", "policy", "error")
    }
