"""Settings of the service: command-line options over environment over a config file.

The config file is TOML (``--config FILE`` or ``DOCPIPE_CONFIG``) with the keys of
:class:`Settings` (``token``, ``max_body_bytes``, ``max_file_bytes``, ``max_files``,
``max_queued``, ``retry_after``, ``lease_seconds``, ``max_attempts``). The environment
overrides it: ``DOCPIPE_TOKEN``, ``DOCPIPE_MAX_BODY_BYTES``, ``DOCPIPE_MAX_FILE_BYTES``,
``DOCPIPE_MAX_FILES``, ``DOCPIPE_MAX_QUEUED``, ``DOCPIPE_RETRY_AFTER``,
``DOCPIPE_LEASE_SECONDS``, ``DOCPIPE_MAX_ATTEMPTS``.

Test hook: ``DOCPIPE_SERVICE_JOB_DELAY=<seconds>`` makes a worker sleep that long after
claiming each job, so a test can kill the service while jobs are running.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docpipe.errors import ConfigError

MIB = 1024 * 1024
CONFIG_ENV = "DOCPIPE_CONFIG"
TOKEN_ENV = "DOCPIPE_TOKEN"
DELAY_ENV = "DOCPIPE_SERVICE_JOB_DELAY"


@dataclass(frozen=True)
class Settings:
    """Everything the app and the workers need; picklable for the worker processes."""

    data_dir: Path
    token: str | None = None
    workers: int = 1
    engine: str | None = None
    #: A whole request; bigger bodies are refused with 413 before they are stored.
    max_body_bytes: int = 50 * MIB
    #: One attachment. Far above the 2 MB portal rule, which is a finding, not a refusal.
    max_file_bytes: int = 20 * MIB
    max_files: int = 50
    #: Queued (not yet running) jobs beyond which uploads get 429.
    max_queued: int = 100
    retry_after: int = 5
    #: A running job whose worker stopped renewing its lease this long is taken again.
    lease_seconds: float = 60.0
    #: A job whose worker died this many times is failed instead of retried (poison input).
    max_attempts: int = 3
    poll_seconds: float = 0.2
    job_delay: float = 0.0

    @property
    def db_path(self) -> Path:
        """The SQLite job store."""
        return self.data_dir / "jobs.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        """Uploads, one zip per job under a generated name."""
        return self.data_dir / "uploads"

    @property
    def reports_dir(self) -> Path:
        """Reports, ``<job id>/<attempt>/report.{json,html}``."""
        return self.data_dir / "reports"


_INT_KEYS = {"max_body_bytes", "max_file_bytes", "max_files", "max_queued", "retry_after"}
_INT_KEYS |= {"max_attempts", "workers"}
_FLOAT_KEYS = {"lease_seconds", "poll_seconds", "job_delay"}
_FILE_KEYS = {"token", "engine"} | _INT_KEYS | _FLOAT_KEYS
_ENV = {
    "token": TOKEN_ENV,
    "max_body_bytes": "DOCPIPE_MAX_BODY_BYTES",
    "max_file_bytes": "DOCPIPE_MAX_FILE_BYTES",
    "max_files": "DOCPIPE_MAX_FILES",
    "max_queued": "DOCPIPE_MAX_QUEUED",
    "retry_after": "DOCPIPE_RETRY_AFTER",
    "lease_seconds": "DOCPIPE_LEASE_SECONDS",
    "max_attempts": "DOCPIPE_MAX_ATTEMPTS",
    "job_delay": DELAY_ENV,
}


def _coerce(key: str, value: Any, source: str) -> Any:
    try:
        if key in _INT_KEYS:
            number = int(value)
            if number < 1:
                raise ValueError("must be at least 1")
            return number
        if key in _FLOAT_KEYS:
            real = float(value)
            if real < 0:
                raise ValueError("must not be negative")
            return real
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {key} is not valid ({exc})", f"{source}：{key} 无效") from exc
    text = str(value).strip()
    return text or None


def load_settings(
    data_dir: Path,
    *,
    config_file: Path | None = None,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings: ``overrides`` (CLI, None = unset) > environment > config file.

    Raises ``ConfigError`` for an unreadable config file, an unknown key or a bad value.
    """
    environ = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = config_file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"cannot read config file {path}: {exc}", f"无法读取配置文件 {path}"
            ) from exc
        unknown = sorted(set(raw) - _FILE_KEYS)
        if unknown:
            raise ConfigError(f"{path}: unknown keys {unknown}", f"{path}：未知配置项 {unknown}")
        values.update({k: _coerce(k, v, str(path)) for k, v in raw.items()})
    for key, name in _ENV.items():
        if environ.get(name):
            values[key] = _coerce(key, environ[name], name)
    for key, value in overrides.items():
        if value is not None:
            values[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    return Settings(data_dir=Path(data_dir).resolve(), **values)


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` only listens on this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.5"), is_loopback("example.org")
    (False, False, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name could resolve anywhere


def bind_problem(host: str, token: str | None) -> str | None:
    """Why the service must not bind to ``host``; None when it may.

    >>> bind_problem("0.0.0.0", None) is not None, bind_problem("0.0.0.0", "s3cret")
    (True, None)
    """
    if token or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without a token: set {TOKEN_ENV} or 'token' in the "
        "config file, or listen on 127.0.0.1"
    )


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with ``changes``."""
    return dataclasses.replace(settings, **changes)
