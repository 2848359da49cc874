"""Hostile PDFs and images: budgets on every decode and render, the rest still read.

Each input is built here; each `check` runs in a child under a memory cap and a
deadline (hostile_tools.run_docpipe), so a regression fails instead of taking the machine.
"""

from __future__ import annotations

import io
import os
import signal
import threading
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from hostile_tools import (
    CLEAN_CASE,
    GB,
    HELVETICA,
    Run,
    annotation_bomb_pdf,
    check_bounded,
    clean_submission,
    documents_of,
    finding,
    one_page_pdf,
    pattern_bomb_pdf,
    pdf_stream,
    png_bytes,
    simple_pdf,
    xobject_bomb_pdf,
)

from docpipe.contain import run_contained
from docpipe.errors import FileUnreadable, SubmissionJsonError, TimeBudgetExceeded
from docpipe.intake import AttachmentFile
from docpipe.pages import open_pages

OTHERS = ["营业执照.jpg", "法人身份证正面.jpg", "申请书.pdf", "授权委托书.jpg"]


def _check_with(
    tmp_path: Path, name: str | None, data: bytes = b"", **kw: Any
) -> tuple[dict[str, Any], Run]:
    """``check`` of the clean sample with one file added (``name``), in a bounded child."""
    sub = clean_submission(tmp_path)
    if name is not None:
        (sub / name).write_bytes(data)
    return check_bounded(sub, tmp_path / "out", **kw)


def _others_read(report: dict) -> None:
    for other in OTHERS:
        assert documents_of(report, other), f"{other} was not read"


# ------------------------------------------------------------------------ PDF bombs


def test_xobject_bomb_is_refused_by_its_operation_count(tmp_path: Path) -> None:
    """10⁹ nested form draws in 3 KB: refused before drawing, named, in seconds."""
    bomb = xobject_bomb_pdf()
    assert len(bomb) < 4096
    report, run = _check_with(tmp_path, "炸弹.pdf", bomb, mem_bytes=4 * GB, seconds=90)
    assert run.rc == 1
    f = finding(report, "file:炸弹.pdf", "file_unreadable")
    assert f["severity"] == "error"
    assert "operation limit" in f["message"] and "操作上限" in f["message"]
    assert run.seconds < 60
    _others_read(report)
    status = {a["file"]: a["status"] for a in report["attachments"]}
    assert status["炸弹.pdf"] == "unreadable"


@pytest.mark.parametrize(
    ("what", "make", "words"),
    [
        ("annotation", lambda: annotation_bomb_pdf(), "form XObjects"),
        ("tiling-pattern", lambda: pattern_bomb_pdf(0.001), "pattern cells"),
        ("coarse-pattern", lambda: pattern_bomb_pdf(0.05), "pattern cells"),
    ],
)
def test_other_drawing_bombs_are_refused_before_drawing(what: str, make: Any, words: str) -> None:
    """Behind an annotation or as a tiling pattern: counted, refused in well under a second.

    Uncounted, the annotation took its whole 20 s budget, the 0.001 pt pattern too, and
    the 0.05 pt one 12 s of drawing.
    """
    start = time.monotonic()
    with pytest.raises(FileUnreadable) as err:
        open_pages(AttachmentFile.from_bytes(f"{what}.pdf", make()))
    assert time.monotonic() - start < 5
    assert words in err.value.message_en and "操作上限" in err.value.message_zh


def test_a_text_bomb_is_refused_by_its_text_runs() -> None:
    """440,000 text runs in a 30 KB file: 60 MB of them took the text layer 90 s."""
    runs = b"BT /F 9 Tf 10 10 Td (ab) Tj ET\n" * 440_000
    pdf = one_page_pdf(pdf_stream(b"", runs, compress=True), b"/Font << /F 4 0 R >>", (HELVETICA,))
    start = time.monotonic()
    with pytest.raises(FileUnreadable) as err:
        open_pages(AttachmentFile.from_bytes("t.pdf", pdf))
    assert time.monotonic() - start < 5
    assert "shows text over 100,000 times" in err.value.message_en


def test_a_page_naming_thousands_of_forms_is_counted_in_one_pass() -> None:
    """20,000 form names and 200,000 draws: counting name by name took the whole 60 s."""
    n = 20_000
    names = b" ".join(b"/X%d 4 0 R" % i for i in range(n))
    content = b"".join(b"q /X%d Do Q\n" % (i % n) for i in range(200_000))
    form = pdf_stream(b"/Type /XObject /Subtype /Form /BBox [0 0 9 9]", b"0 0 1 1 re f")
    pdf = one_page_pdf(
        pdf_stream(b"", content, compress=True), b"/XObject << " + names + b" >>", (form,)
    )
    start = time.monotonic()
    with pytest.raises(FileUnreadable) as err:
        open_pages(AttachmentFile.from_bytes("names.pdf", pdf))
    assert time.monotonic() - start < 15
    assert "form XObjects" in err.value.message_en


def test_a_fine_but_real_pattern_is_drawn() -> None:
    """A 2 pt hatch over A4 (125,000 cells) is within the limit: the page is read."""
    pages = open_pages(AttachmentFile.from_bytes("hatch.pdf", pattern_bomb_pdf(2.0)))
    assert pages[0].image().size == (pages[0].width, pages[0].height)


def test_xobject_bomb_past_the_count_is_stopped_by_the_time_budget(tmp_path: Path) -> None:
    """With the operation limit lifted, the render runs contained and is killed at the budget.

    A warning (a person must read it), not a rejection: a slow file is not a bad file.
    """
    env = {"DOCPIPE_MAX_FORM_DRAWS": str(10**12), "DOCPIPE_MAX_DRAWN_MB": str(10**9)}
    env["DOCPIPE_MAX_TEXT_SHOWS"] = str(10**12)
    env["DOCPIPE_FILE_SECONDS"] = "3"
    report, run = _check_with(tmp_path, "炸弹.pdf", xobject_bomb_pdf(), env=env, seconds=90)
    f = finding(report, "file:炸弹.pdf", "not_found")
    assert f["severity"] == "warning"
    assert "time budget" in f["message"] and "时间预算" in f["message"]
    assert run.seconds < 45
    _others_read(report)


def test_stream_bomb_is_refused_by_its_drawn_size() -> None:
    """100 MB of drawing from a small file: counted in the child, refused before drawing."""
    packer = zlib.compressobj(6)
    chunk = b"0 0 1 1 re f\n" * 80_000
    packed = b"".join(packer.compress(chunk) for _ in range(100)) + packer.flush()
    stream = b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
    pdf = one_page_pdf(stream + packed + b"\nendstream")
    assert len(pdf) < 2 * 1024 * 1024
    start = time.monotonic()
    with pytest.raises(FileUnreadable) as err:
        open_pages(AttachmentFile.from_bytes("s.pdf", pdf))
    assert time.monotonic() - start < 30
    assert "operation limit" in err.value.message_en


@pytest.mark.parametrize(
    ("what", "catalog", "word"),
    [
        ("javascript", b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", "JavaScript"),
        ("launch", b"/OpenAction << /S /Launch /F (calc.exe) >>", "launch"),
    ],
)
def test_active_pdf_content_is_an_info_finding(
    tmp_path: Path, what: str, catalog: bytes, word: str
) -> None:
    report, _ = _check_with(tmp_path, "a.pdf", simple_pdf(extra_catalog=catalog))
    f = finding(report, "file:a.pdf", "file_type_not_allowed")
    assert f["severity"] == "info" and f["rule"] == "FILE-ACTIVE"
    assert word in f["message"]


def test_pdf_with_an_embedded_file_is_an_info_finding(tmp_path: Path) -> None:
    import pymupdf

    doc = pymupdf.open(stream=simple_pdf(), filetype="pdf")
    doc.embfile_add("payload.exe", b"MZ" + b"\0" * 64)
    report, _ = _check_with(tmp_path, "e.pdf", doc.tobytes())
    f = finding(report, "file:e.pdf", "file_type_not_allowed")
    assert f["severity"] == "info" and "embedded file" in f["message"]


@pytest.mark.parametrize("kind", ["pdf", "jpg"])
def test_zip_polyglot_is_an_info_finding(tmp_path: Path, kind: str) -> None:
    """A PDF or an image with a zip appended opens as both: noted, and still read."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("payload.txt", "x")
    head = simple_pdf() if kind == "pdf" else (CLEAN_CASE / "营业执照.jpg").read_bytes()
    report, _ = _check_with(tmp_path, f"p.{kind}", head + buf.getvalue())
    f = finding(report, f"file:p.{kind}", "file_type_not_allowed")
    assert f["severity"] == "info" and "zip" in f["message"]


def test_a_clean_pdf_has_no_active_content_finding(tmp_path: Path) -> None:
    report, _ = _check_with(tmp_path, None)
    assert not [f for f in report["findings"] if f["rule"] == "FILE-ACTIVE"]


# ------------------------------------------------------------------------- thin images


@pytest.mark.parametrize(("w", "h"), [(100_000, 1), (2000, 8), (1, 50_000)])
def test_thin_image_is_refused_before_any_enlargement(tmp_path: Path, w: int, h: int) -> None:
    """The detector enlarges the short side to 736 px: a 100000 × 1 PNG took 22.7 GB."""
    report, run = _check_with(tmp_path, "thin.png", png_bytes(w, h), mem_bytes=3 * GB)
    assert run.rc == 1
    f = finding(report, "file:thin.png", "file_unreadable")
    assert "aspect ratio" in f["message"] and "长宽比" in f["message"]
    assert run.seconds < 30
    assert run.peak_rss < 2 * GB
    _others_read(report)


def test_the_thinnest_allowed_image_is_read_by_the_real_engine_within_bounds(
    tmp_path: Path,
) -> None:
    """16:1 at the OCR size (2000 × 125) is within the limit; the real detector reads it."""
    sub = tmp_path / "one"
    sub.mkdir()
    (sub / "submission.json").write_text('{"application_type": "change_operator"}', "utf-8")
    (sub / "strip.png").write_bytes(png_bytes(4000, 250))
    env = {"DOCPIPE_OCR_ENGINE": "rapidocr"}
    report, run = check_bounded(sub, tmp_path / "out", env=env, mem_bytes=8 * GB, seconds=120)
    status = {a["file"]: a["status"] for a in report["attachments"]}
    assert status["strip.png"] == "read"
    codes = {f["code"] for f in report["findings"] if f["field"] == "file:strip.png"}
    assert codes <= {"low_quality"}  # a blank strip is illegible, not unreadable
    assert run.peak_rss < 3 * GB


# --------------------------------------------------------------------------- budgets


def test_spent_file_budget_is_a_warning_on_every_file_not_a_rejection(tmp_path: Path) -> None:
    """No time at all: each attachment gets a not_found warning, none is called bad."""
    report, run = _check_with(tmp_path, None, env={"DOCPIPE_FILE_SECONDS": "0"})
    assert run.rc == 1
    for name in OTHERS:
        f = finding(report, f"file:{name}", "not_found")
        assert f["severity"] == "warning" and "时间预算" in f["message"]
    assert not [f for f in report["findings"] if f["code"] == "file_unreadable"]


def test_submission_budget_caps_every_file(tmp_path: Path) -> None:
    report, _ = _check_with(tmp_path, None, env={"DOCPIPE_SUBMISSION_SECONDS": "0"})
    assert finding(report, "file:申请书.pdf", "not_found")["severity"] == "warning"


# ------------------------------------------------------------------------ containment


def _sleep_long() -> None:
    time.sleep(30)


def _allocate(n: int) -> int:
    return len(bytearray(n))


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _refuse() -> None:
    raise SubmissionJsonError("english words", "中文的话")


def test_contained_call_is_killed_at_its_deadline_and_other_threads_run() -> None:
    """The parent waits without the GIL: a heartbeat thread keeps beating meanwhile."""
    beats: list[float] = []
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(0.05):
            beats.append(time.monotonic())

    t = threading.Thread(target=beat, daemon=True)
    t.start()
    start = time.monotonic()
    with pytest.raises(TimeBudgetExceeded):
        run_contained(_sleep_long, seconds=1.0, what=("x", "x"))
    took = time.monotonic() - start
    stop.set()
    t.join()
    assert took < 5
    assert len(beats) >= 10


def test_contained_call_over_its_memory_cap_is_unreadable_not_a_crash() -> None:
    with pytest.raises(FileUnreadable) as err:
        run_contained(_allocate, 8 * GB, seconds=30, what=("m", "m"), mem_bytes=512 * 1024**2)
    assert "memory" in err.value.message_en and "内存" in err.value.message_zh
    assert run_contained(_allocate, 1024, seconds=30, what=("m", "m")) == 1024


def test_contained_crash_is_unreadable_and_errors_keep_both_languages() -> None:
    with pytest.raises(FileUnreadable) as err:
        run_contained(_crash, seconds=30, what=("c", "c"))
    assert "signal 11" in err.value.message_en
    with pytest.raises(SubmissionJsonError) as refused:
        run_contained(_refuse, seconds=30, what=("r", "r"))
    assert (refused.value.message_en, refused.value.message_zh) == ("english words", "中文的话")


def test_decoded_pixels_of_a_submission_are_budgeted(tmp_path: Path) -> None:
    """Every page stays decoded until the report: 200 large images would take 45 GB.

    Four 40 MP images under a 100 MP budget: those past it are refused, the limit named,
    and the sample's own attachments (sorted first) are still read.
    """
    from PIL import Image

    sub = clean_submission(tmp_path)
    Image.new("RGB", (7000, 5700), "white").save(sub / "龘0.jpg", quality=30)
    for i in range(1, 4):
        (sub / f"龘{i}.jpg").write_bytes((sub / "龘0.jpg").read_bytes())
    env = {"DOCPIPE_SUBMISSION_MEGAPIXELS": "100"}
    report, run = check_bounded(sub, tmp_path / "out", env=env, mem_bytes=6 * GB, seconds=120)
    refused = [
        f for f in report["findings"]
        if f["field"].startswith("file:龘") and f["code"] == "file_unreadable"
    ]  # fmt: skip
    assert len(refused) >= 2
    assert all("100 百万像素" in f["message"] and "100 megapixels" in f["message"] for f in refused)
    _others_read(report)
    assert run.peak_rss < 3 * GB


def test_pdfs_are_read_under_an_operators_memory_limit(tmp_path: Path) -> None:
    """Under a hard ``ulimit -v`` of 1.5 GB the child's cap stays under it, not above.

    Asking for inherited + 1.5 GB raised the hard limit: refused, the child exited 70 and
    every PDF was unreadable (the clean sample rejected).
    """
    report, run = _check_with(tmp_path, None, mem_bytes=int(1.5 * GB))
    assert run.rc == 0, report["findings"]
    assert documents_of(report, "申请书.pdf") == ["application_form"]


class _Stuck:
    """Garbage whose finaliser never returns in a child, as a runtime joining the threads
    a fork did not copy."""

    def __init__(self) -> None:
        self.me = self  # a cycle: only the garbage collector can finalise it
        self.parent = os.getpid()

    def __del__(self) -> None:
        if os.getpid() != self.parent:
            time.sleep(30)


def _allocate_many() -> int:
    return len([[i] for i in range(200_000)])  # enough to run the collector, were it on


def test_the_parents_garbage_is_never_finalised_in_a_contained_child() -> None:
    _Stuck()  # unreachable at once, collected at the next collection: the child's
    start = time.monotonic()
    assert run_contained(_allocate_many, seconds=10, what=("g", "g")) == 200_000
    assert time.monotonic() - start < 5
