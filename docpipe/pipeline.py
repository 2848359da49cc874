"""The review of one submission as a list of named stages over one state.

intake → pages → read (OCR, classify, extract) → validate → report. Each stage takes
the ``Review`` state and fills its part; a bad attachment is caught at its own boundary
and recorded for the file rules, so it never stops the rest.

Nothing raises out of ``run`` but ``SubmissionNotFound`` / ``ArchiveUnreadable`` (the
command could not start). A stage that fails with anything else is an internal error:
the stages after it still run on what there is, the report says the review is
incomplete (``Report.incomplete``, a ``not_found`` warning on ``submission``), and the
command exits 2. Every file and the whole submission run within a time budget
(``docpipe.budget``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from docpipe import crossread, package_version, reading, reviewcache
from docpipe.budget import Budget
from docpipe.errors import DocpipeError, FileTypeNotAllowed, FileUnreadable, InputError
from docpipe.intake import Intake, load_submission
from docpipe.models import (
    Attachment,
    AttachmentStatus,
    Counts,
    Document,
    EngineInfo,
    Finding,
    Report,
    Verdict,
)
from docpipe.normalize import parse_filed_date
from docpipe.ocr import engine_info, get_engine
from docpipe.pages import Page, open_pages
from docpipe.privacy import mask_text
from docpipe.report import PageImage, build_report
from docpipe.rules import INCOMPLETE_RULE, RuleContext, incomplete_finding, load_rules, run_rules

log = logging.getLogger(__name__)


@dataclass
class Review:
    """The state one submission's review builds up, stage by stage."""

    path: Path
    reference_date_override: date | None = None
    engine: str | None = None
    intake: Intake | None = None
    reference_date: date = field(default_factory=date.today)
    pages: dict[str, list[Page]] = field(default_factory=dict)
    file_errors: dict[str, DocpipeError] = field(default_factory=dict)
    read_pages: dict[tuple[str, int], reading.ReadPage] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    report: Report | None = None
    budget: Budget = field(default_factory=Budget)
    #: Stages that failed, as (stage, exception type): the review is incomplete.
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: Active content of each PDF (scripts, attachments, a zip inside), for FILE-ACTIVE.
    active: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: The review's key in the review cache (``docpipe.reviewcache``), when one is set.
    cache_key: str | None = None
    #: The pages of a review read from that cache (decoded when the HTML asks).
    stored_pages: dict[tuple[str, int], reviewcache.StoredPage] = field(default_factory=dict)
    #: True when the report was read from the review cache.
    from_cache: bool = False

    def report_pages(self) -> Mapping[tuple[str, int], PageImage]:
        """The pages the report's boxes are in, for its evidence crops."""
        return self.stored_pages if self.from_cache else self.read_pages


Stage = Callable[[Review], None]


def stage_intake(rv: Review) -> None:
    """Load submission.json and list the attachments (zip-safe)."""
    rv.intake = load_submission(rv.path)
    rv.file_errors.update(rv.intake.file_errors)
    filed = rv.intake.submission.reference_date if rv.intake.submission else None
    parsed = parse_filed_date(filed) if filed else None
    # An unparseable or out-of-range (1900-2199) reference date is flagged by DATE-FORMAT;
    # the review goes on as of today.
    rv.reference_date = rv.reference_date_override or parsed or date.today()


def stage_pages(rv: Review) -> None:
    """Decode every attachment under the safety limits; a failure is that file's finding."""
    assert rv.intake is not None
    held = 0  # decoded pixels of the pages kept so far (the submission's pixel budget)
    for f in rv.intake.files:
        if f.name in rv.file_errors:
            continue
        try:
            rv.pages[f.name] = open_pages(f, deadline=rv.budget.file_deadline())
        except DocpipeError as exc:
            log.info("%s: %s", mask_text(f.name), mask_text(exc.message_en))
            rv.file_errors[f.name] = exc
            continue
        except Exception as exc:  # a decoder's own failure on hostile bytes is the file's
            log.info("%s: cannot be decoded (%s)", mask_text(f.name), type(exc).__name__)
            rv.file_errors[f.name] = FileUnreadable(
                f"{f.name}: cannot be decoded ({type(exc).__name__})",
                f"{f.name}：无法解码（{type(exc).__name__}）",
            )
            continue
        held += sum(p.width * p.height for p in rv.pages[f.name])
        if held > rv.budget.pixels:
            held -= sum(p.width * p.height for p in rv.pages.pop(f.name))
            mp = rv.budget.pixels // 1_000_000
            rv.file_errors[f.name] = FileUnreadable(
                f"{f.name}: the submission's pages are over its budget of {mp} megapixels",
                f"{f.name}：本次申报的页面总像素超过 {mp} 百万像素的预算",
            )
            continue
        if rv.pages[f.name] and rv.pages[f.name][0].active:
            rv.active[f.name] = rv.pages[f.name][0].active


def stage_read(rv: Review) -> None:
    """OCR, classify and extract every page into documents (the reading stage)."""
    rv.documents = reading.read_documents(
        rv.pages,
        engine=rv.engine,
        errors=rv.file_errors,
        read_pages=rv.read_pages,
        budget=rv.budget,
    )
    # A name read in doubt, looked at again with what the other documents read: a
    # refinement, skipped when the submission's time is up.
    if rv.budget.spent():
        log.warning("time budget spent: cross-reading skipped")
    elif any(page.ocr.source == "ocr" for page in rv.read_pages.values()):
        crossread.borrow(rv.documents, rv.read_pages, get_engine(rv.engine))


def stage_validate(rv: Review) -> None:
    """Run every registered rule over the filed fields, files and documents."""
    assert rv.intake is not None
    ctx = RuleContext(
        reference_date=rv.reference_date,
        submission=rv.intake.submission,
        submission_error=rv.intake.submission_error,
        files=rv.intake.files,
        file_errors=rv.file_errors,
        documents=rv.documents,
        pages=dict(rv.read_pages),
        active=rv.active,
    )
    rv.findings = run_rules(ctx)


def stage_report(rv: Review) -> None:
    """Assemble the contract report from the state."""
    assert rv.intake is not None
    attachments = []
    refused = {f.field.removeprefix("file:") for f in rv.findings if f.rule == "FILE-TYPE"}
    for f in rv.intake.files:
        pages = rv.pages.get(f.name, [])
        status = AttachmentStatus.read
        note = None
        err = rv.file_errors.get(f.name)
        if f.name in refused or isinstance(err, FileTypeNotAllowed):
            status = AttachmentStatus.refused
        elif err is not None:
            status = AttachmentStatus.unreadable
        if err is not None:
            note = err.message
        kinds = sorted({d.kind for d in rv.documents if d.file == f.name})
        attachments.append(
            Attachment(
                file=f.name,
                size=f.size,
                sha256=f.sha256,
                detected_type=f.detected_type,
                pages=len(pages),
                status=status,
                kinds=kinds,
                note=note,
            )
        )
    # Entries refused before they became files (unsafe zip members) are attachments too.
    listed = {a.file for a in attachments}
    for name, err in rv.file_errors.items():
        if name not in listed:
            attachments.append(
                Attachment(
                    file=name,
                    size=0,
                    sha256="",
                    status=AttachmentStatus.unreadable,
                    note=err.message,
                )
            )
    for name in rv.intake.skipped:
        attachments.append(
            Attachment(
                file=name,
                size=0,
                sha256="",
                status=AttachmentStatus.ignored,
                note="docpipe 输出或系统文件，未审查 / docpipe output or an OS file, not reviewed",
            )
        )
    findings = list(rv.findings)
    if rv.failures:  # a rule that failed has given its own finding already
        findings.append(_incomplete(rv.failures))
    rv.report = build_report(
        submission_id=rv.intake.submission_id,
        submission=rv.intake.submission,
        reference_date=rv.reference_date,
        attachments=attachments,
        documents=rv.documents,
        findings=findings,
        timings=rv.timings,
        docpipe_version=package_version(),
        engine=_engine_info(rv.engine),
    )
    rv.report.incomplete = any(f.rule == INCOMPLETE_RULE for f in rv.report.findings)


STAGES: list[tuple[str, Stage]] = [
    ("intake", stage_intake),
    ("pages", stage_pages),
    ("read", stage_read),
    ("validate", stage_validate),
    ("report", stage_report),
]


def run(path: Path, *, reference_date: date | None = None, engine: str | None = None) -> Review:
    """Review one submission folder or zip; the whole state, pages as read included.

    A bad submission never raises: it becomes findings. Raises ``SubmissionNotFound``
    only when ``path`` is neither a folder nor a zip.
    """
    rv = Review(path=Path(path), reference_date_override=reference_date, engine=engine)
    for name, stage in STAGES:
        start = time.perf_counter()
        try:
            stage(rv)
        except InputError:  # the submission cannot be opened at all: the command's to say
            raise
        except Exception as exc:  # an internal error: the rest still runs on what there is
            log.exception("stage %s failed", name)
            rv.failures.append((name, type(exc).__name__))
            if rv.intake is None:
                raise
        rv.timings[name] = round(time.perf_counter() - start, 4)
        if name == "intake":
            start = time.perf_counter()
            if _from_cache(rv):
                rv.timings["cache"] = round(time.perf_counter() - start, 4)
                break
    _keep(rv)
    if rv.report is None:  # the report stage itself failed: the least report there is
        assert rv.intake is not None
        rv.report = Report(
            submission_id=rv.intake.submission_id,
            verdict=Verdict.review,
            summary="审查未完成 / review incomplete",
            counts=Counts(warning=1),
            findings=[_incomplete(rv.failures)],
            incomplete=True,
        )
    rv.report.timings = rv.timings
    return rv


def review(path: Path, *, reference_date: date | None = None, engine: str | None = None) -> Report:
    """Review one submission folder or zip and return its report (see ``run``)."""
    report = run(path, reference_date=reference_date, engine=engine).report
    assert report is not None
    return report


def warm_up(engine: str | None = None, *, models: bool = True) -> None:
    """Load the heavy parts (rules, OCR engine) once per process.

    ``models=False``: the engine is named and checked but its models load only when a
    page is not in the OCR cache.
    """
    load_rules()
    reading.warm_up(engine, models=models)


def _from_cache(rv: Review) -> bool:
    """Take the report from the review cache when it holds this review; note its key."""
    if rv.intake is None or rv.failures or reviewcache.cache_dir() is None:
        return False
    try:
        tag = getattr(get_engine(rv.engine), "cache_tag", None)
    except DocpipeError:
        return False
    if not isinstance(tag, str):  # a test fake: its readings are not its configuration's
        return False
    rv.cache_key = reviewcache.review_key(rv.intake, rv.reference_date, tag)
    got = reviewcache.load(rv.cache_key, rv.intake)
    if got is None:
        return False
    rv.report, rv.stored_pages = got
    rv.from_cache = True
    return True


def _keep(rv: Review) -> None:
    """Put a complete review's report in the review cache (when one is set)."""
    if rv.cache_key is None or rv.report is None or rv.from_cache or rv.failures:
        return
    if reviewcache.storable(rv.report, rv.file_errors):
        reviewcache.store(rv.cache_key, rv.report, _frames(rv))


def _frames(rv: Review) -> list[reviewcache.PageFrame]:
    """Where each read page's boxes were measured, for crops of a cached report."""
    return [
        reviewcache.PageFrame(name, n, rp.scale, rp.ocr.rotation, rp.ocr.width, rp.ocr.height)
        for (name, n), rp in rv.read_pages.items()
    ]


def _engine_info(name: str | None) -> EngineInfo | None:
    """The engine of this review as report.json names it (its models need not be loaded)."""
    try:
        return EngineInfo(**engine_info(get_engine(name)))
    except DocpipeError:  # an unknown engine: the reading stage has said so already
        return None


def _incomplete(failures: list[tuple[str, str]]) -> Finding:
    where = ", ".join(f"{stage}: {what}" for stage, what in failures)
    return incomplete_finding(
        f"docpipe 内部出错（{where}）", f"docpipe failed internally ({where})"
    )
