"""The report a branch lead files (lead role): per zone and step, as JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from api.deps import LeadRole, RuntimeDep
from api.errors import responses
from api.report import (
    MAX_ROWS,
    MAX_STEPS,
    STEP_PATTERN,
    Dialect,
    ReportProblem,
    ReportTime,
    ReportUnavailable,
    Span,
    instant,
    report_csv,
)
from api.schemas import Report
from api.service import UnknownSite
from wartezone_contract import ID_MAX_LENGTH, ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["report"])

TIME = (
    "ISO 8601, e.g. 2025-11-24T08:00 (the API's time zone, its `timezone` setting) or "
    "2025-11-24T08:00:00Z, or German: 24.11.2025 or 24.11.2025 08:00 (the API's time zone); a time "
    "before 1970 is taken as 1970, one after 2199 as 2200."
)
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}
COMPLETE_HEADER = {
    "X-Wartezone-Report-Complete": {
        "description": "CSV: false where the report ends before `to` (too many steps or rows).",
        "schema": {"type": "string", "enum": ["true", "false"]},
    }
}


@router.get(
    "/report",
    response_model=Report,
    summary="Per zone and step: occupancy, entries, exits, Little's law, minutes at the raise level, "
    "alerts; JSON or CSV",
    description="From Prometheus (range queries) where the API reads PromQL, from its own stored "
    "minutes where it scrapes the edge itself (kept `readings.retention_days`). Steps from `from` "
    "until `to` is covered: the last step may end after `to` (the answer's `end` says where); `to` "
    "at or before `from` gives a report without rows. At most "
    f"{MAX_STEPS} steps and {MAX_ROWS} rows: a longer report ends early, with `complete` false (CSV: "
    "the header X-Wartezone-Report-Complete) and `end` where it stops; ask again from there.",
    responses={
        **responses(401, 403, 404, 422, 429, 502),
        200: {"content": CSV_CONTENT, "headers": COMPLETE_HEADER},
    },
)
async def report(
    request: Request,
    runtime: RuntimeDep,
    role: LeadRole,
    site: Annotated[str, Query(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)],
    start: Annotated[ReportTime, Query(alias="from", description="Start of the first step. " + TIME)],
    end: Annotated[ReportTime, Query(alias="to", description="End of the last step. " + TIME)],
    step: Annotated[
        str, Query(pattern=STEP_PATTERN, description="Minutes, hours or days: 15m, 1h, 1d.")
    ] = "1h",
    form: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    dialect: Annotated[
        Dialect,
        Query(
            description="CSV only: excel (comma, decimal point) or de (semicolon, decimal comma, German "
            "column names)."
        ),
    ] = "excel",
) -> Any:
    tz = ZoneInfo(request.app.state.settings.timezone)
    try:
        span = Span.of(instant(start, tz), instant(end, tz), step)
        made = await runtime.report(site, span)
    except ReportProblem as problem:
        raise RequestValidationError(
            [{"loc": tuple(problem.path.split(".")), "msg": str(problem), "type": "value_error"}]
        ) from None
    except UnknownSite as error:
        raise HTTPException(404, str(error)) from None
    except ReportUnavailable as error:
        raise HTTPException(502, f"the report's figures cannot be read: {error}") from None
    if form == "json":
        return made
    name = f"wartezone-{site}-{span.step}-{made.start:%Y%m%d%H%M}-{made.end:%Y%m%d%H%M}.csv"
    return Response(
        report_csv(made, dialect),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Wartezone-Report-Complete": "true" if made.complete else "false",
        },
    )
