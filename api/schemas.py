"""Request and response bodies of the API, the webhook/stream event and the one error body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.domain import Role, State
from api.engine import Alert, EndReason, Notice, NoticeType, ZoneView
from api.rules import Rule, RuleSpec


def utc(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldProblem(Out):
    path: str = Field(description="Where: body.raise_level, query.limit, path.zone ...")
    message: str


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

    state: State
    since: datetime | None = Field(description="When the zone entered this state.")
    occupancy: float | None
    observed_at: datetime | None = Field(description="Time of the last reading (the edge's frame time).")
    reason: str | None = Field(description="Why the zone is unknown (camera down, ...).")
    in_opening_hours: bool | None = Field(description="Null without a rule.")
    raise_level: int | None
    clear_level: int | None
    alert: AlertOut | None = Field(description="The open alert, if any.")

    @classmethod
    def of(cls, view: ZoneView) -> ZoneOut:
        return cls(
            site=view.key.site,
            camera=view.key.camera,
            zone=view.key.zone,
            state=view.state,
            since=utc(view.since),
            occupancy=view.occupancy,
            observed_at=utc(view.observed_at),
            reason=view.reason,
            in_opening_hours=view.open_now,
            raise_level=view.rule.raise_level if view.rule else None,
            clear_level=view.rule.clear_level if view.rule else None,
            alert=AlertOut.of(view.alert) if view.alert else None,
        )


class ZoneList(Out):
    zones: list[ZoneOut]


class EventPayload(ZoneRef):
    """The body of every webhook POST and of every `alert` event on the stream.

    Signed with X-Wartezone-Signature: sha256=<hex HMAC-SHA256 of the raw body, key: the shared
    secret>. `id` increases by one per event and is the same on every retry: a receiver that
    keeps the last id it handled drops a repeat, and sees a gap only if events were pruned.
    """

    id: int = Field(description="Event number; increasing, the same on every retry.")
    type: NoticeType
    at: datetime = Field(description="When it happened (the edge's frame time for readings).")
    since: datetime | None = Field(
        description="Start of the readings that caused it (fired: first at/above the raise level; "
        "resolved: first at/below the clear level)."
    )
    state: State = Field(description="The zone's state after the event.")
    occupancy: float | None = Field(description="People in the zone; null while unknown.")
    raise_level: int | None
    clear_level: int | None
    reason: str | None = Field(description="zone.unknown: why; alert.resolved: the end reason.")
    alert: AlertOut | None

    @classmethod
    def payload(cls, notice: Notice) -> dict[str, object]:
        """The event without its id (the outbox numbers it), as JSON-ready values."""
        body = {
            "type": notice.type.value,
            "at": datetime.fromtimestamp(notice.at, UTC),
            "site": notice.key.site,
            "camera": notice.key.camera,
            "zone": notice.key.zone,
            "since": utc(notice.since),
            "state": notice.state.value,
            "occupancy": notice.occupancy,
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


class Health(Out):
    status: Literal["ok", "degraded"]
    input: Literal["scrape", "prometheus", "custom"]
    problems: list[str] = Field(description="What the last read of the occupancy input could not do.")
    last_read_at: datetime | None
    outbox_pending: int
