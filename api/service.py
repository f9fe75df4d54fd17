"""The running service: occupancy input -> alert engine -> storage and outbox -> webhooks and stream.

The one place that knows the order. Everything runs on the event loop's thread, so the engine and
the SQLite connection need no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Literal
from zoneinfo import ZoneInfo

import httpx

from api.domain import Clock, Role, Snapshot, ZoneKey
from api.engine import Alert, AlertEngine, Notice, NoticeType
from api.metrics import ApiMetrics
from api.notify import WebhookWorker
from api.occupancy import OccupancySource, build_source
from api.rules import RuleSpec
from api.schemas import EventPayload, ZoneList, ZoneOut
from api.settings import Settings
from api.storage import Storage
from api.stream import Broker, sse

log = logging.getLogger(__name__)

RETENTION_S = 90 * 86400.0  # delivered events are kept this long for /api/v1/events


class Runtime:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        source: OccupancySource,
        metrics: ApiMetrics,
        clock: Clock,
        input_kind: Literal["scrape", "prometheus", "custom"],
    ) -> None:
        self.settings = settings
        self.input_kind = input_kind
        self.storage = storage
        self.source = source
        self.metrics = metrics
        self.clock = clock
        self.broker = Broker()
        stored = storage.rules()
        self.rule_times = {key: at for key, (_, at) in stored.items()}
        self.engine = AlertEngine(
            ZoneInfo(settings.timezone),
            clock,
            rules={key: rule for key, (rule, _) in stored.items()},
            open_alerts=storage.open_alerts(),
            last_resolved=storage.last_resolved(),
            next_alert_id=storage.next_alert_id(),
        )
        self.webhooks = [w.name for w in settings.webhooks]
        self._client = httpx.AsyncClient()
        self.workers = [
            WebhookWorker(w, settings.retry, storage, metrics, clock, self._client) for w in settings.webhooks
        ]
        self.problems: tuple[str, ...] = ("not read yet",)
        self.last_read_at: float | None = None
        self._zones_json = ""
        self._tasks: list[asyncio.Task[None]] = []
        metrics.attach(self.engine.zones, lambda: storage.outbox_pending(self.webhooks))
        for key in self.engine.rules():
            metrics.zone_seen(key)

    @classmethod
    def open(
        cls, settings: Settings, metrics: ApiMetrics, clock: Clock, source: OccupancySource | None = None
    ) -> Runtime:
        storage = Storage.open(settings.database)
        storage.prune(clock.now() - RETENTION_S)
        if source is None:
            return cls(
                settings, storage, build_source(settings.input, clock), metrics, clock, settings.input.type
            )
        return cls(settings, storage, source, metrics, clock, "custom")

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._poll_forever(), name="occupancy-poll"))
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(worker.run(), name=f"webhook-{worker.webhook.name}"))

    async def stop(self) -> None:
        self.broker.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.source.aclose()
        await self._client.aclose()
        self.storage.close()

    # -- the loop ------------------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        interval = self.settings.input.interval_s
        while True:
            started = time.monotonic()
            try:
                await self.poll_once()
            except Exception:  # a bug in one round must not end the alerts: logged, next round runs
                log.exception("occupancy round failed")
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def poll_once(self) -> list[Notice]:
        snapshot = await self.source.read()
        return self.apply(snapshot)

    def apply(self, snapshot: Snapshot) -> list[Notice]:
        if snapshot.problems and snapshot.problems != self.problems:
            log.warning("occupancy input: %s", "; ".join(snapshot.problems))
        elif self.problems and not snapshot.problems and self.last_read_at is not None:
            log.info("occupancy input: all sources read again")
        self.problems = snapshot.problems
        self.last_read_at = snapshot.taken_at
        for key in snapshot.zones:
            if self.engine.zone(key) is None:
                self.metrics.zone_seen(key)
        notices = self.engine.observe(snapshot)
        self.commit(notices)
        return notices

    def commit(self, notices: list[Notice]) -> None:
        """Store changed alerts and the events in one transaction, then tell webhooks and stream."""
        alerts = self.engine.take_changed_alerts()
        if alerts or notices:
            now = self.clock.now()
            with self.storage.transaction():
                self.storage.save_alerts(alerts)
                stored = [
                    self.storage.add_notification(n.type.value, EventPayload.payload(n), self.webhooks, now)
                    for n in notices
                ]
            for notice, (event_id, body) in zip(notices, stored, strict=True):
                if notice.type is NoticeType.FIRED:
                    self.metrics.alerts_fired.labels(*notice.key).inc()
                self.broker.publish(sse("alert", body, event_id), event_id)
            if notices:
                for worker in self.workers:
                    worker.wake.set()
        self._publish_zones()

    def zones_json(self) -> str:
        return ZoneList(zones=[ZoneOut.of(v) for v in self.engine.zones()]).model_dump_json()

    def _publish_zones(self) -> None:
        text = self.zones_json()
        if text != self._zones_json:
            self._zones_json = text
            self.broker.publish(sse("zones", text))

    def stream_start(self, after_id: int | None) -> list[tuple[int | None, str]]:
        """What a new stream client gets first: missed events (if it says which it saw), then zones."""
        first: list[tuple[int | None, str]] = []
        if after_id is not None:
            for body in self.storage.notifications(after_id, limit=500):
                event_id = int(json.loads(body)["id"])
                first.append((event_id, sse("alert", body, event_id)))
        first.append((None, sse("zones", self.zones_json())))
        return first

    # -- what people do ------------------------------------------------------------------------

    def acknowledge(self, key: ZoneKey, role: Role) -> Alert:
        notice = self.engine.acknowledge(key, role)
        self.commit([notice])
        assert notice.alert is not None
        return notice.alert

    def set_rule(self, key: ZoneKey, rule: RuleSpec) -> float:
        now = self.clock.now()
        self.storage.save_rule(key, rule, now)
        self.rule_times[key] = now
        self.engine.set_rule(key, rule)
        self.metrics.zone_seen(key)
        self._publish_zones()
        return now

    def remove_rule(self, key: ZoneKey) -> bool:
        existed = self.storage.delete_rule(key)
        self.rule_times.pop(key, None)
        self.commit(self.engine.remove_rule(key))
        return existed
