"""PII canary: planted numbers reach nothing on disk or on screen but the reports.

A synthetic ID number (valid check character) and a mobile number are planted in
submission.json and in an attachment's file name. ``check`` and ``scan`` (``-vv``) and
the service (``-vv``, its log file) review it with an OCR disk cache configured; then
every file those runs wrote (outputs, data folder, caches, logs, the SQLite database's
bytes), their stdout and stderr, and every HTTP body received but the reports' are
searched. The numbers may appear in full only in report.json, report.html and OCR
cache files; what the service wrote of them is 0600.
"""

from __future__ import annotations

import html
import json
import re
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_tools import clean_submission, no_traceback, run_docpipe

from docpipe.checkdigits import id_check_char
from docpipe.privacy import mask_text
from docpipe.service.local import LocalServer, upload_parts, zip_folder

# Synthetic: region 110105, born 1985-03-15, sequence 042, its check character.
ID_NUMBER = "11010519850315042" + id_check_char("11010519850315042")
MOBILE = "15712340987"
PLANTED_NAME = f"id{ID_NUMBER}_{MOBILE}.jpg"
RENAMED = "授权委托书.jpg"
MIB = 1024 * 1024


def _searchable(path: Path) -> str:
    """A file's text; for HTML also its visible text (markup may split a number)."""
    text = path.read_bytes().decode("utf-8", "replace")
    if path.suffix == ".html":
        text += "\n" + html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


def _plant(tmp: Path) -> Path:
    sub = clean_submission(tmp / "in")
    data = json.loads((sub / "submission.json").read_text("utf-8"))
    data["operators"][0]["id_number"] = ID_NUMBER
    data["operators"][0]["mobile"] = MOBILE
    (sub / "submission.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    (sub / RENAMED).rename(sub / PLANTED_NAME)
    return sub


def _serve(tmp: Path, sub: Path, bodies: dict[str, str]) -> None:
    """Upload the planted submission (multipart, archive) and refused variants."""
    env = {"DOCPIPE_CACHE_DIR": str(tmp / "service-cache"), "DOCPIPE_MAX_FILE_BYTES": str(3 * MIB)}
    server = LocalServer(tmp / "data", env=env, log_file=tmp / "server.log", verbosity=2)
    with server, httpx.Client(base_url=server.url, timeout=30) as client:
        sent = {
            "multipart": {"files": upload_parts(sub)},
            "archive": {"files": {"archive": ("s.zip", zip_folder(sub), "application/zip")}},
        }
        for mode, kwargs in sent.items():
            r = client.post("/v1/submissions", **kwargs)
            assert r.status_code == 202, r.text
            bodies[f"POST {mode}"] = r.text
            job = r.json()
            deadline = time.monotonic() + 60
            while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
                time.sleep(0.1)
                got = client.get(f"/v1/submissions/{job['id']}")
                bodies[f"GET {mode} status"] = got.text
                job = got.json()
            assert job["status"] == "done", job
            for name in ("report.json", "report.html"):  # the reports' bodies are not searched
                assert ID_NUMBER in client.get(job["links"][name.replace(".", "_")]).text
        sub_part = upload_parts(sub)[0]
        refused = {
            "413 file too large": [sub_part, ("files", (PLANTED_NAME, b"\0" * (3 * MIB + 1), "x"))],
            "422 name twice": [
                sub_part,
                ("files", (PLANTED_NAME, b"x", "x")),
                ("files", (PLANTED_NAME, b"y", "x")),
            ],
            "422 not json": [
                ("submission", ("s.json", f'{{"id": "{ID_NUMBER}" {MOBILE}'.encode(), "a"))
            ],
        }
        for what, parts in refused.items():
            r = client.post("/v1/submissions", files=parts)
            assert r.status_code == int(what[:3]), r.text
            bodies[f"POST {what}"] = r.text
        assert mask_text(PLANTED_NAME) in bodies["POST 413 file too large"]
        bodies["GET healthz"] = client.get("/healthz").text


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run check, scan and the service over the planted submission; collect what they wrote."""
    tmp = tmp_path_factory.mktemp("canary")
    sub = _plant(tmp)
    env = {"DOCPIPE_CACHE_DIR": str(tmp / "cli-cache"), "COLUMNS": "200"}
    streams: dict[str, str] = {}
    for name, args in (
        ("check", ["check", str(sub), "--out", str(tmp / "check-out")]),
        ("scan", ["scan", str(tmp / "in"), "--out", str(tmp / "scan-out")]),
    ):
        run = run_docpipe("-vv", *args, env=env, cwd=tmp)
        no_traceback(run)
        assert run.rc == 1, run.stderr[-3000:]  # the planted numbers differ from the cards
        streams[f"{name} stdout"], streams[f"{name} stderr"] = run.stdout, run.stderr
    _serve(tmp, sub, streams)
    written = {
        p: _searchable(p)
        for p in sorted(tmp.rglob("*"))
        if p.is_file() and not p.is_relative_to(tmp / "in")
    }
    return {"tmp": tmp, "written": written, "streams": streams}


def _allowed(tmp: Path, path: Path) -> bool:
    rel = path.relative_to(tmp)
    if rel.parts[0] in ("cli-cache", "service-cache"):
        return True  # OCR cache files: the text read off the pages
    return path.name in ("report.json", "report.html") and rel.parts[0] in (
        "check-out",
        "scan-out",
        "data",
    )


@pytest.mark.parametrize("number", [ID_NUMBER, MOBILE], ids=["id", "mobile"])
def test_planted_number_only_in_reports_and_ocr_cache(canary: dict[str, Any], number: str) -> None:
    tmp, written, streams = canary["tmp"], canary["written"], canary["streams"]
    carrying = {p for p, text in written.items() if number in text}
    assert {str(p.relative_to(tmp)) for p in carrying if not _allowed(tmp, p)} == set()
    leaked = sorted(name for name, text in streams.items() if number in text)
    assert leaked == []
    # The search would find a leak: every report of the three runs carries the number.
    reports = {p for p in written if p.name in ("report.json", "report.html")}
    assert len(reports) == 2 * 4  # check, scan, service multipart, service archive
    assert reports <= carrying


def test_the_runs_wrote_what_is_searched(canary: dict[str, Any]) -> None:
    tmp, written = canary["tmp"], canary["written"]
    names = {str(p.relative_to(tmp)) for p in written}
    assert {
        "server.log",
        "data/jobs.sqlite3",
        "scan-out/index.html",
        "scan-out/summary.json",
    } <= names
    log = written[tmp / "server.log"]
    assert "DEBUG" in log and "upload refused (413)" in log  # -vv reached the log file
    streams = canary["streams"]
    assert "DEBUG" in streams["check stderr"]
    # The name and the numbers were shown, masked: logs of the CLI and of the service,
    # the findings on stdout.
    assert mask_text(PLANTED_NAME) in streams["check stderr"]
    assert mask_text(PLANTED_NAME) in log
    assert mask_text(ID_NUMBER) in streams["check stdout"]
    assert mask_text(MOBILE) in streams["check stdout"]
    # The planted file name went through the service's store, masked.
    db = b"".join(p.read_bytes() for p in (tmp / "data").glob("jobs.sqlite3*"))
    assert mask_text(PLANTED_NAME).encode() in db
    assert ID_NUMBER.encode() not in db and MOBILE.encode() not in db
    # Uploads are gone once their job is done.
    assert list((tmp / "data" / "uploads").iterdir()) == []


def test_what_the_service_wrote_is_private(canary: dict[str, Any]) -> None:
    tmp, written = canary["tmp"], canary["written"]
    service = [p for p in written if p.relative_to(tmp).parts[0] in ("data", "service-cache")]
    assert len([p for p in service if p.name == "report.json"]) == 2
    assert {str(p): stat.S_IMODE(p.stat().st_mode) for p in service} == {
        str(p): 0o600 for p in service
    }
    folders = {p.parent for p in service}
    assert {str(d): stat.S_IMODE(d.stat().st_mode) for d in folders} == {
        str(d): 0o700 for d in folders
    }
