"""Which card is whose: pairing sides into cards and linking cards to filed persons.

Also home of the hand-built card builders ``test_rules_identity_docs`` imports.
Synthetic people only, with valid check digits.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_rules_filed import make_id

from docpipe.linking import (
    BY_ELIMINATION,
    BY_MISREAD,
    BY_NAME,
    BY_NUMBER,
    link,
    pair_sides,
)
from docpipe.models import BBox, DocKind, Document, FieldValue, Submission

# Legal person born 1975-04-09, card from 2015-03-02 at 39 → 20 years.
LP_ID = make_id("330784", "19750409", "011")
# Operator born 1994-02-10, card from 2019-01-25 at 24 → 10 years.
OP_ID = make_id("330784", "19940210", "033")
# A second operator born 1972-04-09, card from 2020-06-01 at 48 → 长期.
OP2_ID = make_id("330784", "19720409", "022")
TOP: BBox = (100.0, 70.0, 740.0, 580.0)
BOTTOM: BBox = (100.0, 680.0, 740.0, 1100.0)


def fv(value: str | None, confidence: float = 1.0, bbox: BBox = (10, 20, 300, 50)) -> FieldValue:
    """A read field with a box."""
    return FieldValue(value=value, confidence=confidence, bbox=bbox, raw=value)


def front(
    file: str,
    name: str | None,
    number: str | None,
    *,
    page: int = 1,
    region: BBox | None = None,
    conf: float = 1.0,
    birth: str | None = None,
) -> Document:
    """A card front; the birth date defaults to the number's."""
    fields = {"name": fv(name, conf), "id_number": fv(number, conf, (200, 500, 700, 540))}
    if birth is None and number and len(number) == 18:
        birth = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    if birth:
        fields["birth_date"] = fv(birth, conf, (120, 300, 400, 330))
    fields = {k: v for k, v in fields.items() if v.value is not None}
    return Document(file=file, page=page, kind=DocKind.id_card_front, region=region, fields=fields)


def back(
    file: str,
    valid_from: str | None,
    valid_to: str | None,
    *,
    page: int = 1,
    region: BBox | None = None,
    conf: float = 1.0,
    raw: str | None = None,
) -> Document:
    """A card back with its 有效期限 read as two fields."""
    fields: dict[str, FieldValue] = {}
    if valid_from:
        fields["valid_from"] = fv(valid_from, conf, (300, 950, 700, 990))
    if valid_to:
        fields["valid_to"] = FieldValue(
            value=valid_to, confidence=conf, bbox=(300, 950, 700, 990), raw=raw or valid_to
        )
    return Document(file=file, page=page, kind=DocKind.id_card_back, region=region, fields=fields)


def submission(legal: dict[str, Any] | None = None, *operators: dict[str, Any]) -> Submission:
    """A submission with the given card holders (only identity fields matter here)."""
    return Submission.model_validate(
        {
            "legal_person": legal,
            "operators": list(operators),
        }
    )


LEGAL = {
    "name": "王示例",
    "id_type": "居民身份证",
    "id_number": LP_ID,
    "id_valid_from": "2015-03-02",
    "id_valid_to": "2035-03-02",
}
OPERATOR = {
    "name": "丁海宇",
    "id_type": "居民身份证",
    "id_number": OP_ID,
    "id_valid_from": "2019-01-25",
    "id_valid_to": "2029-01-25",
}
OPERATOR2 = {
    "name": "李示例",
    "id_type": "居民身份证",
    "id_number": OP2_ID,
    "id_valid_from": "2020-06-01",
    "id_valid_to": "长期",
}


def template(file: str, name: str, number: str, vfrom: str, vto: str) -> list[Document]:
    """The portal's ID template page: front above, back below, one image."""
    return [
        front(file, name, number, region=TOP),
        back(file, vfrom, vto, region=BOTTOM),
    ]


def legal_docs() -> list[Document]:
    """The legal person's card on a template page."""
    return template("法人身份证.jpg", "王示例", LP_ID, "2015-03-02", "2035-03-02")


def operator_docs() -> list[Document]:
    """The operator's card on a template page."""
    return template("IMG_0001.jpg", "丁海宇", OP_ID, "2019-01-25", "2029-01-25")


def misread(number: str, positions: tuple[int, ...]) -> str:
    """The number with the digits at ``positions`` changed (an OCR misreading)."""
    chars = list(number)
    for i in positions:
        chars[i] = "8" if chars[i] != "8" else "3"
    return "".join(chars)


# --------------------------------------------------------------------------- linking


def test_linked_by_number_not_by_file_name() -> None:
    # The operator's card sits in a file named for the legal person, and the other way round.
    docs = template("法人身份证.jpg", "丁海宇", OP_ID, "2019-01-25", "2029-01-25") + template(
        "操作员身份证.jpg", "王示例", LP_ID, "2015-03-02", "2035-03-02"
    )
    links = link(submission(LEGAL, OPERATOR), docs)
    lp, op = links.by_person["legal_person"], links.by_person["operators[0]"]
    assert lp is not None and lp.front is not None and lp.front.file == "操作员身份证.jpg"
    assert op is not None and op.front is not None and op.front.file == "法人身份证.jpg"
    assert links.how == {"legal_person": BY_NUMBER, "operators[0]": BY_NUMBER}
    assert links.unlinked() == []


def test_linked_by_name_when_number_unread() -> None:
    docs = [front("a.jpg", "丁海宇", None), *legal_docs()]
    links = link(submission(LEGAL, OPERATOR), docs)
    card = links.by_person["operators[0]"]
    assert card is not None and card.front is not None and card.front.file == "a.jpg"
    assert links.how["operators[0]"] == BY_NAME


@pytest.mark.parametrize(
    ("positions", "how"),
    [((3,), BY_MISREAD), ((3, 9), BY_MISREAD), ((3, 9, 12), BY_ELIMINATION)],
    ids=["one-char", "two-chars", "three-chars-elimination"],
)
def test_misread_number_and_name(positions: tuple[int, ...], how: str) -> None:
    # The name is misread too (丁海字), so only the number can link the card.
    docs = [front("a.jpg", "丁海字", misread(OP_ID, positions)), *legal_docs()]
    links = link(submission(LEGAL, OPERATOR), docs)
    card = links.by_person["operators[0]"]
    assert card is not None and card.front is not None and card.front.file == "a.jpg"
    assert links.how["operators[0]"] == how
    assert links.how["legal_person"] == BY_NUMBER


def test_elimination_needs_exactly_one_person_and_one_card() -> None:
    # Two operators and two unrecognisable cards: no guessing.
    docs = [
        front("a.jpg", "某某", misread(OP_ID, (1, 2, 3))),
        front("b.jpg", "某某某", misread(OP2_ID, (1, 2, 3))),
        *legal_docs(),
    ]
    links = link(submission(LEGAL, OPERATOR, OPERATOR2), docs)
    assert links.by_person["operators[0]"] is None
    assert links.by_person["operators[1]"] is None
    assert len(links.unlinked()) == 2


def test_elimination_skips_a_back_without_front_and_a_passport_holder() -> None:
    passport = {**OPERATOR, "id_type": "护照", "id_number": "E12345678", "name": "某人"}
    docs = [*legal_docs(), front("x.jpg", "某某", misread(OP_ID, (1, 2, 3)))]
    links = link(submission(LEGAL, passport), docs)
    assert links.by_person["operators[0]"] is None
    lone_back = [*legal_docs(), back("y.jpg", "2019-01-25", "2029-01-25")]
    links = link(submission(LEGAL, {**OPERATOR, "name": "别人", "id_number": OP2_ID}), lone_back)
    assert links.by_person["operators[0]"] is None


@pytest.mark.parametrize(
    "operator",
    [dict(LEGAL), {**LEGAL, "id_number": misread(LP_ID, (16,))}],
    ids=["same-number", "same-name-mistyped-number"],
)
def test_legal_person_also_operator_shares_one_card(operator: dict[str, Any]) -> None:
    links = link(submission(LEGAL, operator), legal_docs())
    lp, op = links.by_person["legal_person"], links.by_person["operators[0]"]
    assert lp is not None and lp is op
    assert links.owners(lp) == ["legal_person", "operators[0]"]


def test_different_people_do_not_share_a_card() -> None:
    # Only the legal person's card was uploaded: the operator stays without a card.
    links = link(submission(LEGAL, OPERATOR), legal_docs())
    assert links.by_person["legal_person"] is not None
    assert links.by_person["operators[0]"] is None


# --------------------------------------------------------------------------- pairing


def test_template_page_pairs_each_front_with_the_nearest_back() -> None:
    # Two cards on one page, side by side: left card (front above back), right card.
    left_f = front("p.jpg", "王示例", LP_ID, region=(0, 0, 600, 400))
    right_f = front("p.jpg", "丁海宇", OP_ID, region=(700, 0, 1300, 400))
    right_b = back("p.jpg", "2019-01-25", "2029-01-25", region=(700, 500, 1300, 900))
    left_b = back("p.jpg", "2015-03-02", "2035-03-02", region=(0, 500, 600, 900))
    cards = pair_sides([left_f, right_f, right_b, left_b])
    assert [(c.front, c.back, c.paired_by) for c in cards] == [
        (left_f, left_b, "page"),
        (right_f, right_b, "page"),
    ]


def test_two_side_images_pair_by_elimination() -> None:
    f = front("正面.jpg", "王示例", LP_ID)
    b = back("反面.jpg", "2015-03-02", "2035-03-02")
    links = link(submission(LEGAL, OPERATOR), [f, b, *operator_docs()])
    card = links.by_person["legal_person"]
    assert card is not None and (card.front, card.back, card.paired_by) == (f, b, "elimination")


def test_two_people_with_side_images_pair_backs_by_filed_valid_from() -> None:
    docs = [
        front("1.jpg", "王示例", LP_ID),
        front("2.jpg", "丁海宇", OP_ID),
        back("3.jpg", "2019-01-25", "2029-01-25"),
        back("4.jpg", "2015-03-02", "2035-03-02"),
    ]
    links = link(submission(LEGAL, OPERATOR), docs)
    lp, op = links.by_person["legal_person"], links.by_person["operators[0]"]
    assert lp is not None and lp.back is not None and lp.back.file == "4.jpg"
    assert op is not None and op.back is not None and op.back.file == "3.jpg"
    assert lp.paired_by == op.paired_by == "filed_dates"
    assert links.unlinked() == []


def test_two_page_pdf_pairs_by_file_nearest_page() -> None:
    # One PDF: legal person's front p1, back p2; operator's front p3, back p4.
    docs = [
        front("身份证.pdf", "王示例", LP_ID, page=1),
        back("身份证.pdf", "2015-03-02", "2035-03-02", page=2),
        front("身份证.pdf", "丁海宇", OP_ID, page=3),
        back("身份证.pdf", "2019-01-25", "2029-01-25", page=4),
    ]
    links = link(submission(LEGAL, OPERATOR), docs)
    lp, op = links.by_person["legal_person"], links.by_person["operators[0]"]
    assert lp is not None and lp.back is not None and (lp.back.page, lp.paired_by) == (2, "file")
    assert op is not None and op.back is not None and (op.back.page, op.paired_by) == (4, "file")


def test_one_side_only_stays_unpaired() -> None:
    cards = pair_sides([front("a.jpg", "王示例", LP_ID)])
    assert len(cards) == 1 and cards[0].back is None and cards[0].paired_by == ""
