"""Real red seals (../shared/realworld/seal_docs), read by the real engine.

Our seals are drawn by the fixture generator; these are stamps from the world: a
screenshot of three red stamps on white paper (SOURCES.md), the company seal 北京中导开源
科技有限公司 among them (its GT file). Two line recognitions per seal strip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from docpipe.ocr.base import OcrEngine
from docpipe.seal import find_seals, read_seals

SCREENSHOT = Path("realworld/seal_docs/seals_three_search_screenshot.png")
GT = Path("realworld/seal_docs/seal_beijing_zhongdao_crop.png.gt.txt")


def test_a_real_company_seal_is_found_and_its_arc_read(
    shared_dir: Path, rapid_engine: OcrEngine
) -> None:
    page = np.asarray(Image.open(shared_dir / SCREENSHOT).convert("RGB"))
    want = (shared_dir / GT).read_text(encoding="utf-8").strip()
    seals = find_seals(page)
    assert seals
    company = seals[0]  # the largest: the company seal, left of the other two
    assert all(company.cx < other.cx for other in seals[1:])
    assert 0.1 * page.shape[0] < company.r < 0.3 * page.shape[0]
    texts = read_seals(page, rapid_engine, max_seals=1)
    assert texts and all(t.bbox == company.bbox for t in texts)
    assert texts[0].text == want and texts[0].confidence > 0.93
