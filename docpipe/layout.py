"""Label-anchored reading of key/value layouts from OCR lines.

Documents here print ``label value`` pairs in one or two columns, with labels spaced out
(``名      称``), glued to their value by the OCR (``称杭州市…``) or split over two boxes,
and values that wrap onto the next rows (住所, 经营范围, 住址). ``read_fields`` finds
the labels in each row, takes the text up to the next label as the value, and appends
unlabelled lines below to the field whose value column they stand in. It depends on no
fixed coordinate and no label order, so one reader serves a scan, a photo and a PDF.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from docpipe.models import BBox, FieldValue
from docpipe.ocr.base import OcrLine, Point
from docpipe.tables import Cell, Grid, split_at_rulings

# Punctuation the OCR leaves between a label and its value.
LEAD = " \t:：;；,，.。、|"


def compact(text: str) -> str:
    """A value as printed (full-width kept), without whitespace or leading punctuation.

    >>> compact("：杭州市 高新区（滨江）")
    '杭州市高新区（滨江）'
    """
    return re.sub(r"\s+", "", text).lstrip(LEAD)


def clean(text: str) -> str:
    """NFKC, no whitespace: the form labels and values are compared in.

    >>> clean("名　 称：（副本）")
    '名称:(副本)'
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# A character an OCR may put for another inside a printed label: a letter of any script,
# never a digit, a space or a colon (those start the value).
_ANY_CHAR = r"[^\W\d_]"
# Label variants this long may be matched with one character misread: none of the label
# words of one document is one character off another word of its length and this long.
FUZZY_FROM = 4
# ... and only where the reading is this unsure.
FUZZY_DOUBT = 0.95


# The credit code's label with the note some forms print after it: 统一社会信用代码（18位）.
CREDIT_CODE_LABEL = r"(?:统一)?社会信用代码\s*[（(]\s*18\s*位\s*[)）]"


@dataclass(frozen=True)
class Label:
    """A field's printed label and how its value may be laid out.

    ``variants`` are label words as printed; ``grammar`` adds regexes a label may be
    written in beyond any list (``(?:联系)?手机(?:号码)?``: every wording of a mobile's
    label that names 手机), matched on the label's characters without spaces.
    """

    field: str
    variants: tuple[str, ...]
    multiline: bool = False  # value may wrap onto following rows
    below: bool = False  # value may stand on the row under the label
    inline: bool = False  # label may start inside an OCR box (glued after another value)
    grammar: tuple[str, ...] = ()
    # Words that are this field's label only as a whole box (操作员 over its value
    # cell, never 操作员信息 or 操作员承诺).
    alone: tuple[str, ...] = ()
    # Regexes of the label with its head lost into the box before it, found anywhere in
    # a box (孟璐请日期：… for 申请日期, the signature glued on; acc2 20059).
    glued: tuple[str, ...] = ()

    def patterns(self) -> list[re.Pattern[str]]:
        """Regexes of the variants and the grammar, longest first, spaces tolerated."""
        return list(_patterns_of(self.variants, self.grammar))

    def fuzzy_patterns(self) -> list[re.Pattern[str]]:
        """The long variants with any one character misread (``统一社会信用代玛``)."""
        return list(_fuzzy_of(self.variants))


# Compiled once a process: a page asks for every label's patterns, and there are more
# of them than ``re``'s own cache holds (a cached review spent a third of its time
# compiling them again).
@cache
def _patterns_of(
    variants: tuple[str, ...], grammar: tuple[str, ...]
) -> tuple[re.Pattern[str], ...]:
    exact = [_spaced(v) for v in sorted(variants, key=len, reverse=True)]
    return tuple(exact + [re.compile(g) for g in grammar])


@cache
def _fuzzy_of(variants: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    out = []
    for v in sorted(variants, key=len, reverse=True):
        if len(v) < FUZZY_FROM:
            continue
        for i in range(len(v)):
            parts = [re.escape(c) for c in v]
            parts[i] = _ANY_CHAR
            out.append(re.compile(r"\s*".join(parts)))
    return tuple(out)


def _spaced(word: str) -> re.Pattern[str]:
    """A label word, any spaces between its characters (``名      称``)."""
    return re.compile(r"\s*".join(re.escape(c) for c in word))


@dataclass
class Span:
    """A piece ``text[start:end]`` of one OCR line."""

    line: OcrLine
    start: int
    end: int

    @property
    def text(self) -> str:
        """The characters of this piece."""
        return self.line.text[self.start : self.end]

    @property
    def weakest(self) -> float:
        """The lowest character confidence of this piece (the line's, without them)."""
        return self.line.weakest(self.start, self.end)

    @property
    def bbox(self) -> BBox:
        """Box of the piece, cut from the line's box in proportion to characters."""
        x0, y0, x1, y1 = self.line.bbox
        n = max(len(self.line.text), 1)
        return (x0 + (x1 - x0) * self.start / n, y0, x0 + (x1 - x0) * self.end / n, y1)


@dataclass
class Hit:
    """A label found on the page and the value read for it."""

    label: Label
    label_bbox: BBox
    spans: list[Span] = field(default_factory=list)
    column: tuple[float, float] = (0.0, float("inf"))

    @property
    def text(self) -> str:
        """The value's characters, pieces joined, leading punctuation stripped."""
        return "".join(s.text for s in self.spans).lstrip(LEAD).rstrip()

    @property
    def confidence(self) -> float:
        """The weakest line the value comes from (a doubt anywhere is a doubt)."""
        return min((s.line.confidence for s in self.spans if s.text.strip()), default=0.0)

    @property
    def char_confidence(self) -> float | None:
        """The weakest character of the value, where the engine scored characters."""
        scored = [s.weakest for s in self.spans if s.text.strip() and s.line.char_confidences]
        return round(min(scored), 4) if scored else None

    @property
    def bbox(self) -> BBox | None:
        """Union of the value's pieces."""
        boxes = [s.bbox for s in self.spans if s.text.strip()]
        if not boxes:
            return None
        return union(boxes)

    @property
    def raw(self) -> str:
        """The OCR lines the value was taken from, as read."""
        seen: list[str] = []
        for s in self.spans:
            if s.line.text not in seen:
                seen.append(s.line.text)
        return " | ".join(seen)

    def value(self, text: str | None = None, confidence: float | None = None) -> FieldValue:
        """A contract ``FieldValue`` of this hit, with a normalised value when given."""
        return FieldValue(
            value=self.text if text is None else text,
            confidence=round(self.confidence if confidence is None else confidence, 4),
            bbox=_round(self.bbox),
            raw=self.raw,
            char_confidence=self.char_confidence,
        )


def union(boxes: Iterable[BBox]) -> BBox:
    """Smallest box holding all ``boxes``."""
    bs = list(boxes)
    return (
        min(b[0] for b in bs),
        min(b[1] for b in bs),
        max(b[2] for b in bs),
        max(b[3] for b in bs),
    )


def _round(b: BBox | None) -> BBox | None:
    return None if b is None else (round(b[0]), round(b[1]), round(b[2]), round(b[3]))


def rows(lines: Sequence[OcrLine]) -> list[list[OcrLine]]:
    """Lines grouped into visual rows (top to bottom), each row left to right."""
    out: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: ln.center[1]):
        if out:
            row = out[-1]
            cy = sum(ln.center[1] for ln in row) / len(row)
            h = min(line.height, min(ln.height for ln in row))
            if abs(line.center[1] - cy) < 0.55 * h:
                row.append(line)
                continue
        out.append([line])
    return [sorted(r, key=lambda ln: ln.bbox[0]) for r in out]


@dataclass
class _Char:
    line: OcrLine
    index: int
    box_start: bool


def _row_chars(row: list[OcrLine]) -> tuple[str, list[_Char | None]]:
    text: list[str] = []
    chars: list[_Char | None] = []
    for line in row:
        if text:
            text.append(" ")
            chars.append(None)
        for i, c in enumerate(line.text):
            text.append(c)
            chars.append(_Char(line, i, i == 0 or line.text[:i].strip() == ""))
    return "".join(text), chars


def _find_labels(
    joined: str, chars: list[_Char | None], labels: Sequence[Label], taken: set[str]
) -> list[tuple[int, int, Label]]:
    # Every label's first match in the row, then the longest first: a label that holds
    # another field's label (申请单位承诺 holds 申请单位) is that longer label. A label
    # found by no word as printed may be a long word with a character misread, unless
    # what was read is another label's word.
    candidates: list[tuple[int, int, Label]] = []
    words = {clean(v) for lab in labels for v in lab.variants}
    for lab in labels:
        if lab.field in taken:
            continue
        m = _first_of(lab.patterns(), joined, chars, lab)
        if m is None and lab.alone:
            m = _whole_box(lab, joined, chars)
        if m is None and lab.glued:
            inline = replace(lab, inline=True)
            m = _first_of([re.compile(g) for g in lab.glued], joined, chars, inline)
        if m is None:
            fuzzy = _first_of(lab.fuzzy_patterns(), joined, chars, lab)
            if fuzzy is not None and _misread(joined, chars, fuzzy, words):
                m = fuzzy
        if m is not None:
            candidates.append((m[0], m[1], lab))
    # A note in brackets after the label is the label's: 联系电话（手机）, 代码（18位）.
    candidates = [(s, _noted(joined, e), lab) for s, e, lab in candidates]
    found: list[tuple[int, int, Label]] = []
    for s, e, lab in sorted(candidates, key=lambda t: t[0] - t[1]):
        if not any(s < fe and fs < e for fs, fe, _ in found):
            found.append((s, e, lab))
    return sorted(found, key=lambda t: t[0])


_NOTE = re.compile(r"\s*[（(][^()（）:：]{1,5}[)）]")


def _noted(joined: str, end: int) -> int:
    """Where a label ends with the bracketed note printed after it, if any."""
    m = _NOTE.match(joined, end)
    return m.end() if m else end


def _misread(joined: str, chars: list[_Char | None], at: tuple[int, int], words: set[str]) -> bool:
    """Whether a label word found with one character off was misread, not printed so.

    A sure reading of another word (警发机关 at 0.99) is what the page prints; a misread
    character leaves its line or itself weak. What was read must not be another label.
    """
    if clean(joined[at[0] : at[1]]) in words:
        return False
    return min((sp.weakest for sp in _spans(chars, *at)), default=1.0) < FUZZY_DOUBT


def _whole_box(lab: Label, joined: str, chars: list[_Char | None]) -> tuple[int, int] | None:
    """An ``alone`` word of the label that is a whole box of the row, colon allowed."""
    for word in lab.alone:
        for m in re.finditer(r"\s*".join(map(re.escape, word)) + r"[:：]?", joined):
            s, e = m.start(), m.end()
            c = chars[s]
            if c is not None and c.box_start and (e == len(joined) or chars[e] is None):
                return s, e
    return None


def _first_of(
    patterns: Sequence[re.Pattern[str]], joined: str, chars: list[_Char | None], lab: Label
) -> tuple[int, int] | None:
    # The earliest match of any wording, the longest of those: 居民身份证号码 is one
    # label, not 居民 and then 身份证号码.
    found = [m for pat in patterns if (m := _first_valid(pat, joined, chars, lab, []))]
    return min(found, key=lambda m: (m[0], m[0] - m[1]), default=None)


def _first_valid(
    pat: re.Pattern[str],
    joined: str,
    chars: list[_Char | None],
    lab: Label,
    found: list[tuple[int, int, Label]],
) -> tuple[int, int] | None:
    for m in pat.finditer(joined):
        s, e = m.start(), m.end()
        c = chars[s]
        if c is None:
            continue
        if not lab.inline and not c.box_start:
            continue
        if any(s < fe and fs < e for fs, fe, _ in found):
            continue
        return s, e
    return None


def _spans(chars: list[_Char | None], start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    for c in chars[start:end]:
        if c is None:
            continue
        if spans and spans[-1].line is c.line and spans[-1].end == c.index:
            spans[-1].end += 1
        else:
            spans.append(Span(c.line, c.index, c.index + 1))
    return spans


def _box_of(chars: list[_Char | None], start: int, end: int) -> BBox:
    return union(s.bbox for s in _spans(chars, start, end))


def read_fields(
    lines: Sequence[OcrLine], labels: Sequence[Label], grid: Grid | None = None
) -> dict[str, Hit]:
    """Find each label once and read its value; see the module docstring.

    The first occurrence of a label (top to bottom) wins: a document prints each once.
    A wrapped value's lines stand closer together than the page's fields do
    (``_wrap_gap``): a line further below a value than that starts something else. On
    a ruled table (``grid``) a value wraps inside its cell, never across a ruling.
    """
    hits: dict[str, Hit] = {}
    open_hits: list[Hit] = []  # fields of the latest labelled row, for continuation
    all_rows = rows(lines)
    found_in = [_find_labels(*_row_chars(row), labels, set()) for row in all_rows]
    gap = _wrap_gap(all_rows, found_in)
    for r_index, row in enumerate(all_rows):
        joined, chars = _row_chars(row)
        # A reported field's label is printed once; a stop word (``_phone``: 传真, then
        # 固定电话 over the device number's row, verify 70043) may stand several times.
        taken = {f for f in hits if not f.startswith("_")}
        found = _find_labels(joined, chars, labels, taken) if found_in[r_index] else []
        if not found:
            _continue_rows(row, open_hits, gap, grid)
            continue
        # What stands left of the row's first label continues a value of that column
        # (the scope's second line level with 合伙期限 on the right, acc2 20045).
        lead = [sp for sp in _spans(chars, 0, found[0][0]) if sp.text.strip(LEAD)]
        _continue_rows(
            [sp.line for sp in lead if sp.start == 0 and sp.end == len(sp.line.text)],
            open_hits,
            gap,
            grid,
        )
        new_hits = []
        dropped: list[Span] = []  # far right of a value: another column's text
        for k, (s, e, lab) in enumerate(found):
            nxt = found[k + 1][0] if k + 1 < len(found) else len(joined)
            label_box = _box_of(chars, s, e)
            pieces = [sp for sp in _spans(chars, e, nxt) if sp.text.strip(LEAD)]
            right = (
                _box_of(chars, found[k + 1][0], found[k + 1][1])[0]
                if k + 1 < len(found)
                else float("inf")
            )
            # Another column's value still open to the right bounds this one: its wrapped
            # line may stand level with this label (an address's 3单元2001室 beside the
            # scope's first line, verify 70041).
            bound = _open_bound(label_box, open_hits)
            inside = [sp for sp in pieces if sp.bbox[0] < bound]
            spans = _near(label_box, inside)
            if len(inside) < len(pieces):
                right = min(right, bound)
            if len(spans) < len(pieces):
                dropped += pieces[len(spans) :]
            if spans and len(spans) < len(inside):
                end = spans[-1].bbox
                right = min(right, end[2] + (end[3] - end[1]))
            left = spans[0].bbox[0] if spans else label_box[2]
            hit = Hit(lab, label_box, spans, (min(left, label_box[2]), right))
            if not spans and grid is not None:
                _take_cell(hit, lines, grid, hits, labels)
            if not hit.spans and lab.below:
                _take_below(hit, all_rows[r_index + 1 : r_index + 3], labels)
            hits.setdefault(lab.field, hit)  # a stop word's first hit is the one kept
            new_hits.append(hit)
        # A labelled row closes the fields it shares a column with and opens its own.
        open_hits = [
            h for h in open_hits if not any(_overlaps(h.column, n.column) for n in new_hits)
        ]
        # What stood far right of this row's values continues a value of that column
        # (an address's second line level with the next row's label on the left).
        whole = [sp.line for sp in dropped if sp.start == 0 and sp.end == len(sp.line.text)]
        _continue_rows(whole, open_hits, gap, grid)
        open_hits += [h for h in new_hits if h.label.multiline]
    used = {id(s.line) for h in hits.values() for s in h.spans}
    labels_at = [h.label_bbox for h in hits.values()]
    for h in hits.values():
        if h.label.multiline:
            _take_above(h, [ln for ln in lines if not _holds_label(ln, labels_at)], used, gap)
    return hits


def _open_bound(label: BBox, open_hits: list[Hit]) -> float:
    """Where the nearest value still open in a column right of ``label`` begins.

    A column right of the label: its label starts after this one ends (on a one-column
    page the open value above starts right of its own label, left of this one's end).
    The margin is the one a wrapped line may start left of its value (``_continue_rows``).
    """
    starts = [
        h.column[0] - 1.5 * max(h.spans[-1].line.height, 1.0)
        for h in open_hits
        if h.spans and h.label_bbox[0] > label[2]
    ]
    return min(starts, default=float("inf"))


# Text this many line heights right of a value, with no label between, is no part of
# it: a QR code's caption, a seal's legend, a margin note.
FAR_GAP = 6.0


def _near(label: BBox, spans: list[Span]) -> list[Span]:
    """The pieces of a row's value up to the first gap of ``FAR_GAP`` line heights."""
    kept: list[Span] = []
    right = label[2]
    for sp in spans:
        x0, y0, x1, y1 = sp.bbox
        # The value itself may stand far from its label (a form's value column).
        if kept and x0 - right > FAR_GAP * max(y1 - y0, 1.0):
            break
        kept.append(sp)
        right = x1
    return kept


def _wrap_gap(all_rows: list[list[OcrLine]], found_in: list[list[Any]]) -> float | None:
    """The widest gap (pixels) between two lines of one wrapped value, or ``None``.

    Fields are set further apart than the lines of one value: the gap below a line that
    continues is under 0.7 of the median gap between two consecutive labelled rows.
    Three labelled rows at least, else no such measure (``None``: line heights rule).
    """
    labelled = [row for row, found in zip(all_rows, found_in, strict=True) if found]
    # Fine print is no field's row: a QR code's caption in small type, its lines close
    # together, would make every wrap look like a new field (acc3 60242).
    sizes = [statistics.median(ln.height for ln in row) for row in labelled]
    if sizes:
        usual = statistics.median(sizes)
        labelled = [row for row, size in zip(labelled, sizes, strict=True) if size >= 0.75 * usual]
    gaps = []
    for a, b in itertools.pairwise(labelled):
        # From the rows' middles: a row's extremes may be another column's wrapped line.
        ha = statistics.median(ln.height for ln in a)
        hb = statistics.median(ln.height for ln in b)
        ca = statistics.median(ln.center[1] for ln in a)
        cb = statistics.median(ln.center[1] for ln in b)
        top, bottom = cb - hb / 2, ca + ha / 2
        h = min(ha, hb)
        if 0 < top - bottom < 4 * h:  # two fields one under the other, not a wrapped value
            gaps.append(top - bottom)
    if len(gaps) < 2:
        return None
    return 0.7 * statistics.median(gaps)


def _take_above(hit: Hit, lines: Sequence[OcrLine], used: set[int], gap: float | None) -> None:
    """Lines of a value set above its label's row: a label centred on its value block.

    A tall value (经营范围 over four lines) may have its label printed level with its
    middle, so its first lines come before the label's row. Unclaimed lines just above
    the value's first one, in its column and as close as a wrap, are the value's own
    when the label then stands level with the middle of the block.
    """
    if not hit.spans or gap is None:
        return
    first = hit.spans[0].line
    lo = hit.spans[0].bbox[0]
    above: list[OcrLine] = []
    top = first
    while True:
        h = max(top.height, 1.0)
        near = [
            ln
            for ln in lines
            if id(ln) not in used
            and ln.bbox[3] <= top.bbox[1] + 0.3 * h
            and top.bbox[1] - ln.bbox[3] <= gap
            and lo - 1.5 * h <= ln.bbox[0] <= lo + 3 * h
        ]
        if not near:
            break
        top = max(near, key=lambda ln: ln.bbox[3])
        above.append(top)
        used.add(id(top))
    if not above:
        return
    y0 = min(ln.bbox[1] for ln in above)
    y1 = max(s.line.bbox[3] for s in hit.spans)
    cy = (hit.label_bbox[1] + hit.label_bbox[3]) / 2
    if abs(cy - (y0 + y1) / 2) > max(first.height, 1.0):  # the label not at the middle
        for ln in above:
            used.discard(id(ln))
        return
    hit.spans[:0] = [Span(ln, 0, len(ln.text)) for ln in reversed(above)]


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _holds_label(line: OcrLine, labels_at: list[BBox]) -> bool:
    x0, y0, x1, y1 = line.bbox
    return any(a < x1 and x0 < c and b < y1 and y0 < d for a, b, c, d in labels_at)


def _same_cell(a: OcrLine, b: OcrLine, grid: Grid | None) -> bool:
    """Whether two lines stand in one cell of the table (no table: yes)."""
    return grid is None or grid.cell_at(*a.center) == grid.cell_at(*b.center)


def _continue_rows(
    row: list[OcrLine], open_hits: list[Hit], gap: float | None = None, grid: Grid | None = None
) -> None:
    """Add each unlabelled line to the open multi-line value whose column it starts in.

    A wrapped value's next line starts under its first, give or take a character or
    two; a line starting far to its right (a seal's arc read as text, the other
    column's wrapped value) is not part of it, even when nothing bounds the column.
    Gaps and margins are measured in the value's own line height: a tall box (curved
    seal text) does not stretch them.
    """
    for line in row:
        if any(s.line is line for h in open_hits for s in h.spans):
            continue  # already a value's (taken from under its label)
        x0 = line.bbox[0]
        best = None
        for h in open_hits:
            lo, hi = h.column
            last = h.spans[-1].line if h.spans else None
            height = max(min(line.height, last.height) if last is not None else line.height, 1)
            if last is not None and line.bbox[1] - last.bbox[3] > 1.6 * height:
                continue
            if last is not None and gap is not None and line.bbox[1] - last.bbox[3] > gap:
                continue  # as far below as the next field: not a wrap
            if last is not None and not _same_cell(line, last, grid):
                continue  # across a ruling
            # Under the column's start (the label's end) or under the value's first
            # character (a value set well right of its label).
            starts = (lo, h.spans[0].bbox[0]) if h.spans else (lo,)
            if any(s - 1.5 * height <= x0 < min(hi, s + 3 * height) for s in starts):
                best = h
            elif last is not None and x0 < hi and goes_on(last, line):
                best = h  # the second box of a line just taken (acc2 20121)
        if best is not None:
            best.spans.append(Span(line, 0, len(line.text)))


def _take_cell(
    hit: Hit, lines: Sequence[OcrLine], grid: Grid, hits: dict[str, Hit], labels: Sequence[Label]
) -> None:
    """The value cell right of a label whose row holds none: every line in it, in order.

    A cell of options taller than its label's row (■居民身份证 □港澳台居民居住证 … over
    □其他 beside a label centred between them, verify 70032) reads as the label's
    value, its lines above the label's row too, when they stand level with the label.
    Lines another field holds, and a cell holding a label, are not taken.
    """
    x0, y0, x1, y1 = hit.label_bbox
    own = grid.cell_at((x0 + x1) / 2, (y0 + y1) / 2)
    cell = grid.right_of(own) if own is not None else None
    if cell is None:
        return
    taken = {id(s.line) for h in hits.values() for s in h.spans}
    inside = [ln for ln in lines if id(ln) not in taken and grid.cell_at(*ln.center) == cell]
    patterns = _all_patterns(labels)
    if not inside or any(p.search(compact(ln.text)) for ln in inside for p in patterns):
        return
    # Level with the label: its lines reach above and below the label's middle (a grid
    # read off a scan may merge a row with the one above, acc2 20009).
    cy = (y0 + y1) / 2
    if not min(ln.bbox[1] for ln in inside) <= cy <= max(ln.bbox[3] for ln in inside):
        return
    ordered = [ln for row in rows(inside) for ln in row]
    hit.spans.extend(Span(ln, 0, len(ln.text)) for ln in ordered)
    hit.column = (min(ln.bbox[0] for ln in ordered), max(ln.bbox[2] for ln in ordered))


def goes_on(last: OcrLine, line: OcrLine) -> bool:
    """Whether ``line`` is the next box of ``last``'s visual line: level, just after it."""
    h = max(min(last.height, line.height), 1.0)
    level_ = abs(last.center[1] - line.center[1]) < 0.5 * h
    return level_ and -0.5 * h <= line.bbox[0] - last.bbox[2] < 1.5 * h


def _take_below(hit: Hit, next_rows: list[list[OcrLine]], labels: Sequence[Label]) -> None:
    """The value under a label whose row holds none, or beside it a little lower.

    A label wrapped in its cell (统一社会信用代 / 码) sits above the middle of the row
    and its value below it, so the two may fall into different rows: a line of the
    next row right of the label and level with part of it is the value beside it,
    before anything under the label (码, the label's own end).
    """
    lx0, ly0, lx1, ly1 = hit.label_bbox
    for row in next_rows:
        joined, chars = _row_chars(row)
        if _find_labels(joined, chars, labels, set()):
            return
        for line in row:
            x0, y0, x1, y1 = line.bbox
            if x0 >= lx1 - 0.5 * (ly1 - ly0) and y0 < ly1 - 0.3 * (ly1 - ly0) and y1 > ly0:
                hit.spans.append(Span(line, 0, len(line.text)))
                hit.column = (x0, x1)
                return
        # Under the label: the line sharing most of its width (a value left-aligned
        # or centred under it), never one beside a neighbour's label.
        h = max(ly1 - ly0, 1.0)
        under = [
            (min(line.bbox[2], lx1 + h) - max(line.bbox[0], lx0 - h), line)
            for line in row
            if line.bbox[0] < lx1 + h and line.bbox[2] > lx0 - h
        ]
        if under:
            line = max(under, key=lambda t: t[0])[1]
            hit.spans.append(Span(line, 0, len(line.text)))
            hit.column = (line.bbox[0], line.bbox[2])
            return


def in_cells(
    lines: Sequence[OcrLine],
    grid: Grid | None,
    labels: Sequence[Label] = (),
    apart: Sequence[re.Pattern[str]] = (),
) -> list[OcrLine]:
    """The lines of a ruled table cut at its rulings and joined where they wrap in a cell.

    The OCR reads two neighbouring cells as one line (``杭州天佳工贸有限公司 住所 …``) and a
    wrapped cell as two (``身份证件类`` / ``型``, ``温州宇诚工贸有限公司义`` / ``乌分公司``).
    Cut at every vertical ruling (``docpipe.tables.split_at_rulings``) and with a cell's
    wrapped lines made one, a table reads like any label-value layout: a label and its
    value share a row, and no value runs across a ruling. A line wraps when it fills its
    cell to the right edge; lines that do not (a signature block's ``盖章：`` / ``日期：``)
    stay apart, and so does a line that starts with one of ``labels`` and a colon
    (``填表日期：…`` under a signature that reached the edge): a new field, not a wrap;
    so does a line that starts with a date, or matches one of ``apart`` (a row of tick
    boxes: each row's geometry is where its ticks are looked for). Without a grid the
    lines are returned as they are.
    """
    if grid is None:
        return list(lines)
    out: list[OcrLine] = []
    by_cell: dict[Cell, list[OcrLine]] = {}
    for line in split_at_rulings(lines, grid):
        cell = grid.cell_at(*line.center)
        if cell is None:
            out.append(line)
        else:
            by_cell.setdefault(cell, []).append(line)
    starts = [re.compile(rf"(?:{p.pattern})[:：]|(?:{p.pattern})$") for p in _all_patterns(labels)]
    starts += [_DATE_START, *apart]
    for cell, group in by_cell.items():
        if not grid.skew:
            out.extend(_wraps_joined(cell.bbox, group, starts))
            continue
        # A photo askew: a tilted line's box is taller than its text and overlaps the
        # next one, so wraps are told in the grid's levelled frame and turned back
        # (acc2 20009: at 3° the scope's lines joined every other one).
        levelled = [_moved(ln, grid.level) for ln in group]
        joined = _wraps_joined(cell.level, levelled, starts)
        out.extend(_moved(ln, grid.unlevel) for ln in joined)
    return [ln for ln in out if not _echo(ln, out)]


# A box of a character or two, read weakly, lying mostly inside another line's box is
# the detector's second look at that line's last glyph (``o`` at 0.67 over the end of a
# scope's line, acc2 20149), not text of its own.
ECHO_CHARS, ECHO_CONFIDENCE, ECHO_INSIDE = 2, 0.8, 0.6


def _echo(line: OcrLine, lines: Sequence[OcrLine]) -> bool:
    if len(line.text.strip()) > ECHO_CHARS or line.confidence >= ECHO_CONFIDENCE:
        return False
    x0, y0, x1, y1 = line.bbox
    area = max((x1 - x0) * (y1 - y0), 1.0)
    for other in lines:
        if other is line or len(other.text) <= len(line.text):
            continue
        a0, b0, a1, b1 = other.bbox
        inter = max(0.0, min(x1, a1) - max(x0, a0)) * max(0.0, min(y1, b1) - max(y0, b0))
        if inter >= ECHO_INSIDE * area:
            return True
    return False


def _moved(line: OcrLine, how: Callable[[float, float], Point]) -> OcrLine:
    return line.model_copy(update={"poly": [how(x, y) for x, y in line.poly]})


def _all_patterns(labels: Sequence[Label]) -> list[re.Pattern[str]]:
    return [p for lab in labels for p in lab.patterns()]


# A line that starts with a year (its first numeral perhaps misread) is a date of its
# own, not the wrap of a name that reached the cell's edge (经办人 阿依古丽·吐尔逊 over
# 二〇二五年九月五日 read 上〇二五年九月五, verify 70043).
_DATE_START = re.compile(r"^\S?[0-9〇○零O一二三四五六七八九]{2,4}\s*年")


# A line ending in a whole date is done: the seal's number under 填表日期：2026/7/6 is
# no wrap of it (acc3 60024).
_ENDS_DATE = re.compile(
    r"(?:\d{4}[年./\-]?\d{1,2}[月./\-]\d{1,2}日?|\d{4}[./\-]\d{4}|[〇○一二三四五六七八九十]日)$"
)


def _wraps_joined(
    cell: BBox, group: list[OcrLine], label_starts: Sequence[re.Pattern[str]] = ()
) -> list[OcrLine]:
    """A cell's lines, each joined to the one above it when that one wrapped.

    A line wrapped when it reaches the cell's right edge and the next, one line lower and
    under it, ends no further right and starts nothing of ``label_starts`` (a label, a
    date, a row of options). Pieces side by side stay apart: each may start a label.
    """
    out: list[list[OcrLine]] = []
    for row in rows(group):
        for line in row:
            h = max(line.height, 1.0)
            target = None
            text = clean(line.text)
            if any(p.match(text) for p in label_starts):
                out.append([line])
                continue
            nearest = math.inf
            for g in out:
                prev = g[-1]
                hh = max(min(prev.height, h), 1.0)
                # One line lower, centre to centre, in text heights: a tilted line's box
                # is taller than its text and says little (acc2 20083).
                drop = line.center[1] - prev.center[1]
                # Centred text (a label cell's) wraps to a centred line: where the
                # next line starts says nothing, that the last one was full does.
                if (
                    prev.bbox[2] >= cell[2] - 2.5 * hh
                    and 0.7 * hh <= drop <= 2.0 * hh
                    and line.bbox[2] <= prev.bbox[2] + hh
                    and line.bbox[2] > prev.bbox[0]  # under it, not beside (acc1 5011)
                    and not _ENDS_DATE.search(clean(prev.text))  # a date ends its field
                    and drop < nearest
                ):
                    target, nearest = g, drop
            if target is not None:
                target.append(line)
            else:
                out.append([line])
    return [g[0] if len(g) == 1 else _join(g) for g in out]


def _join(group: Sequence[OcrLine]) -> OcrLine:
    """One line of several: their texts in order, the union box, the weakest confidence."""
    text = "".join(ln.text for ln in group)
    confs: list[float] | None = []
    for ln in group:
        if confs is None or ln.char_confidences is None or len(ln.char_confidences) != len(ln.text):
            confs = None
            continue
        confs.extend(ln.char_confidences)
    x0, y0, x1, y1 = union(ln.bbox for ln in group)
    return OcrLine(
        text=text,
        poly=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
        confidence=min(ln.confidence for ln in group),
        char_confidences=confs,
        flipped=any(ln.flipped for ln in group),
    )


def wrapped_on(
    hit: Hit, lines: Sequence[OcrLine], complete: Callable[[str], bool], *, most: int = 2
) -> Hit:
    """The hit with the lines its value wraps onto, when its shape says it is unfinished.

    A value that runs to the end of its line continues on the next one, under the
    value or back at the left edge under the label (a paragraph's wrap: ``授权单位（盖章）：
    杭州市诚恒贸易合伙`` / ``企业（有限合伙）``). Geometry alone cannot tell such a line
    from the next paragraph; the value's shape can: lines are taken, up to ``most``,
    only while the value is not ``complete`` and until it is.
    """
    text = hit.text
    if not hit.spans:
        return hit
    if complete(compact(text)):
        return _wrapped_whole(hit, lines, complete)
    taken: list[Span] = []
    last = hit.spans[-1].line
    used = {id(s.line) for s in hit.spans}
    left = min(hit.label_bbox[0], hit.spans[0].bbox[0])
    for _ in range(most):
        h = max(last.height, 1.0)
        nxt = _line_under(last, lines, used, left - 1.5 * h, hit.spans[0].bbox[0] + 3 * h)
        if nxt is None:
            return hit
        # The wrapped line with the boxes it goes on in (合伙企业 | (有限合伙), acc2 20024).
        for piece in _line_boxes(nxt, lines, used):
            taken.append(Span(piece, 0, len(piece.text)))
            text += piece.text
            used.add(id(piece))
            last = piece
        if complete(compact(text)):
            return Hit(hit.label, hit.label_bbox, [*hit.spans, *taken], hit.column)
        if (end := _before_junk(taken[-1])) is not None and complete(
            compact(text[: len(text) - len(taken[-1].text)] + taken[-1].text[:end])
        ):
            taken[-1] = Span(taken[-1].line, taken[-1].start, taken[-1].start + end)
            return Hit(hit.label, hit.label_bbox, [*hit.spans, *taken], hit.column)
    return hit


# A wrapped line's last one or two characters that no value ends in: a seal's ring or
# star read as a letter, digit or stroke after the name (有限公司X, acc3 60036).
_JUNK_TAIL = re.compile(r"[A-Za-z0-9|丨/\\._\-·•,，。]{1,2}$")


def _before_junk(span: Span) -> int | None:
    """Where ``span``'s text ends without its junk tail (``_JUNK_TAIL``), if it has one."""
    text = span.text.rstrip()
    m = _JUNK_TAIL.search(text)
    if m is None or m.start() == 0:
        return None
    return m.start()


def _line_boxes(first: OcrLine, lines: Sequence[OcrLine], used: set[int]) -> list[OcrLine]:
    """``first`` and the unused boxes its visual line goes on in, left to right.

    A box that only repeats the line's end (仑分公司 detected again over 司宁波北仑分公司,
    acc3 60096) is the detector's second look, not more text. A box of several
    characters standing taller than it is wide (a seal's legend read down its arc: 永康市
    beside 有限公司, acc3 60020) is no piece of a written line.
    """
    out = [first]
    seen = {id(first)}
    while True:
        after = [
            ln
            for ln in lines
            if id(ln) not in used
            and id(ln) not in seen
            and goes_on(out[-1], ln)
            and not _standing(ln)
        ]
        if not after:
            return out
        nxt = min(after, key=lambda ln: ln.bbox[0])
        seen.add(id(nxt))
        if not _repeats_end("".join(ln.text for ln in out), nxt):
            out.append(nxt)


def _standing(box: OcrLine) -> bool:
    """Whether a box of two characters or more is taller than it is wide (read down)."""
    (x0, y0), (x1, y1), (x2, y2) = box.poly[:3]
    return len(box.text.strip()) >= 2 and math.dist((x0, y0), (x1, y1)) < math.dist(
        (x1, y1), (x2, y2)
    )


def _repeats_end(text: str, box: OcrLine) -> bool:
    """Whether ``box``, just after ``last``, reads the end of ``text`` again.

    Two characters at least; one may differ (工分公司 read again over 江分公司, acc3
    60256). A name never repeats its own last characters.
    """
    tail = box.text.strip()
    if len(tail) < 2 or len(tail) > len(text):
        return False
    end = text[-len(tail) :]
    return sum(a != b for a, b in zip(end, tail, strict=True)) <= 1


# A box of this many characters is a line of text, not a seal's glyph read alone.
WORDY = 4
# A box of one or two characters read under this confidence is a seal's glyph read
# alone (酒 0.38, X 0.53, dh 0.34 between a name and its wrap, acc4 80108, 80114,
# 80198); the wrap's own short line reads surely (公司 1.00, 营部 1.00).
FAINT = 0.6


def _faint_glyph(box: OcrLine) -> bool:
    """Whether ``box`` is one or two characters read unsurely (``FAINT``)."""
    return len(box.text.strip()) <= 2 and box.confidence < FAINT


def _line_under(
    last: OcrLine, lines: Sequence[OcrLine], used: set[int], x_lo: float, x_hi: float
) -> OcrLine | None:
    """The first unused line one line under ``last`` that starts between ``x_lo`` and ``x_hi``.

    A line of the text's size: a seal's glyph read alone between two lines (晟, 27 px
    among 40 px lines, acc3 60062) is none, nor a glyph read faintly (``_faint_glyph``)
    or a legend read down the seal's arc (``_standing``), which sit between a name and its
    wrap at the left edge (acc4 80108, 80132, 80250). A line of several characters may be
    measured against the page's usual line height instead: a seal's ink merged into
    ``last``'s box makes it taller than its text (55 px over 37 px lines, acc3 60030).
    """
    h = max(last.height, 1.0)
    usual = min(h, statistics.median(ln.height for ln in lines)) if lines else h
    below = [
        ln
        for ln in lines
        if id(ln) not in used
        and 0 <= ln.bbox[1] - last.bbox[3] + 0.3 * h <= 1.6 * h
        and x_lo <= ln.bbox[0] <= x_hi
        and ln.height >= 0.75 * (usual if len(ln.text.strip()) >= WORDY else h)
        and not _standing(ln)
        and not _faint_glyph(ln)
    ]
    if not below:
        return None
    # The nearest row's first box, rows told by centres: (有限合伙) 2 px above 伙企业 on
    # its right is its end; a seal's tall box over both is no row of its own.
    top = min(ln.center[1] for ln in below)
    return min((ln for ln in below if ln.center[1] - top < 0.5 * h), key=lambda ln: ln.bbox[0])


# A bracketed note of a name's own (its partnership's form, a place), not a seal's or a
# signature's mark (（公章）, （签字）).
_NAME_NOTE = re.compile(r"[(（](?:(?![章签字印])[\u4e00-\u9fff]){2,6}[)）]")
# The most characters of a whole value's possible last line (永康分公司, 杭州西湖分公司).
TAIL_CHARS = 10


def _wrapped_whole(hit: Hit, lines: Sequence[OcrLine], complete: Callable[[str], bool]) -> Hit:
    """A whole-looking value that goes on: ``宁波远新工贸有限公司`` / ``永康分公司``.

    A branch's name is whole after 有限公司 and again after 分公司. The short line right
    under it, back at the label's left edge, joins when the value then still has its
    field's shape, and the line holds no digit (a date, a code) and no label mark.
    """
    last = hit.spans[-1].line
    h = max(last.height, 1.0)
    left = min(hit.label_bbox[0], hit.spans[0].bbox[0])
    nxt = _line_under(last, lines, {id(s.line) for s in hit.spans}, left - 1.5 * h, left + 1.5 * h)
    if nxt is None:
        return hit
    tail = compact(nxt.text)
    # A name's own bracketed note ((有限合伙) under 合伙企业, acc2 20096) may end it.
    note = _NAME_NOTE.fullmatch(tail) is not None
    if (
        len(tail) > TAIL_CHARS
        or (not note and re.search(r"[\d:：(（]", tail))  # a date, a code, a mark: （公章）
        or not complete(compact(hit.text) + tail)
    ):
        return hit
    return Hit(hit.label, hit.label_bbox, [*hit.spans, Span(nxt, 0, len(nxt.text))], hit.column)


def find_pattern(
    lines: Sequence[OcrLine], pattern: str | re.Pattern[str]
) -> tuple[str, Span] | None:
    """First match of ``pattern`` in any line (text without spaces), with its piece."""
    pat = re.compile(pattern) if isinstance(pattern, str) else pattern
    for line in lines:
        m = pat.search(line.text)
        if m:
            return m.group(0), Span(line, m.start(), m.end())
    return None


# A page photographed askew: level the lines before reading rows, then turn boxes back.
# Below this the rows of a card group right as they stand.
_MIN_SKEW = 0.3


def _turn(points: Sequence[tuple[float, float]], degrees: float) -> list[tuple[float, float]]:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return [(x * c - y * s, x * s + y * c) for x, y in points]


@dataclass(frozen=True)
class Turn:
    """A rotation by ``degrees`` about ``(cx, cy)``, for points and boxes."""

    degrees: float = 0.0
    cx: float = 0.0
    cy: float = 0.0

    def point(self, p: tuple[float, float]) -> tuple[float, float]:
        """Where point ``p`` goes."""
        a = math.radians(self.degrees)
        c, s = math.cos(a), math.sin(a)
        dx, dy = p[0] - self.cx, p[1] - self.cy
        return (self.cx + dx * c - dy * s, self.cy + dx * s + dy * c)

    def box(self, b: BBox | None) -> BBox | None:
        """The box around the turned corners of ``b``."""
        if b is None or self.degrees == 0.0:
            return b
        pts = [self.point(p) for p in ((b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3]))]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return (round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))

    def line(self, line: OcrLine) -> OcrLine:
        """The line with its polygon turned (a line to read again, in the page's frame)."""
        return line.model_copy(update={"poly": [self.point(p) for p in line.poly]})

    def probe(self, b: BBox) -> OcrLine:
        """An empty line over box ``b``, turned: a place to read again where nothing was read."""
        corners = ((b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3]))
        return OcrLine(text="", poly=[self.point(p) for p in corners], confidence=1.0)

    def value(self, fv: FieldValue) -> FieldValue:
        """The value with its box turned."""
        if fv.bbox is None or self.degrees == 0.0:
            return fv
        return fv.model_copy(update={"bbox": self.box(fv.bbox)})


def level(
    lines: Sequence[OcrLine], skew: float, min_skew: float = _MIN_SKEW
) -> tuple[list[OcrLine], Turn]:
    """The lines turned by ``-skew`` about their centre, and the turn that takes boxes back.

    A page photographed 5° askew puts a value 200 px right of its label 17 px lower:
    another row for ``read_fields``. Turning about the lines' centre keeps them where
    they were on the page, so "lower right" still means lower right.
    """
    if abs(skew) < min_skew or not lines:
        return list(lines), Turn()
    box = union(ln.bbox for ln in lines)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    there = Turn(-skew, cx, cy)
    turned = [ln.model_copy(update={"poly": [there.point(p) for p in ln.poly]}) for ln in lines]
    return turned, Turn(skew, cx, cy)
