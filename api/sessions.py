"""Page sessions held by the server: a login trades a token for a random id, which the browser keeps
in an HttpOnly cookie and the database keeps as a hash only (with its role, its token's hash, the
login time and the last use).

A session ends on logout, auth.session_idle_s after its last use, and
auth.session_max_age_s after its login whatever happened since; renewing gives a new id (the old
one serves the requests already on their way for ROTATED_GRACE_S more, then is gone). Removing a
token from the settings ends its sessions at the next start. A cookie is never a token: a
hand-written one holding a token finds no session.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass

from api.domain import Clock, Role
from api.security import Tokens, fingerprint
from api.settings import Settings
from api.storage import SessionRow, Storage

log = logging.getLogger(__name__)

# A page sends its renewal and, now and then, another request before the new cookie is back; the
# replaced id answers those for this long instead of ending the page's session under it.
ROTATED_GRACE_S = 30.0
# The last use is written at most this often per session (a quarter of a shorter idle time).
TOUCH_AT_MOST_EVERY_S = 60.0
RENEW_AT_MOST_EVERY_S = 3600.0
SESSIONS_PER_TOKEN = 1000  # the most recently used ones are kept: a token's holder cannot fill the disk


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # what the browser's cookie holds; the database has its hash only
    role: Role
    expires_at: float  # the login plus auth.session_max_age_s


class Sessions:
    def __init__(self, storage: Storage, settings: Settings, clock: Clock) -> None:
        self._storage = storage
        self._max_age_s = float(settings.auth.session_max_age_s)
        self._idle_s = float(settings.auth.session_idle_s)
        self._touch_every_s = min(TOUCH_AT_MOST_EVERY_S, self._idle_s / 4)
        self._clock = clock

    @classmethod
    def open(cls, settings: Settings, tokens: Tokens, clock: Clock) -> Sessions:
        """Open the store and end the sessions whose token left the settings, and the expired ones."""
        sessions = cls(Storage.open(settings.database), settings, clock)
        revoked = sessions._storage.keep_sessions_of(tokens.fingerprints())
        if revoked:
            log.info("%d page sessions ended: their token left the settings or changed role", revoked)
        sessions._prune()
        return sessions

    def close(self) -> None:
        self._storage.close()

    @property
    def renew_after_s(self) -> float:
        """How soon an open page renews: a quarter of the idle time, so three renewals can fail (the
        API restarting) before the session ends under an open page."""
        return min(self._max_age_s / 4, self._idle_s / 4, RENEW_AT_MOST_EVERY_S)

    def cookie_max_age_s(self, session: Session) -> int:
        """The cookie's Max-Age: what is left of the session's lifetime, rounded up."""
        return max(1, math.ceil(session.expires_at - self._clock.now()))

    def start(self, token: str, role: Role, replacing: str | None = None) -> Session:
        """A new session for a checked token; `replacing`, the browser's current session, ends."""
        now = self._clock.now()
        if replacing is not None:
            self._storage.delete_session(fingerprint(replacing))
        self._prune()
        token_hash = fingerprint(token)
        session = self._add(token_hash, role, created_at=now, now=now)
        self._storage.trim_sessions(token_hash, SESSIONS_PER_TOKEN)
        return session

    def role_of(self, session_id: str | None) -> Role | None:
        """The role of a live session (its last use noted), or None."""
        found = self._live(session_id)
        if found is None:
            return None
        id_hash, row = found
        now = self._clock.now()
        if now - row.last_used_at >= self._touch_every_s:  # not a write per request
            self._storage.touch_session(id_hash, now)
        return row.role

    def renew(self, session_id: str | None) -> Session | None:
        """The same session under a new id, or None where it has ended; its lifetime stays that of
        the login."""
        found = self._live(session_id)
        if found is None:
            return None
        id_hash, row = found
        now = self._clock.now()
        with self._storage.transaction():
            if row.replaced_at is None:  # a second renewal of the same id keeps the first grace
                self._storage.replace_session(id_hash, now)
            return self._add(row.token_hash, row.role, created_at=row.created_at, now=now)

    def end(self, session_id: str | None) -> Role | None:
        """Log out: the session is deleted; returns its role, or None where there was none."""
        found = self._live(session_id)
        if found is None:
            return None
        self._storage.delete_session(found[0])
        return found[1].role

    def _add(self, token_hash: str, role: Role, created_at: float, now: float) -> Session:
        session_id = secrets.token_urlsafe(32)
        self._storage.add_session(fingerprint(session_id), token_hash, role, created_at, now)
        return Session(session_id, role, created_at + self._max_age_s)

    def _live(self, session_id: str | None) -> tuple[str, SessionRow] | None:
        if not session_id:
            return None
        id_hash = fingerprint(session_id)
        row = self._storage.session(id_hash)
        if row is None:
            return None
        now = self._clock.now()
        if (
            now >= row.created_at + self._max_age_s
            or now - row.last_used_at > self._idle_s
            or (row.replaced_at is not None and now - row.replaced_at > ROTATED_GRACE_S)
        ):
            self._storage.delete_session(id_hash)
            return None
        return id_hash, row

    def _prune(self) -> None:
        now = self._clock.now()
        self._storage.prune_sessions(
            created_before=now - self._max_age_s,
            used_before=now - self._idle_s,
            replaced_before=now - ROTATED_GRACE_S,
        )
