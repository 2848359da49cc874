"""A planted ID number and phone appear in full only in report.json and report.html.

The scan and the check run as the user runs them (subprocess, replayed OCR, verbose
logging, an OCR disk cache); then every byte they wrote — output files, cache, stdout,
stderr — is searched.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docpipe.checkdigits import id_check_char
from docpipe.privacy import mask_id, mask_phone

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples"
CASE = "case-0105-uscc-check-id-expired"
SUBMISSION_ID = "planted-1"
# Synthetic: a valid check digit, a region code and birth date of nobody in particular.
ID_NUMBER = "33078419900101123" + id_check_char("33078419900101123")
PHONE = "13987654321"


def searchable(path: Path) -> str:
    """A file's text; for HTML also its visible text (markup may split a number)."""
    text = path.read_bytes().decode("utf-8", "replace")
    if path.suffix == ".html":
        text += "\n" + html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Plant the numbers on the operator of a sample, then scan and check it."""
    tmp = tmp_path_factory.mktemp("privacy")
    sub = tmp / "in" / "planted"
    shutil.copytree(SAMPLES / CASE / "submission", sub)
    data = json.loads((sub / "submission.json").read_text("utf-8"))
    data["submission_id"] = SUBMISSION_ID
    # Different from what the card and the form show: the findings carry the filed value.
    data["operators"][0]["id_number"] = ID_NUMBER
    data["operators"][0]["mobile"] = PHONE
    (sub / "submission.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    env = {
        **os.environ,
        "DOCPIPE_OCR_ENGINE": "replay",
        "DOCPIPE_OCR_REPLAY": str(SAMPLES),
        "DOCPIPE_CACHE_DIR": str(tmp / "cache"),
        "COLUMNS": "200",
    }
    docpipe = [sys.executable, "-m", "docpipe.cli", "-vv"]
    streams: dict[str, str] = {}
    for name, args in (
        ("scan", ["scan", str(tmp / "in"), "--out", str(tmp / "scan-out")]),
        ("check", ["check", str(sub), "--out", str(tmp / "check-out")]),
    ):
        proc = subprocess.run(
            [*docpipe, *args], env=env, capture_output=True, text=True, timeout=300, cwd=tmp
        )
        assert proc.returncode == 1, proc.stderr  # the planted numbers make it a reject
        streams[f"{name} stdout"], streams[f"{name} stderr"] = proc.stdout, proc.stderr
    written = {
        str(p.relative_to(tmp)): searchable(p)
        for p in sorted(tmp.rglob("*"))
        if p.is_file() and not p.is_relative_to(tmp / "in")
    }
    return {"written": written, "streams": streams}


FULL_ALLOWED = {
    f"scan-out/{SUBMISSION_ID}/report.json",
    f"scan-out/{SUBMISSION_ID}/report.html",
    "check-out/report.json",
    "check-out/report.html",
}


@pytest.mark.parametrize(
    ("number", "masked"),
    [(ID_NUMBER, mask_id(ID_NUMBER)), (PHONE, mask_phone(PHONE))],
    ids=["id", "phone"],
)
def test_full_number_only_in_the_report_files(
    run: dict[str, dict[str, str]], number: str, masked: str
) -> None:
    written, streams = run["written"], run["streams"]
    # The run produced what is searched: index, summary, marker, both reports, logs.
    assert {"scan-out/index.html", "scan-out/summary.json"} <= set(written)
    assert f"scan-out/{SUBMISSION_ID}/input.json" in written
    assert f"[1/1] {SUBMISSION_ID} reject" in streams["scan stderr"]
    carrying = {name for name, text in written.items() if number in text}
    carrying |= {name for name, text in streams.items() if number in text}
    # The reviewer's files carry it in full (so the search would find a leak) ...
    assert carrying == FULL_ALLOWED
    # ... and what the terminal shows carries it masked.
    assert masked in streams["check stdout"]


def test_planted_numbers_reach_the_findings(run: dict[str, dict[str, str]]) -> None:
    summary = json.loads(run["written"]["scan-out/summary.json"])
    row = summary["submissions"][0]
    assert row["verdict"] == "reject" and row["report_html"] == f"{SUBMISSION_ID}/report.html"
    report = json.loads(run["written"][f"scan-out/{SUBMISSION_ID}/report.json"])
    planted = [f for f in report["findings"] if f["filed"] in (ID_NUMBER, PHONE)]
    assert {f["field"] for f in planted} >= {"operators[0].id_number", "operators[0].mobile"}


# ------------------------------------------------------------- the log filter itself


def _logged(emit: object) -> str:
    import io
    import logging

    from docpipe.privacy import install_log_masking

    stream = io.StringIO()
    logger = logging.getLogger("docpipe.test-masking")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.handlers[0].setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    install_log_masking(logger)
    assert callable(emit)
    emit(logger)
    return stream.getvalue()


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error"])
def test_log_lines_mask_file_names_glued_to_numbers(level: str) -> None:
    name = f"id{ID_NUMBER}_{PHONE}.jpg"
    text = _logged(lambda lg: getattr(lg, level)("%s: %s", name, "cannot be decoded"))
    assert f"docpipe.test-masking: id{mask_id(ID_NUMBER)}_{mask_phone(PHONE)}.jpg:" in text
    assert ID_NUMBER not in text and PHONE not in text


def test_log_tracebacks_are_masked_and_lines_not_forged() -> None:
    def emit(lg: object) -> None:
        try:
            raise KeyError(f"身份证{ID_NUMBER}.jpg")
        except KeyError:
            lg.exception("job failed on %s", "a.jpg\nERROR forged")  # type: ignore[attr-defined]

    text = _logged(emit)
    assert "Traceback (most recent call last)" in text  # the cause is kept, masked
    assert f"身份证{mask_id(ID_NUMBER)}.jpg" in text
    assert ID_NUMBER not in text
    assert "a.jpg\\nERROR forged" in text
    assert not any(line.startswith("ERROR forged") for line in text.splitlines())
