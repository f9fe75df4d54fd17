"""The running service: occupancy input -> alert engine -> storage and outbox -> webhooks and stream;
where it scrapes the edge itself, also the readings per minute for the report.

The one place that knows the order, and the one object the routes speak to, in intents (zones,
rules, acknowledge, alerts, events after an id, the stream, health, report); its storage and engine
stay its own. Everything runs on the event loop's thread, so the engine and the SQLite connection need
no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Literal
from zoneinfo import ZoneInfo

import httpx

from api.counters import CounterSchedule, CounterSetting
from api.directory import UnknownZone, ZoneDirectory
from api.domain import Clock, Role, Snapshot, ZoneKey
from api.engine import Alert, AlertEngine, Notice, NoticeType, ZoneView
from api.metrics import ApiMetrics
from api.notify import WebhookWorker
from api.occupancy import OccupancySource, build_source
from api.queueing import QueueWatch, ZoneQueue
from api.readings import MINUTE_S, MinuteReadings
from api.report import FigureSource, PrometheusRanges, Span, StoredReadings, build_report
from api.rules import Rule, RuleSpec, TooManyRules
from api.schemas import EventPayload, Health, Report, ZoneList, ZoneOut, utc
from api.settings import PrometheusInput, Settings
from api.storage import Storage
from api.stream import Broker, sse

log = logging.getLogger(__name__)

RETENTION_S = 90 * 86400.0  # delivered events are kept this long for /api/v1/events
DAY_S = 86400.0
PRUNE_EVERY_S = 3600.0  # stored readings past their retention go within the hour


class UnknownSite(Exception):
    """A report for a site the API knows nothing of; the message names the nearest one it knows."""


class StillReported(Exception):
    """A zone an edge box still reports cannot be removed here: it would come back at the next read."""


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
        self._settings = settings
        self._input_kind = input_kind
        self._storage = storage
        self._source = source
        self._metrics = metrics
        self._clock = clock
        self._broker = Broker()
        self._engine = AlertEngine(
            ZoneInfo(settings.timezone),
            clock,
            rules=storage.rule_specs,  # the storage owns the rules; the engine asks it
            open_alerts=storage.open_alerts(),
            last_resolved=storage.last_resolved(),
            next_alert_id=storage.next_alert_id(),
        )
        self._directory = ZoneDirectory()
        self._webhooks = [w.name for w in settings.webhooks]
        self._client = httpx.AsyncClient()
        self._workers = [
            WebhookWorker(w, settings.retry, storage, metrics, clock, self._client) for w in settings.webhooks
        ]
        self._problems: tuple[str, ...] = ("not read yet",)
        self._last_read_at: float | None = None
        self._recent_exits: dict[ZoneKey, float] = {}
        self._room_members: dict[ZoneKey, tuple[ZoneKey, ...]] = {}  # rooms added up across boxes
        # Prometheus keeps the history where it is read; elsewhere the API stores its own minutes.
        self._figures: FigureSource
        self._readings: MinuteReadings | None = None
        if isinstance(settings.input, PrometheusInput) and input_kind == "prometheus":
            self._figures = PrometheusRanges(settings.input.url)
        else:
            self._figures = StoredReadings(storage)
            self._readings = MinuteReadings()
        self._readings_pruned_at = clock.now()  # Runtime.open has just pruned them
        self._zones_json = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._queue = QueueWatch(storage, ZoneInfo(settings.timezone))
        self._queue_minute: int | None = None
        metrics.attach(
            self._engine.zones, lambda: storage.outbox_pending(self._webhooks), lambda: self._queue.figures
        )
        for rule in storage.rules():
            metrics.zone_seen(rule.key)

    @classmethod
    def open(
        cls, settings: Settings, metrics: ApiMetrics, clock: Clock, source: OccupancySource | None = None
    ) -> Runtime:
        storage = Storage.open(settings.database)
        storage.prune(clock.now() - RETENTION_S)
        storage.prune_readings(clock.now() - settings.readings.retention_days * DAY_S)
        if source is None:
            source = build_source(settings.input, clock, settings.limits)
            return cls(settings, storage, source, metrics, clock, settings.input.type)
        return cls(settings, storage, source, metrics, clock, "custom")

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._poll_forever(), name="occupancy-poll"))
        for worker in self._workers:
            self._tasks.append(asyncio.create_task(worker.run(), name=f"webhook-{worker.webhook.name}"))

    async def stop(self) -> None:
        self._broker.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._readings is not None:  # the minute so far; a restart within it adds to it
            with self._storage.transaction():
                self._storage.save_readings(self._readings.take())
        await self._source.aclose()
        await self._figures.aclose()
        await self._client.aclose()
        self._storage.close()

    # -- what people ask -----------------------------------------------------------------------

    def zones(self) -> list[ZoneOut]:
        """Every zone listed: those the edge boxes report (or reported) and those with a rule."""
        return [
            ZoneOut.of(
                view,
                self._directory.entry(view.key),
                self._recent_exits.get(view.key),
                self._queue.figures.get(view.key),
                self._room_members.get(view.key),
            )
            for view in self._engine.zones()
        ]

    def zone(self, key: ZoneKey) -> ZoneOut | None:
        view = self._engine.zone(key)
        if view is None:
            return None
        return ZoneOut.of(
            view,
            self._directory.entry(key),
            self._recent_exits.get(key),
            self._queue.figures.get(key),
            self._room_members.get(key),
        )

    def counters(self, key: ZoneKey) -> tuple[ZoneQueue, list[CounterSetting]]:
        """The zone's counters open now (figures as of now) and its settings: the last number and
        the last schedule. Raises UnknownZone for a zone that is not listed."""
        view = self._listed(key)
        now = self._clock.now()
        self._queue.refresh_counters(view, now)
        return self._queue.figures[key], self._storage.counter_settings(key, since=now)

    def set_counters(self, key: ZoneKey, counters: int, role: Role) -> tuple[ZoneQueue, list[CounterSetting]]:
        """Counters open now, set at reception (or by the lead): they hold until the schedule's next
        change. Raises UnknownZone for a zone that is not listed."""
        self._listed(key)
        with self._storage.transaction():
            self._storage.add_counter_setting(key, CounterSetting(self._clock.now(), role, counters))
        result = self.counters(key)
        self._queue_minute = None  # the advice anew at the next read, with the new number
        self._publish_zones()
        return result

    def set_counter_schedule(
        self, key: ZoneKey, schedule: CounterSchedule
    ) -> tuple[ZoneQueue, list[CounterSetting]]:
        """The lead's weekly schedule, the default from now on. Raises UnknownZone as set_counters."""
        self._listed(key)
        with self._storage.transaction():
            self._storage.add_counter_setting(
                key, CounterSetting(self._clock.now(), Role.LEAD, schedule=schedule)
            )
        result = self.counters(key)
        self._queue_minute = None
        self._publish_zones()
        return result

    def counter_history(self, key: ZoneKey, limit: int = 100) -> list[CounterSetting]:
        """The zone's counter settings, newest first. Raises UnknownZone as set_counters."""
        self._listed(key)
        return self._storage.counter_settings(key, limit=limit)[::-1]

    def _listed(self, key: ZoneKey) -> ZoneView:
        view = self._engine.zone(key)
        if view is None:
            raise UnknownZone(f"no zone {key}: it has no rule and no edge box reports it")
        return view

    def rules(self) -> list[Rule]:
        return self._storage.rules()

    def rule(self, key: ZoneKey) -> Rule | None:
        return self._storage.rule(key)

    def alerts(
        self,
        site: str | None = None,
        camera: str | None = None,
        zone: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[Alert]:
        """Alert history, newest first; site, camera and zone filter when given."""
        return self._storage.alerts({"site": site, "camera": camera, "zone": zone}, limit, before_id)

    def events_after(self, after_id: int, limit: int = 100) -> list[EventPayload]:
        """Events as the webhooks get them, oldest first."""
        return [
            EventPayload.model_validate_json(body) for body in self._storage.notifications(after_id, limit)
        ]

    def stream(self, after_id: int | None) -> AsyncIterator[str]:
        """One client's Server-Sent Events: missed events (if it says which it saw), zones, then live."""
        return self._broker.stream(lambda: self._stream_start(after_id))

    async def report(self, site: str, span: Span) -> Report:
        """Per zone of the site and step: counts, Little's law, minutes at the raise level, alerts.
        Raises UnknownSite for a site no edge box, rule, alert or stored reading names; ReportProblem
        for more rows than a report holds; ReportUnavailable when Prometheus cannot answer."""
        figures = await self._figures.figures(site, span)
        alerts = self._storage.alert_counts(site, span.start, span.step_s, span.steps)
        sites = {view.key.site for view in self._engine.zones()} | self._storage.sites()
        if not figures and not alerts and site not in sites:  # a typo, rather than a quiet range
            close = difflib.get_close_matches(site, sorted(sites), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(sites)) or 'none'}"
            raise UnknownSite(f"no zone of site {site!r} is known: {hint}")
        tz = ZoneInfo(self._settings.timezone)
        counters = {key: self._storage.counter_settings(key) for key in self._storage.counter_zones()}
        return build_report(
            site,
            span,
            tz,
            self._figures.kind,
            figures,
            alerts,
            self._directory.name,
            {key: found for key, found in counters.items() if key.site == site},
            self._storage.rule_specs(),
        )

    def health(self) -> Health:
        return Health(
            status="degraded" if self._problems else "ok",
            input=self._input_kind,
            problems=list(self._problems),
            last_read_at=utc(self._last_read_at),
            outbox_pending=self._storage.outbox_pending(self._webhooks),
        )

    # -- what people do ------------------------------------------------------------------------

    def acknowledge(self, key: ZoneKey, role: Role) -> Alert:
        notice = self._engine.acknowledge(key, role)
        self._commit([notice])
        assert notice.alert is not None
        return notice.alert

    def set_rule(self, key: ZoneKey, spec: RuleSpec) -> Rule:
        """Raises UnknownZone for a zone no edge box reports (a typo): it would never be counted;
        TooManyRules for a new rule beyond limits.rules."""
        if self._storage.rule(key) is None:
            self._directory.check_exists(key)
            limit = self._settings.limits.rules
            if len(self._storage.rule_specs()) >= limit:
                raise TooManyRules(
                    f"{limit} rules are set, as many as limits.rules allows: remove one or raise the limit"
                )
        rule = self._storage.save_rule(key, spec, self._clock.now())
        self._engine.rule_set(key)
        self._queue_minute = None  # the queue figures anew at the next read, with the new rule
        self._metrics.zone_seen(key)
        self._publish_zones()
        return rule

    def remove_rule(self, key: ZoneKey) -> bool:
        existed = self._storage.delete_rule(key)
        self._commit(self._engine.rule_removed(key))
        return existed

    def remove_zone(self, key: ZoneKey) -> bool:
        """Forget a zone the edge boxes no longer report, with its rule (its open alert ends).
        False: no such zone is listed. Raises StillReported while an edge box reports it."""
        entry = self._directory.entry(key)
        if entry is not None and entry.reported:
            raise StillReported(
                f"zone {key} is still reported by its edge box; remove it from the edge config first"
            )
        if entry is None and not self._engine.knows(key):
            return False
        self._storage.delete_rule(key)
        notices = self._engine.rule_removed(key)
        self._engine.forget(key)
        self._directory.forget(key)
        self._metrics.zone_forgotten(key)
        self._commit(notices)
        return True

    def test_alarm(self, key: ZoneKey) -> EventPayload:
        """A marked test event (alert.test) to reception and every webhook; no alert, no state change.
        Raises UnknownZone for a zone that is not listed."""
        view = self._engine.zone(key)
        if view is None:
            raise UnknownZone(f"no zone {key}: it has no rule and no edge box reports it")
        notice = Notice(
            NoticeType.TEST,
            key,
            self._clock.now(),
            None,
            view.state,
            view.occupancy,
            view.rule,
            None,
            "test alarm from the branch lead",
            partial=view.partial,
        )
        [(_, body)] = self._commit([notice])
        return EventPayload.model_validate_json(body)

    # -- the loop ------------------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        interval = self._settings.input.interval_s
        while True:
            started = time.monotonic()
            try:
                await self.poll_once()
            except Exception:  # a bug in one round must not end the alerts: logged, next round runs
                log.exception("occupancy round failed")
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def poll_once(self) -> list[Notice]:
        snapshot = await self._source.read()
        return self.apply(snapshot)

    def apply(self, snapshot: Snapshot) -> list[Notice]:
        if snapshot.problems and snapshot.problems != self._problems:
            log.warning("occupancy input: %s", "; ".join(snapshot.problems))
        elif self._problems and not snapshot.problems and self._last_read_at is not None:
            log.info("occupancy input: all sources read again")
        self._problems = snapshot.problems
        self._last_read_at = snapshot.taken_at
        self._recent_exits = snapshot.recent_exits
        self._room_members = snapshot.room_members
        self._directory.observe(snapshot)
        for key in {*snapshot.zones, *snapshot.reported}:
            if not self._engine.knows(key):
                self._metrics.zone_seen(key)
        notices = self._engine.observe(snapshot)
        self._record(snapshot)
        try:
            notices += self._foresee(snapshot.taken_at)
        except Exception:  # the alerts never wait on the forecast: logged, this minute has none
            log.exception("queue figures failed")
        self._commit(notices)
        return notices

    def _foresee(self, at: float) -> list[Notice]:
        """Once a minute: every zone's queue figures, and the early warning into the engine."""
        minute = int(at // MINUTE_S)
        if minute == self._queue_minute:
            return []
        self._queue_minute = minute
        # Zones with a rule or counters only: the figures read weeks of stored minutes per zone,
        # which an edge reporting thousands of zones (a misconfiguration) must not multiply.
        counted = set(self._storage.counter_zones())
        views = [view for view in self._engine.zones() if view.rule is not None or view.key in counted]
        figures = self._queue.minute(views, at, self._readings is not None)
        notices: list[Notice] = []
        for key, figure in figures.items():
            notices += self._engine.foresee(key, figure.outlook.warning_s, at)
        return notices

    def _record(self, snapshot: Snapshot) -> None:
        """The read into its minute; a finished minute into the database; old minutes out."""
        if self._readings is None:
            return
        rules = self._storage.rule_specs()
        occupancy = {
            key: (reading.occupancy, rules[key].raise_level if key in rules else None)
            for key, reading in snapshot.zones.items()
        }
        partial = {key for key, reading in snapshot.zones.items() if reading.partial}
        finished = self._readings.add(
            snapshot.taken_at, occupancy, snapshot.entries_total, snapshot.exits_total, partial
        )
        now = self._clock.now()
        if finished or now - self._readings_pruned_at >= PRUNE_EVERY_S:
            with self._storage.transaction():
                self._storage.save_readings(finished)
                if now - self._readings_pruned_at >= PRUNE_EVERY_S:
                    self._storage.prune_readings(now - self._settings.readings.retention_days * DAY_S)
                    self._readings_pruned_at = now

    def _commit(self, notices: list[Notice]) -> list[tuple[int, str]]:
        """Store changed alerts and the events in one transaction, then tell webhooks and stream.
        Returns each event's id and JSON body."""
        alerts = self._engine.take_changed_alerts()
        stored: list[tuple[int, str]] = []
        if alerts or notices:
            now = self._clock.now()
            with self._storage.transaction():
                self._storage.save_alerts(alerts)
                stored = [
                    self._storage.add_notification(
                        n.type.value,
                        EventPayload.payload(n, self._directory.name(n.key)),
                        self._webhooks,
                        now,
                    )
                    for n in notices
                ]
            for notice, (event_id, body) in zip(notices, stored, strict=True):
                if notice.type is NoticeType.FIRED:
                    self._metrics.alerts_fired.labels(*notice.key).inc()
                elif notice.type is NoticeType.ACKNOWLEDGED and notice.alert is not None:
                    alert = notice.alert
                    assert alert.acknowledged_at is not None
                    self._metrics.acknowledged(notice.key, alert.fired_at, alert.acknowledged_at)
                self._broker.publish(sse("alert", body, event_id), event_id)
            if notices:
                for worker in self._workers:
                    worker.wake.set()
        self._publish_zones()
        return stored

    def zone_list(self) -> ZoneList:
        """Every zone now, and what the input could not read (a page's "counting down")."""
        problems = list(self._problems) if self._last_read_at is not None else []  # none before a read
        return ZoneList(zones=self.zones(), problems=problems)

    def _zones_text(self) -> str:
        return self.zone_list().model_dump_json()

    def _publish_zones(self) -> None:
        text = self._zones_text()
        if text != self._zones_json:
            self._zones_json = text
            self._broker.publish(sse("zones", text))

    def _stream_start(self, after_id: int | None) -> list[tuple[int | None, str]]:
        """What a new stream client gets first: missed events (if it says which it saw), then zones."""
        first: list[tuple[int | None, str]] = []
        if after_id is not None:
            for body in self._storage.notifications(after_id, limit=500):
                event_id = int(json.loads(body)["id"])
                first.append((event_id, sse("alert", body, event_id)))
        first.append((None, sse("zones", self._zones_text())))
        return first
