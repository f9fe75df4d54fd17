"""Helpers of the API tests: fakes only at the edges (an edge box's /metrics page, a webhook
receiver, the clock) and a real uvicorn server in a thread."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.support import free_port, wait_for

DESK = "desk-token-0123456789abcdef"
LEAD = "lead-token-0123456789abcdef"
SECRET = "webhook-secret-0123456789"
DESK_HEADERS = {"Authorization": f"Bearer {DESK}"}
LEAD_HEADERS = {"Authorization": f"Bearer {LEAD}"}


class FakeClock:
    def __init__(self, start: float = 1_764_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


def exposition(
    site: str,
    occupancy: dict[tuple[str, str], float],
    up: dict[str, bool],
    last_frame: dict[str, float],
) -> str:
    """An edge box's /metrics text in the contracted shape (tests/contract/edge_exposition.prom)."""
    lines = ["# TYPE wartezone_zone_occupancy gauge"]
    lines += [
        f'wartezone_zone_occupancy{{camera="{c}",site="{site}",zone="{z}"}} {v}'
        for (c, z), v in occupancy.items()
    ]
    lines.append("# TYPE wartezone_camera_up gauge")
    lines += [f'wartezone_camera_up{{camera="{c}",site="{site}"}} {int(v)}' for c, v in up.items()]
    lines.append("# TYPE wartezone_camera_last_frame_timestamp_seconds gauge")
    lines += [
        f'wartezone_camera_last_frame_timestamp_seconds{{camera="{c}",site="{site}"}} {v}'
        for c, v in last_frame.items()
    ]
    return "\n".join(lines) + "\n"


class _Server:
    """A stdlib HTTP server on 127.0.0.1 in a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeEdge:
    """An edge box's /metrics page, serving whatever the test sets: the edge of the unit."""

    def __init__(self, site: str = "north") -> None:
        self.site = site
        self.text: str | None = exposition(site, {}, {}, {})  # fixed text, or None: live from set()
        self.status = 200
        self._live: tuple[dict[tuple[str, str], float], dict[str, bool]] = ({}, {})
        edge = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = edge.render().encode()
                self.send_response(edge.status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(Handler)
        self.url = f"http://127.0.0.1:{self._server.port}/metrics"

    def set(
        self,
        occupancy: dict[tuple[str, str], float],
        up: dict[str, bool] | None = None,
        at: float | None = None,
    ) -> None:
        """Cameras in `up` (default: those with occupancy, all up) report a frame at `at`, or, without
        `at`, a new frame at every scrape, as a live camera does."""
        cameras = up if up is not None else {c: True for c, _ in occupancy}
        if at is None:
            self.text = None
            self._live = (dict(occupancy), dict(cameras))
        else:
            self.text = exposition(self.site, occupancy, cameras, dict.fromkeys(cameras, at))

    def render(self) -> str:
        if self.text is not None:
            return self.text
        occupancy, cameras = self._live
        return exposition(self.site, occupancy, cameras, dict.fromkeys(cameras, time.time()))

    def close(self) -> None:
        self._server.close()


class Receiver:
    """A webhook receiver on 127.0.0.1: records each POST, verifies nothing itself (tests do)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._server: _Server | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(Handler, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def events(self, secret: str = SECRET) -> list[dict[str, Any]]:
        """The bodies received, each checked against its signature header."""
        out = []
        for headers, body in self.received:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers.get("x-wartezone-signature", ""), expected), "bad signature"
            out.append(json.loads(body))
        return out


class ServerThread:
    """The app served by a real uvicorn on 127.0.0.1, in a thread (for browsers and SSE clients)."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        wait_for(lambda: self.server.started, 10, "uvicorn to start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def client_for(server: ServerThread, token: str = DESK) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
