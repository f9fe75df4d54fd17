"""Counters open per zone: reception sets the number now (desk role), the branch lead the weekly
schedule that is the default (lead role); every change is kept and listed as the history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.counters import CounterSchedule
from api.deps import DeskRole, LeadRole, RuntimeDep, ZoneKeyDep
from api.directory import UnknownZone
from api.errors import responses
from api.schemas import CounterChangeOut, CountersIn, CountersOut

router = APIRouter(prefix="/api/v1/zones", tags=["counters"], responses=responses(401, 422, 429))
COUNTERS_PATH = "/{site}/{camera}/{zone}/counters"


def _missing(error: UnknownZone) -> HTTPException:
    return HTTPException(404, str(error))


@router.get(
    COUNTERS_PATH, response_model=CountersOut, summary="A zone's counters open now", responses=responses(404)
)
async def get_counters(key: ZoneKeyDep, runtime: RuntimeDep, role: DeskRole) -> CountersOut:
    try:
        return CountersOut.of(key, *runtime.counters(key))
    except UnknownZone as error:
        raise _missing(error) from None


@router.put(
    COUNTERS_PATH,
    response_model=CountersOut,
    summary="Set the counters open now (reception); it holds until the schedule's next change",
    responses=responses(400, 403, 404, 413),
)
async def put_counters(key: ZoneKeyDep, body: CountersIn, runtime: RuntimeDep, role: DeskRole) -> CountersOut:
    try:
        return CountersOut.of(key, *runtime.set_counters(key, body.counters, role))
    except UnknownZone as error:
        raise _missing(error) from None


@router.put(
    COUNTERS_PATH + "/schedule",
    response_model=CountersOut,
    summary="Set the weekly schedule of counters open (the default; branch lead)",
    description="It applies from now on: a number set at reception before it no longer holds.",
    responses=responses(400, 403, 404, 413),
)
async def put_schedule(
    key: ZoneKeyDep, schedule: CounterSchedule, runtime: RuntimeDep, role: LeadRole
) -> CountersOut:
    try:
        return CountersOut.of(key, *runtime.set_counter_schedule(key, schedule))
    except UnknownZone as error:
        raise _missing(error) from None


@router.get(
    COUNTERS_PATH + "/history",
    response_model=list[CounterChangeOut],
    summary="Every change of a zone's counters, newest first",
    responses=responses(404),
)
async def counters_history(
    key: ZoneKeyDep,
    runtime: RuntimeDep,
    role: DeskRole,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CounterChangeOut]:
    try:
        return [CounterChangeOut.of(s) for s in runtime.counter_history(key, limit)]
    except UnknownZone as error:
        raise _missing(error) from None
