"""Budgets of one review: wall time per file and per submission, decoded pixels in all.

Over a pixel, page or operation limit a file is refused (``FileUnreadable``, an error:
the file itself is at fault). Over its time budget it is not: a legitimate file on a
loaded machine can be slow, so the file gets a ``not_found`` warning that a person must
read it (``TimeBudgetExceeded``), and the rest of the submission goes on.

A file's budget covers each of its steps (decoding and rendering in the contained
child, then OCR page by page, checked between pages: one page's OCR is not cut short);
the submission's budget caps every file's and the per-submission steps after reading.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

#: Seconds one file may take to be decoded, or to be read (``DOCPIPE_FILE_SECONDS``).
FILE_SECONDS = float(os.environ.get("DOCPIPE_FILE_SECONDS", "60"))
#: Seconds one submission may take in all (``DOCPIPE_SUBMISSION_SECONDS``).
SUBMISSION_SECONDS = float(os.environ.get("DOCPIPE_SUBMISSION_SECONDS", "300"))
#: Decoded page pixels one submission may hold (``DOCPIPE_SUBMISSION_MEGAPIXELS``). Every
#: page is held decoded until the report is written: twelve 40 MP images took 2.7 GB,
#: two hundred would take 45. Ten 12 MP phone photos are 120 MP.
SUBMISSION_PIXELS = int(os.environ.get("DOCPIPE_SUBMISSION_MEGAPIXELS", "400")) * 1_000_000


@dataclass
class Budget:
    """The clock of one review (``time.monotonic`` seconds)."""

    file_seconds: float = FILE_SECONDS
    submission_seconds: float = SUBMISSION_SECONDS
    started: float = field(default_factory=time.monotonic)
    pixels: int = SUBMISSION_PIXELS

    @property
    def submission_deadline(self) -> float:
        """When the whole review must be done."""
        return self.started + self.submission_seconds

    def file_deadline(self) -> float:
        """When a file step starting now must be done: its own budget, within the submission's.

        >>> b = Budget(file_seconds=5, submission_seconds=60, started=100.0)
        >>> b.submission_deadline
        160.0
        """
        return min(time.monotonic() + self.file_seconds, self.submission_deadline)

    def spent(self) -> bool:
        """Whether the submission's budget is used up."""
        return time.monotonic() >= self.submission_deadline
