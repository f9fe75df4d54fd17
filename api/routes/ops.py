"""Operations: the API's own /metrics (open, like the edge's) and a health summary (desk role)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import DeskRole, RuntimeDep
from api.errors import responses
from api.schemas import Health

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus exposition: alert state per zone, notifications, outbox",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/api/v1/health", response_model=Health, summary="Input and outbox", responses=responses(401, 429)
)
async def health(runtime: RuntimeDep, role: DeskRole) -> Health:
    return runtime.health()
