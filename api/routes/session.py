"""Log the reception page's browser in: the token becomes an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from api.deps import TokensDep
from api.errors import responses
from api.schemas import SessionIn, SessionOut
from api.security import COOKIE

router = APIRouter(prefix="/api/v1/session", tags=["session"])
COOKIE_MAX_AGE_S = 30 * 86400


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
    response.set_cookie(
        COOKIE,
        body.token,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.auth.cookie_secure,
        path="/",
    )
    return SessionOut(role=role)


@router.delete("", status_code=204, response_class=Response, summary="Log out (clears the cookie)")
async def log_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
