"""The ``docpipe`` command line (CONTRACT §4): ``check``, ``scan`` and ``schema``.

stdout carries only the result summary, so it can be piped; progress and logs go to
stderr. Exit status: 0 every submission passed, 1 some got ``review`` or ``reject``,
2 the command could not run (bad arguments, missing or unreadable input, a
submission of a scan that could not be processed at all).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
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
from docpipe.errors import DocpipeError, ExitCode
from docpipe.models import Report, Verdict
from docpipe.privacy import install_log_masking, mask_text

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
EngineOpt = Annotated[str | None, typer.Option("--engine", help="OCR engine name.")]


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


def _fail(exc: DocpipeError) -> typer.Exit:
    typer.echo(f"docpipe: {mask_text(exc.message)}", err=True)
    return typer.Exit(int(exc.exit_code))


def _exit_for(verdict: Verdict | str) -> int:
    return int(ExitCode.ok if str(verdict) == "pass" else ExitCode.findings)


def _print_check(report: Report, out: Path, console: Console) -> None:
    """Verdict, counts and findings: a rich table on a terminal, plain lines otherwise."""
    c = report.counts
    head = (
        f"{report.submission_id}: {report.verdict.value} "
        f"({c.error} error(s), {c.warning} warning(s), {c.info} info)"
    )
    if console.is_terminal:
        console.print(f"[bold {_VERDICT_STYLE[report.verdict.value]}]{head}[/]", highlight=False)
        if report.findings:
            table = Table("severity", "code", "field")
            table.add_column("message", overflow="fold")  # CJK has no spaces to wrap at
            for f in report.findings:
                table.add_row(f.severity.value, f.code.value, f.field, mask_text(f.message))
            console.print(table)
        console.print(f"report: {out / 'report.html'}", highlight=False)
        return
    lines = [head]
    lines += [
        f"  {f.severity.value:<8} {f.code.value:<22} {f.field}  {mask_text(f.message)}"
        for f in report.findings
    ]
    lines.append(f"report: {out / 'report.html'}")
    typer.echo("\n".join(lines))


@app.command()
def check(
    submission: Annotated[Path, typer.Argument(help="A submission folder or .zip.")],
    out: OutOpt = None,
    reference_date: RefDateOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Review one submission; write report.json and report.html.

    Default output folder: ./docpipe-out/<submission_id>.
    """
    from docpipe import pipeline
    from docpipe.report import write_report

    ref = _parse_date(reference_date)
    if not submission.exists():
        typer.echo(f"docpipe: no such file or folder: {submission}", err=True)
        raise typer.Exit(int(ExitCode.cannot_run))
    try:
        pipeline.warm_up(engine)
        state = pipeline.run(submission, reference_date=ref, engine=engine)
        assert state.report is not None
        report = state.report
        target = out or Path("docpipe-out") / batch.sanitize_key(report.submission_id)
        write_report(report, target, pages=state.read_pages)
    except DocpipeError as exc:
        raise _fail(exc) from exc
    except OSError as exc:  # e.g. the output folder cannot be written
        typer.echo(f"docpipe: {exc}", err=True)
        raise typer.Exit(int(ExitCode.cannot_run)) from exc
    _print_check(report, target, Console(file=sys.stdout))
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
                self.bar.console.print(f"{outcome.key}: {mask_text(status)}", highlight=False)
        else:
            self._line(f"[{self.n}/{self.total}] {outcome.key} {mask_text(status)}")

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
    """Review every submission under ROOT; resumable with the same --out."""
    ref = _parse_date(reference_date)
    progress = _Progress()
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
    except DocpipeError as exc:
        raise _fail(exc) from exc
    except OSError as exc:  # the output folder cannot be made or written
        typer.echo(f"docpipe: {exc}", err=True)
        raise typer.Exit(int(ExitCode.cannot_run)) from exc
    except KeyboardInterrupt:
        typer.echo("docpipe: interrupted; run the same command again to resume", err=True)
        raise typer.Exit(130) from None
    finally:
        progress.stop()
    if result.total == 0:
        typer.echo(f"docpipe: no submission found under {root}", err=True)
    v = result.verdicts
    typer.echo(
        f"{result.total} submissions: {v['pass']} pass, {v['review']} review, "
        f"{v['reject']} reject, {len(result.failed)} failed "
        f"({result.redone} reviewed now, {result.resumed} already finished)\n"
        f"index: {out / 'index.html'}\nsummary: {out / 'summary.json'}"
    )
    if result.failed:
        raise typer.Exit(int(ExitCode.cannot_run))
    raise typer.Exit(int(ExitCode.ok if result.all_passed else ExitCode.findings))


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
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
