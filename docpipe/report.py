"""From findings to a verdict, a one-line reason, report.json and report.html.

The pydantic ``Report`` is the single model: ``report.json`` is its dump and the HTML
template reads the same object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Protocol

import jinja2
from PIL.Image import Image as PILImage

from docpipe.atomic import write_text_atomic
from docpipe.models import (
    Attachment,
    Counts,
    Document,
    Finding,
    Report,
    Severity,
    Submission,
    Verdict,
)


class PageImage(Protocol):
    """A page as OCR saw it (``docpipe.reading.ReadPage``): boxes are in its pixels."""

    def image(self) -> PILImage:
        """The page pixels in the frame of the report's boxes."""
        ...


_SEVERITY_ORDER = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


def verdict_of(findings: Sequence[Finding]) -> Verdict:
    """``reject`` on any error, ``review`` on warnings only, else ``pass`` (CONTRACT §3)."""
    severities = {f.severity for f in findings}
    if Severity.error in severities:
        return Verdict.reject
    if Severity.warning in severities:
        return Verdict.review
    return Verdict.pass_


def count(findings: Sequence[Finding]) -> Counts:
    """Findings per severity."""
    c = Counts()
    for f in findings:
        setattr(c, f.severity.value, getattr(c, f.severity.value) + 1)
    return c


def summary_line(verdict: Verdict, counts: Counts, findings: Sequence[Finding]) -> str:
    """One line that says why: the verdict, the counts and the weightiest finding."""
    if verdict is Verdict.pass_:
        return "通过：未发现问题 / pass: no error and no warning"
    top = findings[0]
    word = {Verdict.reject: "退回 / reject", Verdict.review: "复核 / review"}[verdict]
    return (
        f"{word}: {counts.error} error(s), {counts.warning} warning(s); {top.field}: {top.message}"
    )


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; stable within a severity."""
    return sorted(findings, key=lambda f: _SEVERITY_ORDER[f.severity])


def build_report(
    *,
    submission_id: str,
    submission: Submission | None,
    reference_date: date,
    attachments: list[Attachment],
    documents: list[Document],
    findings: Sequence[Finding],
    timings: dict[str, float] | None = None,
    docpipe_version: str = "",
) -> Report:
    """Assemble the report of one submission."""
    ordered = sort_findings(findings)
    verdict = verdict_of(ordered)
    counts = count(ordered)
    return Report(
        submission_id=submission_id,
        application_type=submission.application_type if submission else None,
        reference_date=reference_date.isoformat(),
        enterprise_name=submission.enterprise.name if submission else None,
        credit_code=submission.enterprise.credit_code if submission else None,
        verdict=verdict,
        summary=summary_line(verdict, counts, ordered),
        counts=counts,
        attachments=attachments,
        documents=documents,
        findings=ordered,
        timings=timings or {},
        docpipe_version=docpipe_version,
    )


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("docpipe", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: Report, pages: Mapping[tuple[str, int], PageImage] | None = None) -> str:
    """The reviewer's page of one submission: self-contained HTML, no external request.

    ``pages`` (the pages as OCR saw them) lets the page show evidence crops.
    """
    return _env().get_template("report.html").render(r=report)


def write_report(
    report: Report,
    out_dir: Path,
    pages: Mapping[tuple[str, int], PageImage] | None = None,
) -> None:
    """Write report.html, then report.json, each atomically.

    report.json comes last: its presence means the submission is finished (scan resume).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "report.html", render_html(report, pages))
    write_text_atomic(out_dir / "report.json", report.to_json())
