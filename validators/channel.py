"""How the card is handed over: the courier channel's details.

Source: RULES.md "Forms and letters" (CHANNEL-ONLINE, from the manual's pick-up page).
The offline channel needs the authorization letter, which the document rules check.
"""

from __future__ import annotations

from collections.abc import Iterator

from docpipe.normalize import norm_text
from docpipe.rules import Hit, RuleContext, rule

ONLINE_MODES = frozenset({"ONLINE", "线上", "邮寄"})
ONLINE_KEYS = (
    ("recipient", "收件人", "recipient"),
    ("address", "收件地址", "address"),
    ("phone", "收件人电话", "phone"),
)


@rule("CHANNEL-ONLINE", code="policy", severity="error")
def channel_online(ctx: RuleContext) -> Iterator[Hit]:
    """邮寄领取须填写收件信息 / Courier delivery needs the recipient's details.

    With ``channel.mode`` = ``online`` the card is posted: ``recipient``, ``address``
    and ``phone`` are required. One finding per missing key, on that key.
    """
    sub = ctx.submission
    if sub is None or sub.channel is None or sub.channel.mode is None:
        return
    if norm_text(sub.channel.mode) not in {norm_text(m) for m in ONLINE_MODES}:
        return
    for key, zh, en in ONLINE_KEYS:
        value = getattr(sub.channel, key)
        if isinstance(value, str) and value.strip():
            continue
        yield Hit(
            field=f"channel.{key}",
            filed=value if isinstance(value, str) else None,
            message=f"邮寄领取须填写{zh} / online delivery needs the {en}",
        )
