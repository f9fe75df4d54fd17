"""Request and response bodies of the API, the webhook/stream event and the one error body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.counters import CounterSchedule, CounterSetting
from api.directory import ZoneEntry
from api.domain import Role, State, Unknown, ZoneKey
from api.engine import Alert, EndReason, Notice, NoticeType, ZoneView
from api.forecast import ForecastSettings
from api.queueing import ZoneQueue
from api.rules import Count, Rule, RuleSpec
from wartezone_contract import MAX_COUNTERS, OCCUPANCY_FORECAST_STEP_S, expected_wait_s

Scalar = int | float | str | bool | None


def utc(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldProblem(Out):
    path: str = Field(description="Where: body.raise_level, query.limit, path.zone ...")
    message: str
    type: str | None = Field(
        None,
        description="The kind of problem, stable for translations: missing, greater_than_equal, "
        "less_than_equal, int_from_float, string_pattern_mismatch ...",
    )
    context: dict[str, Scalar] | None = Field(
        None, description='The numbers the message names, e.g. {"ge": 1} for greater_than_equal.'
    )


class ErrorInfo(Out):
    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(description="Stable machine-readable code, e.g. not_found, forbidden.")
    message: str = Field(description="What went wrong, for a person.")
    fields: list[FieldProblem] = Field(default_factory=list, description="Invalid input, one per field.")


class ErrorBody(Out):
    """Every error answer has this shape."""

    error: ErrorInfo


class ZoneRef(Out):
    site: str
    camera: str
    zone: str


class AlertOut(ZoneRef):
    """One alert event: when it started and fired, its peak, who acknowledged it (a role), its end."""

    id: int
    raise_level: int = Field(description="The raise level it fired at.")
    started_at: datetime = Field(description="First reading at or above the raise level.")
    fired_at: datetime
    peak_occupancy: float
    acknowledged_at: datetime | None
    acknowledged_by: Role | None
    ended_at: datetime | None
    end_reason: EndReason | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(
            site=alert.key.site,
            camera=alert.key.camera,
            zone=alert.key.zone,
            id=alert.id,
            raise_level=alert.raise_level,
            started_at=datetime.fromtimestamp(alert.started_at, UTC),
            fired_at=datetime.fromtimestamp(alert.fired_at, UTC),
            peak_occupancy=alert.peak_occupancy,
            acknowledged_at=utc(alert.acknowledged_at),
            acknowledged_by=alert.acknowledged_by,
            ended_at=utc(alert.ended_at),
            end_reason=alert.end_reason,
        )


class RuleOut(RuleSpec, ZoneRef):
    """A stored rule: its zone, what the lead set (the body of the PUT) and when."""

    updated_at: datetime

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        return cls(
            site=rule.key.site,
            camera=rule.key.camera,
            zone=rule.key.zone,
            updated_at=datetime.fromtimestamp(rule.updated_at, UTC),
            **rule.spec.model_dump(),
        )


class ZoneOut(ZoneRef):
    """A zone now. occupancy is null while unknown: never read a missing value as 0."""

    name: str = Field(description="Display name from the edge config (the zone id where none is set).")
    state: State
    since: datetime | None = Field(description="When the zone entered this state.")
    occupancy: float | None
    partial: bool = Field(
        description='The count is a lower bound: a room (camera "floor") with one of its cameras down or '
        'late, or a room added across boxes with a member zone unknown. Show it as "at least" the '
        "occupancy. An alert may fire on it, never end on it."
    )
    members: list[str] | None = Field(
        description="A room whose cameras are on different edge boxes: the zones (site/camera/zone) the "
        "API adds up for it, whose areas must not overlap (a person in two of them counts twice). "
        "Null for a zone or a room an edge box counts itself."
    )
    observed_at: datetime | None = Field(description="Time of the last reading (the edge's frame time).")
    reason: str | None = Field(description="Why the zone is unknown, technically (camera down, ...).")
    reason_kind: Unknown | None = Field(description="Why the zone is unknown, as a kind to put into words.")
    reported: bool = Field(
        description="In the latest answer of its edge box (false: removed or renamed there)."
    )
    last_reported_at: datetime | None = Field(description="When an edge box last reported it (API clock).")
    in_opening_hours: bool | None = Field(description="Null without a rule.")
    raise_level: int | None
    clear_level: int | None
    over_since: datetime | None = Field(
        description="First reading of the current run at or above the raise level (edge time)."
    )
    alert_at: datetime | None = Field(
        description="Pending, or over the level in the cooldown: when the alert fires if the zone stays "
        "at or above the raise level (edge time)."
    )
    pause_until: datetime | None = Field(
        description="Resolved: the end of the cooldown, in which no new alert fires (edge time)."
    )
    clear_at: datetime | None = Field(
        description="An open alert whose count is at or below the clear level: when it ends if the "
        "count stays there (min_below_s after the count fell, edge time)."
    )
    alert: AlertOut | None = Field(description="The open alert, if any.")
    expected_wait_s: float | None = Field(
        description="Expected wait in seconds for someone arriving now: people waiting now / people "
        "who left in the last 15 minutes (docs: Wait figures). Null (unknown, never 0) while the "
        "count is unknown or partial, with fewer than 3 who left, or before the input has 15 minutes "
        "of them."
    )

    counters_open: int | None = Field(
        description="Counters serving the zone now: the number set at reception (it holds until the "
        "schedule's next change), else the lead's weekly schedule; null with neither."
    )
    counters_needed: int | None = Field(
        description="Fewest counters that keep the share of people waiting longer than the rule's "
        "target_wait_min at or under max_share_over_target, for the next 30 minutes' forecast "
        "arrivals and the people waiting now (Erlang C). Null while the forecast or the service "
        "rate is unknown."
    )
    warning: WarningOut | None = Field(
        description='The early warning ("filling up", state warning): null when the zone is not warned.'
    )
    forecast: ForecastOut | None = Field(
        description="The zone's forecast as of the last whole minute; null without stored readings (the "
        "API scrapes the edge itself) or while too few days are stored: it shows once the same weekday "
        "and time lies on 2 earlier weeks, or the same time on 3 earlier days of the same kind "
        "(workdays, weekends), so from the 4th day of counting on."
    )

    @classmethod
    def of(
        cls,
        view: ZoneView,
        entry: ZoneEntry | None,
        recent_exits: float | None = None,
        queue: ZoneQueue | None = None,
        members: tuple[ZoneKey, ...] | None = None,
    ) -> ZoneOut:
        """recent_exits: people who left the zone in the expected wait's window, where known;
        queue: the zone's queue figures of the last minute; members: the zones a room across
        boxes adds up."""
        rule = view.rule
        pause_until = None
        if rule is not None and view.state is State.RESOLVED and view.resolved_at is not None:
            pause_until = view.resolved_at + rule.cooldown_s
        alert_at = None
        if rule is not None and view.above_since is not None and view.alert is None:
            alert_at = max(view.above_since + rule.min_above_s, pause_until or -1.0)
        clear_at = None
        if rule is not None and view.alert is not None and view.below_since is not None:
            clear_at = view.below_since + rule.min_below_s
        expected = None
        counted = view.state is not State.UNKNOWN and not view.partial  # a partial count would read short
        if counted and view.occupancy is not None and recent_exits is not None:
            expected = expected_wait_s(view.occupancy, recent_exits)
        return cls(
            site=view.key.site,
            camera=view.key.camera,
            zone=view.key.zone,
            name=view.key.zone if entry is None else entry.name,
            state=view.state,
            since=utc(view.since),
            occupancy=view.occupancy,
            partial=view.partial,
            members=None if members is None else [str(key) for key in members],
            observed_at=utc(view.observed_at),
            reason=None if view.why is None else view.why.detail,
            reason_kind=None if view.why is None else view.why.kind,
            reported=entry is not None and entry.reported,
            last_reported_at=None if entry is None else utc(entry.last_reported_at),
            in_opening_hours=view.open_now,
            raise_level=rule.raise_level if rule else None,
            clear_level=rule.clear_level if rule else None,
            over_since=utc(view.above_since),
            alert_at=utc(alert_at),
            pause_until=utc(pause_until),
            clear_at=utc(clear_at),
            alert=AlertOut.of(view.alert) if view.alert else None,
            expected_wait_s=_whole(expected),
            counters_open=None if queue is None else queue.counters_open,
            counters_needed=None if queue is None else queue.outlook.counters_needed,
            warning=WarningOut.of(view, queue),
            forecast=ForecastOut.of(queue),
        )


class ArrivalStep(Out):
    start: datetime
    arrivals: float = Field(description="People forecast to arrive in the 15 minutes from start.")


class CountersStep(Out):
    start: datetime
    counters: int | None = Field(
        description="Counters the 15 minutes from start need for the arrivals forecast in them (Erlang C); "
        "null: more than any branch has."
    )


class WarningOut(Out):
    """The early warning: the occupancy forecast reaches the raise level soon."""

    since: datetime | None = Field(description="When the warning began.")
    until: datetime | None = Field(
        description="It holds until then unless the forecast warns again (10 minutes after the last "
        "minute that warned), the alert fires or the zone closes."
    )
    reaches_raise_level_in_s: float | None = Field(
        description="Seconds until the forecast reaches the raise level, as of the last minute; null when "
        "that minute's forecast did not warn (the warning is held)."
    )

    @classmethod
    def of(cls, view: ZoneView, queue: ZoneQueue | None) -> WarningOut | None:
        if view.state is not State.WARNING:
            return None
        reach = None if queue is None else queue.outlook.warning_s
        return cls(since=utc(view.since), until=utc(view.warned_until), reaches_raise_level_in_s=reach)


class ForecastOut(Out):
    """What the next half hour and two hours hold (docs: Counters and forecast). Null parts:
    not known."""

    at: datetime = Field(description="The minute the figures are of.")
    arrivals: list[ArrivalStep] | None = Field(
        description="Arrivals in 15-minute steps for the next two hours, from the step running now: the "
        "same weekday's profile (recent weeks weigh more, public holidays and closed dates left out) "
        "scaled by how today runs so far."
    )
    basis: Literal["weekday", "day"] | None = Field(
        description="weekday: the same weekday's profile; day: the same time on recent days "
        "(fewer weeks known)."
    )
    today_ratio: float | None = Field(
        description="Today's arrivals against the profile so far (1: as usual)."
    )
    surge_ratio: float | None = Field(
        description="The last half hour's arrivals against what the forecast expected of it, where they "
        "lie clearly above it (a surge: the occupancy forecast and the counters needed take the half "
        "hour ahead at their rate); 1: no surge."
    )
    service_rate_per_hour: float | None = Field(
        description="People called per open counter and hour over the last hour's minutes with someone "
        "waiting (the last one known); null with fewer than 5 such calls."
    )
    arrivals_in_30_min: float | None = Field(
        description="People forecast to arrive in the next 30 minutes: the arrival rates the occupancy "
        "forecast and the counters needed run on (a surge included)."
    )
    occupancy_in_30_min: float | None = Field(
        description="People forecast to wait 30 minutes from now (fluid queue with the counters open)."
    )
    occupancy: list[float] | None = Field(
        description="People forecast to wait at the end of each of the next 30 minutes."
    )
    counters_by_step: list[CountersStep] | None = Field(
        description="For staffing ahead: the counters each 15-minute step after the running one needs for "
        "its forecast arrivals (the surge's rate within the half hour ahead), by the zone's target wait "
        "and share; the people waiting now are the advice's (counters_needed)."
    )

    @classmethod
    def of(cls, queue: ZoneQueue | None) -> ForecastOut | None:
        if queue is None or (queue.arrivals is None and queue.service_rate is None):
            return None
        step = ForecastSettings().step_s
        start = queue.arrivals_start

        def at(index: int) -> datetime:  # the forecast's step `index` begins
            assert start is not None
            return datetime.fromtimestamp(start + index * step, UTC)

        arrivals = by_step = None
        if queue.arrivals is not None and start is not None:
            counts = queue.arrivals.counts
            arrivals = [ArrivalStep(start=at(i), arrivals=round(n, 2)) for i, n in enumerate(counts)]
        if queue.counters_ahead is not None and start is not None:
            by_step = [CountersStep(start=at(i + 1), counters=n) for i, n in enumerate(queue.counters_ahead)]
        path = queue.outlook.occupancy
        rates = queue.outlook.arrival_rates
        return cls(
            at=datetime.fromtimestamp(queue.at, UTC),
            arrivals=arrivals,
            basis=None if queue.arrivals is None else queue.arrivals.basis,
            today_ratio=None if queue.arrivals is None else round(queue.arrivals.today_ratio, 3),
            surge_ratio=None if rates is None else round(queue.outlook.surge, 3),
            service_rate_per_hour=None if queue.service_rate is None else round(queue.service_rate * 3600, 2),
            arrivals_in_30_min=None if rates is None else round(sum(rates) * OCCUPANCY_FORECAST_STEP_S, 1),
            occupancy_in_30_min=round(path[-1], 1) if path else None,
            occupancy=[round(p, 1) for p in path] if path else None,
            counters_by_step=by_step,
        )


class CountersIn(BaseModel):
    """Counters open now, set at reception: they hold until the schedule's next change."""

    model_config = ConfigDict(extra="forbid")
    counters: Count = Field(ge=0, le=MAX_COUNTERS, description="Counters open now.")


class CounterChangeOut(Out):
    """One change of a zone's counters: a number set now, or a weekly schedule saved."""

    at: datetime
    set_by: Role = Field(description="desk or lead (a schedule is always the lead's).")
    counters: int | None = Field(description="The number set now; null for a schedule.")
    schedule: CounterSchedule | None = Field(description="The schedule saved; null for a number.")

    @classmethod
    def of(cls, setting: CounterSetting) -> CounterChangeOut:
        return cls(
            at=datetime.fromtimestamp(setting.at, UTC),
            set_by=setting.set_by,
            counters=setting.counters,
            schedule=setting.schedule,
        )


class CountersOut(ZoneRef):
    """A zone's counters now, and what decides them."""

    counters_open: int | None = Field(
        description="Counters open now; null: neither a number nor a schedule is set."
    )
    holds_until: datetime | None = Field(
        description="A number set now holds until the schedule's next change, then the schedule applies "
        "again; null without a schedule (the number holds until the next is set)."
    )
    last_set: CounterChangeOut | None = Field(description="The last number set now, if any.")
    schedule: CounterChangeOut | None = Field(description="The weekly schedule in force, if any.")

    @classmethod
    def of(cls, key: ZoneKey, queue: ZoneQueue, settings: list[CounterSetting]) -> CountersOut:
        number = next((s for s in reversed(settings) if s.counters is not None), None)
        plan = next((s for s in reversed(settings) if s.schedule is not None), None)
        return cls(
            site=key.site,
            camera=key.camera,
            zone=key.zone,
            counters_open=queue.counters_open,
            holds_until=utc(queue.counters_until),
            last_set=None if number is None else CounterChangeOut.of(number),
            schedule=None if plan is None else CounterChangeOut.of(plan),
        )


def _whole(seconds: float | None) -> float | None:
    """Whole seconds: a figure that moves by a fraction is no news for a screen."""
    return None if seconds is None else float(round(seconds))


class ZoneList(Out):
    zones: list[ZoneOut]
    problems: list[str] = Field(
        default_factory=list, description="What the last read of the occupancy input could not do."
    )


class EventPayload(ZoneRef):
    """The body of every webhook POST and of every `alert` event on the stream.

    Signed with X-Wartezone-Signature: sha256=<hex HMAC-SHA256 of "<X-Wartezone-Timestamp>.<raw
    body>", key: the shared secret>, the timestamp that of the attempt. `id` increases by one per
    event and is the same on every retry: a receiver that keeps the last id it handled drops a
    repeat, and sees a gap only if events were pruned.
    """

    id: int = Field(description="Event number; increasing, the same on every retry.")
    type: NoticeType = Field(
        description="alert.test: the branch lead's test alarm; nothing to do. zone.filling_up: the early "
        "warning began (state warning): the occupancy forecast reaches the raise level within the rule's "
        "warn_ahead_min; it ends with alert.fired, or quietly when the forecast falls back (the zone's "
        "state returns to ok) or the zone closes."
    )
    name: str = Field(description="The zone's display name from the edge config (the id where none is set).")
    at: datetime = Field(description="When it happened (the edge's frame time for readings).")
    since: datetime | None = Field(
        description="Start of the readings that caused it (fired: first at/above the raise level; "
        "resolved: first at/below the clear level)."
    )
    state: State = Field(description="The zone's state after the event.")
    occupancy: float | None = Field(description="People in the zone; null while unknown.")
    partial: bool = Field(
        False,
        description='The occupancy is a lower bound: a room (camera "floor") lacking a camera, or '
        'added up across boxes with a zone of it unknown. Say "at least".',
    )
    raise_level: int | None
    clear_level: int | None
    reason: str | None = Field(description="zone.unknown: why; alert.resolved: the end reason.")
    alert: AlertOut | None

    @classmethod
    def payload(cls, notice: Notice, name: str) -> dict[str, object]:
        """The event without its id (the outbox numbers it), as JSON-ready values."""
        body = {
            "type": notice.type.value,
            "at": datetime.fromtimestamp(notice.at, UTC),
            "site": notice.key.site,
            "camera": notice.key.camera,
            "zone": notice.key.zone,
            "name": name,
            "since": utc(notice.since),
            "state": notice.state.value,
            "occupancy": notice.occupancy,
            "partial": notice.partial,
            "raise_level": notice.rule.raise_level if notice.rule else None,
            "clear_level": notice.rule.clear_level if notice.rule else None,
            "reason": notice.reason,
            "alert": AlertOut.of(notice.alert) if notice.alert else None,
        }
        return cls.model_validate({"id": 0, **body}).model_dump(mode="json", exclude={"id"})


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=512, description="A desk or lead token.")


class SessionOut(Out):
    role: Role
    renew_after_s: float = Field(
        description="Renew the session (POST /api/v1/session/renew) within this many seconds: the "
        "cookie expires later, so a page that stays open stays logged in."
    )


class Health(Out):
    status: Literal["ok", "degraded"]
    input: Literal["scrape", "prometheus", "custom"]
    problems: list[str] = Field(description="What the last read of the occupancy input could not do.")
    last_read_at: datetime | None
    outbox_pending: int


class ReportRow(ZoneRef):
    """One zone in one step of the report. Null: not known for that step (never read as 0)."""

    name: str = Field(description="Display name from the edge config (the zone id where none is set).")
    start: datetime = Field(description="The step's start (the API's time zone).")
    end: datetime
    occupancy_mean: float | None = Field(description="People in the zone on average over the counted time.")
    occupancy_peak: float | None = Field(description="Most people counted at once.")
    entries: float | None = Field(description="People who came in.")
    exits: float | None = Field(description="People who left.")
    little_wait_s: float | None = Field(
        description="Waited lately by Little's law over the step: mean occupancy x step / entries, in "
        "seconds; null with fewer than 5 entries (docs: Wait figures)."
    )
    minutes_at_raise_level: float | None = Field(
        description="Minutes at or above the zone's raise level; null while the zone had no rule."
    )
    alerts_fired: int = Field(description="Staffing alerts that fired in the step.")
    alerts_acknowledged: int = Field(description="Of those, how many were acknowledged (at any time).")
    counters_open: float | None = Field(
        None, description="Counters open on average over the step (set at reception or by the schedule)."
    )
    counters_needed: int | None = Field(
        None,
        description="The fewest counters that would have kept the share waiting longer than the rule's "
        "target_wait_min at or under max_share_over_target for the step's arrivals (entries), at the "
        "step's service rate (exits per open counter); null while either is unknown (docs: Counters "
        "and forecast).",
    )


class Report(Out):
    """Per zone and step, what a branch lead files. The expected wait is a figure for "now" and is
    not in it; the wait of a past step is Little's law."""

    site: str
    start: datetime
    end: datetime
    step: str = Field(description="As asked, e.g. 1h.")
    step_s: int
    time_zone: str = Field(description="The time zone of the times (the API's `timezone` setting).")
    source: Literal["readings", "prometheus"] = Field(
        description="readings: the API's own stored minutes (it scrapes the edge itself); prometheus: "
        "range queries to the Prometheus server it reads."
    )
    complete: bool = Field(
        description="False: the range asked for holds more steps or rows than one report; this one "
        "ends at `end`, and a report from there gives the rest."
    )
    rows: list[ReportRow] = Field(description="Zone by zone, each zone's steps in order.")
