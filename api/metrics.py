"""The API's own Prometheus metrics, declared once on the registry it is given.

Names are pinned in wartezone_contract (a Grafana dashboard reads them):
wartezone_alert_state{site,camera,zone,state}, wartezone_alert_raise_level / _clear_level,
wartezone_alerts_fired_total, wartezone_alert_time_to_acknowledge_seconds (histogram),
wartezone_notifications_sent_total / _failed_total{channel}, wartezone_outbox_pending,
wartezone_api_auth_failures_total{kind} (bearer, cookie, login: aggregate, never an address);
per zone the queue figures: wartezone_counters_open, wartezone_counters_needed (and _next_hour),
wartezone_service_rate_per_hour, wartezone_occupancy_forecast (30 minutes ahead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.domain import State, ZoneKey
from api.engine import ZoneView
from api.forecast import NEXT_HOUR_STEPS
from api.queueing import ZoneQueue
from api.security import FAILURE_KINDS, FailureKind
from wartezone_contract import (
    ALERT_CLEAR_LEVEL,
    ALERT_RAISE_LEVEL,
    ALERT_STATE,
    ALERT_TIME_TO_ACKNOWLEDGE,
    ALERTS_FIRED,
    AUTH_FAILURES,
    COUNTERS_NEEDED,
    COUNTERS_NEEDED_NEXT_HOUR,
    COUNTERS_OPEN,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
    OCCUPANCY_FORECAST,
    OUTBOX_PENDING,
    SERVICE_RATE,
    ZONE_LABELS,
)

CHANNELS = ("webhook",)
# Seconds from firing to acknowledgement: from "seen at once" to "nobody looked for an hour or more".
ACKNOWLEDGE_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


class _ZoneStateCollector(Collector):
    """Current state per zone, read at scrape time: 1 for its state, 0 for the other five."""

    def __init__(self) -> None:
        self.zones: Callable[[], list[ZoneView]] = list

    def collect(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            ALERT_STATE,
            "1 for the zone's current alert state, 0 for the others (unknown: camera down).",
            labels=(*ZONE_LABELS, "state"),
        )
        raise_level = GaugeMetricFamily(
            ALERT_RAISE_LEVEL, "People at or above which an alert is raised.", labels=ZONE_LABELS
        )
        clear_level = GaugeMetricFamily(
            ALERT_CLEAR_LEVEL, "People at or below which an alert clears.", labels=ZONE_LABELS
        )
        for view in self.zones():
            labels = list(view.key)
            for value in State:
                state.add_metric([*labels, value.value], 1.0 if view.state is value else 0.0)
            if view.rule is not None:
                raise_level.add_metric(labels, view.rule.raise_level)
                clear_level.add_metric(labels, view.rule.clear_level)
        yield state
        yield raise_level
        yield clear_level


class _QueueCollector(Collector):
    """Per zone, read at scrape time from the figures of the last minute (api/queueing.py): counters
    open and needed, the service rate, the occupancy forecast 30 minutes ahead; a zone without a
    figure has no series (unknown, never 0)."""

    def __init__(self) -> None:
        self.figures: Callable[[], Mapping[ZoneKey, ZoneQueue]] = dict

    def collect(self) -> Iterator[Metric]:
        families = {
            "open": GaugeMetricFamily(
                COUNTERS_OPEN,
                "Counters serving the zone now (set at reception or by the schedule).",
                labels=ZONE_LABELS,
            ),
            "needed": GaugeMetricFamily(
                COUNTERS_NEEDED,
                "Fewest counters that keep the share waiting longer than the rule's target wait under its "
                "level, for the next 30 minutes' forecast arrivals and the people waiting (Erlang C).",
                labels=ZONE_LABELS,
            ),
            "next_hour": GaugeMetricFamily(
                COUNTERS_NEEDED_NEXT_HOUR,
                "Most counters any of the next hour's quarter hours (after the running one) needs for its "
                "forecast arrivals (Erlang C), to staff ahead.",
                labels=ZONE_LABELS,
            ),
            "rate": GaugeMetricFamily(
                SERVICE_RATE,
                "People called per open counter and hour, over the last hour's minutes with someone waiting.",
                labels=ZONE_LABELS,
            ),
            "forecast": GaugeMetricFamily(
                OCCUPANCY_FORECAST,
                "People forecast to wait in the zone 30 minutes from now.",
                labels=ZONE_LABELS,
            ),
        }
        for key, figure in sorted(self.figures().items()):
            labels = list(key)
            values = {
                "open": figure.counters_open,
                "needed": figure.outlook.counters_needed,
                "next_hour": _next_hour(figure),
                "rate": None if figure.service_rate is None else figure.service_rate * 3600,
                "forecast": figure.outlook.occupancy[-1] if figure.outlook.occupancy else None,
            }
            for name, value in values.items():
                if value is not None:
                    families[name].add_metric(labels, float(value))
        yield from families.values()


def _next_hour(figure: ZoneQueue) -> int | None:
    """The most counters a quarter hour of the next hour needs; None where one is not known."""
    steps = (figure.counters_ahead or ())[:NEXT_HOUR_STEPS]
    known = [n for n in steps if n is not None]
    return max(known) if known and len(known) == len(steps) else None


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._state = _ZoneStateCollector()
        registry.register(self._state)
        self._queue = _QueueCollector()
        registry.register(self._queue)
        self.alerts_fired = Counter(ALERTS_FIRED, "Alerts fired per zone.", ZONE_LABELS, registry=registry)
        self.time_to_acknowledge = Histogram(
            ALERT_TIME_TO_ACKNOWLEDGE,
            "Seconds from an alert firing to its acknowledgement, per zone.",
            ZONE_LABELS,
            buckets=ACKNOWLEDGE_BUCKETS,
            registry=registry,
        )
        self.notifications_sent = Counter(
            NOTIFICATIONS_SENT, "Events delivered (2xx answer).", ["channel"], registry=registry
        )
        self.notifications_failed = Counter(
            NOTIFICATIONS_FAILED,
            "Delivery attempts that failed (each is retried; nothing is dropped).",
            ["channel"],
            registry=registry,
        )
        self.outbox_pending = Gauge(
            OUTBOX_PENDING, "Events waiting in the outbox for delivery.", registry=registry
        )
        self.auth_failures = Counter(
            AUTH_FAILURES,
            "Failed token or session checks: bearer (Authorization header), cookie (page session "
            "ended or unknown), login (wrong token on a login form).",
            ["kind"],
            registry=registry,
        )
        for channel in CHANNELS:  # series exist from the start, so increase() sees the first event
            self.notifications_sent.labels(channel)
            self.notifications_failed.labels(channel)
        for kind in FAILURE_KINDS:
            self.auth_failures.labels(kind)

    def attach(
        self,
        zones: Callable[[], list[ZoneView]],
        outbox_pending: Callable[[], int],
        queues: Callable[[], Mapping[ZoneKey, ZoneQueue]] = dict,
    ) -> None:
        """Read the engine's zones, the outbox length and the queue figures at scrape time."""
        self._state.zones = zones
        self._queue.figures = queues
        self.outbox_pending.set_function(lambda: float(outbox_pending()))

    def auth_failed(self, kind: FailureKind) -> None:
        self.auth_failures.labels(kind).inc()

    def zone_seen(self, key: ZoneKey) -> None:
        self.alerts_fired.labels(*key)
        self.time_to_acknowledge.labels(*key)

    def zone_forgotten(self, key: ZoneKey) -> None:
        """A removed zone's series end, rather than stay at their last value."""
        for metric in (self.alerts_fired, self.time_to_acknowledge):
            with contextlib.suppress(KeyError):
                metric.remove(*key)

    def acknowledged(self, key: ZoneKey, fired_at: float, acknowledged_at: float) -> None:
        """fired_at is the edge's frame time, acknowledged_at the API's clock: a box whose clock runs
        ahead must not make a negative time."""
        self.time_to_acknowledge.labels(*key).observe(max(0.0, acknowledged_at - fired_at))
