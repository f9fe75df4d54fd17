"""Webhook delivery from the outbox: in order, signed, retried with capped exponential backoff.

Each webhook has its own worker that always sends its oldest undelivered event, and sends the
next only when that one got a 2xx answer: a receiver that is down for minutes gets every event,
in order, once it is back. An event is marked delivered only after the 2xx, so a receiver that
answers after its timeout may see it twice; the event id (the same on every attempt) lets it drop
the repeat. Nothing is ever dropped by the sender.

Each attempt is signed with its own time: the signature covers "<unix seconds>.<raw body>", so a
captured delivery cannot be sent again later (a receiver refuses one signed more than
REPLAY_WINDOW_S ago) and, within the window, the event id in the signed body names the repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

import httpx

from api.domain import Clock
from api.metrics import ApiMetrics
from api.settings import RetrySettings, WebhookSettings
from api.storage import OutboxItem, Storage

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Wartezone-Signature"
TIMESTAMP_HEADER = "X-Wartezone-Timestamp"
EVENT_HEADER = "X-Wartezone-Event"
DELIVERY_HEADER = "X-Wartezone-Delivery"
CHANNEL = "webhook"
# How old a delivery a receiver still takes, either way (clocks differ a little); also how long it
# remembers the event ids it took, to refuse a captured delivery sent again within the window.
REPLAY_WINDOW_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Wartezone-Signature value: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">,
    timestamp in Unix seconds as sent in X-Wartezone-Timestamp."""
    return _signature(secret, str(timestamp), body)


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float,
    window_s: float = REPLAY_WINDOW_S,
) -> bool:
    """What a receiver checks (the recipe in docs/integration.md also remembers the ids it took):
    the signature, compared in constant time, and its timestamp within window_s of now."""
    if timestamp is None or signature is None or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    expected = _signature(secret, timestamp, body).encode()  # over the header as sent
    return hmac.compare_digest(expected, signature.encode()) and abs(now - int(timestamp)) <= window_s


def backoff_s(attempts: int, retry: RetrySettings) -> float:
    """Wait after the given number of failed attempts: initial, doubling, capped."""
    return float(min(retry.max_s, retry.initial_s * 2 ** min(max(attempts - 1, 0), 40)))


class WebhookWorker:
    def __init__(
        self,
        webhook: WebhookSettings,
        retry: RetrySettings,
        storage: Storage,
        metrics: ApiMetrics,
        clock: Clock,
        client: httpx.AsyncClient,
    ) -> None:
        self.webhook = webhook
        self.retry = retry
        self.storage = storage
        self.metrics = metrics
        self.clock = clock
        self.client = client
        self.wake = asyncio.Event()
        self._failing_since: float | None = None

    async def run(self) -> None:
        while True:
            self.wake.clear()
            item = self.storage.next_undelivered(self.webhook.name)
            if item is None:
                await self.wake.wait()
                continue
            delay = item.next_attempt_at - self.clock.now()
            if delay > 0:
                await asyncio.sleep(min(delay, 1.0))
                continue
            await self.deliver(item)

    async def deliver(self, item: OutboxItem) -> bool:
        body = item.body.encode()
        timestamp = int(self.clock.now())  # this attempt's: a retry is signed afresh
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.webhook.secret.get_secret_value(), timestamp, body),
            EVENT_HEADER: item.type,
            DELIVERY_HEADER: str(item.notification_id),
            "User-Agent": "wartezone-api",
        }
        try:
            response = await self.client.post(
                self.webhook.url, content=body, headers=headers, timeout=self.webhook.timeout_s
            )
            error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__} {exc}".rstrip()
        now = self.clock.now()
        if error is None:
            self.storage.mark_delivered(self.webhook.name, item.notification_id, now)
            self.metrics.notifications_sent.labels(CHANNEL).inc()
            if self._failing_since is not None:
                log.info(
                    "webhook %s: delivering again after %.0f s of failures",
                    self.webhook.name,
                    now - self._failing_since,
                )
                self._failing_since = None
            return True
        wait = backoff_s(item.attempts + 1, self.retry)
        self.storage.mark_failed(self.webhook.name, item.notification_id, error, now + wait)
        self.metrics.notifications_failed.labels(CHANNEL).inc()
        if self._failing_since is None:  # logged once per episode, not once per attempt
            self._failing_since = now
            log.warning(
                "webhook %s: event %d not delivered (%s); retrying with backoff, later events wait",
                self.webhook.name,
                item.notification_id,
                error,
            )
        return False
