"""Which ID card is whose: sides paired into cards, cards linked to filed persons by content.

File names are never trusted. Sides are paired when they share a page (the portal's
template, or both sides photographed together; with two cards on a page, each front
takes the nearest back), then a file (a PDF with the front on one page and the back on
the next: the nearest page wins), then by elimination when exactly one front and one
back are left in different files.

A card is linked to the filed person whose ID number it shows; failing that, whose name
it shows; failing that, whose number it shows with at most two characters misread.
When exactly one card holder and exactly one card with a front are left over (the OCR
misread both name and number, or the applicant uploaded someone else's card), they are
linked by elimination and ``Links.how`` says so, so that rules can tell the reviewer.
A card whose back was not paired takes a left-over back whose valid-from date is the
person's filed one.

The legal person may also be an operator: one card then serves both, when the two
filed persons have the same ID number, or the same name and numbers at most two
characters apart (one of them mistyped).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from docpipe.kinds import Role, card_kinds, id_type_kinds, spec_of, specs
from docpipe.models import Document, Person, Submission
from docpipe.normalize import norm_id, norm_text, parse_date

# How a person was linked to a card (``Links.how``), strongest first.
BY_NUMBER = "number"
BY_NAME = "name"
BY_MISREAD = "misread"
BY_ELIMINATION = "elimination"
_HOW_BY_SCORE = {3: BY_NUMBER, 2: BY_NAME, 1: BY_MISREAD}
MAX_MISREAD = 2


@dataclass
class Card:
    """One identity card: its front and back documents where found."""

    front: Document | None = None
    back: Document | None = None
    # "page", "file", "elimination", "filed_dates", "one-sided" (a card of one side, in
    # ``front``) or "" when one side only was found.
    paired_by: str = ""

    def value(self, name: str) -> str | None:
        """A field of either side (front fields and back fields have distinct names)."""
        for doc in (self.front, self.back):
            if doc is not None:
                fv = doc.fields.get(name)
                if fv is not None and fv.value:
                    return fv.value
        return None

    @property
    def one_sided(self) -> bool:
        """A card of one side (its document in ``front``): it has no back to miss."""
        return self.paired_by == "one-sided"

    def holding(self, name: str) -> Document | None:
        """The side whose kind has the field ``name`` (the front of a one-sided card)."""
        for doc in (self.front, self.back):
            spec = spec_of(doc.kind) if doc is not None else None
            if spec is not None and name in spec.names():
                return doc
        return None

    def number_field(self) -> tuple[Document, str] | None:
        """The side and field showing the holder's number (``Role.holder_number``)."""
        for doc in (self.front, self.back):
            spec = spec_of(doc.kind) if doc is not None else None
            names = spec.with_role(Role.holder_number) if spec is not None else ()
            if doc is not None and names:
                return doc, names[0]
        return None

    def number(self) -> str | None:
        """The holder's number as read, when it was."""
        found = self.number_field()
        if found is None:
            return None
        fv = found[0].fields.get(found[1])
        return fv.value if fv is not None and fv.value else None


def _centre_distance(a: Document, b: Document) -> float:
    """Distance between two regions' centres (0 when either is a whole page)."""
    if a.region is None or b.region is None:
        return 0.0
    ax, ay = (a.region[0] + a.region[2]) / 2, (a.region[1] + a.region[3]) / 2
    bx, by = (b.region[0] + b.region[2]) / 2, (b.region[1] + b.region[3]) / 2
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5)


def _page_distance(front: Document, back: Document) -> float | None:
    """Same page: how far apart the regions are; ``None`` when not on one page."""
    if (front.file, front.page) != (back.file, back.page):
        return None
    return _centre_distance(front, back)


def _file_distance(front: Document, back: Document) -> float | None:
    """Same file: how many pages apart; ``None`` when not in one file."""
    return float(abs(front.page - back.page)) if front.file == back.file else None


def pair_sides(documents: list[Document]) -> list[Card]:
    """Cards from the identity documents of a submission, in the order they were paired.

    The sides of one card (``KindSpec.card``, ``side``) pair with each other only; a
    one-sided card is a card by itself.
    """
    cards: list[Card] = []
    for card in dict.fromkeys(s.card for s in specs() if s.card is not None):
        sides = {s.kind: s.side for s in card_kinds(card)}
        fronts = [d for d in documents if sides.get(d.kind, "") == "front"]
        backs = [d for d in documents if sides.get(d.kind, "") == "back"]
        cards.extend(
            Card(front=d, paired_by="one-sided")
            for d in documents
            if d.kind in sides and sides[d.kind] is None
        )
        cards.extend(_paired(fronts, backs))
    return cards


def _paired(fronts: list[Document], backs: list[Document]) -> list[Card]:
    """One card's fronts and backs paired: by page, by file, then by elimination."""
    cards: list[Card] = []
    for how, distance in (("page", _page_distance), ("file", _file_distance)):
        for f in list(fronts):
            options = [(d, i, b) for i, b in enumerate(backs) if (d := distance(f, b)) is not None]
            if options:
                _, _, match = min(options, key=lambda o: (o[0], o[1]))
                cards.append(Card(f, match, how))
                fronts.remove(f)
                backs.remove(match)
    if len(fronts) == 1 and len(backs) == 1:
        cards.append(Card(fronts.pop(), backs.pop(), "elimination"))
    cards.extend(Card(front=f) for f in fronts)
    cards.extend(Card(back=b) for b in backs)
    return cards


def _misread(a: str, b: str) -> int:
    """Characters that differ between two equally long strings (else a large number)."""
    if len(a) != len(b):
        return 99
    return sum(1 for x, y in zip(a, b, strict=True) if x != y)


def link_score(person: Person, card: Card) -> int:
    """3: same ID number; 2: same name; 1: number off by at most two characters; 0: none."""
    number = card.number()
    if person.id_number and number and norm_id(person.id_number) == norm_id(number):
        return 3
    name = card.value("name")
    if person.name and name and norm_text(person.name) == norm_text(name):
        return 2
    if (
        person.id_number
        and number
        and _misread(norm_id(person.id_number), norm_id(number)) <= MAX_MISREAD
    ):
        return 1
    return 0


def same_person(a: Person, b: Person) -> bool:
    """Two filed persons who are one: same number, or same name and a mistyped number.

    >>> same_person(Person(id_number="110105194912310021"), Person(id_number="110105194912310021"))
    True
    >>> same_person(Person(name="张三", id_number="110105194912310021"),
    ...             Person(name="张三", id_number="110105194912310029"))
    True
    >>> same_person(Person(name="张三", id_number="110105194912310021"),
    ...             Person(name="李四", id_number="110105194912310029"))
    False
    """
    na, nb = norm_id(a.id_number or ""), norm_id(b.id_number or "")
    if na and na == nb:
        return True
    same_name = bool(a.name and b.name and norm_text(a.name) == norm_text(b.name))
    return same_name and bool(na and nb) and _misread(na, nb) <= MAX_MISREAD


def holds_card(person: Person) -> bool:
    """Whether the filed ID type names an identity kind (empty counts as 居民身份证)."""
    return bool(id_type_kinds(person.id_type))


@dataclass
class Links:
    """Each filed person's card (``None`` when none could be linked) and the cards left over."""

    cards: list[Card]
    by_person: dict[str, Card | None] = field(default_factory=dict)
    # How each linked person was linked: BY_NUMBER, BY_NAME, BY_MISREAD, BY_ELIMINATION.
    how: dict[str, str] = field(default_factory=dict)

    def unlinked(self) -> list[Card]:
        """Cards no filed person claimed."""
        used = {id(c) for c in self.by_person.values() if c is not None}
        return [c for c in self.cards if id(c) not in used]

    def owners(self, card: Card) -> list[str]:
        """The filed persons (paths) a card serves, in submission order."""
        return [p for p, c in self.by_person.items() if c is card]


def _link_by_content(links: Links, persons: list[tuple[str, Person]]) -> None:
    """Best pairs first: a person takes the card with the highest score still free."""
    cards = links.cards
    candidates = sorted(
        (
            (link_score(person, card), -pi, -ci, path, ci)
            for pi, (path, person) in enumerate(persons)
            for ci, card in enumerate(cards)
        ),
        reverse=True,
    )
    by_path = dict(persons)
    taken_by: dict[int, str] = {}
    for score, _, _, path, ci in candidates:
        if score == 0 or path in links.by_person:
            continue
        owner = taken_by.get(ci)
        # One card serves two filed persons only when they are the same person.
        if owner is not None and not same_person(by_path[owner], by_path[path]):
            continue
        links.by_person[path] = cards[ci]
        links.how[path] = _HOW_BY_SCORE[score]
        taken_by.setdefault(ci, path)


def _link_by_elimination(links: Links, persons: list[tuple[str, Person]]) -> None:
    """One card holder and one card with a front left over: they belong together."""
    left_persons = [p for p, person in persons if p not in links.by_person and holds_card(person)]
    left_cards = [c for c in links.unlinked() if c.front is not None]
    if len(left_persons) == 1 and len(left_cards) == 1:
        links.by_person[left_persons[0]] = left_cards[0]
        links.how[left_persons[0]] = BY_ELIMINATION


def _add_backs_by_filed_dates(links: Links, persons: list[tuple[str, Person]]) -> None:
    """A linked card without a back takes a left-over back showing the filed valid-from."""
    by_path = dict(persons)
    for path, card in links.by_person.items():
        if card is None or card.back is not None or card.front is None:
            continue
        start = parse_date(by_path[path].id_valid_from)
        if start is None:
            continue
        backs = [
            c
            for c in links.unlinked()
            if c.front is None
            and c.back is not None
            and parse_date(c.value("valid_from") or "") == start
        ]
        if len(backs) == 1:
            card.back, card.paired_by = backs[0].back, "filed_dates"
            links.cards.remove(backs[0])


def _add_last_back(links: Links) -> None:
    """One linked card still without a back and one back left over: they belong together.

    The filed dates cannot pair them when the filed dates are the very thing that is
    wrong (ID-VALIDITY-MATCH must then compare them, not miss the back).
    """
    open_cards = {
        id(c): c
        for c in links.by_person.values()
        if c is not None and c.front is not None and c.back is None
    }
    spare = [c for c in links.unlinked() if c.front is None and c.back is not None]
    if len(open_cards) == 1 and len(spare) == 1:
        (card,) = open_cards.values()
        card.back, card.paired_by = spare[0].back, BY_ELIMINATION
        links.cards.remove(spare[0])


def link(submission: Submission, documents: list[Document]) -> Links:
    """Link every filed person (``legal_person``, ``operators[i]``) to a card."""
    links = Links(pair_sides(documents))
    persons = list(submission.persons())
    _link_by_content(links, persons)
    _link_by_elimination(links, persons)
    _add_backs_by_filed_dates(links, persons)
    _add_last_back(links)
    # Submission order, so that ``owners`` and reports list persons as filed.
    links.by_person = {path: links.by_person.get(path) for path, _ in persons}
    return links
