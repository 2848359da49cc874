"""Identity rules against the ID cards (RULES.md "Identity", validators/identity_docs.py).

Passing cases run on the committed samples' recorded OCR (the replay engine); failing
cases edit one filed value in a copy of a sample and review it again, or build the
card documents by hand where a sample cannot show the case (low confidence, a
temporary card, sides of two cards).
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES
from test_linking import (
    LEGAL,
    LP_ID,
    OP2_ID,
    OP_ID,
    OPERATOR,
    OPERATOR2,
    back,
    front,
    legal_docs,
    misread,
    operator_docs,
    submission,
    template,
)

from docpipe.models import Document, Finding, Report, Submission
from docpipe.pipeline import review
from docpipe.rules import RuleContext, run_rules

MY_RULES = (
    "ID-NUMBER-MATCH",
    "ID-NAME-MATCH",
    "ID-VALIDITY-MATCH",
    "ID-FRONT-BACK",
    "ID-TEMPORARY",
)
CASES = sorted(p for p in SAMPLES.glob("case-*") if (p / "expected.json").is_file())
REF = date(2026, 11, 20)


def run(sub: Submission, docs: list[Document], rule_id: str) -> list[Finding]:
    """One rule over hand-built documents."""
    ctx = RuleContext(reference_date=REF, submission=sub, documents=docs)
    return run_rules(ctx, only=[rule_id])


def key(f: Finding | dict[str, Any]) -> tuple[str, str, str, str]:
    """What a finding is compared by: rule, field, code, severity."""
    d = f.model_dump(mode="json") if isinstance(f, Finding) else f
    return d["rule"], d["field"], d["code"], d["severity"]


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_samples_give_exactly_the_expected_identity_findings(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    report = review(case / "submission")
    mine = sorted(key(f) for f in report.findings if f.rule in MY_RULES)
    wanted = sorted(key(f) for f in expected["findings"] if f["rule"] in MY_RULES)
    assert mine == wanted


def test_sample_id_check_fault_also_mismatches_the_card() -> None:
    # The legal person's filed number has a wrong check digit; the card shows the true one.
    case = SAMPLES / "case-0110-id-check-dev-distinct"
    report = review(case / "submission")
    (hit,) = [f for f in report.findings if f.rule == "ID-NUMBER-MATCH"]
    filed = json.loads((case / "submission" / "submission.json").read_text("utf-8"))
    assert hit.field == "legal_person.id_number"
    assert (hit.code, hit.severity) == ("mismatch", "error")
    assert hit.filed == filed["legal_person"]["id_number"]
    assert hit.found == "330782198606107650"
    assert hit.evidence[0].file == "法人身份证.jpg" and hit.evidence[0].bbox is not None


def _edited(tmp_path: Path, case: str, path: tuple[str, int | None, str], value: str) -> Report:
    """Review a copy of a sample with one filed value changed."""
    dest = tmp_path / "submission"
    shutil.copytree(SAMPLES / case / "submission", dest)
    sub_file = dest / "submission.json"
    data = json.loads(sub_file.read_text(encoding="utf-8"))
    section, index, name = path
    target = data[section] if index is None else data[section][index]
    target[name] = value
    sub_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return review(dest)


@pytest.mark.parametrize(
    ("rule_id", "path", "value", "found"),
    [
        # One character of the operator's number (its sequence digit) changed.
        (
            "ID-NUMBER-MATCH",
            ("operators", 0, "id_number"),
            "370202197906096786",
            "370202197906096686",
        ),
        ("ID-NAME-MATCH", ("operators", 0, "name"), "蔡纳", "蔡娜"),
        ("ID-VALIDITY-MATCH", ("operators", 0, "id_valid_to"), "2034-03-30", "2034-03-31"),
        ("ID-VALIDITY-MATCH", ("operators", 0, "id_valid_from"), "2014-03-30", "2014-03-31"),
        ("ID-NAME-MATCH", ("legal_person", None, "name"), "皇甫哲", "皇甫喆"),
    ],
    ids=[
        "operator-number",
        "operator-name",
        "operator-valid-to",
        "operator-valid-from",
        "legal-name",
    ],
)
def test_edited_sample_mismatches(
    tmp_path: Path, rule_id: str, path: tuple[str, int | None, str], value: str, found: str
) -> None:
    report = _edited(tmp_path, "case-0104", path, value)
    hits = [f for f in report.findings if f.rule == rule_id]
    section, index, name = path
    field = f"{section}[{index}].{name}" if index is not None else f"{section}.{name}"
    assert [(h.field, h.code, h.severity, h.filed, h.found) for h in hits] == [
        (field, "mismatch", "error", value, found)
    ]
    ev = hits[0].evidence[0]
    card_file = "操作员身份证.jpg" if section == "operators" else ev.file
    assert ev.file == card_file and ev.page == 1 and ev.bbox is not None
    assert " / " in hits[0].message
    assert report.verdict == "reject"
    # No finding from these rules on any other field.
    assert {f.field for f in report.findings if f.rule in MY_RULES} == {field}


# --------------------------------------------------------------------------- uncertainty


def test_low_confidence_number_is_not_found_warning() -> None:
    docs = [front("a.jpg", "丁海宇", misread(OP_ID, (5,)), conf=0.6), *legal_docs()]
    (hit,) = run(submission(LEGAL, OPERATOR), docs, "ID-NUMBER-MATCH")
    assert (hit.field, hit.code, hit.severity) == ("operators[0].id_number", "not_found", "warning")
    assert (hit.filed, hit.found) == (OP_ID, misread(OP_ID, (5,)))
    assert hit.evidence[0].file == "a.jpg" and hit.evidence[0].bbox == (200, 500, 700, 540)


def test_front_present_number_unread_is_not_found_warning() -> None:
    docs = [front("a.jpg", "丁海宇", None), *legal_docs()]
    (hit,) = run(submission(LEGAL, OPERATOR), docs, "ID-NUMBER-MATCH")
    assert (hit.field, hit.code, hit.severity, hit.filed, hit.found) == (
        "operators[0].id_number",
        "not_found",
        "warning",
        OP_ID,
        None,
    )
    assert hit.evidence[0].file == "a.jpg"


@pytest.mark.parametrize("rule_id", MY_RULES)
def test_missing_card_gives_no_finding(rule_id: str) -> None:
    # Only the legal person's card: the operator's absence is FILE-REQUIRED's to report.
    assert run(submission(LEGAL, OPERATOR), legal_docs(), rule_id) == []


@pytest.mark.parametrize("rule_id", MY_RULES)
def test_clean_hand_built_cards_pass(rule_id: str) -> None:
    docs = [
        *legal_docs(),
        *operator_docs(),
        *template("c.jpg", "李 示例", OP2_ID.lower(), "2020.06.01", "永久"),
    ]
    assert run(submission(LEGAL, OPERATOR, OPERATOR2), docs, rule_id) == []


def test_elimination_is_said_in_the_message() -> None:
    wrong_number = misread(OP_ID, (3, 9, 12))
    docs = [front("a.jpg", "丁海字", wrong_number), *legal_docs()]
    sub = submission(LEGAL, OPERATOR)
    (name_hit,) = run(sub, docs, "ID-NAME-MATCH")
    (number_hit,) = run(sub, docs, "ID-NUMBER-MATCH")
    for hit in (name_hit, number_hit):
        zh, en = hit.message.split(" / ")
        assert "排除法" in zh and "elimination" in en
    assert (name_hit.field, name_hit.found) == ("operators[0].name", "丁海字")
    assert (number_hit.field, number_hit.found) == ("operators[0].id_number", wrong_number)


def test_legal_person_also_operator_mistyped_as_operator() -> None:
    operator = {**LEGAL, "id_number": misread(LP_ID, (16,))}
    (hit,) = run(submission(LEGAL, operator), legal_docs(), "ID-NUMBER-MATCH")
    assert (hit.field, hit.filed, hit.found) == (
        "operators[0].id_number",
        operator["id_number"],
        LP_ID,
    )
    assert hit.evidence[0].file == "法人身份证.jpg"


# --------------------------------------------------------------------------- ID-FRONT-BACK


def test_front_back_inconsistent_on_one_page() -> None:
    # Born 1975, 39 on 2015-03-02: a 10-year back belongs to a younger person.
    docs = [*template("p.jpg", "王示例", LP_ID, "2015-03-02", "2025-03-02"), *operator_docs()]
    (hit,) = run(submission(LEGAL, OPERATOR), docs, "ID-FRONT-BACK")
    assert (hit.field, hit.code, hit.severity) == (
        "legal_person.id_valid_to",
        "inconsistent",
        "warning",
    )
    assert (hit.filed, hit.found) == ("2035-03-02", "2015-03-02–2025-03-02")
    assert [(e.file, e.bbox) for e in hit.evidence] == [
        ("p.jpg", (120, 300, 400, 330)),
        ("p.jpg", (300, 950, 700, 990)),
    ]
    assert "1975-04-09" in hit.message and "one page" in hit.message


def test_front_back_paired_by_elimination_across_files_says_so() -> None:
    # The legal person's front, and a back that is the operator's (10 years from 2019).
    docs = [
        front("正面.jpg", "王示例", LP_ID),
        back("反面.jpg", "2019-01-25", "2029-01-25"),
        *operator_docs(),
    ]
    (hit,) = run(submission(LEGAL, OPERATOR), docs, "ID-FRONT-BACK")
    assert hit.field == "legal_person.id_valid_to"
    zh, en = hit.message.split(" / ")
    assert "排除法" in zh and "elimination" in en and "正面.jpg" in en and "反面.jpg" in en
    assert [e.file for e in hit.evidence] == ["正面.jpg", "反面.jpg"]


def test_front_back_birth_from_number_when_birth_unread() -> None:
    f = front("p.jpg", "王示例", LP_ID, region=(0, 0, 600, 400))
    f.fields.pop("birth_date")
    b = back("p.jpg", "2015-03-02", "2020-03-02", region=(0, 500, 600, 900))
    (hit,) = run(submission(LEGAL), [f, b], "ID-FRONT-BACK")
    assert hit.field == "legal_person.id_valid_to"
    assert hit.evidence[0].bbox == (200, 500, 700, 540)  # the number's box


@pytest.mark.parametrize(
    ("birth", "vfrom", "vto"),
    [
        ("1975-04-09", "2015-03-02", "2035-03-02"),
        ("1972-04-09", "2020-06-01", "长期"),
        ("1990-05-01", "2016-06-01", "2026-06-01"),  # 26th birthday a month before: 10 y allowed
    ],
    ids=["20-years", "long-term", "band-grace"],
)
def test_front_back_consistent(birth: str, vfrom: str, vto: str) -> None:
    docs = [
        front("p.jpg", "王示例", LP_ID, birth=birth, region=(0, 0, 600, 400)),
        back("p.jpg", vfrom, vto, region=(0, 500, 600, 900)),
    ]
    assert run(submission(LEGAL), docs, "ID-FRONT-BACK") == []


# --------------------------------------------------------------------------- ID-TEMPORARY


@pytest.mark.parametrize(
    ("vto", "raw"),
    [("2026-12-01", None), ("2036-09-01", "中华人民共和国临时居民身份证 2026.09.01-2036.09.01")],
    ids=["three-months", "title-says-temporary"],
)
def test_temporary_card_flagged(vto: str, raw: str | None) -> None:
    docs = [
        front("t.jpg", "王示例", LP_ID, region=(0, 0, 600, 400)),
        back("t.jpg", "2026-09-01", vto, raw=raw, region=(0, 500, 600, 900)),
    ]
    (hit,) = run(submission(LEGAL), docs, "ID-TEMPORARY")
    assert (hit.field, hit.code, hit.severity) == ("legal_person.id_number", "policy", "warning")
    assert (hit.filed, hit.found) == (LP_ID, f"2026-09-01–{vto}")
    assert hit.evidence[0].file == "t.jpg" and hit.evidence[0].bbox == (300, 950, 700, 990)
    assert "临时" in hit.message
    # A temporary card's short validity is not also a front/back inconsistency.
    assert run(submission(LEGAL), docs, "ID-FRONT-BACK") == []


def test_card_serving_two_persons_flagged_once() -> None:
    docs = [
        front("t.jpg", "王示例", LP_ID, region=(0, 0, 600, 400)),
        back("t.jpg", "2026-09-01", "2026-12-01", region=(0, 500, 600, 900)),
    ]
    hits = run(submission(LEGAL, dict(LEGAL)), docs, "ID-TEMPORARY")
    assert [h.field for h in hits] == ["legal_person.id_number"]


def test_operator_template_of_other_samples_unchanged() -> None:
    # OPERATOR's card is an ordinary 10-year card: not temporary.
    assert run(submission(None, OPERATOR), operator_docs(), "ID-TEMPORARY") == []
