"""Roles from tokens: desk (read, acknowledge) and lead (also rules); bounded request bodies.

Tokens come from settings and are compared in constant time (hmac.compare_digest on their
SHA-256, so the length of a token does not leak either). API clients send
`Authorization: Bearer <token>`; the reception page's browser gets the token as an HttpOnly,
SameSite=Strict cookie after logging in, and a mutating request carried by that cookie must come
from the page's own origin.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from api.domain import Role
from api.settings import AuthSettings

COOKIE = "wartezone_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Tokens:
    def __init__(self, auth: AuthSettings) -> None:
        self._desk = [_digest(t.get_secret_value()) for t in auth.desk_tokens]
        self._lead = [_digest(t.get_secret_value()) for t in auth.lead_tokens]

    def role_of(self, token: str | None) -> Role | None:
        if not token:
            return None
        digest = _digest(token)
        # Every token is compared, match or not: the time taken says nothing about which matched.
        lead = [hmac.compare_digest(digest, known) for known in self._lead]
        desk = [hmac.compare_digest(digest, known) for known in self._desk]
        if any(lead):
            return Role.LEAD
        if any(desk):
            return Role.DESK
        return None


class BodyLimit:
    """Refuses a request body larger than max_bytes with 413, by its Content-Length or as it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    await self._refuse(send, 413 if declared >= 0 else 400)
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI turns an HTTPException met while reading the body into its answer.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, send: Send, status: int) -> None:
        message = self._message() if status == 413 else "invalid Content-Length header"
        code = "payload_too_large" if status == 413 else "bad_request"
        body = json.dumps(
            {"error": {"status": status, "code": code, "message": message, "fields": []}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
