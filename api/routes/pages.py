"""The reception page: plain HTML and JavaScript from api/static, no build step."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import CallerRole

router = APIRouter(tags=["pages"])
HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}


def _page(name: str) -> str:
    return files("api").joinpath("static", name).read_text(encoding="utf-8")


@router.get(
    "/reception",
    response_class=HTMLResponse,
    summary="The reception screen (desk role); without a login, the login form",
    responses={
        200: HTML | {"description": "The reception screen"},
        401: HTML | {"description": "Login form"},
    },
)
async def reception(role: CallerRole) -> HTMLResponse:
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": _CSP, "X-Frame-Options": "DENY"}
    if role is None:
        return HTMLResponse(_page("login.html"), status_code=401, headers=headers)
    return HTMLResponse(_page("reception.html"), headers=headers)


# Everything the page needs is inline and same-origin; nothing is fetched from elsewhere.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
