"""居民身份证: the portrait side (``id_card_front``) and the emblem side (``id_card_back``).

Both sides are read label-first (``docpipe.layout.read_fields``): labels may be spaced
(``姓 名``), glued to their value (``性别女``, ``民族汉``, ``住址湖南省…``) or read as a
variant (``公民身份证号码``). Where a label is lost (a photo cropped at the edge, a
faint print) each field falls back to what its value looks like: an 18-character
number anywhere, a ``YYYY年M月D日`` date, a lone 男/女, two dates joined by a dash.

The ID number is the field the review leans on most, so it is read strictly: spaces
removed, ``x`` → ``X``; letters that look like digits (O/0, I/1, Z/2, S/5, B/8) are
replaced only when that gives exactly one candidate with a valid check digit, and the
value then carries the OCR text in ``raw`` and a lower confidence.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from docpipe.checkdigits import is_valid_id
from docpipe.extract import Region, extractor
from docpipe.kinds import KindSpec, Role, spec_field
from docpipe.kit.values import parse_validity
from docpipe.layout import Hit, Label, Span, Turn, clean, level, read_fields, rows, union
from docpipe.misread import id_number_shaped
from docpipe.models import DocKind, FieldValue
from docpipe.normalize import edit_distance, parse_date
from docpipe.ocr.base import OcrLine
from extractors._beside import BESIDE, CJK_NAME, beside_value, shaped

# Classification cues. The printed labels of a card are specific; 身份证号码, 姓名 and
# 性别 alone are not (the authorization letter and the application form print them),
# so they weigh little and the threshold needs a card-only label to be reached.
FRONT_KEYWORDS = {
    "公民身份号码": 3.0,
    "公民身份证号码": 3.0,  # how the OCR reads the label on real cards
    "民族": 2.0,
    "出生": 1.5,
    "住址": 1.0,
    "性别": 0.5,
    "姓名": 0.5,
}
BACK_KEYWORDS = {
    "签发机关": 3.0,
    "有效期限": 2.0,
    "居民身份证": 1.5,  # also the 证件类型 value of the application form
    "中华人民共和国": 1.0,
}
THRESHOLD = 4.0
# The lines that show the front when a page holding both sides is cut in two.
# 公民身份证号 is how the OCR reads the number's label on real cards.
FRONT_CUES = ("公民身份号码", "公民身份证号", "姓名", "住址", "出生", "性别", "民族")
# How far right of 姓名 a missed name is read again, in line heights (the portrait
# starts some ten heights on).
NAME_REACH = 6.0
# How far right of 性别 / 民族 a second look reads: one character, then the next label.
SHORT_REACH = 3.0
# From 性别 to the end of the 民族 value on its row, in line heights: label, value, gap,
# label, value (the portrait starts further right).
ROW_REACH = 8.0

FRONT_LABELS = (
    Label("name", ("姓名",)),
    Label("gender", ("性别",)),
    # 民族 is often glued after the gender value in one box (性别男民族汉).
    Label("ethnicity", ("民族",), inline=True),
    Label("birth_date", ("出生日期", "出生")),
    Label("address", ("住址", "住所"), multiline=True),
    Label(
        "id_number",
        ("公民身份号码", "公民身份证号码", "公民身份证号", "身份证号码", "身份号码"),
        below=True,
    ),
)
BACK_LABELS = (
    Label("issuing_authority", ("签发机关",), below=True),
    Label("validity", ("有效期限", "有效期"), below=True),
    # Printed on the back; labelled so they never run into a value.
    Label("_title", ("中华人民共和国",)),
    Label("_card", ("居民身份证",)),
)

# Digit look-alikes the recogniser confuses (ISSUE3: O/0, I/1, Z/2, S/5, B/8).
LOOK_ALIKES = {"O": "0", "I": "1", "Z": "2", "S": "5", "B": "8"}
_ID_EXACT = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9X])")
_ID_LOOSE = re.compile(r"(?<![0-9A-Z])[0-9OIZSB]{17}[0-9XOIZSB](?![0-9A-Z])")
_CN_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_DOTTED = re.compile(r"(\d{4})[.,·/年-]?(\d{1,2})[.,·/月-]?(\d{1,2})日?")

# The 56 民族 names as the card prints them (without 族).
_ETHNICITY_NAMES = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 "
    "高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 "
    "普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 "
    "珞巴 基诺"
)
ETHNICITIES = tuple(_ETHNICITY_NAMES.split())
# Traditional forms the card font shows and the OCR reads back (民族漢).
_TRADITIONAL = str.maketrans(
    "漢滿満壯維爾鮮瑤東鄉納頗錫烏別門倫諾獨龍達蘭", "汉满满壮维尔鲜瑶东乡纳颇锡乌别门伦诺独龙达兰"
)


def _fv(text: str | None, spans: Sequence[Span], conf_scale: float = 1.0) -> FieldValue:
    """A field value from pieces of lines (for values found without a label)."""
    boxes = [s.bbox for s in spans]
    raw = " | ".join(dict.fromkeys(s.line.text for s in spans))
    conf = min((s.line.confidence for s in spans), default=0.0) * conf_scale
    bbox = union(boxes) if boxes else None
    return FieldValue(
        value=text,
        confidence=round(conf, 4),
        bbox=None
        if bbox is None
        else (round(bbox[0]), round(bbox[1]), round(bbox[2]), round(bbox[3])),
        raw=raw,
    )


def _scaled(fv: FieldValue, factor: float, raw: str | None = None) -> FieldValue:
    return fv.model_copy(
        update={"confidence": round(fv.confidence * factor, 4), "raw": raw or fv.raw}
    )


# --------------------------------------------------------------------------- ID number


def id_candidates(text: str) -> tuple[str, bool] | None:
    """The ID number in ``text`` and whether look-alike letters were replaced to get it.

    Spaces are dropped and ``x`` is upper-cased. A run with look-alike letters is
    accepted only when exactly one replacement has a valid check digit.

    >>> id_candidates("4305 1219 8908 1313 6x")
    ('43051219890813136X', False)
    >>> id_candidates("11010519491231OO2X")
    ('11010519491231002X', True)
    >>> id_candidates("公民身份号码") is None
    True
    """
    t = clean(text).upper().replace("×", "X")
    m = _ID_EXACT.search(t)
    if m:
        return m.group(0), False
    for m in _ID_LOOSE.finditer(t):
        run = m.group(0)
        options = []
        for i, c in enumerate(run):
            alts = [c] if c.isdigit() or (i == 17 and c == "X") else [LOOK_ALIKES[c]]
            options.append(alts)
        # Each look-alike has one digit twin, so the product is tiny; kept general.
        valid = [c for c in ("".join(p) for p in itertools.product(*options)) if is_valid_id(c)]
        if len(valid) == 1:
            return valid[0], True
    return None


def _id_from_spans(spans: Sequence[Span]) -> tuple[str, bool] | None:
    return id_candidates("".join(s.text for s in spans))


def read_id_number(hit: Hit | None, lines: Sequence[OcrLine]) -> FieldValue | None:
    """The ID number: after its label, else an 18-character run anywhere in the region."""
    if hit is not None and hit.spans:
        found = _id_from_spans(hit.spans)
        if found is not None:
            value, fixed = found
            return _scaled(hit.value(value), 0.9) if fixed else hit.value(value)
    # Fallback: anywhere in the region, each row's boxes joined (a number may be split).
    for row in rows(lines):
        spans = [Span(ln, 0, len(ln.text)) for ln in row]
        found = _id_from_spans(spans)
        if found is None:
            continue
        keep = [s for s in spans if re.search(r"[0-9]", s.text)]
        value, fixed = found
        return _fv(value, keep, 0.85 if fixed else 0.95)
    return None


# --------------------------------------------------------------------------- front


def _find_line(lines: Sequence[OcrLine], pattern: re.Pattern[str]) -> tuple[str, Span] | None:
    for line in lines:
        m = pattern.search(clean(line.text))
        if m:
            return m.group(0), Span(line, 0, len(line.text))
    return None


def read_birth(hit: Hit | None, lines: Sequence[OcrLine]) -> FieldValue | None:
    """出生 as ISO: after its label, else the first ``YYYY年M月D日`` in the region."""
    if hit is not None and hit.spans:
        t = clean(hit.text)
        m = _CN_DATE.search(t) or _DOTTED.search(t)
        d = parse_date(f"{m.group(1)}-{m.group(2)}-{m.group(3)}") if m else None
        if d is not None:
            return hit.value(d.isoformat())
    found = _find_line(lines, _CN_DATE)
    if found is not None:
        m = _CN_DATE.search(found[0])
        d = parse_date(f"{m.group(1)}-{m.group(2)}-{m.group(3)}") if m else None
        if d is not None:
            return _fv(d.isoformat(), [found[1]], 0.9)
    return None


def read_gender(hit: Hit | None, lines: Sequence[OcrLine]) -> FieldValue | None:
    """性别: the 男/女 after its label, else a line that is only 男 or 女."""
    if hit is not None:
        m = re.search("[男女]", clean(hit.text))
        if m:
            return hit.value(m.group(0))
    for line in lines:
        t = clean(line.text)
        if t in ("男", "女"):
            return _fv(t, [Span(line, 0, len(line.text))], 0.9)
    return None


def norm_ethnicity(text: str) -> tuple[str, bool]:
    """The 民族 as printed, folded to simplified characters; whether it is a known name.

    >>> norm_ethnicity("漢"), norm_ethnicity("汉族"), norm_ethnicity("维吾爾")
    (('汉', True), ('汉', True), ('维吾尔', True))
    """
    t = clean(text).translate(_TRADITIONAL).strip(":：.。,，")
    if t in ETHNICITIES:
        return t, True
    if t.endswith("族") and t[:-1] in ETHNICITIES:
        return t[:-1], True
    for name in sorted(ETHNICITIES, key=len, reverse=True):
        if t.startswith(name):
            return name, True
    return t, False


def _ethnicity_in(text: str) -> str | None:
    """The known 民族 a second look at its row starts with, else ``None``."""
    value, known = norm_ethnicity(text)
    return value if known and value else None


def _ethnicity_after(text: str) -> str | None:
    """The known 民族 after its label in a second look at the 性别 row (女民族满)."""
    at = text.find("民族")
    return _ethnicity_in(text[at + 2 :]) if at >= 0 else None


def _gender_in(text: str) -> str | None:
    """The 男 / 女 a second look at its row starts with, else ``None``."""
    t = clean(text).lstrip(":：")
    return t[0] if t[:1] in ("男", "女") else None


def read_ethnicity(hit: Hit | None) -> FieldValue | None:
    """民族 after its label (glued or spaced), simplified; unknown names lose confidence."""
    if hit is None or not hit.text:
        return None
    value, known = norm_ethnicity(hit.text)
    if not value:
        return None
    fv = hit.value(value)
    return fv if known else _scaled(fv, 0.7)


def read_name(hit: Hit | None) -> FieldValue | None:
    """姓名: the value after its label, inner spaces removed.

    Marks the OCR found at either end of the name (``☑何阳志``: the card's pattern read
    as a tick box, accuracy case-7319) are no part of it: a name is Chinese characters,
    with a middle dot at most inside.
    """
    if hit is None:
        return None
    value = _NAME_EDGES.sub("", clean(hit.text))
    return hit.value(value) if value else None


_NAME_EDGES = re.compile(r"^[^\u4e00-\u9fff]+|[^\u4e00-\u9fff]+$")


def _lone_name(lines: Sequence[OcrLine], hits: dict[str, Hit]) -> FieldValue | None:
    """The name when its label 姓名 was not read: the one name-shaped box above 性别.

    Varied case-7301 (a photo, light and motion): no box held 姓名, the name 郭晟鑫 stood
    alone in the row above 性别. A box counts when it is in that row (0.5 to 2.5 label
    heights above the label 性别), right of the label column, and holds a name only; or
    at the label column, half the label before the name (名姚煜钰: 姓 lost).
    """
    gender = hits.get("gender")
    if gender is None:
        return None
    _, gy0, gx1, gy1 = gender.label_bbox
    h = max(gy1 - gy0, 1.0)
    used = {id(s.line) for hit in hits.values() for s in hit.spans}
    found = []
    for line in lines:
        x0, y0, _, y1 = line.bbox
        text = _NAME_EDGES.sub("", clean(line.text))
        at_label = x0 < gx1 - 0.5 * h
        if at_label and text[:1] in ("姓", "名"):
            # Half the label glued before the name (名姚煜钰, varied case-6219).
            text, at_label = text[1:], False
        in_row = 0.5 * h <= gy0 - (y0 + y1) / 2 <= 2.5 * h and not at_label
        named = CJK_NAME.fullmatch(text) and not any(lab in text for lab in _SHORT_LABELS)
        if id(line) not in used and in_row and named:
            found.append((line, text))
    if len(found) != 1:
        return None
    line, text = found[0]
    return _scaled(_fv(text, [Span(line, 0, len(line.text))]), BESIDE)


def read_address(hit: Hit | None) -> FieldValue | None:
    """住址: every line of the value in reading order, joined without spaces.

    A line that holds the ID number (its label lost) is not part of the address, nor
    one that is a date alone: the birth date over it when 出生 was not read (acc4 80073,
    80043, 80223: 2003年9月25日 taken as the address's first line).
    """
    if hit is None:
        return None
    hit.spans = [
        s for s in hit.spans if id_candidates(s.text) is None and parse_date(clean(s.text)) is None
    ]
    value = clean(hit.text)
    return hit.value(value) if value else None


# How an address ends: a number (号), a room, a group, a village ...
_ADDRESS_END = re.compile(r"[号室组村屯队户楼层栋幢座弄巷院舍]$")
# The shape of an address's last line: a few characters, ending as an address ends.
_ADDRESS_TAIL = re.compile(r"[0-9A-Za-z\u4e00-\u9fff\-－]{1,12}")


def _address_tail(
    region: Region, lines: Sequence[OcrLine], hit: Hit | None, back: Turn
) -> FieldValue | None:
    """住址, with a last line the detector missed read under it.

    A card wraps its address at a fixed width, inside a number too: 浙江省义乌市丽州中路59
    | 3号 (accuracy case-8414, a clean card), and the detector can miss a box of two
    characters. An address that does not end as addresses end (``_ADDRESS_END``) has
    the line under its last line read again; what every reading gives, ending as an
    address ends and naming no label, is its last line.
    """
    value = read_address(hit)
    if hit is None or value is None or not value.value or region.reread is None:
        return value
    if _ADDRESS_END.search(value.value):
        return value
    last = max((s.line for s in hit.spans), key=lambda ln: ln.bbox[3])
    x0 = min(s.line.bbox[0] for s in hit.spans)
    _, y0, _, y1 = last.bbox
    h = y1 - y0
    below = (x0, y1 + 0.1 * h, x0 + 3 * h, y1 + 1.1 * h)
    if any(_crosses(ln.bbox, below) for ln in lines):
        return value  # something was read there: not a missed line
    probe = back.probe(below)
    readings = [clean(r.text) for r in region.reread(probe, 3.0)]
    said = set(readings)
    if len(readings) < 2 or len(said) != 1:
        return value
    (tail,) = said
    if not (_ADDRESS_TAIL.fullmatch(tail) and _ADDRESS_END.search(tail)):
        return value
    if any(lab in tail for lab in (*_SHORT_LABELS, "公民", "身份", "号码")):
        return value
    return value.model_copy(
        update={
            "value": value.value + tail,
            "bbox": tuple(round(v) for v in union([value.bbox or below, below])),
            "confidence": round(value.confidence * BESIDE, 4),
            "raw": f"{value.raw} | {tail}",
        }
    )


def _crosses(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


# The front's two-character labels, and how doubtful a box must be to be one misread.
_SHORT_LABELS = ("姓名", "性别", "民族", "出生", "住址")
_LABEL_DOUBT = 0.9
# The back's labels (签发机关 read 警发机关).
_BACK_LABELS = ("签发机关", "有效期限")


def relabel(lines: Sequence[OcrLine], labels: Sequence[str]) -> list[OcrLine]:
    """The lines, a label read one character wrong given back its text.

    ``姓者`` at 0.79 (case 5053) is 姓名, ``警发机关`` at 0.86 (varied case-6219) is
    签发机关: a box as long as a label, read with some doubt, one character off exactly
    one of ``labels`` that no box holds. A longer box is a label glued to its value only
    for the labels whose values are a closed set (``_CLOSED``: ``属族汉`` is 民族汉,
    ``属族书`` is text).
    """
    texts = [clean(ln.text) for ln in lines]
    missing = [lab for lab in labels if not any(lab in t for t in texts)]
    out = list(lines)
    for i, (line, text) in enumerate(zip(lines, texts, strict=True)):
        if line.confidence >= _LABEL_DOUBT:
            continue
        near = [lab for lab in missing if len(text) == len(lab) and edit_distance(text, lab) == 1]
        if not near:
            # A label glued to its value, one of a closed set (属族汉 at 0.86, case 5075).
            near = [
                lab
                for lab in missing
                if lab in _CLOSED
                and len(text) > len(lab)
                and edit_distance(text[: len(lab)], lab) == 1
                and _CLOSED[lab](text[len(lab) :])
            ]
        if len(near) == 1:
            out[i] = line.model_copy(update={"text": near[0] + text[len(near[0]) :]})
            missing.remove(near[0])
    return out


def _one_ethnicity(text: str) -> bool:
    t = clean(text).translate(_TRADITIONAL)
    return t in ETHNICITIES or (t.endswith("族") and t[:-1] in ETHNICITIES)


# The labels whose values are a closed set, and the test of a value.
_CLOSED: dict[str, Callable[[str], bool]] = {
    "性别": lambda t: clean(t) in ("男", "女"),
    "民族": _one_ethnicity,
}


# The filed ID types the resident card is proof for. The 港澳台居民居住证's front prints
# the same labels and an 18-digit number of the same check, and the 永居证 is linked by
# content too, as before their own kinds were declared.
ID_TYPES = (
    ("居民身份证", "身份证", "中华人民共和国居民身份证", "二代身份证"),
    ("港澳台居民居住证", "居住证"),
    ("外国人永久居留身份证", "永居证"),
)
FRONT = KindSpec(
    kind=DocKind.id_card_front,
    label="身份证人像面",
    document="居民身份证",
    document_en="ID card",
    card="居民身份证",
    side="front",
    id_types=ID_TYPES,
    cues=FRONT_CUES,
    gb11643=lambda number: True,
    fields=(
        spec_field("name", "姓名", Role.person_name, key=True),
        spec_field("gender", "性别"),
        spec_field("ethnicity", "民族"),
        spec_field("birth_date", "出生"),
        spec_field("address", "住址"),
        spec_field(
            "id_number",
            "公民身份号码",
            Role.id_number,
            Role.holder_number,
            key=True,
            labels=("身份号码", "公民身份"),
            shape=id_number_shaped,
        ),
    ),
    keywords=FRONT_KEYWORDS,
    threshold=THRESHOLD,
)
# The other side of the same card: its document, card and ID types are the front's.
BACK = replace(
    FRONT,
    kind=DocKind.id_card_back,
    label="身份证国徽面",
    side="back",
    fields=(
        spec_field("issuing_authority", "签发机关"),
        spec_field("valid_from", "有效期限起", key=True),
        spec_field("valid_to", "有效期限止", key=True),
    ),
    keywords=BACK_KEYWORDS,
    cues=tuple(BACK_KEYWORDS),
)


@extractor(FRONT)
def extract_front(region: Region) -> dict[str, FieldValue]:
    """Fields of the portrait side: name, gender, ethnicity, birth date, address, number."""
    lines, back = level(relabel(region.lines, _SHORT_LABELS), region.ocr.skew)
    hits = read_fields(lines, FRONT_LABELS)
    name = read_name(hits.get("name"))
    if name is None:
        # The detector can miss a two-character name beside its label: a second look.
        name = beside_value(
            region, hits.get("name"), back, shaped(CJK_NAME, FRONT_LABELS), reach=NAME_REACH
        ) or _lone_name(lines, hits)
    gender = read_gender(hits.get("gender"), lines) or beside_value(
        region, hits.get("gender"), back, _gender_in, reach=SHORT_REACH, again=True
    )
    ethnicity = read_ethnicity(hits.get("ethnicity"))
    if ethnicity is None or ethnicity.value not in ETHNICITIES:
        # A one-character value beside its label missed, or read as a mark (``[``).
        ethnicity = (
            beside_value(
                region, hits.get("ethnicity"), back, _ethnicity_in, reach=SHORT_REACH, again=True
            )
            or ethnicity
        )
    if ethnicity is None and "ethnicity" not in hits:
        # Neither 民族 nor its value detected (accuracy case-5001, varied case-6201, a
        # soft photo): they stand on the 性别 row, right of its value. That row is read
        # again as far as they go.
        ethnicity = beside_value(
            region, hits.get("gender"), back, _ethnicity_after, reach=ROW_REACH, again=True
        )
    out: dict[str, FieldValue | None] = {
        "name": name,
        "gender": gender,
        "ethnicity": ethnicity,
        "birth_date": read_birth(hits.get("birth_date"), lines),
        "address": _address_tail(region, lines, hits.get("address"), back),
        "id_number": read_id_number(hits.get("id_number"), lines),
    }
    return {k: back.value(v) for k, v in out.items() if v is not None}


# --------------------------------------------------------------------------- back


def _date_run(lines: Sequence[OcrLine]) -> tuple[str, Span] | None:
    pat = re.compile(r"\d{4}[.,·/]?\d{2}[.,·/]?\d{2}.{0,3}(\d{4}[.,·/]?\d{2}[.,·/]?\d{2}|长期)")
    return _find_line(lines, pat)


@extractor(BACK)
def extract_back(region: Region) -> dict[str, FieldValue]:
    """Fields of the emblem side: issuing authority, validity start and end."""
    lines, back = level(relabel(region.lines, _BACK_LABELS), region.ocr.skew)
    hits = read_fields(lines, BACK_LABELS)
    out: dict[str, FieldValue] = {}
    auth = hits.get("issuing_authority")
    if auth is not None and clean(auth.text):
        out["issuing_authority"] = auth.value(clean(auth.text))
    validity = hits.get("validity")
    start = end = None
    base: FieldValue | None = None
    if validity is not None and validity.spans:
        start, end = parse_validity(validity.text)
        base = validity.value()
    if start is None:
        found = _date_run(lines)
        if found is not None:
            start, end = parse_validity(found[0])
            base = _fv(found[0], [found[1]], 0.9)
    if base is not None:
        if start is not None:
            out["valid_from"] = base.model_copy(update={"value": start})
        if end is not None:
            out["valid_to"] = base.model_copy(update={"value": end})
    return {k: back.value(v) for k, v in out.items()}
