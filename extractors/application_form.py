"""电子口岸制发卡业务申请书 (application form): label-anchored table reading.

The form is a table: a label cell and its value cell to the right (or, in some
printings, under it), the business applied for as a row of tick boxes, and a date at
the foot (申请日期：…, or ``年 月 日`` under the seal). The same reader serves the
born-digital PDF (text layer, with drawn boxes turned into ``☑``/``□``) and a scan.
Nothing depends on coordinates or on the order of the rows: values are found by their
labels (``docpipe.layout.read_fields``), options by their printed names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from docpipe.checkdigits import is_valid_id
from docpipe.compare import is_doubtful
from docpipe.extract import Region, extractor
from docpipe.kinds import CODE_LABELS, KindSpec, Role, spec_field
from docpipe.layout import (
    CREDIT_CODE_LABEL,
    Hit,
    Label,
    Span,
    Turn,
    clean,
    compact,
    in_cells,
    level,
    read_fields,
)
from docpipe.models import DocKind, FieldValue
from docpipe.normalize import norm_date
from docpipe.ocr.base import OcrLine
from docpipe.reread import CONTRADICTED
from docpipe.tables import Grid
from extractors._beside import BESIDE, CJK_NAME, beside_value, date_again, shaped
from extractors._business import OPTIONS
from extractors._forms import (
    DOUBT,
    LOST_SEPARATOR_CONFIDENCE,
    Prose,
    code_value,
    find_date,
    fv,
    id_value,
    lost_separator_date,
    overlapped,
    unlikely_date,
    whole_enterprise,
)
from extractors._ticks import (
    EMPTY_MARKS,
    INFERRED,
    OPTION_ROW,
    TICKED_MARKS,
    Option,
    find_options,
    starts_marked,
    ticked,
    ticked_by_pixels,
)

# One lexicon per field: the words forms print, and a grammar for the wordings no list
# holds (联系手机, 介质种类, 身份证件号码 …): a label names its field's thing (手机, 介质,
# 证件) and its facet (号码, 类型, 名称). Misread by a character, a long word still counts
# (``docpipe.layout.Label.fuzzy_patterns``).
LABELS = (
    Label(
        "enterprise_name",
        ("企业名称", "单位名称", "企业中文名称", "申请单位", "公司名称", "单位全称"),
        multiline=True,
        below=True,
        grammar=(r"(?:申请)?(?:企业|单位|公司)(?:[(（]单位[)）])?(?:中文)?(?:名称|全称)",),
    ),
    # 统一社会信用代 is the label wrapped in a narrow cell (码 on the line under it).
    Label(
        "credit_code",
        ("统一社会信用代码", "社会信用代码", "信用代码", "统一社会信用代", "统一代码"),
        below=True,
        grammar=(CREDIT_CODE_LABEL,),
    ),
    Label(
        "operator_name",
        ("操作员姓名", "持卡人姓名", "申请人姓名", "姓名", "操作员名称", "经办人姓名"),
        below=True,
        grammar=(r"(?:操作员|持卡人|申请人|办卡人|经办人|用户)姓名",),
        alone=("操作员", "持卡人"),
    ),
    Label(
        "operator_id_type",
        ("证件类型", "证件种类", "证件类别", "证件名称"),
        below=True,
        grammar=(r"(?:操作员|身份)?证件(?:类型|种类|类别|名称)",),
    ),
    Label(
        "operator_id_number",
        ("证件号码", "身份证号码", "身份证号", "公民身份号码", "证件号", "身份证件号码"),
        below=True,
        grammar=(r"(?:操作员)?(?:居民)?(?:身份证件|证件|身份证|公民身份)(?:号码|编号|号)",),
    ),
    Label("operator_gender", ("性别",), below=True),
    Label(
        "operator_mobile",
        ("移动电话", "手机号码", "联系电话", "手机号", "手机", "联系手机", "联系方式"),
        below=True,
        grammar=(r"(?:联系人|联系|操作员|本人)?(?:手机|移动电话)(?:号码|号)?",),
    ),
    Label(
        "device_type",
        ("设备类型", "介质类型", "卡类型", "介质种类", "设备种类"),
        below=True,
        grammar=(
            r"(?:申领|申请|证书|卡)?(?:设备|介质|载体|卡)(?:类型|种类|类别)",
            r"(?:卡|设备)[（(]盾[)）](?:类型|种类|类别)",
        ),
    ),
    Label(
        "device_number",
        ("设备编号", "介质编号", "卡号", "设备号", "介质号"),
        below=True,
        grammar=(
            r"(?:设备|介质|载体|卡片|IC卡|卡|U盾)(?:序列号|编号|号码|号)",
            r"(?:卡|设备)[（(]盾[)）](?:序列号|编号|号码|号)",
        ),
    ),
    Label(
        "sign_date",
        ("申请日期", "签署日期", "填表日期", "日期", "填报日期"),
        below=True,
        grammar=(r"(?:申请|签署|填表|填报|签字)(?:日期|时间)",),
        glued=(r"[请署表报](?:日期|时间)[:：]",),
    ),
    # Printed text that ends a value, not reported.
    Label(
        "_business",
        ("申请业务", "业务类型", "办理业务", "申请事项", "业务种类"),
        grammar=(r"(?:申请|办理)(?:业务|事项)(?:类型|种类)?",),
    ),
    Label("_remarks", ("备注",)),
    Label("_promise", ("企业承诺", "申请单位承诺", "承诺")),
    Label("_seal", ("企业(盖章)", "企业盖章", "单位(盖章)", "盖章")),
    Label("_signature", ("经办人签字", "经办人签名", "签字", "签名")),
    Label("_email", ("电子邮箱", "邮箱")),
    Label(
        "_address",
        ("注册地址", "通讯地址", "联系地址", "企业地址", "单位地址", "地址", "住所"),
    ),
    Label("_legal", ("法定代表人", "负责人")),
    Label("_post", ("邮政编码", "邮编")),
    Label("_contact", ("联系人",)),
    Label("_phone", ("固定电话", "办公电话", "座机", "传真")),
)

BUSINESSES = OPTIONS  # the business applied for (extractors._business)
DEVICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("IC卡", ("IC卡", "ＩＣ卡", "ic卡")),
    ("U盾", ("U盾", "Ｕ盾", "u盾")),
    ("共享盾", ("共享盾",)),
)
GENDERS: tuple[tuple[str, tuple[str, ...]], ...] = (("男", ("男",)), ("女", ("女",)))
ID_TYPES = (
    "居民身份证",
    "港澳台居民居住证",
    "外国人永久居留身份证",
    "港澳居民来往内地通行证",
    "台湾居民来往大陆通行证",
    "护照",
)
# The ID types as tick-box options (☑居民身份证 □港澳台居民居住证 □其他).
ID_TYPE_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    *((t, (t,)) for t in ID_TYPES),
    ("其他", ("其他",)),
)
# How far right of a label whose value the page OCR did not detect the row is read
# again, in line heights: the value column of the form's table starts 5–6 heights on.
BESIDE_REACH = 11.0
# A gap this many line heights wide inside one row separates two cells of the table.
CELL_GAP = 2.5


def _text(hit: Hit) -> str:
    return re.sub(r"\s+", "", hit.text)


def _doubt_if_overlapped(region: Region, hit: Hit, value: FieldValue) -> FieldValue:
    """A scanned value crossed by other text (the seal) is a doubtful reading."""
    if region.ocr.source != "ocr":
        return value
    if any(overlapped(s.line, region.lines) for s in hit.spans):
        value.confidence = min(value.confidence, DOUBT)
    return value


def _pick(region: Region, found: list[Option], back: Turn) -> tuple[Option, float] | None:
    """The ticked option: from the text, else (a scan) from the boxes' pixels."""
    pick = ticked(found)
    if pick is None and region.pixels is not None and found:
        pick = ticked_by_pixels(found, region.pixels(), back.point)
    return pick


def _choice(
    region: Region,
    hit: Hit | None,
    options: tuple[tuple[str, tuple[str, ...]], ...],
    back: Turn,
) -> FieldValue | None:
    """An option field (device type, gender): the ticked one when several are printed."""
    if hit is None:
        return None
    parse = _option_in(options)
    if not hit.spans and (v := beside_value(region, hit, back, parse, reach=BESIDE_REACH)):
        return v
    lines = list({id(s.line): s.line for s in hit.spans}.values())
    # The options printed in a row (□IC卡 ☑U盾 □共享盾) are read as one list, though
    # the value taken beside or under the label holds only the first of them.
    # Wrapped in their cell, they stand in lines above and below the label's middle.
    lx0, ly0, lx1, ly1 = hit.label_bbox
    lh, cy = max(ly1 - ly0, 1.0), (ly0 + ly1) / 2
    own_ids = {id(ln) for ln in lines}
    lines += [
        ln
        for ln in region.lines
        if id(ln) not in own_ids
        and ln.bbox[0] >= lx0
        and (
            any(_same_row(ln, own) for own in lines)
            or (ln.bbox[0] >= lx1 - 0.5 * lh and abs(ln.center[1] - cy) <= 1.6 * lh)
        )
    ]
    ids = {id(ln) for ln in lines}
    box_lines = [ln for ln in region.lines if len(ln.text.strip()) <= 3 and id(ln) not in ids]
    found = [o for o in find_options(lines + box_lines, options) if id(o.span.line) in ids]
    if len({o.code for o in found}) >= 2:
        pick = _pick(region, found, back)
        if pick is None:
            return _unread(hit)
        opt, factor = pick
        conf = opt.span.line.confidence * factor
        return fv(opt.code, conf, opt.span.bbox, opt.span.line.text)
    if found and found[0].mark != "empty":
        return hit.value(found[0].code)
    if found:
        return _unread(hit)  # one option, its box empty: none is ticked
    # A value in the label's row that names no option (IC卡 read ``It`` at 0.53 in a
    # serif print): the row read again, before a loose reading of what is there.
    if v := beside_value(region, hit, back, parse, reach=BESIDE_REACH, again=True):
        return v
    return _loose_device(hit) if options is DEVICES else _unread(hit)


def _same_row(a: OcrLine, b: OcrLine) -> bool:
    """Whether two lines stand level: most of the lower one's height is shared."""
    overlap = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    return overlap > 0.5 * min(a.height, b.height)


def _option_in(options: tuple[tuple[str, tuple[str, ...]], ...]) -> Callable[[str], str | None]:
    """A parser: the one option named in a text, else ``None``."""

    def parse(text: str) -> str | None:
        codes = {code for code, variants in options if any(v in text for v in variants)}
        return codes.pop() if len(codes) == 1 else None

    return parse


def _unread(hit: Hit) -> FieldValue:
    """The field is there but its value cannot be told: no value, the raw text kept."""
    return fv(None, 0.0, hit.bbox, hit.raw)


def _loose_device(hit: Hit) -> FieldValue:
    """A device type read with a character lost (``IC`` / ``共享`` / ``盾``), in doubt."""
    t = clean(hit.text).upper()
    guess = None
    if "共享" in t or "享盾" in t:
        guess = "共享盾"
    elif "盾" in t:
        guess = "U盾"
    elif "IC" in t or t.endswith("C卡"):
        guess = "IC卡"
    if guess is None:
        return _unread(hit)  # e.g. a lone "1": never guess
    return hit.value(guess, min(hit.confidence, INFERRED))


def _application_type(region: Region, back: Turn, hit: Hit | None) -> FieldValue | None:
    """The ticked business; or the one business typed in after 申请业务, no boxes printed."""
    if hit is not None and hit.spans:
        typed = {code for code, variants in BUSINESSES if clean(_text(hit)) in variants}
        if len(typed) == 1:
            return hit.value(typed.pop())
    found = find_options(region.lines, BUSINESSES)
    pick = _pick(region, found, back)
    if pick is None:
        if found:
            raw = " | ".join(dict.fromkeys(o.span.line.text for o in found))
            return fv(None, 0.0, None, raw)
        return None
    opt, factor = pick
    return fv(opt.code, opt.span.line.confidence * factor, opt.span.bbox, opt.span.line.text)


def _sign_date(region: Region, hit: Hit | None) -> FieldValue | None:
    if hit is not None and hit.spans:
        found = find_date(_text(hit))
        if found is not None:
            value = hit.value(found[0])
            if unlikely_date(compact(_text(hit)), found[0]):
                value.confidence = min(value.confidence, CONTRADICTED)
            return value
        if (lost := lost_separator_date(_text(hit))) is not None:
            return hit.value(lost, min(hit.confidence, LOST_SEPARATOR_CONFIDENCE))
    # No labelled date: the last date on the page (``年 月 日`` under the seal).
    prose = Prose.of(region.lines)
    found = find_date(prose.text)
    if found is None:
        return None
    iso, s, e = found
    return prose.value(s, e, iso)


def _listed(hit: Hit) -> bool:
    """Whether a value is a list of tick-box options, not one typed in."""
    text = hit.text
    if any(c in TICKED_MARKS or c in EMPTY_MARKS for c in text) or starts_marked(text):
        return True
    return _option_count(hit) > 1


def _option_count(hit: Hit) -> int:
    return len({o.code for o in find_options([s.line for s in hit.spans], ID_TYPE_OPTIONS)})


def _listed_type(text: str) -> str | None:
    return text if text in ID_TYPES else None


def _valid_id(text: str) -> str | None:
    number, factor = id_value(text)
    return number if factor == 1.0 and is_valid_id(number) else None


def _lone_id(region: Region, out: dict[str, FieldValue]) -> FieldValue | None:
    """The one valid ID number standing alone on a line, when its label was not read.

    The form names one person; a line that is nothing but a valid ID number (its label
    lost to a fold or a blur) is that person's.
    """
    code = out.get("credit_code")
    found = [
        ln
        for ln in region.lines
        if (number := _valid_id(ln.text)) and (code is None or number != code.value)
    ]
    if len({_valid_id(ln.text) for ln in found}) != 1:
        return None
    line = found[0]
    return fv(_valid_id(line.text), min(line.confidence, SHAPED), line.bbox, line.text)


# A value found by its shape alone, its label unread: it may confirm the filed value;
# under the doubt threshold, so that a different one is a warning, never a mismatch.
SHAPED = 0.85
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
DEVICE_NUMBER = re.compile(r"(?<!\d)\d{13}(?!\d)")


def _lone_shaped(region: Region, pattern: re.Pattern[str]) -> FieldValue | None:
    """The one value of a field's shape on the whole form, when its label was not read.

    A mobile (``1[3-9]`` and nine digits) or a 13-digit device number is the only text
    of its shape on a form: found once, it is that field's value, read in doubt (the
    label is not there to say so).
    """
    found: dict[str, OcrLine] = {}
    for line in region.lines:
        for m in pattern.finditer(re.sub(r"[\s-]", "", line.text)):
            found.setdefault(m.group(0), line)
    if len(found) != 1:
        return None
    value, line = next(iter(found.items()))
    return fv(value, min(line.confidence, SHAPED), line.bbox, line.text)


def _lone_option(region: Region, options: dict[str, str]) -> FieldValue | None:
    """The one option standing alone on a line, when its field's label was not read.

    A blurred scan of a bold label (证件类型 read ``银``, 设备类型 ``型``) leaves the value
    cell beside it read: a line that is nothing but one option of the field (居民身份证,
    共享盾), the only such line on the form, is that field's value. ``options`` maps
    each printed variant to its value.
    """
    found = [ln for ln in region.lines if clean(ln.text) in options]
    if len({options[clean(ln.text)] for ln in found}) != 1:
        return None
    line = found[0]
    return fv(options[clean(line.text)], line.confidence * BESIDE, line.bbox, line.text)


# How an enterprise's name ends (company, branch, sole proprietorship, partnership…).


def _enterprise_name(region: Region, h: Hit | None, back: Turn) -> FieldValue | None:
    """After 企业名称 (read again when doubtful or missed), else the lone name at the top."""
    if h is not None and h.spans:
        value = _shape_checked(_doubt_if_overlapped(region, h, h.value(_text(h))), _ENTERPRISE)
        return _read_again(region, h, back, value, _ENTERPRISE)
    if h is not None:
        return beside_value(region, h, back, shaped(_ENTERPRISE, LABELS), reach=BESIDE_REACH)
    return _lone_enterprise(region)


def _lone_enterprise(region: Region) -> FieldValue | None:
    """The enterprise's name when its label was not read at all.

    The one line of the form's upper third shaped like a whole enterprise name: the form
    names one enterprise, at its top (accuracy cases 5003, 5053: 企业名称 unread on scans).
    """
    top = max((ln.bbox[3] for ln in region.lines), default=0.0) / 3
    found = [
        ln
        for ln in region.lines
        if ln.center[1] < top
        and whole_enterprise(clean(ln.text))
        and not any(lb in clean(ln.text) for lb in _LABEL_TEXTS)
    ]
    if len(found) != 1:
        return None
    line = found[0]
    return fv(line.text.strip(), line.confidence * BESIDE, line.bbox, line.text)


def _id_type(hit: Hit) -> FieldValue:
    """The ID type as printed; one character off a known type is that type, read worse.

    The portal offers a closed list of ID types, so ``属民身份证`` is 居民身份证 with a
    character misread, not another type (and must not stand as a mismatch).
    """
    text = _text(hit)
    near = [
        t
        for t in ID_TYPES
        if len(t) == len(text) and sum(a != b for a, b in zip(t, text, strict=True)) == 1
    ]
    if text in ID_TYPES or len(near) != 1 or len(text) < 4:
        return hit.value(text)
    return hit.value(near[0], hit.confidence * INFERRED)


_ENTERPRISE = re.compile(r".*[\u4e00-\u9fff]{2}.*")


_LABEL_TEXTS = tuple(v for lb in LABELS for v in lb.variants if len(v) >= 2)


def _read_again(
    region: Region, hit: Hit, back: Turn, value: FieldValue, pattern: re.Pattern[str]
) -> FieldValue:
    """A doubtful or misshapen name read once more beside its label; else as it was.

    The page OCR can read a name cell as one wrong character (``挺`` for 潘芮, at 0.66)
    where the cut-out row reads cleanly; the second reading stands only with the
    field's shape, agreed by two readings, and naming no printed label.
    """
    if not is_doubtful(value) and value.value and pattern.fullmatch(value.value):
        return value
    again = beside_value(region, hit, back, shaped(pattern, LABELS), reach=BESIDE_REACH, again=True)
    if again is None or is_doubtful(again):
        return value
    return again.model_copy(update={"bbox": value.bbox or again.bbox})


def _shape_checked(value: FieldValue, pattern: re.Pattern[str]) -> FieldValue:
    """A value that has not the shape of its field is a doubt, not a reading.

    On a degraded scan a label can pick up its neighbour's value (the credit code in
    the 企业名称 row, a tick box's text as a name): read confidently, that would be a
    false mismatch, so it is sent to a person instead.
    """
    if value.value and not pattern.fullmatch(value.value):
        value.confidence = min(value.confidence, DOUBT)
    return value


SPEC = KindSpec(
    kind=DocKind.application_form,
    label="制发卡业务申请书",
    document="电子口岸制发卡业务申请书",
    document_en="the application form",
    typed=True,
    fields=(
        spec_field("enterprise_name", "企业名称", Role.enterprise_name),
        spec_field("credit_code", "统一社会信用代码", Role.credit_code, labels=CODE_LABELS),
        spec_field("operator_name", "操作员姓名", Role.person_name, key=True),
        spec_field("operator_id_type", "证件类型"),
        spec_field(
            "operator_id_number",
            "证件号码",
            Role.id_number,
            key=True,
            labels=("证件号码", "身份证号"),
        ),
        spec_field("operator_gender", "性别"),
        spec_field("operator_mobile", "手机号码"),
        spec_field("device_type", "介质类型"),
        spec_field("device_number", "设备编号", key=True),
        spec_field("application_type", "申请业务"),
        spec_field("sign_date", "签署日期", Role.under_seal),
    ),
    keywords={
        "制发卡": 2.0,
        "业务申请书": 1.5,
        "申请业务": 1.0,
        "操作员姓名": 0.5,
        "设备编号": 0.5,
        "企业承诺": 0.5,
    },
    threshold=2.0,
)


@extractor(SPEC)
def extract_application_form(region: Region) -> dict[str, FieldValue]:
    """Fields of an application form (CONTRACT §2 ``application_form``)."""
    # A ruled table read cell by cell (a value never runs across a ruling, a wrapped
    # label or value is one line); a scanned form a few degrees askew levelled so that
    # label and value share a row.
    grid = region.grid()
    lines, back = level(in_cells(region.lines, grid, LABELS, (OPTION_ROW,)), region.ocr.skew)
    fields = _extract_form(replace(region, lines=lines), back, grid)
    return {k: back.value(v) for k, v in fields.items()}


def _own_cell(hit: Hit) -> Hit:
    """The hit without what lies beyond a wide gap in its row: the next cell's text.

    Forms print short fields two to a row (姓名 | 任敏琳 | 性别 | 女); when the second
    label is misread (性别 as 盛) its text would run on into the first value. A gap of
    more than ``CELL_GAP`` line heights between two pieces of one row is a cell border.
    """
    kept: list[Span] = []
    for span in hit.spans:
        if kept:
            last = kept[-1].bbox
            x0, y0, _, y1 = span.bbox
            height = max(min(y1 - y0, last[3] - last[1]), 1.0)
            same_row = y0 < last[3] and last[1] < y1
            if same_row and x0 - last[2] > CELL_GAP * height:
                break
        kept.append(span)
    return hit if len(kept) == len(hit.spans) else Hit(hit.label, hit.label_bbox, kept, hit.column)


def _extract_form(region: Region, back: Turn, grid: Grid | None) -> dict[str, FieldValue]:
    hits = {k: _own_cell(h) for k, h in read_fields(region.lines, LABELS, grid).items()}
    out: dict[str, FieldValue] = {}
    if (v := _enterprise_name(region, hits.get("enterprise_name"), back)) is not None:
        out["enterprise_name"] = v
    if (h := hits.get("credit_code")) and h.spans:
        code, factor = code_value(h.text)
        out["credit_code"] = _doubt_if_overlapped(region, h, h.value(code, h.confidence * factor))
    if (h := hits.get("operator_name")) and h.spans:
        value = _shape_checked(h.value(_text(h)), CJK_NAME)
        out["operator_name"] = _read_again(region, h, back, value, CJK_NAME)
    elif v := beside_value(region, h, back, shaped(CJK_NAME, LABELS), reach=BESIDE_REACH):
        out["operator_name"] = v
    if (h := hits.get("operator_id_type")) and h.spans and _listed(h):
        if (v := _choice(region, h, ID_TYPE_OPTIONS, back)) is not None:
            out["operator_id_type"] = v
    elif h and h.spans:
        out["operator_id_type"] = _id_type(h)
    elif v := beside_value(region, h, back, _listed_type, reach=BESIDE_REACH) or _lone_option(
        region, {t: t for t in ID_TYPES}
    ):
        out["operator_id_type"] = v
    if (h := hits.get("operator_id_number")) and h.spans:
        number, factor = id_value(h.text)
        out["operator_id_number"] = h.value(number, h.confidence * factor)
    elif v := beside_value(region, h, back, _valid_id, reach=BESIDE_REACH) or _lone_id(region, out):
        out["operator_id_number"] = v
    gender = _choice(region, hits.get("operator_gender"), GENDERS, back)
    if gender is None or gender.value is None:
        gender = _lone_option(region, {g: g for g, _ in GENDERS}) or gender
    if gender is not None:
        out["operator_gender"] = gender
    if (h := hits.get("operator_mobile")) and h.spans:
        digits = re.sub(r"\D", "", h.text)
        ok = re.fullmatch(r"1\d{10}", digits) is not None
        out["operator_mobile"] = h.value(digits, h.confidence * (1.0 if ok else DOUBT))
    elif h is None and (v := _lone_shaped(region, MOBILE)) is not None:
        out["operator_mobile"] = v
    device = _choice(region, hits.get("device_type"), DEVICES, back)
    if device is None or device.value is None:
        device = _lone_option(region, {t: code for code, ts in DEVICES for t in ts}) or device
    if device is not None:
        out["device_type"] = device
    if (h := hits.get("device_number")) and h.spans:
        digits = re.sub(r"\D", "", h.text)
        clean_digits = digits == _text(h)
        out["device_number"] = h.value(digits, h.confidence * (1.0 if clean_digits else DOUBT))
    elif h is None and (v := _lone_shaped(region, DEVICE_NUMBER)) is not None:
        out["device_number"] = v
    if (v := _application_type(region, back, hits.get("_business"))) is not None:
        out["application_type"] = v
    signed = _sign_date(region, hits.get("sign_date"))
    if (v := signed or date_again(region, region.lines[::-1], back)) is not None:
        out["sign_date"] = v
    if "sign_date" in out and out["sign_date"].value:
        out["sign_date"].value = norm_date(out["sign_date"].value)
    return out
