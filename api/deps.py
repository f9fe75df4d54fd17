"""Route dependencies as Annotated aliases: the runtime, the caller's role (token or session), the
zone in the path."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.domain import Role, ZoneKey
from api.security import COOKIE, SAFE_METHODS, FailureKind, Guard, Tokens, client_key, too_many
from api.service import Runtime
from api.sessions import Sessions
from wartezone_contract import ID_MAX_LENGTH, ID_PATTERN

bearer = HTTPBearer(
    auto_error=False,
    description="A desk or lead token from the settings (auth.desk_tokens, auth.lead_tokens).",
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_tokens(request: Request) -> Tokens:
    tokens: Tokens = request.app.state.tokens
    return tokens


def get_guard(request: Request) -> Guard:
    guard: Guard = request.app.state.guard
    return guard


def get_sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
TokensDep = Annotated[Tokens, Depends(get_tokens)]
GuardDep = Annotated[Guard, Depends(get_guard)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]


def client_of(request: Request) -> str:
    """The address failures are counted under: the connection's (`wartezone api` ignores
    X-Forwarded-For, which any client can write)."""
    return client_key(request.client.host if request.client else None)


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # browsers send Origin on cross-site POST/PUT/DELETE; non-browsers have no cookie jar
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "")


def check_token(request: Request, tokens: Tokens, guard: Guard, token: str, kind: FailureKind) -> Role | None:
    """The token's role, or None (counted); 429 while this client must wait, before the token is
    looked at, so that a right guess cannot be told from a wrong one by the answer."""
    client = client_of(request)
    guard.refuse_if_waiting(client)
    role = tokens.role_of(token)
    if role is None:
        wait = guard.failed(client, kind)
        if wait > 0:
            raise too_many(wait)
    return role


# async: the session lookup uses the database connection, which lives on the event loop's thread.
async def caller_role(
    request: Request,
    tokens: TokensDep,
    guard: GuardDep,
    sessions: SessionsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Role | None:
    if credentials is not None:
        return check_token(request, tokens, guard, credentials.credentials, "bearer")
    cookie = request.cookies.get(COOKIE)
    if cookie is None:
        return None
    if request.method not in SAFE_METHODS and not same_origin(request):
        raise HTTPException(403, "cross-site request refused: send the token in the Authorization header")
    # A session id is 256 random bits: checking one never waits (no guess can find one, and a
    # screen behind the same address as a guesser keeps working); a failure still counts.
    role = sessions.role_of(cookie)
    if role is None:
        guard.failed(client_of(request), "cookie")
    return role


CallerRole = Annotated[Role | None, Depends(caller_role)]
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def require_desk(role: CallerRole) -> Role:
    if role is None:
        raise HTTPException(401, "a desk or lead token is needed", headers=UNAUTHORIZED)
    return role


def require_lead(role: CallerRole) -> Role:
    if role is None:
        raise HTTPException(401, "a lead token is needed", headers=UNAUTHORIZED)
    if role is not Role.LEAD:
        raise HTTPException(403, "this needs the lead role (a lead token): rules, zones, reports")
    return role


DeskRole = Annotated[Role, Depends(require_desk)]
LeadRole = Annotated[Role, Depends(require_lead)]

Id = Annotated[str, Path(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)]


def zone_key(site: Id, camera: Id, zone: Id) -> ZoneKey:
    return ZoneKey(site, camera, zone)


ZoneKeyDep = Annotated[ZoneKey, Depends(zone_key)]


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def no_unknown_query(request: Request) -> None:
    """A misspelt query parameter (?limt=5) is refused naming it, not silently ignored."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"unknown query parameter (known: {', '.join(sorted(known)) or 'none'})",
                }
                for name in unknown
            ]
        )
