"""Masking of personal data (ID numbers, mobile numbers) for logs and shared pages.

Reports carry the numbers in full for reviewers; everything else — log lines, stdout,
the batch index, error messages and the job store of the service — shows them masked.

What counts as a personal number is decided by its shape, not by a bare length, so
that the other long numbers of a submission stay readable:

- an 18-character resident ID number: region code, a birth date ``YYYYMMDD`` at
  positions 7-14, three digits and a check character (digit or ``X``); a run of that
  shape that is a valid credit code and not a valid ID number is left alone;
- a 15-digit ID number of the old format (birth date ``YYMMDD`` at positions 7-12);
- a mainland mobile number ``1[3-9]x xxxx xxxx``, with or without ``-`` or space
  between its groups, with or without the country code (``+86``, ``0086``, ``86-``).

A number glued to letters (``id330784199001011234.jpg``, ``身份证330784199001011234``)
is still masked; a number glued to other digits is part of a longer number and is not
(a 13-digit device number is never a mobile number).
"""

from __future__ import annotations

import logging
import re

from docpipe.archive import printable_name
from docpipe.checkdigits import is_valid_id, is_valid_uscc

_DATE8 = r"(?:18|19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE6 = r"\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# Not glued to other digits; letters and punctuation around are fine.
_ID18_RE = re.compile(rf"(?<!\d)[1-9]\d{{5}}{_DATE8}\d{{3}}[\dXx](?!\d)")
_ID15_RE = re.compile(rf"(?<!\d)[1-9]\d{{5}}{_DATE6}\d{{3}}(?!\d)")
# The country code needs its "+" / "00" or a separator: a bare 86… run is another number.
_MOBILE_RE = re.compile(
    r"(?<!\d)(?P<cc>(?:\+|00)86[-\s]?|86[-\s])?"
    r"(?P<head>1[3-9]\d)(?P<sep>[-\s]?)(?P<mid>\d{4})(?P=sep)(?P<tail>\d{4})(?!\d)"
)


def mask_id(number: str | None) -> str:
    """Keep the region code and the last four characters.

    >>> mask_id("330784199001011234")
    '330784********1234'
    >>> mask_id("330784900101123")
    '330784*****1123'
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


def _id18(match: re.Match[str]) -> str:
    number = match.group(0)
    if is_valid_uscc(number.upper()) and not is_valid_id(number.upper()):
        return number  # a credit code whose digits happen to look like a birth date
    return mask_id(number)


def _mobile(match: re.Match[str]) -> str:
    cc, sep = match.group("cc") or "", match.group("sep")
    return f"{cc}{match.group('head')}{sep}****{sep}{match.group('tail')}"


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number in free text (see the module's shapes).

    >>> mask_text("operator 33078419900101123X, tel 13912345678, device 8900000002345")
    'operator 330784********123X, tel 139****5678, device 8900000002345'

    Glued to letters (a file name, a label) is still a number:

    >>> mask_text("id330784199001011234.jpg 身份证330784199001011234")
    'id330784********1234.jpg 身份证330784********1234'
    >>> mask_text("old card 330784900101123")
    'old card 330784*****1123'

    Mobile numbers with the country code or separators:

    >>> mask_text("+86 13800001234 / +8613800001234 / 86-138-0000-1234")
    '+86 138****1234 / +86138****1234 / 86-138-****-1234'
    >>> mask_text("138-0000-1234, 138 0000 1234, id_13800001234.jpg")
    '138-****-1234, 138 **** 1234, id_138****1234.jpg'

    Credit codes and device numbers stay readable, even when their digits look like a
    birth date, and a mobile-like run inside a longer number is not a mobile number:

    >>> mask_text("91330784579324580M 913307199001010349 8900000002345 8613800001234")
    '91330784579324580M 913307199001010349 8900000002345 8613800001234'
    """
    text = _ID18_RE.sub(_id18, text)
    text = _ID15_RE.sub(lambda m: mask_id(m.group(0)), text)
    return _MOBILE_RE.sub(_mobile, text)


def shown_text(text: str) -> str:
    r"""Text as a terminal or a log line may show it: numbers masked, controls escaped.

    Escaped as file names are shown (``docpipe.archive.printable_name``): a newline
    cannot split a piped line, ESC cannot drive the terminal, U+202E cannot reverse it.

    >>> shown_text("id330784199001011234\n.jpg")
    'id330784********1234\\n.jpg'
    """
    return printable_name(mask_text(text))


class MaskingFilter(logging.Filter):
    """Logging filter that masks personal numbers in every record it lets through.

    The message, the formatted traceback and the stack are masked, and control
    characters in the message are escaped (a file name cannot forge a log line).
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked, so handlers never see the raw numbers."""
        record.msg = shown_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            # A traceback quotes values and file names; the handler would format it raw.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Attach the masking filter to every handler of ``logger`` (default: root).

    Python warnings are routed through logging too, so that they are masked as well.
    """
    target = logger or logging.getLogger()
    logging.captureWarnings(True)
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
