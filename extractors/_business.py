"""The business applied for: one closed set, read the same way on the form and the letter.

CONTRACT §2: a form's ``application_type`` and a letter's ``matter`` are the business
as the portal names it (变更企业操作员 …) or its code, never the sentence around it
(``办理电子口岸卡变更操作员业务``). Both documents name it in many words; each wording
here is the portal's name or a shortening of it seen in print, and a reading names a
business only when exactly one of them fits.
"""

from __future__ import annotations

import re

# (code, the portal's name, other wordings), longest wording first where they nest.
BUSINESSES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("new_enterprise", "新企业入网", ("企业入网",)),
    ("change_operator", "变更企业操作员", ("变更操作员", "操作员变更", "更换操作员")),
    ("new_operator", "新增企业操作员", ("新增操作员", "增加操作员")),
    ("lost_or_damaged", "遗失或损坏补办", ("遗失补办", "损坏补办", "挂失补办")),
    ("certificate_renewal", "证书更新", ("证书延期",)),
    ("enterprise_info_change", "企业信息变更", ("信息变更",)),
)
# Code → the variants a page may print it in (the form's tick-box options).
OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (code, (name, *others)) for code, name, others in BUSINESSES
)
PORTAL_NAME = {code: name for code, name, _ in BUSINESSES}


def business_in(text: str) -> str | None:
    """The code of the one business a text names, else ``None`` (none, or several).

    >>> business_in("办理电子口岸卡变更操作员业务")
    'change_operator'
    >>> business_in("新增企业操作员、证书更新") is None
    True
    """
    flat = re.sub(r"\s+", "", text)
    codes = {code for code, variants in OPTIONS if any(v in flat for v in variants)}
    return codes.pop() if len(codes) == 1 else None
