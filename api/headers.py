"""Headers every answer of the API carries: nothing it says is kept by a cache or a proxy (counts,
alerts and reports are for whoever asked, now), and no browser guesses a type other than the one
sent (a JSON body with a display name in it is never run as HTML)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Added where an answer does not set them itself (the favicon may be cached a day).
ALWAYS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class SecurityHeaders:
    """ASGI middleware: ALWAYS on every HTTP answer that has not set the header itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(name.lower().encode(), value.encode()) for name, value in ALWAYS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self._headers if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
