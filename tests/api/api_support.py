"""Helpers of the API tests: fakes only at the edges (an edge box's /metrics page, a webhook
receiver, the clock) and a real uvicorn server in a thread."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from fastapi import FastAPI

from api.app import create_app
from api.domain import Clock, SystemClock
from api.notify import verify
from api.settings import Settings
from tests.conftest import need_tool
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


class RunningClock:
    """Real time, started at a chosen instant: a test whose figures depend on the hour of day
    (the simulated arrival profile) sees the same hour whenever it runs."""

    def __init__(self, start: float) -> None:
        self._offset = start - time.time()

    def now(self) -> float:
        return time.time() + self._offset


# What FakeEdge reports as its zones' display names (wartezone_zone_info) unless a test says otherwise.
ZONE_NAMES = {("entrance", "waiting"): "Wartebereich Süd"}


def exposition(
    site: str,
    occupancy: dict[tuple[str, str], float],
    up: dict[str, bool],
    last_frame: dict[str, float],
    names: dict[tuple[str, str], str] | None = None,
    entries: dict[tuple[str, str], float] | None = None,
    exits: dict[tuple[str, str], float] | None = None,
) -> str:
    """An edge box's /metrics text in the contracted shape (tests/contract/edge_exposition.prom):
    every configured zone (names) has its info series; occupancy, the counted ones; entries and
    exits, the counters as the edge's prometheus_client writes them (family without _total)."""
    lines = ["# TYPE wartezone_zone_info gauge"]
    lines += [
        f'wartezone_zone_info{{camera="{c}",name="{n}",site="{site}",zone="{z}"}} 1.0'
        for (c, z), n in (names or {}).items()
    ]
    lines.append("# TYPE wartezone_zone_occupancy gauge")
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
    for family, counts in (("wartezone_zone_entries", entries), ("wartezone_zone_exits", exits)):
        lines.append(f"# TYPE {family} counter")
        lines += [
            f'{family}_total{{camera="{c}",site="{site}",zone="{z}"}} {v}'
            for (c, z), v in (counts or {}).items()
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

    def __init__(self, site: str = "north", names: dict[tuple[str, str], str] | None = None) -> None:
        self.site = site
        # (camera, zone) -> display name, exported whatever set() says, as the edge does
        self.names = dict(ZONE_NAMES if names is None else names)
        self.text: str | None = None  # fixed text, or None: live from set()
        self.status = 200
        # the zones' counters, exported as they are whatever set() says, as the edge's counters run on
        self.entries: dict[tuple[str, str], float] = {}
        self.exits: dict[tuple[str, str], float] = {}
        self._live: tuple[dict[tuple[str, str], float], dict[str, bool]] | None = None
        self.clock: Clock = SystemClock()  # the frames' time; a test with its own clock gives it here too
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
            last = dict.fromkeys(cameras, at)
            self.text = exposition(self.site, occupancy, cameras, last, self.names, self.entries, self.exits)

    def render(self) -> str:
        if self.text is not None:
            return self.text
        if self._live is None:  # nothing set: the configured zones, nothing counted yet
            return exposition(self.site, {}, {}, {}, self.names, self.entries, self.exits)
        occupancy, cameras = self._live
        last = dict.fromkeys(cameras, self.clock.now())
        return exposition(self.site, occupancy, cameras, last, self.names, self.entries, self.exits)

    def close(self) -> None:
        self._server.close()


class Receiver:
    """A webhook receiver on 127.0.0.1: records each POST, verifies nothing itself (tests do)."""

    def __init__(self, port: int | None = None, failures: int = 0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.failures = failures  # the first POSTs answered 500 (recorded all the same)
        self._server: _Server | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(500 if len(receiver.received) <= receiver.failures else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(Handler, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def events(self, secret: str = SECRET) -> list[dict[str, Any]]:
        """The bodies received, each checked against its signature and timestamp headers."""
        out = []
        for headers, body in self.received:
            timestamp, signature = headers.get("x-wartezone-timestamp"), headers.get("x-wartezone-signature")
            assert verify(secret, body, timestamp, signature, now=time.time()), "bad signature"
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


def client_for(server: ServerThread | Site, token: str = DESK) -> httpx.Client:
    url = server.server.url if isinstance(server, Site) else server.url
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@dataclass
class Site:
    """The API under uvicorn reading a fake edge box: what the page tests open."""

    edge: FakeEdge
    settings: Settings
    server: ServerThread

    def rule(self, zone: str, rule: dict[str, Any]) -> None:
        with client_for(self, LEAD) as client:
            response = client.put(f"/api/v1/rules/north/{zone}", json=rule)
            assert response.status_code == 200, response.text

    def zone(self, zone: str) -> dict[str, Any]:
        with client_for(self) as client:
            return dict(client.get(f"/api/v1/zones/north/{zone}").json())

    def restart(self, settings: Settings | None = None) -> None:
        self.server.stop()
        self.settings = settings or self.settings
        self.server = ServerThread(create_app(self.settings), port=self.server.port).start()


@contextmanager
def prometheus_server(workdir: Path, targets: list[str], tsdb: Path | None = None) -> Iterator[str]:
    """Debian's Prometheus on 127.0.0.1 scraping `targets` (host:port) every second, its data in
    `tsdb` (blocks made beforehand are read: kept for ten years); yields its URL once it is ready."""
    binary = need_tool("prometheus", "scripts/setup.sh --dev installs Debian's prometheus package")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {
                "job_name": "wartezone-edge",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": targets}],
            }
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={tsdb or workdir / 'tsdb'}",
            "--storage.tsdb.retention.time=10y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            return False

    try:
        wait_for(ready, 30, "Prometheus to start", every_s=0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)
