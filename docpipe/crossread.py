"""A name or code read in doubt, looked at again with the other documents' readings.

The same enterprise name and credit code are printed on the license, the application
form and the authorization letter; the same person's name on the license, the ID card,
the form or the letter, the same ID number on the card, the form and the letter. Where
one document's reading is in doubt (the letter's seal across 博 read 售, a soft photo's
淼 read 森, a code that fails its check character), another document may have read it
surely (a code: one that passes its check). That reading is not taken on trust: it is
scored on this field's own line (``docpipe.ocr.ctc``, the line cut as
``docpipe.reread`` cuts it, three cuts in two renderings), against what was read here.
It replaces the reading only when most looks (``MIN_VOTES``) find that it fits the image
about as well as the reading does (``SLACK``; or clearly better, ``GAIN``, where the
reading was sure), and clearly better than any other candidate (``MARGIN``): a value
that differs in a character the image shows plainly scores far below (verify's
one-character-off faults), another person's name by 50 nats or more.

A value taken so (``FieldValue.borrowed``) is still a doubt: the image could not tell the
two apart, so a comparison that finds it equal to the filed value says so as a doubt
(``compare.outcome``), never as a match — the reviewer still looks. Only OCR'd pages are
looked at; a text layer is exact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

import cv2
import numpy as np

from docpipe.checkdigits import is_valid_id, is_valid_uscc
from docpipe.compare import is_doubtful
from docpipe.errors import DocpipeError
from docpipe.kinds import Role, slots
from docpipe.models import DocKind, Document, FieldValue
from docpipe.normalize import edit_distance, norm_text
from docpipe.ocr.base import OcrEngine, OcrLine
from docpipe.ocr.lines import score_line
from docpipe.reading import ReadPage
from docpipe.reread import CUTS, crop_line, renderings

log = logging.getLogger(__name__)

Slot = tuple[DocKind, str]  # a document kind and one of its fields
Found = tuple[Document, str]  # a document and one of its fields


# In nats of support (``ctc.support``) against the reading's own: a candidate fits a
# doubtful reading's image when no more than SLACK below it; a sure reading is replaced
# only by a candidate GAIN above it (the recogniser dropped a character the candidate
# has); the candidate must lead every other by MARGIN; in MIN_VOTES of the six looks.
# Measured on the 15 work sets (358 fields with a candidate; the 4th best look): where
# the candidate was what the page prints, +22 to -49 (-3 to -8: 刘森红 for 刘垚红, a
# code's 5 for 3); where it was not (verify's one-character-off faults), -22 or lower
# for a doubtful reading, but -1.9 for a sure one (石宇洋 on the letter, the form's
# 石字洋 read as surely): hence a wide SLACK and a GAIN above zero.
SLACK, GAIN, MARGIN, MIN_VOTES = 8.0, 3.0, 10.0, 4
# The share of the reading the line must hold where the values are put in its place.
MIN_HELD = 0.6
# Names: a person's name of 2–7 characters one character off, a long enterprise name up
# to a quarter (seed 8400 case-8415: 联围创华（人表）… for 联图创华（永康）…, three).
# Without it, other persons' names made most of the looks: 130 fields looked at in 30
# accuracy submissions for 5 taken, 0.5 s a submission; with it, 0.007 s. Codes: up to
# six of 18 (serif case-5035: 9101080385Q237G, the seal took three); another
# enterprise's code of the same division differs in about ten.
NAME_EDIT_SHARE, CODE_EDIT_SHARE = 4, 3
# The confidence of a value taken from another document: a doubt in the report.
BORROWED_CONFIDENCE = 0.85


@dataclass(frozen=True)
class Group:
    """Fields that hold the same thing on different documents.

    ``valid``, for codes, is their check: a reading that fails it is in doubt however
    sure its characters, and only a candidate that passes it is one.
    """

    slots: tuple[Slot, ...]
    valid: Callable[[str], bool] | None = None
    # A candidate more characters off the reading than one in ``edit_share`` of the
    # longer (at least one) names something else (another person, mostly), not a
    # misreading of it.
    edit_share: int = NAME_EDIT_SHARE


# The roles whose values are read on several documents, with their check and edit share.
_ROLES: tuple[tuple[Role, Callable[[str], bool] | None, int], ...] = (
    (Role.enterprise_name, None, NAME_EDIT_SHARE),
    (Role.person_name, None, NAME_EDIT_SHARE),
    (Role.credit_code, is_valid_uscc, CODE_EDIT_SHARE),
    (Role.id_number, is_valid_id, CODE_EDIT_SHARE),
)


@cache
def groups() -> tuple[Group, ...]:
    """One group a role: every kind's field of that role (``docpipe.kinds``)."""
    return tuple(Group(slots(role), valid, share) for role, valid, share in _ROLES)


def borrow(
    documents: Sequence[Document],
    read_pages: Mapping[tuple[str, int], ReadPage],
    engine: OcrEngine,
) -> list[Found]:
    """Replace doubtful readings by another document's where the image says they fit.

    Returns the (document, field) pairs changed. Candidates are the sure readings
    (``compare.is_doubtful`` false) of the group's other fields on other documents.
    """
    changed: list[Found] = []
    images: dict[tuple[str, int], np.ndarray] = {}  # each page decoded once
    for group in groups():
        members = list(_members(documents, group.slots))
        for doc, field in members:
            fv = doc.fields[field]
            reading = fv.value or ""
            names = _candidates(doc, reading, members, group)
            page = read_pages.get((doc.file, doc.page))
            if not names or page is None or page.ocr.source != "ocr":
                continue
            try:
                # A number failing its check read the same again (``check_failed``) is
                # the paper's: sure, like one that passes.
                valid = group.valid is None or group.valid(reading) or fv.check_failed
                sure = not is_doubtful(fv) and valid
                key = (doc.file, doc.page)
                if key not in images:
                    images[key] = np.asarray(page.image().convert("RGB"))
                got = _chosen(fv, list(names), images[key], page.ocr.lines, sure, engine)
            except (DocpipeError, cv2.error, ValueError) as exc:  # one field, not the review
                log.info("%s p%d %s: not looked at again: %s", doc.file, doc.page, field, exc)
                continue
            if got is None:
                continue
            source = names[got]
            value = _brackets(got, "（" in reading or "）" in reading)
            doc.fields[field] = fv.model_copy(
                update={
                    "value": value,
                    "confidence": min(fv.confidence, BORROWED_CONFIDENCE),
                    "raw": f"{fv.raw or reading} | 同 / as on {source}: {value}",
                    "borrowed": source,
                }
            )
            changed.append((doc, field))
            log.info("%s p%d %s: taken from %s", doc.file, doc.page, field, source)
    return changed


def _candidates(
    doc: Document, reading: str, members: Sequence[Found], group: Group
) -> dict[str, str]:
    """The group's sure readings on other documents: name as first read -> where.

    One per name however written (（） or ()); none that is the reading or too many
    characters off it (``Group.edit_share``), or that fails the group's check.
    """
    own = norm_text(reading)
    seen: dict[str, tuple[str, str]] = {}
    for other, field in members:
        fv = other.fields[field]
        if other is doc or not fv.value or is_doubtful(fv):
            continue
        if group.valid is not None and not group.valid(fv.value):
            continue
        key = norm_text(fv.value)
        limit = max(1, max(len(key), len(own)) // group.edit_share)
        if key != own and edit_distance(key, own) <= limit:
            seen.setdefault(key, (fv.value, f"{other.kind.value}.{field}"))
    return dict(seen.values())


def _members(documents: Sequence[Document], group: Sequence[Slot]) -> Iterator[Found]:
    for doc in documents:
        for kind, field in group:
            fv = doc.fields.get(field)
            if doc.kind == kind and fv is not None and fv.value:
                yield doc, field


def _chosen(
    fv: FieldValue,
    names: list[str],
    image: np.ndarray,
    lines: Sequence[OcrLine],
    sure: bool,
    engine: OcrEngine,
) -> str | None:
    """The candidate most looks at the field's line find fitting; ``None`` when none."""
    reading = fv.value or ""
    line = _line_of(fv, lines)
    if line is None:
        return None
    texts = _texts(line.text, [reading, *names])
    if texts is None:
        return None
    # Every cut in every rendering; cutting is cheap, scoring is what the votes save.
    looks = [look for pad in CUTS for look in renderings(crop_line(image, line, 0.0, pad))]
    votes: dict[int, int] = {}
    for n, look in enumerate(looks):
        # Stop once the count is settled either way.
        lead = max(votes.values(), default=0)
        if lead >= MIN_VOTES or len(looks) - n + lead < MIN_VOTES:
            break
        scores = score_line(look, texts, engine)
        if scores is None or scores[0] is None:
            return None  # the engine cannot score: nothing to go on
        got = [s if s is not None else -np.inf for s in scores[1:]]
        order = sorted(range(len(got)), key=lambda i: -got[i])
        best = order[0]
        if len(order) > 1 and got[best] - got[order[1]] < MARGIN:
            continue
        if got[best] - scores[0] >= (GAIN if sure else -SLACK):
            votes[best] = votes.get(best, 0) + 1
    if not votes:
        return None
    best, count = max(votes.items(), key=lambda kv: kv[1])
    return names[best] if count >= MIN_VOTES else None


def _line_of(fv: FieldValue, lines: Sequence[OcrLine]) -> OcrLine | None:
    """The page line that holds most of the value's box (at least half of it)."""
    if fv.bbox is None:
        return None
    x0, y0, x1, y1 = fv.bbox
    area = max(1.0, (x1 - x0) * (y1 - y0))
    best, share = None, 0.5
    for line in lines:
        lx0, ly0, lx1, ly1 = line.bbox
        inter = max(0.0, min(x1, lx1) - max(x0, lx0)) * max(0.0, min(y1, ly1) - max(y0, ly0))
        if inter / area > share:
            best, share = line, inter / area
    return best


def _texts(line_text: str, values: Sequence[str]) -> list[str] | None:
    """The line's text with each value in the place of what it read there.

    The place is where the first value (the reading) matches the line, fuzzily: a vote
    among second looks may have changed a character (义鸟 for the line's 义乌), a
    bracket may be lost. ``None`` when less than ``MIN_HELD`` of the reading is there.
    Brackets take the line's own form (（义乌） on the page, (义乌) on the form).
    """
    full = "（" in line_text or "）" in line_text
    styled = [_brackets(v, full) for v in values]
    blocks = [
        b
        for b in SequenceMatcher(None, line_text, styled[0], autojunk=False).get_matching_blocks()
        if b.size
    ]
    if not blocks or sum(b.size for b in blocks) < MIN_HELD * len(styled[0]):
        return None
    start, end = blocks[0].a - blocks[0].b, blocks[-1].a + blocks[-1].size
    start = max(0, start)
    return [line_text[:start] + v + line_text[end:] for v in styled]


def _brackets(text: str, full: bool) -> str:
    pairs = (("(", "（"), (")", "）"))
    for ascii_, wide in pairs:
        text = text.replace(ascii_, wide) if full else text.replace(wide, ascii_)
    return text
