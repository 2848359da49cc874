"""Reading the registration authority off the license's red seal (``docpipe.seal``)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from docpipe.extract import Region
from docpipe.models import DocKind
from docpipe.ocr.base import OcrPage
from docpipe.ocr.fake import CrashEngine, ReplayEngine
from docpipe.seal import (
    STRIP_PAD,
    STRIPS,
    Seal,
    SealText,
    authority_text,
    find_seals,
    read_seals,
    text_line,
    unwrap_arc,
)
from extractors.business_license import extract_business_license

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
RED = (205, 40, 45)


def _seal_page(
    marks: list[float], *, cx: int = 600, cy: int = 400, r: int = 100
) -> tuple[np.ndarray, list[float]]:
    """A page with a red ring and one red radial bar per angle (degrees clockwise from the top).

    Each bar runs from the text radius outwards, so "up" in the unrolled strip is outwards.
    """
    im = Image.new("RGB", (1000, 700), (250, 248, 240))
    d = ImageDraw.Draw(im)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=RED, width=6)
    d.text((100, 100), "名称 某某有限公司", fill=(20, 20, 20))
    for deg in marks:
        a = math.radians(deg)
        inner = (cx + 0.62 * r * math.sin(a), cy - 0.62 * r * math.cos(a))
        outer = (cx + 0.86 * r * math.sin(a), cy - 0.86 * r * math.cos(a))
        d.line((inner, outer), fill=RED, width=9)
    return np.asarray(im), marks


def test_ring_found_with_its_centre_and_radius() -> None:
    page, _ = _seal_page([-60.0, 0.0, 60.0])
    seals = find_seals(page)
    assert len(seals) == 1
    s = seals[0]
    assert abs(s.cx - 600) <= 3 and abs(s.cy - 400) <= 3 and abs(s.r - 100) <= 4


@pytest.mark.parametrize("deg", [-120.0, -45.0, 0.0, 30.0, 110.0], ids=lambda d: f"{d:+.0f}deg")
def test_unwrap_puts_an_angle_at_its_column_with_outwards_up(deg: float) -> None:
    page, _ = _seal_page([deg])
    strip = unwrap_arc(page, Seal(600.0, 400.0, 100.0))
    ink = strip[STRIP_PAD:-STRIP_PAD, STRIP_PAD:-STRIP_PAD, 0] < 128
    width = ink.shape[1]
    cols = np.flatnonzero(ink.any(axis=0))
    rows = np.flatnonzero(ink.any(axis=1))
    # Column 0 is the bottom of the seal, the top (0°) is the middle, clockwise.
    expected = (deg + 180.0) / 360.0 * width
    assert abs(cols.mean() - expected) < 0.02 * width
    # The bar runs from 0.62 r to 0.86 r: outwards is the upper part of the band,
    # and it stops short of the inner edge (0.5 r, the bottom rows).
    assert rows.max() < 0.8 * ink.shape[0]


def test_a_dim_seal_is_drawn_as_dark_as_a_bright_one() -> None:
    """A seal photographed in poor light (red only 40 above green and blue) unrolls to
    black strokes: the band's own contrast sets the ink level, not a fixed threshold."""
    cx, cy, r = 600, 400, 100
    strips = []
    for colour in (RED, (118, 78, 80)):
        im = Image.new("RGB", (1000, 700), (150, 148, 146))  # grey paper, dim light
        d = ImageDraw.Draw(im)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=6)
        d.line(((cx, cy - 0.62 * r), (cx, cy - 0.86 * r)), fill=colour, width=9)
        strips.append(unwrap_arc(np.asarray(im), Seal(cx, cy, r)))
    bright, dim = (float(s[STRIP_PAD:-STRIP_PAD, STRIP_PAD:-STRIP_PAD, 0].min()) for s in strips)
    assert bright < 30 and dim < 30


def test_text_line_is_the_upper_arc_not_the_bottom_text() -> None:
    # Marks every 15° over the upper half (the arc text) and one at the bottom (the
    # seal's number or bottom text): the line is the upper run alone.
    upper = [float(d) for d in range(-90, 91, 15)]
    page, _ = _seal_page([*upper, 178.0])
    strip = unwrap_arc(page, Seal(600.0, 400.0, 100.0))
    line = text_line(strip)
    assert line is not None
    run = strip.shape[1] - 2 * STRIP_PAD
    # 180° of arc plus one bar's width and the padding; the bottom mark, ~90° further
    # round, would make it far wider.
    assert 0.5 * run <= line.shape[1] <= 0.58 * run
    assert line.shape[0] < 0.8 * strip.shape[0]


def test_a_filled_emblem_disc_is_not_a_seal() -> None:
    im = Image.new("RGB", (900, 600), (250, 248, 240))
    d = ImageDraw.Draw(im)
    d.ellipse((400, 60, 470, 130), fill=RED)  # the license's emblem stand-in
    d.text((80, 300), "经营范围 一般项目", fill=(0, 0, 0))
    assert find_seals(np.asarray(im)) == []


def test_page_without_a_seal_reads_nothing_and_never_calls_the_engine() -> None:
    im = np.full((600, 900, 3), 245, np.uint8)
    im[200:230, 100:600] = 20  # a black text-like bar
    assert read_seals(im, CrashEngine()) == []


def test_engine_that_cannot_read_the_strip_gives_nothing() -> None:
    page, _ = _seal_page([-30.0, 0.0, 30.0])
    assert read_seals(page, ReplayEngine({})) == []  # no record: OcrError, logged


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("杭州市西湖区市场监督管理局", "杭州市西湖区市场监督管理局"),
        ("杭州市高新区（滨江）市场监督管理局", "杭州市高新区（滨江）市场监督管理局"),
        ("义乌市行政审批局", "义乌市行政审批局"),
        ("杭州市西湖区市场监督管理超", None),
        ("1义乌市市场监督管理局", None),
        ("某某贸易有限公司", None),
    ],
    ids=["district", "brackets", "approval-bureau", "bad-suffix", "junk-before", "company"],
)
def test_authority_text_shape(text: str, expected: str | None) -> None:
    assert authority_text(text) == expected


def _license_region(seals: list[SealText]) -> Region:
    ocr = OcrPage(width=1300, height=920, lines=[])
    return Region("营业执照.jpg", 1, [], ocr, None, DocKind.business_license, seal_texts=seals)


@pytest.mark.parametrize(
    ("seal", "expected"),
    [
        (
            SealText("宁波市北仑区市场监督管理局", 0.99, (850, 660, 1030, 840), "x"),
            "宁波市北仑区市场监督管理局",
        ),
        (SealText("宁波市北仑区市场监督管理局", 0.5, (850, 660, 1030, 840), "x"), None),
        (SealText("北仑区市场监督管理局", 0.99, (850, 660, 1030, 840), "x"), None),
        (SealText("宁波市北仑区市场监督管理", 0.99, (850, 660, 1030, 840), "x"), None),
    ],
    ids=["whole-name", "doubted", "city-lost", "suffix-cut"],
)
def test_license_takes_the_seal_reading_only_when_plausible(
    seal: SealText, expected: str | None
) -> None:
    fv = extract_business_license(_license_region([seal]))["registration_authority"]
    assert fv.value == expected
    if expected is not None:
        assert fv.bbox == seal.bbox and fv.confidence == seal.confidence
        assert fv.raw is not None and fv.raw.startswith("seal:")
    else:
        assert fv.confidence == 0.0


def test_committed_license_authority_read_exactly(rapid_engine, committed_license) -> None:  # type: ignore[no-untyped-def]
    page, fields = committed_license
    want = fields["registration_authority"]
    texts = read_seals(page, rapid_engine, max_seals=1)
    assert len(texts) == len(STRIPS)  # one reading per strip, all of the one seal
    assert all(authority_text(t.text) == want for t in texts)
    fv = extract_business_license(_license_region(texts))["registration_authority"]
    assert fv.value == want
    x0, y0, *_ = fv.bbox or (0, 0, 0, 0)
    assert x0 > page.shape[1] / 2 and y0 > page.shape[0] / 2  # the seal at the lower right


# ------------------------------------------------------------ the authority from a poor arc reading


def _seal_text(text: str, conf: float) -> SealText:
    return SealText(text=text, confidence=conf, bbox=(900, 700, 1080, 880), raw=text)


@pytest.mark.parametrize(
    ("reading", "code", "want"),
    [
        # A degraded photo: two characters of the arc misread; the code's division (330784,
        # 永康市) names the regulator, and the reading holds 8 of its 10 characters.
        ("永康市市场监督龍造局", "91330784683526801D", "永康市市场监督管理局"),
        ("宁渡市北仑区市场基籍普理局", "92330206166893646P", "宁波市北仑区市场监督管理局"),
        # Four of the place's six characters, the suffix half read: the place ends
        # where 市场 starts, and the candidate is taken (a doubt: 0.48).
        ("干波市花仑区市场路重厘路", "92330206166893646P", "宁波市北仑区市场监督管理局"),
        # Too little of the name read (a degraded arc of the accuracy set): not guessed.
        ("中厦际电定区车场品局国理局", "92330206166893646P", None),
        # A division whose regulator has a name of its own (OWN_NAMES): that name.
        (
            "杭州市高新区（滨江）市场监替管理局",
            "91330108892182275P",
            "杭州市高新区（滨江）市场监督管理局",
        ),
        # Another city's regulator read in its place: no candidate's place, nothing.
        ("又岛市市场监慧馨理局", "91330782646114939U", None),
        # No credit code read: nothing to match against.
        ("永康市市场监督龍造局", None, None),
    ],
    ids=["yongkang", "beilun", "half-suffix", "too-poor", "own-name", "tied-places", "no-code"],
)
def test_a_poor_arc_reading_is_matched_to_the_credit_codes_division(
    reading: str, code: str | None, want: str | None
) -> None:
    from extractors._authority import seal_authority

    got = seal_authority([_seal_text(reading, 0.74)], code)
    assert got.value == want
    if want is not None:
        assert got.confidence < 0.9  # shown as a doubt: it rests on a partial reading
        assert got.raw == f"seal: {reading}" and got.bbox == (900, 700, 1080, 880)


def test_a_whole_confident_arc_reading_stands_as_read() -> None:
    from extractors._authority import seal_authority

    got = seal_authority(
        [_seal_text("杭州市高新区（滨江）市场监督管理局", 0.98)], "91330108892182275P"
    )
    assert got.value == "杭州市高新区（滨江）市场监督管理局" and got.confidence == 0.98


def test_a_whole_reading_of_a_place_that_does_not_exist_is_the_codes_candidate() -> None:
    """永原市 read whole and confident off a blurred arc (accuracy case 5039): the code's
    division is 永康市, and the reading differs from its regulator by one character."""
    from extractors._authority import seal_authority

    got = seal_authority([_seal_text("永原市市场监督管理局", 0.97)], "91330784683526801D")
    assert got.value == "永康市市场监督管理局"
    assert got.confidence == 0.9  # the likeness: one character in ten not read
    assert got.raw == "seal: 永原市市场监督管理局"


def test_seal_readings_are_taken_when_asked_and_kept() -> None:
    """A license whose first strip reads the whole name never has the second read."""
    from docpipe.seal import SealReadings
    from extractors._authority import seal_authority

    drawn: list[str] = []

    def source() -> Iterator[SealText]:
        for text in ("杭州市西湖区市场监督管理局", "杭州市西湖区市场监督管理局"):
            drawn.append(text)
            yield _seal_text(text, 0.99)

    readings = SealReadings(source())
    assert drawn == []  # nothing read before it is asked for
    got = seal_authority(readings, "91330106520175103Q")
    assert got.value == "杭州市西湖区市场监督管理局" and len(drawn) == 1
    # Iterated again: the kept reading first, then the rest, each drawn once.
    assert [t.text for t in readings] == ["杭州市西湖区市场监督管理局"] * 2
    assert [t.text for t in readings] == ["杭州市西湖区市场监督管理局"] * 2
    assert len(drawn) == 2


# ------------------------------------------------------------ the candidates scored on the strips

XIHU = "杭州市西湖区市场监督管理局"
HANGZHOU = "杭州市市场监督管理局"
XIHU_CODE = "91330106520175103Q"  # division 330106: 西湖区, candidates XIHU and HANGZHOU


def _scored_text(reading: str, scores: dict[str, float]) -> SealText:
    """A strip read as ``reading`` whose scoring gives ``scores`` (absent: unscorable)."""
    return SealText(
        text=reading,
        confidence=0.4,
        bbox=(900, 700, 1080, 880),
        raw=reading,
        score=lambda texts: [scores.get(t) for t in texts],
    )


def _strips(*rows: tuple[str, float, float, float]) -> list[SealText]:
    """Strips as (reading, XIHU's score, HANGZHOU's score, the reading's own score)."""
    return [_scored_text(r, {XIHU: a, HANGZHOU: b, r: own}) for r, a, b, own in rows]


def test_the_candidate_every_strip_supports_clearly_is_taken() -> None:
    """A soft photo's arc (accuracy case-5011, read 杭州市西球区市环温部区理场): no
    reading is whole, every strip supports 西湖区's regulator by 20+ nats."""
    from extractors._authority import SCORED_CONFIDENCE, seal_authority

    strips = _strips(
        ("杭州市西球区市环温部区理场", 60.0, 35.0, 58.0),
        ("杭州市西路区市场盗督园理站", 62.0, 30.0, 61.0),
    )
    got = seal_authority(strips, XIHU_CODE)
    assert got.value == XIHU and got.confidence == SCORED_CONFIDENCE < 0.9
    assert got.raw is not None and "杭州市西球区" in got.raw and "杭州市西路区" in got.raw


@pytest.mark.parametrize(
    "rows",
    [
        # The strips disagree on the candidate.
        [
            ("杭州市西球区市环温部区理场", 60.0, 35.0, 58.0),
            ("杭州市区市场盗督理站", 30.0, 45.0, 40.0),
        ],
        # One candidate is better, but not by the margin (10 nats on average).
        [
            ("杭州市西球区市环温部区理场", 40.0, 35.0, 38.0),
            ("杭州市西路区市场盗督园理站", 41.0, 33.0, 38.0),
        ],
        # The strips read as Latin: the ring or a blot, not text.
        [("mmenrn", 60.0, 30.0, 50.0), ("mImCTUTIn", 61.0, 30.0, 55.0)],
        # Far below what the strips read: the arc names someone else (浙江省…).
        [("浙江省市场监督管理局", 20.0, 5.0, 95.0), ("浙江省市场监督管理局", 22.0, 6.0, 96.0)],
    ],
    ids=["split", "narrow", "latin", "another-name"],
)
def test_the_scores_choose_nothing_without_clear_support(
    rows: list[tuple[str, float, float, float]],
) -> None:
    from extractors._authority import scored

    assert scored(_strips(*rows), [XIHU, HANGZHOU]).value is None


def test_an_engine_that_cannot_score_leaves_the_reading_to_decide() -> None:
    from extractors._authority import scored, seal_authority

    unscorable = _scored_text("永康市市场监督龍造局", {})
    assert scored([unscorable], ["永康市市场监督管理局", "金华市市场监督管理局"]).value is None
    # ... and the text match still reads it (see the poor-arc cases above).
    got = seal_authority([unscorable], "91330784683526801D")
    assert got.value == "永康市市场监督管理局"


def test_scores_outrank_a_whole_reading_that_lost_part_of_the_place() -> None:
    """verify seed 6800 case-6835: 杭州市湖区市场监督管理局 read whole at 0.93+ (西 lost
    off the arc), no candidate; every strip supports 西湖区's regulator by 60 nats."""
    from extractors._authority import seal_authority

    partial = "杭州市湖区市场监督管理局"
    strips = [
        SealText(
            text=partial,
            confidence=0.97,
            bbox=(0, 0, 9, 9),
            raw=partial,
            score=lambda texts: [{XIHU: 123.8, HANGZHOU: 60.7, partial: 120.0}[t] for t in texts],
        ),
        _scored_text(
            "杭州市三湖区市场监督管理局",
            {XIHU: 123.1, HANGZHOU: 57.9, "杭州市三湖区市场监督管理局": 121.0},
        ),
    ]
    assert seal_authority(strips, XIHU_CODE).value == XIHU


def test_a_blurred_committed_seal_is_read_by_its_scores(  # type: ignore[no-untyped-def]
    rapid_engine, committed_license
) -> None:
    """The committed license's seal blurred (sigma 1.6) until no strip reads the name
    whole (杭州市西湖区市场监温源理局 …): the code's candidates scored on the strips."""
    import cv2

    from extractors._authority import SCORED_CONFIDENCE, seal_authority

    page, fields = committed_license
    texts = read_seals(cv2.GaussianBlur(page, (0, 0), 1.6), rapid_engine, max_seals=1)
    assert not any(authority_text(t.text) == fields["registration_authority"] for t in texts)
    got = seal_authority(texts, fields["credit_code"])
    assert got.value == fields["registration_authority"]
    assert got.confidence == SCORED_CONFIDENCE
