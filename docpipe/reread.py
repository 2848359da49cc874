"""A second look at a code or number whose first reading failed its check character.

Page OCR reads a credit code or an ID number with the rest of the page, from the image
whose red is faded (``reading.drop_red``). Where the seal's ring crosses a digit, or a
photo is soft, that reading can lose or change a character; the check character then
fails and the field stands in doubt. Here the line that holds the field is cut out of
the page again — straightened along the line, a little wider than its box — and read
once more by the recogniser alone, in two renderings: the original colours, and the
red channel, where red ink vanishes and black ink stays. A reading replaces the first
only when it is an 18-character value that passes its check character and every
reading that passes agrees on it: the check character chooses between readings of the
same image, it never invents a value. Where none passes and every reading is exactly
the first value, surely, on a document the applicant writes (``Checked.typed``: the
form, the letter), the number is the paper's (two digits swapped), not a misreading:
kept sure, marked ``FieldValue.check_failed`` (``misread.same_again``).

Which fields get a second look is derived from the kinds' specs (``checked``): each
field whose role is a checked number (``docpipe.kinds.Role``).

Dates printed under a seal (the license's issue date, the letter's date) have no check
character; a ring across an ``8`` makes it a ``3`` for the page OCR at full confidence.
Their line is read again too (``sealed_dates``: the fields of ``Role.under_seal``), every
cut in both renderings: a first cut that confirms the page at full confidence, every
character scored 1.0, can be as wrong as the page (verify case-7069 of seed 7000
regenerated: 2003 for 2008 at 1.0 in both renderings of the first cut, 2008 in two later
ones). The date stands when every reading
agrees with the page, or every reading in the original colours does (on the work sets
the red channel alone misread three dates, the page and the original colours never
together). Every reading giving one other date replaces it (the page's reading in
``raw``: the ring across an ``8`` faded into a ``3``). Anything else leaves it in doubt,
the other readings in its raw text: the original colours are not trusted alone — a
seal's red stroke across a ``1`` reads ``4`` there (verify case-8087) as surely as faded
ink reads ``3`` for ``8`` in the red channel (accuracy case-5064). Such a doubt is
settled only by the ringless renderings (``ringless``: the ring itself faded, the print
under it kept) all giving one date a usual reading gave. Otherwise a person decides,
never a confident mismatch.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice

import cv2
import numpy as np

from docpipe.checkdigits import is_valid_id, is_valid_uscc
from docpipe.compare import CHAR_DOUBT_BELOW
from docpipe.errors import OcrError
from docpipe.kinds import Role, spec_of, specs
from docpipe.misread import credit_code_shaped, id_number_shaped, same_again
from docpipe.models import BBox, FieldValue
from docpipe.normalize import edit_distance, norm_date, numeral_dates, possible_date
from docpipe.ocr.base import OcrEngine, OcrLine
from docpipe.ocr.lines import recognize_line
from docpipe.seal import redness

log = logging.getLogger(__name__)

# Cuts of the line, each this much wider (left, right) and taller than its box, in line
# heights. The recogniser's reading of a crossed or soft character changes with the
# margins around it (measured on letters whose seal crosses the code: a margin of 0.4
# line heights misread where 0.25 read right, and the other way round on another
# page), so several cuts are read and the check character picks among their readings.
CUTS = ((0.6, 0.25), (0.2, 0.1), (1.0, 0.1))
# A second reading may differ from the first by this many edits (a lost or changed
# character or two), no more.
MAX_EDITS = 3
# How far right of a label the value is looked for when nothing was read after it.
LABEL_REACH = 14.0


@dataclass(frozen=True)
class Checked:
    """A field whose value has a check character: its check, labels and kinds.

    A field no extractor gave is looked for only on the kinds that have it. ``typed``:
    the kinds the applicant writes it on, where a value read the same again that fails
    its check is the paper's; ``shaped``: its length and alphabet, check aside.
    """

    valid: Callable[[str], bool]
    labels: tuple[str, ...]
    kinds: tuple[str, ...]
    typed: tuple[str, ...] = ()
    shaped: Callable[[str], bool] | None = None


# The check and the shape of each role of number (``docpipe.kinds.Role``).
_ROLE_CHECKS: dict[Role, tuple[Callable[[str], bool], Callable[[str], bool]]] = {
    Role.credit_code: (is_valid_uscc, credit_code_shaped),
    Role.id_number: (is_valid_id, id_number_shaped),
}


@cache
def checked(kind: str | None) -> dict[str, Checked]:
    """The fields of ``kind`` whose value has a check character (every kind's for None).

    Derived from the kinds' specs: a field whose role has a check (``_ROLE_CHECKS``),
    its label words, the kinds that have it and those the applicant writes.
    """
    out: dict[str, Checked] = {}
    for spec in specs():
        if kind is not None and spec.kind.value != kind:
            continue
        for f in spec.fields:
            role = next((r for r in _ROLE_CHECKS if f.has(r)), None)
            if role is None:
                continue
            valid, shaped = _ROLE_CHECKS[role]
            seen = out.get(f.name)
            kinds = (*seen.kinds, spec.kind.value) if seen else (spec.kind.value,)
            typed = (*seen.typed,) if seen else ()
            typed += (spec.kind.value,) if spec.typed else ()
            out[f.name] = Checked(valid, f.labels, kinds, typed, shaped)
    return out


def sealed_dates(kind: str) -> tuple[str, ...]:
    """The dates of ``kind`` printed where its seal may stand over them."""
    spec = spec_of(kind)
    return spec.with_role(Role.under_seal) if spec is not None else ()


# Where the original colours sit among a cut's renderings (``renderings``), and how many.
ORIGINAL, RENDERINGS = 0, 2
# Confidence of a date that a second reading contradicts: under compare.DOUBT_BELOW.
CONTRADICTED = 0.6

_RUN = re.compile(r"[0-9A-Z]{18,}")
_DATE = re.compile(r"\d{4}\s*[年.\-/]\s*\d{1,2}\s*[月.\-/]\s*\d{1,2}")


def candidates(text: str) -> list[str]:
    """Every 18-character run of code characters in a reading (NFKC, upper case).

    >>> candidates("统一社会信用代码：91330784579324580n")
    ['91330784579324580N']
    >>> candidates("身份号码 11010519491231002x 其他")
    ['11010519491231002X']
    """
    flat = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()
    out: list[str] = []
    for m in _RUN.finditer(flat):
        run = m.group(0)
        out.extend(run[i : i + 18] for i in range(len(run) - 17))
    return out


def crop_line(
    image: np.ndarray, line: OcrLine, reach: float = 0.0, pad: tuple[float, float] = CUTS[0]
) -> np.ndarray:
    """The line cut out straight: rotated along its long side, padded, RGB uint8.

    ``pad`` is the margin (along, across) in line heights; ``reach`` extends the cut
    to the right by that many line heights (a value printed after its label but not
    detected as text).
    """
    pts = np.asarray(line.poly[:4], np.float32)
    (cx, cy), (w, h), angle = cv2.minAreaRect(pts)
    if w < h:  # minAreaRect's width may be the short side: turn the frame to the line's
        w, h, angle = h, w, angle - 90.0
    rad = math.radians(angle)
    u = np.array([math.cos(rad), math.sin(rad)], np.float32)  # along the line, rightwards
    if u[0] < 0:
        u = -u
    v = np.array([-u[1], u[0]], np.float32)  # across it, downwards
    left, right = pad[0] * h, pad[0] * h + reach * h
    half_h = h / 2 + pad[1] * h
    c = np.array([cx, cy], np.float32)
    tl = c - u * (w / 2 + left) - v * half_h
    tr = c + u * (w / 2 + right) - v * half_h
    bl = c - u * (w / 2 + left) + v * half_h
    out_w, out_h = max(8, round(w + left + right)), max(8, round(2 * half_h))
    src = np.stack([tl, tr, bl]).astype(np.float32)
    dst = np.array([[0, 0], [out_w, 0], [0, out_h]], np.float32)
    matrix = cv2.getAffineTransform(src, dst)
    cut = cv2.warpAffine(
        image, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderValue=(255, 255, 255)
    )
    return np.ascontiguousarray(cut)


def renderings(crop: np.ndarray) -> list[np.ndarray]:
    """The crop as it is, and its red channel (red ink gone, black ink kept)."""
    red = np.ascontiguousarray(np.repeat(crop[..., :1], 3, axis=2))
    return [crop, red]


# Ringless renderings of a line crossed by a seal: the red ink's red channel stretched
# from this share of the ring's brightness (black) to the ring's brightness (white).
RING_LEVELS = (0.75, 0.6)
# How much a pixel's red must exceed its green and blue to be red ink.
_RED_INK = 25


def ringless(crop: np.ndarray, level: float) -> np.ndarray | None:
    """The crop's red channel with the print under a seal's ring brought back.

    ``None`` when the crop holds no red ink (the red channel rendering says it all). A
    stamp over black print leaves the print under its ring only a little darker than
    the ring over paper (red channel ≈ 184 against 224, paper 245, when the stamp is
    heavy): the red channel shows both nearly white. Here the red pixels' red channel
    is stretched from ``level`` × the ring's brightness (its 75th percentile) to the
    ring's brightness: the ring turns white, the print under it dark. Black print
    elsewhere keeps its red channel.
    """
    red = redness(crop) > _RED_INK
    if not red.any():
        return None
    r = crop[..., 0].astype(np.float32)
    ring = float(np.percentile(r[red], 75))
    low = ring * level
    out = r.copy()
    out[red] = np.clip((r[red] - low) / max(ring - low, 1.0) * 255.0, 0.0, 255.0)
    grey = out.astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


class Rereader:
    """Reads cut-out lines of one page image again (cached by content hash, like pages)."""

    def __init__(self, pixels: Callable[[], np.ndarray], engine: OcrEngine) -> None:
        """``pixels`` gives the page in the frame of its boxes, in its original colours."""
        self.pixels = pixels
        self.engine = engine

    def read(self, line: OcrLine, reach: float = 0.0) -> Iterator[OcrLine]:
        """Each cut and rendering of ``line`` read again; nothing when the engine cannot.

        In order: each cut of ``CUTS``, its renderings in ``renderings``' order. Lazily:
        a caller that has seen enough stops the reading.
        """
        image = self.pixels()
        for pad in CUTS:
            yield from self._read_cut(crop_line(image, line, reach, pad), line)

    def read_ringless(self, line: OcrLine, reach: float = 0.0) -> Iterator[OcrLine]:
        """Each cut of ``line`` read in its ringless renderings (``ringless``).

        Nothing when no red ink crosses the line.
        """
        image = self.pixels()
        for pad in CUTS:
            crop = crop_line(image, line, reach, pad)
            images = [img for level in RING_LEVELS if (img := ringless(crop, level)) is not None]
            yield from self._read_images(images, line)

    def _read_cut(self, crop: np.ndarray, line: OcrLine) -> list[OcrLine]:
        return self._read_images(renderings(crop), line)

    def _read_images(self, images: list[np.ndarray], line: OcrLine) -> list[OcrLine]:
        out: list[OcrLine] = []
        for img in images:
            try:
                got = recognize_line(img, self.engine)
            except OcrError as exc:
                log.info("line not read again: %s", exc.message_en)
                continue
            text = "".join(g.text for g in got)
            if got:
                conf = min(g.confidence for g in got)
                chars = got[0].char_confidences if len(got) == 1 else None
                out.append(
                    OcrLine(text=text, poly=line.poly, confidence=conf, char_confidences=chars)
                )
        return out


def confirm(
    fields: dict[str, FieldValue],
    lines: Sequence[OcrLine],
    reread: Callable[[OcrLine, float], Iterable[OcrLine]],
    kind: str | None = None,
    under_seal: Callable[[OcrLine, float], Iterable[OcrLine]] | None = None,
) -> dict[str, FieldValue]:
    """The fields, each checked code or number that fails its check read once more.

    A field keeps its first reading unless the second look finds exactly one valid
    value; then that value stands, with the second reading's confidence and text. A
    field the extractor did not give is looked for only on the kinds that have it
    (``Checked.kinds``; any kind when ``kind`` is None). ``under_seal`` adds readings
    of a line crossed by a seal (``Rereader.read_ringless``): the check character
    still chooses, so more readings can only add candidates to choose among. Measured
    on the accuracy work set: the 5 letters whose credit code the seal's ring had
    hidden from both renderings all read right. No valid reading, and every usual one
    exactly the first value, surely, on a kind the applicant writes: the paper's own
    number, kept sure and marked ``check_failed`` (``misread.same_again``).
    """
    out = dict(fields)
    for name, spec in checked(kind).items():
        first = fields.get(name)
        if first is not None and first.value and spec.valid(first.value):
            continue
        if first is None and kind is not None and kind not in spec.kinds:
            continue  # an authorization letter has no operator_id_number to find
        targets = _lines_for(first, spec.labels, lines)
        seen = [reading for line, reach in targets for reading in reread(line, reach)]
        found = _valid_readings(spec, first, seen)
        if len(found) != 1 and under_seal is not None:
            # The ringless renderings only when the usual two did not settle it.
            found |= _valid_readings(
                spec, first, [r for line, reach in targets for r in under_seal(line, reach)]
            )
        if not found and first is not None and _typed(spec, kind):
            sure = same_again(
                first,
                seen,
                least=RENDERINGS,
                sure=AGREED,
                chars=CHAR_DOUBT_BELOW,
                shaped=spec.shaped,
            )
            if sure is not None:
                log.info("%s read the same again: the document's own number", name)
                out[name] = sure
        if len(found) != 1:
            continue
        ((value, reading),) = found.items()
        box = first.bbox if first is not None and first.bbox else _box(targets[0][0])
        log.info("%s read again: check character now passes", name)
        out[name] = FieldValue(
            value=value,
            confidence=round(reading.confidence, 4),
            bbox=box,
            raw=reading.text,
        )
    return out


def printed_as_is(fields: dict[str, FieldValue], kind: str) -> dict[str, FieldValue]:
    """A text-layer page's failing codes and numbers, marked as the document's own.

    A born-digital page's text is what it prints, not a reading that can be wrong: a
    well-formed number there that fails its check character is the applicant's typo
    (``check_failed``), as a scan's read the same twice is (``confirm``).
    """
    out = dict(fields)
    for name, spec in checked(kind).items():
        fv = fields.get(name)
        if fv is None or not fv.value or spec.valid(fv.value) or kind not in spec.typed:
            continue
        if spec.shaped is not None and spec.shaped(fv.value):
            # Sure: the extractor's doubt was the failing check, and that is the point.
            out[name] = fv.model_copy(update={"check_failed": True, "confidence": 1.0})
    return out


def _typed(spec: Checked, kind: str | None) -> bool:
    """Whether the value stands on a document the applicant writes (kind unknown: all its kinds)."""
    if kind is None:
        return bool(spec.typed) and set(spec.kinds) <= set(spec.typed)
    return kind in spec.typed


def _valid_readings(
    spec: Checked, first: FieldValue | None, readings: Iterable[OcrLine]
) -> dict[str, OcrLine]:
    """Each valid value the readings hold, with its most confident reading."""
    found: dict[str, OcrLine] = {}
    for reading in readings:
        for cand in candidates(reading.text):
            if spec.valid(cand) and (
                cand not in found or reading.confidence > found[cand].confidence
            ):
                found[cand] = reading
    if first is not None and first.value:
        # Another valid value far from what was first read is another code, not this
        # one read better.
        found = {c: r for c, r in found.items() if edit_distance(c, first.value) <= MAX_EDITS}
    return found


def dates_in(text: str) -> list[str]:
    """The dates written in a reading, ISO.

    >>> dates_in("2008年07月27日 局"), dates_in("二〇二五年三月十一日")
    (['2008-07-27'], ['2025-03-11'])
    """
    text = unicodedata.normalize("NFKC", text)
    found = [(m.start(), norm_date(m.group(0))) for m in _DATE.finditer(text)]
    found += [(start, day.isoformat()) for start, _, day in numeral_dates(text)]
    return [d for _, d in sorted(found, key=lambda f: f[0]) if d]


def agree(
    kind: str,
    fields: dict[str, FieldValue],
    lines: Sequence[OcrLine],
    reread: Callable[[OcrLine, float], Iterable[OcrLine]],
    under_seal: Callable[[OcrLine, float], Iterable[OcrLine]] | None = None,
) -> dict[str, FieldValue]:
    """The fields, each date under a seal checked by a second look (module docstring).

    Where the usual readings leave a doubt, ``under_seal`` (``Rereader.read_ringless``)
    may settle it: every ringless reading giving one date that a usual reading gave
    too. On the work sets' four such doubts it read the printed date three times
    (accuracy 5064, verify 7069 and 9021) and split the fourth (8087), which stays a
    doubt.
    """
    out = dict(fields)
    for name in sealed_dates(kind):
        first = fields.get(name)
        if first is None or not first.value or first.bbox is None:
            continue
        targets = _lines_for(first, (), lines)
        if len(targets) != 1:
            continue
        line, reach = targets[0]
        seen = list(reread(line, reach))
        if _confirm(seen, first.value):
            continue
        original = seen[ORIGINAL::RENDERINGS]
        if len(original) == len(CUTS) and _confirm(original, first.value):
            continue  # the red channel alone disagrees: the page and every cut agree
        if (date := one_date(seen, len(CUTS) * RENDERINGS)) is not None:
            log.info("%s: every second reading reads another date", name)
            out[name] = _reread_date(first, date, seen, original)
            continue
        ringless = list(under_seal(line, reach)) if under_seal is not None else []
        date = one_date(ringless, len(CUTS) * len(RING_LEVELS))
        if date is not None and (
            date == first.value or any(dates_in(r.text)[:1] == [date] for r in seen)
        ):
            log.info("%s: the ringless readings settle the date", name)
            out[name] = _reread_date(first, date, ringless, ringless)
            continue
        others = {d for r in seen for d in dates_in(r.text)} - {first.value}
        if others:
            log.info("%s: a second reading gives another date; in doubt", name)
            # A first reading in no year a document can carry (2928 for 2026, acc4
            # 80137) gives way to the one possible date the second readings offer: still
            # in doubt, but not dated centuries ahead.
            possible = sorted(d for d in others if possible_date(d))
            gives_way = not possible_date(first.value) and len(possible) == 1
            out[name] = first.model_copy(
                update={
                    "value": possible[0] if gives_way else first.value,
                    "confidence": min(first.confidence, CONTRADICTED),
                    "raw": f"{first.raw} | 又读作 / also read as: {', '.join(sorted(others))}",
                }
            )
    return out


def one_date(readings: Sequence[OcrLine], count: int | None = None) -> str | None:
    """The date every reading gives first, when they all give one; else ``None``.

    With ``count``, there must be that many readings.

    >>> same = [OcrLine(text="2024年9月1日", poly=[(0, 0)] * 4, confidence=1.0)] * 2
    >>> one_date(same), one_date(same, 3)
    ('2024-09-01', None)
    """
    said = {tuple(dates_in(r.text)[:1]) for r in readings}
    if not readings or (count is not None and len(readings) != count):
        return None
    if len(said) != 1 or () in said:
        return None
    ((date,),) = said
    return date


def _reread_date(
    first: FieldValue, date: str, readings: list[OcrLine], shown: list[OcrLine]
) -> FieldValue:
    """``date`` as the second looks read it, the page's reading kept in ``raw``."""
    if date == first.value:
        return first
    return FieldValue(
        value=date,
        confidence=round(min(r.confidence for r in readings), 4),
        bbox=first.bbox,
        raw=" | ".join([*(r.text for r in shown), f"页面读作 / page read: {first.raw}"]),
    )


def _confirm(readings: list[OcrLine], date: str) -> bool:
    """Every reading gives ``date`` first."""
    return all(dates_in(r.text)[:1] == [date] for r in readings)


def _box(line: OcrLine) -> BBox:
    x0, y0, x1, y1 = line.bbox
    return (round(x0), round(y0), round(x1), round(y1))


def _lines_for(
    first: FieldValue | None, labels: tuple[str, ...], lines: Sequence[OcrLine]
) -> list[tuple[OcrLine, float]]:
    """The lines to read again: the one under the value's box, else its label's line."""
    if first is not None and first.bbox is not None:
        bx0, by0, bx1, by1 = first.bbox
        best: tuple[float, OcrLine] | None = None
        for ln in lines:
            x0, y0, x1, y1 = ln.bbox
            inter = max(0.0, min(x1, bx1) - max(x0, bx0)) * max(0.0, min(y1, by1) - max(y0, by0))
            if inter > 0 and (best is None or inter > best[0]):
                best = (inter, ln)
        # A value wrapped over two lines is not one line's reading: left as it is. (Box
        # heights compared: a line photographed askew has a box taller than its text.)
        if best is not None and (by1 - by0) < 1.3 * (best[1].bbox[3] - best[1].bbox[1]):
            return [(best[1], 0.0)]
        return []
    out: list[tuple[OcrLine, float]] = []
    for ln in lines:
        if any(lb in ln.text for lb in labels):
            # A label with nothing code-like after it: the value was not detected.
            bare = len(re.findall(r"[0-9A-Za-z]", ln.text)) < 10
            out.append((ln, LABEL_REACH if bare else 0.0))
    return out[:2]


# A line of the page read below this is read again (``refresh_weak``), when it is at
# least ``WEAK_WIDE`` line heights wide (a short box: a three-character name cut short
# by the detector, 谢阳翀 read 日 at 0.37 in an 83 × 35 px box, verify case-6086; an
# address's last line 0号 read 0 at 0.73 in a 67 × 48 px box, accuracy case-7310); at
# most ``MAX_WEAK`` lines a page, weakest first.
WEAK_LINE, MAX_WEAK, WEAK_WIDE = 0.8, 6, 1.2
# The second reading replaces the first when both renderings of the first cut agree at
# this confidence or more.
AGREED = 0.9
AGREE_READINGS = RENDERINGS


def refresh_weak(
    lines: Sequence[OcrLine], reread: Callable[[OcrLine, float], Iterable[OcrLine]]
) -> list[OcrLine]:
    """The page's lines, each weak one replaced by a confident second reading.

    The page OCR reads a whole line badly now and then (``兹委托…（身份证号码：…）前往``
    read as ``50：`` at 0.61; ``公民身份号码`` as ``公号`` at 0.36); the same box cut out
    and read alone, in both renderings, gives the line. Measured on 40 generated cases:
    23 weak lines, 10 replaced, each by the text printed there.
    """
    weak = sorted(
        (ln for ln in lines if ln.confidence < WEAK_LINE and _wide(ln)),
        key=lambda ln: ln.confidence,
    )[:MAX_WEAK]
    better: dict[int, OcrLine] = {}
    for line in weak:
        readings = list(islice(reread(line, 0.0), AGREE_READINGS))
        texts = {re.sub(r"\s+", "", unicodedata.normalize("NFKC", r.text)) for r in readings}
        page_text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", line.text))
        # A box of one or two characters read the same again is no surer for it: it
        # stays the page's, weak (佳址 for 住址 keeps the doubt that lets the card's
        # label be mended). A longer line read the same twice is (an ID number at 0.78).
        if (
            len(readings) == AGREE_READINGS
            and len(texts) == 1
            and (texts != {page_text} or len(page_text) > 2)
            and all(r.confidence >= AGREED for r in readings)
        ):
            best = max(readings, key=lambda r: r.confidence)
            better[id(line)] = line.model_copy(
                update={
                    "text": best.text,
                    "confidence": min(r.confidence for r in readings),
                    "char_confidences": best.char_confidences,
                }
            )
    return [better.get(id(ln), ln) for ln in lines]


def _wide(line: OcrLine) -> bool:
    x0, y0, x1, y1 = line.bbox
    return max(x1 - x0, y1 - y0) >= WEAK_WIDE * line.height
