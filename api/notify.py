"""Webhook delivery from the outbox: in order, signed, retried with capped exponential backoff.

Each webhook has its own worker that always sends its oldest undelivered event, and sends the
next only when that one got a 2xx answer: a receiver that is down for minutes gets every event,
in order, once it is back. An event is marked delivered only after the 2xx, so a receiver that
answers after its timeout may see it twice; the event id (the same on every attempt) lets it drop
the repeat. Nothing is ever dropped by the sender.
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
EVENT_HEADER = "X-Wartezone-Event"
DELIVERY_HEADER = "X-Wartezone-Delivery"
CHANNEL = "webhook"


def sign(secret: str, body: bytes) -> str:
    """The X-Wartezone-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does (constant-time comparison)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


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
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.webhook.secret.get_secret_value(), body),
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
