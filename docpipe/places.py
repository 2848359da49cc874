"""An enterprise name's place, restored from the credit code printed beside it.

Most enterprise names start with the place where they are registered (义乌市博源五金店,
宁波市北仑区…), and characters 3–8 of a valid credit code name that place's division
(GB/T 2260, python-stdnum's table; see ``extractors._authority``). The recogniser's
classic confusions in place names — 乌 read 鸟, 义 read 文 — leave a name that starts
with a place that does not exist. ``restore_place`` puts the division's name back when
the name starts with it misread in exactly one character, not the last: the place's
own 市 / 县 / 区 must have been read, so ``宁波电…`` (宁波电力…? 宁波市…?) is never
touched. A name's place is its registration's, so another real place one character
off (义马市 in 河南 for 义乌市 on a 330782 code) is a misreading too — but only when
the recogniser doubted a character of the name (its weakest under
``compare.CHAR_DOUBT_BELOW``): a name printed with another place, read with full
confidence (恒康市 for 永康市, verify case-9004, every character ≥ 0.9998), is what the
document says, a discrepancy to report, not a misreading. The reading stays in
``raw``; the confidence drops a little.

It runs after the second looks (``reading.extract_region``): the code that names the
division may only pass its check character once read again. Which field of a kind is
its enterprise name, and which its credit code, its spec says (``docpipe.kinds.Role``).
"""

from __future__ import annotations

import re
from functools import cache

from docpipe.checkdigits import is_valid_uscc
from docpipe.compare import CHAR_DOUBT_BELOW
from docpipe.kinds import Role, spec_of
from docpipe.models import FieldValue
from docpipe.normalize import edit_distance

# Place names shorter than this are not restored (two characters say too little).
MIN_PLACE = 3
# Confidence factor of a restored name: the image supports it, but less.
RESTORED = 0.95


@cache
def place_name(division: str) -> str | None:
    """The current name of a GB/T 2260 division (``[1992-]永康市`` → 永康市), or ``None``.

    >>> place_name("330784")
    '永康市'
    """
    from stdnum import numdb

    info = {k: v for _, props in numdb.get("cn/loc").info(division) for k, v in props.items()}
    names = info.get("county", "")
    if not names:
        return None
    for name in names.split(","):
        m = re.fullmatch(r"(?:\[(\d*)-(\d*)\])?(.+)", name)
        if m and not m.group(2):  # no end year: still in use
            return m.group(3)
    return None


def places(credit_code: str) -> list[str]:
    """The division of a valid credit code and the ones above it, by name.

    >>> places("92330782145143504G")
    ['义乌市', '金华市', '浙江省']
    """
    division = credit_code[2:8]
    names = (place_name(d) for d in (division, division[:4] + "00", division[:2] + "0000"))
    return [n for n in names if n and n != "市辖区"]


def restore_place(value: FieldValue, code: FieldValue | None) -> FieldValue:
    """``value`` with its leading place restored from ``code``'s division, when misread.

    >>> code = FieldValue(value="92330782145143504G", confidence=1.0)
    >>> def read(text, weakest):
    ...     return FieldValue(value=text, confidence=0.96, char_confidence=weakest)
    >>> restore_place(read("义鸟市博源五金店", 0.53), code).value
    '义乌市博源五金店'
    >>> restore_place(read("义马市博源五金店", 0.53), code).value
    '义乌市博源五金店'
    >>> restore_place(read("义马市博源五金店", 0.9998), code).value  # as printed
    '义马市博源五金店'
    >>> restore_place(read("金华县博源五金店", 0.53), code).value
    '金华县博源五金店'
    """
    text = value.value
    if not text or code is None or not code.value or not is_valid_uscc(code.value):
        return value
    if value.char_confidence is None or value.char_confidence >= CHAR_DOUBT_BELOW:
        return value  # every character read with confidence: the name as printed
    for place in places(code.value):
        head = text[: len(place)]
        if len(place) < MIN_PLACE or head == place or head[-1] != place[-1]:
            continue
        if edit_distance(head, place) == 1:  # same length: one character changed
            return value.model_copy(
                update={
                    "value": place + text[len(place) :],
                    "confidence": round(value.confidence * RESTORED, 4),
                    "raw": f"{value.raw or text} | 地名按信用代码 / place from the credit code: "
                    f"{place}",
                }
            )
    return value


def restore_places(kind: str, fields: dict[str, FieldValue]) -> dict[str, FieldValue]:
    """The fields, the kind's enterprise name with its place restored from its credit code."""
    spec = spec_of(kind)
    if spec is None:
        return fields
    codes = [fields[c] for c in spec.with_role(Role.credit_code) if c in fields]
    out = dict(fields)
    for name in spec.with_role(Role.enterprise_name):
        if name in out and codes:
            out[name] = restore_place(out[name], codes[0])
    return out
