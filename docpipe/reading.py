"""The reading stage: pages → OCR'd (or text-layer) pages → regions → documents.

- A PDF page with a usable text layer is read from it, not OCR'd.
- Other pages are downscaled so the longest side is at most ``OCR_MAX_SIDE`` (phone
  photos; the model gains nothing above that), OCR'd once (cache by content hash), then
  turned upright from the votes of all their lines (``docpipe.ocr.orient``).
- Each page is classified (``docpipe.classify``), cut into regions where two ID sides
  share it, and each region goes to the extractor of its kind.
- A business license region also gets the text of its red seals' arcs
  (``docpipe.seal``, in the page's original colours): its registration authority is
  printed nowhere else. Other kinds pay nothing for it.

Boxes are in pixels of the page image as OCR saw it (downscaled and turned upright);
``page_image`` gives that image back for evidence crops.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from docpipe import memory
from docpipe.budget import Budget
from docpipe.classify import classify_page
from docpipe.errors import DocpipeError, InternalError, TimeBudgetExceeded
from docpipe.extract import Region, load_extractors
from docpipe.models import DocKind, Document, FieldValue
from docpipe.normalize import simplified
from docpipe.ocr import cache as ocr_cache
from docpipe.ocr import get_engine
from docpipe.ocr.base import OcrEngine, OcrPage
from docpipe.ocr.orient import make_upright, turn_image
from docpipe.pages import Page
from docpipe.places import restore_places
from docpipe.privacy import mask_text
from docpipe.reread import Rereader, agree, confirm, printed_as_is, refresh_weak
from docpipe.seal import SealReadings, SealText, iter_seals
from docpipe.textlayer import text_layer_page

log = logging.getLogger(__name__)

OCR_MAX_SIDE = int(os.environ.get("DOCPIPE_OCR_MAX_SIDE", "2000"))
# "red": OCR sees the red channel only, where a red seal fades to paper white and the
# black text under it stays black (the issue date under the license seal, the
# enterprise name under the letter's seal). "none": the colour image as it is.
SEAL_FILTER = os.environ.get("DOCPIPE_SEAL_FILTER", "red")


@dataclass
class ReadPage:
    """One page as read: its lines and how to get the pixels OCR saw."""

    page: Page
    ocr: OcrPage
    scale: float  # OCR pixels per decoded-image pixel

    def image(self) -> Image.Image:
        """The page image in the frame of the boxes (downscaled, turned upright)."""
        im = self.page.image()
        if self.scale != 1.0:
            im = _resized(im, (self.ocr_width_before_turn, self.ocr_height_before_turn))
        if self.ocr.rotation:
            return Image.fromarray(turn_image(np.asarray(im), self.ocr.rotation))
        return im

    @property
    def ocr_width_before_turn(self) -> int:
        """Width of the OCR'd image before it was turned upright."""
        return self.ocr.height if self.ocr.rotation in (90, 270) else self.ocr.width

    @property
    def ocr_height_before_turn(self) -> int:
        """Height of the OCR'd image before it was turned upright."""
        return self.ocr.width if self.ocr.rotation in (90, 270) else self.ocr.height


def downscale(im: Image.Image, max_side: int = OCR_MAX_SIDE) -> tuple[Image.Image, float]:
    """The image with its longest side at most ``max_side``, and the scale applied.

    Area averaging (OpenCV): as sharp as Lanczos for text at a half or a third, and a
    third of its time on a 4000 × 3000 photo (0.17 s → 0.05 s, most of it the copy out of
    Pillow).
    """
    longest = max(im.size)
    if longest <= max_side:
        return im, 1.0
    scale = max_side / longest
    return _resized(im, (max(1, round(im.width * scale)), max(1, round(im.height * scale)))), scale


def _resized(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``im`` at ``size`` by area averaging, RGB."""
    rgb = np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
    return Image.fromarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


def drop_red(image: np.ndarray) -> np.ndarray:
    """The image with red ink faded to paper white, dark ink and other colours kept.

    A pixel counts as red by how much its red exceeds its green and blue, and is then
    replaced, in proportion, by its own red channel brightened a little: bright seal red
    becomes paper white, while black text printed under a seal (dark red there, its red
    channel still low) stays dark. Colour elsewhere is kept: the recogniser reads some
    long lines worse in grey.

    >>> px = np.array([[[220, 40, 40], [70, 10, 10], [20, 20, 20], [30, 60, 200]]], np.uint8)
    >>> drop_red(px)[0].tolist()  # seal red, text under the seal, black text, blue label
    [[255, 255, 255], [77, 59, 59], [20, 20, 20], [30, 60, 200]]
    """
    rgb = np.ascontiguousarray(image)
    redness = rgb[..., 0].astype(np.int16) - np.maximum(rgb[..., 1], rgb[..., 2])
    red = redness > 25  # the rest of the page is kept as it is: only these are computed
    if not red.any():
        return rgb
    img = rgb[red].astype(np.float32)  # (n, 3)
    r = img[:, :1]
    weight = np.clip((r - np.maximum(img[:, 1:2], img[:, 2:3]) - 25.0) / 50.0, 0.0, 1.0)
    lifted = np.minimum(r * 1.16, 255.0)
    out = rgb.copy()
    out[red] = (img + (lifted - img) * weight).clip(0, 255).astype(np.uint8)
    return out


def ocr_image(image: np.ndarray, engine: OcrEngine) -> OcrPage:
    """OCR one RGB array once (cached by content hash) and turn it upright."""
    start = time.perf_counter()
    lines = ocr_cache.cached(engine, image, lambda: engine.recognize(image))
    page, _ = make_upright(lines, image.shape[1], image.shape[0])
    page.engine = engine.name
    page.seconds = round(time.perf_counter() - start, 4)
    return page


def read_page(page: Page, engine: OcrEngine) -> ReadPage:
    """Read one page: from its text layer when it has one, else by OCR."""
    layer = text_layer_page(page)
    if layer is not None:
        return ReadPage(page, layer, 1.0)
    im, scale = downscale(page.image())
    pixels = np.asarray(im.convert("RGB"))
    if SEAL_FILTER == "red":
        pixels = drop_red(pixels)
    return ReadPage(page, ocr_image(pixels, engine), scale)


def seal_texts(rp: ReadPage, region: Region, engine: OcrEngine) -> SealReadings:
    """The arc text of the red seals in a region, from the page in its original colours.

    OCR saw the page with its red faded (``drop_red``); the seal is read from
    ``ReadPage.image()``, the same frame as the boxes, so the seal's box is evidence.
    Read as the extractor asks (``SealReadings``): a license whose first strip gives
    the whole authority name never has the second read.
    """

    def readings() -> Iterator[SealText]:
        # The page's pixels as the second looks hold them (decoded and resized once a page).
        rgb = (
            region.pixels() if region.pixels is not None else np.asarray(rp.image().convert("RGB"))
        )
        for got in iter_seals(rgb, engine, region.bbox):
            log.debug("%s p%d: seal read %r", region.file, region.page, got.confidence)
            yield got

    return SealReadings(readings())


def extract_region(region: Region) -> Document:
    """Fields of one classified region, as a contract document.

    On an OCR'd page (``region.reread`` set), a code or number failing its check
    character is read once more from the pixels (``docpipe.reread.confirm``), and a
    date under a seal is read twice (``docpipe.reread.agree``); traditional forms the
    recogniser read are folded to the simplified ones the documents print.
    """
    fields = {}
    if region.kind != DocKind.other:
        fields = load_extractors().get(region.kind.value).func(region)
        if region.ocr.source == "text-layer":
            fields = printed_as_is(fields, region.kind.value)
        if region.reread is not None:
            fields = confirm(
                fields, region.lines, region.reread, region.kind.value, region.reread_ringless
            )
            fields = agree(
                region.kind.value, fields, region.lines, region.reread, region.reread_ringless
            )
        if region.ocr.source == "ocr":
            fields = {name: _simplified(fv) for name, fv in fields.items()}
        fields = restore_places(region.kind.value, fields)
    conf = min((v.confidence for v in fields.values() if v.value), default=1.0)
    return Document(
        file=region.file,
        page=region.page,
        kind=region.kind,
        region=region.bbox,
        confidence=round(conf, 4),
        fields=fields,
    )


def _simplified(fv: FieldValue) -> FieldValue:
    """The value with traditional forms the recogniser read folded (``normalize.simplified``).

    Seed 8600 case-8604, a clean card: 熊鹏強 read for 熊鹏强, 強 scored 0.80; seed
    9000 case-9145: 熊靜璟 for 熊静璟. The page's reading stays in ``raw``.
    """
    if not fv.value or (folded := simplified(fv.value)) == fv.value:
        return fv
    return fv.model_copy(update={"value": folded})


def read_documents(
    pages: dict[str, list[Page]],
    *,
    engine: str | None = None,
    errors: dict[str, DocpipeError],
    read_pages: dict[tuple[str, int], ReadPage] | None = None,
    budget: Budget | None = None,
) -> list[Document]:
    """Every document on every page; a file that fails is recorded in ``errors``.

    ``read_pages``, when given, receives each page as read (for the report's crops).
    With a ``budget``, a file whose time runs out keeps the documents of its pages read
    so far and gets a ``TimeBudgetExceeded`` naming the pages left unread. A failure
    that is not a ``DocpipeError`` (a bug) is that file's ``InternalError``, never the
    end of the review.
    """
    ocr = get_engine(engine)
    docs: list[Document] = []
    for name, file_pages in pages.items():
        file_docs: list[Document] = []
        deadline = budget.file_deadline() if budget is not None else None
        try:
            for page in file_pages:
                if deadline is not None and time.monotonic() >= deadline:
                    raise _late(name, page.number, len(file_pages), budget)
                file_docs.extend(_read_one(name, page, ocr, read_pages))
        except TimeBudgetExceeded as exc:
            log.warning("%s: %s", mask_text(name), mask_text(exc.message_en))
            errors[name] = exc
            docs.extend(file_docs)  # what was read in time is still a reading
            continue
        except DocpipeError as exc:
            log.warning("%s: %s", mask_text(name), mask_text(exc.message_en))
            errors[name] = exc
            continue
        except Exception as exc:  # a bug must not end the review of the other files
            log.exception("%s: reading failed", mask_text(name))
            errors[name] = InternalError(
                f"{name}: docpipe failed while reading this file ({type(exc).__name__});"
                " a person must read it",
                f"{name}：读取该附件时 docpipe 内部出错（{type(exc).__name__}），请人工审阅",
            )
            continue
        finally:
            memory.give_back()  # what this file's pages freed, before the next one's
        docs.extend(file_docs)
    return docs


def _late(name: str, number: int, count: int, budget: Budget | None) -> TimeBudgetExceeded:
    seconds = budget.file_seconds if budget is not None else 0
    pages = f"{number}" if number == count else f"{number}–{count}"
    return TimeBudgetExceeded(
        f"{name}: page(s) {pages} of {count} not read within the time budget"
        f" ({seconds:.0f} s a file); a person must read them",
        f"{name}：第 {pages} 页（共 {count} 页）未在时间预算（每个附件 {seconds:.0f} 秒）内读完，"
        "请人工审阅",
    )


def _read_one(
    name: str,
    page: Page,
    ocr: OcrEngine,
    read_pages: dict[tuple[str, int], ReadPage] | None,
) -> list[Document]:
    """The documents of one page: read, refreshed, classified, extracted."""
    rp = read_page(page, ocr)
    if read_pages is not None:
        read_pages[(name, page.number)] = rp
    pixels = _pixels(rp)
    reader = None if pixels is None else Rereader(pixels, ocr)
    if reader is not None:
        rp.ocr.lines = refresh_weak(rp.ocr.lines, reader.read)
    out = []
    for region in classify_page(rp.ocr, name, page.number):
        region.pixels = pixels
        region.reread = None if reader is None else reader.read
        region.reread_ringless = None if reader is None else reader.read_ringless
        if _reads_seals(region.kind):
            region.seal_texts = seal_texts(rp, region, ocr)
        out.append(extract_region(region))
    return out


def _reads_seals(kind: DocKind) -> bool:
    """Whether the extractor of ``kind`` asked for the arcs of the seals to be read."""
    registry = load_extractors()
    return kind.value in registry and registry.get(kind.value).seals


def _pixels(rp: ReadPage) -> Callable[[], np.ndarray] | None:
    """The page's RGB pixels in the frame of its boxes, decoded once when first asked.

    ``None`` for a page read from its text layer: its text is exact, nothing to look at.
    """
    if rp.ocr.source != "ocr":
        return None
    held: list[np.ndarray] = []

    def pixels() -> np.ndarray:
        if not held:
            held.append(np.asarray(rp.image().convert("RGB")))
        return held[0]

    return pixels


def warm_up(engine: str | None = None, *, models: bool = True) -> None:
    """Load the extractors and the OCR engine once per process.

    ``models=False`` checks the engine's name without loading its models: a review
    whose pages are all in the cache never needs them (one ``docpipe check``).
    """
    load_extractors()
    ocr = get_engine(engine)
    load = getattr(ocr, "load", None)
    if models and callable(load):
        load()
