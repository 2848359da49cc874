"""FILE-QUALITY: whether each attachment is legible enough to be checked.

Source: RULES.md "Files" ([M] "原件拍照上传", [P]). One ``low_quality`` warning per file
(``file:<name>``), listing every problem found on it:

- key fields (the ones the rules compare) read with a confidence under
  ``KEY_FIELD_BELOW``; a field that could not be read at all is already the
  comparison rule's ``not_found`` and is not repeated here. The seal is stamped over
  the enterprise name and code of a letter (and may be over a form's): those are not
  key fields of a letter, and on a form only the operator's own values are;
- a page with almost no text (fewer than ``MIN_LINES`` lines read);
- too few pixels: short side under ``MIN_PAGE_SIDE`` for a full page, under
  ``MIN_CARD_SIDE`` for an ID card (a photo of the card, or its crop of a page);
- blur: variance of the Laplacian of the page scaled to ``BLUR_SIDE`` px under
  ``BLUR_BELOW`` (calibrated on the samples: sharp pages score 900–3600, a Gaussian
  blur of radius 2 px at that scale, where characters run together, scores 12–37).

Pages read from a PDF's text layer are born digital: no pixel checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from docpipe.kinds import is_card, key_fields
from docpipe.models import DocKind, Document, Evidence
from docpipe.rules import Hit, RuleContext, rule

# Below this a key field makes its file "hard to read". Lower than the comparison's
# doubt (compare.DOUBT_BELOW, 0.90): a value read at 0.86 that equals the filed one is
# legible, and one that differs is already the comparison rule's doubt. Measured on the
# 1670 key values read right in bench/accuracy.py's work set: 8 under 0.90 (each sent a
# clean submission to review), 1 under 0.80.
KEY_FIELD_BELOW = 0.80
MIN_LINES = 3
MIN_PAGE_SIDE = 600
MIN_CARD_SIDE = 300
# The share of a card's short side its text spans (front: 姓名 at 11 %, 公民身份号码 at
# 87 % of the height; back likewise). Measured text short sides of the clean cards of a
# page of both sides, cards 400 px high: 294–310 px (verify seed 6800, case-6866: a
# clean page flagged "too few pixels" before this).
CARD_TEXT_SHARE = 0.75
BLUR_SIDE = 1000
BLUR_BELOW = 30.0


def sharpness(image: Any, side: int = BLUR_SIDE) -> float:
    """Variance of the Laplacian of the grey page scaled so its longest side is ``side``."""
    grey = np.asarray(image.convert("L"))
    h, w = grey.shape
    scale = side / max(h, w)
    if scale < 1:
        grey = cv2.resize(
            grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _doubtful_fields(doc: Document) -> list[str]:
    out = []
    for name in key_fields(doc.kind):
        fv = doc.fields.get(name)
        if fv is not None and fv.value and fv.confidence < KEY_FIELD_BELOW:
            out.append(f"{name} ({fv.confidence:.2f})")
    return out


def _page_problems(ctx: RuleContext, file: str, page_no: int, docs: list[Document]) -> list[str]:
    """Pixel and text problems of one page as ``中文 / English`` phrases."""
    rp = ctx.pages.get((file, page_no))
    if rp is None:
        return []
    problems = []
    if len(rp.ocr.lines) < MIN_LINES:
        problems.append(
            f"第 {page_no} 页几乎没有可识别的文字 / page {page_no}: almost no text could be read"
        )
    if rp.ocr.source == "text-layer":
        return problems
    scale = rp.scale or 1.0
    page = rp.page
    cards = [d for d in docs if d.page == page_no and is_card(d.kind)]
    regions = [d.region for d in cards if d.region is not None]
    if cards and len(regions) == len(cards):
        # Card crops of a page: their size in the pixels the applicant gave us. A crop
        # is the union of the card's text, about three quarters of the card's height
        # (姓名 to 公民身份号码): the card is that much larger.
        short = min(min(r[2] - r[0], r[3] - r[1]) for r in regions) / CARD_TEXT_SHARE
        short_px, limit = short / scale, MIN_CARD_SIDE
    else:
        short_px, limit = min(page.width, page.height), (MIN_CARD_SIDE if cards else MIN_PAGE_SIDE)
    if short_px < limit:
        problems.append(
            f"第 {page_no} 页像素过少（短边 {short_px:.0f} px，应至少 {limit} px） / "
            f"page {page_no}: too few pixels (short side {short_px:.0f} px, at least {limit})"
        )
    score = sharpness(rp.image())
    if score < BLUR_BELOW:
        problems.append(
            f"第 {page_no} 页模糊（清晰度 {score:.0f}） / page {page_no}: blurred "
            f"(sharpness {score:.0f}, under {BLUR_BELOW:.0f})"
        )
    return problems


def illegible_files(ctx: RuleContext) -> list[str]:
    """Attachments too blurred to tell what they are: no document recognised in them.

    Each may be a document that is asked for (FILE-REQUIRED names them and doubts
    instead of deciding).
    """
    out = []
    for f in ctx.files:
        if f.name in ctx.file_errors:
            continue  # FILE-TYPE / FILE-READ speak for it
        docs = [d for d in ctx.documents if d.file == f.name]
        if any(d.kind != DocKind.other for d in docs):
            continue
        pages = [rp for (name, _), rp in ctx.pages.items() if name == f.name]
        if any(_illegible(rp) for rp in pages):
            out.append(f.name)
    return out


def _illegible(rp: Any) -> bool:
    """Blurred past reading: what is on the page cannot be told.

    Blur only: a small photo of some other paper (a train ticket at 476 px) reads well
    and is plainly not the document asked for, and a sharp photo with no text (a
    portrait) is not a document at all.
    """
    return rp.ocr.source != "text-layer" and sharpness(rp.image()) < BLUR_BELOW


@rule("FILE-QUALITY", code="low_quality", severity="warning")
def file_quality(ctx: RuleContext) -> Iterator[Hit]:
    """附件清晰度 / attachment legibility.

    Key fields read with low confidence, pages with almost no text, too few pixels, or
    blur: one warning per file, listing what was found.
    """
    files = list(dict.fromkeys([f.name for f in ctx.files] + [d.file for d in ctx.documents]))
    for file in files:
        if file in ctx.file_errors:
            continue  # FILE-TYPE / FILE-READ already speak for it
        docs = [d for d in ctx.documents if d.file == file]
        problems: list[str] = []
        evidence: list[Evidence] = []
        for doc in docs:
            weak = _doubtful_fields(doc)
            if weak:
                problems.append(
                    f"{doc.kind.value} 关键字段识别置信度低：{', '.join(weak)} / "
                    f"{doc.kind.value}: key fields read with low confidence: {', '.join(weak)}"
                )
                evidence.append(Evidence(file=file, page=doc.page, bbox=doc.region))
        page_nos = sorted({n for (f, n) in ctx.pages if f == file})
        for n in page_nos:
            page_problems = _page_problems(ctx, file, n, docs)
            if page_problems:
                problems.extend(page_problems)
                evidence.append(Evidence(file=file, page=n))
        if problems:
            zh = "；".join(p.split(" / ")[0] for p in problems)
            en = "; ".join(p.split(" / ", 1)[1] for p in problems)
            yield Hit(
                field=f"file:{file}",
                found=zh,
                evidence=evidence,
                message=f"附件 {file} 不够清晰：{zh} / attachment {file} is hard to read: {en}",
            )
