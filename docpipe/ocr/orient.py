"""Page orientation, skew and reading order, decided from all the lines of a page.

The per-line direction classifier is right about single lines but a page is upright or
not as a whole: a few short labels voting "flipped" must not turn a page. Each line
votes with its length and confidence; the page is then turned in coordinates (the
pixels are turned only when a crop is cut for the report), so nothing is OCR'd twice.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from docpipe.ocr.base import OcrLine, OcrPage, Point

# A box this much longer than high (or higher than long) shows its text direction.
_ELONGATED = 1.5


def _sides(poly: list[Point]) -> tuple[float, float]:
    """Width and height in image axes (engines differ in the order of the corners)."""
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    return max(xs) - min(xs), max(ys) - min(ys)


def vote_rotation(lines: list[OcrLine]) -> int:
    """Counter-clockwise turn (0, 90, 180, 270) that makes the page upright.

    A long horizontal box read upright votes 0, read flipped votes 180. A tall box is
    turned a quarter counter-clockwise by the engine before reading, so upright after
    that votes 90 and flipped votes 270.

    >>> h = OcrLine(text="营业执照名称", poly=[(0, 0), (120, 0), (120, 20), (0, 20)], confidence=1)
    >>> vote_rotation([h])
    0
    >>> vote_rotation([h.model_copy(update={"flipped": True})])
    180
    """
    votes: dict[int, float] = defaultdict(float)
    for line in lines:
        w, h = _sides(line.poly)
        if min(w, h) <= 0 or len(line.text) < 2:
            continue
        weight = len(line.text) * line.confidence
        if w >= _ELONGATED * h:
            votes[180 if line.flipped else 0] += weight
        elif h >= _ELONGATED * w:
            votes[270 if line.flipped else 90] += weight
    if not votes:
        return 0
    return max(sorted(votes), key=lambda k: votes[k])


def rotate_point(p: Point, rotation: int, width: int, height: int) -> Point:
    """Where pixel ``p`` of a ``width`` × ``height`` image lands after turning it CCW.

    Matches ``np.rot90(image, k=rotation // 90)``.

    >>> rotate_point((10, 5), 90, 100, 50)
    (5, 90)
    >>> rotate_point((10, 5), 180, 100, 50)
    (90, 45)
    >>> rotate_point((10, 5), 270, 100, 50)
    (45, 10)
    """
    x, y = p
    if rotation == 90:
        return (y, width - x)
    if rotation == 180:
        return (width - x, height - y)
    if rotation == 270:
        return (height - y, x)
    return (x, y)


def _order_corners(pts: list[Point]) -> list[Point]:
    """Top-left, top-right, bottom-right, bottom-left of a box tilted under 45°."""
    tl = min(pts, key=lambda p: p[0] + p[1])
    br = max(pts, key=lambda p: p[0] + p[1])
    tr = min(pts, key=lambda p: p[1] - p[0])
    bl = max(pts, key=lambda p: p[1] - p[0])
    return [tl, tr, br, bl]


def estimate_skew(lines: list[OcrLine]) -> float:
    """Median angle (degrees, positive = clockwise in image terms) of the long lines' top edges."""
    angles = []
    for line in lines:
        w, h = _sides(line.poly)
        if w < 3 * h:
            continue
        (x0, y0), (x1, y1) = line.poly[0], line.poly[1]
        angles.append(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    return float(np.median(angles)) if angles else 0.0


def reading_order(lines: list[OcrLine], skew: float = 0.0) -> list[OcrLine]:
    """Lines top to bottom, then left to right within a row, undoing the skew first."""
    if not lines:
        return []
    a = math.radians(-skew)
    cos, sin = math.cos(a), math.sin(a)

    def deskewed(line: OcrLine) -> tuple[float, float]:
        cx, cy = line.center
        return (cx * cos - cy * sin, cx * sin + cy * cos)

    keyed = sorted(((deskewed(ln), ln) for ln in lines), key=lambda t: t[0][1])
    rows: list[list[tuple[tuple[float, float], OcrLine]]] = []
    for item in keyed:
        (_, cy), line = item
        if rows:
            (_, ry), last = rows[-1][-1]
            if abs(cy - ry) < 0.5 * min(line.height, last.height):
                rows[-1].append(item)
                continue
        rows.append([item])
    return [ln for row in rows for _, ln in sorted(row, key=lambda t: t[0][0])]


def make_upright(lines: list[OcrLine], width: int, height: int) -> tuple[OcrPage, int]:
    """Turn the lines of a ``width`` × ``height`` image into an upright page.

    Returns the page (boxes in the turned frame, lines in reading order) and the
    rotation applied, so the caller can turn the pixels the same way when it needs them.
    """
    rotation = vote_rotation(lines)
    if rotation in (90, 270):
        new_w, new_h = height, width
    else:
        new_w, new_h = width, height
    turned = []
    for line in lines:
        pts = [rotate_point(p, rotation, width, height) for p in line.poly]
        turned.append(line.model_copy(update={"poly": _order_corners(pts)}))
    skew = estimate_skew(turned)
    page = OcrPage(
        width=new_w,
        height=new_h,
        lines=reading_order(turned, skew),
        rotation=rotation,
        skew=round(skew, 2),
    )
    return page, rotation


def turn_image(image: np.ndarray, rotation: int) -> np.ndarray:
    """The pixels turned like ``make_upright`` turned the boxes."""
    return np.ascontiguousarray(np.rot90(image, k=(rotation // 90) % 4))
