"""Hostile filed values: empty or partial submission.json, dates at the edge of ``date``.

Issue 14. An empty ``submission.json`` must not pass (SUBMISSION-REQUIRED, CONTRACT §1);
date arithmetic saturates instead of overflowing (``normalize.add_days``, ``add_years``); a
filed date whose year is outside 1900-2199 is an ``invalid_format`` error (DATE-FORMAT). Each case
runs every rule on a parsed submission and states the findings exactly; the end-to-end
cases run the CLI in a bounded child over a copy of the committed clean sample.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hostile_tools import clean_submission, finding, no_traceback, run_docpipe
from test_rules_filed import REF, valid_data

from docpipe.models import DocKind, Document, FieldValue, Finding, Submission
from docpipe.rules import RuleContext, load_rules, run_rules

# Without attachments FILE-REQUIRED reports the missing documents on ``submission``
# in every case; that is not what these cases are about.
IGNORED_RULES = {"FILE-REQUIRED"}
REQUIRED = "SUBMISSION-REQUIRED"
MISSING_ALL = (
    "enterprise.credit_code",
    "enterprise.name",
    "legal_person.name",
    "legal_person.id_number",
    "channel.mode",
    "operators",
)


def _without(data: dict[str, Any], *path: str | int) -> dict[str, Any]:
    """A copy of ``data`` with the key at ``path`` removed."""
    out = copy.deepcopy(data)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return out


def _with(data: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at ``path``."""
    out = copy.deepcopy(data)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def _long_term_license(data: dict[str, Any]) -> Document:
    """A business license agreeing with the filed enterprise, its term 长期.

    Its issue date is the true one (2019-05-10): ENT-TERM checks the filed term
    end against issue date + 60 years, the computation that overflowed.
    """
    ent = data["enterprise"]
    read = {
        "credit_code": ent["credit_code"],
        "name": ent["name"],
        "enterprise_type": ent["enterprise_type"],
        "legal_representative": data["legal_person"]["name"],
        "established_date": ent["established_date"],
        "issue_date": "2019-05-10",
        "business_term_to": "长期",
        "address": ent["registered_address"],
    }
    return Document(
        file="营业执照.jpg",
        kind=DocKind.business_license,
        fields={k: FieldValue(value=v, confidence=0.99, raw=v) for k, v in read.items()},
    )


@dataclass(frozen=True)
class Case:
    """One hostile submission and the exact findings (rule, code, field) it must give."""

    id: str
    data: dict[str, Any]
    expected: frozenset[tuple[str, str, str]]
    reference: date = REF
    license: bool = False


def _required(*fields: str) -> frozenset[tuple[str, str, str]]:
    return frozenset((REQUIRED, "invalid_format", f) for f in fields)


def _date_format(field: str) -> frozenset[tuple[str, str, str]]:
    return frozenset({("DATE-FORMAT", "invalid_format", field)})


_VALID = valid_data()
CASES = [
    Case("empty", {}, _required("application_type", *MISSING_ALL)),
    Case("type-only", {"application_type": "change_operator"}, _required(*MISSING_ALL)),
    Case("blank-type", _with(_VALID, "  ", "application_type"), _required("application_type")),
    Case("no-type", _without(_VALID, "application_type"), _required("application_type")),
    Case(
        "no-enterprise",
        _without(_VALID, "enterprise"),
        _required("enterprise.credit_code", "enterprise.name"),
    ),
    Case("no-operators", _without(_VALID, "operators"), _required("operators")),
    Case("empty-operators", _with(_VALID, [], "operators"), _required("operators")),
    Case(
        "operator-no-mobile",
        _without(_VALID, "operators", 0, "mobile"),
        _required("operators[0].mobile"),
    ),
    Case(
        "operator-null-device-number",
        _with(_VALID, None, "operators", 1, "device_number"),
        _required("operators[1].device_number"),
    ),
    Case(
        "lost-or-damaged-needs-only-its-type",
        {"application_type": "lost_or_damaged"},
        frozenset(),
    ),
    Case(
        "reference-9999-12-31",
        _with(_VALID, "9999-12-31", "reference_date"),
        _date_format("reference_date"),
        reference=date.max,
    ),
    Case(
        "reference-override-9999-12-31",  # --reference-date, the filed one is fine
        _VALID,
        _date_format("reference_date"),
        reference=date.max,
    ),
    Case(
        "reference-override-0001-01-01",
        _VALID,
        _date_format("reference_date"),
        reference=date.min,
    ),
    # Filed issue date ≠ the license's: ENT-DATES' mismatch on the same field is right.
    *(
        Case(
            f"license-issue-{day}",
            _with(_VALID, day, "enterprise", "license_issue_date"),
            _date_format("enterprise.license_issue_date")
            | {("ENT-DATES", "mismatch", "enterprise.license_issue_date")},
            license=True,
        )
        for day in ("9940-01-01", "9999-12-31")
    ),
    # Blank is absent for the comparing rules too: no "differs from the license" beside it.
    Case(
        "blank-credit-code-beside-a-license",
        _with(_VALID, "  ", "enterprise", "credit_code"),
        _required("enterprise.credit_code"),
        license=True,
    ),
    Case(
        "id-valid-to-9999-12-31",
        _with(_VALID, "9999-12-31", "operators", 0, "id_valid_to"),
        _date_format("operators[0].id_valid_to"),
    ),
    Case(
        "established-0001-01-01",
        _with(_VALID, "0001-01-01", "enterprise", "established_date"),
        _date_format("enterprise.established_date"),
    ),
]


def _every_rule(ctx: RuleContext) -> list[Finding]:
    """Every registered rule's findings, each rule called directly: an exception escapes.

    ``run_rules`` turns a failing rule into a REVIEW-INCOMPLETE warning; here a rule
    that raises must fail the test with its own traceback.
    """
    return [f for spec in load_rules() for f in spec.run(ctx)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_filed_values_give_exact_findings(case: Case) -> None:
    ctx = RuleContext(
        reference_date=case.reference,
        submission=Submission.model_validate(case.data),
        documents=[_long_term_license(_VALID)] if case.license else [],
    )
    findings = _every_rule(ctx)
    got = {(f.rule, f.code.value, f.field) for f in findings if f.rule not in IGNORED_RULES}
    assert got == case.expected
    for f in findings:
        assert " / " in f.message, f.message  # Chinese / English
        if f.rule == REQUIRED:
            assert f.severity.value == "error"
            assert f.message.startswith(f"必填项缺失：{f.field}")


def test_license_term_check_saturates_on_an_issue_date_read_as_9940() -> None:
    """A license read with issue date 9940-01-01: its +60 years stops at 9999-12-31."""
    doc = _long_term_license(_VALID)
    doc.fields["issue_date"] = FieldValue(value="9940-01-01", confidence=0.99)
    data = _with(_VALID, "9940-01-01", "enterprise", "license_issue_date")
    ctx = RuleContext(
        reference_date=REF, submission=Submission.model_validate(data), documents=[doc]
    )
    [term] = run_rules(ctx, only=["ENT-TERM"])
    assert (term.code.value, term.field, term.found) == (
        "inconsistent",
        "enterprise.business_term_to",
        "9999-12-31",
    )


def test_out_of_range_year_message_is_bilingual() -> None:
    data = _with(_VALID, "9999-12-31", "operators", 0, "id_valid_to")
    ctx = RuleContext(reference_date=REF, submission=Submission.model_validate(data))
    [f] = run_rules(ctx, only=["DATE-FORMAT"])
    assert f.message == (
        '日期“9999-12-31”的年份不在1900-2199年之间 / the year of "9999-12-31" is outside 1900-2199'
    )
    assert f.filed == "9999-12-31"


# ----------------------------------------------------------------------- end to end


def _set_filed(sub: Path, data: dict[str, Any]) -> None:
    (sub / "submission.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")


def test_cli_empty_submission_json_is_rejected(tmp_path: Path) -> None:
    sub = clean_submission(tmp_path)
    _set_filed(sub, {})
    out = tmp_path / "out"
    run = run_docpipe("check", str(sub), "--out", str(out))
    no_traceback(run)
    assert run.rc == 1, run.stderr[-2000:]
    report = run.report(out)
    assert report["verdict"] == "reject"
    f = finding(report, "application_type", "invalid_format")
    assert (f["rule"], f["severity"]) == (REQUIRED, "error")
    for field in MISSING_ALL:
        finding(report, field, "invalid_format")


def _only_the_year_9999_is_refused(run: Any, out: Path) -> None:
    no_traceback(run)
    assert run.rc == 1, run.stderr[-2000:]
    report = run.report(out)
    assert report["verdict"] == "reject"
    f = finding(report, "reference_date", "invalid_format")
    assert (f["rule"], f["filed"]) == ("DATE-FORMAT", "9999-12-31")
    # One finding for one bad date: nothing "expired" as of the year 9999.
    assert [x["field"] for x in report["findings"]] == ["reference_date"]


def test_cli_filed_reference_date_9999_is_invalid_format(tmp_path: Path) -> None:
    sub = clean_submission(tmp_path)
    data = json.loads((sub / "submission.json").read_text("utf-8"))
    _set_filed(sub, {**data, "reference_date": "9999-12-31"})
    out = tmp_path / "out"
    run = run_docpipe("check", str(sub), "--out", str(out))
    _only_the_year_9999_is_refused(run, out)


def test_cli_reference_date_option_9999_writes_the_report(tmp_path: Path) -> None:
    """``--reference-date 9999-12-31`` is a well-formed ISO date, so the CLI accepts it
    and the review runs as of it (exit 1, not 2): the report carries DATE-FORMAT's
    finding on ``reference_date`` and the run never overflows."""
    sub = clean_submission(tmp_path)
    out = tmp_path / "out"
    run = run_docpipe("check", str(sub), "--reference-date", "9999-12-31", "--out", str(out))
    _only_the_year_9999_is_refused(run, out)


def test_cli_a_megabyte_of_empty_operators_is_one_shape_error(tmp_path: Path) -> None:
    """300,000 empty operators fit in 1 MB: once 24 findings each and gigabytes of report."""
    sub = clean_submission(tmp_path)
    data = json.loads((sub / "submission.json").read_text("utf-8"))
    data["operators"] = [{}] * 300_000
    raw = json.dumps(data, separators=(",", ":"))
    assert len(raw) < 1024 * 1024
    (sub / "submission.json").write_text(raw, "utf-8")
    out = tmp_path / "out"
    run = run_docpipe("check", str(sub), "--out", str(out), mem_bytes=3 * 1024**3, seconds=60)
    no_traceback(run)
    assert run.rc == 1
    report = run.report(out)
    f = finding(report, "submission", "invalid_format")
    assert "operators" in f["message"] and "20" in f["message"]
    assert len(report["findings"]) < 50
    assert (out / "report.json").stat().st_size < 5 * 1024 * 1024
    assert run.seconds < 30
