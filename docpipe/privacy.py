"""Masking of personal data (ID numbers, mobile numbers) for logs and shared pages.

Reports carry the numbers in full for reviewers; everything else — log lines, the
batch index, error messages of the service — shows them masked.
"""

from __future__ import annotations

import logging
import re

# 15-18 character ID-like runs (the 18th may be X) and mainland mobile numbers, not
# glued to other digits so that a 13-digit device number is left alone.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id(number: str | None) -> str:
    """Keep the region code and the last four characters.

    >>> mask_id("330784199001011234")
    '330784********1234'
    >>> mask_id(None)
    ''
    """
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(number: str | None) -> str:
    """Keep the first three and last four digits.

    >>> mask_phone("13800001234")
    '138****1234'
    """
    if not number:
        return ""
    if len(number) < 8:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_text(text: str) -> str:
    """Mask every ID-number-like and mobile-like run in free text.

    >>> mask_text("operator 33078419900101123X, tel 13912345678, device 8900000002345")
    'operator 330784********123X, tel 139****5678, device 8900000002345'
    """
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], text)
    return _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


class MaskingFilter(logging.Filter):
    """Logging filter that masks personal numbers in every record it lets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked, so handlers never see the raw numbers."""
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Attach the masking filter to every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
