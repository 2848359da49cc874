"""Hostile submissions at intake and in ``scan`` (issue 14): FIFOs, links, sparse giants,
deep or junk ``submission.json``, names that are not UTF-8, litter and refused entries
in zips, ``.zip`` files that are no zip.

Every input is built here (real FIFOs, real symbolic links, sparse files made with
``truncate``) around a copy of the committed clean sample, whose OCR is replayed. Each
command runs in a bounded child (memory cap, deadline): a hang or a whole read of a
2 GB file fails the test instead of taking the machine.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hostile_tools import (
    CLEAN_CASE,
    GB,
    Run,
    clean_submission,
    documents_of,
    finding,
    no_traceback,
    run_docpipe,
)

from docpipe import batch

MEM = 3 * GB
SECONDS = 60.0
#: Every attachment of the clean sample and the kinds read from it.
CLEAN_KINDS = {
    "营业执照.jpg": ["business_license"],
    "法人身份证正面.jpg": ["id_card_front"],
    "申请书.pdf": ["application_form"],
}


def bounded(*args: str) -> Run:
    """``docpipe ARGS`` in a child under the cap; no traceback, within the deadline."""
    run = run_docpipe(*args, mem_bytes=MEM, seconds=SECONDS)
    no_traceback(run)
    assert run.seconds < SECONDS
    assert run.peak_rss < MEM
    return run


def scanned(root: Path, out: Path, rc: int) -> tuple[Run, dict[str, dict[str, Any]]]:
    """``docpipe scan ROOT --out OUT``, bounded, exiting ``rc``; and its rows by source."""
    run = bounded("scan", str(root), "--out", str(out))
    assert run.rc == rc, run.stderr[-2000:]
    return run, by_source(out)


def assert_clean_attachments_read(report: dict[str, Any]) -> None:
    """The hostile part did not stop the review of the sample's own attachments."""
    for name, kinds in CLEAN_KINDS.items():
        assert documents_of(report, name) == kinds, (name, report["documents"])


def by_source(out: Path) -> dict[str, dict[str, Any]]:
    """Each scanned submission's summary row (with its report, if any) by source name."""
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    rows: dict[str, dict[str, Any]] = {}
    for row in summary["submissions"]:
        report = out / row["key"] / "report.json"
        row["report"] = json.loads(report.read_text("utf-8")) if report.exists() else None
        rows[row["source"].rsplit("/", 1)[-1]] = row
    return rows


def sparse(path: Path, size: int = 2 * GB) -> Path:
    """A sparse file of ``size`` bytes (no disk used), starting like a JPEG."""
    with path.open("wb") as f:
        f.write(b"\xff\xd8\xff\xe0")
        f.truncate(size)
    return path


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def zip_of(path: Path, entries: dict[str, bytes], *infos: zipfile.ZipInfo) -> Path:
    """A zip of ``entries`` (name → bytes) plus entries with hand-made ``ZipInfo``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for info in infos:
            zf.writestr(info, b"/etc/passwd")
    return path


def clean_entries(prefix: str) -> dict[str, bytes]:
    """The clean sample's files under ``prefix`` (``""`` or ``"a/b/"``)."""
    return {prefix + p.name: p.read_bytes() for p in sorted(CLEAN_CASE.iterdir())}


# ------------------------------------------------------------------ 1. scan as check


def test_scan_survives_fifo_attachment_and_fifo_submission_json(tmp_path: Path) -> None:
    root = tmp_path / "root"
    a = clean_submission(root, "a")
    os.mkfifo(a / "管道.jpg")  # reading it would block forever
    b = clean_submission(root, "b")
    (b / "submission.json").unlink()
    os.mkfifo(b / "submission.json")
    clean_submission(root, "c")
    out = tmp_path / "out"

    _run, rows = scanned(root, out, 1)  # reviewed, some rejected; nothing failed
    assert finding(rows["a"]["report"], "file:管道.jpg", "file_unreadable")
    assert_clean_attachments_read(rows["a"]["report"])
    f = finding(rows["b"]["report"], "submission", "file_unreadable")
    assert f["message"].startswith("submission.json 不是普通文件")
    assert_clean_attachments_read(rows["b"]["report"])
    assert rows["c"]["verdict"] == "pass"


def test_scan_never_follows_links_out_of_the_submission(tmp_path: Path) -> None:
    root = tmp_path / "root"
    a = clean_submission(root, "a")
    (a / "submission.json").unlink()
    (a / "submission.json").symlink_to("/dev/zero")  # read whole, it never ends
    (a / "链接.jpg").symlink_to(sparse(tmp_path / "outside.jpg"))
    clean_submission(root, "c")
    out = tmp_path / "out"

    _run, rows = scanned(root, out, 1)
    report = rows["a"]["report"]
    f = finding(report, "submission", "file_unreadable")
    assert "符号链接" in f["message"] and "symbolic link" in f["message"]
    assert finding(report, "file:链接.jpg", "file_unreadable")
    assert_clean_attachments_read(report)
    assert rows["a"]["key"] == "a"  # no id read through the link: the folder's name
    assert rows["c"]["verdict"] == "pass"


def test_scan_hashes_a_sparse_2gb_file_by_size_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "root"
    a = clean_submission(root, "a")
    big = sparse(a / "大文件.jpg")
    clean_submission(root, "c")
    out = tmp_path / "out"

    _run, rows = scanned(root, out, 1)
    report = rows["a"]["report"]
    assert finding(report, "file:大文件.jpg", "file_too_large")
    [att] = [x for x in report["attachments"] if x["file"] == "大文件.jpg"]
    assert (att["size"], att["sha256"]) == (2 * GB, "")  # listed, never hashed nor read
    assert_clean_attachments_read(report)
    assert rows["c"]["verdict"] == "pass"

    # The resume hash takes the giant by its stat: instant, and a rewrite is noticed.
    start = time.monotonic()
    first = batch.content_sha256(a)
    assert time.monotonic() - start < 1.0
    assert batch.content_sha256(a) == first
    os.utime(big, ns=(1, 1))
    assert batch.content_sha256(a) != first
    rerun = bounded("scan", str(root), "--out", str(out))
    assert rerun.rc == 1
    assert "(1 reviewed now, 1 already finished)" in rerun.stdout


def test_scan_survives_deep_json_junk_json_and_names_that_are_not_utf8(tmp_path: Path) -> None:
    root = tmp_path / "root"
    deep = clean_submission(root, "deep")
    (deep / "submission.json").write_text(nested(10_000), "utf-8")
    junk = clean_submission(root, "junk")
    (junk / "submission.json").write_bytes(bytes(range(256)) * 8)
    odd = os.fsdecode(b"odd-\xff\xfe")  # what os.walk gives for bytes that are not UTF-8
    weird = clean_submission(root, odd)
    (weird / os.fsdecode(b"\xe8\xa1.jpg")).write_bytes(b"not an image")
    out = tmp_path / "out"

    _run, rows = scanned(root, out, 1)
    assert set(rows) == {"deep", "junk", "odd-\\xff\\xfe"}  # printable in summary.json
    f = finding(rows["deep"]["report"], "submission", "invalid_format")
    assert f["message"].startswith("submission.json 嵌套层数过深（超过 32 层） / ")
    assert finding(rows["junk"]["report"], "submission", "invalid_format")
    for row in rows.values():
        assert_clean_attachments_read(row["report"])
    report = rows["odd-\\xff\\xfe"]["report"]
    assert finding(report, "file:\\xe8\\xa1.jpg", "file_type_not_allowed")
    assert (out / "index.html").read_text("utf-8")


# ------------------------------------------------------------------------- 2. intake


PARSE_FAILURES = {
    "nested-10000": (nested(10_000).encode(), "嵌套层数过深"),
    "nested-in-a-key": (b'{"remarks": ' + nested(5_000).encode() + b"}", "嵌套层数过深"),
    "int-5000-digits": (b'{"remarks": ' + b"7" * 5000 + b"}", "位的数字"),
    "lone-surrogate": (b'{"enterprise": {"name": "\\ud800"}}', "孤立代理项"),
    "not-json": (b"\x00\x01PK junk", "不是有效的 JSON"),
}


@pytest.mark.parametrize(("data", "zh"), list(PARSE_FAILURES.values()), ids=list(PARSE_FAILURES))
def test_unparseable_submission_json_is_a_bilingual_finding(
    tmp_path: Path, data: bytes, zh: str
) -> None:
    sub = clean_submission(tmp_path)
    (sub / "submission.json").write_bytes(data)
    out = tmp_path / "out"

    run = bounded("check", str(sub), "--out", str(out))

    assert run.rc == 1, run.stderr[-2000:]
    report = run.report(out)
    f = finding(report, "submission", "invalid_format")
    chinese, english = f["message"].split(" / ", 1)
    assert zh in chinese and english.isascii() and english.startswith("submission.json")
    assert_clean_attachments_read(report)


def test_names_not_utf8_or_with_control_characters_are_shown_printable(tmp_path: Path) -> None:
    sub = clean_submission(tmp_path)
    (sub / os.fsdecode(b"\xff\xfe.jpg")).write_bytes(b"not an image")
    (sub / "a\nb\r\x1b[31m.jpg").write_bytes(b"not an image either")
    out = tmp_path / "out"

    run = bounded("check", str(sub), "--out", str(out))

    assert run.rc == 1, run.stderr[-2000:]
    report = run.report(out)
    names = {a["file"] for a in report["attachments"]}
    assert {"\\xff\\xfe.jpg", "a\\nb\\r\\x1b[31m.jpg"} <= names
    assert finding(report, "file:\\xff\\xfe.jpg", "file_type_not_allowed")
    assert finding(report, "file:a\\nb\\r\\x1b[31m.jpg", "file_type_not_allowed")
    assert "\x1b" not in run.stdout  # no terminal escape reaches the reviewer's screen
    assert "\\xff\\xfe.jpg" in (out / "report.html").read_text("utf-8")
    assert_clean_attachments_read(report)


def test_fifo_attachment_is_refused_by_check(tmp_path: Path) -> None:
    sub = clean_submission(tmp_path)
    os.mkfifo(sub / "fifo.pdf")
    out = tmp_path / "out"

    run = bounded("check", str(sub), "--out", str(out))

    assert run.rc == 1, run.stderr[-2000:]
    report = run.report(out)
    assert "不是普通文件" in finding(report, "file:fifo.pdf", "file_unreadable")["message"]
    assert_clean_attachments_read(report)


# ---------------------------------------------------------------------------- 3. zip


def test_zip_with_os_litter_beside_the_top_folder_passes(tmp_path: Path) -> None:
    litter = {
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
        "Thumbs.db": b"\xd0\xcf\x11\xe0",
        "desktop.ini": b"[.ShellClassInfo]",
        "__MACOSX/sub/._营业执照.jpg": b"\x00\x05\x16\x07",
    }
    z = zip_of(tmp_path / "x.zip", {**clean_entries("sub/"), **litter})
    out = tmp_path / "out"

    run = bounded("check", str(z), "--out", str(out))

    assert run.rc == 0, run.stdout
    report = run.report(out)
    assert report["verdict"] == "pass"
    ignored = {a["file"] for a in report["attachments"] if a["status"] == "ignored"}
    assert ignored == set(litter)  # listed, not reviewed
    assert_clean_attachments_read(report)


def test_zip_with_refused_entries_beside_the_top_folder_is_reviewed(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link.jpg")
    link.create_system, link.external_attr = 3, 0o120777 << 16
    hostile = {"../evil.jpg": b"\xff\xd8\xff", "/etc/evil.jpg": b"\xff\xd8\xff"}
    z = zip_of(tmp_path / "x.zip", {**clean_entries("sub/"), **hostile}, link)
    out = tmp_path / "out"

    run = bounded("check", str(z), "--out", str(out))

    assert run.rc == 1, run.stdout
    report = run.report(out)
    assert not [f for f in report["findings"] if f["code"] == "missing_document"]
    for name in (*hostile, "link.jpg"):
        assert finding(report, f"file:{name}", "file_unreadable")
    assert_clean_attachments_read(report)
    assert not (tmp_path / "evil.jpg").exists()


def test_zip_with_a_two_level_top_folder_passes(tmp_path: Path) -> None:
    z = zip_of(tmp_path / "x.zip", clean_entries("a/b/"))
    out = tmp_path / "out"

    run = bounded("check", str(z), "--out", str(out))

    assert run.rc == 0, run.stdout
    report = run.report(out)
    assert report["verdict"] == "pass"
    assert_clean_attachments_read(report)


def test_zip_entries_outside_the_submission_folder_keep_their_full_names(
    tmp_path: Path,
) -> None:
    extra = {"a/说明.txt": b"readme", "other/x.jpg": b"junk", "a/.DS_Store": b"\x00"}
    z = zip_of(tmp_path / "x.zip", {**clean_entries("a/b/"), **extra})
    out = tmp_path / "out"

    run = bounded("check", str(z), "--out", str(out))

    assert run.rc == 1, run.stdout
    report = run.report(out)
    status = {a["file"]: a["status"] for a in report["attachments"]}
    assert status["a/.DS_Store"] == "ignored"
    assert finding(report, "file:a/说明.txt", "file_type_not_allowed")
    assert finding(report, "file:other/x.jpg")
    assert not [f for f in report["findings"] if f["field"] == "submission"]
    assert_clean_attachments_read(report)


# ---------------------------------------------------------------------- 4. not a zip


def truncated_zip(path: Path) -> Path:
    whole = zip_of(path.with_name("whole.zip"), clean_entries(""))
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


NOT_ZIPS = {
    "text-renamed": lambda p: (p.write_text("这不是压缩包 / not a zip", "utf-8"), p)[1],
    "truncated": truncated_zip,
}


@pytest.mark.parametrize("make", list(NOT_ZIPS.values()), ids=list(NOT_ZIPS))
def test_check_of_a_zip_that_is_no_zip_exits_2(tmp_path: Path, make: Any) -> None:
    z = make(tmp_path / "上传.zip")
    out = tmp_path / "out"

    run = bounded("check", str(z), "--out", str(out))

    assert run.rc == 2, (run.stdout, run.stderr)
    assert "上传.zip 压缩包无法读取" in run.stderr
    assert "上传.zip is not a readable zip archive" in run.stderr
    assert not (out / "report.json").exists()
    assert run.stdout == ""


def test_scan_lists_a_zip_that_is_no_zip_as_failed_and_reviews_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "root"
    clean_submission(root, "good")
    (root / "bad.zip").write_text("not a zip", "utf-8")
    truncated_zip(root / "cut.zip")
    (root / "whole.zip").unlink()
    out = tmp_path / "out"

    run, rows = scanned(root, out, 2)  # some submission could not be processed
    assert rows["good"]["verdict"] == "pass"
    for name in ("bad.zip", "cut.zip"):
        assert rows[name]["verdict"] == "failed"
        assert f"{name} 压缩包无法读取" in rows[name]["error"]
    assert "failed: bad.zip 压缩包无法读取" in run.stderr
    assert "3 submissions: 1 pass, 0 review, 0 reject, 2 failed" in run.stdout


def test_scan_lists_a_fifo_zip_as_failed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    clean_submission(root, "good")
    os.mkfifo(root / "pipe.zip")  # zipfile would block opening it
    out = tmp_path / "out"

    _run, rows = scanned(root, out, 2)
    assert rows["good"]["verdict"] == "pass"
    assert rows["pipe.zip"]["verdict"] == "failed"
    assert "既不是文件夹也不是 .zip 文件" in rows["pipe.zip"]["error"]


def test_a_folder_of_thousands_of_files_is_refused_whole(tmp_path: Path) -> None:
    """Over the zip's entry limit a folder cannot run: 20,000 files took 19 s and 0.9 GB."""
    root = tmp_path / "root"
    many = clean_submission(root, "many")
    for i in range(5000):
        (many / f"f{i}.txt").touch()
    clean_submission(root, "good")

    check = bounded("check", str(many), "--out", str(tmp_path / "one"))
    assert check.rc == 2
    assert "超过 200 个文件和文件夹" in check.stderr and "over the limit" in check.stderr
    assert check.seconds < 20

    out = tmp_path / "out"
    _run, rows = scanned(root, out, 2)
    assert rows["many"]["verdict"] == "failed" and "200" in rows["many"]["error"]
    assert rows["good"]["verdict"] == "pass"
