"""The kinds' specs, and the tables every other module derives from them.

Each extractor module declares its kind's ``KindSpec``; the report's labels, quality's
key fields, cross-reading's groups, re-reading's checked fields and sealed dates, the
place-named fields, the card sides, the filed ID types and the fixtures' contract
fields all come from the registry. The first tests pin what the specs say (the tables
as they were kept by hand); the last ones change a spec and see every table follow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from docpipe import crossread, kinds, reread
from docpipe.kinds import KINDS, Role, spec_field
from docpipe.linking import holds_card, pair_sides
from docpipe.models import DocKind, Document, FieldValue, Person
from fixtures.views import CONTRACT_FIELDS
from validators.forms import _same_id_type
from validators.identity import is_resident_card
from validators.quality import _doubtful_fields


def test_every_kind_but_other_has_a_spec_and_a_label() -> None:
    assert {s.kind for s in kinds.specs()} == set(DocKind) - {DocKind.other}
    assert kinds.label(DocKind.id_card_back) == "身份证国徽面"
    assert kinds.label(DocKind.other) == "其他"
    assert kinds.labels()[DocKind.application_form] == "制发卡业务申请书"


def test_the_fixtures_truth_has_the_contract_fields_of_each_spec() -> None:
    assert CONTRACT_FIELDS["id_card_back"] == ("issuing_authority", "valid_from", "valid_to")
    assert len(CONTRACT_FIELDS["business_license"]) == 12  # qr_code: not read yet (issue 18)


def test_key_fields_come_from_the_specs() -> None:
    assert kinds.key_fields("business_license") == ("credit_code", "name", "legal_representative")
    assert kinds.key_fields("id_card_front") == ("name", "id_number")
    assert kinds.key_fields("authorization_letter") == ("agent_name", "agent_id_number")
    assert kinds.key_fields(DocKind.other) == ()


def test_cross_reading_groups_each_role_across_the_kinds() -> None:
    by_role = {frozenset(g.slots): g for g in crossread.groups()}
    persons = frozenset(kinds.slots(Role.person_name))
    assert persons == {
        (DocKind.business_license, "legal_representative"),
        (DocKind.id_card_front, "name"),
        (DocKind.application_form, "operator_name"),
        (DocKind.authorization_letter, "agent_name"),
    }
    codes = frozenset(kinds.slots(Role.credit_code))
    assert by_role[codes].valid is not None and by_role[persons].valid is None
    assert len(crossread.groups()) == 4


def test_checked_numbers_are_by_kind_with_who_writes_them() -> None:
    form = reread.checked("application_form")
    assert set(form) == {"credit_code", "operator_id_number"}
    assert form["operator_id_number"].typed == ("application_form",)
    assert reread.checked("id_card_front")["id_number"].typed == ()  # printed, never typed
    every = reread.checked(None)
    assert set(every["credit_code"].kinds) == {
        "business_license",
        "application_form",
        "authorization_letter",
    }
    assert set(every["credit_code"].typed) == {"application_form", "authorization_letter"}
    assert reread.sealed_dates("business_license") == ("issue_date",)
    assert reread.sealed_dates("id_card_back") == ()


@pytest.mark.parametrize(
    ("filed", "name"),
    [("身份证", "居民身份证"), ("居住证", "港澳台居民居住证"), ("护照", None), ("", None)],
)
def test_filed_id_types_resolve_to_their_full_name(filed: str, name: str | None) -> None:
    assert kinds.id_type_name(filed) == name


def test_id_types_decide_cards_resident_rules_and_the_form_comparison() -> None:
    assert holds_card(Person(id_type="居民身份证")) and holds_card(Person(id_type=None))
    assert not holds_card(Person(id_type="护照"))
    assert is_resident_card("身份证") and not is_resident_card("港澳台居民居住证")
    assert _same_id_type("身份证", "居民身份证") and not _same_id_type("居住证", "居民身份证")


@pytest.fixture
def changed_front() -> Iterator[kinds.KindSpec]:
    """The ID card front's spec with one more key, checked and person-named field."""
    old = KINDS.get("id_card_front")
    extra = spec_field("alias", "曾用名", Role.person_name, Role.id_number, key=True)
    new = dataclasses.replace(old, fields=(*old.fields, extra))
    KINDS._items["id_card_front"] = new
    reread.checked.cache_clear()
    crossread.groups.cache_clear()
    yield new
    KINDS._items["id_card_front"] = old
    reread.checked.cache_clear()
    crossread.groups.cache_clear()


def test_a_field_added_to_a_spec_reaches_every_table(changed_front: kinds.KindSpec) -> None:
    assert "alias" in kinds.key_fields("id_card_front")
    assert "alias" in reread.checked("id_card_front")
    assert any((DocKind.id_card_front, "alias") in g.slots for g in crossread.groups())
    doc = Document(
        file="a.jpg",
        page=1,
        kind=DocKind.id_card_front,
        fields={"alias": FieldValue(value="王", confidence=0.5)},
    )
    assert _doubtful_fields(doc) == ["alias (0.50)"]  # quality weighs it as a key field


def test_sides_pair_within_their_card_only(changed_front: kinds.KindSpec) -> None:
    front = Document(file="a.jpg", page=1, kind=DocKind.id_card_front)
    back = Document(file="a.jpg", page=1, kind=DocKind.id_card_back)
    # The back declared a side of another card: the two no longer pair.
    old_back = KINDS.get("id_card_back")
    KINDS._items["id_card_back"] = dataclasses.replace(old_back, card="另一种证件")
    try:
        cards = pair_sides([front, back])
    finally:
        KINDS._items["id_card_back"] = old_back
    assert [(c.front is not None, c.back is not None) for c in cards] == [
        (True, False),
        (False, True),
    ]
    (card,) = pair_sides([front, back])
    assert card.front is front and card.back is back and card.paired_by == "page"
