"""What docpipe knows of each document kind, declared once, where the kind is read.

Each extractor module declares a ``KindSpec`` for the kind it reads (its fields with
their roles and reviewer labels, its side of a card, the filed ID types it is proof
for, its classification cues) and registers it with ``docpipe.extract.extractor``.
Every table that used to be kept by hand per kind is derived here from the specs:
the report's kind labels, quality's key fields, cross-reading's groups, re-reading's
checked fields and dates under a seal, the enterprise names whose place is restored,
the card sides that pair up, FILE-REQUIRED's ID proofs and the filed ID type names.
Adding a kind is its extractor module (and its validators): nothing here changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from docpipe.models import DocKind
from docpipe.normalize import norm_text
from docpipe.registry import Registry, load_package


class Role(StrEnum):
    """What a field is, whatever the kind: what the review and the second looks do with it.

    - ``credit_code``: an 18-character unified social credit code (GB 32100 check);
      re-read when it fails its check, cross-read with the other documents' codes.
    - ``id_number``: an 18-character number with the MOD 11-2 check (居民身份证,
      居住证, the 2023 永居证); re-read and cross-read like the code.
    - ``enterprise_name``: the enterprise's name; cross-read with the other documents'
      names, its place name restored from the credit code.
    - ``person_name``: a person's name; cross-read with the other documents' names.
    - ``under_seal``: a date printed where the seal may stand over it; read again.
    - ``holder_number``: the number an identity document shows for its holder, which
      the filed ``id_number`` is compared with and cards are linked by (an ID number,
      a permit number).
    """

    credit_code = "credit_code"
    id_number = "id_number"
    enterprise_name = "enterprise_name"
    person_name = "person_name"
    under_seal = "under_seal"
    holder_number = "holder_number"


Side = Literal["front", "back"]
# The words a credit code's label holds, whatever the document (统一社会信用代码, 社会信用代码).
CODE_LABELS = ("信用代码", "社会信用", "代码")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind: its CONTRACT §2 name, reviewer label, roles and weight.

    ``key``: a field the review cannot do without (FILE-QUALITY calls a page whose key
    field reads badly hard to read). ``labels``: words a label of this field contains,
    for finding its line when the extractor gave no value (re-reading). ``shape``: what
    a confident reading of it must look like to stand as a mismatch (``None``: by the
    comparison's kind, ``compare.Check.shape``).
    """

    name: str
    label: str
    roles: frozenset[Role] = frozenset()
    key: bool = False
    labels: tuple[str, ...] = ()
    shape: Callable[[str], bool] | None = None

    def has(self, role: Role) -> bool:
        """Whether the field plays ``role``."""
        return role in self.roles


def spec_field(
    name: str,
    label: str,
    *roles: Role,
    key: bool = False,
    labels: tuple[str, ...] = (),
    shape: Callable[[str], bool] | None = None,
) -> FieldSpec:
    """A ``FieldSpec``, its roles given as arguments."""
    return FieldSpec(name, label, frozenset(roles), key, labels, shape)


@dataclass(frozen=True, eq=False)
class KindSpec:
    """A document kind as the review sees it.

    ``document``: the document's name in a FILE-REQUIRED message (for a card side, the
    card's). ``card``: the card a side belongs to; the sides of one card pair up (a
    one-sided card has ``card`` and no ``side``). ``id_types``: the filed ``id_type``
    values this kind is proof for, one group per ID type, its full name first, then its
    short forms; a kind with any is an identity document. ``typed``: the applicant writes its values
    (a form, a letter), so a number failing its check read the same twice is the
    paper's own. ``keywords`` and ``threshold``: the classifier's cues; ``shapes``: more
    cues, regexes of values only this kind prints (a number's prefix), each with its
    weight, for kinds whose labels are another kind's; ``cues``: the
    words whose lines show this side when a page holding both sides is cut in two (by
    default the keywords; those weighing 2 or more show it alone); ``seals``: the
    reading stage reads the arcs of the region's red seals for the extractor.
    ``gb11643``: which filed numbers of this kind's ID types the GB 11643 number rules
    (ID-FORMAT, ID-CHECK, ID-REGION, ID-BIRTH, ID-GENDER) check; ``None``: none.
    """

    kind: DocKind
    label: str
    fields: tuple[FieldSpec, ...]
    keywords: Mapping[str, float]
    threshold: float = 2.0
    document: str = ""
    document_en: str = ""
    card: str | None = None
    side: Side | None = None
    id_types: tuple[tuple[str, ...], ...] = ()
    typed: bool = False
    seals: bool = False
    shapes: Mapping[str, float] = field(default_factory=dict)
    cues: tuple[str, ...] = ()
    gb11643: Callable[[str], bool] | None = None

    @property
    def identity(self) -> bool:
        """Whether this kind is a person's ID proof."""
        return bool(self.id_types)

    def names(self) -> tuple[str, ...]:
        """The kind's field names, in its declared order."""
        return tuple(f.name for f in self.fields)

    def with_role(self, role: Role) -> tuple[str, ...]:
        """The names of the kind's fields that play ``role``."""
        return tuple(f.name for f in self.fields if f.has(role))

    def field_spec(self, name: str) -> FieldSpec | None:
        """The spec of the field ``name``, ``None`` when the kind has none."""
        return next((f for f in self.fields if f.name == name), None)

    def side_cues(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(cue words of this side, those that show it alone) for cutting a page in two."""
        cues = self.cues or tuple(self.keywords)
        return cues, tuple(c for c in cues if self.keywords.get(c, 0.0) >= 2.0)

    def proves(self, id_type: str) -> bool:
        """Whether this kind is proof for the ID type of full name ``id_type``."""
        return any(group[0] == id_type for group in self.id_types)


KINDS: Registry[KindSpec] = Registry("document kind")
OTHER_LABEL = "其他"


def register(spec: KindSpec) -> KindSpec:
    """Add a kind's spec to the registry (``docpipe.extract.extractor`` does)."""
    KINDS.add(spec.kind.value, spec)
    return spec


def specs() -> list[KindSpec]:
    """Every registered kind's spec, the extractors imported first."""
    load_package("extractors")
    return list(KINDS)


def spec_of(kind: DocKind | str) -> KindSpec | None:
    """The spec of ``kind``; ``None`` for ``other`` and unknown kinds."""
    load_package("extractors")
    name = kind.value if isinstance(kind, DocKind) else str(kind)
    return KINDS.get(name) if name in KINDS else None


def label(kind: DocKind | str) -> str:
    """The reviewer's (Chinese) name of a kind (营业执照, 身份证人像面)."""
    spec = spec_of(kind)
    return spec.label if spec is not None else OTHER_LABEL


def key_fields(kind: DocKind | str) -> tuple[str, ...]:
    """The fields of ``kind`` a review cannot do without (FILE-QUALITY)."""
    spec = spec_of(kind)
    return tuple(f.name for f in spec.fields if f.key) if spec is not None else ()


def slots(role: Role) -> tuple[tuple[DocKind, str], ...]:
    """Every (kind, field) that plays ``role``, in the registry's order."""
    return tuple((s.kind, name) for s in specs() for name in s.with_role(role))


def is_card(kind: DocKind | str) -> bool:
    """Whether ``kind`` is a card or a card's side (an ID-1 sized document)."""
    spec = spec_of(kind)
    return spec is not None and spec.card is not None


def labels() -> dict[DocKind, str]:
    """Every kind's reviewer label, ``other`` included."""
    return {**{s.kind: s.label for s in specs()}, DocKind.other: OTHER_LABEL}


def card_kinds(card: str) -> tuple[KindSpec, ...]:
    """The specs of one card's sides (or of the one-sided card)."""
    return tuple(s for s in specs() if s.card == card)


def id_type_kinds(id_type: str | None) -> tuple[DocKind, ...]:
    """The identity kinds a filed ``id_type`` names (an empty one: the resident card's).

    Brackets, full- and half-width, are alike; the short forms each spec lists count.
    """
    name = id_type_name(id_type or RESIDENT_ID_TYPE)
    return tuple(s.kind for s in specs() for group in s.id_types if group[0] == name)


def id_type_name(id_type: str | None) -> str | None:
    """The full name of a filed ``id_type`` (身份证 → 居民身份证); ``None`` if unknown."""
    text = _bare(id_type or "")
    for s in specs():
        for group in s.id_types:
            if any(_bare(t) == text for t in group):
                return group[0]
    return None


def id_type_names() -> tuple[str, ...]:
    """Every filed ``id_type`` value an identity kind accepts, short forms included."""
    return tuple(dict.fromkeys(t for s in specs() for group in s.id_types for t in group))


def gb11643_number(id_type: str | None, number: str) -> bool:
    """Whether the GB 11643 number rules check ``number`` filed under ``id_type``.

    An empty ID type is the resident card's; an ID type no kind is proof for has none.
    """
    return any(
        s.gb11643 is not None and s.gb11643(number)
        for s in specs()
        if s.kind in id_type_kinds(id_type)
    )


# The ID type of a person whose ``id_type`` was left empty (CONTRACT §1's example).
RESIDENT_ID_TYPE = "居民身份证"


def _bare(text: str) -> str:
    """An ID type name without brackets and spaces, for comparing names."""
    return "".join(ch for ch in norm_text(text) if ch not in "()（）[]【】 ")
