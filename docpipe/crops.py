"""Evidence crops and document thumbnails for report.html, as inline data URIs.

Boxes (``Evidence.bbox``, ``FieldValue.bbox``, ``Document.region``) are in pixels of the
page as OCR saw it, which is what ``ReadPage.image()`` returns. Images are downscaled
first and the boxes drawn afterwards at the small size, so a line stays crisp and a
report with a dozen crops stays far below 3 MB. JPEG at a middling quality: the crops are
photos and scans, where it is several times smaller than PNG.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from docpipe.models import BBox

CROP_MAX_WIDTH = 560
THUMB_MAX_WIDTH = 320
JPEG_QUALITY = 70
# Red with a white halo: visible on white paper, on grey scans and on a red seal alike.
BOX_COLOUR = (220, 0, 0)
HALO_COLOUR = (255, 255, 255)
FIELD_COLOUR = (0, 90, 200)


def data_uri(image: Image.Image, quality: int = JPEG_QUALITY) -> str:
    """The image as a ``data:image/jpeg;base64,...`` URI.

    >>> data_uri(Image.new("RGB", (4, 4), "white")).startswith("data:image/jpeg;base64,/9j/")
    True
    """
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _clamp(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    left, right = sorted((math.floor(x0), math.ceil(x1)))
    top, bottom = sorted((math.floor(y0), math.ceil(y1)))
    left, top = max(0, min(left, width - 1)), max(0, min(top, height - 1))
    right, bottom = max(left + 1, min(right, width)), max(top + 1, min(bottom, height))
    return left, top, right, bottom


def context_box(bbox: BBox, width: int, height: int) -> tuple[int, int, int, int]:
    """The part of the page a reviewer needs around ``bbox``: its row, label and neighbours.

    Wide to the sides (the label usually stands to the left of its value), a line or two
    above and below.

    >>> context_box((500, 300, 700, 320), 1000, 1000)
    (300, 270, 820, 350)
    >>> context_box((0, 0, 50, 10), 1000, 1000)
    (0, 0, 170, 40)
    """
    x0, y0, x1, y1 = bbox
    line = max(10.0, y1 - y0)
    left, right = max(10 * line, 200.0), max(6 * line, 120.0)
    pad_y = max(1.5 * line, 30.0)
    return _clamp((x0 - left, y0 - pad_y, x1 + right, y1 + pad_y), width, height)


def _shrink(image: Image.Image, max_width: int) -> tuple[Image.Image, float]:
    if image.width <= max_width:
        return image, 1.0
    factor = max_width / image.width
    size = (max_width, max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), factor


def _draw_box(
    draw: ImageDraw.ImageDraw,
    box: Sequence[float],
    colour: tuple[int, int, int],
    width: int = 2,
) -> None:
    x0, y0, x1, y1 = (float(v) for v in box)
    pad = width + 1
    outer = [x0 - pad - 1, y0 - pad - 1, x1 + pad + 1, y1 + pad + 1]
    draw.rectangle(outer, outline=HALO_COLOUR, width=1)
    draw.rectangle([x0 - pad, y0 - pad, x1 + pad, y1 + pad], outline=colour, width=width)


def evidence_crop(page: Image.Image, bbox: BBox, max_width: int = CROP_MAX_WIDTH) -> str:
    """The page around ``bbox``, downscaled, the box drawn in red, as a data URI."""
    left, top, right, bottom = context_box(bbox, page.width, page.height)
    crop, factor = _shrink(page.crop((left, top, right, bottom)).convert("RGB"), max_width)
    x0, y0, x1, y1 = bbox
    inner = [(x0 - left) * factor, (y0 - top) * factor, (x1 - left) * factor, (y1 - top) * factor]
    _draw_box(ImageDraw.Draw(crop), inner, BOX_COLOUR, width=3 if crop.width > 300 else 2)
    return data_uri(crop)


def thumbnail(
    page: Image.Image,
    boxes: Sequence[BBox],
    region: BBox | None = None,
    max_width: int = THUMB_MAX_WIDTH,
) -> str:
    """The document (``region`` of the page, or the whole page) with numbered field boxes.

    Box ``i`` is labelled ``i + 1``: the report's field table numbers its rows the same
    way, so a box can be matched to its value without relying on colour.
    """
    if region is not None:
        # A little margin: a field printed at the card's edge stays inside the picture.
        x0, y0, x1, y1 = region
        m = 0.04 * max(x1 - x0, y1 - y0)
        left, top, right, bottom = _clamp((x0 - m, y0 - m, x1 + m, y1 + m), page.width, page.height)
    else:
        left, top, right, bottom = 0, 0, page.width, page.height
    thumb, factor = _shrink(page.crop((left, top, right, bottom)).convert("RGB"), max_width)
    draw = ImageDraw.Draw(thumb)
    font = ImageFont.load_default(size=11)
    for i, (x0, y0, x1, y1) in enumerate(boxes, start=1):
        inner = [
            (x0 - left) * factor,
            (y0 - top) * factor,
            (x1 - left) * factor,
            (y1 - top) * factor,
        ]
        draw.rectangle(inner, outline=FIELD_COLOUR, width=1)
        label = str(i)
        tx, ty = max(0.0, inner[0] - 1), max(0.0, inner[1] - 12)
        tb = draw.textbbox((tx, ty), label, font=font)
        draw.rectangle(tb, fill=FIELD_COLOUR)
        draw.text((tx, ty), label, fill=(255, 255, 255), font=font)
    return data_uri(thumb)
