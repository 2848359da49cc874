"""Plain ASGI middleware of the service: bearer-token auth and the request body limit.

Both run before FastAPI sees the request, so a request without the token or with a body
over the limit never reaches a handler (and never gets its body stored).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body went over the limit while it was read."""


def auth_middleware(app: ASGIApp, token: str | None) -> ASGIApp:
    """Refuse every HTTP request but ``/healthz`` without ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode() if token else None

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if expected is None or scope["type"] != "http" or scope["path"] == "/healthz":
            await app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, expected):
            await app(scope, receive, send)
            return
        body = json.dumps({"detail": "missing or wrong bearer token"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return wrapped


def body_limit_middleware(app: ASGIApp, limit: int) -> ASGIApp:
    """Answer 413 for a body over ``limit``: at once when Content-Length says so, else on read."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _drain(receive, 4 * limit)
            await _send_413(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, counted, tracking)
        except BodyTooLarge:
            if started:
                raise
            await _drain(receive, 4 * limit)
            await _send_413(send, limit)

    return wrapped


async def _drain(receive: Receive, budget: int) -> None:
    """Read (and drop) the rest of the body, so the client gets to read the answer."""
    seen = 0
    while seen <= budget:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send_413(send: Send, limit: int) -> None:
    text = f"request body is over the limit of {limit} bytes ({limit / 1024 / 1024:.1f} MB)"
    body = json.dumps({"detail": text}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Wrap:
    """Adapter so plain ASGI wrappers can go through ``add_middleware``."""

    def __init__(self, app: ASGIApp, factory: Callable[[ASGIApp], ASGIApp]) -> None:
        self.inner = factory(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request to the wrapped app."""
        await self.inner(scope, receive, send)
