"""The app factory: create_app(settings) builds everything; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry

from api import errors
from api.deps import no_unknown_query
from api.domain import Clock, SystemClock
from api.headers import SecurityHeaders
from api.metrics import ApiMetrics
from api.occupancy import OccupancySource
from api.routes import counters, ops, pages, report, rules, session, state
from api.schemas import EventPayload
from api.security import BodyLimit, Guard, Tokens
from api.service import Runtime
from api.sessions import Sessions
from api.settings import Settings

DESCRIPTION = """\
Staffing alerts for waiting rooms. Occupancy per zone comes from the edge boxes' Prometheus
exposition (counts, never identities); per zone, the branch lead sets a raise level, a clear level
below it, minimum durations, opening hours and a cooldown (on the lead's page, `/lead`, or here).
Zones, and their display names, are those the edge boxes report. A room of the site's floor plan is
a zone of camera `floor`: counted by the box that sees it, or, where its cameras are on different
boxes, added up here from the zones that name it as their room (their areas must not overlap, or a
person in two of them counts twice). A room lacking a camera is `partial`: at least its count.
Alerts go to a reception screen (`/reception`, with each zone's expected wait), to a Server-Sent
Events stream and to webhooks (see
*Webhooks* below for the body; headers `X-Wartezone-Timestamp: <Unix seconds of the attempt>` and
`X-Wartezone-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared
secret>`: refuse a delivery signed more than 5 minutes ago, and an event `id` taken already). The
lead's report (`/api/v1/report`) gives per zone and hour the occupancy, entries and exits, the wait
by Little's law and the alerts, as JSON or CSV.

Roles: **desk** reads and acknowledges, **lead** also edits rules. Send `Authorization: Bearer
<token>`. Every error has the body `{"error": {"status", "code", "message", "fields"}}`.
"""


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    source: OccupancySource | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """The API for one set of settings. clock and source replace the system clock and the
    configured occupancy input (tests); registry receives the API's own metrics."""
    clock = clock or SystemClock()
    metrics = ApiMetrics(registry or CollectorRegistry())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.open(settings, metrics, clock, source)
        app.state.runtime = runtime
        app.state.sessions = Sessions.open(settings, app.state.tokens, clock)
        runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            app.state.sessions.close()

    app = FastAPI(
        title="Wartezone staffing alerts",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(no_unknown_query)],
        # The default pages load their scripts from a CDN; routes/pages.py serves one without.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tokens = Tokens(settings.auth)
    app.state.guard = Guard(clock, metrics.auth_failed, settings.auth.free_failures)
    app.state.metrics = metrics
    errors.install(app)
    routers = (state.router, counters.router, rules.router, report.router, session.router, pages.router)
    for router in (*routers, ops.router):
        app.include_router(router)

    @app.webhooks.post(
        "alert-event",
        summary="One POST per event, in order, retried until a 2xx answer",
        description=EventPayload.__doc__,
    )
    def alert_event(event: EventPayload) -> None:
        """Documentation only: what each configured webhook receives."""

    if settings.http.cors_origins:  # closed unless origins are named
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.http.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.http.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # the outermost: on BodyLimit's refusals too
    return app
