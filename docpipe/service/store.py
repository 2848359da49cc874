"""The durable job store: one SQLite database in the data folder.

SQLite in WAL mode with ``synchronous=FULL`` (a committed job survives a power cut) and
a busy timeout (the API and the worker processes write concurrently). Every change of a
job's state is one ``BEGIN IMMEDIATE`` transaction, which takes the write lock first, so
"look, then change" cannot interleave between processes.

States: ``queued`` → ``running`` → ``done`` | ``failed``. A worker claims the oldest
queued job, with a fresh claim token and a lease it renews while it works. Only the
holder of the current claim can finish a job, so a job finishes exactly once even when
it was taken back from a worker presumed dead. A running job is taken back (``requeued``)
when its lease ran out, when the supervisor saw its worker die, or when the service
starts (it holds the data folder's lock, so no worker of an earlier run is alive).

Attempts: every claim counts one (``attempts``, which also names the attempt's report
folder); a job taken back because the service restarted gets it back (``restarts``), so
only a failure while reviewing it — its worker died, or its lease ran out — counts
against ``max_attempts`` (the protection against an input that kills its worker).

Data at rest: the database and its ``-wal``/``-shm`` files are created 0600. The
``files`` table keeps each uploaded file's name masked (``privacy.mask_text``): it is
there for operators (size, sha256), and the reviewer's copy of the name is in the
report. With ``uploads`` given, a job's upload is deleted once its result is recorded
(``done``, or ``failed`` for good); a requeued job keeps it.

Every transition is also written to ``events``, so tests and operators can count them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docpipe.privacy import mask_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    idempotency_key TEXT UNIQUE,
    payload_sha256 TEXT NOT NULL,
    upload TEXT NOT NULL,
    upload_sha256 TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claim TEXT,
    worker TEXT,
    lease_until REAL,
    started_at REAL,
    finished_at REAL,
    report_dir TEXT,
    submission_id TEXT,
    verdict TEXT,
    counts TEXT,
    error TEXT,
    restarts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at);
CREATE TABLE IF NOT EXISTS files (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS workers (
    name TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    ready_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    event TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worker TEXT,
    at REAL NOT NULL
);
"""


class QueueFull(Exception):
    """As many jobs are queued as the service allows."""


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different payload."""


@dataclass(frozen=True)
class FileRecord:
    """One uploaded file: the client's name (never used on disk), its size and sha256.

    The store keeps the name masked (personal numbers in file names are common).
    """

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Job:
    """One row of ``jobs``."""

    id: str
    status: str
    created_at: float
    updated_at: float
    idempotency_key: str | None
    payload_sha256: str
    upload: str
    upload_sha256: str
    attempts: int
    claim: str | None
    worker: str | None
    lease_until: float | None
    started_at: float | None
    finished_at: float | None
    report_dir: str | None
    submission_id: str | None
    verdict: str | None
    counts: str | None
    error: str | None
    #: Attempts given back because the service restarted while the job ran.
    restarts: int = 0

    @property
    def counts_dict(self) -> dict[str, int] | None:
        """Findings per severity, when done."""
        return json.loads(self.counts) if self.counts else None

    @property
    def failures(self) -> int:
        """Attempts that count against ``max_attempts``: claims not ended by a restart."""
        return self.attempts - self.restarts


def new_job_id() -> str:
    """A random, unguessable job id (also the upload's generated file name)."""
    return uuid.uuid4().hex


class JobStore:
    """The jobs of one data folder. Cheap to make; opens one connection per operation.

    ``uploads``: the folder of the uploads; when given, an upload is deleted as soon as
    its job is finished (see the module docstring).
    """

    def __init__(
        self, db_path: Path, busy_timeout: float = 10.0, *, uploads: Path | None = None
    ) -> None:
        self.db_path = db_path
        self.busy_timeout = busy_timeout
        self.uploads = uploads

    def init(self) -> None:
        """Create the database (0600) and its tables; switch it to WAL (persistent)."""
        self.db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created here with its mode, not by SQLite with the process umask; SQLite gives
        # the -wal and -shm files the mode of the database file.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)
            columns = {r[1] for r in con.execute("PRAGMA table_info(jobs)")}
            if "restarts" not in columns:  # a data folder of an earlier version
                con.execute("ALTER TABLE jobs ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0")
            # Names stored before they were masked.
            for seq, job_id, name in con.execute("SELECT seq, job_id, name FROM files").fetchall():
                if mask_text(name) != name:
                    con.execute(
                        "UPDATE files SET name = ? WHERE job_id = ? AND seq = ?",
                        (mask_text(name), job_id, seq),
                    )
        for suffix in ("", "-wal", "-shm"):  # a folder made by an earlier version
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.db_path}{suffix}", 0o600)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below).
        con = sqlite3.connect(self.db_path, timeout=self.busy_timeout, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA synchronous=FULL")
            con.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            con.execute("PRAGMA foreign_keys=ON")
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that holds the lock from its first statement."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # ------------------------------------------------------------------ reading

    def get(self, job_id: str) -> Job | None:
        """The job, or None."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job(**dict(row)) if row else None

    def all_jobs(self) -> list[Job]:
        """Every job, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM jobs ORDER BY created_at, id").fetchall()
        return [Job(**dict(r)) for r in rows]

    def files(self, job_id: str) -> list[FileRecord]:
        """The files uploaded with a job, in upload order."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT name, size, sha256 FROM files WHERE job_id = ? ORDER BY seq", (job_id,)
            ).fetchall()
        return [FileRecord(**dict(r)) for r in rows]

    def events(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """The transitions, oldest first (of one job, or of all)."""
        sql = "SELECT job_id, event, attempt, worker, at FROM events"
        args: tuple[str, ...] = ()
        if job_id is not None:
            sql += " WHERE job_id = ?"
            args = (job_id,)
        with self._connect() as con:
            return [dict(r) for r in con.execute(sql + " ORDER BY seq", args)]

    def counts(self) -> dict[str, int]:
        """Jobs per status."""
        with self._connect() as con:
            rows = con.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        found = {r[0]: r[1] for r in rows}
        return {s: found.get(s, 0) for s in ("queued", "running", "done", "failed")}

    def by_key(self, key: str) -> Job | None:
        """The job created under an idempotency key, or None."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM jobs WHERE idempotency_key = ?", (key,)).fetchone()
        return Job(**dict(row)) if row else None

    def ready_workers(self) -> dict[str, int]:
        """Workers that finished loading (name → pid)."""
        with self._connect() as con:
            return {r[0]: r[1] for r in con.execute("SELECT name, pid FROM workers")}

    # ------------------------------------------------------------------ writing

    def worker_ready(self, name: str, pid: int) -> None:
        """Record that a worker has loaded the pipeline and takes jobs."""
        with self._write() as con:
            con.execute(
                "INSERT OR REPLACE INTO workers (name, pid, ready_at) VALUES (?, ?, ?)",
                (name, pid, time.time()),
            )

    def forget_workers(self, names: list[str] | None = None) -> None:
        """Drop worker records (of ``names``, or all: at start-up)."""
        with self._write() as con:
            if names is None:
                con.execute("DELETE FROM workers")
            else:
                con.executemany("DELETE FROM workers WHERE name = ?", [(n,) for n in names])

    def create(
        self,
        *,
        job_id: str,
        upload: str,
        upload_sha256: str,
        payload_sha256: str,
        files: list[FileRecord],
        idempotency_key: str | None,
        max_queued: int,
    ) -> tuple[Job, bool]:
        """Insert a queued job; return it and whether it is new.

        With a known ``idempotency_key`` the earlier job is returned (``False``) when the
        payload is the same; ``IdempotencyConflict`` when it differs. ``QueueFull`` when
        ``max_queued`` jobs are waiting already.
        """
        now = time.time()
        with self._write() as con:
            if idempotency_key is not None:
                row = con.execute(
                    "SELECT * FROM jobs WHERE idempotency_key = ?", (idempotency_key,)
                ).fetchone()
                if row is not None:
                    if row["payload_sha256"] != payload_sha256:
                        raise IdempotencyConflict(idempotency_key)
                    return Job(**dict(row)), False
            (queued,) = con.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()
            if queued >= max_queued:
                raise QueueFull(queued)
            con.execute(
                "INSERT INTO jobs (id, status, created_at, updated_at, idempotency_key,"
                " payload_sha256, upload, upload_sha256) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?)",
                (job_id, now, now, idempotency_key, payload_sha256, upload, upload_sha256),
            )
            con.executemany(
                "INSERT INTO files (job_id, seq, name, size, sha256) VALUES (?, ?, ?, ?, ?)",
                [(job_id, i, mask_text(f.name), f.size, f.sha256) for i, f in enumerate(files)],
            )
            self._event(con, job_id, "accepted", 0, None, now)
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job(**dict(row)), True

    def claim(self, worker: str, lease_seconds: float, max_attempts: int) -> Job | None:
        """Take the oldest job that is queued or whose lease ran out; None when there is none."""
        now = time.time()
        with self._write() as con:
            given_up = self._give_up_expired(con, now, max_attempts)
            row = con.execute(
                "SELECT id, status, attempts, worker FROM jobs WHERE status = 'queued'"
                " OR (status = 'running' AND lease_until < ?)"
                " ORDER BY created_at, id LIMIT 1",
                (now,),
            ).fetchone()
            job = None
            if row is not None:
                if row["status"] == "running":  # its worker stopped renewing the lease
                    self._event(con, row["id"], "reclaimed", row["attempts"], row["worker"], now)
                job = self._take(con, row["id"], worker, lease_seconds, now)
        self._drop_uploads(given_up)
        return job

    def _take(
        self, con: sqlite3.Connection, job_id: str, worker: str, lease_seconds: float, now: float
    ) -> Job:
        claim = uuid.uuid4().hex
        con.execute(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, claim = ?,"
            " worker = ?, lease_until = ?, started_at = ?, updated_at = ? WHERE id = ?",
            (claim, worker, now + lease_seconds, now, now, job_id),
        )
        job = Job(**dict(con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()))
        self._event(con, job.id, "claimed", job.attempts, worker, now)
        return job

    def _give_up_expired(self, con: sqlite3.Connection, now: float, max_attempts: int) -> list[str]:
        """Fail the expired jobs that used up their attempts; return their uploads."""
        rows = con.execute(
            "SELECT id, attempts, restarts, worker, upload FROM jobs"
            " WHERE status = 'running' AND lease_until < ? AND attempts - restarts >= ?",
            (now, max_attempts),
        ).fetchall()
        for r in rows:
            self._fail_poisoned(con, r["id"], r["attempts"] - r["restarts"], r["worker"], now)
        return [r["upload"] for r in rows]

    def _fail_poisoned(
        self, con: sqlite3.Connection, job_id: str, failures: int, worker: str | None, now: float
    ) -> None:
        error = (
            f"审查该申报时工作进程已中止 {failures} 次，不再重试 / "
            f"the worker stopped {failures} times while reviewing this submission"
        )
        con.execute(
            "UPDATE jobs SET status = 'failed', error = ?, claim = NULL, lease_until = NULL,"
            " finished_at = ?, updated_at = ? WHERE id = ?",
            (error, now, now, job_id),
        )
        self._event(con, job_id, "failed", failures, worker, now)

    def heartbeat(self, job_id: str, claim: str, lease_seconds: float) -> bool:
        """Renew the lease; False when the claim is no longer ours (the job was taken back)."""
        now = time.time()
        with self._write() as con:
            cur = con.execute(
                "UPDATE jobs SET lease_until = ?, updated_at = ?"
                " WHERE id = ? AND claim = ? AND status = 'running'",
                (now + lease_seconds, now, job_id, claim),
            )
            return cur.rowcount == 1

    def finish(
        self,
        job_id: str,
        claim: str,
        *,
        status: str,
        report_dir: str | None = None,
        submission_id: str | None = None,
        verdict: str | None = None,
        counts: dict[str, int] | None = None,
        error: str | None = None,
    ) -> bool:
        """Mark the job ``done`` or ``failed``, once: only the current claim can."""
        assert status in ("done", "failed")
        now = time.time()
        with self._write() as con:
            row = con.execute(
                "SELECT attempts, worker, upload FROM jobs"
                " WHERE id = ? AND claim = ? AND status = 'running'",
                (job_id, claim),
            ).fetchone()
            if row is None:
                return False
            con.execute(
                "UPDATE jobs SET status = ?, report_dir = ?, submission_id = ?, verdict = ?,"
                " counts = ?, error = ?, claim = NULL, lease_until = NULL, finished_at = ?,"
                " updated_at = ? WHERE id = ?",
                (
                    status,
                    report_dir,
                    submission_id,
                    verdict,
                    json.dumps(counts) if counts is not None else None,
                    error,
                    now,
                    now,
                    job_id,
                ),
            )
            self._event(con, job_id, status, row["attempts"], row["worker"], now)
        # The result is recorded: the report keeps what a reviewer needs of the upload.
        self._drop_uploads([row["upload"]])
        return True

    def requeue_running(self, max_attempts: int, worker: str | None = None) -> int:
        """Take back the running jobs (of one dead ``worker``, or all); return how many.

        With ``worker`` (the supervisor saw it die) the attempt counts, and a job that
        already failed ``max_attempts`` times is failed for good: its input keeps killing
        the worker. Without (the service is starting, so the jobs stopped because the
        service did) the attempt is given back (``restarts``) and no job is failed.
        """
        now = time.time()
        sql = "SELECT id, attempts, restarts, worker, upload FROM jobs WHERE status = 'running'"
        args: tuple[str, ...] = ()
        if worker is not None:
            sql += " AND worker = ?"
            args = (worker,)
        failed: list[str] = []
        with self._write() as con:
            rows = con.execute(sql, args).fetchall()
            for r in rows:
                failures = r["attempts"] - r["restarts"]
                if worker is not None and failures >= max_attempts:
                    self._fail_poisoned(con, r["id"], failures, r["worker"], now)
                    failed.append(r["upload"])
                    continue
                given_back = 1 if worker is None else 0
                con.execute(
                    "UPDATE jobs SET status = 'queued', claim = NULL, lease_until = NULL,"
                    " restarts = restarts + ?, updated_at = ? WHERE id = ?",
                    (given_back, now, r["id"]),
                )
                self._event(con, r["id"], "requeued", r["attempts"], r["worker"], now)
        self._drop_uploads(failed)
        return len(rows)

    def _drop_uploads(self, names: list[str]) -> None:
        """Delete the uploads of finished jobs (after their transaction committed)."""
        if self.uploads is None:
            return
        for name in names:
            # Generated names only (``<job id>.zip``): never a path from elsewhere.
            if name and "/" not in name and not name.startswith("."):
                (self.uploads / name).unlink(missing_ok=True)

    @staticmethod
    def _event(
        con: sqlite3.Connection,
        job_id: str,
        event: str,
        attempt: int,
        worker: str | None,
        at: float,
    ) -> None:
        con.execute(
            "INSERT INTO events (job_id, event, attempt, worker, at) VALUES (?, ?, ?, ?, ?)",
            (job_id, event, attempt, worker, at),
        )

    # ------------------------------------------------------------------ files on disk

    def remove_orphans(self, uploads: Path, reports: Path) -> list[Path]:
        """Delete what a killed process left behind; return what was removed.

        Uploads without a job row (killed between writing and committing) or of a
        finished job (killed between committing and deleting), temp files, and report
        folders of attempts that did not commit. Only call this while no worker runs (at
        start-up, holding the data folder's lock).
        """
        jobs = {j.id: j for j in self.all_jobs()}
        removed: list[Path] = []
        if uploads.is_dir():
            for entry in uploads.iterdir():
                job_of = jobs.get(entry.stem)
                if entry.is_file() and (job_of is None or job_of.status in ("done", "failed")):
                    entry.unlink(missing_ok=True)
                    removed.append(entry)
        if reports.is_dir():
            for job_dir in reports.iterdir():
                job = jobs.get(job_dir.name)
                for attempt in job_dir.iterdir() if job_dir.is_dir() else []:
                    rel = f"{job_dir.name}/{attempt.name}"
                    if job is None or job.report_dir != rel:
                        shutil.rmtree(attempt, ignore_errors=True)
                        removed.append(attempt)
        return removed
