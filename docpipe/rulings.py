"""The ruling lines of a scanned or photographed table, and the cells they close.

Morphology on a copy halved down to 1000-2000 px (``WORK_SIDE``), in grey:

1. the red channel, each halving keeping the darkest pixel (a one-pixel grey ruling
   stays grey), red ink lifted towards white as ``docpipe.reading.drop_red`` does:
   a seal disappears, a ruling or text printed under it stays dark;
2. adaptive threshold, so a photo's uneven light and a faint ruling both come out;
3. the skew of the long horizontal strokes (a degree or two on a levelled page) by a
   Hough transform over the near-level angles, and the mask turned level, so long
   kernels fit the rulings;
4. horizontal rulings: opening with a kernel of width/30 (wider than any character),
   then dilating along it, which joins a ruling broken by JPEG noise or a faint scan;
   vertical rulings: opening with a kernel of most of the lowest rows' height (a
   stroke of a character is shorter than its row), capped at width/50;
5. the cells are the holes of that mask (inner contours: the page around the table,
   open to the border, is none), nearly rectangular, at least a line of small print
   tall, in groups sharing rulings a fifth of the page wide. A row split in two and a
   row split in four are each what they are; a merged cell is one hole.

About 30 ms of one core for a 2000 × 2800 page.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from docpipe.ocr.base import Point

Box = tuple[float, float, float, float]

#: Pages are halved while their longest side stays at least this (1000-2000 px).
WORK_SIDE = 1000
#: Red ink's grey is multiplied by this: seal red (R ≥ 200) becomes white, black or
#: grey ink under it (R ≤ 150) stays darker than paper. Stronger than ``drop_red``'s
#: 1.16, which keeps more of a seal for the OCR.
SEAL_LIFT = 1.3
_LEVELS = np.arange(256, dtype=np.float32)
#: Weight of the lift by redness (red less the larger of green and blue), in 1/255ths:
#: none to 25, all from 75, as ``drop_red`` weighs it.
_RED_WEIGHT = np.clip((_LEVELS - 25) * 255 / 50, 0, 255).astype(np.uint8)
#: How much a grey level gains when it is lifted all the way.
_LIFT = (np.minimum(_LEVELS * SEAL_LIFT, 255) - _LEVELS).astype(np.uint8)
#: Ink is this much darker than its neighbourhood's mean (grey levels).
THRESHOLD_C = 10
#: Horizontal and vertical kernels, as fractions of the working width.
H_KERNEL, V_KERNEL = 1 / 30, 1 / 50
#: Skew (degrees) below which the copy is not turned, and beyond which it is not trusted.
MIN_SKEW, MAX_SKEW = 0.1, 4.0
#: A table is at least this share of the page's width.
MIN_TABLE_WIDTH = 0.2
#: A row is at least this share of the working width tall (a line of small print and
#: its margins), a column this share wide.
MIN_ROW, MIN_COLUMN = 1 / 80, 1 / 40
#: A hole is a cell when it fills this share of its box (a skewed cell fills less than
#: 1, a frame around a table, a ring, far less).
MIN_FILL = 0.8


def find_cells(rgb: np.ndarray) -> tuple[list[Box], float, Point, float] | None:
    """Cells of a page image in the levelled frame, page pixels; ``None`` without rulings.

    Returns (boxes, skew in degrees, pivot of the levelling, edge tolerance in pixels).
    """
    small, scale = _working_copy(rgb)
    sh, sw = small.shape
    if min(sh, sw) < 40:
        return None
    block = max(15, (sw // 60) | 1)
    ink = cv2.adaptiveThreshold(
        small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, THRESHOLD_C
    )
    kh = max(15, round(sw * H_KERNEL))
    kv = max(10, round(sw * V_KERNEL))
    pivot = (sw / 2, sh / 2)
    skew = _skew(ink, kh)
    if skew is None:
        return None  # no long horizontal line: no table
    if abs(skew) >= MIN_SKEW:
        t = math.radians(skew)
        c, s = math.cos(t), math.sin(t)
        cx, cy = pivot
        m = np.array([[c, s, cx - c * cx - s * cy], [-s, c, cy + s * cx - c * cy]])
        # Bilinear, then any ink: a thin ruling turned pixel by pixel would break.
        ink = cv2.warpAffine(ink, m, (sw, sh), flags=cv2.INTER_LINEAR, borderValue=0)
        ink = cv2.threshold(ink, 60, 255, cv2.THRESH_BINARY)[1]
    else:
        skew = 0.0
    # Opening keeps the runs longer than a kernel; dilating along the same direction
    # then joins the pieces of a broken ruling and gives back the ends an opening
    # loses when a faint ruling ends in short dashes. No character is as wide as a
    # thirtieth of the page: text is gone by then.
    flat = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, kh), np.uint8))
    flat = cv2.dilate(flat, np.ones((1, kh), np.uint8))
    # A vertical ruling is as tall as its row, a character's stroke shorter: the kernel
    # is most of the lowest rows' height (dense forms print rows of 1.5 text heights).
    min_h = max(8, round(sw * MIN_ROW))
    pitch = _row_pitch(flat, sw * MIN_TABLE_WIDTH / 2, min_h)
    if pitch is not None:
        kv = max(8, min(kv, round(0.7 * pitch)))
    upright = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((3, 1), np.uint8))
    upright = cv2.morphologyEx(upright, cv2.MORPH_OPEN, np.ones((kv, 1), np.uint8))
    upright = cv2.dilate(upright, np.ones((5, 1), np.uint8))
    lines = cv2.dilate(cv2.bitwise_or(flat, upright), np.ones((3, 3), np.uint8))
    holes = _holes(lines, min_w=max(min_h, round(sw * MIN_COLUMN)), min_h=min_h)
    boxes = _tables(holes, sw * MIN_TABLE_WIDTH, max(6.0, sw / 100))
    if len(boxes) < 2:
        return None
    pb = [(x0 / scale, y0 / scale, x1 / scale, y1 / scale) for x0, y0, x1, y1 in boxes]
    return pb, skew, (pivot[0] / scale, pivot[1] / scale), 3.0 / scale


def _working_copy(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The page in grey, red ink faded, halved while its longest side stays ``WORK_SIDE``.

    The grey is the red channel, each halving keeping the darkest of four pixels: a
    one-pixel grey ruling keeps its grey (an average would fade it to half, and JPEG
    noise break it into dashes). A seal's red is still a little darker than paper
    there; where the page, averaged, is red (``docpipe.reading.drop_red``'s test), the
    grey is brightened in proportion (``SEAL_LIFT``): bright seal red becomes paper
    white, a ruling or text under the seal (dark there) stays dark.
    """
    grey = rgb[..., 0] if rgb.ndim == 3 else rgb
    colour = rgb if rgb.ndim == 3 else None
    scale = 1.0
    while max(grey.shape) >= 2 * WORK_SIDE:
        h, w = (grey.shape[0] // 2) * 2, (grey.shape[1] // 2) * 2
        grey = np.minimum(
            np.minimum(grey[0:h:2, 0:w:2], grey[0:h:2, 1:w:2]),
            np.minimum(grey[1:h:2, 0:w:2], grey[1:h:2, 1:w:2]),
        )
        if colour is not None:  # area averaging by exactly half: OpenCV's fast path
            colour = cv2.resize(colour[:h, :w], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        scale /= 2
    grey = np.ascontiguousarray(grey)
    if colour is not None:  # saturating uint8 arithmetic throughout
        r, g, b = cv2.split(np.ascontiguousarray(colour))
        weight = cv2.LUT(cv2.subtract(r, cv2.max(g, b)), _RED_WEIGHT)
        grey = cv2.add(grey, cv2.multiply(cv2.LUT(grey, _LIFT), weight, scale=1 / 255))
    return grey, scale


def _row_pitch(flat: np.ndarray, min_run: float, min_h: int) -> float | None:
    """Height of the lower rows of a table: the first quartile of the gaps between rulings.

    Gaps under ``min_h`` (a double frame, a ruling's two edges) are no rows.
    """
    counts = cv2.reduce(flat, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() / 255
    ys = np.flatnonzero(counts >= min_run)
    if len(ys) < 2:
        return None
    starts = ys[np.r_[True, np.diff(ys) > 1]]
    gaps = np.diff(starts)
    gaps = gaps[gaps >= min_h]
    return float(np.percentile(gaps, 25)) if len(gaps) else None


def _skew(ink: np.ndarray, kh: int) -> float | None:
    """Slope (degrees, y down) of the long horizontal strokes; ``None`` when there are none.

    A short horizontal opening keeps the stair steps of a skewed ruling; a Hough
    transform over the angles within ``MAX_SKEW`` of level finds the longest straight
    lines, and the median of the strongest is the page's.
    """
    sw = ink.shape[1]
    pieces = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, max(10, kh // 2)), np.uint8))
    spread = math.radians(MAX_SKEW)
    found = cv2.HoughLines(
        pieces,
        1,
        math.pi / 1800,
        max(40, sw // 4),
        min_theta=math.pi / 2 - spread,
        max_theta=math.pi / 2 + spread,
    )
    # OpenCV 5.0 returns None when no line reaches the threshold, 5.1 an empty array.
    if found is None or len(found) == 0:
        return None
    thetas = sorted(float(t) for t in found[:15, 0, 1])
    return math.degrees(thetas[len(thetas) // 2]) - 90.0


def _tables(boxes: list[Box], min_width: float, max_gap: float) -> list[Box]:
    """The holes that make up tables, each widened to the middle of its rulings.

    Holes meet across a ruling: a gap of at most ``max_gap`` between them on one axis,
    an overlap on the other. A group of one (a frame, a photo's box) or a narrow group
    (the boxes of a large title's 口 and 申) is no table. The gaps between neighbours
    are the rulings' thickness; every hole grows by half of it.
    """
    parent = list(range(len(boxes)))
    gaps: list[float] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            across = (a[1] < b[3] and b[1] < a[3], a[0] < b[2] and b[0] < a[2])
            for axis, gap in (
                (0, max(b[0] - a[2], a[0] - b[2])),
                (1, max(b[1] - a[3], a[1] - b[3])),
            ):
                if across[axis] and -1 <= gap <= max_gap:
                    parent[root(i)] = root(j)
                    gaps.append(gap)
    groups: dict[int, list[Box]] = {}
    for i, box in enumerate(boxes):
        groups.setdefault(root(i), []).append(box)
    half = float(np.median(gaps)) / 2 if gaps else 0.0
    out: list[Box] = []
    for group in groups.values():
        width = max(g[2] for g in group) - min(g[0] for g in group)
        if len(group) >= 2 and width >= min_width:
            out += [(x0 - half, y0 - half, x1 + half, y1 + half) for x0, y0, x1, y1 in group]
    return out


def _holes(lines: np.ndarray, *, min_w: int, min_h: int) -> list[Box]:
    """Boxes of the nearly rectangular holes of a line mask (the paper inside the rulings).

    Holes are the inner contours of the mask (a region open to the image's border, the
    page around a table, is none); ``findContours`` traces them in a millisecond where
    labelling the mask's complement takes twenty.
    """
    contours, hierarchy = cv2.findContours(lines, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    out: list[Box] = []
    for contour, link in zip(contours, hierarchy[0], strict=True):
        if link[3] == -1:
            continue  # an outer boundary of the rulings, not a hole
        # The contour runs on the ruling pixels around the hole.
        x, y, bw, bh = cv2.boundingRect(contour)
        if bw - 2 < min_w or bh - 2 < min_h:
            continue
        if cv2.contourArea(contour) < MIN_FILL * (bw - 1) * (bh - 1):
            continue
        out.append((x + 1.0, y + 1.0, x + bw - 1.0, y + bh - 1.0))
    return out
