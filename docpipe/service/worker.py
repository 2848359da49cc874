"""Background workers: processes that claim jobs and run the same pipeline as the CLI.

Each worker loads the OCR engine once, then loops: claim the oldest job, review its
upload with ``docpipe.pipeline.run`` (exactly what ``docpipe check`` runs), write
report.html and report.json with ``docpipe.report.write_report`` into a folder of its
own attempt, and commit ``done`` with the claim it holds. A heartbeat thread renews the
lease while the pipeline runs. A report written by an attempt that lost its claim is
never pointed to, and is removed at the next start.

``WorkerPool`` runs in the server process: it starts N workers, restarts one that
died and takes back the job it held at once (the lease is the backstop).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.context import SpawnProcess

from docpipe import pipeline
from docpipe.errors import INTERNAL_ERROR, DocpipeError
from docpipe.privacy import install_log_masking, mask_text
from docpipe.report import write_report
from docpipe.service.config import Settings
from docpipe.service.store import Job, JobStore

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the server dies (no orphan keeps writing)."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_job(store: JobStore, settings: Settings, job: Job, worker: str) -> bool:
    """Review one claimed job and commit its outcome; True when this attempt committed."""
    assert job.claim is not None
    claim = job.claim
    stop = threading.Event()

    def beat() -> None:
        # Renew well before the lease runs out; a lost claim only matters at commit.
        while not stop.wait(max(settings.lease_seconds / 3, 0.05)):
            try:
                if not store.heartbeat(job.id, claim, settings.lease_seconds):
                    log.warning("job %s was taken back from %s", job.id, worker)
                    return
            except Exception:  # a busy database must not kill the job; the lease is long
                log.exception("heartbeat of job %s failed", job.id)

    beater = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
    beater.start()
    try:
        if settings.job_delay > 0:
            time.sleep(settings.job_delay)
        rel = f"{job.id}/a{job.attempts}"
        try:
            # Private folders whatever the umask (files are written 0600 by write_report).
            job_dir = settings.reports_dir / job.id
            job_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            (job_dir / f"a{job.attempts}").mkdir(mode=0o700, exist_ok=True)
            state = pipeline.run(settings.uploads_dir / job.upload, engine=settings.engine)
            report = state.report
            if report is None:
                raise RuntimeError("the pipeline returned no report")
            write_report(report, settings.reports_dir / rel, pages=state.report_pages())
        except DocpipeError as exc:
            log.error("job %s failed: %s", job.id, mask_text(exc.message_en))
            return store.finish(job.id, claim, status="failed", error=mask_text(exc.message))
        except Exception as exc:  # one bad submission must not end the worker; cause logged
            log.exception("job %s: unexpected failure", job.id)
            # The type only: an exception's text may quote a value or a file name.
            error = f"{INTERNAL_ERROR}: {type(exc).__name__}"
            return store.finish(job.id, claim, status="failed", error=error)
        committed = store.finish(
            job.id,
            claim,
            status="done",
            report_dir=rel,
            submission_id=report.submission_id,
            verdict=report.verdict.value,
            counts=report.counts.model_dump(),
        )
        if committed:
            log.info("job %s done: %s", job.id, report.verdict.value)
        else:
            log.warning("job %s: attempt %d lost its claim; report dropped", job.id, job.attempts)
        return committed
    finally:
        stop.set()
        beater.join(timeout=5)


def worker_main(settings: Settings, worker: str, log_level: int) -> None:
    """Entry point of one worker process: claim and run jobs until SIGTERM or the server dies.

    SIGTERM lets the job at hand finish; SIGINT (Ctrl-C reaches the whole terminal
    process group) is left to the server, which then stops the workers with SIGTERM.
    """
    _die_with_parent()
    os.umask(0o077)  # reports and OCR cache files: personal data (see app.serve)
    parent = os.getppid()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The OCR engine divides the cores among the workers instead of each taking all.
    os.environ.setdefault("DOCPIPE_WORKERS", str(settings.workers))
    logging.basicConfig(
        stream=sys.stderr, level=log_level, format="%(levelname)s %(name)s: %(message)s"
    )
    install_log_masking()
    pipeline.warm_up(settings.engine)
    store = JobStore(settings.db_path, uploads=settings.uploads_dir)
    store.worker_ready(worker, os.getpid())
    log.info("worker %s ready (pid %d)", worker, os.getpid())
    while not stop.is_set() and os.getppid() == parent:
        try:
            job = store.claim(worker, settings.lease_seconds, settings.max_attempts)
        except Exception:  # e.g. the database is locked for longer than the busy timeout
            log.exception("worker %s could not claim a job", worker)
            job = None
        if job is None:
            stop.wait(settings.poll_seconds)
            continue
        run_job(store, settings, job, worker)


class WorkerPool:
    """N worker processes kept alive by a supervisor thread in the server process."""

    def __init__(self, settings: Settings, store: JobStore) -> None:
        self.settings = settings
        self.store = store
        self.ctx = multiprocessing.get_context("spawn")  # never fork a process with threads
        self.procs: dict[str, SpawnProcess] = {}
        self._halt = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._generation = 0

    def _spawn(self, slot: int) -> None:
        self._generation += 1
        name = f"w{slot}.{self._generation}"
        level = logging.getLogger().getEffectiveLevel()
        proc = self.ctx.Process(
            target=worker_main,
            args=(self.settings, name, level),
            name=f"docpipe-worker-{name}",
            daemon=True,
        )
        proc.start()
        self.procs[name] = proc

    def start(self) -> None:
        """Start the workers and the supervisor."""
        self.store.forget_workers()
        for slot in range(self.settings.workers):
            self._spawn(slot)
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._supervisor.start()

    def alive(self) -> int:
        """How many workers are running."""
        return sum(p.is_alive() for p in self.procs.values())

    def ready(self) -> int:
        """How many live workers have loaded the pipeline and take jobs."""
        ready = self.store.ready_workers()
        return sum(p.is_alive() and ready.get(n) == p.pid for n, p in list(self.procs.items()))

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [p.pid for p in self.procs.values() if p.is_alive() and p.pid is not None]

    def _supervise(self) -> None:
        while not self._halt.wait(0.5):
            for name, proc in list(self.procs.items()):
                if proc.is_alive():
                    continue
                slot = int(name[1:].split(".", 1)[0])
                del self.procs[name]
                log.error("worker %s died (exit %s); restarting it", name, proc.exitcode)
                try:
                    self.store.forget_workers([name])
                    n = self.store.requeue_running(self.settings.max_attempts, worker=name)
                    if n:
                        log.warning("took back %d job(s) of worker %s", n, name)
                except Exception:  # the lease will take the job back instead
                    log.exception("could not take back the jobs of worker %s", name)
                if not self._halt.is_set():
                    self._spawn(slot)

    def stop(self, timeout: float = 30.0) -> None:
        """Let each worker finish its job, then end them (a job cut short is requeued later)."""
        self._halt.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        for proc in self.procs.values():
            if proc.is_alive():
                proc.terminate()  # SIGTERM: finish the job at hand, then leave
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
        for proc in self.procs.values():
            if proc.is_alive():
                log.warning("worker %s still busy after %.0f s; killing it", proc.name, timeout)
                proc.kill()
                proc.join(timeout=5)
