"""The alert state machine: one zone's readings in, state changes and notices out.

Pure: no I/O, no wall clock of its own. Readings carry their time (the edge's frame time), and the
injected clock is read only for what a person does (acknowledge, a rule removed). It keeps no rules
either: it asks the rule book it is given (the storage, in the service; a dict, in tests) whenever
it needs them, so a rule lives in one place. Tests drive it with tables of readings.

Per zone, with its rule (raise level R, clear level C < R):
- ok          known, nothing to tell (or no rule, or outside opening hours)
- warning     "filling up": below R, open, and the occupancy forecast reached R within the rule's
              warn_ahead_min at a minute in the last WARNING_HOLD_S (the service tells it, `foresee`;
              zone.filling_up); ends when the alert fires, the zone closes or the forecast has not
              warned for WARNING_HOLD_S
- pending     at or above R, for less than min_above_s so far
- firing      at or above R for min_above_s: an alert is open (alert.fired)
- acknowledged  the desk has seen the open alert (alert.acknowledged)
- resolved    the alert ended after min_below_s at or below C (alert.resolved); stays so for the
              cooldown, in which no new alert fires
- unknown     the camera is down or its occupancy cannot be read (zone.unknown); an open alert
              stays open: not being able to see is not all clear
Outside opening hours a zone is ok and an open alert ends with reason "closed".
A partial count (a room with a camera down or late: at least this many) counts as at or above R
when it is, and may fire; below R it neither ends a run above R nor counts as at or below C: an
alert never resolves on a partial count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from zoneinfo import ZoneInfo

from api.domain import Clock, Reading, Role, Snapshot, State, Unknown, Why, ZoneKey
from api.forecast import WARNING_HOLD_S
from api.rules import RuleSpec

NO_SERIES = Why(Unknown.NOT_COUNTED, "no occupancy series for this zone")
NOT_READ_YET = Why(Unknown.NOT_READ_YET, "not read yet")

RuleBook = Callable[[], Mapping[ZoneKey, RuleSpec]]
"""Every zone's rule now, from their one owner."""


class NoticeType(StrEnum):
    FIRED = "alert.fired"
    ACKNOWLEDGED = "alert.acknowledged"
    RESOLVED = "alert.resolved"
    UNKNOWN = "zone.unknown"
    KNOWN = "zone.known"
    FILLING_UP = "zone.filling_up"  # the early warning began: the forecast reaches the raise level soon
    TEST = "alert.test"  # the branch lead's test alarm: no alert, nothing to do


class EndReason(StrEnum):
    BELOW_CLEAR_LEVEL = "below_clear_level"
    CLOSED = "closed"
    RULE_REMOVED = "rule_removed"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert event: counts and times only."""

    id: int
    key: ZoneKey
    raise_level: int
    started_at: float  # first reading at or above the raise level
    fired_at: float
    peak_occupancy: float
    acknowledged_at: float | None = None
    acknowledged_by: Role | None = None
    ended_at: float | None = None
    end_reason: EndReason | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A change worth telling: goes to the outbox, the webhooks and the event stream."""

    type: NoticeType
    key: ZoneKey
    at: float
    since: float | None  # start of the run of readings that caused it
    state: State
    occupancy: float | None
    rule: RuleSpec | None
    alert: Alert | None
    reason: str | None = None
    partial: bool = False  # the occupancy is a lower bound (a room lacking a camera)


@dataclass(frozen=True, slots=True)
class ZoneView:
    key: ZoneKey
    state: State
    since: float | None
    occupancy: float | None
    observed_at: float | None
    why: Why | None  # why the zone is unknown
    open_now: bool | None
    rule: RuleSpec | None
    alert: Alert | None
    above_since: float | None = None  # first reading of the run at or above the raise level
    resolved_at: float | None = None  # end of the last alert (its cooldown runs from here)
    warned_until: float | None = None  # the early warning holds until then (state warning)
    partial: bool = False  # the count is a lower bound (a room lacks a camera)
    below_since: float | None = None  # an open alert's run at or below the clear level began then


class NothingToAcknowledge(Exception):
    pass


@dataclass(slots=True)
class _Zone:
    key: ZoneKey
    state: State = State.UNKNOWN
    state_since: float | None = None
    occupancy: float | None = None
    observed_at: float | None = None
    why: Why | None = NOT_READ_YET
    open_now: bool | None = None
    above_since: float | None = None
    run_peak: float = 0.0
    below_since: float | None = None
    alert: Alert | None = None
    resolved_at: float | None = None
    ever_known: bool = False
    announced_unknown: bool = False
    warned_until: float | None = None  # the early warning holds until then
    partial: bool = False


class AlertEngine:
    def __init__(
        self,
        tz: ZoneInfo,
        clock: Clock,
        rules: RuleBook,
        open_alerts: list[Alert] | None = None,
        last_resolved: dict[ZoneKey, float] | None = None,
        next_alert_id: int = 1,
    ) -> None:
        self.tz = tz
        self.clock = clock
        self._rules = rules
        self._zones: dict[ZoneKey, _Zone] = {key: _Zone(key) for key in rules()}
        self._next_id = next_alert_id
        self._changed: dict[int, Alert] = {}
        for alert in open_alerts or []:
            self._zone(alert.key).alert = alert
        for key, at in (last_resolved or {}).items():
            self._zone(key).resolved_at = at

    # -- queries -----------------------------------------------------------------------------

    def zones(self) -> list[ZoneView]:
        rules = self._rules()
        return [self._view(self._zones[key], rules.get(key)) for key in sorted(self._zones)]

    def knows(self, key: ZoneKey) -> bool:
        """Whether the zone is listed (it has a rule, or the input has reported it)."""
        return key in self._zones

    def forget(self, key: ZoneKey) -> None:
        """Stop listing a zone that no longer exists (its rule is gone: rule_removed first)."""
        self._zones.pop(key, None)

    def zone(self, key: ZoneKey) -> ZoneView | None:
        zone = self._zones.get(key)
        return None if zone is None else self._view(zone, self._rules().get(key))

    def take_changed_alerts(self) -> list[Alert]:
        """Alerts created or changed since the last call (to be stored)."""
        changed, self._changed = list(self._changed.values()), {}
        return changed

    @staticmethod
    def _view(z: _Zone, rule: RuleSpec | None) -> ZoneView:
        return ZoneView(
            z.key,
            z.state,
            z.state_since,
            z.occupancy,
            z.observed_at,
            z.why,
            z.open_now,
            rule,
            z.alert,
            z.above_since,
            z.resolved_at,
            z.warned_until,
            z.partial,
            z.below_since,
        )

    # -- what people do ------------------------------------------------------------------------

    def rule_set(self, key: ZoneKey) -> None:
        """The rule book has a new rule for the zone: its levels apply from the next reading (an
        open alert keeps the level it fired at), and the zone is listed from now on."""
        self._zone(key)

    def rule_removed(self, key: ZoneKey) -> list[Notice]:
        """The rule book no longer has a rule for the zone: its open alert ends."""
        z = self._zones.get(key)
        notices: list[Notice] = []
        if z is None:
            return notices
        now = self.clock.now()
        z.above_since = z.below_since = z.warned_until = None
        z.run_peak = 0.0
        z.open_now = None
        state = State.UNKNOWN if z.state is State.UNKNOWN else State.OK
        if z.alert is not None:
            self._resolve(z, now, None, EndReason.RULE_REMOVED, state, None, None, notices)
        self._set_state(z, state, now)
        return notices

    def acknowledge(self, key: ZoneKey, role: Role) -> Notice:
        z = self._zones.get(key)
        if z is None or z.alert is None:
            raise NothingToAcknowledge(f"zone {key} has no open alert")
        if z.alert.acknowledged_at is not None:
            raise NothingToAcknowledge(f"the alert of zone {key} is already acknowledged")
        now = self.clock.now()
        z.alert = self._changed_alert(replace(z.alert, acknowledged_at=now, acknowledged_by=role))
        if z.state is State.FIRING:
            self._set_state(z, State.ACKNOWLEDGED, now)
        return Notice(
            NoticeType.ACKNOWLEDGED,
            key,
            now,
            z.alert.fired_at,
            z.state,
            z.occupancy,
            self._rules().get(key),
            z.alert,
            partial=z.partial,
        )

    # -- readings ------------------------------------------------------------------------------

    def observe(self, snapshot: Snapshot) -> list[Notice]:
        """Apply one read of the occupancy input to every zone the engine knows or sees."""
        notices: list[Notice] = []
        rules = self._rules()
        for key in sorted({*self._zones, *snapshot.zones, *snapshot.reported}):
            z = self._zone(key)
            reading = snapshot.zones.get(key)
            if reading is None:
                why = snapshot.zones_unknown.get(key) or snapshot.cameras_down.get(
                    (key.site, key.camera), NO_SERIES
                )
                self._unknown(z, rules.get(key), snapshot.taken_at, why, notices)
            else:
                self._known(z, rules.get(key), reading, notices)
        return notices

    def _zone(self, key: ZoneKey) -> _Zone:
        zone = self._zones.get(key)
        if zone is None:
            zone = self._zones[key] = _Zone(key)
        return zone

    def _unknown(self, z: _Zone, rule: RuleSpec | None, t: float, why: Why, notices: list[Notice]) -> None:
        if z.state is not State.UNKNOWN and z.ever_known:
            notices.append(
                Notice(NoticeType.UNKNOWN, z.key, t, None, State.UNKNOWN, None, rule, z.alert, why.detail)
            )
            z.announced_unknown = True
        z.why = why
        z.occupancy = None
        z.partial = False
        z.above_since = z.below_since = None
        z.run_peak = 0.0
        self._set_state(z, State.UNKNOWN, t)
        if z.alert is not None and rule is not None and not rule.is_open(t, self.tz):
            self._resolve(z, t, None, EndReason.CLOSED, State.UNKNOWN, None, rule, notices)

    def _known(self, z: _Zone, rule: RuleSpec | None, reading: Reading, notices: list[Notice]) -> None:
        t = max(reading.at, z.observed_at if z.observed_at is not None else -math.inf)
        returning = z.state is State.UNKNOWN and z.announced_unknown
        z.occupancy, z.observed_at, z.why, z.partial = reading.occupancy, t, None, reading.partial
        z.ever_known = True
        mine: list[Notice] = []
        self._evaluate(z, rule, reading.occupancy, t, mine)
        if returning:
            z.announced_unknown = False
            mine.insert(
                0,
                Notice(
                    NoticeType.KNOWN,
                    z.key,
                    t,
                    None,
                    z.state,
                    reading.occupancy,
                    rule,
                    z.alert,
                    partial=z.partial,
                ),
            )
        notices.extend(mine)

    def _evaluate(
        self, z: _Zone, rule: RuleSpec | None, occupancy: float, t: float, notices: list[Notice]
    ) -> None:
        if rule is None:
            z.open_now = None
            z.above_since = z.below_since = None
            self._set_state(z, State.OK, t)
            return
        z.open_now = rule.is_open(t, self.tz)
        if not z.open_now:
            z.above_since = z.below_since = z.warned_until = None
            z.run_peak = 0.0
            if z.alert is not None:
                self._resolve(z, t, None, EndReason.CLOSED, State.OK, occupancy, rule, notices)
            self._set_state(z, State.OK, t)
            return

        above, partial = occupancy >= rule.raise_level, z.partial
        if above:
            z.above_since = t if z.above_since is None else z.above_since
            z.run_peak = max(z.run_peak, occupancy)
        elif not partial:  # a partial count below R may be a full one above it: the run holds
            z.above_since = None
            z.run_peak = 0.0

        if z.alert is not None:
            if occupancy > z.alert.peak_occupancy:
                z.alert = self._changed_alert(replace(z.alert, peak_occupancy=occupancy))
            if occupancy <= rule.clear_level and not partial:  # never all clear on a lower bound
                z.below_since = t if z.below_since is None else z.below_since
                if t - z.below_since >= rule.min_below_s:
                    self._resolve(
                        z,
                        t,
                        z.below_since,
                        EndReason.BELOW_CLEAR_LEVEL,
                        State.RESOLVED,
                        occupancy,
                        rule,
                        notices,
                    )
                    return
            else:
                z.below_since = None
            self._set_state(z, State.ACKNOWLEDGED if z.alert.acknowledged_at else State.FIRING, t)
            return

        z.below_since = None
        cooling = z.resolved_at is not None and t < z.resolved_at + rule.cooldown_s
        if above and z.above_since is not None and t - z.above_since >= rule.min_above_s and not cooling:
            alert = self._changed_alert(
                Alert(self._next_id, z.key, rule.raise_level, z.above_since, t, z.run_peak)
            )
            self._next_id += 1
            z.alert = alert
            z.warned_until = None  # the alert ends the warning
            self._set_state(z, State.FIRING, t)
            notices.append(
                Notice(
                    NoticeType.FIRED,
                    z.key,
                    t,
                    z.above_since,
                    State.FIRING,
                    occupancy,
                    rule,
                    alert,
                    partial=z.partial,
                )
            )
        elif cooling:
            self._set_state(z, State.RESOLVED, t)
        elif z.above_since is not None:
            self._set_state(z, State.PENDING, t)
        else:
            self._calm_or_warning(z, rule, occupancy, t, notices)

    def _calm_or_warning(
        self, z: _Zone, rule: RuleSpec, occupancy: float | None, t: float, notices: list[Notice]
    ) -> None:
        """Below the raise level, no alert, open: ok, or warning while the forecast's warning holds."""
        if z.warned_until is None or t >= z.warned_until:
            z.warned_until = None
            self._set_state(z, State.OK, t)
            return
        if z.state not in (State.WARNING, State.PENDING):
            notices.append(
                Notice(
                    NoticeType.FILLING_UP,
                    z.key,
                    t,
                    t,
                    State.WARNING,
                    occupancy,
                    rule,
                    None,
                    partial=z.partial,
                )
            )
        self._set_state(z, State.WARNING, t)

    # -- the forecast --------------------------------------------------------------------------

    def foresee(self, key: ZoneKey, warning_s: float | None, at: float) -> list[Notice]:
        """The early warning's answer for the zone at `at` (api/forecast.early_warning: seconds
        until the forecast reaches the raise level within the rule's warn_ahead_min, or None). A
        warning holds WARNING_HOLD_S after the last minute that warned; it shows only while the
        zone is open, below its raise level and without an alert."""
        z = self._zones.get(key)
        rule = self._rules().get(key)
        notices: list[Notice] = []
        if z is None or rule is None:
            return notices
        if warning_s is not None and rule.is_open(at, self.tz) and z.alert is None:
            z.warned_until = at + WARNING_HOLD_S
        if z.state in (State.OK, State.WARNING) and z.open_now:
            self._calm_or_warning(z, rule, z.occupancy, at, notices)
        return notices

    def _resolve(
        self,
        z: _Zone,
        t: float,
        since: float | None,
        reason: EndReason,
        state: State,
        occupancy: float | None,
        rule: RuleSpec | None,
        notices: list[Notice],
    ) -> None:
        assert z.alert is not None
        alert = self._changed_alert(replace(z.alert, ended_at=t, end_reason=reason))
        z.alert = None
        z.resolved_at = t
        z.below_since = None
        self._set_state(z, state, t)
        notices.append(
            Notice(
                NoticeType.RESOLVED,
                z.key,
                t,
                since,
                state,
                occupancy,
                rule,
                alert,
                reason,
                partial=occupancy is not None and z.partial,
            )
        )

    def _changed_alert(self, alert: Alert) -> Alert:
        self._changed[alert.id] = alert
        return alert

    @staticmethod
    def _set_state(z: _Zone, state: State, t: float) -> None:
        if z.state is not state or z.state_since is None:
            z.state = state
            z.state_since = t
