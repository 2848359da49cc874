"""A second look at codes and numbers that fail their check character (``docpipe.reread``)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from docpipe.checkdigits import is_valid_id, is_valid_uscc
from docpipe.models import FieldValue
from docpipe.normalize import norm_date
from docpipe.ocr.base import OcrLine
from docpipe.reread import CUTS, agree, candidates, confirm, crop_line

CODE = "91330206136905861X"  # valid
OTHER = "91330784683526801D"  # valid, another enterprise's
ID = "11010519491231002X"  # valid


def _line(text: str, box: tuple[float, float, float, float] = (100, 100, 500, 130)) -> OcrLine:
    x0, y0, x1, y1 = box
    return OcrLine(text=text, poly=[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], confidence=0.97)


def _reads(*texts: str) -> tuple[Callable[[OcrLine, float], list[OcrLine]], list[float]]:
    """A reread that answers with ``texts`` and records the reaches it was asked for."""
    asked: list[float] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(reach)
        return [
            OcrLine(text=t, poly=line.poly, confidence=0.9 + i / 100) for i, t in enumerate(texts)
        ]

    return reread, asked


def test_fixtures_are_what_they_claim() -> None:
    assert is_valid_uscc(CODE) and is_valid_uscc(OTHER) and is_valid_id(ID)
    assert not is_valid_uscc(CODE[:8] + CODE[9:])


def test_a_valid_first_reading_is_not_read_again() -> None:
    reread, asked = _reads(OTHER)
    first = {"credit_code": FieldValue(value=CODE, confidence=0.99, bbox=(100, 100, 500, 130))}
    assert confirm(first, [_line("统一社会信用代码：" + CODE)], reread) == first
    assert asked == []


def test_a_dropped_character_is_restored_by_the_one_valid_second_reading() -> None:
    dropped = CODE[:8] + CODE[9:]  # the "1" under the seal's ring, lost
    first = {"credit_code": FieldValue(value=dropped, confidence=0.57, bbox=(300, 100, 500, 130))}
    reread, _ = _reads("统一社会信用代码：" + dropped, "统一社会信用代码：" + CODE)
    got = confirm(first, [_line("统一社会信用代码：" + dropped)], reread)["credit_code"]
    assert got.value == CODE
    assert got.confidence == pytest.approx(0.91)
    assert got.bbox == (300, 100, 500, 130)  # still points at the same place on the page
    assert got.raw == "统一社会信用代码：" + CODE


def _rival_id() -> str:
    """A valid ID number two digits away from ``ID`` (a check digit cannot tell them)."""
    for a in "0123456789":
        for b in "0123456789":
            n = ID[:14] + a + b + ID[16:]
            if n != ID and is_valid_id(n):
                return n
    raise AssertionError("no rival")


def test_two_different_valid_readings_leave_the_doubt_standing() -> None:
    rival = _rival_id()
    bad = ID[:14] + ID[15:]  # a digit lost
    first = {"id_number": FieldValue(value=bad, confidence=0.5, bbox=(300, 100, 500, 130))}
    reread, _ = _reads(ID, rival)
    assert confirm(first, [_line(bad)], reread)["id_number"].value == bad
    # With one of them only, the second look stands.
    reread, _ = _reads(ID, ID[:14])
    assert confirm(first, [_line(bad)], reread)["id_number"].value == ID


def test_a_valid_reading_far_from_the_first_is_another_code_not_this_one() -> None:
    bad = CODE[:8] + CODE[9:]
    first = {"credit_code": FieldValue(value=bad, confidence=0.57, bbox=(300, 100, 500, 130))}
    reread, _ = _reads(OTHER)
    assert confirm(first, [_line(bad)], reread)["credit_code"].value == bad


def test_an_undetected_value_is_looked_for_right_of_its_label() -> None:
    # Page OCR read the label alone: the row is cut wider (a reach of line heights).
    reread, asked = _reads("统一社会信用代码" + CODE, "统一社会信用代码" + CODE)
    got = confirm({}, [_line("统一社会信用代码", (100, 100, 300, 130))], reread)
    assert got["credit_code"].value == CODE
    assert got["credit_code"].bbox == (100, 100, 300, 130)
    assert asked and all(r > 5 for r in asked)


def test_an_id_number_with_a_lower_case_x_read_again_counts() -> None:
    first = {"id_number": FieldValue(value=ID[:-1], confidence=0.5, bbox=(300, 100, 500, 130))}
    reread, _ = _reads("公民身份号码 " + ID[:-1].lower() + "x")
    assert confirm(first, [_line("公民身份号码 " + ID[:-1])], reread)["id_number"].value == ID


def test_candidates_slide_over_a_longer_run() -> None:
    assert candidates("A" + CODE) == ["A" + CODE[:17], CODE]


@pytest.mark.parametrize("degrees", [-6.0, 0.0, 4.0], ids=lambda d: f"{d:+.0f}deg")
def test_crop_line_straightens_a_tilted_line(degrees: float) -> None:
    im = Image.new("RGB", (800, 400), "white")
    d = ImageDraw.Draw(im)
    cx, cy, half_w, half_h = 400.0, 200.0, 200.0, 12.0
    a = math.radians(degrees)
    u, v = (math.cos(a), math.sin(a)), (-math.sin(a), math.cos(a))
    corners = [
        (cx + sx * half_w * u[0] + sy * half_h * v[0], cy + sx * half_w * u[1] + sy * half_h * v[1])
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    d.polygon(corners, fill="black")
    line = OcrLine(text="x", poly=corners, confidence=1.0)
    crop = crop_line(np.asarray(im), line)
    dark = crop[..., 0] < 128
    # Straight: the black bar fills whole rows in the middle, and no column is dark
    # from top to bottom (a tilted bar would cross rows diagonally).
    full_rows = (dark[:, 20:-20].mean(axis=1) > 0.95).sum()
    assert full_rows >= 0.7 * 2 * half_h
    assert not dark[0].any() and not dark[-1].any()


def test_a_letter_whose_seal_crosses_the_code_reads_it_right(tmp_path: Path, rapid_engine) -> None:  # type: ignore[no-untyped-def]
    """Generated case 5058 (clean): page OCR loses the ``1`` under the seal's ring.

    Measured when this was written: page OCR read ``9133020636905861X`` (17 characters);
    the second look restores the code.
    """
    from docpipe.intake import load_submission
    from docpipe.pages import open_pages
    from docpipe.reading import read_documents
    from fixtures.generate import generate_case

    generate_case(5058, tmp_path)
    case = next(p for p in tmp_path.iterdir() if p.is_dir())
    truth = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    letter = next(d for d in truth["documents"] if d["kind"] == "authorization_letter")
    files = {f.name: f for f in load_submission(case / "submission").files}
    docs = read_documents(
        {letter["file"]: open_pages(files[letter["file"]])}, engine="rapidocr", errors={}
    )
    (doc,) = [d for d in docs if d.kind.value == "authorization_letter"]
    assert doc.fields["credit_code"].value == letter["fields"]["credit_code"]


def test_a_date_under_the_seal_that_a_second_reading_contradicts_is_in_doubt() -> None:
    """verify case-7069: the ring over an ``8`` read ``2003`` at confidence 1.0."""
    from docpipe.compare import DOUBT_BELOW

    line = _line("2003年07月27日", (826, 781, 1004, 808))
    first = {
        "issue_date": FieldValue(
            value="2003-07-27", confidence=1.0, bbox=(826, 781, 1004, 808), raw=line.text
        )
    }
    reread, _ = _reads("2003年07月27日", "2008年07月27日", "2003年07月27日")
    got = agree("business_license", first, [line], reread)["issue_date"]
    assert got.value == "2003-07-27" and got.confidence < DOUBT_BELOW
    assert "2008-07-27" in (got.raw or "")
    # Readings that agree leave it as it was; so does a kind with no date under a seal.
    reread, _ = _reads("2003年07月27日", "2003年07月27日")
    assert agree("business_license", first, [line], reread) == first
    reread, _ = _reads("2008年07月27日")
    assert agree("application_form", first, [line], reread) == first


def test_a_first_reading_in_no_possible_year_gives_way_to_the_one_possible_date() -> None:
    """Acc4 80137: the page read 292810-17 (2928), a second reading 2026-10-17: the
    possible date stands, in doubt; two possible others leave the first reading."""
    from docpipe.compare import DOUBT_BELOW

    line = _line("292810-17", (986, 1543, 1192, 1603))
    first = {
        "issue_date": FieldValue(
            value="2928-10-17", confidence=0.85, bbox=(986, 1543, 1192, 1603), raw=line.text
        )
    }
    reread, _ = _reads("2928年10月17日", "2026年10月17日", "2928年10月17日")
    got = agree("business_license", first, [line], reread)["issue_date"]
    assert got.value == "2026-10-17" and got.confidence < DOUBT_BELOW
    reread, _ = _reads("2026年10月17日", "2020年10月17日", "2928年10月17日")
    got = agree("business_license", first, [line], reread)["issue_date"]
    assert got.value == "2928-10-17" and got.confidence < DOUBT_BELOW


def _issue(text: str, value: str) -> tuple[OcrLine, dict[str, FieldValue]]:
    line = _line(text, (826, 781, 1004, 808))
    fv = FieldValue(value=value, confidence=1.0, bbox=(826, 781, 1004, 808), raw=text)
    return line, {"issue_date": fv}


def test_every_second_reading_of_another_date_replaces_the_page() -> None:
    """accuracy case-5091: the page read 2022, every cut in both renderings 2024."""
    line, first = _issue("2022年04月03日", "2022-04-03")
    reread, _ = _reads(*["2024年04月03日"] * (len(CUTS) * 2))
    got = agree("business_license", first, [line], reread)["issue_date"]
    assert got.value == "2024-04-03"
    assert got.confidence == 0.9  # the weakest second reading
    assert got.bbox == first["issue_date"].bbox
    assert got.raw is not None and "2022年04月03日" in got.raw


@pytest.mark.parametrize(
    ("page", "original", "red", "truth"),
    [
        # accuracy case-5064: the ring across an 8 faded into a 3 by the page and the
        # red channel; the original colours read 28.
        ("2026年2月23日", "2026年2月28日", "2026年2月23日", "2026-02-28"),
        # verify case-8087: the seal's red 场 across a 1 reads 4 in the original colours;
        # the page and the red channel read 01.
        ("2013年01月03日", "2013年04月03日", "2013年01月03日", "2013-01-03"),
    ],
    ids=["ring-faded", "red-stroke"],
)
def test_the_original_colours_against_the_page_and_red_channel_is_a_doubt(
    page: str, original: str, red: str, truth: str
) -> None:
    """The same pattern, a different truth each time: a person decides."""
    from docpipe.compare import DOUBT_BELOW

    line, first = _issue(page, first_value := norm_date(page) or "")
    reread, _ = _reads(*[original, red] * len(CUTS))
    got = agree("business_license", first, [line], reread)["issue_date"]
    assert got.value == first_value and got.confidence < DOUBT_BELOW
    assert norm_date(original) in (got.raw or "")
    assert truth in (first_value, norm_date(original))


def test_the_red_channel_alone_disagreeing_leaves_the_date_confident() -> None:
    """Three licenses of the work set: only the red channel misread the digit."""

    line, first = _issue("2021年10月11日", "2021-10-11")
    reread, _ = _reads(*["2021年10月11日", "2021年10月14日"] * len(CUTS))
    assert agree("business_license", first, [line], reread) == first


def test_a_first_cut_sure_of_the_page_date_does_not_stop_the_other_cuts() -> None:
    """verify case-7069 (seed 7000 regenerated): the ring across the 8 of 2008; the page
    and both renderings of the first cut read 2003 at 1.0, every character 1.0; two
    later cuts read 2008. Every cut is read, and the page's 2003 is left in doubt."""
    from docpipe.compare import DOUBT_BELOW

    line, first = _issue("2003年07月27日", "2003-07-27")
    taken: list[str] = []
    texts = ["2003年07月27日", "2003年07月27日", "2008年07月27日", "2003年07月27日"]
    texts += ["2008年07月27日", "2003年07月27日"]

    def reread(line: OcrLine, reach: float) -> Iterator[OcrLine]:
        for text in texts:
            taken.append(text)
            yield OcrLine(text=text, poly=line.poly, confidence=1.0, char_confidences=[1.0] * 11)

    got = agree("business_license", first, [line], reread)["issue_date"]
    assert taken == texts
    assert got.value == "2003-07-27" and got.confidence < DOUBT_BELOW
    assert "2008-07-27" in (got.raw or "")


def test_a_first_cut_with_a_doubted_digit_is_read_further() -> None:
    """verify case-6566: the ring across the 8 of 2018; the first cut reads 2013 at 0.993
    and 1.0, its 3 scored 0.92 once: not sure, the other cuts are read (two of them
    read 2018), and the page's 2013 is left in doubt."""
    from docpipe.compare import DOUBT_BELOW

    line, first = _issue("2013年10月19日", "2013-10-19")
    chars = [1.0] * 11
    texts = [("2013年10月19日", 0.993, [1.0, 1.0, 1.0, 0.92, *chars[4:]])]
    texts += [("2013年10月19日", 1.0, chars), ("2018年10月19日", 0.986, chars)]
    texts += [("2013年10月19日", 0.999, chars)] * (len(CUTS) * 2 - 3)

    def reread(line: OcrLine, reach: float) -> Iterator[OcrLine]:
        for text, conf, scores in texts:
            yield OcrLine(text=text, poly=line.poly, confidence=conf, char_confidences=scores)

    got = agree("business_license", first, [line], reread)["issue_date"]
    assert got.value == "2013-10-19" and got.confidence < DOUBT_BELOW
    assert "2018-10-19" in (got.raw or "")


def test_split_original_readings_leave_the_date_in_doubt() -> None:
    from docpipe.compare import DOUBT_BELOW

    line, first = _issue("2026年2月23日", "2026-02-23")
    reread, _ = _reads(
        "2026年2月28日", "2026年2月23日", "2026年2月23日", "2026年2月23日", "2026年2月28日", "x"
    )
    got = agree("authorization_letter", {"sign_date": first["issue_date"]}, [line], reread)
    assert got["sign_date"].value == "2026-02-23"
    assert got["sign_date"].confidence < DOUBT_BELOW


def test_a_weak_line_is_replaced_by_two_agreeing_confident_readings() -> None:
    """Generated case 5082: the letter's first sentence read as ``50：`` at 0.61."""
    from docpipe.reread import refresh_weak

    sentence = "兹委托邱军玥（身份证号码：" + ID + "）前往"
    weak = OcrLine(
        text="50：", poly=[(150, 293), (785, 293), (785, 322), (150, 322)], confidence=0.61
    )
    sure = _line("中国电子口岸数据中心杭州分中心：")
    asked: list[str] = []

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(line.text)
        return [OcrLine(text=sentence, poly=line.poly, confidence=c) for c in (0.97, 0.95)]

    out = refresh_weak([sure, weak], reread)
    assert out[0] is sure and asked == ["50："]  # a confident line is not read again
    assert out[1].text == sentence and out[1].confidence == 0.95 and out[1].poly == weak.poly


def test_a_short_weak_box_is_read_again_but_not_made_sure_of_its_own_text() -> None:
    """accuracy case-7310: an address's last line 0号 read 0 at 0.73 in a 67 × 48 px box
    is read again (0号); case-5019: 佳址 for 住址 at 0.79, read 佳址 again at 0.99 both
    times, stays the page's weak line, so that the card's label can still be mended."""
    from docpipe.reread import refresh_weak

    short = OcrLine(
        text="0", poly=[(174, 368), (241, 368), (241, 416), (174, 416)], confidence=0.73
    )
    label = OcrLine(
        text="佳址", poly=[(271, 430), (326, 430), (326, 459), (271, 459)], confidence=0.79
    )
    again = {"0": "0号", "佳址": "佳址"}

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        return [OcrLine(text=again[line.text], poly=line.poly, confidence=c) for c in (1.0, 0.99)]

    out = refresh_weak([short, label], reread)
    assert out[0].text == "0号" and out[0].confidence == 0.99
    assert out[1] is label
    # A longer line read the same twice is surer for it (verify case-6066: an ID number
    # read right at 0.78, a "hard to read" warning on a clean card before).
    number = OcrLine(
        text=ID, poly=[(317, 523), (830, 523), (830, 568), (317, 568)], confidence=0.78
    )
    again[ID] = ID
    (got,) = refresh_weak([number], reread)
    assert got.text == ID and got.confidence == 0.99


@pytest.mark.parametrize(
    ("texts", "confs"),
    [
        (("兹委托邱军玥", "兹委托邱军"), (0.97, 0.95)),
        (("兹委托邱军玥", "兹委托邱军玥"), (0.97, 0.85)),
    ],
    ids=["readings-differ", "one-reading-weak"],
)
def test_a_weak_line_stays_without_two_confident_agreeing_readings(
    texts: tuple[str, str], confs: tuple[float, float]
) -> None:
    from docpipe.reread import refresh_weak

    weak = OcrLine(
        text="50：", poly=[(150, 293), (785, 293), (785, 322), (150, 322)], confidence=0.61
    )

    def reread(line: OcrLine, reach: float) -> list[OcrLine]:
        return [
            OcrLine(text=t, poly=line.poly, confidence=c) for t, c in zip(texts, confs, strict=True)
        ]

    assert refresh_weak([weak], reread) == [weak]
    # A lone glyph (a seal fragment, a tick) is never read again.
    glyph = OcrLine(text="品", poly=[(10, 10), (40, 10), (40, 40), (10, 40)], confidence=0.3)
    assert refresh_weak([glyph], reread) == [glyph]


def test_a_code_on_a_line_photographed_askew_is_read_again() -> None:
    """Accuracy case-5073: the line's box is twice its text's height (perspective); the
    value's box is that box, not two wrapped lines."""
    bad = CODE[:8] + CODE[9:]
    tilted = OcrLine(
        text="统一社会信用代码：" + bad,
        poly=[(528, 900), (833, 864), (833, 910), (528, 946)],  # ~40 px text, 82 px box
        confidence=0.95,
    )
    box = (528, 864, 833, 946)
    first = {"credit_code": FieldValue(value=bad, confidence=0.5, bbox=box)}
    reread, asked = _reads("统一社会信用代码：" + CODE)
    assert confirm(first, [tilted], reread)["credit_code"].value == CODE and asked == [0.0]


def test_a_misread_label_still_finds_the_codes_line() -> None:
    """Accuracy case-5051: 统一社会信月代码 (月 for 用): no value was read after it."""
    reread, _ = _reads("统一社会信用代码：" + CODE)
    line = _line("统一社会信月代码：9133020613690586")
    assert confirm({}, [line], reread)["credit_code"].value == CODE


def test_a_field_the_kind_does_not_have_is_not_looked_for() -> None:
    """A letter's 身份证号码 line is the agent's: confirm() gives it no operator_id_number."""
    line = _line("（身份证号码：" + ID + "）前往")
    reread, _ = _reads(ID)
    got = confirm({}, [line], reread, "authorization_letter")
    assert "operator_id_number" not in got and "id_number" not in got
    assert confirm({}, [line], reread, "application_form")["operator_id_number"].value == ID


def test_the_ringless_rendering_brings_back_print_under_a_ring() -> None:
    """Print under a heavy ring (red channel 184) beside the ring over paper (224) and
    paper (245): the red channel shows both light; the ringless rendering turns the
    ring white and the print under it dark. A crop without red ink has none."""
    from docpipe.reread import ringless

    crop = np.full((20, 60, 3), 245, np.uint8)
    crop[:, 20:40] = (224, 77, 77)  # the ring over paper
    crop[5:15, 25:35] = (184, 36, 36)  # the ring over a black stroke
    crop[5:15, 45:55] = (20, 20, 20)  # black print elsewhere
    out = ringless(crop, 0.75)
    assert out is not None
    assert out[0, 30, 0] == 255  # the ring: gone
    assert out[10, 30, 0] < 100  # the stroke under it: dark (184 in the red channel)
    assert out[10, 50, 0] == 20 and out[0, 5, 0] == 245  # the rest as in the red channel
    assert crop[10, 30, 0] > 180  # where the red channel alone left it light
    assert ringless(np.full((20, 60, 3), 245, np.uint8), 0.75) is None


def test_a_code_the_ring_hid_is_read_in_the_ringless_renderings() -> None:
    """Accuracy case 5025: 923C0… from every usual reading; the ringless one reads 9233…;
    it is asked only when the usual readings did not settle it."""
    line = _line("统一社会信用代码：" + CODE[:3] + "C" + CODE[4:])
    first = {"credit_code": FieldValue(value=CODE[:3] + "C" + CODE[4:], confidence=0.99)}
    usual, _ = _reads(line.text, line.text)
    asked: list[float] = []

    def under_seal(line: OcrLine, reach: float) -> list[OcrLine]:
        asked.append(reach)
        return [OcrLine(text="统一社会信用代码：" + CODE, poly=line.poly, confidence=0.97)]

    got = confirm(first, [line], usual, "authorization_letter", under_seal)
    assert got["credit_code"].value == CODE and asked
    # A first reading the usual readings settle never asks for the ringless ones.
    asked.clear()
    settled, _ = _reads("统一社会信用代码：" + CODE)
    assert (
        confirm(first, [line], settled, "authorization_letter", under_seal)["credit_code"].value
        == CODE
    )
    assert asked == []


@pytest.mark.parametrize(
    ("ringless", "want"),
    [
        # Accuracy 5064: every ringless reading 28, which the original colours read too.
        (["2026年2月28日"] * 6, "2026-02-28"),
        # Verify 8087: split: the doubt stays.
        (["2026年2月28日"] * 4 + ["2026年2月23日"] * 2, None),
        # A date no usual reading gave is no witness.
        (["2026年2月26日"] * 6, None),
    ],
    ids=["unanimous", "split", "new-date"],
)
def test_ringless_readings_settle_a_date_the_usual_ones_left_in_doubt(
    ringless: list[str], want: str | None
) -> None:
    from docpipe.compare import DOUBT_BELOW
    from docpipe.reread import RING_LEVELS

    assert len(ringless) == len(CUTS) * len(RING_LEVELS)
    line, first = _issue("2026年2月23日", "2026-02-23")
    usual, _ = _reads(*["2026年2月28日", "2026年2月23日"] * len(CUTS))
    seal, _ = _reads(*ringless)
    got = agree("authorization_letter", {"sign_date": first["issue_date"]}, [line], usual, seal)
    date = got["sign_date"]
    if want is None:
        assert date.value == "2026-02-23" and date.confidence < DOUBT_BELOW
    else:
        assert date.value == want and date.confidence >= 0.9
        assert "2026年2月23日" in (date.raw or "")
