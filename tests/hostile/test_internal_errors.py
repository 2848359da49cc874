"""docpipe's own failures: a bug in a rule, a stage or an extractor never ends a review.

Each failure is injected into one part; the review of the rest goes on, the report says
it is incomplete (a REVIEW-INCOMPLETE warning on ``submission``, ``incomplete: true``)
or the one file gets a ``not_found`` warning, and nothing raises out of the pipeline.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hostile_tools import CLEAN_CASE

from docpipe import crossread, pipeline, reading
from docpipe.models import DocKind, Report
from docpipe.rules import RULES, load_rules


def _review(path: Path = CLEAN_CASE) -> Report:
    report = pipeline.run(path).report
    assert report is not None
    return report


def _boom(*_: Any, **__: Any) -> Any:
    raise ZeroDivisionError("a bug")


def test_the_clean_sample_is_complete_and_passes() -> None:
    report = _review()
    assert (report.verdict.value, report.incomplete) == ("pass", False)


def test_a_failing_rule_is_an_incomplete_review_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load_rules()
    spec = RULES.get("ENT-NAME")
    monkeypatch.setitem(RULES._items, "ENT-NAME", dataclasses.replace(spec, func=_boom))
    report = _review()
    assert report.incomplete is True
    assert report.verdict.value == "review"
    [f] = [f for f in report.findings if f.rule == "REVIEW-INCOMPLETE"]
    assert (f.code.value, f.severity.value, f.field) == ("not_found", "warning", "submission")
    assert "ENT-NAME" in f.message and "ZeroDivisionError" in f.message
    assert "审查未完成" in f.message
    assert len(report.documents) == 7  # every document was still read


def test_a_failing_stage_is_an_incomplete_review_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cross-reading fails after the documents were read: they are all still reported."""
    monkeypatch.setattr(crossread, "borrow", _boom)
    # The replay engine reads pages as "ocr", so cross-reading runs.
    report = _review()
    assert report.incomplete is True
    [f] = [f for f in report.findings if f.rule == "REVIEW-INCOMPLETE"]
    assert "read: ZeroDivisionError" in f.message
    assert {d.kind for d in report.documents} >= {DocKind.business_license, DocKind.id_card_front}


def test_a_failing_extractor_is_that_files_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug reading the license: the license is sent to a person, the rest is reviewed."""
    real = reading.extract_region

    def extract(region: Any) -> Any:
        if region.kind == DocKind.business_license:
            raise KeyError("a bug")
        return real(region)

    monkeypatch.setattr(reading, "extract_region", extract)
    report = _review()
    f = next(f for f in report.findings if f.field == "file:营业执照.jpg")
    assert (f.code.value, f.severity.value) == ("not_found", "warning")
    assert "KeyError" in f.message and "请人工审阅" in f.message
    assert {d.file for d in report.documents} >= {"申请书.pdf", "授权委托书.jpg"}
    assert report.verdict.value != "pass"


def test_a_failing_report_stage_still_gives_the_least_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline, "build_report", _boom)
    report = _review()
    assert (report.verdict.value, report.incomplete, report.counts.warning) == ("review", True, 1)
    [f] = report.findings
    assert f.rule == "REVIEW-INCOMPLETE" and "report: ZeroDivisionError" in f.message
