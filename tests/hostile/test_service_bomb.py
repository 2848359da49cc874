"""The service meets the XObject bomb: its job ends within budget, the valid job finishes,
no job runs twice.

Two workers and a short lease: a job whose worker stopped renewing its lease would be
taken by the other worker (that is what happened before MuPDF was contained: the bomb's
render held the GIL, the heartbeat never ran, and both workers ended up stuck on it).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from hostile_tools import CLEAN_CASE, xobject_bomb_pdf

from docpipe.service.local import LocalServer, upload_parts
from docpipe.service.store import JobStore


def _wait(url: str, job: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = httpx.get(f"{url}/v1/submissions/{job}", timeout=10).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job} not finished after {timeout} s")


def _run(tmp_path: Path, env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any], Counter]:
    data = tmp_path / "data"
    server = LocalServer(data, workers=2, env={"DOCPIPE_LEASE_SECONDS": "1.5", **env}).start()
    try:
        bomb = httpx.post(
            f"{server.url}/v1/submissions",
            files=upload_parts(CLEAN_CASE, [("炸弹.pdf", xobject_bomb_pdf())]),
            timeout=30,
        )
        valid = httpx.post(
            f"{server.url}/v1/submissions", files=upload_parts(CLEAN_CASE), timeout=30
        )
        assert bomb.status_code == valid.status_code == 202, (bomb.text, valid.text)
        bomb_id, valid_id = bomb.json()["id"], valid.json()["id"]
        bomb_status = _wait(server.url, bomb_id, 90)
        valid_status = _wait(server.url, valid_id, 90)
        assert bomb_status["status"] == valid_status["status"] == "done"
        report = httpx.get(f"{server.url}/v1/submissions/{bomb_id}/report.json", timeout=10)
        valid_report = httpx.get(f"{server.url}/v1/submissions/{valid_id}/report.json", timeout=10)
    finally:
        server.stop()
    events = JobStore(data / "jobs.sqlite3").events()
    claims = Counter(e["job_id"] for e in events if e["event"] == "claimed")
    assert claims == {bomb_id: 1, valid_id: 1}, events  # no job ran twice
    assert not [e for e in events if e["event"] in ("reclaimed", "requeued")]
    return report.json(), valid_report.json(), claims


def _bomb_finding(report: dict[str, Any]) -> dict[str, Any]:
    found = [f for f in report["findings"] if f["field"] == "file:炸弹.pdf"]
    assert len(found) == 1, report["findings"]
    return found[0]


def test_bomb_job_ends_file_unreadable_beside_a_valid_job(tmp_path: Path) -> None:
    start = time.monotonic()
    bomb, valid, _ = _run(tmp_path, {})
    assert time.monotonic() - start < 120
    f = _bomb_finding(bomb)
    assert f["code"] == "file_unreadable" and f["severity"] == "error"
    assert "operation limit" in f["message"]
    assert bomb["verdict"] == "reject"
    assert valid["verdict"] == "pass"
    # The rest of the bomb's submission was read as usual.
    assert {d["kind"] for d in bomb["documents"]} >= {"business_license", "application_form"}


def test_bomb_past_the_operation_limit_keeps_its_lease_until_the_time_budget(
    tmp_path: Path,
) -> None:
    """Limits lifted: the render runs 4 s in the child, well past the 1.5 s lease.

    The worker's heartbeat keeps the lease meanwhile (the other worker never takes the
    job), and the file ends as a warning that a person must read it.
    """
    env = {
        "DOCPIPE_MAX_FORM_DRAWS": str(10**12),
        "DOCPIPE_MAX_DRAWN_MB": str(10**9),
        "DOCPIPE_MAX_TEXT_SHOWS": str(10**12),
        "DOCPIPE_FILE_SECONDS": "4",
    }
    bomb, valid, _ = _run(tmp_path, env)
    f = _bomb_finding(bomb)
    assert f["code"] == "not_found" and f["severity"] == "warning"
    assert "time budget" in f["message"]
    assert valid["verdict"] == "pass"
