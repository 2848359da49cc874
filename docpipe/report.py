"""From findings to a verdict, a one-line reason, report.json and report.html.

The pydantic ``Report`` is the single model: ``report.json`` is its dump and the HTML
template reads the same object.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Protocol

import jinja2
from PIL.Image import Image as PILImage

from docpipe import crops as crops_mod
from docpipe import kinds
from docpipe.atomic import write_text_atomic
from docpipe.compare import DOUBT_BELOW
from docpipe.errors import DocpipeError
from docpipe.models import (
    Attachment,
    AttachmentStatus,
    BBox,
    Counts,
    Document,
    EngineInfo,
    FieldValue,
    Finding,
    Report,
    Severity,
    Submission,
    Verdict,
)

log = logging.getLogger(__name__)


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
    """Errors first, then warnings, then info; within a severity by field, then rule.

    The order must not depend on the order rule modules happened to be imported in (a
    service worker and the CLI import them differently), so reports are byte-identical.
    """
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.field, f.rule))


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
    engine: EngineInfo | None = None,
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
        engine=engine,
    )


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("docpipe", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --------------------------------------------------------------------------- rendering

APPLICATION_LABELS = {
    "change_operator": "变更企业操作员",
    "new_operator": "新增操作员",
    "lost_or_damaged": "挂失补办",
    "certificate_renewal": "证书更新",
    "enterprise_info_change": "企业信息变更",
}
STATUS_LABELS = {
    AttachmentStatus.read: "✔ 已读取 / read",
    AttachmentStatus.refused: "✖ 拒收 / refused",
    AttachmentStatus.unreadable: "✖ 无法读取 / unreadable",
    AttachmentStatus.ignored: "– 已忽略 / ignored",
}
LOW_CONFIDENCE = DOUBT_BELOW  # below it a value is shown as doubtful, as it is judged


@dataclass(frozen=True)
class Segment:
    """A run of characters of a filed or found value; ``changed`` runs are highlighted."""

    text: str
    changed: bool = False


def char_diff(filed: str | None, found: str | None) -> tuple[list[Segment], list[Segment]]:
    """Split both values into runs, marking the characters that differ.

    Values with little in common (a check character against a whole code) are left
    unmarked: highlighting everything says nothing.

    >>> a, b = char_diff("91330206732948403R", "913302067329484037")
    >>> [s.text for s in a if s.changed], [s.text for s in b if s.changed]
    (['R'], ['7'])
    >>> char_diff("91330206732948403R", "7")[1]
    [Segment(text='7', changed=False)]
    """
    a, b = filed or "", found or ""
    if not a or not b or a == b:
        return [Segment(a)] if a else [], [Segment(b)] if b else []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.4:
        return [Segment(a)], [Segment(b)]
    left: list[Segment] = []
    right: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        if i2 > i1:
            left.append(Segment(a[i1:i2], not same))
        if j2 > j1:
            right.append(Segment(b[j1:j2], not same))
    return left, right


@dataclass
class Picture:
    """An inline image with its alternative text and caption."""

    src: str
    alt: str
    caption: str


@dataclass
class FindingView:
    """A finding with what the template needs beyond the model: diff runs and crops."""

    finding: Finding
    filed: list[Segment]
    found: list[Segment]
    crops: list[Picture]
    places: list[str]  # evidence that could not be cropped, as text


@dataclass
class DocumentView:
    """A document with its numbered field boxes drawn on a thumbnail."""

    document: Document
    label: str
    thumb: Picture | None
    rows: list[tuple[int | None, str, FieldValue]]


class _Pages:
    """Page images by (file, page), decoded once per render; None when unavailable."""

    def __init__(self, pages: Mapping[tuple[str, int], PageImage] | None) -> None:
        self.pages = pages or {}
        self.images: dict[tuple[str, int], PILImage | None] = {}

    def get(self, file: str, page: int | None) -> PILImage | None:
        key = (file, page or 1)
        if key not in self.images:
            source = self.pages.get(key)
            try:
                self.images[key] = source.image() if source is not None else None
            except (DocpipeError, OSError, ValueError) as exc:  # report renders without it
                log.warning("%s p.%s: no image for the report: %s", file, key[1], exc)
                self.images[key] = None
        return self.images[key]


def _finding_view(f: Finding, pages: _Pages) -> FindingView:
    filed, found = char_diff(f.filed, f.found)
    crops: list[Picture] = []
    places: list[str] = []
    for e in f.evidence:
        where = f"{e.file} 第{e.page or 1}页 / page {e.page or 1}"
        image = pages.get(e.file, e.page) if e.bbox else None
        if image is None or e.bbox is None:
            places.append(where)
            continue
        read = f"，红框内识别为“{e.text}” / red box read as “{e.text}”" if e.text else ""
        crops.append(
            Picture(
                src=crops_mod.evidence_crop(image, e.bbox),
                alt=f"证据截图：{where}{read}",
                caption=where,
            )
        )
    return FindingView(f, filed, found, crops, places)


def _document_view(d: Document, pages: _Pages) -> DocumentView:
    label = f"{kinds.label(d.kind)} / {d.kind.value}"
    rows: list[tuple[int | None, str, FieldValue]] = []
    boxes: list[BBox] = []
    for name, v in d.fields.items():
        if v.bbox is not None:
            boxes.append(v.bbox)
        rows.append((len(boxes) if v.bbox is not None else None, name, v))
    image = pages.get(d.file, d.page)
    thumb = None
    if image is not None:
        thumb = Picture(
            src=crops_mod.thumbnail(image, boxes, d.region),
            alt=(
                f"{d.file} 第{d.page}页{kinds.label(d.kind)}缩略图，"
                f"编号框为识别出的 {len(boxes)} 个字段 / thumbnail, "
                f"{len(boxes)} recognised fields boxed and numbered"
            ),
            caption=f"{d.file} 第{d.page}页 / page {d.page}",
        )
    return DocumentView(d, label, thumb, rows)


def render_html(report: Report, pages: Mapping[tuple[str, int], PageImage] | None = None) -> str:
    """The reviewer's page of one submission: self-contained HTML, no external request.

    ``pages`` (the pages as OCR saw them) gives the evidence crops and thumbnails, cut at
    render time; without it the page names the places instead.
    """
    images = _Pages(pages)
    return (
        _env()
        .get_template("report.html")
        .render(
            r=report,
            findings=[_finding_view(f, images) for f in sort_findings(report.findings)],
            documents=[_document_view(d, images) for d in report.documents],
            problems=[a for a in report.attachments if a.status is not AttachmentStatus.read],
            application=APPLICATION_LABELS.get(report.application_type or "", ""),
            status_labels=STATUS_LABELS,
            kind_labels=kinds.labels(),
            low_confidence=LOW_CONFIDENCE,
        )
    )


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
