"""Zones now, acknowledging, the event stream and the alert history (desk role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import WithJsonSchema

from api.deps import DeskRole, LeadRole, RuntimeDep, ZoneKeyDep
from api.directory import UnknownZone
from api.engine import NothingToAcknowledge
from api.errors import responses
from api.schemas import AlertOut, EventPayload, ZoneList, ZoneOut
from api.service import StillReported
from wartezone_contract import ID_MAX_LENGTH, ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["state"], responses=responses(401, 422, 429))
ZONE_PATH = "/zones/{site}/{camera}/{zone}"
MAX_ID = 2**63 - 1  # SQLite's INTEGER
# An optional header or query parameter is a number or absent, never null: documented as such.
EVENT_ID = WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_ID})


@router.get(
    "/zones",
    response_model=ZoneList,
    summary="Every zone now: those the edge boxes report (or reported), and those with a rule",
)
async def list_zones(runtime: RuntimeDep, role: DeskRole) -> ZoneList:
    return runtime.zone_list()


@router.get(ZONE_PATH, response_model=ZoneOut, summary="One zone now", responses=responses(404))
async def get_zone(key: ZoneKeyDep, runtime: RuntimeDep, role: DeskRole) -> ZoneOut:
    zone = runtime.zone(key)
    if zone is None:
        raise HTTPException(404, f"no zone {key}: it has no rule and the input has not reported it")
    return zone


@router.delete(
    ZONE_PATH,
    status_code=204,
    response_class=Response,
    summary="Remove a zone the edge boxes no longer report, with its rule (its open alert ends)",
    responses=responses(403, 404, 409),
)
async def remove_zone(key: ZoneKeyDep, runtime: RuntimeDep, role: LeadRole) -> Response:
    try:
        removed = runtime.remove_zone(key)
    except StillReported as error:
        raise HTTPException(409, str(error)) from None
    if not removed:
        raise HTTPException(404, f"no zone {key}: it has no rule and the input has not reported it")
    return Response(status_code=204)


@router.post(
    ZONE_PATH + "/test-alarm",
    response_model=EventPayload,
    summary="Send a marked test event (alert.test) to reception and every webhook",
    responses=responses(403, 404),
)
async def test_alarm(key: ZoneKeyDep, runtime: RuntimeDep, role: LeadRole) -> EventPayload:
    try:
        return runtime.test_alarm(key)
    except UnknownZone as error:
        raise HTTPException(404, str(error)) from None


@router.post(
    ZONE_PATH + "/acknowledge",
    response_model=AlertOut,
    summary="Acknowledge the zone's open alert",
    responses=responses(403, 409),
)
async def acknowledge(key: ZoneKeyDep, runtime: RuntimeDep, role: DeskRole) -> AlertOut:
    try:
        return AlertOut.of(runtime.acknowledge(key, role))
    except NothingToAcknowledge as error:
        raise HTTPException(409, str(error)) from None


def _event(
    name: str, payload: type[ZoneList | EventPayload], description: str, own_id: bool
) -> dict[str, Any]:
    """One kind of event on the stream, as an EventSource client sees it: the event name, the
    payload's JSON as `data`, and an `id`: its own (own_id), or the last one sent before it."""
    return {
        "type": "object",
        "description": description,
        "properties": {
            "event": {"const": name},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                # Both payloads are response models of other routes, so the components hold them.
                "contentSchema": {"$ref": f"#/components/schemas/{payload.__name__}"},
            },
            "id": {"type": "string", "pattern": "^[0-9]+$"},
        },
        "required": ["event", "data", "id"] if own_id else ["event", "data"],
        "additionalProperties": False,
    }


# Open API 3.1 describes a text/event-stream by the schema of one event (3.2 names it itemSchema).
STREAM_EVENT = {
    "oneOf": [
        _event("zones", ZoneList, "Every zone now: on connect and whenever a zone changes.", own_id=False),
        _event(
            "alert",
            EventPayload,
            "One event as the webhooks get it; its id is the one to send back as Last-Event-ID.",
            own_id=True,
        ),
    ]
}


@router.get(
    "/stream",
    summary="Server-Sent Events: `zones` on connect and on change, `alert` per event",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": STREAM_EVENT}}}},
)
async def stream(
    runtime: RuntimeDep,
    role: DeskRole,
    last_event_id: Annotated[
        int | None,
        EVENT_ID,
        Header(ge=0, le=MAX_ID, description="Sent by EventSource on reconnects: replays later events."),
    ] = None,
    after: Annotated[
        int | None,
        EVENT_ID,
        Query(ge=0, le=MAX_ID, description="Like Last-Event-ID, for clients that cannot set it."),
    ] = None,
) -> StreamingResponse:
    start_after = last_event_id if last_event_id is not None else after
    return StreamingResponse(
        runtime.stream(start_after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


Id = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)]


@router.get(
    "/alerts",
    response_model=list[AlertOut],
    summary="Alert history, newest first; site, camera and zone filter when given",
)
async def alerts(
    runtime: RuntimeDep,
    role: DeskRole,
    site: Id = None,
    camera: Id = None,
    zone: Id = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page on: ids below this.")] = None,
) -> list[AlertOut]:
    return [AlertOut.of(a) for a in runtime.alerts(site, camera, zone, limit, before_id)]


@router.get(
    "/events",
    response_model=list[EventPayload],
    summary="Events as the webhooks get them, oldest first, after an id",
)
async def events(
    runtime: RuntimeDep,
    role: DeskRole,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventPayload]:
    return runtime.events_after(after_id, limit)
