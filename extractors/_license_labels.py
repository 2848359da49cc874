"""The license's spaced two-character labels (名　称, 类　型, 住　所) as the OCR leaves them.

The license prints these labels with their characters far apart; the OCR may read one
half only (``称 义乌市…``, a lone ``住``), misread the other (``类`` … ``雨``), or join the
first halves of two rows into one tall box (``名类``). ``split_half_labels`` gives the
layout reader whole labels back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from docpipe.models import BBox
from docpipe.ocr.base import OcrLine

# Two-character labels are printed spaced out (名　　称); the OCR may lose one half.
_HALVES = {"名": "名称", "称": "名称", "类": "类型", "型": "类型", "住": "住所", "所": "住所"}
# Below this a one-character box beside a lone label half is that label's other half.
_HALF_DOUBT = 0.6
_HALF_LINE = re.compile(r"^\s*(\S)(?:\s+(\S.*))?$")


def split_half_labels(lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Restore a spaced two-character label of which the OCR read only one character.

    ``称 义乌市…`` (名 lost) becomes a label box ``名称`` and a value box; a lone ``住``
    becomes ``住所`` — unless the other half stands in its own box in the same row, in
    which case the layout reader joins the two halves itself. A lone first half whose
    second half was misread (``类`` … ``雨`` at 0.36 for 型) takes that box as its half.
    """
    out: list[OcrLine] = []
    lines = [piece for line in lines for piece in _unstack(line, lines)]
    misread = {id(h) for line in lines if (h := _misread_half(line, lines)) is not None}
    firsts = {id(line): f for line in lines if (f := _misread_first_half(line, lines))}
    misread |= {id(f) for f in firsts.values()}
    for line in lines:
        if id(line) in misread:
            continue
        if (first := firsts.get(id(line))) is not None:
            out.extend(_relabelled(first, line))
            continue
        m = _HALF_LINE.match(line.text)
        full = _HALVES.get(m.group(1)) if m else None
        if m is None or full is None or _other_half_in_row(line, full, lines):
            out.append(line)
            continue
        x0, y0, x1, y1 = line.bbox
        n = max(len(line.text), 1)
        end = line.text.index(m.group(1)) + 1
        value = m.group(2)
        # Both halves read, spaced, in the value's box (名 称 宁波市…, acc3 60016): the
        # label ends after its second half, not its first.
        if value and m.group(1) == full[0] and value[0] == full[1]:
            end = line.text.index(value, end) + 1
            value = value[1:].lstrip()
        cut = x0 + (x1 - x0) * end / n
        out.append(_box(line, full, (x0, y0, cut, y1)))
        if value:
            start = line.text.index(value, end)
            vx = x0 + (x1 - x0) * start / n
            out.append(_box(line, value, (vx, y0, x1, y1)))
    return out


def _misread_half(line: OcrLine, lines: Sequence[OcrLine]) -> OcrLine | None:
    """The box of a spaced label's second half read as another character, if any.

    For a lone first half (``类``): one character, read with low confidence, within
    four character widths to its right in the same row, is its half (``型``) misread.
    """
    text = line.text.strip()
    full = _HALVES.get(text)
    if full is None or text != full[0] or _other_half_in_row(line, full, lines):
        return None
    x1, cy, h = line.bbox[2], line.center[1], line.height
    for o in lines:
        t = o.text.strip()
        near = 0 < o.bbox[0] - x1 < 4 * h and abs(o.center[1] - cy) < 0.6 * h
        if near and len(t) == 1 and o.confidence < _HALF_DOUBT:
            return o
    return None


def _misread_first_half(line: OcrLine, lines: Sequence[OcrLine]) -> OcrLine | None:
    """The box of a spaced label's first half read as another character, if any.

    For a value glued to its label's second half (``所浙江省…``): a lone character
    that is no label half, within four character widths to its left in the same row,
    is the first half misread (``住`` read ``佳``, case 5073).
    """
    text = line.text.strip()
    full = _HALVES.get(text[:1])
    if full is None or text[0] != full[1] or len(text) < 2:
        return None
    x0, cy, h = line.bbox[0], line.center[1], line.height
    for o in lines:
        t = o.text.strip()
        near = 0 < x0 - o.bbox[2] < 4 * h and abs(o.center[1] - cy) < 0.6 * h
        if near and len(t) == 1 and t not in _HALVES:
            return o
    return None


def _relabelled(first: OcrLine, line: OcrLine) -> list[OcrLine]:
    """The whole label (from the misread first half to the second) and the value after it."""
    x0, y0, x1, y1 = line.bbox
    text = line.text.strip()
    full = _HALVES[text[0]]
    start = line.text.index(text[0])
    n = max(len(line.text), 1)
    cut = x0 + (x1 - x0) * (start + 1) / n
    fx0, fy0, _, fy1 = first.bbox
    label = _box(line, full, (fx0, min(fy0, y0), cut, max(fy1, y1)))
    label = label.model_copy(update={"confidence": min(first.confidence, line.confidence)})
    return [label, _box(line, line.text[start + 1 :].strip(), (cut, y0, x1, y1))]


def _unstack(line: OcrLine, lines: Sequence[OcrLine]) -> list[OcrLine]:
    """A box drawn down a column, split into one box per character, top to bottom.

    The detector can join the first halves of the spaced labels 名 称 and 类 型, one
    above the other, into one tall box read ``名类``. Each character's box takes the
    height of the line right of it whose middle falls in its share of the column: the
    tall box reaches past its text (verify seed 9700 case-9759: 名类 at y 371–481, the
    rows at 376–402 and 426–452; cut evenly, 类 stood 14 px below 型：有限责任公司…,
    out of its row, and the enterprise type was unread).
    """
    x0, y0, x1, y1 = line.bbox
    text = line.text.strip()
    if len(text) < 2 or (y1 - y0) < 1.6 * (x1 - x0):
        return [line]
    step = (y1 - y0) / len(text)
    out: list[OcrLine] = []
    for i, c in enumerate(text):
        top, bottom = y0 + i * step, y0 + (i + 1) * step
        row = next((o for o in lines if o.bbox[0] >= x1 and top <= o.center[1] < bottom), None)
        if row is not None:
            top, bottom = row.bbox[1], row.bbox[3]
        out.append(_box(line, c, (x0, top, x1, bottom)))
    return out


def _other_half_in_row(line: OcrLine, full: str, lines: Sequence[OcrLine]) -> bool:
    own = line.text.strip()[:1]
    other = full[1] if own == full[0] else full[0]
    cy, h = line.center[1], line.height
    return any(
        o is not line and o.text.strip().startswith(other) and abs(o.center[1] - cy) < 0.6 * h
        for o in lines
    )


def _box(line: OcrLine, text: str, b: BBox) -> OcrLine:
    x0, y0, x1, y1 = b
    return line.model_copy(update={"text": text, "poly": [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]})
