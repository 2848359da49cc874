"""``docpipe scan``: review every submission under a folder, resumably.

Discovery (``docpipe.discovery``)
    A folder holding ``submission.json`` is one submission (its subfolders are not
    searched further); any other ``*.zip`` is one submission. ``ROOT`` itself may be a
    submission. The output folder is skipped when it lies inside ``ROOT``. Submissions
    are taken in sorted path order.

Output names
    Each submission gets ``OUT/<key>/``: ``key`` is its ``submission_id`` (from
    ``submission.json``, else the folder or zip name) made file-system safe; a key taken
    earlier in path order (compared case-insensitively) gets ``-2``, ``-3`` … appended.

Resume
    ``OUT/<key>/input.json`` records the source path and a sha256 over the submission's
    content (a folder: every file's relative path, size and bytes, in sorted order; a
    zip: its bytes). A submission is finished iff ``report.json`` parses and
    ``input.json`` holds the current sha256. Redoing one deletes ``report.json`` first,
    then writes ``input.json``, reviews, and writes ``report.html`` then ``report.json``
    (each atomically), so a kill at any moment leaves it either finished or to be redone.
    Leftover temp files are removed when a scan starts. ``summary.json`` and
    ``index.html`` are rebuilt at the end from the ``report.json`` of every submission
    found, so a resumed run has complete totals.

Test hook
    ``DOCPIPE_SCAN_DELAY=<seconds>`` sleeps that long before each submission, so a
    test can kill a scan mid-run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from docpipe import pipeline
from docpipe.atomic import remove_stale_temps, write_text_atomic
from docpipe.discovery import content_sha256 as content_sha256  # re-exported
from docpipe.discovery import declared_id as declared_id  # re-exported
from docpipe.discovery import find_submissions as find_submissions  # re-exported
from docpipe.discovery import sanitize_key as sanitize_key  # re-exported
from docpipe.errors import DocpipeError
from docpipe.intake import (
    printable_name,
)
from docpipe.models import Finding, Report, Severity
from docpipe.privacy import install_log_masking, mask_text
from docpipe.report import write_report

log = logging.getLogger(__name__)

MARKER = "input.json"
REPORT = "report.json"
DELAY_ENV = "DOCPIPE_SCAN_DELAY"
_SEVERITY_RANK = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


@dataclass(frozen=True)
class Item:
    """One submission found under ROOT: where it is, its key in OUT, its content hash.

    ``error`` is set when planning it failed: it is not reviewed and is listed as failed.
    """

    source: Path
    key: str
    sha256: str
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one submission in this run (``error`` set when it could not run)."""

    key: str
    verdict: str | None = None
    error: str | None = None
    resumed: bool = False


@dataclass
class ScanResult:
    """Totals of a scan, read back from every report.json (so resumed work counts too)."""

    total: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"pass": 0, "review": 0, "reject": 0})
    failed: list[dict[str, str]] = field(default_factory=list)
    #: Keys of the submissions whose review is incomplete (an internal error in it).
    incomplete: list[str] = field(default_factory=list)
    redone: int = 0
    resumed: int = 0

    @property
    def all_passed(self) -> bool:
        """True when every submission got ``pass`` and none failed."""
        return not self.failed and self.verdicts["pass"] == self.total


# --------------------------------------------------------------------------- discovery


def plan(root: Path, out: Path) -> list[Item]:
    """Find the submissions and give each a unique key, deterministic by sorted path.

    One submission that cannot be planned (its content cannot be hashed) becomes an
    ``Item`` with ``error`` set, listed as failed; it never ends the scan.
    """
    items: list[Item] = []
    taken: set[str] = set()
    for src in find_submissions(root, exclude=out):
        base = sanitize_key(declared_id(src))
        key, n = base, 1
        while key.casefold() in taken:
            n += 1
            key = f"{base}-{n}"
        taken.add(key.casefold())
        try:
            items.append(Item(source=src.resolve(), key=key, sha256=content_sha256(src, out)))
        except Exception as exc:  # one submission's failure is its own failed line
            log.error("%s: cannot be planned: %s", key, mask_text(f"{type(exc).__name__}: {exc}"))
            error = printable_name(mask_text(f"cannot be planned: {type(exc).__name__}: {exc}"))
            items.append(Item(source=src.absolute(), key=key, sha256="", error=error))
    return items


# --------------------------------------------------------------------------- one submission


def is_finished(item: Item, out: Path) -> bool:
    """Tell whether ``item`` has a complete report made from its current content."""
    folder = out / item.key
    try:
        marker = json.loads((folder / MARKER).read_text("utf-8"))
        json.loads((folder / REPORT).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("sha256") == item.sha256


def process_one(
    item: Item, out: Path, reference_date: date | None = None, engine: str | None = None
) -> Outcome:
    """Review one submission into ``out/<key>/``; never raises for a bad submission.

    Whatever fails (intake, a stage, writing the report), the result is this
    submission's ``Outcome`` with ``error``: the scan goes on with the others.
    """
    folder = out / item.key
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Drop the old report before the new marker: a kill in between must not leave an
        # old report looking like the result of the new content.
        (folder / REPORT).unlink(missing_ok=True)
        marker = {"source": printable_name(str(item.source)), "sha256": item.sha256}
        write_text_atomic(folder / MARKER, json.dumps(marker, ensure_ascii=False, indent=2) + "\n")
        delay = float(os.environ.get(DELAY_ENV) or 0)
        if delay > 0:
            time.sleep(delay)
        state = pipeline.run(item.source, reference_date=reference_date, engine=engine)
        assert state.report is not None
        report = state.report
        write_report(report, folder, pages=state.report_pages())
    except DocpipeError as exc:
        log.error("%s: %s", item.key, mask_text(exc.message_en))
        return Outcome(item.key, error=printable_name(exc.message))
    except Exception as exc:  # one submission's crash must not end the scan; cause is logged
        cause = printable_name(mask_text(f"{type(exc).__name__}: {exc}"))
        log.error("%s: unexpected failure: %s", item.key, cause)
        # The traceback only on request (-vv): a scan's user must never see one.
        log.debug("%s: traceback", item.key, exc_info=True)
        return Outcome(item.key, error=cause)
    return Outcome(item.key, verdict=report.verdict.value)


def _init_worker(engine: str | None, log_level: int, workers: int) -> None:
    """Pool initializer: logging like the parent, the engine loaded once per worker."""
    # The OCR engine divides the cores among the workers instead of each taking all.
    os.environ.setdefault("DOCPIPE_WORKERS", str(workers))
    if sys.platform == "linux":
        # Die with the parent: a killed scan must not leave workers writing behind a resume.
        with contextlib.suppress(OSError, AttributeError):
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    logging.basicConfig(stream=sys.stderr, level=log_level, format="%(levelname)s %(message)s")
    install_log_masking()
    pipeline.warm_up(engine)


def _run_pool(
    todo: list[Item],
    out: Path,
    workers: int,
    reference_date: date | None,
    engine: str | None,
) -> Iterator[Outcome]:
    ctx = multiprocessing.get_context("spawn")  # no fork of a parent holding threads
    n = min(workers, len(todo))
    init = (engine, logging.getLogger().getEffectiveLevel(), n)
    with ProcessPoolExecutor(n, ctx, _init_worker, init) as pool:
        futures = {pool.submit(process_one, i, out, reference_date, engine): i for i in todo}
        try:
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except Exception as exc:  # a dead worker (BrokenProcessPool); cause recorded
                    log.error("%s: worker failed: %s", futures[fut].key, exc)
                    yield Outcome(futures[fut].key, error=f"worker failed: {exc}")
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


# --------------------------------------------------------------------------- the scan


def scan(
    root: Path,
    out: Path,
    *,
    workers: int = 1,
    reference_date: date | None = None,
    engine: str | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> ScanResult:
    """Review every submission under ``root`` into ``out``, skipping finished ones.

    ``on_start(total, already_finished)`` and ``on_done(outcome)`` report progress.
    Raises ``InputError`` when ``root`` cannot be read.
    """
    items = plan(root, out)
    out.mkdir(parents=True, exist_ok=True)
    for folder in [out, *(out / i.key for i in items)]:
        for tmp in remove_stale_temps(folder):
            log.info("removed leftover temp file %s", tmp)
    failed = [i for i in items if i.error is not None]
    todo = [i for i in items if i.error is None and not is_finished(i, out)]
    done = len(items) - len(todo) - len(failed)
    if on_start:
        on_start(len(items), done)
    outcomes: dict[str, Outcome] = {}
    for item in failed:  # could not even be planned: a failed line, the others go on
        outcomes[item.key] = Outcome(item.key, error=item.error)
        if on_done:
            on_done(outcomes[item.key])
    if todo:
        if workers <= 1:
            pipeline.warm_up(engine)
            stream: Iterator[Outcome] = (process_one(i, out, reference_date, engine) for i in todo)
        else:
            stream = _run_pool(todo, out, workers, reference_date, engine)
        for outcome in stream:
            outcomes[outcome.key] = outcome
            if on_done:
                on_done(outcome)
    result = write_summary(root, out, items, outcomes)
    result.redone, result.resumed = len(todo) + len(failed), done
    return result


def _top_finding(findings: list[Finding]) -> str:
    if not findings:
        return ""
    top = min(findings, key=lambda f: _SEVERITY_RANK[f.severity])
    return mask_text(f"[{top.code.value}] {top.field}: {top.message}")


def _rules(findings: list[Finding]) -> list[str]:
    ordered = sorted(findings, key=lambda f: _SEVERITY_RANK[f.severity])
    return list(dict.fromkeys(f.rule for f in ordered))


def write_summary(
    root: Path, out: Path, items: list[Item], outcomes: dict[str, Outcome]
) -> ScanResult:
    """Rebuild ``summary.json`` and ``index.html`` from the reports in ``out``."""
    result = ScanResult(total=len(items))
    rows: list[dict[str, Any]] = []
    for item in items:
        # Printable: a source path may hold bytes that are not UTF-8 (surrogate escapes).
        source = printable_name(str(item.source))
        row: dict[str, Any] = {"key": item.key, "source": source}
        try:
            if item.error is not None:  # not planned: an old report is not its result
                raise ValueError(item.error)
            report = Report.model_validate_json((out / item.key / REPORT).read_bytes())
        except (OSError, ValueError) as exc:
            outcome = outcomes.get(item.key)
            error = mask_text(outcome.error if outcome and outcome.error else f"no report: {exc}")
            error = printable_name(error)
            result.failed.append({"key": item.key, "source": source, "error": error})
            rows.append({**row, "verdict": "failed", "error": error})
            continue
        result.verdicts[report.verdict.value] += 1
        if report.incomplete:
            result.incomplete.append(item.key)
        rows.append(
            {
                **row,
                "submission_id": report.submission_id,
                "enterprise_name": report.enterprise_name,
                "credit_code": report.credit_code,
                "verdict": report.verdict.value,
                "incomplete": report.incomplete,
                "counts": report.counts.model_dump(),
                "top_finding": _top_finding(report.findings),
                # For the index's rule filter: which rules fired, most severe first.
                "rules": _rules(report.findings),
                "report_json": f"{item.key}/{REPORT}",
                "report_html": f"{item.key}/report.html",
            }
        )
    summary = {
        "schema_version": "1",
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "root": printable_name(str(root.resolve())),
        "total": result.total,
        "verdicts": result.verdicts,
        "failed": len(result.failed),
        "submissions": rows,
    }
    write_text_atomic(
        out / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n"
    )
    write_text_atomic(out / "index.html", render_index(summary))
    return result


def render_index(summary: dict[str, Any]) -> str:
    """Render the table of all submissions (``summary`` is already masked).

    Self-contained like report.html; a few lines of inline JavaScript sort the table by
    a column and filter it by verdict and by rule.
    """
    rows = summary["submissions"]
    rules = sorted({rule for row in rows for rule in row.get("rules", [])})
    return _index_template().render(s=summary, rules=rules)


@cache
def _index_template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("docpipe", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("index.html")
