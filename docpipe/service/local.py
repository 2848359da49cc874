"""Run ``docpipe serve`` as a child process on a free loopback port (tests, benchmarks).

The child gets its own session, so :meth:`LocalServer.kill` can SIGKILL the server and
its workers together (a machine crash), and :meth:`LocalServer.stop` ends it politely.
Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

HOST = "127.0.0.1"

#: One multipart part as httpx takes it: (field, (file name, content, media type)).
Part = tuple[str, tuple[str, bytes, str]]


def upload_parts(folder: Path, extra: list[tuple[str, bytes]] | None = None) -> list[Part]:
    """A submission folder as the multipart parts of ``POST /v1/submissions``.

    ``submission.json`` is the ``submission`` part, every other file (and ``extra``, as
    (name, content)) a ``files`` part.
    """
    parts: list[Part] = [
        (
            "submission",
            ("submission.json", (folder / "submission.json").read_bytes(), "application/json"),
        )
    ]
    for f in sorted(folder.iterdir()):
        if f.name != "submission.json":
            parts.append(("files", (f.name, f.read_bytes(), "application/octet-stream")))
    parts += [("files", (name, data, "application/octet-stream")) for name, data in extra or []]
    return parts


def zip_folder(folder: Path) -> bytes:
    """A submission folder as one zip (the ``archive`` upload), its files at the top."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return buf.getvalue()


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class LocalServer:
    """One ``docpipe serve`` child process (``verbosity``: how many ``-v``, at least one)."""

    def __init__(
        self,
        data: Path,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        log_file: Path | None = None,
        extra_args: list[str] | None = None,
        verbosity: int = 1,
    ) -> None:
        self.data = data
        self.verbosity = max(verbosity, 1)
        self.workers = workers
        self.env = {**os.environ, **(env or {})}
        self.log_file = log_file or data.parent / f"{data.name}-server.log"
        self.extra_args = extra_args or []
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43121``."""
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 60.0) -> LocalServer:
        """Start the server and wait until ``/healthz`` shows every worker ready."""
        self.port = free_port()
        cmd = [
            sys.executable,
            "-c",
            "from docpipe.cli import main; main()",
            "-" + "v" * self.verbosity,
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--data",
            str(self.data),
            *self.extra_args,
        ]
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    body = resp.read().decode()
                if f'"workers_ready":{self.workers}' in body:
                    return self
            time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"server not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        """What the server wrote to stdout and stderr so far."""
        try:
            return self.log_file.read_text("utf-8", errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the server and its workers at once (its whole session)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._reap_group()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait for a clean exit, SIGKILL what is left; return the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        code = self.proc.poll()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers left behind, if any
        if code is None:
            self.proc.wait(timeout=10)
        self._reap_group()
        return code

    def _reap_group(self, timeout: float = 10.0) -> None:
        """Wait until no process of the session is left (workers die with the server)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.group_pids() and time.monotonic() < deadline:
            time.sleep(0.05)

    def group_pids(self) -> list[int]:
        """Live (not zombie) processes of the server's session: server, workers, helpers."""
        if self.proc is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                # /proc/<pid>/stat: "pid (comm) state ppid pgrp session ..."
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == self.proc.pid and fields[0] != "Z":
                    pids.append(int(entry.name))
        return sorted(pids)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes together (Linux ``/proc``)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total
