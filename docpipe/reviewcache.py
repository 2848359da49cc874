"""A whole review remembered: the same submission reviewed again is read from disk.

The OCR cache (``docpipe.ocr.cache``) saves the model's time, but a review also decodes
every page, reads the layout, extracts, looks again at weak lines and runs the rules:
0.5–1 s a submission that the second review of the same bytes would spend for the same
report. With ``DOCPIPE_CACHE_DIR`` set, the report of a review is kept under
``<dir>/reviews``, keyed by everything the report depends on:

- the bytes of every attachment (their sha256, as intake lists them) and their names,
  the submission's filed values and its id, what intake refused;
- the reference date the rules judged by (today, unless one is given or filed);
- docpipe's own code (a hash of its source files and templates, computed once a
  process), its ``DOCPIPE_*`` settings, and the engine's configuration and versions
  (its ``cache_tag``).

Only a complete review is kept: not one that ran out of time (another day may have
more of it), not one that failed internally, not one read by an engine that does not
name its configuration (the test fakes). The evidence crops of a report read from the
cache are cut from the pages decoded again when the HTML asks for them, in the frame
the boxes were measured in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

from docpipe.atomic import write_text_atomic
from docpipe.errors import DocpipeError, InternalError, TimeBudgetExceeded
from docpipe.intake import AttachmentFile, Intake
from docpipe.models import Report
from docpipe.ocr.base import OcrPage

log = logging.getLogger(__name__)

FORMAT = 1
# Settings that change how fast or where a review runs, never what it reports.
# (The engine's own settings are in its cache_tag; the service's are the HTTP side's.)
NOT_IN_KEY = frozenset(
    {"DOCPIPE_CACHE_DIR", "DOCPIPE_WORKERS", "DOCPIPE_OCR_THREADS", "DOCPIPE_ENGINE"}
    | {"DOCPIPE_OCR_ENGINE", "DOCPIPE_OCR_REPLAY", "DOCPIPE_LOG_LEVEL", "DOCPIPE_TOKEN"}
    | {"DOCPIPE_CONFIG", "DOCPIPE_RETRY_AFTER", "DOCPIPE_LEASE_SECONDS", "DOCPIPE_MAX_ATTEMPTS"}
    | {"DOCPIPE_MAX_QUEUED", "DOCPIPE_SERVICE_JOB_DELAY"}
)
_PACKAGES = ("docpipe", "extractors", "validators")


def cache_dir() -> Path | None:
    """``<DOCPIPE_CACHE_DIR>/reviews``, or ``None`` when no cache is set."""
    value = os.environ.get("DOCPIPE_CACHE_DIR")
    return Path(value) / "reviews" if value else None


@cache
def code_fingerprint() -> str:
    """A hash of docpipe's source files and templates: another code, another review."""
    h = hashlib.sha256(f"format {FORMAT}".encode())
    root = Path(__file__).resolve().parent.parent
    for package in _PACKAGES:
        base = root / package
        for path in sorted(base.rglob("*")):
            if path.suffix in (".py", ".html", ".j2", ".css", ".json") and path.is_file():
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def review_key(intake: Intake, reference_date: date, engine_tag: str) -> str:
    """The key of one review: a hash of all that its report depends on."""
    sub = intake.submission
    settings = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith("DOCPIPE_") and k not in NOT_IN_KEY
    )
    what = {
        "code": code_fingerprint(),
        "engine": engine_tag,
        "settings": settings,
        "reference_date": reference_date.isoformat(),
        "id": intake.submission_id,
        "submission": sub.model_dump(mode="json") if sub is not None else None,
        "submission_error": str(intake.submission_error) if intake.submission_error else None,
        "files": [(f.name, f.size, f.sha256) for f in intake.files],
        "refused": sorted(
            (name, type(err).__name__, err.message_en) for name, err in intake.file_errors.items()
        ),
        "skipped": list(intake.skipped),
    }
    return hashlib.sha256(json.dumps(what, ensure_ascii=False).encode()).hexdigest()


@dataclass
class PageFrame:
    """Where a page's boxes were measured: its scale and turn after decoding."""

    file: str
    number: int
    scale: float
    rotation: int
    width: int  # upright, as OCR saw it
    height: int


@dataclass
class StoredPage:
    """A page of a review read from the cache, decoded only when its pixels are asked for."""

    frame: PageFrame
    attachment: AttachmentFile
    _opened: dict[str, Any] = field(default_factory=dict, repr=False)

    def image(self) -> Image.Image:
        """The page pixels in the frame of the report's boxes (decoded, scaled, turned)."""
        from docpipe.pages import open_pages
        from docpipe.reading import ReadPage

        f = self.frame
        pages = self._opened.get(f.file)
        if pages is None:
            pages = self._opened[f.file] = open_pages(self.attachment)
        seen = OcrPage(width=f.width, height=f.height, rotation=f.rotation)
        return ReadPage(pages[f.number - 1], seen, f.scale).image()  # as the reading cut it


def load(key: str, intake: Intake) -> tuple[Report, dict[tuple[str, int], StoredPage]] | None:
    """The report kept under ``key`` and its pages (decoded lazily); ``None`` on a miss."""
    base = cache_dir()
    if base is None:
        return None
    path = base / key[:2] / f"{key}.json"
    try:
        data = json.loads(path.read_text("utf-8"))
        report = Report.model_validate(data["report"])
        frames = [PageFrame(**f) for f in data["pages"]]
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError) as exc:  # a damaged entry is a miss
        log.info("review cache entry unreadable (%s): reviewing again", type(exc).__name__)
        return None
    files = {f.name: f for f in intake.files}
    opened: dict[str, Any] = {}
    pages = {
        (f.file, f.number): StoredPage(f, files[f.file], opened) for f in frames if f.file in files
    }
    return report, pages


def storable(report: Report, errors: dict[str, DocpipeError]) -> bool:
    """Whether a review is complete enough to be given again as it is."""
    if report.incomplete:
        return False
    return not any(isinstance(e, (TimeBudgetExceeded, InternalError)) for e in errors.values())


def store(key: str, report: Report, frames: list[PageFrame]) -> None:
    """Keep a review's report and its pages' frames under ``key`` (private, atomic)."""
    base = cache_dir()
    if base is None:
        return
    payload = {
        "report": json.loads(report.to_json()),
        "pages": [vars(f) for f in frames],
    }
    # Reports carry personal data: folders 0700, files 0600 (as mkstemp makes them).
    for folder in (base.parent, base, base / key[:2]):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_text_atomic(base / key[:2] / f"{key}.json", json.dumps(payload, ensure_ascii=False))
