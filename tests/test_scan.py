"""`docpipe scan`: discovery, output layout, summary, exit codes, resume, workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docpipe import batch, pipeline
from docpipe.checkdigits import id_check_char
from docpipe.cli import app
from docpipe.models import Code, Finding, Report, Severity, Verdict

DOCPIPE = [sys.executable, "-m", "docpipe.cli"]
runner = CliRunner()


def _id(first17: str) -> str:
    return first17 + id_check_char(first17)


def make_submission(folder: Path, submission_id: str | None, *, credit_code: str = "") -> Path:
    """A small synthetic submission folder; a wrong credit code makes it a reject."""
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {
        "application_type": "change_operator",
        "reference_date": "2026-11-20",
        "enterprise": {"credit_code": credit_code or "91330784579324580M", "name": "天佳工贸"},
        "operators": [{"name": "李四", "id_number": _id("33078419900101123"), "gender": "男"}],
    }
    if submission_id is not None:
        data["submission_id"] = submission_id
    (folder / "submission.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return folder


def make_tree(root: Path, n: int) -> list[Path]:
    """``n`` submissions, alternately folders and zips, some with a bad credit code."""
    subs = []
    for i in range(n):
        bad = "91330784579324580A" if i % 3 == 0 else ""
        folder = make_submission(
            root / f"batch{i % 2}" / f"sub{i:02d}", f"S{i:02d}", credit_code=bad
        )
        if i % 4 == 3:  # every fourth one as a zip next to where the folder was
            archive = folder.with_suffix(".zip")
            with zipfile.ZipFile(archive, "w") as zf:
                zf.write(folder / "submission.json", "submission.json")
            (folder / "submission.json").unlink()
            folder.rmdir()
            folder = archive
        subs.append(folder)
    return subs


def reports(out: Path) -> dict[str, dict[str, object]]:
    """Every report.json under ``out`` by folder name, parsed (fails on a half file)."""
    return {
        p.parent.name: json.loads(p.read_text("utf-8")) for p in sorted(out.glob("*/report.json"))
    }


def temp_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file() and p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- discovery


def test_discovery_rules(tmp_path: Path) -> None:
    root = tmp_path / "root"
    a = make_submission(root / "a", "A")
    make_submission(a / "inner", "INNER")  # inside a submission: not a submission of its own
    with zipfile.ZipFile(a / "attachments.zip", "w") as zf:  # an attachment, not a submission
        zf.writestr("x.txt", "x")
    z = root / "deep" / "er" / "z.zip"
    z.parent.mkdir(parents=True)
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("submission.json", '{"submission_id": "Z"}')
    (root / "loose").mkdir()
    (root / "loose" / "readme.txt").write_text("no submission here", "utf-8")
    out = root / "out"
    make_submission(out / "old", "OLD")  # inside --out: skipped
    assert batch.find_submissions(root, exclude=out) == [a, z]


def test_keys_are_safe_unique_and_deterministic(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_submission(root / "1", "SAME")
    make_submission(root / "2", "same")  # differs only in case: a collision on many disks
    make_submission(root / "3", "SAME")
    make_submission(root / "4", "../../etc")
    make_submission(root / "5", "index.html")
    make_submission(root / "6", None)
    make_submission(root / "7", "a:b c*")
    keys = [i.key for i in batch.plan(root, tmp_path / "out")]
    # An id with a slash is not used at all (as intake does); other characters are replaced.
    assert keys == ["SAME", "same-2", "SAME-3", "4", "_index.html", "6", "a_b_c"]
    assert keys == [i.key for i in batch.plan(root, tmp_path / "out")]


# --------------------------------------------------------------------------- one scan


def test_scan_writes_reports_index_summary_and_only_summary_on_stdout(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_tree(root, 5)
    out = tmp_path / "out"
    proc = subprocess.run(
        [*DOCPIPE, "scan", str(root), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    got = reports(out)
    assert sorted(got) == [f"S{i:02d}" for i in range(5)]
    assert all(r["submission_id"] == k for k, r in got.items())
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["total"] == 5
    assert sum(summary["verdicts"].values()) == 5
    assert sorted(row["key"] for row in summary["submissions"]) == sorted(got)
    index = (out / "index.html").read_text("utf-8")
    assert all(f'href="{k}/report.html"' in index for k in got)
    # Progress on stderr, results on stdout: nothing of the per-item lines leaks into stdout.
    assert "[1/5]" in proc.stderr
    assert "[1/5]" not in proc.stdout
    assert proc.stdout.startswith("5 submissions:")
    verdicts = {r["verdict"] for r in got.values()}
    assert "reject" in verdicts  # the bad credit codes
    assert proc.returncode == (0 if verdicts == {"pass"} else 1)


@pytest.mark.parametrize(
    ("verdict", "code"),
    [(Verdict.pass_, 0), (Verdict.review, 1), (Verdict.reject, 1)],
    ids=["all-pass-0", "review-1", "reject-1"],
)
def test_scan_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verdict: Verdict, code: int
) -> None:
    root = tmp_path / "root"
    make_tree(root, 3)

    def fake_run(path: Path, **_: object) -> pipeline.Review:
        # Only the last submission gets the parametrized verdict; the others pass.
        v = verdict if path.name.startswith("sub02") else Verdict.pass_
        return pipeline.Review(path=path, report=Report(submission_id=path.stem, verdict=v))

    monkeypatch.setattr(pipeline, "run", fake_run)
    result = runner.invoke(app, ["scan", str(root), "--out", str(tmp_path / "out")])
    assert result.exit_code == code, result.output
    assert result.stdout.startswith("3 submissions:")


def test_index_and_summary_mask_personal_numbers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    item = batch.Item(source=tmp_path / "s", key="S", sha256="0")
    finding = Finding(
        rule="ID-CHECK",
        code=Code.invalid_format,
        severity=Severity.error,
        field="operators[0].id_number",
        message="证件号码 330784199001011235 有误，电话 13912345678 / wrong",
    )
    report = Report(submission_id="S", verdict=Verdict.reject, findings=[finding])
    (out / "S").mkdir(parents=True)
    (out / "S" / "report.json").write_text(report.to_json(), "utf-8")
    result = batch.write_summary(tmp_path, out, [item], {})
    assert result.verdicts["reject"] == 1
    for name in ("index.html", "summary.json"):
        text = (out / name).read_text("utf-8")
        assert "330784199001011235" not in text and "13912345678" not in text, name
        assert "330784********1235" in text and "139****5678" in text, name


def test_unprocessable_submission_is_listed_as_failed_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    make_tree(root, 2)

    def crash(path: Path, **_: object) -> pipeline.Review:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(pipeline, "run", crash)
    result = runner.invoke(app, ["scan", str(root), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert summary["failed"] == 2
    assert "engine exploded" in summary["submissions"][0]["error"]
    assert not list((tmp_path / "out").glob("*/report.json"))  # so a rerun retries them


# --------------------------------------------------------------------------- resume


def _stats(out: Path) -> dict[str, tuple[int, int]]:
    return {
        p.parent.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*/report.json")
    }


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "two-workers"])
def test_resume_after_sigkill(tmp_path: Path, workers: int) -> None:
    root = tmp_path / "root"
    make_tree(root, 8)
    out = tmp_path / "out"
    env = {**os.environ, batch.DELAY_ENV: "0.5"}
    proc = subprocess.Popen(
        [*DOCPIPE, "scan", str(root), "--out", str(out), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(out.glob("*/report.json")):
        assert proc.poll() is None, "scan ended before it could be killed"
        assert time.monotonic() < deadline, "no report within 60 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    before = _stats(out)
    assert 1 <= len(before) < 8, "the kill must land mid-run"

    rerun = subprocess.run(
        [*DOCPIPE, "scan", str(root), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode in (0, 1), rerun.stderr
    after = _stats(out)
    assert len(reports(out)) == 8 == len(after)
    assert {k: after[k] for k in before} == before  # finished ones were not redone
    assert not temp_files(out)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["total"] == 8 and summary["failed"] == 0
    assert f"{len(before)} already finished" in rerun.stdout


def test_changed_input_is_redone_and_stale_temps_removed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    subs = make_tree(root, 3)
    out = tmp_path / "out"
    assert runner.invoke(app, ["scan", str(root), "--out", str(out)]).exit_code == 1
    before = _stats(out)
    # A writer killed mid-write leaves a temp file beside the target.
    (out / "S00" / ".report.json.x1y2.tmp").write_text("{half", "utf-8")
    make_submission(subs[1], "S01", credit_code="91330784579324580A")  # content changed
    result = runner.invoke(app, ["scan", str(root), "--out", str(out)])
    assert result.exit_code == 1, result.output
    after = _stats(out)
    assert after["S00"] == before["S00"] and after["S02"] == before["S02"]
    assert after["S01"] != before["S01"]
    assert reports(out)["S01"]["verdict"] == "reject"
    assert not temp_files(out)


def test_report_without_matching_marker_is_redone(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_tree(root, 2)
    out = tmp_path / "out"
    runner.invoke(app, ["scan", str(root), "--out", str(out)])
    (out / "S01" / batch.MARKER).unlink()  # e.g. killed between marker and report of a redo
    before = _stats(out)
    runner.invoke(app, ["scan", str(root), "--out", str(out)])
    after = _stats(out)
    assert after["S00"] == before["S00"]
    assert after["S01"] != before["S01"]


# --------------------------------------------------------------------------- workers


def _comparable(report: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in report.items() if k != "timings"}


def test_two_workers_give_the_same_reports_as_one(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_tree(root, 6)
    runs = {}
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        proc = subprocess.run(
            [*DOCPIPE, "scan", str(root), "--out", str(out), "--workers", str(n)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert proc.returncode in (0, 1), proc.stderr
        runs[n] = {k: _comparable(r) for k, r in reports(out).items()}
    assert len(runs[1]) == 6
    assert runs[1] == runs[2]


def test_a_submission_that_cannot_be_planned_is_a_failed_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    make_tree(root, 3)
    real = batch.content_sha256

    def flaky(path: Path, exclude: Path | None = None) -> str:
        if path.name == "sub01":
            raise RuntimeError("disk went away")
        return real(path, exclude)

    monkeypatch.setattr(batch, "content_sha256", flaky)
    out = tmp_path / "out"
    done: list[batch.Outcome] = []
    result = batch.scan(root, out, on_done=done.append)
    assert [f["key"] for f in result.failed] == ["S01"]
    assert "cannot be planned: RuntimeError: disk went away" in result.failed[0]["error"]
    assert sorted(reports(out)) == ["S00", "S02"]  # the others still get their reports
    assert {o.key for o in done if o.error} == {"S01"}


def test_declared_id_survives_hostile_submission_json(tmp_path: Path) -> None:
    cases = {
        "deep": "[" * 10_000 + "]" * 10_000,
        "digits": '{"submission_id": "X", "remarks": ' + "7" * 5000 + "}",
        "junk": "\x00\xff PK",
        "list": "[1, 2]",
    }
    for name, text in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "submission.json").write_bytes(text.encode("utf-8", "surrogateescape"))
        assert batch.declared_id(folder) == name
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "submission.json")
    assert batch.declared_id(fifo) == "fifo"  # not opened: it would block
    link = tmp_path / "link"
    link.mkdir()
    (link / "submission.json").symlink_to("/dev/zero")
    assert batch.declared_id(link) == "link"
    assert len(batch.content_sha256(fifo)) == len(batch.content_sha256(link)) == 64


def test_zip_declared_id_is_read_from_the_folder_intake_takes(tmp_path: Path) -> None:
    z = tmp_path / "upload.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Thumbs.db", "x")
        zf.writestr("a/b/submission.json", '{"submission_id": "AB"}')
        zf.writestr("a/b/c/submission.json", '{"submission_id": "deeper"}')
    assert batch.declared_id(z) == "AB"
    (tmp_path / "not.zip").write_text("no zip", "utf-8")
    assert batch.declared_id(tmp_path / "not.zip") == "not"
