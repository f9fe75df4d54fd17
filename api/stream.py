"""Server-Sent Events: `zones` (every zone now) and `alert` (one event, as the webhooks get it).

Each subscriber has a bounded queue; a subscriber that falls that far behind is disconnected
(its browser reconnects and starts from a fresh `zones` snapshot) instead of slowing the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

HEARTBEAT_S = 15.0
QUEUE_LIMIT = 256
RETRY_MS = 2000


def sse(event: str, data: str, event_id: int | None = None) -> str:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


@dataclass(eq=False)
class _Subscriber:
    queue: asyncio.Queue[tuple[int | None, str] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )
    closed: bool = False


class Broker:
    def __init__(self, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.heartbeat_s = heartbeat_s
        self._subscribers: set[_Subscriber] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, message: str, event_id: int | None = None) -> None:
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait((event_id, message))
            except asyncio.QueueFull:
                sub.closed = True
                self._subscribers.discard(sub)

    def close(self) -> None:
        """Ends every stream (shutdown): each generator returns after what it already has."""
        for sub in self._subscribers:
            sub.closed = True
            if not sub.queue.full():
                sub.queue.put_nowait(None)
        self._subscribers.clear()

    async def stream(self, first: Callable[[], list[tuple[int | None, str]]]) -> AsyncIterator[str]:
        """Messages for one client: `first()` (read after subscribing, so nothing falls between
        it and the live messages), then live ones; alert events already sent are not repeated."""
        sub = _Subscriber()
        self._subscribers.add(sub)
        try:
            yield f"retry: {RETRY_MS}\n\n"
            last_id = 0
            for event_id, message in first():
                last_id = max(last_id, event_id or 0)
                yield message
            while not sub.closed:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), self.heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    break
                event_id, message = item
                if event_id is not None and event_id <= last_id:
                    continue
                yield message
        finally:
            self._subscribers.discard(sub)
