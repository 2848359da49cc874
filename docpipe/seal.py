"""Red round seals: find them on a page and read the text along their upper arc.

The registration authority of a business license (登记机关) is printed only along the
upper arc of the red seal at its lower right; page OCR never reads curved text. Here:

1. ``find_seals``: pixels whose red exceeds their green and blue (the page in its
   original colours — the reading stage hands OCR an image whose red is faded) are
   grouped into components; a seal is one whose outline is a ring: roughly square,
   of plausible size, ink all round its circle, an open inside (a filled red disc is
   an emblem, not a seal).
2. ``unwrap_arc``: the annulus that holds the text is unrolled into a horizontal
   strip, clockwise from the bottom, the outer edge up — so glyphs whose tops point
   outwards (how seal text is set) stand upright and read left to right — and the
   red ink is drawn black on white, its contrast taken from the band itself (paper
   at the median, ink at a high percentile), so a dim or unevenly lit photo's seal
   is drawn as dark as a scan's.
3. ``read_seals``: the strip is OCR'd with the page's engine, at several scales
   (``STRIPS``); the lines are joined left to right into the seal's text. Each
   scale's reading is kept: the caller chooses (a blurred photo's arc reads whole
   at one scale and not another, and which one varies).

``authority_text`` keeps a reading only when it is shaped like the name of an
authority (ends 市场监督管理局, 工商行政管理局, 行政审批局, …); nothing is guessed.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import cv2
import numpy as np

from docpipe.errors import OcrError
from docpipe.models import BBox
from docpipe.ocr.base import OcrEngine
from docpipe.ocr.lines import recognize_line, score_line

log = logging.getLogger(__name__)

# How much red must exceed green and blue for a pixel to be seal ink.
RED_MARGIN = 40
# Seal diameter as a share of the page's shorter side.
MIN_DIAMETER, MAX_DIAMETER = 0.07, 0.6
# The text band of the annulus, as shares of the seal's outer radius: inside the ring
# (whose inner edge is near 0.94 r), outside the star (≤ 0.3 r).
BAND_OUTER, BAND_INNER = 0.93, 0.5
# A row at the band's outer edge inked more than this share of the way round is the
# ring's inner edge.
RING_ROW = 0.3
# White margin round a strip, pixels.
STRIP_PAD = 16


@dataclass(frozen=True)
class Strip:
    """One way of unrolling a seal into a strip.

    ``band_px``: the strip's height (the recogniser's input is 48 high); ``paper`` and
    ``ink``: the percentiles of the band's redness taken as paper and as ink.
    """

    band_px: int
    paper: float
    ink: float


# The strips read per seal, in this order (lazily: a caller satisfied by the first
# reading never has the others read). Measured on the 108 licenses of
# bench/accuracy.py's work set (54 degraded), registration authority right / wrong:
# the former fixed threshold (redness 20–60 to ink) 64 / 1; the band's own contrast at
# 64 px (median / 97th percentile) 75 / 1; the first two together 79 / 0. With the
# place-matched candidates (extractors._authority) the last two add, degraded, 37 -> 39
# of 54 (sans), 36 -> 39 (serif) and 6 -> 7 of 15 (verify --seed 9000), none wrong.
# Ink at the 99th percentile, not the 95th–97th: a soft photo's strokes spread, and a
# lower level turned a glyph's blurred middle black, joining its strokes into a blot
# (with the candidates scored, ``extractors._authority``: 47 -> 52 of 54 degraded).
STRIPS = (
    Strip(64, 60.0, 99.0),
    Strip(48, 50.0, 99.0),
    Strip(80, 50.0, 99.0),
    Strip(40, 60.0, 99.0),
)
# Below this the reading of a seal is not trusted. Measured on rendered licenses:
# every wrong name read (义马市 for 义乌市, 属新区 for 高新区, on blurred photos) had
# less, all but one right name more.
MIN_CONFIDENCE = 0.93

_SUFFIXES = (
    "市场监督管理局",
    "工商行政管理局",
    "行政审批服务局",
    "行政审批局",
    "市场监管局",
    "工商局",
)
_AUTHORITY = re.compile(
    r"[\u4e00-\u9fff（）()]{2,}?(?:" + "|".join(_SUFFIXES) + r")(?:[\u4e00-\u9fff]{0,6}分局)?"
)


@dataclass(frozen=True)
class Seal:
    """A round seal: centre and outer radius in pixels of the page image."""

    cx: float
    cy: float
    r: float

    @property
    def bbox(self) -> BBox:
        """The box around the seal's circle."""
        return (
            round(self.cx - self.r),
            round(self.cy - self.r),
            round(self.cx + self.r),
            round(self.cy + self.r),
        )


# How one strip supports given texts (``score_line`` bound to the strip and the engine).
Scorer = Callable[[Sequence[str]], "list[float | None] | None"]


@dataclass(frozen=True)
class SealText:
    """What was read along one seal's arc.

    ``score``, when the engine can score texts, says how well the strip that was read
    supports each of some texts (``docpipe.ocr.ctc.support``); ``None`` for a text it
    cannot score, or in place of the list when it cannot score at all.
    """

    text: str
    confidence: float
    bbox: BBox  # the seal's box in the page image
    raw: str  # the strip's OCR lines, as read
    score: Scorer | None = field(default=None, compare=False, repr=False)


def redness(rgb: np.ndarray) -> np.ndarray:
    """How much each pixel's red exceeds its green and blue (int16, may be negative)."""
    img = rgb.astype(np.int16)
    return img[..., 0] - np.maximum(img[..., 1], img[..., 2])


def find_seals(rgb: np.ndarray, region: BBox | None = None) -> list[Seal]:
    """Round red seals on an RGB page image (optionally only inside ``region``), largest first."""
    h, w = rgb.shape[:2]
    x0, y0 = 0, 0
    if region is not None:
        x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
        rgb = rgb[y0 : min(h, math.ceil(region[3])), x0 : min(w, math.ceil(region[2]))]
    mask = (redness(rgb) > RED_MARGIN).astype(np.uint8)
    if not mask.any():
        return []
    side = min(h, w)
    # Close small gaps so a faded or thin ring stays one component.
    k = max(3, round(side * 0.004)) | 1
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    seals: list[Seal] = []
    for i in range(1, n):
        bx, by, bw, bh, _area = (int(v) for v in stats[i])
        d = (bw + bh) / 2
        if not (MIN_DIAMETER * side <= d <= MAX_DIAMETER * side) or not 0.8 <= bw / bh <= 1.25:
            continue
        seal = Seal(bx + bw / 2, by + bh / 2, d / 2)
        if _is_ring(mask, seal):
            seals.append(Seal(seal.cx + x0, seal.cy + y0, seal.r))
    return sorted(seals, key=lambda s: -s.r)


def _is_ring(mask: np.ndarray, seal: Seal) -> bool:
    """Ink all round the circle's edge, an open inside: a seal, not a disc or a blob."""
    h, w = mask.shape
    angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    hit = np.zeros(angles.shape, bool)
    for f in np.linspace(0.88, 1.0, 5):
        xs = np.clip(np.round(seal.cx + f * seal.r * np.sin(angles)).astype(int), 0, w - 1)
        ys = np.clip(np.round(seal.cy - f * seal.r * np.cos(angles)).astype(int), 0, h - 1)
        hit |= mask[ys, xs] > 0
    if hit.mean() < 0.7:
        return False
    yy, xx = np.ogrid[:h, :w]
    inner = (yy - seal.cy) ** 2 + (xx - seal.cx) ** 2 <= (0.8 * seal.r) ** 2
    fill = float(mask[inner].mean()) if inner.any() else 1.0
    return 0.02 <= fill <= 0.5


def unwrap_arc(rgb: np.ndarray, seal: Seal, strip: Strip = STRIPS[0]) -> np.ndarray:
    """The seal's text band unrolled into a strip: red ink black on white, RGB uint8.

    Column 0 is the bottom of the seal; columns run clockwise (left side, top, right
    side) so the upper arc sits in the middle, read left to right. Row 0 is the outer
    edge of the band, so glyphs whose tops point outwards stand upright.
    """
    band_px = strip.band_px
    r_out, r_in = BAND_OUTER * seal.r, BAND_INNER * seal.r
    r_mid = (r_out + r_in) / 2
    # Log-polar rows: a glyph keeps its proportions whatever its radius.
    scale = band_px / (r_mid * math.log(r_out / r_in))
    radius = r_out * np.exp(-np.arange(band_px, dtype=np.float32) / (r_mid * scale))
    width = max(8, round(2 * math.pi * r_mid * scale))
    theta = np.linspace(-math.pi, math.pi, width, endpoint=False, dtype=np.float32)
    rr, tt = np.meshgrid(radius.astype(np.float32), theta, indexing="ij")
    map_x = (seal.cx + rr * np.sin(tt)).astype(np.float32)
    map_y = (seal.cy - rr * np.cos(tt)).astype(np.float32)
    red = redness(rgb).astype(np.float32)
    band = cv2.remap(
        red, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0
    )
    # A soft threshold from the band's own contrast: most of the band is paper, its
    # strokes are the top few percent. The strokes keep their anti-aliased edges (the
    # recogniser reads them better than hard black on white). A floor on the span
    # keeps a band with no ink from being stretched into noise.
    paper, ink_level = np.percentile(band, (strip.paper, strip.ink))
    span = max(float(ink_level - paper), RED_MARGIN / 2)
    ink = np.clip((band - float(paper)) / span, 0.0, 1.0)
    # Rows inked much of the way round from the band's outer edge are the ring's inner
    # edge, not text. Only those: on a soft photo a row through the middle of the text
    # is inked nearly half way round too, and blanking it cut every glyph in two
    # (accuracy case-5011 read 彼角市的始稱爾項維部國治列, 杭州市西… once it was kept).
    ring = 0
    while ring < band_px and (ink[ring] > 0.5).mean() > RING_ROW:
        ring += 1
    ink[:ring] = 0.0
    grey = (255.0 * (1.0 - ink)).astype(np.uint8)
    padded = cv2.copyMakeBorder(grey, *(STRIP_PAD,) * 4, cv2.BORDER_CONSTANT, value=255)
    return np.ascontiguousarray(np.repeat(padded[..., None], 3, axis=2))


def text_line(strip: np.ndarray) -> np.ndarray | None:
    """The run of text in the strip: the widest stretch of ink, cropped tight, padded.

    Columns with ink are grouped while their gaps stay under one text height; the
    group with the most ink is the upper arc (the seal's bottom text, when there is
    one, lies at the strip's two ends).
    """
    ink = strip[..., 0] < 128
    cols = np.flatnonzero(ink.any(axis=0))
    if cols.size == 0:
        return None
    gap = strip.shape[0] - 2 * STRIP_PAD
    breaks = np.flatnonzero(np.diff(cols) > gap)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [cols.size - 1]))
    col_ink = ink.sum(axis=0)
    runs = [(int(cols[a]), int(cols[b])) for a, b in zip(starts, ends, strict=True)]
    x0, x1 = max(runs, key=lambda r: int(col_ink[r[0] : r[1] + 1].sum()))
    rows = np.flatnonzero(ink[:, x0 : x1 + 1].any(axis=1))
    y0, y1 = int(rows[0]), int(rows[-1])
    if (x1 - x0) < 2 * (y1 - y0):
        return None  # a blot, not a line of text
    pad = max(4, (y1 - y0) // 8)
    crop = strip[max(0, y0 - pad) : y1 + pad + 1, max(0, x0 - pad) : x1 + pad + 1]
    return np.ascontiguousarray(crop)


def read_seals(
    rgb: np.ndarray,
    engine: OcrEngine,
    region: BBox | None = None,
    max_seals: int = 2,
    strips: tuple[Strip, ...] = STRIPS,
) -> list[SealText]:
    """The arc text of each round red seal (the largest ``max_seals``) on the page.

    One reading per seal and strip (``STRIPS``), a seal's readings together, in the
    order of ``strips``. A strip the engine cannot read (a replay engine without a
    record of it) gives nothing; the cause is logged.
    """
    return list(iter_seals(rgb, engine, region, max_seals, strips))


def iter_seals(
    rgb: np.ndarray,
    engine: OcrEngine,
    region: BBox | None = None,
    max_seals: int = 2,
    strips: tuple[Strip, ...] = STRIPS,
) -> Iterator[SealText]:
    """``read_seals`` one strip at a time: nothing is found or read before it is asked for."""
    for seal in find_seals(rgb, region)[:max_seals]:
        for strip in strips:
            got = _read_strip(rgb, seal, strip, engine)
            if got is not None:
                yield got


class SealReadings:
    """Readings of seals taken as they are asked for, and kept: iterable again and again.

    A caller that is satisfied by the first reading (a whole authority name read at
    full confidence) stops there, and the other strips are never read.
    """

    def __init__(self, source: Iterable[SealText]) -> None:
        """``source`` yields the readings (``iter_seals``); it is drawn on lazily."""
        self._source = iter(source)
        self._taken: list[SealText] = []

    def __iter__(self) -> Iterator[SealText]:
        i = 0
        while True:
            if i == len(self._taken):
                got = next(self._source, None)
                if got is None:
                    return
                self._taken.append(got)
            yield self._taken[i]
            i += 1


def _read_strip(rgb: np.ndarray, seal: Seal, strip: Strip, engine: OcrEngine) -> SealText | None:
    line = text_line(unwrap_arc(rgb, seal, strip))
    if line is None:
        return None
    try:
        lines = recognize_line(line, engine)
    except OcrError as exc:
        log.info("seal at %s not read: %s", seal.bbox, exc.message_en)
        return None
    row = sorted(lines, key=lambda ln: ln.center[0])
    if not row:
        return None
    return SealText(
        text="".join(re.sub(r"\s+", "", ln.text) for ln in row),
        confidence=round(min(ln.confidence for ln in row), 4),
        bbox=seal.bbox,
        raw=" | ".join(ln.text for ln in row),
        score=partial(score_line, line, engine=engine),
    )


def authority_text(text: str) -> str | None:
    """The authority name in a seal's text, when it has the shape of one; else ``None``.

    >>> authority_text("杭州市西湖区市场监督管理局")
    '杭州市西湖区市场监督管理局'
    >>> authority_text("1义乌市市场监督管理局") is None  # junk before the name: not trusted
    True
    >>> authority_text("某某有限公司") is None
    True
    """
    return text if _AUTHORITY.fullmatch(text) else None
