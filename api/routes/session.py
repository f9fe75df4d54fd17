"""Log a page's browser in: the token is traded for a server-side session (api/sessions.py) whose
random id rides in an HttpOnly, SameSite=Strict cookie; the open page renews it (a new id each
time), so a kiosk stays logged in while it shows the page, up to auth.session_max_age_s."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response

from api.deps import UNAUTHORIZED, GuardDep, SessionsDep, TokensDep, check_token, client_of, same_origin
from api.errors import responses
from api.schemas import SessionIn, SessionOut
from api.security import COOKIE, cookie_secure
from api.sessions import Session, Sessions

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/session", tags=["session"])


def _answer(request: Request, response: Response, sessions: Sessions, session: Session) -> SessionOut:
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=sessions.cookie_max_age_s(session),
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request.app.state.settings),
        path="/",
    )
    return SessionOut(role=session.role, renew_after_s=sessions.renew_after_s)


@router.post(
    "",
    response_model=SessionOut,
    summary="Log in with a token (sets the session cookie)",
    responses=responses(400, 401, 413, 422, 429),
)
async def log_in(
    body: SessionIn,
    request: Request,
    response: Response,
    tokens: TokensDep,
    guard: GuardDep,
    sessions: SessionsDep,
) -> SessionOut:
    role = check_token(request, tokens, guard, body.token, "login")
    if role is None:
        raise HTTPException(401, "unknown token")
    session = sessions.start(body.token, role, replacing=request.cookies.get(COOKIE))
    log.info("page session started: %s, from %s", role.value, client_of(request))
    return _answer(request, response, sessions, session)


@router.post(
    "/renew",
    response_model=SessionOut,
    summary="Renew the page's session (a new id in the cookie; the lifetime stays that of the login)",
    responses=responses(401, 403),
)
async def renew(request: Request, response: Response, guard: GuardDep, sessions: SessionsDep) -> SessionOut:
    if not same_origin(request):  # before anything changes
        raise HTTPException(403, "cross-site request refused")
    cookie = request.cookies.get(COOKIE)
    session = sessions.renew(cookie)
    if session is None:
        if cookie is not None:
            guard.failed(client_of(request), "cookie")
        # Expired, logged out, or revoked (the token left the settings).
        raise HTTPException(401, "session ended: log in again", headers=UNAUTHORIZED)
    return _answer(request, response, sessions, session)


@router.delete(
    "",
    status_code=204,
    response_class=Response,
    summary="Log out (ends the session on the server, clears the cookie)",
)
async def log_out(request: Request, sessions: SessionsDep) -> Response:
    role = sessions.end(request.cookies.get(COOKIE))
    if role is not None:
        log.info("page session ended by logout: %s, from %s", role.value, client_of(request))
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=cookie_secure(request.app.state.settings)
    )
    return response
