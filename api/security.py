"""Roles from tokens: desk (read, acknowledge) and lead (also rules); slowed-down guessing; bounded
request bodies.

Tokens come from settings and are compared in constant time (hmac.compare_digest on their
SHA-256, so the length of a token does not leak either). API clients send
`Authorization: Bearer <token>`; a page's browser trades the token for a session (api/sessions.py)
held in an HttpOnly, SameSite=Strict cookie, and a mutating request carried by that cookie must
come from the page's own origin. Failed checks are counted per client address (Guard): after a
few, that address waits before its next token is even looked at.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.exceptions import HTTPException

from api.domain import Clock, Role
from api.settings import AuthSettings, Settings

log = logging.getLogger(__name__)

# The name is the one the cookie had when it held the token itself: a browser's old cookie is
# overwritten at the next login instead of lingering beside the new one.
COOKIE = "wartezone_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

FailureKind = Literal["bearer", "cookie", "login"]
FAILURE_KINDS: tuple[FailureKind, ...] = ("bearer", "cookie", "login")
FIRST_WAIT_S = 1.0  # the wait after the first failure beyond those, doubling per further failure ...
MAX_WAIT_S = 300.0  # ... up to this: past the first few, one guess per five minutes
FORGET_AFTER_S = 900.0  # a client's failures are forgotten this long after its last one
MAX_CLIENTS = 10_000  # the clients remembered (the most recent failures): bounded memory

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def fingerprint(secret: str) -> str:
    """SHA-256 of a token or a session id, in hex: what the database holds instead of either."""
    return _digest(secret).hex()


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

    def fingerprints(self) -> set[tuple[str, Role]]:
        """Each configured token's fingerprint with its role: the sessions that may outlive a restart."""
        return {(d.hex(), Role.LEAD) for d in self._lead} | {(d.hex(), Role.DESK) for d in self._desk}


def cookie_secure(settings: Settings) -> bool:
    """The login cookie goes over HTTPS only, unless the API listens on loopback (a browser on the
    same machine; browsers treat such origins as secure anyway) or the settings say plain HTTP."""
    return not (settings.auth.plain_http or _loopback(settings.host))


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_key(host: str | None) -> str:
    """What a client's failures are counted under: its address; for IPv6 its /64, which one line
    or host usually holds whole (counting single IPv6 addresses would count nothing)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(slots=True)
class _Burst:
    """One client's failed checks since it last stayed quiet for FORGET_AFTER_S."""

    started_at: float
    last_at: float
    failures: int = 0
    blocked_until: float = 0.0


class Guard:
    """Slows guessing down per client: `free` failed checks cost nothing (auth.free_failures, 5: a
    mistyped token or two, a page whose session ended), each one after that
    makes the client wait FIRST_WAIT_S, doubling up to MAX_WAIT_S, before its next token is looked
    at (429 with Retry-After). A success forgets nothing (a desk token's holder could otherwise
    reset the count between guesses at the lead token) and one client's count never touches
    another's. Logged once per burst, when the waiting starts, with the address, never a token."""

    def __init__(self, clock: Clock, counted: Callable[[FailureKind], None], free: int) -> None:
        self._clock = clock
        self._free = free
        self._counted = counted
        self._bursts: OrderedDict[str, _Burst] = OrderedDict()  # least recently failed first

    def wait_s(self, client: str) -> float:
        """Seconds the client must wait before a token of its is checked; 0 when it need not."""
        burst = self._bursts.get(client)
        return 0.0 if burst is None else max(0.0, burst.blocked_until - self._clock.now())

    def refuse_if_waiting(self, client: str) -> None:
        wait = self.wait_s(client)
        if wait > 0:
            raise too_many(wait)

    def failed(self, client: str, kind: FailureKind) -> float:
        """Count a failed check; returns the seconds the client must now wait (0: none)."""
        now = self._clock.now()
        self._counted(kind)
        burst = self._bursts.pop(client, None)
        if burst is None or now - burst.last_at > FORGET_AFTER_S:
            burst = _Burst(started_at=now, last_at=now)
        self._bursts[client] = burst
        while len(self._bursts) > MAX_CLIENTS:
            self._bursts.popitem(last=False)
        burst.failures += 1
        burst.last_at = now
        beyond = burst.failures - self._free
        if beyond <= 0:
            return 0.0
        wait = min(FIRST_WAIT_S * 2.0 ** min(beyond - 1, 30), MAX_WAIT_S)
        burst.blocked_until = now + wait
        if beyond == 1:
            log.warning(
                "%d failed token or session checks from %s in %.0f s (the last: %s); it now waits "
                "%.0f s, doubling up to %.0f s, before its next token is checked",
                burst.failures,
                client,
                now - burst.started_at,
                kind,
                wait,
                MAX_WAIT_S,
            )
        return wait


def too_many(wait_s: float) -> HTTPException:
    seconds = max(1, int(-(-wait_s // 1)))  # Retry-After is whole seconds, rounded up
    return HTTPException(
        429,
        f"too many failed logins from this address: try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


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
