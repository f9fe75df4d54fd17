"""HTTP beside the pipeline: /metrics for Prometheus, /healthz and /readyz for orchestrators."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

StartResponse = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not news."""


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def make_app(
    registry: CollectorRegistry,
    readiness: Callable[[], tuple[bool, dict[str, str]]],
    failure: Callable[[], str | None] = lambda: None,
) -> WsgiApp:
    """readiness() -> (ready, camera id -> state): ready once the model is loaded and a camera is up.
    failure() -> what stopped the service from working (a dead thread), None while it works."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            if (reason := failure()) is not None:
                body = {"status": "failed", "reason": reason}
                return _json(start_response, "500 Internal Server Error", body)
            return _json(start_response, "200 OK", {"status": "alive"})
        if path == "/readyz":
            ready, cameras = readiness()
            status = "200 OK" if ready else "503 Service Unavailable"
            return _json(start_response, status, {"ready": ready, "cameras": cameras})
        return _json(start_response, "404 Not Found", {"error": f"no page {path}; try /metrics"})

    return app


def listen(host: str, port: int, app: WsgiApp) -> WSGIServer:
    """A server bound and listening on host:port, not serving yet. `wartezone check` tries this very
    bind (IPv4, SO_REUSEADDR), so a stopped edge's connections in TIME-WAIT do not count as in use."""
    return make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)


def serve(host: str, port: int, app: WsgiApp) -> tuple[WSGIServer, threading.Thread]:
    server = listen(host, port, app)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    return server, thread
