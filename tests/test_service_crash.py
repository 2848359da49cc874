"""`docpipe serve` under stress: SIGKILL and restart, a dead worker, a full queue.

Every accepted job must finish exactly once: counted from the job store's events and
from the report files on disk.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from docpipe.service.local import LocalServer
from docpipe.service.store import JobStore


def _parts(n: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    sub = {
        "submission_id": f"crash-{n}",
        "reference_date": "2026-11-20",
        "enterprise": {"credit_code": "91330784579324580M", "name": f"天佳工贸{n}"},
    }
    return [("submission", ("submission.json", json.dumps(sub).encode(), "application/json"))]


def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _jobs(url: str) -> dict[str, int]:
    return httpx.get(f"{url}/healthz", timeout=10).json()["jobs"]  # type: ignore[no-any-return]


def _report_files(data: Path) -> list[Path]:
    return sorted((data / "reports").rglob("report.json"))


def test_sigkill_while_running_then_restart_finishes_each_job_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    slow = LocalServer(data, workers=2, env={"DOCPIPE_SERVICE_JOB_DELAY": "2"}).start()
    try:
        ids = []
        for n in range(6):
            r = httpx.post(f"{slow.url}/v1/submissions", files=_parts(n), timeout=10)
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        _until(lambda: _jobs(slow.url)["running"] == 2, 20, "two running jobs")
    finally:
        slow.kill()  # server and workers at once, mid-job
    assert slow.group_pids() == []
    store = JobStore(data / "jobs.sqlite3")
    before = {j.id: j.status for j in store.all_jobs()}
    assert sorted(before) == sorted(ids)
    running_at_kill = {i for i, s in before.items() if s == "running"}
    assert len(running_at_kill) == 2

    fast = LocalServer(data, workers=2).start()
    try:
        _until(lambda: _jobs(fast.url)["done"] == 6, 30, "all six jobs done")
        for job_id in ids:
            r = httpx.get(f"{fast.url}/v1/submissions/{job_id}/report.json", timeout=10)
            assert r.status_code == 200
    finally:
        # uvicorn re-raises the SIGTERM it handled, after a graceful shutdown.
        assert fast.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in fast.log()

    events = store.events()
    per_job = Counter((e["job_id"], e["event"]) for e in events)
    for job_id in ids:
        assert per_job[(job_id, "accepted")] == 1
        assert per_job[(job_id, "done")] == 1  # finished exactly once
        assert per_job[(job_id, "failed")] == 0
    assert {e["job_id"] for e in events if e["event"] == "requeued"} == running_at_kill
    jobs = store.all_jobs()
    assert len(jobs) == 6 and all(j.status == "done" for j in jobs)  # none lost, none added
    # Two claims each, the first given back: the restart does not count as a failure.
    assert {j.id: (j.attempts, j.restarts) for j in jobs if j.id in running_at_kill} == (
        dict.fromkeys(running_at_kill, (2, 1))
    )
    # One report per job on disk: a killed attempt's half-written folder was removed.
    reports = _report_files(data)
    assert [p.parent.parent.name for p in reports] == sorted(ids)
    assert {p.parent.relative_to(data / "reports").as_posix() for p in reports} == {
        j.report_dir for j in jobs
    }


def test_job_running_across_three_restarts_is_done(tmp_path: Path) -> None:
    # Three restarts used to exhaust max_attempts (3) and fail the job for good.
    data = tmp_path / "data"
    store = JobStore(data / "jobs.sqlite3")
    job_id = ""
    for restart in range(3):
        slow = LocalServer(data, workers=1, env={"DOCPIPE_SERVICE_JOB_DELAY": "30"}).start()
        try:
            if not job_id:
                r = httpx.post(f"{slow.url}/v1/submissions", files=_parts(0), timeout=10)
                assert r.status_code == 202, r.text
                job_id = r.json()["id"]
            _until(lambda url=slow.url: _jobs(url)["running"] == 1, 20, "the job running")
        finally:
            slow.kill()  # mid-job: the worker sleeps in its 30 s delay
        job = store.get(job_id)
        assert job is not None and job.status == "running" and job.attempts == restart + 1
    with LocalServer(data, workers=1) as fast:
        _until(lambda: _jobs(fast.url)["done"] == 1, 30, "the job done")
        status = httpx.get(f"{fast.url}/v1/submissions/{job_id}", timeout=10).json()
    assert status["status"] == "done" and status["error"] is None
    job = store.get(job_id)
    assert job is not None and (job.attempts, job.restarts, job.failures) == (4, 3, 1)
    events = [e["event"] for e in store.events(job_id)]
    assert events == ["accepted", *["claimed", "requeued"] * 3, "claimed", "done"]


@pytest.fixture(scope="module")
def one_slow_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    env = {
        "DOCPIPE_SERVICE_JOB_DELAY": "1.5",
        "DOCPIPE_MAX_QUEUED": "2",
        "DOCPIPE_RETRY_AFTER": "7",
    }
    srv = LocalServer(tmp_path_factory.mktemp("slow") / "data", workers=1, env=env).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_full_queue_is_429_with_retry_after(one_slow_worker: LocalServer) -> None:
    url = one_slow_worker.url
    answers = [httpx.post(f"{url}/v1/submissions", files=_parts(n), timeout=10) for n in range(5)]
    codes = [a.status_code for a in answers]
    assert set(codes) == {202, 429}, codes
    refused = [a for a in answers if a.status_code == 429]
    assert all(a.headers["retry-after"] == "7" for a in refused)
    assert "queue full" in refused[0].json()["detail"]
    accepted = [a.json()["id"] for a in answers if a.status_code == 202]
    _until(lambda: _jobs(url)["done"] == len(accepted), 20, "accepted jobs done")
    store = JobStore(one_slow_worker.data / "jobs.sqlite3")
    assert sorted(j.id for j in store.all_jobs()) == sorted(accepted)


def _worker_pids(server: LocalServer) -> list[int]:
    pids = []
    for pid in server.group_pids():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"spawn_main" in cmdline:
            pids.append(pid)
    return pids


def test_dead_worker_job_is_taken_back_and_worker_restarted(one_slow_worker: LocalServer) -> None:
    url = one_slow_worker.url
    _until(lambda: _jobs(url)["queued"] == _jobs(url)["running"] == 0, 20, "an idle server")
    r = httpx.post(f"{url}/v1/submissions", files=_parts(99), timeout=10)
    assert r.status_code == 202
    job_id = r.json()["id"]
    _until(lambda: _jobs(url)["running"] == 1, 10, "the job running")
    (victim,) = _worker_pids(one_slow_worker)
    os.kill(victim, signal.SIGKILL)
    _until(
        lambda: httpx.get(f"{url}/v1/submissions/{job_id}", timeout=10).json()["status"] == "done",
        30,
        "the job done by the restarted worker",
    )
    assert victim not in _worker_pids(one_slow_worker)
    assert len(_worker_pids(one_slow_worker)) == 1
    events = [e["event"] for e in JobStore(one_slow_worker.data / "jobs.sqlite3").events(job_id)]
    assert events == ["accepted", "claimed", "requeued", "claimed", "done"]
