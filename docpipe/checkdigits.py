"""Check characters of the unified social credit code and the resident ID number.

One module serves every rule, the fixture generator and the OCR candidate choice.

Unified social credit code (GB 32100-2015), 18 characters over the alphabet
``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z):

- 1 registration authority, 2 entity type, 3-8 administrative region code,
- 9-17 the organisation code (GB 11714): 8 body characters and their check character,
- 18 the check character over the first 17: ``alphabet[(31 - Σ vᵢ·wᵢ mod 31) mod 31]``
  with wᵢ = 3^(i-1) mod 31.

The organisation code check (GB 11714) weighs the 8 body characters by
3, 7, 9, 10, 5, 8, 4, 2 with letters valued A=10 … Z=35, C = 11 - (Σ mod 11),
10 → ``X``, 11 → ``0``.

Resident ID number (GB 11643-1999), 17 digits and a check character by ISO 7064
MOD 11-2: ``"10X98765432"[Σ dᵢ·Wᵢ mod 11]``.

>>> uscc_check_char("91330784579324580")
'M'
>>> is_valid_uscc("91330784579324580M")
True
>>> id_check_char("11010519491231002")
'X'
>>> is_valid_id("11010519491231002X")
True
"""

from __future__ import annotations

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_FULL_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def uscc_check_char(first17: str) -> str:
    """Character 18 of a credit code from its first 17 characters.

    >>> uscc_check_char("91350100M000100Y4")
    '3'
    >>> uscc_check_char("9133078457932458")
    Traceback (most recent call last):
    ...
    ValueError: need 17 characters of the credit code alphabet
    """
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError("need 17 characters of the credit code alphabet")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body.

    >>> org_check_char("57932458")
    '0'
    >>> org_check_char("D2143569")
    'X'
    """
    if len(body8) != 8 or any(c not in _FULL_ALPHABET for c in body8):
        raise ValueError("need 8 digits or capital letters")
    total = sum(_FULL_ALPHABET.index(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def is_valid_uscc(code: str) -> bool:
    """Tell whether a normalised 18-character credit code passes both check characters.

    >>> is_valid_uscc("91330784579324580N")
    False
    >>> is_valid_uscc("N2330784MA2K3X7D6E")  # letters first and inside are fine
    True
    """
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17] and org_check_char(code[8:16]) == code[16]


def id_check_char(first17: str) -> str:
    """Character 18 of a resident ID number from its first 17 digits.

    >>> id_check_char("43051219890813136")
    '9'
    """
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("need 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def is_valid_id(number: str) -> bool:
    """Tell whether an 18-character ID number has the right check character.

    >>> is_valid_id("430512198908131367")  # the widely copied specimen card: wrong digit
    False
    """
    if len(number) != 18 or not number[:17].isdigit() or not number[:17].isascii():
        return False
    return id_check_char(number[:17]) == number[17]
