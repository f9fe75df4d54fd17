"""Asking a Prometheus server over its HTTP API: one call, its answer checked, every failure in words.

The occupancy input asks instant queries, the report range queries; both read answers of the same
shape, so the shape and its checks live here once.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError


class PromqlError(Exception):
    """Prometheus could not be asked or did not answer; the message names the server and why."""


class InstantSample(BaseModel):
    metric: dict[str, str]
    value: tuple[float, float]  # (evaluation time, value); Prometheus writes the value as a string


class RangeSeries(BaseModel):
    metric: dict[str, str]
    values: list[tuple[float, float]]  # (evaluation time, value) per step


ResultT = TypeVar("ResultT", InstantSample, RangeSeries)


class _Data(BaseModel, Generic[ResultT]):
    resultType: str
    result: list[ResultT]


class _Answer(BaseModel, Generic[ResultT]):
    status: Literal["success", "error"]
    data: _Data[ResultT] | None = None
    errorType: str | None = None
    error: str | None = None


async def _ask(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str | float],
    shape: type[_Answer[ResultT]],
    result_type: str,
) -> list[ResultT]:
    try:
        response = await client.get(url, params=params)
    except httpx.HTTPError as error:
        raise PromqlError(f"query of {url} failed: {type(error).__name__} {error}".rstrip()) from None
    try:
        parsed = shape.model_validate_json(response.content)
    except ValidationError:
        raise PromqlError(
            f"query of {url} failed: HTTP {response.status_code}, not a Prometheus API answer"
        ) from None
    if parsed.status != "success" or parsed.data is None:
        raise PromqlError(f"query of {url} failed: {parsed.errorType}: {parsed.error}")
    if parsed.data.resultType != result_type:
        raise PromqlError(f"query of {url} answered a {parsed.data.resultType}, not a {result_type}")
    return parsed.data.result


async def instant(client: httpx.AsyncClient, base_url: str, query: str) -> list[InstantSample]:
    """The vector a query gives now (base_url: the server, without /api/v1)."""
    url = base_url.rstrip("/") + "/api/v1/query"
    return await _ask(client, url, {"query": query}, _Answer[InstantSample], "vector")


async def ranged(
    client: httpx.AsyncClient, base_url: str, query: str, start: float, end: float, step_s: float
) -> list[RangeSeries]:
    """The matrix a query gives at each step from start to end."""
    url = base_url.rstrip("/") + "/api/v1/query_range"
    params: dict[str, str | float] = {"query": query, "start": start, "end": end, "step": step_s}
    return await _ask(client, url, params, _Answer[RangeSeries], "matrix")
