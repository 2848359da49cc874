"""Which document a page (or a region of it) is, from its text and layout.

Each extractor declares weighted keywords; a region is of the kind whose keywords weigh
most, if that reaches the kind's threshold, else ``other``. The file name is never
looked at. A page that holds both sides of an ID card (the portal's 身份证明材料
template, or two cards photographed side by side) is cut between the two sides, along
the widest gap that separates the front's cue lines from the back's.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from docpipe.extract import ExtractorSpec, Region, load_extractors
from docpipe.layout import clean, union
from docpipe.models import DocKind
from docpipe.ocr.base import OcrLine, OcrPage

# Cue lines of the two sides of an ID card, for cutting a template page in two.
FRONT_CUES = ("公民身份号码", "姓名", "住址", "出生", "性别", "民族")
BACK_CUES = ("签发机关", "有效期限", "居民身份证", "中华人民共和国")


def score(text: str, spec: ExtractorSpec) -> float:
    """Summed weight of the spec's keywords present in ``text`` (compared cleaned)."""
    t = clean(text)
    return sum(w for kw, w in spec.keywords.items() if clean(kw) in t)


def scores(lines: Sequence[OcrLine]) -> dict[DocKind, float]:
    """Score of every registered kind for these lines."""
    text = "".join(line.text for line in lines)
    return {spec.kind: score(text, spec) for spec in load_extractors()}


def best_kind(lines: Sequence[OcrLine]) -> tuple[DocKind, float]:
    """The kind these lines most look like, ``other`` when none reaches its threshold."""
    specs = {s.kind: s for s in load_extractors()}
    ranked = sorted(scores(lines).items(), key=lambda kv: kv[1], reverse=True)
    for kind, s in ranked:
        if s >= specs[kind].threshold:
            return kind, s
    return DocKind.other, 0.0


def _has(line: OcrLine, cues: Sequence[str]) -> bool:
    t = clean(line.text)
    return any(c in t for c in cues)


def split_id_sides(lines: Sequence[OcrLine]) -> tuple[list[OcrLine], list[OcrLine]] | None:
    """Cut a page's lines into (front, back) when both sides stand on it, else ``None``."""
    front = [ln for ln in lines if _has(ln, FRONT_CUES)]
    back = [ln for ln in lines if _has(ln, BACK_CUES) and not _has(ln, FRONT_CUES)]
    if len(front) < 2 or len(back) < 2:
        return None
    for axis in (1, 0):  # one above the other first (the template), then side by side
        f_lo = min(ln.center[axis] for ln in front)
        f_hi = max(ln.center[axis] for ln in front)
        b_lo = min(ln.center[axis] for ln in back)
        b_hi = max(ln.center[axis] for ln in back)
        if f_hi < b_lo:
            lo, hi, front_first = f_hi, b_lo, True
        elif b_hi < f_lo:
            lo, hi, front_first = b_hi, f_lo, False
        else:
            continue
        # Cut in the widest empty band between the two groups of cues.
        edges = sorted(
            {lo, hi}
            | {ln.bbox[axis] for ln in lines if lo < ln.bbox[axis] < hi}
            | {ln.bbox[axis + 2] for ln in lines if lo < ln.bbox[axis + 2] < hi}
        )
        covered = [(ln.bbox[axis], ln.bbox[axis + 2]) for ln in lines]
        best_gap, cut = -1.0, (lo + hi) / 2
        for a, b in pairwise(edges):
            mid = (a + b) / 2
            if any(s < mid < e for s, e in covered):
                continue
            if b - a > best_gap:
                best_gap, cut = b - a, mid
        first = [ln for ln in lines if ln.center[axis] < cut]
        second = [ln for ln in lines if ln.center[axis] >= cut]
        return (first, second) if front_first else (second, first)
    return None


def classify_page(ocr: OcrPage, file: str, page: int) -> list[Region]:
    """Regions of one page, each with its kind (one region unless ID sides are split)."""
    lines = list(ocr.lines)
    kind, _ = best_kind(lines)
    if kind in (DocKind.id_card_front, DocKind.id_card_back):
        sides = split_id_sides(lines)
        if sides is not None:
            front, back = sides
            return [
                Region(
                    file, page, front, ocr, union(ln.bbox for ln in front), DocKind.id_card_front
                ),
                Region(file, page, back, ocr, union(ln.bbox for ln in back), DocKind.id_card_back),
            ]
    return [Region(file, page, lines, ocr, None, kind)]
