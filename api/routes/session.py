"""Log a page's browser in: the token becomes an HttpOnly, SameSite=Strict cookie, which the open
page renews, so a kiosk stays logged in for as long as it shows the page."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from api.deps import UNAUTHORIZED, TokensDep, same_origin
from api.domain import Role
from api.errors import responses
from api.schemas import SessionIn, SessionOut
from api.security import COOKIE

router = APIRouter(prefix="/api/v1/session", tags=["session"])
RENEW_AT_MOST_EVERY_S = 3600.0


def _start(request: Request, response: Response, token: str, role: Role) -> SessionOut:
    auth = request.app.state.settings.auth
    response.set_cookie(
        COOKIE,
        token,
        max_age=auth.session_max_age_s,
        httponly=True,
        samesite="strict",
        secure=auth.cookie_secure,
        path="/",
    )
    # A quarter of the lifetime: three renewals can fail (the API restarting) before it ends.
    return SessionOut(role=role, renew_after_s=min(auth.session_max_age_s / 4, RENEW_AT_MOST_EVERY_S))


@router.post(
    "",
    response_model=SessionOut,
    summary="Log in with a token (sets the cookie)",
    responses=responses(400, 401, 413, 422),
)
async def log_in(body: SessionIn, request: Request, response: Response, tokens: TokensDep) -> SessionOut:
    role = tokens.role_of(body.token)
    if role is None:
        raise HTTPException(401, "unknown token")
    return _start(request, response, body.token, role)


@router.post(
    "/renew",
    response_model=SessionOut,
    summary="Renew the page's session (the cookie's lifetime starts again)",
    responses=responses(401, 403),
)
async def renew(request: Request, response: Response, tokens: TokensDep) -> SessionOut:
    token = request.cookies.get(COOKIE)
    role = tokens.role_of(token)
    if token is None or role is None:
        # Expired (the browser dropped the cookie) or revoked (the token left the settings).
        raise HTTPException(401, "session ended: log in again", headers=UNAUTHORIZED)
    if not same_origin(request):
        raise HTTPException(403, "cross-site request refused")
    return _start(request, response, token, role)


@router.delete("", status_code=204, response_class=Response, summary="Log out (clears the cookie)")
async def log_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
