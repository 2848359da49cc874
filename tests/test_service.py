"""`docpipe serve`: a real uvicorn server on a loopback port, with a token and small limits.

Upload → poll → report (identical to `docpipe check`), auth, idempotency, size limits,
malformed submission.json, the 2 MB rule as a finding, docs, and masked logs.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
import stat
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from docpipe.checkdigits import id_check_char
from docpipe.cli import app as cli_app
from docpipe.service.local import LocalServer, upload_parts, zip_folder
from docpipe.service.store import JobStore

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples"
TOKEN = "test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MIB = 1024 * 1024
SECRET_ID = "33078419900101" + "123" + id_check_char("33078419900101123")
SECRET_PHONE = "13912345678"
CASES = ["case-0104", "case-0105-uscc-check-id-expired", "case-0106-file-type-channel-online"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    base = tmp_path_factory.mktemp("svc")
    env = {
        "DOCPIPE_TOKEN": TOKEN,
        "DOCPIPE_MAX_BODY_BYTES": str(6 * MIB),
        "DOCPIPE_MAX_FILE_BYTES": str(3 * MIB),
        "DOCPIPE_MAX_FILES": "10",
    }
    srv = LocalServer(base / "data", workers=2, env=env).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def client(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
        yield c


def _wait_done(client: httpx.Client, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/submissions/{job_id}").json()
        if body["status"] in ("done", "failed"):
            return body  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not finished after {timeout} s")


def _submission(**extra: Any) -> bytes:
    data = {
        "submission_id": "svc-test",
        "application_type": "change_operator",
        "reference_date": "2026-11-20",
        "enterprise": {"credit_code": "91330784579324580M", "name": "天佳工贸"},
        "operators": [{"name": "李四", "id_number": SECRET_ID, "mobile": SECRET_PHONE}],
        **extra,
    }
    return json.dumps(data, ensure_ascii=False).encode()


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _without_timings(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "timings"}


# ----------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/submissions/0123456789abcdef0123456789abcdef"),
        ("GET", "/v1/submissions/0123456789abcdef0123456789abcdef/report.json"),
        ("GET", "/v1/submissions/0123456789abcdef0123456789abcdef/report.html"),
        ("POST", "/v1/submissions"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
    ],
    ids=["status", "report-json", "report-html", "submit", "openapi", "docs"],
)
@pytest.mark.parametrize("token", [None, "wrong"], ids=["no-token", "wrong-token"])
def test_every_endpoint_but_healthz_needs_the_token(
    server: LocalServer, method: str, path: str, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.request(method, server.url + path, headers=headers, timeout=10)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_healthz_is_open(server: LocalServer) -> None:
    r = httpx.get(server.url + "/healthz", timeout=10)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["workers"] == 2


def test_openapi_and_offline_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/submissions", "/v1/submissions/{job_id}/report.json"} <= set(spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/v1/submissions/{job_id}/report.html" in docs.text
    assert "<script" not in docs.text and "cdn" not in docs.text.lower()


# ------------------------------------------------------------------ same pipeline


@pytest.mark.parametrize("mode", ["multipart", "archive"])
@pytest.mark.parametrize("case", CASES)
def test_report_is_identical_to_docpipe_check(
    client: httpx.Client, tmp_path: Path, case: str, mode: str
) -> None:
    folder = SAMPLES / case / "submission"
    out = tmp_path / "check"
    result = CliRunner().invoke(cli_app, ["check", str(folder), "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    expected = json.loads((out / "report.json").read_text("utf-8"))

    if mode == "archive":
        r = client.post(
            "/v1/submissions", files={"archive": ("s.zip", zip_folder(folder), "application/zip")}
        )
    else:
        r = client.post("/v1/submissions", files=upload_parts(folder))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued"
    assert body["links"]["report_json"] == f"/v1/submissions/{body['id']}/report.json"
    status = _wait_done(client, body["id"])
    assert status["status"] == "done"
    assert status["verdict"] == expected["verdict"]
    assert status["counts"] == expected["counts"]

    got = client.get(body["links"]["report_json"])
    assert got.status_code == 200
    assert got.headers["cache-control"] == "no-store"
    report = got.json()
    # Byte for byte, in report order: the same findings in the same sequence.
    assert _dump(report["findings"]) == _dump(expected["findings"])
    assert _dump(report["documents"]) == _dump(expected["documents"])
    assert _without_timings(report) == _without_timings(expected)

    page = client.get(body["links"]["report_html"])
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-type"].startswith("text/html")


def test_unknown_job_is_404(client: httpx.Client) -> None:
    assert client.get("/v1/submissions/" + "0" * 32).status_code == 404
    assert client.get("/v1/submissions/not-an-id/report.json").status_code == 404


# ------------------------------------------------------------------ idempotency


def test_idempotency_key_same_payload_same_job(client: httpx.Client, server: LocalServer) -> None:
    before = sum(client.get("/healthz").json()["jobs"].values())
    parts = [("submission", ("submission.json", _submission(), "application/json"))]
    key = {"Idempotency-Key": "order-4711"}
    first = client.post("/v1/submissions", files=parts, headers=key)
    second = client.post("/v1/submissions", files=parts, headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert sum(client.get("/healthz").json()["jobs"].values()) == before + 1
    # The replay's copy of the upload is not kept: every upload on disk is a job's.
    job_ids = {j.id for j in JobStore(server.data / "jobs.sqlite3").all_jobs()}
    assert {u.stem for u in (server.data / "uploads").iterdir()} <= job_ids

    other = [("submission", ("submission.json", _submission(remarks="x"), "application/json"))]
    conflict = client.post("/v1/submissions", files=other, headers=key)
    assert conflict.status_code == 409
    assert sum(client.get("/healthz").json()["jobs"].values()) == before + 1


# ----------------------------------------------------------------------- limits


def _jpeg() -> bytes:
    return (SAMPLES / "case-0104" / "submission" / "营业执照.jpg").read_bytes()


def test_body_over_limit_is_413(client: httpx.Client) -> None:
    big = _jpeg() + b"\0" * (7 * MIB)
    parts = [
        ("submission", ("submission.json", _submission(), "application/json")),
        ("files", ("big.jpg", big, "image/jpeg")),
    ]
    r = client.post("/v1/submissions", files=parts)
    assert r.status_code == 413
    assert "request body is over the limit" in r.json()["detail"]


def test_file_over_limit_is_413_naming_it(client: httpx.Client) -> None:
    name = f"{SECRET_PHONE}.jpg"
    parts = [
        ("submission", ("submission.json", _submission(), "application/json")),
        ("files", (name, _jpeg() + b"\0" * (3 * MIB + 10), "image/jpeg")),
    ]
    r = client.post("/v1/submissions", files=parts)
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert "per-file limit" in detail and "139****5678.jpg" in detail
    assert SECRET_PHONE not in detail


def test_too_many_files_is_413(client: httpx.Client) -> None:
    parts = [("submission", ("submission.json", _submission(), "application/json"))]
    parts += [("files", (f"f{i}.jpg", b"x", "image/jpeg")) for i in range(11)]
    r = client.post("/v1/submissions", files=parts)
    assert r.status_code == 413
    assert "10" in r.json()["detail"]


def test_file_over_2mb_is_a_finding_not_a_refusal(client: httpx.Client) -> None:
    name = f"营业执照-{SECRET_PHONE}.jpg"  # also puts a phone number through the worker's logs
    data = _jpeg() + b"\0" * (2 * MIB)  # still a decodable JPEG, now over 2 MB
    parts = [
        ("submission", ("submission.json", _submission(), "application/json")),
        ("files", (name, data, "image/jpeg")),
    ]
    r = client.post("/v1/submissions", files=parts)
    assert r.status_code == 202, r.text
    assert _wait_done(client, r.json()["id"])["status"] == "done"
    report = client.get(r.json()["links"]["report_json"]).json()
    too_large = [f for f in report["findings"] if f["code"] == "file_too_large"]
    assert [f["field"] for f in too_large] == [f"file:{name}"]
    assert report["attachments"][0]["size"] == len(data)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"operators": [{"id_number": "' + SECRET_ID.encode() + b'"', "line 1"),
        (
            json.dumps({"operators": [{"id_number": int(SECRET_ID[:-1])}]}).encode(),
            "operators.0.id_number",
        ),
        (
            json.dumps({"legal_person": {"mobile": int(SECRET_PHONE)}}).encode(),
            "legal_person.mobile",
        ),
    ],
    ids=["not-json", "id-number-wrong-type", "mobile-wrong-type"],
)
def test_malformed_submission_is_422_with_path_and_no_values(
    client: httpx.Client, payload: bytes, expected: str
) -> None:
    r = client.post(
        "/v1/submissions", files=[("submission", ("submission.json", payload, "application/json"))]
    )
    assert r.status_code == 422
    text = r.text
    assert expected in text
    assert SECRET_ID[:-1] not in text and SECRET_PHONE not in text


def test_archive_without_submission_json_is_422(client: httpx.Client) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("营业执照.jpg", _jpeg())
    r = client.post(
        "/v1/submissions", files={"archive": ("a.zip", buf.getvalue(), "application/zip")}
    )
    assert r.status_code == 422
    assert "submission.json" in r.json()["detail"]["message"]


def test_not_multipart_is_415(client: httpx.Client) -> None:
    r = client.post(
        "/v1/submissions", content=_submission(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 415


def test_uploads_are_stored_under_generated_names(
    client: httpx.Client, server: LocalServer
) -> None:
    r = client.post("/v1/submissions", files=upload_parts(SAMPLES / CASES[0] / "submission"))
    assert r.status_code == 202
    job_id = r.json()["id"]
    job = JobStore(server.data / "jobs.sqlite3").get(job_id)
    assert job is not None and job.upload == f"{job_id}.zip"
    _wait_done(client, job_id)
    # Deleted once the result is recorded: the report keeps what a reviewer needs.
    _until_gone(server.data / "uploads" / job.upload)


def _until_gone(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists(), path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_at_rest_is_private(client: httpx.Client, server: LocalServer) -> None:
    r = client.post("/v1/submissions", files=upload_parts(SAMPLES / CASES[0] / "submission"))
    assert r.status_code == 202
    assert _wait_done(client, r.json()["id"])["status"] == "done"
    data = server.data
    folders = [data, data / "uploads", data / "reports"]
    folders += [p for p in (data / "reports").rglob("*") if p.is_dir()]
    assert {str(f): _mode(f) for f in folders} == {str(f): 0o700 for f in folders}
    files = [p for p in (data / "reports").rglob("*") if p.is_file()]
    files += [p for p in (data / "uploads").iterdir() if p.is_file()]
    reports = [p for p in files if p.name in ("report.json", "report.html")]
    assert len(reports) >= 2
    # The -wal and -shm files exist while a connection is open (SQLite removes them
    # with the last one); SQLite gives them the mode of the database file.
    with contextlib.closing(sqlite3.connect(data / "jobs.sqlite3")) as con:
        assert con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] >= 1
        files += [data / f"jobs.sqlite3{suffix}" for suffix in ("", "-wal", "-shm")]
        assert {str(f): _mode(f) for f in files} == {str(f): 0o600 for f in files}


def _nested(depth: int) -> bytes:
    return b'{"remarks": ' + b"[" * depth + b"]" * depth + b"}"


def _archive_of(submission: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("submission.json", submission)
        zf.writestr("营业执照.jpg", _jpeg())
    return buf.getvalue()


_HUGE_INT = b'{"submission_id": "x", "remarks": ' + b"7" * 5000 + b"}"


@pytest.mark.parametrize(
    "files",
    [
        {"archive": ("a.zip", b"PK\x03\x04 but not a zip at all", "application/zip")},
        {"archive": ("a.zip", b"%PDF-1.7\n", "application/zip")},
        {"archive": ("a.zip", _archive_of(_nested(100_000)), "application/zip")},
        {"archive": ("a.zip", _archive_of(_HUGE_INT), "application/zip")},
        {"submission": ("submission.json", _nested(100_000), "application/json")},
        {"submission": ("submission.json", _HUGE_INT, "application/json")},
    ],
    ids=[
        "archive-not-zip",
        "archive-is-pdf",
        "archive-nested-json",
        "archive-5000-digits",
        "multipart-nested-json",
        "multipart-5000-digits",
    ],
)
def test_hostile_upload_is_422_and_leaves_no_file(
    client: httpx.Client, server: LocalServer, files: dict[str, tuple[str, bytes, str]]
) -> None:
    before = {p.name for p in (server.data / "uploads").iterdir()}
    r = client.post("/v1/submissions", files=files)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert " / " in detail["message"]  # Chinese, then English
    assert ".tmp" not in r.text and not re.search(r"[0-9a-f]{32}", r.text)  # no temp name
    left = {p.name for p in (server.data / "uploads").iterdir()} - before
    assert not any(n.startswith(".") for n in left), left
    assert not {n for n in left if n.endswith(".zip")} - {
        j.upload for j in JobStore(server.data / "jobs.sqlite3").all_jobs()
    }


def test_chunked_body_over_limit_is_413(client: httpx.Client) -> None:
    # No Content-Length: the limit is enforced while the body streams in.
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(8):  # 8 MiB, over the 6 MiB limit
            yield b"\0" * MIB
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        "/v1/submissions",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413
    assert "request body is over the limit" in r.json()["detail"]


def test_unsafe_file_name_stays_inside_the_upload(
    client: httpx.Client, server: LocalServer
) -> None:
    name = "../../escaped.jpg"
    parts = [
        ("submission", ("submission.json", _submission(), "application/json")),
        ("files", (name, _jpeg(), "image/jpeg")),
    ]
    r = client.post("/v1/submissions", files=parts)
    assert r.status_code == 202, r.text
    assert _wait_done(client, r.json()["id"])["status"] == "done"
    report = client.get(r.json()["links"]["report_json"]).json()
    (att,) = report["attachments"]
    assert att["file"] == name and att["status"] == "unreadable"
    assert not list(server.data.parent.rglob("escaped.jpg"))


# ------------------------------------------------------------------------- logs


def test_logs_carry_no_unmasked_numbers(client: httpx.Client, server: LocalServer) -> None:
    # Runs last in this module: the log holds every request above (the 422s, the 413
    # naming a phone number, the worker reading a file named with one).
    assert client.get("/healthz").status_code == 200
    log = server.log()
    assert "upload refused (422)" in log and "upload refused (413)" in log
    assert "139****5678" in log  # the masked form is there, so the line was logged
    secrets = {SECRET_ID, SECRET_ID[:-1], SECRET_PHONE}
    for case in CASES:
        sub = json.loads((SAMPLES / case / "submission" / "submission.json").read_text("utf-8"))
        for person in [sub.get("legal_person") or {}, *sub.get("operators", [])]:
            secrets |= {v for k in ("id_number", "mobile") if (v := person.get(k))}
    leaked = sorted(s for s in secrets if s in log)
    assert not leaked
