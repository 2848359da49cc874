"""企业授权委托书 (authorization letter): the agent and the matter from prose.

A letter says in a sentence who is sent and what for — ``兹委托张三（身份证号码：…）前往
…办理电子口岸卡变更操作员业务，…`` — and signs at the foot: ``委托单位（盖章）：<name>``,
``统一社会信用代码：…``, a date, the seal over them. Other printings use a header of
labels instead (委托人 / 受托人 / 被委托人 / 代理人, 身份证号 / 证件号码); both are read.

Prose wraps anywhere, so the body is matched as one string (``Prose``) and each match
is mapped back to the lines it came from, for the box and the confidence. The seal is
stamped over the enterprise name and code on purpose: a value crossed by other
detected text is kept, but in doubt (``overlapped``), and so is one with unbalanced
brackets (a bracket lost under the seal).

The seal itself names the enterprise along its arc (``Region.seal_texts``). When that
reading is confident and differs from the name's line, the line is read again from
the pixels (``Region.reread``); a second look that reads exactly what the seal reads
stands — two looks at different ink agreeing — and the page's first reading goes to
``raw``. The seal alone never gives the name: it is the letter's typed name that is
checked, and a seal may belong to another enterprise. Without such a witness, a name
in doubt is what most second looks at its line read (``_beside.voted``), still in
doubt: on bench/accuracy.py's degraded letters 34 -> 36 of 40 names right (sans),
31 -> 34 of 40 (sans and serif), none broken.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from docpipe.checkdigits import is_valid_id, is_valid_uscc
from docpipe.extract import Region, extractor
from docpipe.kinds import CODE_LABELS, KindSpec, Role, spec_field
from docpipe.layout import CREDIT_CODE_LABEL, Hit, Label, Turn, in_cells, read_fields, wrapped_on
from docpipe.misread import credit_code_shaped
from docpipe.models import DocKind, FieldValue
from docpipe.normalize import edit_distance, norm_id
from docpipe.ocr.base import OcrLine
from docpipe.reread import CONTRADICTED
from docpipe.seal import MIN_CONFIDENCE
from extractors._beside import CJK_NAME, beside_value, date_again, shaped, voted
from extractors._business import OPTIONS, PORTAL_NAME, business_in
from extractors._forms import (
    DOUBT,
    LOST_SEPARATOR_CONFIDENCE,
    Prose,
    code_value,
    find_date,
    id_value,
    lost_separator_date,
    overlapped,
    unlikely_date,
    whole_enterprise,
)

LABELS = (
    Label(
        "enterprise_name",
        ("委托单位", "委托人", "委托方", "授权单位", "授权人", "单位名称", "企业名称"),
    ),
    Label(
        "credit_code",
        ("统一社会信用代码", "社会信用代码", "信用代码"),
        below=True,
        grammar=(CREDIT_CODE_LABEL,),
    ),
    Label(
        "agent_name",
        ("受托人姓名", "被委托人姓名", "受托人", "被委托人", "代理人", "被授权人", "受委托人"),
        below=True,
    ),
    Label(
        "agent_id_number",
        ("身份证号码", "身份证号", "证件号码", "公民身份号码", "身份证件号码"),
        below=True,
        inline=True,
        grammar=(r"(?:受托人)?(?:居民)?(?:身份证件|身份证|证件|公民身份)(?:号码|编号|号)",),
    ),
    Label("matter", ("委托事项", "授权事项", "代理事项", "办理事项"), multiline=True),
    Label("sign_date", ("签署日期", "委托日期", "日期")),
    # Printed text that ends a value, not reported.
    Label("_legal", ("法定代表人", "负责人")),
    Label("_phone", ("联系电话", "手机号码", "电话")),
    Label("_term", ("委托期限", "有效期限")),
    Label("_address", ("地址", "住所")),
)

# The sentence that sends the agent, in its phrase families: a verb of sending (兹委托,
# 现授权, 特委派, 指派, 兹有 …), who the agent is to the enterprise (我单位员工, 本公司职工
# …), the name, a form of address (同志, 先生 …), then the ID number under any of its
# labels; a name with a middle dot (买买提·艾力) may be longer than five characters.
# Not the 委托 of a label (被委托人, 受委托人, 被授权人) nor of 上述授权范围: acc2 20014
# read 人陈琪雪 out of 被委托人陈琪雪, 20018 范围内所 out of 在上述授权范围内所办理.
_SEND = r"(?<![被受述])(?:(?:兹|特|现|今)?(?:委托|授权|委派|指派|派遣)|兹有|现有|特派)"
_WHOSE = (
    r"(?:我单位|我公司|本单位|本公司|我司|本司|我厂|本企业)?(?:的)?(?:员工|职工|工作人员|同志)?"
)
_NAME = r"(?P<name>(?:(?!委托)[\u4e00-\u9fff]){1,8}·[\u4e00-\u9fff]{1,8}|[\u4e00-\u9fff·]{2,5}?)"
_ADDRESS = r"(?:同志|先生|女士)?"
_ID_LABEL = r"(?:身份证件号码|公民身份号码|身份证号码|身份证号|证件号码|身份证|证件号)"
AGENT_RE = re.compile(
    _SEND + _WHOSE + _NAME + _ADDRESS + r"[（(,，、]?" + _ID_LABEL + r"[:：为是]?"
    r"(?P<id>[0-9A-Za-z]{15,20})"
)
# The same sentence with the ID number elsewhere (``兹委托张三前往…``, its number under a
# label further on): the name ends where the sentence goes on.
AGENT_NAME_RE = re.compile(
    _SEND
    + _WHOSE
    + _NAME
    + _ADDRESS
    + r"(?=[，,（(、]|前往|前来|代为|代表|作为|为我|为本|为我单位|到|去|全权|负责|办理)"
)
# Words the name group can catch that name no one.
_NOT_NAMES = frozenset({"我单位", "本单位", "我公司", "本公司", "我司", "本司", "受托人", "代理人"})
# …and words no person's name holds: an organisation, or a label's noun (委托事项 办理…,
# acc2 20053; 授权范围内所办理, 20018).
_NOT_A_PERSON = re.compile(r"公司|单位|企业|中心|事项|范围|期限|书")

# The matter ends at a comma or stop, or where a second clause starts without its comma
# (accuracy case-5047: the comma at a line's end lost, …操作员业务并代为领取…). 办理上述事项
# (in dealing with the above) names no matter: a letter whose matter line the detector
# lost (case-5067) has its matter unread, not that.
MATTER_RE = re.compile(
    r"(?:前往|前来|代为|全权|负责)?[^，,。；;]{0,30}?办理(?!上述)"
    r"(?P<matter>[^，,。；;]{2,60}?)(?=[，,。；;]|并代为|并负责|$)"
)
# The verb before a matter under its label: ``委托事项：代为办理…``.
MATTER_VERB = re.compile(r"^[:：]?(?:前往[^，,。]{0,20}?)?(?:代为|全权|负责)?办理")
# What follows the label: ``（盖章）：``, glued or half read (``（盖章所：``, ``（盖章``,
# ``（盖：``, ``（盖汽）``: 章 lost or misread under the seal, the bracket still there).
# A label's last character read again in the value's own box may stand before the
# bracket (授权单位 | 立（盖章）：…, 位 read 立, acc4 80170).
SEAL_JUNK = re.compile(
    r"^(?:[\u4e00-\u9fff](?=[（(]))?(?:[（(]?(?:盖公章|盖章|公章|签章|签字|签名)(?:[)）]?[:：]|[)）]|.[:：])?"
    r"|[（(]盖[\u4e00-\u9fff]?(?:[)）][:：]?|[:：]))"
)
# A piece of the label's line holding only its mark, half read or whole.
MARK_ONLY = re.compile(r"^(?:[（(]盖|[（(]?(?:盖公章|盖章|公章))[\u4e00-\u9fff]?[)）]?[:：]?$")
LEAD = " \t:：;；,，.。、|)）·•"
# An enterprise name holds Chinese characters, two at least (a seal's N does not).
NAMED = re.compile(r"[\u4e00-\u9fff]{2}")
# A stray lower-case letter glued before the name: the seal's edge read as text
# (``e宁波市…``); no enterprise name starts with one.
STRAY = re.compile(r"^[a-z](?=[\u4e00-\u9fff])")


# Label words long enough to be told apart with a character misread, none one character
# off another (受托人 / 委托人 are both labels).
_LONG_LABELS = tuple(v for lb in LABELS for v in lb.variants if len(v) >= 4)


def _relabel(lines: list[OcrLine]) -> list[OcrLine]:
    """The lines, a label before its colon read one character wrong given back its text.

    Seed 8400 case-8405: ``委托单立：泰帆安…`` (位 read 立) left the enterprise unread. A
    line that starts with four or more characters and a colon, one character off
    exactly one label no line holds, starts with that label (``_mended``).
    """
    texts = [re.sub(r"\s+", "", ln.text) for ln in lines]
    held = frozenset(v for v in _LONG_LABELS if any(v in t for t in texts))
    return [
        ln if (mended := _mended(text, held)) == text else ln.model_copy(update={"text": mended})
        for ln, text in zip(lines, texts, strict=True)
    ]


def _mended(text: str, held: frozenset[str] = frozenset()) -> str:
    """``text`` with the head before its colon, one character off one label, that label.

    >>> _mended("委托单立：泰帆安（杭州）贸易有限公司")
    '委托单位：泰帆安（杭州）贸易有限公司'
    """
    head, colon, _ = text.partition("：") if "：" in text else text.partition(":")
    if not colon or len(head) < 4:
        return text
    near = [
        v
        for v in _LONG_LABELS
        if v not in held and len(v) == len(head) and edit_distance(head, v) == 1
    ]
    return near[0] + text[len(head) :] if len(near) == 1 else text


def _balanced(text: str) -> bool:
    depth = 0
    for c in text.replace("（", "(").replace("）", ")"):
        depth += c == "("
        depth -= c == ")"
        if depth < 0:
            return False
    return depth == 0


def _whole(text: str) -> bool:
    return whole_enterprise(_after_marks(text))


def _enterprise(region: Region, hit: Hit | None) -> FieldValue | None:
    if hit is None:
        return None
    # Seal legend pieces the OCR put in the same row cross the name's line, or each
    # other (秀 | 远 | 义乌市远盛…, case 5047): not the name. Of two crossing boxes the
    # shorter is the legend's (the name's own pieces never cross).
    own = [
        s
        for s in hit.spans
        if s is hit.spans[0]
        or not any(
            t is not s
            and len(s.text.strip()) <= len(t.text.strip())
            and overlapped(s.line, [t.line])
            for t in hit.spans
        )
    ]
    stamped = len(own) < len(hit.spans)
    # The label's line ending in its half-read mark (``委托单位（盖``), the name in a
    # box of its own: the mark is not the name's (accuracy case-5071 read ``（盖义乌市…``).
    if len(own) > 1 and MARK_ONLY.match(own[0].text.strip()):
        own = own[1:]
    hit = wrapped_on(Hit(hit.label, hit.label_bbox, own, hit.column), region.lines, _whole)
    name = _after_marks(re.sub(r"\s+", "", hit.text))
    # A seal's piece beside the label (``N``, varied case-7311: the name under the seal
    # not detected at all) is no name: an enterprise's has Chinese characters.
    if not NAMED.search(name):
        return _name_beside(region, hit) or FieldValue(value=None, confidence=0.0, raw=hit.raw)
    value = hit.value(name)
    # A name not yet at its organisational form (杭州市云恒纳科技合 | 伙企业… with its
    # second line misread, acc3 60139) stops where its line did: cut, not another name.
    value.cut = not _whole(name)
    doubtful = (
        stamped
        or not _balanced(name)
        or (region.ocr.source == "ocr" and any(overlapped(s.line, region.lines) for s in hit.spans))
    )
    if doubtful:
        value.confidence = min(value.confidence, DOUBT)
    held = {id(s.line): s.line for s in hit.spans if s.text.strip()}
    # A second look reads a line: a name wrapped over two is left as the page read it.
    return _as_sealed(region, value, *held.values()) if len(held) == 1 else value


# The enterprise named in the letter's prose, just before its credit code in brackets:
# ``本单位义乌市世世晟工贸经营部（统一社会信用代码：…）``. It starts after the phrase
# that introduces it (本单位, 我公司 …) or after the sentence's last mark.
_INTRO = "本单位|我单位|本公司|我公司|兹有|委托单位|委托方"
_INTRODUCED = re.compile(rf"(?:{_INTRO})[：:]?\s*")
_NAMED_BEFORE_CODE = re.compile(
    rf"(?:{_INTRO}|[：:，,。；;]|^)"
    r"(?P<name>[^：:，,。；;\n]{4,40}?)\s*[（(]\s*(?:统一社会信用代码|社会信用代码|信用代码)"
)


def _enterprise_in_prose(prose: Prose) -> FieldValue | None:
    """The one whole enterprise name the prose names before its credit code, else ``None``.

    A letter may name its enterprise twice: in its text and beside 委托单位 under the
    seal, whose ink crosses that second reading. The text's reading is the seal-free one.
    """
    found: list[tuple[int, int, str]] = []
    for m in _NAMED_BEFORE_CODE.finditer(prose.text):
        start, end = m.span("name")
        # The name starts after the last phrase introducing it (a title or addressee
        # run into the line: ``授权委托书本单位…``).
        for lead in _INTRODUCED.finditer(prose.text, start, end):
            start = lead.end()
        name = prose.text[start:end].strip()
        if whole_enterprise(name):
            found.append((start, end, name))
    if len({name for _, _, name in found}) != 1:
        return None
    start, end, name = found[0]
    return prose.value(start, end, name)


# How far right of its label an undetected name is read, in line heights.
NAME_REACH = 16.0
# …and an undetected agent's name (a person's: five characters at most).
AGENT_REACH = 8.0


def _name_beside(region: Region, hit: Hit) -> FieldValue | None:
    """A name the detector missed under the seal, read right of its label, in doubt.

    Varied case-7311: nothing but the seal's pieces beside 委托单位; three of six second
    looks read 宁波市源瑞安恒报关有限公司 there, three lost its 宁 (``beside``: the
    longer of values read as often stands).
    """
    bare = Hit(hit.label, hit.label_bbox, [], hit.column)
    got = beside_value(region, bare, Turn(), _vote_of, reach=NAME_REACH)
    if got is None or not NAMED.search(got.value or ""):
        return None
    return got.model_copy(update={"confidence": min(got.confidence, DOUBT)})


def _after_marks(text: str) -> str:
    """What follows the label's 盖章 mark and stray marks: the name as printed."""
    junk = SEAL_JUNK.match(text)
    name = STRAY.sub("", (text[junk.end() :] if junk else text).lstrip(LEAD)).lstrip(LEAD)
    # A closing bracket ends a name (…合伙企业（有限合伙）) when it closes one of its own.
    while name and name[-1] in LEAD and not (name[-1] in ")）" and _balanced(name)):
        name = name[:-1]
    return name


def _name_in(text: str) -> str:
    """The enterprise name in a reading of its line: after the label and its 盖章 mark."""
    text = _mended(re.sub(r"\s+", "", text))
    for variant in LABELS[0].variants:
        at = text.find(variant)
        if at >= 0:
            text = text[at + len(variant) :]
            break
    return _after_marks(text.lstrip(LEAD))


def _as_sealed(region: Region, value: FieldValue, line: OcrLine) -> FieldValue:
    """The name as a second look at its line reads it, when the seal's arc reads the same."""
    if region.reread is None:
        return value
    # The first confident reading of the arc is enough (the others are not read).
    seal = next((s for s in region.seal_texts if s.confidence >= MIN_CONFIDENCE), None)
    if seal is None:
        return voted(region, value, line, _vote_of)
    if value.value == seal.text:
        return value
    for reading in region.reread(line, 0.0):
        if _name_in(reading.text) == seal.text:
            return value.model_copy(
                update={
                    "value": seal.text,
                    "confidence": round(min(reading.confidence, seal.confidence), 4),
                    "raw": f"{value.raw} | 又读作 / read again as: {reading.text}"
                    f" | 印章 / seal: {seal.raw}",
                }
            )
    return voted(region, value, line, _vote_of)


def _vote_of(reading: str) -> str | None:
    """The name a second look at the name's line reads, when its brackets balance."""
    name = _name_in(reading)
    return name if name and _balanced(name) else None


def _credit_code(region: Region, hit: Hit | None, prose: Prose) -> FieldValue | None:
    if hit is not None and hit.spans:
        code, factor = code_value(hit.text)
        value = hit.value(code, hit.confidence * factor)
        if region.ocr.source == "ocr" and any(overlapped(s.line, region.lines) for s in hit.spans):
            value.confidence = min(value.confidence, DOUBT)
        if not credit_code_shaped(code) and (lone := _lone_code(region.lines)) is not None:
            return lone
        return value
    m = re.search(r"信用代码[:：]?(?P<code>[0-9A-Z]{18})", prose.text)
    if m is None:
        return None
    code, factor = code_value(m.group("code"))
    return prose.value(m.start("code"), m.end("code"), code, factor)


def _lone_code(lines: Sequence[OcrLine]) -> FieldValue | None:
    """The one valid credit code a line of the page is, when its label's value is none.

    Acc2 20044: 统一社会信用代码2528678 (a stamp's number beside the label), the code
    itself on the line below. A value found by its shape and check characters alone.
    """
    found = {
        code: line
        for line in lines
        if is_valid_uscc(code := re.sub(r"\s", "", line.text).upper()) and len(code) == 18
    }
    if len(found) != 1:
        return None
    ((code, line),) = found.items()
    b = line.bbox
    return FieldValue(
        value=code,
        confidence=round(line.confidence, 4),
        bbox=(round(b[0]), round(b[1]), round(b[2]), round(b[3])),
        raw=line.text,
    )


# A number after its label in the joined text, its last characters perhaps on the
# next line (a line wrapped inside the number: 身份证号37020219751023240 | X).
WRAPPED_ID = re.compile(
    r"(?:身份证件号码|公民身份号码|身份证号码|身份证号|证件号码)[:：]?([0-9Xx]{18})"
)


def _wrapped_id(prose: Prose) -> FieldValue | None:
    """The one valid ID number after a number label in the letter's joined text."""
    found = [m for m in WRAPPED_ID.finditer(prose.text) if is_valid_id(norm_id(m.group(1)))]
    if len(found) != 1:
        return None
    m = found[0]
    number, factor = id_value(m.group(1))
    return prose.value(m.start(1), m.end(1), number, factor)


def _agent_named(prose: Prose) -> re.Match[str] | None:
    """The sentence sending the agent by name, without the number beside the name."""
    for m in AGENT_NAME_RE.finditer(prose.text):
        name = m.group("name")
        if name not in _NOT_NAMES and not _NOT_A_PERSON.search(name):
            return m
    return None


def _matter(hit: Hit | None) -> FieldValue | None:
    """The matter under its label (委托事项：办理…): the business it names."""
    if hit is None or not hit.spans:
        return None
    text = MATTER_VERB.sub("", re.sub(r"\s+", "", hit.text)).strip(LEAD)
    return _business(hit.value(text)) if text else None


def _business(found: FieldValue) -> FieldValue:
    """A matter read as words, given as the business it names (CONTRACT §2).

    A wording that names no business, or several, is kept as ``raw`` with no value: a
    person reads it, nothing is guessed.
    """
    code = business_in(found.value or "")
    if code is None:
        return found.model_copy(update={"value": None, "raw": found.raw or found.value})
    return found.model_copy(update={"value": PORTAL_NAME[code], "raw": found.raw or found.value})


def _matter_anywhere(prose: Prose) -> FieldValue | None:
    """The one business named anywhere in the letter, when no sentence or label held it."""
    code = business_in(prose.text)
    if code is None:
        return None
    variants = next(v for c, v in OPTIONS if c == code)
    at, word = min((prose.text.find(v), v) for v in variants if v in prose.text)
    return _business(prose.value(at, at + len(word)))


def _sign_date(region: Region, hit: Hit | None, prose: Prose) -> FieldValue | None:
    if hit is not None and hit.spans:
        found = find_date(hit.text)
        if found is not None:
            value = hit.value(found[0])
            if unlikely_date(re.sub(r"\s", "", hit.text), found[0]):
                value.confidence = min(value.confidence, CONTRADICTED)
            return value
        if (lost := lost_separator_date(hit.text)) is not None:
            return hit.value(lost, min(hit.confidence, LOST_SEPARATOR_CONFIDENCE))
    # A line holding a date and little else is the signature date; the last one wins.
    for line in reversed(region.lines):
        found = find_date(line.text)
        if found is not None and len(line.text.strip()) - (found[2] - found[1]) <= 4:
            one = Prose.of([line])
            got = find_date(one.text)
            if got is not None:
                return one.value(got[1], got[2], got[0])
    found = find_date(prose.text)
    if found is None:
        return None
    return prose.value(found[1], found[2], found[0])


SPEC = KindSpec(
    kind=DocKind.authorization_letter,
    label="企业授权委托书",
    document="企业授权委托书",
    document_en="the authorization letter",
    typed=True,
    seals=True,
    fields=(
        spec_field("enterprise_name", "委托单位", Role.enterprise_name),
        spec_field("credit_code", "统一社会信用代码", Role.credit_code, labels=CODE_LABELS),
        spec_field("agent_name", "受托人", Role.person_name, key=True),
        spec_field(
            "agent_id_number",
            "受托人身份证号",
            Role.id_number,
            key=True,
            labels=("身份证号", "证件号码"),
        ),
        spec_field("matter", "委托事项"),
        spec_field("sign_date", "签署日期", Role.under_seal),
    ),
    keywords={
        "授权委托书": 2.0,
        "兹委托": 1.5,
        "特委托": 1.0,
        "受托人": 1.0,
        "被委托人": 1.0,
        "委托单位": 1.0,
        "委托期限": 0.5,
        "委托书": 0.5,
    },
    threshold=2.0,
)


@extractor(SPEC)
def extract_authorization_letter(region: Region) -> dict[str, FieldValue]:
    """Fields of an authorization letter (CONTRACT §2 ``authorization_letter``)."""
    # A letter of labelled facts may be a ruled table: read it cell by cell.
    grid = region.grid()
    region = replace(region, lines=_relabel(in_cells(region.lines, grid, LABELS)))
    hits = read_fields(region.lines, LABELS, grid)
    prose = Prose.of(region.lines)
    out: dict[str, FieldValue] = {}
    hit = hits.get("enterprise_name")
    v = _enterprise(region, hit)
    # Of the name read beside its label and the name read in the text, the surer one,
    # when the text's is whole (the label's is the one a seal crosses).
    if (told := _enterprise_in_prose(prose)) is not None and (
        v is None or not v.value or told.confidence > v.confidence
    ):
        v = told
    if v is not None:
        out["enterprise_name"] = v
    if (v := _credit_code(region, hits.get("credit_code"), prose)) is not None:
        out["credit_code"] = v
    agent = AGENT_RE.search(prose.text)
    named = agent or _agent_named(prose)
    if agent is not None:
        out["agent_name"] = prose.value(agent.start("name"), agent.end("name"))
        number, factor = id_value(agent.group("id"))
        out["agent_id_number"] = prose.value(agent.start("id"), agent.end("id"), number, factor)
    else:
        labelled = None
        if (h := hits.get("agent_name")) and h.spans:
            name = re.sub(r"[\s:：]", "", h.text)
            # 受托人在办理上述事项中… starts a sentence, not a name: a name has its shape.
            if CJK_NAME.fullmatch(name) or named is None:
                labelled = h.value(name)
        if labelled is not None:
            out["agent_name"] = labelled
        elif named is not None:
            out["agent_name"] = prose.value(named.start("name"), named.end("name"))
        elif h is not None and not h.spans:
            # The label's row holds no box at all (acc3 60005: 受托人姓名 and nothing
            # detected beside it): the row is read again right of the label.
            parse = shaped(CJK_NAME, LABELS)
            if (v := beside_value(region, h, Turn(), parse, reach=AGENT_REACH)) is not None:
                out["agent_name"] = v
        if (h := hits.get("agent_id_number")) and h.spans:
            number, factor = id_value(h.text)
            out["agent_id_number"] = h.value(number, h.confidence * factor)
            if factor < 1.0 and (wrapped := _wrapped_id(prose)) is not None:
                out["agent_id_number"] = wrapped
    if (v := _matter(hits.get("matter"))) is not None:
        out["matter"] = v
    elif (m := MATTER_RE.search(prose.text, named.end() if named else 0)) is not None:
        out["matter"] = _business(prose.value(m.start("matter"), m.end("matter")))
    matter = out.get("matter")
    if matter is None or matter.value is None:
        matter = _matter_anywhere(prose) or matter
    if matter is not None:
        out["matter"] = matter
    signed = _sign_date(region, hits.get("sign_date"), prose)
    if (v := signed or date_again(region, region.lines[::-1], Turn())) is not None:
        out["sign_date"] = v
    return out
