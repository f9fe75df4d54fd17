"""The setup page's HTTP server (the standard library's: an edge box needs no web framework).

Binds 127.0.0.1 unless told otherwise. Everything but the page itself (which holds no data) needs
the token made for this run, as `Authorization: Bearer TOKEN`: without it 401 and no picture. The
page reads the token from the address's fragment (#token=...), which browsers never send, so it
stays out of logs and Referer headers.
"""

from __future__ import annotations

import errno
import hmac
import json
import logging
import re
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from edge.config import ConfigError
from edge.setup import DEFAULT_PORT
from edge.setup.config_file import Layout
from edge.setup.page import PAGE
from edge.setup.session import SetupSession, UnknownCamera

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # a layout is a few kilobytes
PICTURE_PATH = re.compile(r"^/api/picture/(?P<camera>[^/]+)$")
# The page is inline HTML, CSS and script; it may talk to this origin only and load nothing else.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


class DraftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera: str
    revision: int
    layout: Layout


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera: str
    hold: bool


_Request = TypeVar("_Request", bound=BaseModel)


class _HttpError(Exception):
    def __init__(self, status: int, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems


class SetupServer:
    """Serves the page and its API for a session. Binds at once, so that a port in use is said
    before any camera is opened or the model loaded; `start` serves."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.host = host
        self._handler: type[_Handler] = type("Handler", (_Handler,), {"token": self.token})
        server_class = _Server6 if ":" in host else ThreadingHTTPServer
        try:
            self._httpd = server_class((host, port), self._handler)
        except socket.gaierror:
            raise ConfigError([("--host", f"{host} is not a name or address of this box")]) from None
        except OSError as error:
            raise ConfigError([("--port", _bind_problem(host, port, error))]) from None
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="setup-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/#token={self.token}"

    def start(self, session: SetupSession) -> None:
        self._handler.session = session
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _bind_problem(host: str, port: int, error: OSError) -> str:
    where = f"port {port} on {host}"
    if error.errno == errno.EADDRINUSE:
        return f"{where} is in use (another wartezone setup, or another program): choose another --port"
    if error.errno == errno.EACCES:
        return f"{where} needs root (below 1024): choose --port 1024 or above"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this box: choose another --host"
    return f"{where} cannot be opened ({error.strerror}): choose another --host or --port"


class _Handler(BaseHTTPRequestHandler):
    session: SetupSession
    token: str
    server_version = "wartezone-setup"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """The page asks every second: not news."""

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def _answer(self, route: Any) -> None:
        try:
            route(urlsplit(self.path))
        except _HttpError as error:
            body: dict[str, Any] = {"status": error.status, "message": error.message}
            if error.problems is not None:
                body["problems"] = error.problems
            self._json(error.status, {"error": body})

    def _get(self, url: Any) -> None:
        if url.path == "/":
            self._send(200, PAGE.encode(), "text/html; charset=utf-8", PAGE_HEADERS)
            return
        found = PICTURE_PATH.match(url.path)
        if url.path != "/api/state" and found is None:
            raise _HttpError(404, f"no page {url.path}")
        self._authorise()
        if found is None:
            self._json(200, self.session.state())
            return
        try:
            version = int(parse_qs(url.query).get("version", [""])[0])
        except ValueError:
            raise _HttpError(400, "version: give the snapshot's version as a whole number") from None
        picture = self._session_call(self.session.picture, found.group("camera"), version)
        if picture is None:
            raise _HttpError(404, f"picture {version} has been replaced by a newer one: ask /api/state again")
        self._send(200, picture, "image/jpeg")

    def _post(self, url: Any) -> None:
        body = self._body()  # read first: a refused client still gets its answer, not a reset
        self._authorise()
        if url.path == "/api/draft":
            draft = _parse(DraftRequest, body)
            result = self._session_call(self.session.set_draft, draft.camera, draft.revision, draft.layout)
            self._json(200, result)
        elif url.path == "/api/hold":
            hold = _parse(HoldRequest, body)
            self._session_call(self.session.set_hold, hold.camera, hold.hold)
            self._json(200, {"camera": hold.camera, "hold": hold.hold})
        elif url.path == "/api/save":
            try:
                backup = self.session.save()
            except ConfigError as error:
                problems = [{"path": path, "message": message} for path, message in error.problems]
                raise _HttpError(
                    422, "not saved: the layout does not pass the config model", problems
                ) from None
            except OSError as error:
                log.error("setup: cannot write %s: %s", self.session.path, error.strerror)
                raise _HttpError(500, f"cannot write {self.session.path.name}: {error.strerror}") from None
            self._json(200, {"file": self.session.path.name, "backup": backup.name})
        else:
            raise _HttpError(404, f"no page {url.path}")

    def _session_call(self, method: Any, camera: str, *args: Any) -> Any:
        try:
            return method(camera, *args)
        except UnknownCamera:
            raise _HttpError(404, f"no camera {camera!r} at this site") from None

    def _authorise(self) -> None:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise _HttpError(401, "open the address wartezone setup printed, with its #token=")

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise _HttpError(400, "Content-Length is not a number") from None
        if length > MAX_BODY_BYTES:
            raise _HttpError(413, f"body of {length} bytes; at most {MAX_BODY_BYTES}")
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _HttpError(400, f"body is not JSON: {error}") from None

    def _json(self, status: int, body: dict[str, Any]) -> None:
        extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        self._send(status, json.dumps(body).encode(), "application/json", extra)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _parse(model: type[_Request], body: Any) -> _Request:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        problems = [
            {"path": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
            for e in error.errors()
        ]
        raise _HttpError(422, "the request does not have the expected shape", problems) from None
