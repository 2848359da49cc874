"""A second look beside a label: what the page OCR missed or misread in the label's row.

The detector can miss a short value (``IC卡`` in a form's cell, a two-character name on
an ID card) or read it badly; the label's row is cut out wider and read again by the
recogniser alone (``Region.reread``: several cuts, two renderings). The text after the
label that most readings agree on is the value, when at least two agree and the
field's parser accepts its shape.
"""

from __future__ import annotations

from collections.abc import Callable

from docpipe.extract import Region
from docpipe.layout import Hit, Turn, clean
from docpipe.models import FieldValue
from docpipe.ocr.base import OcrLine
from extractors._forms import fv

# Confidence factor for a value read beside its label on a second look.
BESIDE = 0.95


def beside(
    region: Region, hit: Hit | None, back: Turn, reach: float, *, again: bool = False
) -> tuple[str, float] | None:
    """The text most second readings agree on right of ``hit``'s label, and its confidence.

    ``back`` takes the extractor's (levelled) frame to the page's; ``reach`` is how far
    right the row is read, in line heights. Only for a label without a value, or, with
    ``again``, one whose value stands in the label's row (a doubtful reading of the
    cell beside it read once more). ``None`` without two agreeing readings.
    """
    if hit is None or region.reread is None:
        return None
    if hit.spans and not (again and on_label_row(hit)):
        return None
    x0, y0, x1, y1 = hit.label_bbox
    if hit.spans:
        # Read as far as the first reading went, and a little more: a long name cut
        # short would still have the shape of a name.
        end = max(s.bbox[2] for s in hit.spans)
        reach = max(reach, (end - x1) / max(y1 - y0, 1.0) + 1.5)
    poly = [back.point(p) for p in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    label = OcrLine(text="", poly=poly, confidence=1.0)
    votes: dict[str, list[float]] = {}
    for reading in region.reread(label, reach):
        text = clean(reading.text)
        for variant in sorted(hit.label.variants, key=len, reverse=True):
            if text.startswith(variant):
                text = text[len(variant) :]
                break
        text = text.lstrip(":：|")
        if text:
            votes.setdefault(text, []).append(reading.confidence)
    if not votes:
        return None
    text, confs = max(votes.items(), key=lambda kv: (len(kv[1]), max(kv[1])))
    if len(confs) < 2:
        return None
    return text, max(confs) * BESIDE


def on_label_row(hit: Hit) -> bool:
    """Every piece of the value stands in the label's row (not under it)."""
    _, ly0, _, ly1 = hit.label_bbox
    for s in hit.spans:
        _, y0, _, y1 = s.bbox
        if min(ly1, y1) - max(ly0, y0) < 0.5 * min(ly1 - ly0, y1 - y0):
            return False
    return True


def beside_value(
    region: Region,
    hit: Hit | None,
    back: Turn,
    parse: Callable[[str], str | None],
    *,
    reach: float,
    again: bool = False,
) -> FieldValue | None:
    """A value read beside its label on a second look, when ``parse`` accepts its shape.

    Its box is the label's, in the extractor's frame (the caller turns its values back).
    """
    got = beside(region, hit, back, reach, again=again)
    if got is None or hit is None:
        return None
    value = parse(got[0])
    if value is None:
        return None
    return fv(value, got[1], hit.label_bbox, got[0])
