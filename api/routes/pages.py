"""The pages: reception, the branch lead's, the API description; plain HTML and JavaScript from
api/static, no build step, nothing fetched from another origin (an offline branch network works)."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import CallerRole
from api.domain import Role

router = APIRouter(tags=["pages"])
HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
INCLUDE = re.compile(r"<!--#include ([a-z-]+\.html)-->")

# A page's own inline script and style blocks, which its policy allows by their hashes: nothing
# else inline runs (no injected script or style attribute), nothing is fetched from elsewhere.
BLOCK = re.compile(r"<(script|style)>(.*?)</\1>", re.S)
# The page's language; its script reads it from the address (else the last choice, else the browser's).
Lang = Annotated[
    Literal["de", "en"] | None, Query(description="The page's language: de or en (default: the browser's).")
]

# Three bars, green, amber and red, on a dark square (32x32 PNG in an ICO container).
FAVICON = base64.b64decode(
    "AAABAAEAICAAAAAAIACOAwAAFgAAAIlQTkcNChoKAAAADUlIRFIAAAAgAAAAIAgGAAAAc3p69AAAA1VJREFUeJzNlz1vnEUQx3//"
    "2efu7CeJLzayC7AhogdZpKKiQWCBSIFESUODLKWmC0rIB+AbpKJC4UU0vNQUSBR8CRchwXEI9t357naHYu/VdyfZdxfISI9u73l2"
    "d/7zn9mdGZFFgK9vbu9JfAK8A6yNfFtEvPf7FPjFnXtHjw5+6usUEIC0sbV9C3RbktzTgjqni2S4u4Pffvzw4C5gAtjY2r5lIXyR"
    "Ykw9xGFRZYFx6hyIEAFZCJZi/Pzxw4O72th6+W3kP5PNPrtuLjHgH3faI5sZsCYNsUiG693CSfuGmeO+LOXH7tyoVHktBJpAFTj0"
    "xFftNgLlR5ZI+wXOnpNgSbQ/dedGtcq98hJGNteBUuJFM+40m1yRQvIEzl4hUS6quC8C2sDrVmDAA3cqQBeoA7sWsNH5oix6ABem"
    "fhREC8eBgiGtAWhOTvdiXuU6s8p95NuMTW3ylYp5lJugE0eUA5UA8plLZspcABpteOEymGXLTXB4zGzTlwXABM02fPSmcfO9gtMu"
    "4FDW4Mc/El9+372wP6e4ZbqoR/v6Zbj5fkG9hKtl/l8p4OO3jDdeNeJpZua8cmEXmKDdgXYFujEDS56ZORuYzwQADK6y4UM/qywL"
    "gIEQY0Htc4T4XAAE3kykrvcydgYUyoVv6nMAEHgrUV5fo7qzincSBJGOIye/Hi35zjwLwIQ3I+X1Opuf7jCaSVQVxXqFR18/QFeW"
    "y8QYA951qjsrIIhPOigIIlgZqF1bucChnRMAAu/kYFPQMLQNvP1sgnDSplk+XrLvZwP4j+W5ADDu3Fmu9vNPOccWg1eTBUlQnpl6"
    "hz71xiFPk/Iwpvxa5DFA0eOzIC+Lvc374ynXrgp3GoO6UJCOu6gqrAwg4QnsUiCdRAxodXLieWkjj/v5wBP83ciZ8NCdUqJOLsUi"
    "cFXiiffK3775TkPrW9vfmOxD9xSBgEP9g01qr6zmoxdEanQ5uv8nftKlFcXuNbG/F+jGnCLKGvzwe+K73xKrNYgOn62ssBsKmu5U"
    "BEfJudNq8lcuVCOykDx9O9mYOPJ2mmhrVGTuJTjt5FRsGvfranXo64b7IMD6bqhJVDLmQWMyvTWzzMTQUwwLfGan3jSyZtrx8kzO"
    "eGvG89Cc8j+25/8CRZZot52A+ukAAAAASUVORK5CYII="
)


@cache
def _page(name: str) -> str:
    """A page from api/static, with the parts every page shares put in at its include marks."""
    text = files("api").joinpath("static", name).read_text(encoding="utf-8")
    return INCLUDE.sub(lambda m: _page(m.group(1)), text)


@cache
def _headers(name: str) -> dict[str, str]:
    """The page's headers: its content security policy names the hash of each inline block."""
    allowed: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in BLOCK.findall(_page(name)):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        allowed[kind].append(f"'sha256-{digest}'")
    scripts, styles = (" ".join(allowed[kind]) or "'none'" for kind in ("script", "style"))
    policy = (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    return {"Cache-Control": "no-store", "Content-Security-Policy": policy, "X-Frame-Options": "DENY"}


def _html(name: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(_page(name), status_code=status_code, headers=_headers(name))


def _screen(role: Role | None, needed: Role, page: str) -> HTMLResponse:
    if role is None or (needed is Role.LEAD and role is not Role.LEAD):
        # The login form; it says which token this page needs.
        return _html("login.html", 401 if role is None else 403)
    return _html(page)


@router.get(
    "/reception",
    response_class=HTMLResponse,
    summary="The reception screen (desk role); without a login, the login form",
    responses={
        200: HTML | {"description": "The reception screen"},
        401: HTML | {"description": "Login form"},
    },
)
async def reception(role: CallerRole, lang: Lang = None) -> HTMLResponse:
    return _screen(role, Role.DESK, "reception.html")


@router.get(
    "/lead",
    response_class=HTMLResponse,
    summary="The branch lead's screen: zones, rules, alert history, test alarm (lead role)",
    responses={
        200: HTML | {"description": "The lead's screen"},
        401: HTML | {"description": "Login form"},
        403: HTML | {"description": "Login form (logged in as the desk)"},
    },
)
async def lead(role: CallerRole, lang: Lang = None) -> HTMLResponse:
    return _screen(role, Role.LEAD, "lead.html")


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
async def docs() -> HTMLResponse:
    """The OpenAPI description as a page, rendered here from /openapi.json: no CDN needed."""
    return _html("docs.html")


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    return Response(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})
