"""A reading problem told apart from a finding (RULES.md decision "A reading is not a finding").

A value read beside its label can carry what stands next to it on the page, be cut
where its line or cell ends, or have a shape its field cannot have. Each is a reason
to send the value to a person (``not_found``), never to call it a ``mismatch``:

- ``absorbed``: the reading is the filed value with a neighbour beside it — a printed
  label of any document kind (``label_words``: every registered extractor's ``Label``
  variants), or another value of the submission or of the same document;
- ``cut_short``: the reading stopped at a line or cell boundary
  (``FieldValue.cut``) and the filed value begins, or ends, with it;
- ``SHAPES`` and the shape helpers: what a reading must look like to stand as a
  mismatch (a date that parses, an 18-character code, a value of a closed set).

And the other way round, ``same_again``: a number that fails its check character but
reads the same, surely, at every second look is no misreading but the paper's own
(an applicant's slip): it is kept sure, marked ``FieldValue.check_failed``.

A value genuinely longer or shorter than the filed one (天佳工贸有限公司 filed,
永康市天佳工贸有限公司 printed) is none of these: it stays a mismatch.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache

from docpipe.checkdigits import USCC_ALPHABET
from docpipe.models import FieldValue
from docpipe.normalize import is_long_term, norm_text, parse_date
from docpipe.ocr.base import OcrLine

# Punctuation between a value and the text the reading ran into (公司：住所…, 公司 | 9133…).
_JOINERS = ":：,，;；|/、"
# A label shorter than this (住, 名) stands for too much ordinary text to count.
MIN_LABEL = 2
# A neighbour's value shorter than this must be met whole, not as the start of the rest.
MIN_START = 2
# The rest may be a neighbour's value cut short (the reading ran into its first
# characters) when it is at least this long: 杭州 beside a name is no address.
MIN_PIECE = 4


@cache
def label_words() -> frozenset[str]:
    """Every printed label of every document kind, normalised.

    Taken from the modules of the registered extractors (``docpipe.extract``): each
    module-level ``Label``, or tuple of them, gives its variants. A new document kind's
    labels join by its extractor's registration, with no list kept here.

    >>> {"住所", "统一社会信用代码", "经营范围", "受托人"} <= label_words()
    True
    """
    from docpipe.extract import load_extractors
    from docpipe.layout import Label

    words: set[str] = set()
    for spec in load_extractors():
        for obj in vars(sys.modules[spec.func.__module__]).values():
            items = obj if isinstance(obj, tuple) else (obj,)
            words.update(norm_text(v) for lb in items if isinstance(lb, Label) for v in lb.variants)
    return frozenset(w for w in words if len(w) >= MIN_LABEL)


def absorbed(filed: str, found: str, neighbours: Iterable[str] = ()) -> bool:
    """Tell whether ``found`` is ``filed`` with a neighbour's label or value beside it.

    Both are normalised alike by the caller; ``neighbours`` are the other values of the
    submission and of the document. What ``found`` holds besides ``filed`` (before it,
    after it, or both) must each begin — after, or end — before, with a printed label
    (``label_words``) or another value (whole, or, from ``MIN_PIECE`` characters on, cut).

    >>> absorbed("杭州天佳工贸有限公司", "杭州天佳工贸有限公司住所杭州市西湖区文三路1号")
    True
    >>> absorbed("杭州天佳工贸有限公司", "杭州天佳工贸有限公司统一社会信用代码")
    True
    >>> absorbed("杭州天佳工贸有限公司", "杭州天佳工贸有限公司9133010659", ["91330106592460771J"])
    True
    >>> absorbed("天佳工贸有限公司", "永康市天佳工贸有限公司", ["永康市花街路1号"])
    False

    Text before the value that ends in a colon is a label's end, whatever is left of its
    words (``心：温州云宏科技有限公司…``, acc4 80029): no value holds a colon.

    >>> absorbed("温州云宏科技有限公司", "心：温州云宏科技有限公司")
    True
    """
    if not filed or found == filed:
        return False
    others = [v for v in (norm_text(n) for n in neighbours) if v and filed not in v]
    words = label_words()
    at = found.find(filed)
    while at >= 0:
        before, after = found[:at], found[at + len(filed) :]
        if (
            before.endswith((":", "：")) or _ends_with_neighbour(before, words, others)
        ) and _starts_with_neighbour(after, words, others):
            return True
        at = found.find(filed, at + 1)
    return False


def _starts_with_neighbour(rest: str, words: frozenset[str], others: list[str]) -> bool:
    """Whether the text after the value is empty or begins with a label or another value."""
    if not rest:
        return True
    rest = rest.lstrip(_JOINERS)
    if not rest or any(rest.startswith(w) for w in words):
        return True
    return any(
        v == rest
        or (len(v) >= MIN_START and rest.startswith(v))
        or (len(rest) >= MIN_PIECE and v.startswith(rest))
        for v in others
    )


def _ends_with_neighbour(rest: str, words: frozenset[str], others: list[str]) -> bool:
    """Whether the text before the value is empty or ends with a label or another value.

    ``_starts_with_neighbour`` read backwards.
    """
    return _starts_with_neighbour(
        rest[::-1], frozenset(w[::-1] for w in words), [v[::-1] for v in others]
    )


def cut_short(filed: str, found: str) -> bool:
    """Tell whether ``found`` is the start (or the end) of ``filed``, shorter.

    For a reading that stopped at a line or cell boundary (``FieldValue.cut``).

    >>> cut_short("杭州市西湖区文三路1号", "杭州市西湖区")
    True
    >>> cut_short("杭州市西湖区", "杭州市上城区")
    False
    """
    return bool(found) and found != filed and (filed.startswith(found) or filed.endswith(found))


# --------------------------------------------------------------------------- shapes

_CODE = re.compile(r"[0-9A-Z]{18}")
_ID_NUMBER = re.compile(r"\d{17}[\dX]")


def dated(value: str) -> bool:
    """A date that parses, or 长期 / 永久 / 无固定期限.

    >>> dated("2024年9月1日"), dated("长期"), dated("2024年13月1日")
    (True, True, False)
    """
    return is_long_term(value) or parse_date(value) is not None


def code_shaped(value: str) -> bool:
    """18 letters or digits: a credit code or an ID number, by length and alphabet.

    >>> code_shaped("91330106592460771J"), code_shaped("9133010659246077")
    (True, False)
    """
    return _CODE.fullmatch(norm_text(value)) is not None


def id_number_shaped(value: str) -> bool:
    """17 digits and a digit or ``X``: a GB 11643 number, whatever its check character.

    >>> id_number_shaped("11010519491231002x"), id_number_shaped("1101051949123100")
    (True, False)
    """
    return _ID_NUMBER.fullmatch(norm_text(value)) is not None


def credit_code_shaped(value: str) -> bool:
    """18 characters of the GB 32100 alphabet, whatever its check character.

    >>> credit_code_shaped("91330106592460771J"), credit_code_shaped("9133O106592460771J")
    (True, False)
    """
    code = norm_text(value)
    return len(code) == 18 and all(c in USCC_ALPHABET for c in code)


def one_of(values: Iterable[str]) -> Callable[[str], bool]:
    """The shape of a field whose values form a closed set (compared normalised).

    >>> gender = one_of(("男", "女"))
    >>> gender("女"), gender("文")
    (True, False)
    """
    allowed = frozenset(norm_text(v) for v in values)

    def shape(value: str) -> bool:
        return norm_text(value) in allowed

    return shape


# The shape a reading must have, by how it is compared (``compare.norm_value``); a
# ``Check`` may name its own (a closed set, a number's alphabet).
SHAPES: dict[str, Callable[[str], bool]] = {"date": dated, "id": code_shaped}


# --------------------------------------------------------------------------- read again

# A run of code characters this long is a number of its own (a date's 2025 is not).
_LONG_RUN = re.compile(r"[0-9A-Z]{15,}")


def same_again(
    first: FieldValue,
    readings: Sequence[OcrLine],
    *,
    least: int,
    sure: float,
    chars: float,
    shaped: Callable[[str], bool] | None = None,
) -> FieldValue | None:
    """The first reading, sure and ``check_failed``, when every second look reads just it.

    At least ``least`` readings; in each, the one long run of code characters (a date
    or a house number beside it aside) is the value, read at ``sure`` confidence or
    more, its characters at ``chars`` or more; the value has its field's shape
    (``shaped``). ``None`` otherwise: the first stays a doubt.

    >>> text = "兹委托张三（身份证号码：370202197906069686）于2025年前往"
    >>> line = OcrLine(text=text, poly=[(0, 0)] * 4, confidence=0.97)
    >>> first = FieldValue(value="370202197906069686", confidence=0.58)
    >>> same_again(first, [line, line], least=2, sure=0.9, chars=0.8).check_failed
    True
    >>> same_again(first, [line], least=2, sure=0.9, chars=0.8) is None
    True
    """
    value = first.value
    if not value or len(readings) < least or (shaped is not None and not shaped(value)):
        return None
    weakest: list[float] = []
    for reading in readings:
        flat, where = _flat(reading.text)
        if _LONG_RUN.findall(flat) != [value] or reading.confidence < sure:
            return None
        at = flat.index(value)
        weakest.append(reading.weakest(where[at], where[at + len(value) - 1] + 1))
    if min(weakest) < chars:
        return None
    return first.model_copy(
        update={
            "confidence": round(min(r.confidence for r in readings), 4),
            "char_confidence": round(min(weakest), 4),
            "raw": f"{first.raw} | 又读作 / read again as: {readings[0].text}",
            "check_failed": True,
        }
    )


def _flat(text: str) -> tuple[str, list[int]]:
    """``text`` NFKC, upper case, without spaces; and where each character came from."""
    flat: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).upper():
            if not c.isspace():
                flat.append(c)
                where.append(i)
    return "".join(flat), where
