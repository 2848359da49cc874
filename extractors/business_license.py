"""营业执照 (``business_license``): every field of CONTRACT §2 from the OCR lines of a page.

The license prints ``label value`` pairs in two columns (new style) or one (old style),
with labels that depend on the entity type (RULES.md): 法定代表人 / 负责人 /
执行事务合伙人 / 投资人 / 经营者, 注册资本 / 出资额, 成立日期 / 注册日期, 营业期限 /
合伙期限, 住所 / 营业场所 / 主要经营场所 / 经营场所. ``docpipe.layout.read_fields``
reads them, including 住所 and 经营范围 wrapping in their own column.

Fields that have no label of their own are found by what they look like:

- the credit code: 18 characters of the USCC alphabet under or beside
  统一社会信用代码, else anywhere (never the 证照编号). Letters outside the alphabet
  that look like digits (O/0, I/1, Z/2, S/5) are replaced only when exactly one
  candidate then passes both check characters; B/8 (both in the alphabet) only where
  the engine doubted that character. A replaced value keeps the OCR text in ``raw``
  and a lower confidence.
- the issue date: the date line nearest the lower right corner (under the red seal)
  that is not 成立日期 or 营业期限.
- the registration authority: after 登记机关 when printed there, else from the seal's
  arc (``extractors._authority``; the seal's box is the evidence).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

from docpipe.checkdigits import USCC_ALPHABET, is_valid_uscc
from docpipe.extract import Region, extractor
from docpipe.kinds import CODE_LABELS, KindSpec, Role, spec_field
from docpipe.layout import (
    LEAD,
    Hit,
    Label,
    Span,
    Turn,
    clean,
    compact,
    in_cells,
    level,
    read_fields,
    rows,
    union,
)
from docpipe.models import DocKind, FieldValue
from docpipe.normalize import LONG_TERM, is_long_term, norm_date, numeral_dates
from docpipe.ocr.base import OcrLine
from docpipe.reread import CONTRADICTED
from extractors._authority import printed_authority, seal_authority
from extractors._beside import (
    BESIDE,
    CJK_NAME,
    beside_value,
    date_again,
    date_below,
    shaped,
    voted,
)
from extractors._forms import fv as field_value
from extractors._forms import unlikely_date
from extractors._license_labels import split_half_labels
from extractors._ticks import GLYPH_MARKS

# Classification cues. 统一社会信用代码 and 法定代表人 are also printed on the
# application form and the authorization letter, so they weigh little; the title, the
# scope, the registration authority and the footer are what make a license.
KEYWORDS = {
    "营业执照": 1.5,
    "经营范围": 1.0,
    "登记机关": 1.0,
    "国家企业信用信息公示系统": 1.0,
    "证照编号": 0.5,
    "统一社会信用代码": 0.5,
    "法定代表人": 0.5,
    "经营者": 0.5,
    "执行事务合伙人": 0.5,
    "负责人": 0.3,
    "投资人": 0.3,
    "注册资本": 0.5,
    "出资额": 0.3,
    "成立日期": 0.5,
    "注册日期": 0.5,
    "营业期限": 0.5,
    "合伙期限": 0.5,
}
THRESHOLD = 2.5

LABELS = (
    Label("name", ("名称",)),
    Label("enterprise_type", ("类型",)),
    Label(
        "legal_representative",
        ("执行事务合伙人", "法定代表人", "法定代表", "负责人", "投资人", "经营者"),
        inline=True,
    ),
    Label("registered_capital", ("注册资本", "出资总额", "出资额"), inline=True),
    Label("established_date", ("成立日期", "注册日期"), inline=True),
    Label("term", ("营业期限", "合伙期限", "经营期限"), multiline=True, inline=True),
    Label("address", ("主要经营场所", "经营场所", "营业场所", "住所"), multiline=True),
    Label("business_scope", ("经营范围",), multiline=True, inline=True),
    Label("registration_authority", ("登记机关", "登记机"), inline=True),
    # Printed text that must stop a value, not reported.
    Label("_composition", ("组成形式",), inline=True),
    Label("_credit_label", ("统一社会信用代码", "社会信用代码"), inline=True),
    Label("_licence_no", ("证照编号",), inline=True),
    Label("_footer", ("国家企业信用信息公示系统",), inline=True),
    # The QR code's caption (扫描二维码登录“国家企业 / 信用信息公示系统”了解更多登记、备案、
    # 许可、监管信息。), printed beside the name on every license of the current face: its
    # pieces stop a value they stand level with (verify 30005 read the name with it).
    Label(
        "_qr_caption", ("扫描二维码", "信用信息公示系统", "了解更多登记", "监管信息"), inline=True
    ),
)


# Digit look-alikes outside the USCC alphabet: the only reading that can be meant.
_FORCED = {"O": "0", "I": "1", "Z": "2", "S": "5"}
_SWAPS = {"B": "8", "8": "B"}  # both in the alphabet: only where the engine doubted
_DOUBT = 0.8
_CODE_RUN = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])")
_A = re.escape(USCC_ALPHABET)
_USCC_SHAPE = re.compile(rf"[1-9ANY][{_A}]\d{{6}}[{_A}]{{10}}")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_DATE_DIGITS = str.maketrans({"O": "0", "o": "0", "〇": "0", "I": "1", "l": "1", "|": "1"})
_CORRECTED_PENALTY = 0.9


SPEC = KindSpec(
    kind=DocKind.business_license,
    label="营业执照",
    document="营业执照",
    document_en="the business license",
    seals=True,
    fields=(
        spec_field(
            "credit_code", "统一社会信用代码", Role.credit_code, key=True, labels=CODE_LABELS
        ),
        spec_field("name", "名称", Role.enterprise_name, key=True),
        spec_field("enterprise_type", "类型"),
        spec_field("legal_representative", "法定代表人", Role.person_name, key=True),
        spec_field("registered_capital", "注册资本"),
        spec_field("established_date", "成立日期"),
        spec_field("business_term_from", "营业期限自"),
        spec_field("business_term_to", "营业期限至"),
        spec_field("address", "住所"),
        spec_field("business_scope", "经营范围"),
        spec_field("registration_authority", "登记机关"),
        spec_field("issue_date", "发证日期", Role.under_seal),
    ),
    keywords=KEYWORDS,
    threshold=THRESHOLD,
)


@extractor(SPEC)
def extract_business_license(region: Region) -> dict[str, FieldValue]:
    """Read every CONTRACT §2 field of a business license; unread fields are left out."""
    skew = region.ocr.skew if region.ocr.source == "ocr" else 0.0
    # 0.5°: a license's two columns still share their rows below that.
    # A license printed as a ruled table is read cell by cell.
    grid = region.grid()
    levelled, back = level(in_cells(region.lines, grid, LABELS), skew, min_skew=0.5)
    lines = split_half_labels(levelled)
    hits = read_fields(lines, LABELS, grid)
    out: dict[str, FieldValue] = {}

    code = _credit_code(lines, hits)
    if code is not None:
        out["credit_code"] = code
    for name in _TEXT_FIELDS:
        hit = hits.get(name)
        if hit is not None and (text := compact(_unmarked(_hit_text(hit)))):
            out[name] = hit.value(_scope_marks(text) if name == "business_scope" else text)
    if "legal_representative" in out:
        out["legal_representative"] = _person_again(region, hits, out["legal_representative"], back)
    elif (h := hits.get("legal_representative")) is not None and not h.spans:
        # No box at all beside the person's label (verify 90058: 投资人, its name not
        # detected): the row is read again right of the label, a name's shape or nothing.
        parse = shaped(CJK_NAME, LABELS)
        if (v := beside_value(region, h, back, parse, reach=PERSON_REACH)) is not None:
            out["legal_representative"] = v
    if "registered_capital" not in out and (v := _lone_capital(lines, hits)) is not None:
        out["registered_capital"] = v
    est = hits.get("established_date")
    if est is not None and (d := _first_date(_hit_text(est))) is not None:
        out["established_date"] = est.value(d)
    term = hits.get("term")
    if term is not None:
        start, end = _term(_hit_text(term))
        if start is not None:
            out["business_term_from"] = term.value(start)
        if end is not None:
            out["business_term_to"] = term.value(end)
    used = {id(s.line) for h in hits.values() for s in h.spans}
    out["registration_authority"] = printed_authority(lines, hits, used, region.ocr.height)
    issue = _issue_date(lines, hits, region.ocr.width, region.ocr.height)
    if issue is None:
        near = _by_corner(lines, region.ocr.width, region.ocr.height)
        issue = date_again(region, near, back)
    if issue is None and (auth := hits.get("registration_authority")) is not None:
        issue = date_below(region, auth.label_bbox, back)
    if issue is not None:
        out["issue_date"] = issue
    for fv in out.values():
        fv.bbox = back.box(fv.bbox)
    if not out["registration_authority"].value:
        # Read off the seal in the page's own frame: no deskew to undo.
        code = out.get("credit_code")
        valid = code.value if code and code.value and is_valid_uscc(code.value) else None
        out["registration_authority"] = seal_authority(region.seal_texts, valid)
    return out


# Tick and box glyphs (never CJK look-alikes such as 口): no value holds one.
_MARKS = re.compile(f"[{re.escape(''.join(sorted(GLYPH_MARKS)))}]")


def _unmarked(text: str) -> str:
    """A value without the tick or box glyph printed before it (``☑有限责任公司``)."""
    return _MARKS.sub("", text)


_TEXT_FIELDS = (
    "name",
    "enterprise_type",
    "legal_representative",
    "registered_capital",
    "address",
    "business_scope",
)


# In a business scope a colon follows only 项目 (一般项目：…；许可项目：…); items are
# separated by ；and 、 and a sentence ends with 。 before the next 项目 or at the end.
_SCOPE_COLON = re.compile(r"(?<!项目)[:：]")
# …and the headers 一般项目 / 许可项目 are followed by a colon, never a semicolon.
_SCOPE_HEAD = re.compile(r"((?:一般|许可)项目)[;；]")
_SCOPE_STOP = re.compile(r"(?<![)）])[。.](?=[\u4e00-\u9fff])(?!(?:一般|许可|经营)?项目)")


# …and a middle dot between two items is the enumeration comma read small (技术服务·技术
# 开发, acc2 20143): a scope names no person.
_SCOPE_DOT = re.compile(r"(?<=[\u4e00-\u9fff])[·•・](?=[\u4e00-\u9fff])")


def _scope_marks(text: str) -> str:
    """The scope's list marks as printed where the OCR confused them (；→：, 、→。, ：→；).

    >>> _scope_marks("一般项目：五金产品批发：家用电器销售；技术服务。技术开发")
    '一般项目：五金产品批发；家用电器销售；技术服务、技术开发'
    >>> _scope_marks("一般项目：日用百货销售。许可项目：货物进出口（除依法须经批准的项目外）。")
    '一般项目：日用百货销售。许可项目：货物进出口（除依法须经批准的项目外）。'
    >>> _scope_marks("一般项目；五金产品批发")
    '一般项目：五金产品批发'
    >>> _scope_marks("一般项目：技术服务·技术开发")
    '一般项目：技术服务、技术开发'
    """
    text = _SCOPE_DOT.sub("、", text)
    return _SCOPE_HEAD.sub(r"\1：", _SCOPE_STOP.sub("、", _SCOPE_COLON.sub("；", text)))


def _hit_text(hit: Hit) -> str:
    """The value's pieces joined, without what two overlapping boxes both read.

    The detector sometimes cuts a line into two boxes that overlap (``注册资本2`` and
    ``200万元人民币``); the pixels they share are read twice.
    """
    out = ""
    prev: Span | None = None
    for span in hit.spans:
        text = span.text
        if prev is not None and prev.line is not span.line:
            overlap = prev.bbox[2] - span.bbox[0]
            char_w = (prev.line.bbox[2] - prev.line.bbox[0]) / max(len(prev.line.text), 1)
            same_row = abs(prev.line.center[1] - span.line.center[1]) < 0.6 * span.line.height
            if same_row and overlap > 0.3 * char_w:
                for k in range(min(round(overlap / char_w) + 1, len(text), len(out)), 0, -1):
                    if out.endswith(text[:k]):
                        text = text[k:]
                        break
        out += text
        prev = span
    return out.lstrip(LEAD).rstrip()


# How far right of its label an undetected person's name is read, in line heights (five
# characters and the gap before them; the other column's label stays out of the cut).
PERSON_REACH = 6.0


def _person_again(
    region: Region, hits: dict[str, Hit], value: FieldValue, back: Turn
) -> FieldValue:
    """A doubtful legal representative as most second looks at its line read it.

    Accuracy case-5014: 余浩君 on the page (法定代表人余浩君 at 0.94), 余浩珺 in all six
    second looks. A second reading counts when it names a person of the page's length
    after the label (``人范森林``: the label's tail in the cut, not another name), and
    every one must read the same: one character decides a name, and the recogniser
    confuses some pairs whichever way it looks (varied case-5033: 范淼林 on the page,
    its 淼 at 0.77; 范森林 in five second looks of six, 森 at 0.52–0.80).
    """
    held = {id(s.line): s.line for s in hits["legal_representative"].spans if s.text.strip()}
    if len(held) != 1 or value.value is None:
        return value
    labels = LABELS[2].variants
    length = len(value.value)

    def person(reading: str) -> str | None:
        text = clean(reading)
        for label in sorted(labels, key=len, reverse=True):
            if label in text:
                text = text.split(label, 1)[1]
                break
        text = text.strip(LEAD)
        return text if len(text) == length and CJK_NAME.fullmatch(text) else None

    (line,) = held.values()
    return voted(region, value, line, person, back, unanimous=True)


# A registered capital as licenses print it: 200万元人民币, 50.5万美元, 1000万元.
_CAPITAL = re.compile(r"\d+(?:\.\d+)?万(?:元)?(?:人民币|美元|港元|欧元|日元)?")


def _lone_capital(lines: Sequence[OcrLine], hits: dict[str, Hit]) -> FieldValue | None:
    """The one unlabelled line shaped like a capital, when 注册资本 was not read.

    A motion-blurred photo can lose the label's box altogether (accuracy case 5017,
    a portrait 正本); the amount is the only text of its shape on a license.
    """
    used = {id(s.line) for h in hits.values() for s in h.spans}
    found = [ln for ln in lines if id(ln) not in used and _CAPITAL.fullmatch(clean(ln.text))]
    if len(found) != 1:
        return None
    line = found[0]
    return field_value(clean(line.text), line.confidence * BESIDE, line.bbox, line.text)


# --------------------------------------------------------------------------- credit code


def _credit_code(lines: Sequence[OcrLine], hits: dict[str, Hit]) -> FieldValue | None:
    """The code beside or under its label, else the only USCC-shaped run on the page."""
    banned = {id(s.line) for s in hits["_licence_no"].spans} if "_licence_no" in hits else set()
    cands: list[tuple[str, list[OcrLine]]] = []
    for row in rows([ln for ln in lines if id(ln) not in banned and "证照编号" not in ln.text]):
        texts = [_code_text(ln.text) for ln in row]
        for i, line in enumerate(row):
            cands += [(m.group(0), [line]) for m in _CODE_RUN.finditer(texts[i])]
            # A code the detector cut in two boxes of one row.
            pair = texts[i] + texts[i + 1] if i + 1 < len(row) else ""
            if len(pair) == 18 and texts[i] and texts[i + 1] and re.fullmatch(r"[0-9A-Z]+", pair):
                cands.append((pair, [line, row[i + 1]]))
    if not cands:
        return None
    label = hits.get("_credit_label")
    ranked = sorted(
        cands,
        key=lambda c: (_near_label(c[1], label), not _USCC_SHAPE.fullmatch(_forced(c[0]))),
    )
    text, src = ranked[0]
    if _near_label(src, label) >= 3 and not _USCC_SHAPE.fullmatch(_forced(text)):
        return None  # far from any label and not shaped like a code: not a code
    return _choose_code(text, src)


def _code_text(text: str) -> str:
    """A line's characters as a code is compared: NFKC, no spaces, upper case, no label."""
    t = clean(text).upper()
    return re.sub(r"^.*?(?:统一)?社会信用代码[:：]?", "", t)


def _near_label(src: list[OcrLine], label: Hit | None) -> int:
    """0 the label's own line, 1 right of it in its row, 2 just under it, 3 elsewhere."""
    if label is None:
        return 3
    lx0, ly0, lx1, ly1 = label.label_bbox
    h = max(ly1 - ly0, 1.0)
    x0, y0, x1, y1 = union(ln.bbox for ln in src)
    if any(_code_text(ln.text) != clean(ln.text).upper() for ln in src):
        return 0
    cy = (y0 + y1) / 2
    if abs(cy - (ly0 + ly1) / 2) < 0.6 * h and x0 >= lx0:
        return 1
    if 0 <= y0 - ly1 + 0.3 * h < 3.5 * h and x0 < lx1 + (lx1 - lx0) and x1 > lx0 - h:
        return 2
    return 3


def _forced(code: str) -> str:
    return "".join(_FORCED.get(c, c) for c in code)


def _choose_code(text: str, src: list[OcrLine]) -> FieldValue:
    """The code as read, or the single check-valid reading of its look-alike letters."""
    conf = min(ln.confidence for ln in src)
    bbox = union(ln.bbox for ln in src)
    raw = " | ".join(ln.text for ln in src)
    box = (round(bbox[0]), round(bbox[1]), round(bbox[2]), round(bbox[3]))
    if is_valid_uscc(text):
        return FieldValue(value=text, confidence=round(conf, 4), bbox=box, raw=raw)
    doubted = _doubted_positions(text, src)
    options = [[c] if c not in _FORCED else [_FORCED[c]] for c in text]
    for i in doubted:
        options[i] = [text[i], _SWAPS[text[i]]]
    valid = {"".join(p) for p in itertools.product(*options)} if len(doubted) <= 6 else set()
    valid = {v for v in valid if is_valid_uscc(v)}
    if len(valid) == 1:
        value = valid.pop()
        changes = ", ".join(
            f"{a}→{b}@{i + 1}" for i, (a, b) in enumerate(zip(text, value, strict=True)) if a != b
        )
        return FieldValue(
            value=value,
            confidence=round(conf * _CORRECTED_PENALTY, 4),
            bbox=box,
            raw=f"{raw} [look-alike {changes}, chosen by check characters]",
        )
    # Not valid and no single valid reading: give what was read; the format rule judges.
    return FieldValue(value=text, confidence=round(conf, 4), bbox=box, raw=raw)


def _doubted_positions(text: str, src: list[OcrLine]) -> list[int]:
    """Positions of B/8 whose character confidence the engine gave as low."""
    if len(src) != 1 or src[0].char_confidences is None:
        return []
    line = src[0]
    start = clean(line.text).upper().find(text)
    confs = line.char_confidences or []
    if start < 0 or len(confs) != len(clean(line.text)):
        return []
    return [i for i, c in enumerate(text) if c in _SWAPS and confs[start + i] < _DOUBT]


# --------------------------------------------------------------------------- dates


def _first_date(text: str) -> str | None:
    """The first ``YYYY年M月D日`` in ``text`` as ISO, else one in Chinese numerals.

    Digit look-alikes read as digits; licenses also print 二〇一八年十一月二十七日.
    """
    m = _DATE.search(compact(text).translate(_DATE_DIGITS))
    if m:
        return norm_date(m.group(0))
    written = numeral_dates(compact(text))
    return written[0][2].isoformat() if written else None


def _term(text: str) -> tuple[str | None, str | None]:
    """营业期限 ``[自]X至Y`` → (from, to); Y may be 长期 / 永久 / 无固定期限."""
    t = compact(text).lstrip("自")
    head, sep, tail = t.partition("至")
    start = _first_date(head)
    if not sep:
        return (
            (start, None) if start is not None else (None, LONG_TERM if is_long_term(t) else None)
        )
    end = _first_date(tail)
    if end is None:
        word = re.match(r"长期有效|长期|永久|无固定期限", tail)
        end = LONG_TERM if word else None
    return start, end


def _issue_date(
    lines: Sequence[OcrLine], hits: dict[str, Hit], width: float, height: float
) -> FieldValue | None:
    """The date nearest the lower right corner that is not 成立日期 or 营业期限."""
    used = {id(s.line) for k in ("established_date", "term") if k in hits for s in hits[k].spans}
    best: tuple[float, str, list[OcrLine]] | None = None
    for row in rows([ln for ln in lines if id(ln) not in used]):
        # Join the row: the seal can cut a date into two boxes.
        for group in _adjacent_groups(row):
            text = "".join(ln.text for ln in group)
            iso = _first_date(text)
            if iso is None:
                continue
            x1, y1 = max(ln.bbox[2] for ln in group), max(ln.bbox[3] for ln in group)
            dist = math.hypot(width - x1, height - y1)
            if best is None or dist < best[0]:
                best = (dist, iso, group)
    if best is None:
        return None
    _, iso, group = best
    b = union(ln.bbox for ln in group)
    text = " | ".join(ln.text for ln in group)
    conf = min(ln.confidence for ln in group)
    if unlikely_date(compact(text), iso):
        conf = min(conf, CONTRADICTED)
    return FieldValue(
        value=iso,
        confidence=round(conf, 4),
        bbox=(round(b[0]), round(b[1]), round(b[2]), round(b[3])),
        raw=text,
    )


def _by_corner(lines: Sequence[OcrLine], width: float, height: float) -> list[OcrLine]:
    """The lines of the page's lower half, nearest the lower right corner first."""
    low = [ln for ln in lines if ln.center[1] > height / 2]
    return sorted(low, key=lambda ln: math.hypot(width - ln.bbox[2], height - ln.bbox[3]))


def _adjacent_groups(row: list[OcrLine]) -> list[list[OcrLine]]:
    """Each box alone, and each box with its right neighbour when they nearly touch."""
    groups = [[ln] for ln in row]
    for a, b in itertools.pairwise(row):
        if b.bbox[0] - a.bbox[2] < 2 * max(a.height, b.height):
            groups.append([a, b])
    return groups
