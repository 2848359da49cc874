"""Identity rules against the ID cards: number, name, validity, sides, temporary cards.

Which card is whose is decided by ``docpipe.linking.link`` (by number, name, a misread
number, then elimination); every value comparison goes through ``docpipe.compare.judge``
(the uncertainty policy: a doubtful or unread value is a ``not_found`` warning, never a
mismatch). Sources: RULES.md "Identity".

- A person whose card was not found at all gets no finding here: FILE-REQUIRED reports
  missing documents. A card side that is there but whose field could not be read gives
  a ``not_found`` warning (by ``judge``).
- When a card was linked to a person only by elimination (neither the name nor the
  number on it matched), every finding on that person says so, so the reviewer knows
  the card may simply be someone else's.
- Only filed ID types that are cards (居民身份证, 居住证, or empty) are compared.
- ID-FRONT-BACK reports on ``<person>.id_valid_to``: what a reviewer asks the applicant
  to correct is the validity (upload the back of the same card, and file its end), and
  this keeps it beside ID-VALIDITY-TERM and ID-VALIDITY-MATCH, which report there too.
  A card serving two filed persons (the legal person is also an operator) gets the
  card-level findings (ID-FRONT-BACK, ID-TEMPORARY) once, on the first of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from docpipe.checkdigits import is_valid_id
from docpipe.compare import Check, evidence, filed_values, judge
from docpipe.kinds import RESIDENT_ID_TYPE, id_type_kinds, id_type_name, label, spec_of
from docpipe.linking import BY_ELIMINATION, Card, Links, holds_card, link
from docpipe.models import Code, Document, Person
from docpipe.normalize import LONG_TERM, age_on, is_long_term, norm_id, parse_date, year_ends
from docpipe.rules import Hit, RuleContext, rule
from validators.id_validity import accepted_terms
from validators.identity import is_resident_card

# A validity span this short is no resident card's (the shortest is 5 years): the
# 临时居民身份证 is valid for 3 months.
TEMPORARY_MAX_DAYS = 183
TEMPORARY_WORD = "临时"


@dataclass(frozen=True)
class Holder:
    """One filed person with the card linked to them."""

    path: str
    person: Person
    card: Card
    how: str

    @property
    def role_zh(self) -> str:
        """法定代表人 or 操作员, for messages."""
        return "法定代表人" if self.path == "legal_person" else "操作员"

    @property
    def role_en(self) -> str:
        """Legal person or operator, for messages."""
        return "legal person" if self.path == "legal_person" else "operator"


def _links(ctx: RuleContext) -> Links | None:
    if ctx.submission is None:
        return None
    return link(ctx.submission, ctx.documents)


def holders(ctx: RuleContext) -> Iterator[Holder]:
    """Every filed card holder whose card was found, with how it was linked."""
    links = _links(ctx)
    if links is None or ctx.submission is None:
        return
    for path, person in ctx.submission.persons():
        card = links.by_person.get(path)
        if card is not None and holds_card(person):
            yield Holder(path, person, card, links.how.get(path, ""))


def card_owners(ctx: RuleContext) -> Iterator[Holder]:
    """Each linked card once, with the first filed person it serves."""
    seen: set[int] = set()
    for h in holders(ctx):
        if id(h.card) not in seen:
            seen.add(id(h.card))
            yield h


def with_note(hit: Hit, zh: str, en: str) -> Hit:
    """Add a remark to both halves of a ``中文 / English`` message."""
    head, sep, tail = hit.message.partition(" / ")
    hit.message = f"{head}（{zh}）{sep}{tail} ({en})" if sep else f"{head}（{zh}） ({en})"
    return hit


def _elimination_note(hit: Hit, h: Holder) -> Hit:
    """Tell the reviewer when the card was this person's only by elimination."""
    if h.how != BY_ELIMINATION:
        return hit
    return with_note(
        hit,
        "该身份证的姓名和号码均未能与填报信息对上，仅按排除法对应到此人，可能是他人的证件",
        "this card was matched to this person only by elimination: neither its name nor "
        "its number matched the filed ones, it may be someone else's card",
    )


def _check(
    h: Holder,
    doc: Document,
    filed_key: str,
    doc_field: str,
    what: tuple[str, str],
    others: tuple[str, ...] = (),
) -> Check:
    spec = spec_of(doc.kind)
    field_spec = spec.field_spec(doc_field) if spec is not None else None
    return Check(
        path=f"{h.path}.{filed_key}",
        filed=getattr(h.person, filed_key),
        doc=doc,
        doc_field=doc_field,
        what_zh=f"{h.role_zh}{what[0]}",
        what_en=f"{h.role_en} {what[1]}",
        source_zh=spec.document if spec is not None else "身份证",
        source_en=spec.document_en if spec is not None else "the ID card",
        how={"id_number": "id", "name": "name"}.get(filed_key, "date"),
        shape=field_spec.shape if field_spec is not None else None,
        others=others,
    )


def is_resident(card: Card) -> bool:
    """Whether the card is a 居民身份证 (the card of validity bands and temporary cards)."""
    side = card.front or card.back
    spec = spec_of(side.kind) if side is not None else None
    return spec is not None and spec.proves(RESIDENT_ID_TYPE)


def _others(ctx: RuleContext) -> tuple[str, ...]:
    return filed_values(ctx.submission) if ctx.submission is not None else ()


# --------------------------------------------------------------------------- values


@rule("ID-NUMBER-MATCH", code="mismatch", severity="error")
def id_number_match(ctx: RuleContext) -> Iterator[Hit]:
    """身份证号码与证件一致 / ID number as on the card.

    The filed ``id_number`` equals the card front's 公民身份号码 (RULES.md ID-NUMBER-MATCH).
    """
    others = _others(ctx)
    for h in holders(ctx):
        found = h.card.number_field()
        if found is not None:
            doc, name = found
            hit = judge(_check(h, doc, "id_number", name, ("证件号码", "ID number"), others))
            if hit is not None:
                yield _elimination_note(hit, h)


@rule("ID-NAME-MATCH", code="mismatch", severity="error")
def id_name_match(ctx: RuleContext) -> Iterator[Hit]:
    """姓名与身份证一致 / Name as on the ID card.

    The filed ``name`` equals the card front's 姓名, compared exactly after
    normalisation (RULES.md ID-NAME-MATCH).
    """
    others = _others(ctx)
    for h in holders(ctx):
        if h.card.front is not None:
            hit = judge(_check(h, h.card.front, "name", "name", ("姓名", "name"), others))
            if hit is not None:
                yield _elimination_note(hit, h)


@rule("ID-VALIDITY-MATCH", code="mismatch", severity="error")
def id_validity_match(ctx: RuleContext) -> Iterator[Hit]:
    """身份证有效期与证件一致 / ID validity as on the card.

    The filed ``id_valid_from`` / ``id_valid_to`` equal the card back's 有效期限
    (``2015.03.02-2035.03.02`` or ``…-长期``; 永久 and 无固定期限 read as 长期).
    RULES.md ID-VALIDITY-MATCH, portal: "身份证有效期须与身份证一致".
    """
    for h in holders(ctx):
        side = h.card.holding("valid_from")
        if side is None:
            continue
        for key, doc_field, what in (
            ("id_valid_from", "valid_from", ("证件有效期起始日", "ID valid-from date")),
            ("id_valid_to", "valid_to", ("证件有效期截止日", "ID valid-to date")),
        ):
            hit = judge(_check(h, side, key, doc_field, what, _others(ctx)))
            if hit is not None:
                yield _elimination_note(hit, h)


# --------------------------------------------------------------------------- the card


def card_birth(card: Card) -> tuple[date, Document, str] | None:
    """The holder's birth date from the front: 出生, else characters 7-14 of a valid number."""
    front = card.front
    if front is None:
        return None
    fv = front.fields.get("birth_date")
    birth = parse_date(fv.value) if fv is not None and fv.value else None
    if birth is not None:
        return birth, front, "birth_date"
    number = norm_id(card.value("id_number") or "")
    birth = parse_date(number[6:14]) if is_valid_id(number) else None
    return (birth, front, "id_number") if birth is not None else None


def _validity(card: Card) -> tuple[date, str] | None:
    """(valid_from, valid_to as read: ISO or 长期) of the back, when both were read."""
    start = parse_date(card.value("valid_from"))
    end = card.value("valid_to")
    if start is None or end is None or (parse_date(end) is None and not is_long_term(end)):
        return None
    return start, (LONG_TERM if is_long_term(end) else end)


def is_temporary(card: Card) -> tuple[Document, str] | None:
    """Where a card shows itself temporary: 临时 in any text read, or a months-long validity."""
    for doc in (card.front, card.back):
        if doc is None:
            continue
        for name, fv in doc.fields.items():
            if any(TEMPORARY_WORD in (t or "") for t in (fv.value, fv.raw)):
                return doc, name
    validity = _validity(card)
    if validity is not None and card.back is not None:
        start, end_text = validity
        end = parse_date(end_text)
        if end is not None and 0 < (end - start).days <= TEMPORARY_MAX_DAYS:
            return card.back, "valid_to"
    return None


def _band_ok(birth: date, start: date, end_text: str) -> bool:
    end = parse_date(end_text)
    for term in accepted_terms(birth, start):
        if term is None and end is None:
            return True
        if term is not None and end is not None and end in year_ends(start, term):
            return True
    return False


@rule("ID-FRONT-BACK", code="inconsistent", severity="warning")
def id_front_back(ctx: RuleContext) -> Iterator[Hit]:
    """身份证正反面不属于同一张证件 / ID card front and back do not belong together.

    The birth date on the front (出生, else from the number) must fit the back's
    有效期限 by the band of ID-VALIDITY-TERM (居民身份证法 第五条); a back from
    another person's card usually does not. Sides paired only by elimination across
    files are named as such. Resident cards only; temporary cards are ID-TEMPORARY's.
    """
    for h in card_owners(ctx):
        card = h.card
        resident = is_resident(card) and is_resident_card(h.person.id_type)
        if card.back is None or not resident or is_temporary(card):
            continue
        born = card_birth(card)
        validity = _validity(card)
        if born is None or validity is None:
            continue
        birth, front, birth_field = born
        start, end = validity
        if birth <= start and _band_ok(birth, start, end):
            continue
        yield _front_back_hit(h, birth, front, birth_field, start, end)


def _front_back_hit(
    h: Holder, birth: date, front: Document, birth_field: str, start: date, end: str
) -> Hit:
    assert h.card.back is not None
    back = h.card.back
    if birth > start:
        why_zh, why_en = f"出生日期{birth}晚于有效期起始日{start}", f"born {birth}, after {start}"
    else:
        age = age_on(birth, start)
        why_zh = f"出生日期{birth}，起始日时{age}周岁，有效期不应为{start}至{end}"
        why_en = f"born {birth}, aged {age} on {start}: a card valid {start} to {end} does not fit"
    where_zh, where_en = {
        "page": ("正反面在同一页", "both sides are on one page"),
        "file": ("正反面在同一文件", "both sides are in one file"),
        "filed_dates": (
            "反面按填报的有效期起始日对应",
            "the back was matched by the filed valid-from",
        ),
    }.get(
        h.card.paired_by,
        (
            f"正反面分别在{front.file}和{back.file}，仅按排除法配对",
            f"the sides are in {front.file} and {back.file}, paired only by elimination",
        ),
    )
    hit = Hit(
        field=f"{h.path}.id_valid_to",
        filed=h.person.id_valid_to,
        found=f"{start.isoformat()}–{end}",
        evidence=evidence(front, front.fields.get(birth_field))
        + evidence(back, back.fields.get("valid_to")),
        message=(
            f"{h.role_zh}身份证正面与反面似乎不属于同一张证件：{why_zh}；{where_zh}，请核对 / "
            f"the {h.role_en}'s ID card front and back do not seem to belong together: "
            f"{why_en}; {where_en}, please check"
        ),
    )
    return _elimination_note(hit, h)


@rule("ID-TEMPORARY", code="policy", severity="warning")
def id_temporary(ctx: RuleContext) -> Iterator[Hit]:
    """临时居民身份证 / Temporary resident ID card.

    A 临时居民身份证 (临时 in its title, or valid for about three months) is flagged for
    a person to decide whether it is accepted (RULES.md ID-TEMPORARY).
    """
    for h in card_owners(ctx):
        found = is_temporary(h.card) if is_resident(h.card) else None
        if found is None:
            continue
        doc, name = found
        fv = doc.fields.get(name)
        validity = _validity(h.card)
        yield Hit(
            field=f"{h.path}.id_number",
            filed=h.person.id_number,
            found=f"{validity[0].isoformat()}–{validity[1]}"
            if validity
            else (fv.value if fv else None),
            evidence=evidence(doc, fv),
            code=Code.policy,
            message=(
                f"{h.role_zh}提交的是临时居民身份证（有效期约三个月），请人工决定是否接受 / "
                f"the {h.role_en}'s card is a temporary resident ID card (valid about three "
                "months): a person must decide whether it is accepted"
            ),
        )


# --------------------------------------------------------------------------- the kind


@rule("ID-TYPE-DOC", code="mismatch", severity="error")
def id_type_doc(ctx: RuleContext) -> Iterator[Hit]:
    """证件类型与所附证件一致 / ID type as the document found.

    The identity document linked to a person (by number or name, ``docpipe.linking``)
    is of a kind the person's filed ``id_type`` names (an empty one: 居民身份证); a
    居住证 filed and a 居民身份证 uploaded is a mismatch on ``<person>.id_type``
    (RULES.md ID-TYPE-DOC, portal "证件类型"). A card linked only by elimination may be
    someone else's: the finding says so.
    """
    for h in holders(ctx):
        wanted = id_type_kinds(h.person.id_type)
        sides = [d for d in (h.card.front, h.card.back) if d is not None]
        if not wanted or not sides or any(d.kind in wanted for d in sides):
            continue
        doc = sides[0]
        spec = spec_of(doc.kind)
        found_zh = spec.document if spec is not None else label(doc.kind)
        found_en = spec.document_en if spec is not None else doc.kind.value
        filed = h.person.id_type or RESIDENT_ID_TYPE
        number = h.card.number_field()
        fv = doc.fields.get(number[1]) if number is not None and number[0] is doc else None
        hit = Hit(
            field=f"{h.path}.id_type",
            filed=h.person.id_type,
            found=found_zh,
            evidence=evidence(doc, fv),
            message=(
                f"{h.role_zh}填报的证件类型为{id_type_name(filed) or filed}，所附证件却是"
                f"{found_zh}，请核对 / the {h.role_en}'s filed ID type is {filed}, but the "
                f"document attached is a {found_en}, please check"
            ),
        )
        yield _elimination_note(hit, h)
