"""The job store and the settings of `docpipe serve`, without a server."""

from __future__ import annotations

import os
import stat
import threading
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docpipe.checkdigits import id_check_char
from docpipe.cli import app as cli_app
from docpipe.errors import ConfigError
from docpipe.service.config import load_settings
from docpipe.service.store import FileRecord, IdempotencyConflict, JobStore, QueueFull


def _store(tmp_path: Path) -> JobStore:
    store = JobStore(tmp_path / "jobs.sqlite3")
    store.init()
    return store


def _add(store: JobStore, n: int, key: str | None = None, payload: str = "p") -> str:
    job_id = f"{n:032x}"
    store.create(
        job_id=job_id,
        upload=f"{job_id}.zip",
        upload_sha256="u",
        payload_sha256=payload,
        files=[FileRecord("a.jpg", 1, "s")],
        idempotency_key=key,
        max_queued=1000,
    )
    return job_id


def test_store_is_wal_with_full_sync(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store._connect() as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000


def test_concurrent_claims_take_each_job_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    ids = [_add(store, n) for n in range(40)]
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        for _ in range(100):  # bounded: more rounds than jobs
            job = store.claim(name, lease_seconds=60, max_attempts=3)
            if job is None:
                return
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(claimed) == sorted(ids)
    assert Counter(claimed).most_common(1)[0][1] == 1


def test_only_the_current_claim_finishes_a_job(tmp_path: Path) -> None:
    store = _store(tmp_path)
    job_id = _add(store, 1)
    first = store.claim("w1", lease_seconds=0.0, max_attempts=3)  # lease already over
    assert first is not None and first.claim is not None
    second = store.claim("w2", lease_seconds=60, max_attempts=3)  # takes it back
    assert second is not None and second.id == job_id and second.attempts == 2
    assert second.claim is not None
    assert not store.heartbeat(job_id, first.claim, 60)
    assert not store.finish(job_id, first.claim, status="done", report_dir="x/a1")
    assert store.finish(job_id, second.claim, status="done", report_dir="x/a2")
    assert not store.finish(job_id, second.claim, status="done", report_dir="x/a2")
    events = [e["event"] for e in store.events(job_id)]
    assert events == ["accepted", "claimed", "reclaimed", "claimed", "done"]
    job = store.get(job_id)
    assert job is not None and job.report_dir == "x/a2"


def test_requeue_fails_a_job_that_keeps_killing_workers(tmp_path: Path) -> None:
    store = _store(tmp_path)
    job_id = _add(store, 1)
    for attempt in range(1, 4):
        job = store.claim("w", lease_seconds=60, max_attempts=3)
        assert job is not None and job.attempts == attempt
        store.requeue_running(max_attempts=3, worker="w")
    job = store.get(job_id)
    assert job is not None and job.status == "failed"
    assert job.error is not None and "3 times" in job.error


def test_idempotency_and_queue_limit(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = _add(store, 1, key="k", payload="same")
    job, created = store.create(
        job_id="f" * 32,
        upload="x.zip",
        upload_sha256="u",
        payload_sha256="same",
        files=[],
        idempotency_key="k",
        max_queued=1000,
    )
    assert (job.id, created) == (first, False)
    with pytest.raises(IdempotencyConflict):
        _add(store, 2, key="k", payload="other")
    with pytest.raises(QueueFull):
        store.create(
            job_id="e" * 32,
            upload="y.zip",
            upload_sha256="u",
            payload_sha256="p",
            files=[],
            idempotency_key=None,
            max_queued=1,
        )
    assert [j.id for j in store.all_jobs()] == [first]


def test_orphans_are_removed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    job_id = _add(store, 1)
    uploads, reports = tmp_path / "uploads", tmp_path / "reports"
    uploads.mkdir()
    (uploads / f"{job_id}.zip").write_bytes(b"kept")
    (uploads / f"{'9' * 32}.zip").write_bytes(b"no row: killed before commit")
    (uploads / f".{'8' * 32}.zip.tmp").write_bytes(b"half written")
    (reports / job_id / "a1").mkdir(parents=True)  # an attempt that never committed
    finished = _add(store, 2)  # killed between recording the result and deleting the upload
    (uploads / f"{finished}.zip").write_bytes(b"result recorded")
    job = store.claim("w", lease_seconds=60, max_attempts=3)
    assert job is not None and job.id == job_id
    job = store.claim("w", lease_seconds=60, max_attempts=3)
    assert job is not None and job.id == finished and job.claim is not None
    assert store.finish(finished, job.claim, status="done", report_dir=f"{finished}/a1")
    (reports / finished / "a1").mkdir(parents=True)
    store.requeue_running(max_attempts=3)  # job_id goes back to the queue, keeps its upload
    removed = {p.name for p in store.remove_orphans(uploads, reports)}
    assert removed == {f"{'9' * 32}.zip", f".{'8' * 32}.zip.tmp", "a1", f"{finished}.zip"}
    assert (uploads / f"{job_id}.zip").exists()
    assert (reports / finished / "a1").is_dir()  # the committed report is kept


def test_settings_precedence(tmp_path: Path) -> None:
    config = tmp_path / "docpipe.toml"
    config.write_text('token = "from-file"\nmax_queued = 7\nmax_files = 9\n', "utf-8")
    env = {"DOCPIPE_TOKEN": "from-env", "DOCPIPE_MAX_QUEUED": "8"}
    s = load_settings(tmp_path, config_file=config, env=env, max_queued=9)
    assert (s.token, s.max_queued, s.max_files) == ("from-env", 9, 9)
    assert load_settings(tmp_path, config_file=config, env={}).token == "from-file"
    config.write_text("tokn = 1\n", "utf-8")
    with pytest.raises(ConfigError, match="unknown keys"):
        load_settings(tmp_path, config_file=config, env={})


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org"])
def test_serve_refuses_a_non_loopback_host_without_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.delenv("DOCPIPE_TOKEN", raising=False)
    monkeypatch.delenv("DOCPIPE_CONFIG", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--host", host, "--data", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "refusing to listen" in result.output
    assert not (tmp_path / "d").exists()  # stopped before anything was set up


def test_restarts_do_not_count_against_attempts(tmp_path: Path) -> None:
    store = _store(tmp_path)
    job_id = _add(store, 1)
    for _ in range(5):  # five restarts of the service while the job ran
        job = store.claim("w", lease_seconds=60, max_attempts=3)
        assert job is not None and job.id == job_id
        assert store.requeue_running(max_attempts=3) == 1  # at start-up: no worker named
    job = store.get(job_id)
    assert job is not None and job.status == "queued"
    assert (job.attempts, job.restarts, job.failures) == (5, 5, 0)
    last = store.claim("w", lease_seconds=60, max_attempts=3)
    assert last is not None and last.claim is not None and last.attempts == 6
    assert store.finish(job_id, last.claim, status="done", report_dir=f"{job_id}/a6")
    done = store.get(job_id)
    assert done is not None and done.status == "done"


def test_worker_deaths_and_expired_leases_still_count(tmp_path: Path) -> None:
    store = _store(tmp_path)
    job_id = _add(store, 1)
    store.claim("w", lease_seconds=60, max_attempts=3)
    store.requeue_running(max_attempts=3)  # a restart: given back
    store.claim("w", lease_seconds=60, max_attempts=3)
    store.requeue_running(max_attempts=3, worker="w")  # its worker died: 1
    store.claim("w", lease_seconds=0.0, max_attempts=3)  # lease over at once: 2 ...
    store.claim("w2", lease_seconds=0.0, max_attempts=3)  # ... taken back: 3
    assert store.claim("w3", lease_seconds=60, max_attempts=3) is None  # failed for good
    job = store.get(job_id)
    assert job is not None and job.status == "failed" and job.failures == 3
    assert job.error is not None and "3 times" in job.error


def test_upload_is_deleted_once_the_result_is_recorded(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    store = JobStore(tmp_path / "jobs.sqlite3", uploads=uploads)
    store.init()
    done_id, poison_id = _add(store, 1), _add(store, 2)
    for job_id in (done_id, poison_id):
        (uploads / f"{job_id}.zip").write_bytes(b"upload")
    job = store.claim("w", lease_seconds=60, max_attempts=2)
    assert job is not None and job.id == done_id and job.claim is not None
    store.requeue_running(max_attempts=2, worker="w")  # requeued: the upload stays
    assert (uploads / f"{done_id}.zip").exists()
    job = store.claim("w", lease_seconds=60, max_attempts=2)
    assert job is not None and job.id == done_id and job.claim is not None
    assert store.finish(done_id, job.claim, status="done", report_dir=f"{done_id}/a2")
    assert not (uploads / f"{done_id}.zip").exists()
    for _ in range(2):  # its worker dies twice: failed for good
        job = store.claim("w", lease_seconds=60, max_attempts=2)
        assert job is not None and job.id == poison_id
        assert (uploads / f"{poison_id}.zip").exists()
        store.requeue_running(max_attempts=2, worker="w")
    poisoned = store.get(poison_id)
    assert poisoned is not None and poisoned.status == "failed"
    assert not (uploads / f"{poison_id}.zip").exists()


def test_files_table_keeps_file_names_masked(tmp_path: Path) -> None:
    store = _store(tmp_path)
    number = "11010519850315042" + id_check_char("11010519850315042")
    name = f"id{number}_15712340987.jpg"
    store.create(
        job_id="a" * 32,
        upload="a.zip",
        upload_sha256="u",
        payload_sha256="p",
        files=[FileRecord(name, 7, "s")],
        idempotency_key=None,
        max_queued=10,
    )
    assert [f.name for f in store.files("a" * 32)] == ["id110105********0422_157****0987.jpg"]
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert number.encode() not in on_disk and b"15712340987" not in on_disk
    assert b"id110105********0422_157****0987.jpg" in on_disk


def test_database_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = _store(tmp_path / "data")
        _add(store, 1)
        with store._connect() as con:  # a reader keeps -wal and -shm in place
            assert con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1
            for suffix in ("", "-wal", "-shm"):
                path = tmp_path / "data" / f"jobs.sqlite3{suffix}"
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
