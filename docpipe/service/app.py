"""The HTTP API of the pre-review service (FastAPI), and ``serve`` to run it with uvicorn.

Endpoints: ``POST /v1/submissions`` (multipart ``submission`` + ``files``, or one
``archive`` zip) → 202; ``GET /v1/submissions/{id}`` (status, verdict and counts when
done), ``…/report.json`` and ``…/report.html`` (``Cache-Control: no-store``);
``GET /healthz``; ``/openapi.json``; ``/docs`` (a plain offline page listing the
operations: FastAPI's Swagger page would load its scripts from a CDN).

An upload is stored as one zip under a generated name (``uploads/<job id>.zip``): the
multipart files become its members under the client's names, so the client's names never
touch the file system and the worker hands the zip to ``pipeline.run`` exactly as
``docpipe check x.zip`` would. An ``archive`` upload is stored as sent.

Auth: with a token configured, every endpoint but ``/healthz`` needs
``Authorization: Bearer <token>`` (401 otherwise). Limits: body and per-file size (413),
file count (413), queued jobs (429 with ``Retry-After``). Error messages name field paths
and file names with ID and phone numbers masked, never submitted values.

Data at rest: the data folder, ``uploads/`` and ``reports/`` are 0700, every file in
them 0600 (``serve`` sets the umask to 077 and the files are created with their mode).
An upload is deleted once its job's result is recorded (the report keeps what a
reviewer needs); the job store keeps file names masked.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import logging
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from docpipe.intake import MAX_SUBMISSION_JSON_BYTES
from docpipe.models import Counts, Report
from docpipe.privacy import mask_text
from docpipe.service.config import Settings
from docpipe.service.middleware import Wrap, auth_middleware, body_limit_middleware
from docpipe.service.store import (
    IdempotencyConflict,
    Job,
    JobStore,
    QueueFull,
    new_job_id,
)
from docpipe.service.uploads import (
    UploadRejected,
    check_submission,
    file_parts,
    write_archive_upload,
    write_multipart_upload,
)
from docpipe.service.worker import WorkerPool

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# The report page is self-contained: inline styles, data: images, no script, no fetch.
_REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class Links(BaseModel):
    """Where to look next."""

    self: str
    report_json: str
    report_html: str


class JobStatus(BaseModel):
    """A job as the API shows it."""

    id: str
    status: str
    links: Links
    attempts: int = 0
    submission_id: str | None = None
    verdict: str | None = None
    counts: Counts | None = None
    error: str | None = None


def _status(job: Job) -> JobStatus:
    base = f"/v1/submissions/{job.id}"
    return JobStatus(
        id=job.id,
        status=job.status,
        links=Links(
            self=base, report_json=f"{base}/report.json", report_html=f"{base}/report.html"
        ),
        attempts=job.attempts,
        submission_id=job.submission_id,
        verdict=job.verdict,
        counts=Counts(**job.counts_dict) if job.counts_dict else None,
        error=job.error,
    )


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


# --------------------------------------------------------------------------- the app


class DataDirLock:
    """An exclusive lock on the data folder: one server per folder, released by any death."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "server.lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``RuntimeError`` naming the folder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise RuntimeError(f"another docpipe server uses {self.path.parent}") from exc
        self.fd = fd

    def release(self) -> None:
        """Let go of the lock."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


PRIVATE_DIR = 0o700


def make_private_dirs(settings: Settings) -> None:
    """Create the data folder, ``uploads/`` and ``reports/`` 0700 (also when they exist)."""
    for folder in (settings.data_dir, settings.uploads_dir, settings.reports_dir):
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)


def recover(settings: Settings, store: JobStore) -> None:
    """At start-up: take back jobs left running, drop what killed processes left behind.

    The jobs left running stopped because the service did, not because of their input:
    their attempt is given back (``requeue_running`` without a worker).
    """
    n = store.requeue_running(settings.max_attempts)
    if n:
        log.warning("took back %d job(s) left running by the previous run", n)
    for path in store.remove_orphans(settings.uploads_dir, settings.reports_dir):
        log.info("removed leftover %s", path.relative_to(settings.data_dir))


def create_app(settings: Settings, *, run_workers: bool = True) -> FastAPI:
    """Build the API over ``settings.data_dir``; with ``run_workers``, its workers too."""
    store = JobStore(settings.db_path, uploads=settings.uploads_dir)
    pool = WorkerPool(settings, store)
    lock = DataDirLock(settings.data_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        make_private_dirs(settings)
        lock.acquire()
        store.init()
        recover(settings, store)
        if run_workers:
            pool.start()
        try:
            yield
        finally:
            if run_workers:
                await run_in_threadpool(pool.stop)
            lock.release()

    app = FastAPI(
        title="docpipe pre-review service",
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.state.store = store

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI echoes the input by default; these inputs may be ID numbers.
        errors = [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors()]
        return _error(422, errors)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness: the store answers; workers alive, workers ready, jobs per status."""
        return {
            "status": "ok",
            "workers": pool.alive(),
            "workers_ready": pool.ready(),
            "jobs": store.counts(),
        }

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        """A plain page of the operations (no script, no CDN); the spec is /openapi.json."""
        rows = []
        for path, ops in app.openapi()["paths"].items():
            for method, op in ops.items():
                summary = html.escape(op.get("summary", ""))
                desc = html.escape(op.get("description", "")).replace("\n", "<br>")
                rows.append(
                    f"<tr><td><code>{method.upper()}</code></td><td><code>"
                    f"{html.escape(path)}</code></td><td><b>{summary}</b><br>{desc}</td></tr>"
                )
        page = (
            "<!doctype html><meta charset=utf-8><title>docpipe API</title>"
            "<style>body{font:14px sans-serif;margin:2em}td{border-top:1px solid #ccc;"
            "padding:.4em;vertical-align:top}</style><h1>docpipe pre-review service</h1>"
            "<p>Machine-readable spec: <a href=/openapi.json>/openapi.json</a></p>"
            f"<table>{''.join(rows)}</table>"
        )
        return HTMLResponse(page, headers=_NO_STORE)

    @app.post(
        "/v1/submissions",
        status_code=202,
        response_model=JobStatus,
        responses={
            409: {"description": "Idempotency-Key reused with a different payload"},
            413: {"description": "body, a file or the number of files over the limit"},
            422: {"description": "submission.json malformed (field paths, no values)"},
            429: {"description": "queue full; see Retry-After"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "submission": {"type": "string", "description": "submission.json"},
                                "files": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                },
                                "archive": {"type": "string", "format": "binary"},
                            },
                        }
                    }
                },
            }
        },
    )
    async def submit(request: Request) -> JSONResponse:
        """Queue one submission for pre-review.

        Multipart: ``submission`` (the JSON) and ``files`` (the attachments), or one
        ``archive`` (.zip of a submission folder). Answers 202 with the job's id and
        links. An ``Idempotency-Key`` header makes a retry return the same job.
        """
        key = request.headers.get("idempotency-key")
        if key is not None and not _KEY_RE.match(key):
            return _error(400, "Idempotency-Key must be 1-200 printable ASCII characters")
        try:
            known = await run_in_threadpool(store.by_key, key) if key else None
            if known is None:
                await run_in_threadpool(_check_room, store, settings)
            job, created = await _accept(request, settings, store, key)
        except UploadRejected as exc:
            log.info("upload refused (%d): %s", exc.status, exc.detail)
            return _error(exc.status, exc.detail, exc.headers)
        headers = {"Location": f"/v1/submissions/{job.id}", **_NO_STORE}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        log.info("job %s %s", job.id, "accepted" if created else "replayed")
        return JSONResponse(_status(job).model_dump(), status_code=202, headers=headers)

    def _job_or_404(job_id: str) -> Job:
        job = store.get(job_id) if re.fullmatch(r"[0-9a-f]{32}", job_id) else None
        if job is None:
            raise HTTPException(404, "no such submission")
        return job

    @app.get("/v1/submissions/{job_id}", response_model=JobStatus)
    def status(job_id: str) -> JSONResponse:
        """The job: queued, running, done or failed; verdict and counts when done."""
        job = _job_or_404(job_id)
        return JSONResponse(_status(job).model_dump(), headers=_NO_STORE)

    def _report_file(job_id: str, name: str) -> Path:
        job = _job_or_404(job_id)
        if job.status != "done" or job.report_dir is None:
            detail = f"no report: the submission is {job.status}"
            headers = {"Retry-After": "1"} if job.status in ("queued", "running") else None
            raise HTTPException(409, detail, headers=headers)
        return settings.reports_dir / job.report_dir / name

    @app.get(
        "/v1/submissions/{job_id}/report.json",
        responses={200: {"model": Report, "description": "report.json as written"}},
    )
    def report_json(job_id: str) -> FileResponse:
        """The report, byte for byte the report.json the worker wrote."""
        path = _report_file(job_id, "report.json")
        return FileResponse(path, media_type="application/json", headers=_NO_STORE)

    @app.get("/v1/submissions/{job_id}/report.html", response_class=HTMLResponse)
    def report_html(job_id: str) -> FileResponse:
        """The reviewer's page of the submission (self-contained HTML)."""
        path = _report_file(job_id, "report.html")
        headers = {**_NO_STORE, "Content-Security-Policy": _REPORT_CSP}
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers)

    # Outermost first: no token → 401 before a byte of the body is read.
    app.add_middleware(Wrap, factory=lambda a: body_limit_middleware(a, settings.max_body_bytes))
    app.add_middleware(Wrap, factory=lambda a: auth_middleware(a, settings.token))
    return app


def _check_room(store: JobStore, settings: Settings) -> None:
    """Cheap early 429, before the body is read (the insert checks again)."""
    if store.counts()["queued"] >= settings.max_queued:
        raise _queue_full(settings)


def _queue_full(settings: Settings) -> UploadRejected:
    return UploadRejected(
        429,
        f"queue full: {settings.max_queued} submissions are waiting; retry later",
        {"Retry-After": str(settings.retry_after)},
    )


async def _accept(
    request: Request, settings: Settings, store: JobStore, key: str | None
) -> tuple[Job, bool]:
    """Parse the multipart body, store the upload, insert the job."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise UploadRejected(415, "send multipart/form-data: 'submission' + 'files', or 'archive'")
    try:
        form = await request.form(
            max_files=settings.max_files + 2,  # + submission.json sent as a file, + archive
            max_fields=8,
            max_part_size=MAX_SUBMISSION_JSON_BYTES,
        )
    except StarletteHTTPException as exc:  # starlette's multipart limits and syntax errors
        status = 413 if "Too many" in str(exc.detail) or "exceeded" in str(exc.detail) else 400
        raise UploadRejected(status, mask_text(str(exc.detail))) from exc
    try:
        return await _store_form(form, settings, store, key)
    finally:
        await form.close()


async def _store_form(
    form: Any, settings: Settings, store: JobStore, key: str | None
) -> tuple[Job, bool]:
    unknown = sorted(set(form.keys()) - {"submission", "files", "archive"})
    if unknown:
        raise UploadRejected(422, f"unknown form fields: {mask_text(', '.join(unknown))}")
    archives = [a for a in form.getlist("archive") if isinstance(a, UploadFile)]
    subs = form.getlist("submission")
    files = form.getlist("files")
    if len(files) > settings.max_files:
        raise UploadRejected(
            413, f"{len(files)} files; at most {settings.max_files} per submission"
        )
    job_id = new_job_id()
    target = settings.uploads_dir / f"{job_id}.zip"
    if archives:
        if len(archives) > 1 or subs or files:
            raise UploadRejected(422, "send either one 'archive' or 'submission' + 'files'")
        result = await run_in_threadpool(write_archive_upload, target, archives[0].file)
    else:
        if len(subs) != 1:
            raise UploadRejected(422, "the 'submission' field (submission.json) is required once")
        sub = subs[0]
        raw = await sub.read() if isinstance(sub, UploadFile) else str(sub).encode("utf-8")
        check_submission(raw)
        parts = file_parts(files, settings)
        result = await run_in_threadpool(write_multipart_upload, target, raw, parts)
    upload_sha, payload_sha, records = result
    created = False
    try:
        job, created = await run_in_threadpool(
            lambda: store.create(
                job_id=job_id,
                upload=target.name,
                upload_sha256=upload_sha,
                payload_sha256=payload_sha,
                files=records,
                idempotency_key=key,
                max_queued=settings.max_queued,
            )
        )
    except QueueFull as exc:
        raise _queue_full(settings) from exc
    except IdempotencyConflict as exc:
        raise UploadRejected(
            409, "this Idempotency-Key was used for a different submission"
        ) from exc
    finally:
        if not created:  # refused, or a replay that keeps the first upload
            target.unlink(missing_ok=True)
    return job, created


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the service with uvicorn until SIGINT or SIGTERM."""
    import uvicorn

    # Uploads, reports, the database and the OCR cache hold personal data: nobody but
    # the service's user reads them (the workers inherit the umask).
    os.umask(0o077)
    app = create_app(settings)
    # log_config=None: uvicorn's records go to the root handlers, which mask numbers.
    uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=10)
