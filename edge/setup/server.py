"""The setup page's HTTP server (the standard library's: an edge box needs no web framework).

Binds 127.0.0.1 unless told otherwise. Everything but the page's own files (edge/setup/static: HTML,
CSS and script, which hold no data) needs the token made for this run, as `Authorization: Bearer
TOKEN`: without it 401 and no picture. The page reads the token from the address's fragment
(#token=...), which browsers never send, so it stays out of logs and Referer headers.

A stranger's request costs little: the token is checked before a byte of the body is read, a body
must declare its length (at most MAX_BODY_BYTES), a request must arrive within `timeout_s` however
slowly it trickles in, and a body that is not the JSON of a request is answered 400 in words. Each
connection has its own thread, so one slow client does not hold the page.
"""

from __future__ import annotations

import errno
import hmac
import io
import json
import logging
import re
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from edge.config import ConfigError
from edge.setup import DEFAULT_PORT
from edge.setup.config_file import Layout
from edge.setup.plan import FloorDraft
from edge.setup.session import SetupSession, UnknownCamera

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # a layout is a few kilobytes
# A request (line, headers and body) arrives within this, and an answer is taken within it, or the
# connection is dropped: the page sends a few kilobytes from this box or a tunnel to it.
TIMEOUT_S = 10.0
# Revisions and limits are small numbers; Python's own limit (4300 digits) would be a ValueError.
MAX_NUMBER_DIGITS = 18
# After an answer to a request whose body was not read: how long and how much of it is let in and
# dropped before closing (see _Handler._close_gently).
LINGER_S = 1.0
LINGER_BYTES = MAX_BODY_BYTES
WHOLE_NUMBER = re.compile(r"[0-9]+")
POST_PATHS = ("/api/draft", "/api/floor", "/api/hold", "/api/save")
PICTURE_PATH = re.compile(r"^/api/picture/(?P<camera>[^/]+)$")
# The page's files (package data in edge/setup/static) by the path that serves each, with their type.
PAGE_FILES = {
    "/": ("setup.html", "text/html; charset=utf-8"),
    "/setup.css": ("setup.css", "text/css; charset=utf-8"),
    "/setup.js": ("setup.js", "text/javascript; charset=utf-8"),
    "/setup-floor.js": ("setup-floor.js", "text/javascript; charset=utf-8"),
}
# The page loads its own style and script from this origin and talks to it only: nothing inline runs
# (no 'unsafe-inline'), nothing from elsewhere loads.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


class DraftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera: str
    revision: int
    layout: Layout


class FloorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: int
    floor: FloorDraft


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera: str
    hold: bool


_Request = TypeVar("_Request", bound=BaseModel)


class _HttpError(Exception):
    """An answer other than 200. code: what went wrong as a word the page puts into its language
    (the message stays English, for logs and scripts)."""

    def __init__(
        self, status: int, message: str, problems: list[dict[str, Any]] | None = None, code: str = "request"
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.problems, self.code = status, message, problems, code


class SetupServer:
    """Serves the page and its API for a session. Binds at once, so that a port in use is said
    before any camera is opened or the model loaded; `start` serves."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        token: str | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be above 0 seconds, got {timeout_s}")
        self.token = token or secrets.token_urlsafe(24)
        self.host = host
        self._handler: type[_Handler] = type(
            "Handler", (_Handler,), {"token": self.token, "timeout_s": timeout_s, "pages": page_files()}
        )
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


def page_files() -> dict[str, tuple[bytes, str]]:
    """The page's files from the package, by path: (content, type). Read when a server is made, so an
    install without them fails at start, not on the first visit."""
    static = files("edge.setup").joinpath("static")
    return {path: (static.joinpath(name).read_bytes(), kind) for path, (name, kind) in PAGE_FILES.items()}


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


class _DeadlineReader(io.RawIOBase):
    """A connection's bytes, each read given only what is left of the request's time: a socket
    timeout alone starts again with every byte, so a client sending one now and then would hold
    its thread for ever."""

    def __init__(self, connection: socket.socket, timeout_s: float) -> None:
        super().__init__()
        self._connection, self._timeout_s = connection, timeout_s
        self.restart()

    def restart(self) -> None:
        self._deadline = time.monotonic() + self._timeout_s

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the request took longer than {self._timeout_s:g} s")
        self._connection.settimeout(left)
        return self._connection.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    session: SetupSession
    token: str
    timeout_s: float
    pages: dict[str, tuple[bytes, str]]
    server_version = "wartezone-setup"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the plain reader would wait as long as the client pleases
        self._reader = _DeadlineReader(self.connection, self.timeout_s)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.restart()
        super().handle_one_request()  # a TimeoutError there ends the connection, unanswered

    def log_message(self, format: str, *args: Any) -> None:
        """The page asks every second: not news."""

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def _answer(self, route: Any) -> None:
        self._body_unread = "Transfer-Encoding" in self.headers or self.headers.get(
            "Content-Length", "0"
        ).strip() not in ("", "0")
        try:
            route(urlsplit(self.path))
        except _HttpError as error:
            self._error(error)
        except (ConnectionError, TimeoutError):  # the client went or stopped taking the answer
            self.close_connection = True
            return
        except Exception:  # a fault of ours: said to the client and logged, never a dropped connection
            log.exception("setup: %s %s failed", self.command, urlsplit(self.path).path)
            self._error(_HttpError(500, "the setup failed on this request: see its log", code="failed"))
        if self._body_unread:
            self._close_gently()

    def _error(self, error: _HttpError) -> None:
        body: dict[str, Any] = {"status": error.status, "code": error.code, "message": error.message}
        if error.problems is not None:
            body["problems"] = error.problems
        self._json(error.status, {"error": body})

    def _close_gently(self) -> None:
        """Closing with bytes of the client's unread makes the kernel reset the connection, and a
        reset can wipe the answer from the client's side before it is read. So the answer ends
        (FIN), and what still arrives is let in and dropped, for at most LINGER_S and LINGER_BYTES;
        then the connection closes, read or not."""
        self.close_connection = True
        dropped = 0
        deadline = time.monotonic() + LINGER_S
        scratch = bytearray(64 * 1024)
        try:
            self.connection.shutdown(socket.SHUT_WR)
            while dropped < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                received = self.connection.recv_into(scratch)
                if received == 0:
                    return
                dropped += received
        except OSError:  # timed out or gone: the answer is out, nothing more to do
            return

    def _get(self, url: Any) -> None:
        if url.path in self.pages:
            self._send(200, *self.pages[url.path], PAGE_HEADERS)
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
        self._authorise()  # before a byte of the body is read: a stranger's body costs nothing
        if url.path not in POST_PATHS:
            raise _HttpError(404, f"no page {url.path}")
        body = self._body()
        if url.path == "/api/draft":
            draft = _parse(DraftRequest, body)
            result = self._session_call(self.session.set_draft, draft.camera, draft.revision, draft.layout)
            self._json(200, result)
        elif url.path == "/api/floor":
            floor = _parse(FloorRequest, body)
            try:
                self._json(200, self.session.set_floor(floor.revision, floor.floor))
            except UnknownCamera as error:
                raise _HttpError(404, f"no camera {error.args[0]!r} at this site") from None
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
                    422, "the layout does not pass the config model", problems, code="invalid_layout"
                ) from None
            except OSError as error:
                log.error("setup: cannot write %s: %s", self.session.path, error.strerror)
                raise _HttpError(
                    500, f"cannot write {self.session.path.name}: {error.strerror}", code="cannot_write"
                ) from None
            self._json(200, {"file": self.session.path.name, "backup": backup.name})

    def _session_call(self, method: Any, camera: str, *args: Any) -> Any:
        try:
            return method(camera, *args)
        except UnknownCamera:
            raise _HttpError(404, f"no camera {camera!r} at this site") from None

    def _authorise(self) -> None:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise _HttpError(401, "open the address wartezone setup printed, with its #token=", code="token")

    def _body(self) -> Any:
        length = self._content_length()
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            raise _HttpError(408, f"the request did not arrive within {self.timeout_s:g} s") from None
        if len(raw) < length:
            raise _HttpError(400, f"the body ended after {len(raw)} of its {length} bytes")
        self._body_unread = False
        return _json_of(raw)

    def _content_length(self) -> int:
        """The body's declared length: required (a body read until the client stops has no bound),
        digits only (int() would take '-1', '+5' and '1_000'), at most MAX_BODY_BYTES."""
        if "Transfer-Encoding" in self.headers:
            raise _HttpError(411, "send the body with a Content-Length, not in chunks")
        declared = self.headers.get_all("Content-Length") or []
        if not declared:
            raise _HttpError(411, "a POST needs a Content-Length (0 for no body)")
        if len(set(declared)) > 1:
            raise _HttpError(400, f"{len(declared)} different Content-Length headers")
        value = declared[0].strip()
        if WHOLE_NUMBER.fullmatch(value) is None:
            raise _HttpError(400, f"Content-Length must be a number of bytes, got {value[:20]!r}")
        if len(value) > len(str(MAX_BODY_BYTES)) or int(value) > MAX_BODY_BYTES:
            raise _HttpError(413, f"body of {value[:20]} bytes; at most {MAX_BODY_BYTES}")
        return int(value)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        self._send(status, json.dumps(body).encode(), "application/json", extra)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.connection.settimeout(self.timeout_s)  # a client that never reads holds no thread for ever
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _json_of(raw: bytes) -> Any:
    """The body as JSON; anything else (not JSON, not UTF-8, nested past Python's recursion limit,
    a number of more than MAX_NUMBER_DIGITS digits) is a 400 that says which."""
    try:
        return json.loads(raw or b"{}", parse_int=_whole_number)
    except RecursionError:
        raise _HttpError(400, "body is not JSON of this page: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError among them
        raise _HttpError(400, f"body is not JSON: {error}") from None


def _whole_number(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _HttpError(
            400, f"body has a number of {len(digits.lstrip('-'))} digits; at most {MAX_NUMBER_DIGITS}"
        )
    return int(digits)


def _parse(model: type[_Request], body: Any) -> _Request:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        problems = [
            {"path": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
            for e in error.errors()
        ]
        raise _HttpError(422, "the request does not have the expected shape", problems) from None
