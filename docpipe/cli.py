"""The ``docpipe`` command line (CONTRACT §4): ``check``, ``scan`` and ``schema``.

stdout carries only the result summary, so it can be piped; progress and logs go to
stderr. Exit status: 0 every submission passed, 1 some got ``review`` or ``reject``,
2 the command could not run (bad arguments, missing or unreadable input, a
submission of a scan that could not be processed at all, or an internal error: then
any report written says the review is incomplete).

No traceback ever reaches the user: an unexpected exception becomes one bilingual
line on stderr naming its type (the traceback is logged at ``-vv``, masked). Whatever
stdout and stderr show of a submission (file names, values, messages) has its personal
numbers masked and its control characters escaped, so a piped line cannot be split or
forged by a file name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated

import click
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from docpipe import batch
from docpipe.archive import printable_name
from docpipe.errors import INTERNAL_ERROR, DocpipeError, ExitCode
from docpipe.models import Report, Verdict
from docpipe.privacy import install_log_masking, mask_id, mask_phone, shown_text

log = logging.getLogger("docpipe")

app = typer.Typer(
    name="docpipe",
    help="Pre-review of China E-Port card applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_VERDICT_STYLE = {"pass": "green", "review": "yellow", "reject": "red"}


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected YYYY-MM-DD, got {value!r}", param_hint="'--reference-date'"
        ) from exc


OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")]
RefDateOpt = Annotated[
    str | None,
    typer.Option(
        "--reference-date",
        help="Review as of this day (YYYY-MM-DD); default: the submission's, else today.",
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="OCR engine: rapidocr (on onnxruntime; see README), rapidocr-openvino,"
        " rapidocr-onnxruntime, paddleocr, replay. Default: $DOCPIPE_ENGINE, else rapidocr.",
    ),
]


@app.callback()
def _root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logs.")] = 0,
) -> None:
    """Pre-review of China E-Port card applications."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(levelname)s %(name)s: %(message)s", force=True
    )
    install_log_masking()


RESUME_HINT = "已中断，再次运行同一命令即可继续 / interrupted; run the same command again to resume"
INCOMPLETE = (
    "审查未完成（内部错误），报告已写出并注明未完成 / the review is incomplete (internal"
    " error): the report was written and says so"
)


def _say(text: str) -> None:
    """One line on stderr, masked and with its control characters escaped."""
    typer.echo(f"docpipe: {shown_text(text)}", err=True)


def _fail(exc: DocpipeError) -> typer.Exit:
    _say(exc.message)
    return typer.Exit(int(exc.exit_code))


@contextlib.contextmanager
def _guarded() -> Iterator[None]:
    """Turn whatever escapes a command into one line on stderr and exit status 2.

    ``typer.Exit`` and click's own errors (bad arguments) pass through unchanged.
    """
    try:
        yield
    except (typer.Exit, typer.Abort, click.ClickException):
        raise
    except DocpipeError as exc:
        raise _fail(exc) from exc
    except OSError as exc:  # e.g. the output folder cannot be written
        _say(f"无法读写文件 / cannot read or write a file: {exc}")
        raise typer.Exit(int(ExitCode.cannot_run)) from exc
    except KeyboardInterrupt:
        _say("已中断 / interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug or an exhausted resource: the cause goes to the log
        log.debug("internal error", exc_info=True)
        _say(f"{INTERNAL_ERROR}: {type(exc).__name__}")
        raise typer.Exit(int(ExitCode.cannot_run)) from exc


def _exit_for(verdict: Verdict | str) -> int:
    return int(ExitCode.ok if str(verdict) == "pass" else ExitCode.findings)


_VERDICT_WORD = {"pass": "✔ pass 通过", "review": "⚠ review 复核", "reject": "✖ reject 退回"}
_SEVERITY_WORD = {"error": "✖ error", "warning": "⚠ warning", "info": "ℹ info"}
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "blue"}


def _masked(field: str, value: str | None) -> str:
    """A filed or found value as stdout may show it: numbers masked, controls escaped."""
    if value is None:
        return "—"
    leaf = field.rsplit(".", 1)[-1]
    # A short value of such a field is a check character the rule computed, not a number.
    if leaf.endswith("id_number") and len(value) > 10:
        return printable_name(mask_id(value))
    if (leaf in ("mobile", "phone") or leaf.endswith("_mobile")) and len(value) >= 8:
        return printable_name(mask_phone(value))
    return shown_text(value)


def _print_check(report: Report, out: Path, console: Console) -> None:
    """The report's facts: a compact rich table on a terminal, plain lines when piped.

    Header (verdict, enterprise, credit code, application type, counts, reason), then one
    row per finding (severity, rule, field, filed → found, message), then the report path.
    Personal numbers are masked (stdout ends up in logs and terminals) and control
    characters escaped (a file name must not split a piped line or drive the terminal).
    """
    c = report.counts
    verdict = report.verdict.value
    head = (
        f"{shown_text(report.submission_id)}: {verdict} "
        f"({c.error} error(s), {c.warning} warning(s), {c.info} info)"
    )
    facts = shown_text(
        " · ".join(
            x for x in (report.enterprise_name, report.credit_code, report.application_type) if x
        )
    )
    reason = shown_text(report.summary)
    where = printable_name(str(out / "report.html"))
    if console.is_terminal:
        style = _VERDICT_STYLE[verdict]
        console.print(f"[bold {style}]{_VERDICT_WORD[verdict]}[/]  {escape(head)}", highlight=False)
        if facts:
            console.print(facts, highlight=False, markup=False)
        console.print(f"[dim]{escape(reason)}[/]", highlight=False)
        if report.findings:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
            for name in ("severity", "rule", "field", "filed → found"):
                table.add_column(name, no_wrap=name != "filed → found")
            table.add_column("message", overflow="fold", ratio=1)  # CJK has no spaces
            for f in report.findings:
                sev = f.severity.value
                table.add_row(
                    f"[{_SEVERITY_STYLE[sev]}]{_SEVERITY_WORD[sev]}[/]",
                    escape(shown_text(f.rule)),
                    escape(shown_text(f.field)),
                    escape(f"{_masked(f.field, f.filed)} → {_masked(f.field, f.found)}"),
                    escape(shown_text(f.message)),
                )
            console.print(table)
        console.print(f"report: {where}", highlight=False, markup=False)
        return
    lines = [head]
    if facts:
        lines.append(f"enterprise: {facts}")
    lines.append(f"reason: {reason}")
    lines += [
        f"  {f.severity.value:<8} {shown_text(f.rule):<18} {f.code.value:<16} "
        f"{shown_text(f.field)}  "
        f"filed={_masked(f.field, f.filed)} found={_masked(f.field, f.found)}  "
        f"{shown_text(f.message)}"
        for f in report.findings
    ]
    lines.append(f"report: {where}")
    typer.echo("\n".join(lines))


@app.command()
def check(
    submission: Annotated[Path, typer.Argument(help="A submission folder or .zip.")],
    out: OutOpt = None,
    reference_date: RefDateOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Review one submission; write report.json and report.html.

    Default output folder: ./docpipe-out/<submission_id>. Exit 2 when the review is
    incomplete (an internal error during it), after the report is written.
    """
    from docpipe import pipeline
    from docpipe.report import write_report

    ref = _parse_date(reference_date)
    if not submission.exists():
        _say(f"没有这个文件或文件夹 / no such file or folder: {submission}")
        raise typer.Exit(int(ExitCode.cannot_run))
    with _guarded():
        # The models load on the first page not in the OCR cache, not before.
        pipeline.warm_up(engine, models=False)
        state = pipeline.run(submission, reference_date=ref, engine=engine)
        if state.report is None:
            raise RuntimeError("the pipeline returned no report")
        report = state.report
        target = out or Path("docpipe-out") / batch.sanitize_key(report.submission_id)
        write_report(report, target, pages=state.report_pages())
        _print_check(report, target, Console(file=sys.stdout))
    if report.incomplete:
        _say(f"{INCOMPLETE}: {target / 'report.json'}")
        raise typer.Exit(int(ExitCode.cannot_run))
    raise typer.Exit(_exit_for(report.verdict))


class _Progress:
    """Scan progress on stderr: a rich bar on a terminal, ``[3/10] <id> reject`` otherwise."""

    def __init__(self) -> None:
        self.console = Console(file=sys.stderr)
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.n = 0
        self.total = 0

    def start(self, total: int, finished: int) -> None:
        self.total, self.n = total, finished
        if finished:
            self._line(f"resuming: {finished} of {total} already finished")
        if self.console.is_terminal and finished < total:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.task = self.bar.add_task("scan", total=total, completed=finished)
            self.bar.start()

    def done(self, outcome: batch.Outcome) -> None:
        self.n += 1
        status = outcome.verdict or f"failed: {outcome.error}"
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=1, description=outcome.key)
            if outcome.error:
                line = f"{shown_text(outcome.key)}: {shown_text(status)}"
                self.bar.console.print(line, highlight=False, markup=False)
        else:
            self._line(f"[{self.n}/{self.total}] {shown_text(outcome.key)} {shown_text(status)}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _line(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


@app.command()
def scan(
    root: Annotated[Path, typer.Argument(help="Folder holding submission folders and zips.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("docpipe-out"),
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes.")] = 1,
    reference_date: RefDateOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Review every submission under ROOT; resumable with the same --out.

    Exit 2 when a submission could not be reviewed or its review is incomplete.
    """
    ref = _parse_date(reference_date)
    progress = _Progress()
    try:
        with _guarded():
            try:
                result = batch.scan(
                    root,
                    out,
                    workers=workers,
                    reference_date=ref,
                    engine=engine,
                    on_start=progress.start,
                    on_done=progress.done,
                )
            except KeyboardInterrupt:
                _say(RESUME_HINT)
                raise typer.Exit(130) from None
    finally:
        progress.stop()
    if result.total == 0:
        _say(f"在此目录下没有找到申请 / no submission found under {root}")
    v = result.verdicts
    typer.echo(
        f"{result.total} submissions: {v['pass']} pass, {v['review']} review, "
        f"{v['reject']} reject, {len(result.failed)} failed "
        f"({result.redone} reviewed now, {result.resumed} already finished)\n"
        f"index: {printable_name(str(out / 'index.html'))}\n"
        f"summary: {printable_name(str(out / 'summary.json'))}"
    )
    if result.incomplete:
        _say(f"{INCOMPLETE} ({len(result.incomplete)}): {', '.join(result.incomplete)}")
    if result.failed or result.incomplete:
        raise typer.Exit(int(ExitCode.cannot_run))
    raise typer.Exit(int(ExitCode.ok if result.all_passed else ExitCode.findings))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes.")] = 1,
    data: Annotated[Path, typer.Option("--data", help="Job store folder.")] = Path("docpipe-data"),
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file.")] = None,
    max_queued: Annotated[int | None, typer.Option(help="Queued jobs before 429.")] = None,
    engine: EngineOpt = None,
) -> None:
    """Run the pre-review HTTP service (API docs at /docs, spec at /openapi.json).

    Without a token (DOCPIPE_TOKEN or 'token' in --config) it only listens on loopback.
    """
    from docpipe.service import app as service
    from docpipe.service.config import bind_problem, load_settings

    try:
        settings = load_settings(
            data, config_file=config, workers=workers, engine=engine, max_queued=max_queued
        )
    except DocpipeError as exc:
        raise _fail(exc) from exc
    problem = bind_problem(host, settings.token)
    if problem:
        typer.echo(f"docpipe: {problem}", err=True)
        raise typer.Exit(int(ExitCode.cannot_run))
    service.serve(settings, host, port)


def write_schemas(out: Path) -> list[Path]:
    """Write the contract's JSON Schemas into ``out``; return the files written."""
    from docpipe.atomic import write_text_atomic
    from docpipe.models import json_schemas

    written = []
    for name, schema in json_schemas().items():
        path = out / name
        write_text_atomic(path, json.dumps(schema, ensure_ascii=False, indent=2) + "\n")
        written.append(path)
    return written


@app.command()
def schema(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("schemas"),
) -> None:
    """Write submission.schema.json and report.schema.json (JSON Schema)."""
    for path in write_schemas(out):
        typer.echo(str(path))


def main() -> None:
    """Console-script entry point; a last guard so that no traceback reaches the user."""
    try:
        app()
    except Exception as exc:  # outside any command (e.g. while parsing); logged at -vv
        log.debug("internal error", exc_info=True)
        _say(f"{INTERNAL_ERROR}: {type(exc).__name__}")
        sys.exit(int(ExitCode.cannot_run))


if __name__ == "__main__":
    main()
