"""`docpipe check` and the command-line conventions: exit codes, stdout, output folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docpipe import pipeline
from docpipe.checkdigits import id_check_char
from docpipe.cli import app
from docpipe.models import Code, Finding, Report, Severity, Verdict

runner = CliRunner()


def _id(first17: str) -> str:
    return first17 + id_check_char(first17)


def make_submission(folder: Path, submission_id: str = "S-1", **enterprise: str) -> Path:
    """A synthetic submission folder (valid check digits unless overridden)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "submission_id": submission_id,
        "application_type": "change_operator",
        "reference_date": "2026-11-20",
        "enterprise": {"credit_code": "91330784579324580M", "name": "永康市天佳工贸有限公司"}
        | enterprise,
        "operators": [
            {
                "name": "李四",
                "id_type": "居民身份证",
                "id_number": _id("33078419900101123"),
                "id_valid_from": "2020-06-01",
                "id_valid_to": "2040-06-01",
                "gender": "男",
                "birth_date": "1990-01-01",
                "mobile": "13912345678",
                "device_type": "U盾",
            }
        ],
    }
    (folder / "submission.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return folder


def _stub_run(verdict: Verdict):  # type: ignore[no-untyped-def]
    """A stand-in for pipeline.run whose state carries a fixed report."""
    return lambda *a, **k: pipeline.Review(path=Path("."), report=_stub_report(verdict))


def _stub_report(verdict: Verdict) -> Report:
    severity = {Verdict.review: Severity.warning, Verdict.reject: Severity.error}.get(verdict)
    findings = []
    if severity is not None:
        findings.append(
            Finding(
                rule="ID-CHECK",
                code=Code.invalid_format,
                severity=severity,
                field="operators[0].id_number",
                filed="330784199001011235",
                message="证件号码 330784199001011235 校验位错误 / check digit wrong",
            )
        )
    return Report(submission_id="S-1", verdict=verdict, findings=findings)


@pytest.mark.parametrize(
    ("verdict", "code"),
    [(Verdict.pass_, 0), (Verdict.review, 1), (Verdict.reject, 1)],
    ids=["pass-0", "review-1", "reject-1"],
)
def test_check_exit_code_follows_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verdict: Verdict, code: int
) -> None:
    # The verdict is the rules' business; here only its mapping to the exit status counts.
    monkeypatch.setattr(pipeline, "run", _stub_run(verdict))
    sub = make_submission(tmp_path / "sub")
    out = tmp_path / "out"
    result = runner.invoke(app, ["check", str(sub), "--out", str(out)])
    assert result.exit_code == code, result.output
    assert f"S-1: {verdict.value}" in result.stdout
    assert json.loads((out / "report.json").read_text("utf-8"))["verdict"] == verdict.value
    assert (out / "report.html").is_file()


def test_check_stdout_masks_personal_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "run", _stub_run(Verdict.reject))
    result = runner.invoke(
        app, ["check", str(make_submission(tmp_path / "s")), "-o", str(tmp_path)]
    )
    assert "330784199001011235" not in result.stdout
    assert "330784********1235" in result.stdout


def test_check_faulty_sample_is_rejected_by_the_real_pipeline(tmp_path: Path) -> None:
    # Check character of the credit code changed: USCC-CHECK must turn it into an error.
    sub = make_submission(tmp_path / "faulty", credit_code="91330784579324580A")
    out = tmp_path / "out"
    result = runner.invoke(app, ["check", str(sub), "--out", str(out)])
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["verdict"] == "reject"
    assert any(
        f["field"] == "enterprise.credit_code" and f["severity"] == "error"
        for f in report["findings"]
    )


def test_check_default_out_is_under_docpipe_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = make_submission(tmp_path / "sub", submission_id="我的 申请:1")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", str(sub)])
    assert result.exit_code in (0, 1), result.output
    target = Path("docpipe-out") / "我的_申请_1"
    assert (tmp_path / target / "report.json").is_file()
    assert str(target / "report.html") in result.stdout


def test_check_zip_submission(tmp_path: Path) -> None:
    import zipfile

    sub = make_submission(tmp_path / "sub", submission_id="Z-1")
    archive = tmp_path / "z.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(sub / "submission.json", "submission.json")
    result = runner.invoke(app, ["check", str(archive), "--out", str(tmp_path / "o")])
    assert result.exit_code in (0, 1), result.output
    assert json.loads((tmp_path / "o" / "report.json").read_text("utf-8"))["submission_id"] == "Z-1"


@pytest.mark.parametrize(
    "args",
    [
        ["check", "{tmp}/does-not-exist"],
        ["check", "{sub}", "--no-such-option"],
        ["check", "{sub}", "--reference-date", "2026-13-40"],
        ["check"],
        ["scan", "{tmp}/does-not-exist"],
        ["scan", "{tmp}", "--workers", "0"],
        ["frobnicate"],
    ],
    ids=[
        "check-missing-path",
        "check-bad-option",
        "check-bad-date",
        "check-no-argument",
        "scan-missing-root",
        "scan-zero-workers",
        "unknown-command",
    ],
)
def test_could_not_run_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # default --out is relative: keep it out of the repo
    sub = make_submission(tmp_path / "sub")
    argv = [a.format(tmp=tmp_path, sub=sub) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "docpipe-out").exists()


def test_check_plain_file_is_not_a_submission(tmp_path: Path) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("hello", "utf-8")
    result = runner.invoke(app, ["check", str(plain), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert not (tmp_path / "o" / "report.json").exists()


def test_folder_without_submission_json_is_still_checked(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["check", str(empty), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text("utf-8"))
    assert report["verdict"] == "reject"
    assert any(f["field"] == "submission" for f in report["findings"])


# ------------------------------------------------------------ no traceback, ever


def _raising(exc: BaseException):  # type: ignore[no-untyped-def]
    def run(*a: object, **k: object) -> None:
        raise exc

    return run


@pytest.mark.parametrize(
    "exc",
    [ZeroDivisionError("boom"), KeyError("330784199001011235"), RecursionError(), MemoryError()],
    ids=["zero-division", "key-error-with-a-number", "recursion", "memory"],
)
def test_check_internal_error_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    monkeypatch.setattr(pipeline, "run", _raising(exc))
    sub = make_submission(tmp_path / "s")
    result = runner.invoke(app, ["check", str(sub), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"docpipe: 内部错误，审查未完成 / internal error, the review is incomplete: "
        f"{type(exc).__name__}"
    ]
    assert "330784199001011235" not in result.output
    assert result.stdout == ""


def test_scan_internal_error_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docpipe import batch

    monkeypatch.setattr(batch, "scan", _raising(TypeError("bad")))
    make_submission(tmp_path / "root" / "s")
    result = runner.invoke(app, ["scan", str(tmp_path / "root"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "internal error, the review is incomplete: TypeError" in result.stderr
    assert "Traceback" not in result.output


def test_internal_error_in_a_child_prints_no_traceback(tmp_path: Path) -> None:
    # As the user runs it (the console-script entry point, real stderr), with a bug
    # injected into the pipeline.
    import subprocess
    import sys

    code = (
        "import sys; from docpipe import pipeline, cli\n"
        "def boom(*a, **k): raise LookupError('x')\n"
        "pipeline.run = boom\n"
        "sys.argv = ['docpipe', 'check', sys.argv[1], '-o', sys.argv[2]]\n"
        "cli.main()\n"
    )
    sub = make_submission(tmp_path / "s")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(sub), str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().endswith("internal error, the review is incomplete: LookupError")


def test_incomplete_review_writes_the_report_then_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _stub_report(Verdict.pass_)
    report.incomplete = True
    monkeypatch.setattr(pipeline, "run", lambda *a, **k: pipeline.Review(Path("."), report=report))
    out = tmp_path / "o"
    result = runner.invoke(app, ["check", str(make_submission(tmp_path / "s")), "-o", str(out)])
    assert result.exit_code == 2  # not the verdict's 0
    assert json.loads((out / "report.json").read_text("utf-8"))["incomplete"] is True
    assert "S-1: pass" in result.stdout
    assert "the review is incomplete" in result.stderr
    assert str(out / "report.json") in result.stderr


def test_check_archive_unreadable_exits_2_with_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docpipe.intake import ArchiveUnreadable

    err = ArchiveUnreadable("x.zip is not a readable zip archive", "x.zip 不是可读取的 zip 压缩包")
    monkeypatch.setattr(pipeline, "load_submission", _raising(err))
    fake = tmp_path / "x.zip"
    fake.write_bytes(b"not a zip")
    result = runner.invoke(app, ["check", str(fake), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"docpipe: {err.message}"
    assert not (tmp_path / "o" / "report.json").exists()


def test_check_real_non_zip_archive_exits_2(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"%PDF-1.7 this is no zip archive")
    result = runner.invoke(app, ["check", str(fake), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "zip" in result.stderr and " / " in result.stderr  # bilingual
    assert "Traceback" not in result.output


# --------------------------------------------------- file names on stdout: masked, escaped

_ID = _id("33078419900101123")
_NAME = f"id{_ID}.jpg\nINFO forged line\x1b[2J"


def _file_report() -> Report:
    return Report(
        submission_id="S-1",
        verdict=Verdict.reject,
        findings=[
            Finding(
                rule="FILE-TYPE",
                code=Code.file_type_not_allowed,
                severity=Severity.error,
                field=f"file:{_NAME}",
                filed=_NAME,
                message=f"{_NAME} 不是允许的类型 / not an allowed type",
            )
        ],
    )


def _assert_shown_safely(text: str) -> None:
    assert _ID not in text
    assert "330784********" in text  # the name is there, masked
    assert "\x1b[2J" not in text and "\\x1b[2J" in text
    assert not any(line.startswith("INFO forged") for line in text.splitlines())
    assert "\\nINFO forged line" in text


def test_plain_stdout_masks_and_escapes_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _file_report()
    monkeypatch.setattr(pipeline, "run", lambda *a, **k: pipeline.Review(Path("."), report=report))
    result = runner.invoke(
        app, ["check", str(make_submission(tmp_path / "s")), "-o", str(tmp_path)]
    )
    assert result.exit_code == 1
    _assert_shown_safely(result.stdout)
    # The finding is one line: severity, rule, code, field, values and message together.
    (row,) = [ln for ln in result.stdout.splitlines() if "FILE-TYPE" in ln]
    assert "file:id330784********" in row and "不是允许的类型" in row


def test_rich_table_masks_and_escapes_file_names(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from docpipe.cli import _print_check

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system=None, width=400)
    _print_check(_file_report(), tmp_path, console)
    text = buf.getvalue()
    _assert_shown_safely(text)


def test_scan_with_an_incomplete_review_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    complete = _stub_report(Verdict.pass_)
    incomplete = _stub_report(Verdict.pass_).model_copy(
        update={"submission_id": "S-2", "incomplete": True}
    )
    reports = {"s1": complete, "s2": incomplete}

    def fake_run(path: Path, **_: object) -> pipeline.Review:
        return pipeline.Review(path=path, report=reports[Path(path).name])

    monkeypatch.setattr(pipeline, "run", fake_run)
    root = tmp_path / "root"
    make_submission(root / "s1", submission_id="S-1")
    make_submission(root / "s2", submission_id="S-2")
    out = tmp_path / "o"
    result = runner.invoke(app, ["scan", str(root), "-o", str(out)])
    assert result.exit_code == 2, result.output  # both "pass", one incomplete
    assert "2 submissions: 2 pass" in result.stdout
    assert "the review is incomplete" in result.stderr and "S-2" in result.stderr
    assert json.loads((out / "S-2" / "report.json").read_text("utf-8"))["incomplete"] is True
