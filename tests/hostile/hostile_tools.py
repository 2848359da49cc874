"""Shared tools of the hostile-input tests: bounded child runs and hostile inputs built here.

Every hostile input is built by the test that uses it (no committed bombs). A command
under test runs in a child process with an address-space cap (``resource.setrlimit``)
and a wall-clock deadline, so a regression fails the test instead of taking the
machine: a child over its memory cap dies (MemoryError or a kill), a child over its
deadline is killed and the test fails naming the deadline.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "fixtures" / "samples"
#: A committed clean sample whose OCR is recorded (the test session replays it).
CLEAN_CASE = SAMPLES / "case-0104" / "submission"
GB = 1024**3


@dataclass
class Run:
    """What a bounded child run of ``docpipe`` gave."""

    rc: int
    stdout: str
    stderr: str
    seconds: float
    #: Peak resident memory of the child (and of its own children), in bytes; the cap
    #: itself when it was killed before it could say (so no bound is met by a death).
    peak_rss: int

    def report(self, out: Path) -> dict[str, Any]:
        """The ``report.json`` written into ``out``."""
        data: dict[str, Any] = json.loads((out / "report.json").read_text("utf-8"))
        return data


def _limits(mem_bytes: int, cpu_seconds: int) -> Any:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))

    return apply


#: The child: docpipe's CLI, then its own peak RSS (KB; its contained children's too) on
#: stderr's last line, however the command exits.
_CHILD = """
import atexit, os, resource
def _peak():
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    kb = max(resource.getrusage(w).ru_maxrss for w in who)
    os.write(2, b"\\n@@peak_rss %d\\n" % kb)
atexit.register(_peak)
from docpipe.cli import main
main()
"""


def run_docpipe(
    *args: str,
    mem_bytes: int = 6 * GB,
    seconds: float = 120.0,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Run:
    """Run ``docpipe ARGS`` in a child under a memory cap and a deadline.

    The child inherits this session's replay engine (``DOCPIPE_OCR_ENGINE``). A child
    still running at ``seconds`` is killed and the test fails.
    """
    full_env = {**os.environ, **(env or {})}
    cmd = [sys.executable, "-c", _CHILD, *args]
    start = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            timeout=seconds,
            env=full_env,
            cwd=cwd,
            preexec_fn=_limits(mem_bytes, int(seconds) + 5),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"docpipe {' '.join(args)} still ran after {seconds} s: {exc.stderr!r}")
    elapsed = time.monotonic() - start
    stderr = proc.stderr.decode("utf-8", "replace")
    # This child's own peak (RUSAGE_CHILDREN of the tests' process would be the peak of
    # every child so far); absent when it was killed.
    peak = re.search(r"\n?@@peak_rss (\d+)\n$", stderr)
    if peak is not None:
        stderr = stderr[: peak.start()]
    return Run(
        rc=proc.returncode,
        stdout=proc.stdout.decode("utf-8", "replace"),
        stderr=stderr,
        seconds=elapsed,
        peak_rss=int(peak.group(1)) * 1024 if peak else mem_bytes,
    )


def check_bounded(sub: Path, out: Path, **kw: Any) -> tuple[dict[str, Any], Run]:
    """``docpipe check SUB --out OUT`` in a bounded child (``run_docpipe``'s keywords):
    no traceback; the report it wrote, and the run."""
    run = run_docpipe("check", str(sub), "--out", str(out), **kw)
    no_traceback(run)
    return run.report(out), run


def clean_submission(tmp_path: Path, name: str = "sub") -> Path:
    """A copy of a committed clean sample (its OCR is replayed), under ``tmp_path/name``."""
    target = tmp_path / name
    shutil.copytree(CLEAN_CASE, target)
    return target


def no_traceback(run: Run) -> None:
    """Fail when a Python traceback reached the user."""
    for stream in (run.stdout, run.stderr):
        assert "Traceback (most recent call last)" not in stream, stream[-3000:]


# ------------------------------------------------------------------------- hostile inputs


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (1-based), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_stream(dictionary: bytes, data: bytes, compress: bool = False) -> bytes:
    """A stream object's body: ``dictionary`` (without ``<< >>``) and ``data``, deflated or not."""
    if compress:
        data = zlib.compress(data, 9)
        dictionary += b" /Filter /FlateDecode"
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def xobject_bomb_pdf(depth: int = 9, fanout: int = 10) -> bytes:
    """A small PDF whose one page draws ``fanout ** depth`` times (nested form XObjects).

    Form ``k`` draws form ``k + 1`` ``fanout`` times; the last draws a line of text, so
    the page both renders and extracts text ``fanout ** depth`` times. 9 × 10: 10⁹ draws
    in about 3 KB.
    """
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /XObject << /X 5 0 R >> /Font << /F 4 0 R >> >> /Contents %d 0 R >>"
        % (5 + depth),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for level in range(depth):
        number = 5 + level
        if level == depth - 1:
            content = b"BT /F 12 Tf 10 10 Td (bomb) Tj ET"
            res = b"/Resources << /Font << /F 4 0 R >> >>"
        else:
            content = b"q /X Do Q " * fanout
            res = b"/Resources << /XObject << /X %d 0 R >> >>" % (number + 1)
        objects.append(
            pdf_stream(b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] " + res, content)
        )
    objects.append(pdf_stream(b"", b"q /X Do Q"))
    return pdf_of(objects)


#: Object 4 of ``one_page_pdf`` when the page needs a font (``/Font << /F 4 0 R >>``).
HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def one_page_pdf(
    contents: bytes, resources: bytes = b"", objects: tuple[bytes, ...] = (), catalog: bytes = b""
) -> bytes:
    """An A4 page drawing ``contents`` (a stream object's body, the last object).

    ``objects`` are numbered from 4, so ``resources`` may name them (``/X 4 0 R``);
    ``catalog`` is added to the catalog.
    """
    contents_ref = b"%d 0 R" % (4 + len(objects))
    return pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
            b" /Resources << " + resources + b" >> /Contents " + contents_ref + b" >>",
            *objects,
            contents,
        ]
    )


def simple_pdf(text: bytes = b"hello", extra_catalog: bytes = b"") -> bytes:
    """A one-page PDF with a line of text; ``extra_catalog`` is added to the catalog."""
    return one_page_pdf(
        pdf_stream(b"", b"BT /F 12 Tf 72 720 Td (" + text + b") Tj ET"),
        b"/Font << /F 4 0 R >>",
        (HELVETICA,),
        extra_catalog,
    )


def png_bytes(width: int, height: int) -> bytes:
    """A white RGB PNG of any size, written by hand (a 100000 × 1 PNG is 400 bytes)."""
    raw = b"".join(b"\x00" + b"\xff" * (3 * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def finding(report: dict[str, Any], field: str, code: str | None = None) -> dict[str, Any]:
    """The first finding of ``report`` on ``field`` (and of ``code``); fails when none."""
    for f in report["findings"]:
        if f["field"] == field and (code is None or f["code"] == code):
            return f
    pytest.fail(
        f"no finding on {field} ({code}): {[(f['field'], f['code']) for f in report['findings']]}"
    )


def documents_of(report: dict[str, Any], name: str) -> list[str]:
    """The kinds read from one attachment."""
    return [d["kind"] for d in report["documents"] if d["file"] == name]


def annotation_bomb_pdf(depth: int = 9, fanout: int = 10) -> bytes:
    """The nested-forms bomb behind an annotation's appearance (drawn with the page)."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>",
        b"<< /Type /Annot /Subtype /Square /Rect [0 0 595 842] /AP << /N 5 0 R >> >>",
    ]
    for level in range(depth):
        last = level == depth - 1
        content = b"0 0 10 10 re f" if last else b"q /X Do Q " * fanout
        res = b"" if last else b"/Resources << /XObject << /X %d 0 R >> >>" % (6 + level)
        objects.append(
            pdf_stream(b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] " + res, content)
        )
    return pdf_of(objects)


def pattern_bomb_pdf(step: float = 0.001) -> bytes:
    """A page filled with a tiling pattern of ``step``-point cells (0.001: 5 × 10¹¹ cells)."""
    pattern = (
        b"/Type /Pattern /PatternType 1 /PaintType 1 /TilingType 1"
        b" /BBox [0 0 %g %g] /XStep %g /YStep %g /Resources << >>" % (step, step, step, step)
    )
    return one_page_pdf(
        pdf_stream(b"", b"/Pattern cs /P scn 0 0 595 842 re f"),
        b"/Pattern << /P 4 0 R >>",
        (pdf_stream(pattern, b"0 0 %g %g re f" % (step / 2, step / 2)),),
    )
