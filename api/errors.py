"""One error body everywhere: {"error": {"status", "code", "message", "fields"}}."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.headers import ALWAYS
from api.schemas import ErrorBody, ErrorInfo, FieldProblem

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "internal_error",
}


def error_response(
    status: int,
    message: str,
    fields: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    code = CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
    body = ErrorBody(error=ErrorInfo(status=status, code=code, message=message, fields=fields or []))
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers=dict(headers) if headers else None
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give."""
    return {status: {"model": ErrorBody, "description": HTTPStatus(status).phrase} for status in statuses}


def _path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(text: str) -> str:
    """pydantic prefixes the messages of our own validators with 'Value error, '."""
    return text.removeprefix("Value error, ")


# The methods a resource may be asked for; Allow lists those of them the matched path serves.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at the request's path, in METHODS order.

    The router stops at the first route whose path matches and names only that route's methods;
    FastAPI has one route per method, so that is one of several. Each method is tried against
    every route instead, through the routes' own matching (included routers too).
    """
    routes = request.app.routes
    return [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := allowed_methods(request)):
        headers["Allow"] = ", ".join(allowed)  # RFC 9110 15.5.6: every method the resource supports
    return error_response(exc.status_code, message, headers=headers)


def _context(error: Mapping[str, Any]) -> dict[str, int | float | str | bool | None] | None:
    """The numbers and words a message names (ge, le, pattern ...), for a page to say in its language."""
    ctx = error.get("ctx")
    if not isinstance(ctx, Mapping):
        return None
    plain = {k: v for k, v in ctx.items() if v is None or isinstance(v, int | float | str | bool)}
    return plain or None


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        FieldProblem(
            path=_path(tuple(e.get("loc", ()))),
            message=_message(str(e.get("msg", "invalid"))),
            type=str(e["type"]) if "type" in e else None,
            context=_context(e),
        )
        for e in exc.errors()
    ]
    summary = "; ".join(f"{f.path}: {f.message}" for f in fields[:3])
    return error_response(422, f"invalid input: {summary}", fields)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    # Answered outside every middleware (Starlette's outermost layer), so the headers come with it.
    return error_response(500, "internal error; the server log has the details", headers=ALWAYS)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
