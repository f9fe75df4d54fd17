"""Runs an edge service, a replay or the setup page under an audit hook; prints what it wrote and
where it connected.

Run as a child process by tests/edge/test_privacy.py: an audit hook cannot be removed once added.
Usage: python tests/edge/audited_run.py service CONFIG | replay CONFIG VIDEO OUT_DIR | setup CONFIG
(setup: prints {"url", "token"} first, then the report once a line arrives on its stdin; the test
uses the page from its own process meanwhile, so that this one's connections are only its own.)
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
writes: list[str] = []
connects: list[str] = []
binds: list[tuple[socket.socket, Any]] = []


def audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open":
        path, mode, flags = args
        by_mode = isinstance(mode, str) and any(c in mode for c in "wax+")
        by_flags = isinstance(flags, int) and bool(flags & WRITE_FLAGS)
        # A descriptor (an int) was opened, and seen here, by its path before.
        if (by_mode or by_flags) and path is not None and not isinstance(path, int):
            writes.append(str(path))
    elif event == "os.rename":  # os.rename and os.replace: the destination is written
        writes.append(str(args[1]))
    elif event == "socket.bind":
        binds.append((args[0], args[1]))
    elif event == "socket.connect":
        connects.append(repr(args[1]))


def listening() -> list[str]:
    """Addresses of bound sockets still open and accepting connections (some libraries bind a
    socket for a moment to probe IPv6 support; only listeners matter)."""
    return [
        repr(address)
        for sock, address in binds
        if sock.fileno() != -1 and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    ]


# tempfile probes the temp folder once by writing and deleting 4 bytes of its own; done before
# the hook so that the report holds only what the product writes.
tempfile.gettempdir()
sys.addaudithook(audit)

from edge.config import load_config  # noqa: E402  (imports are audited too)

# Paths a page that shows pictures might use; the service must answer none of them with one.
PROBES = [
    "/",
    "/metrics",
    "/healthz",
    "/readyz",
    "/snapshot",
    "/snapshot.jpg",
    "/frame.jpg",
    "/image",
    "/cam.jpg",
    "/api/picture/cam?version=1",
    "/api/state",
    "/setup",
    "/favicon.ico",
    "/../../etc/passwd",
]


def probe(port: int) -> dict[str, list[Any]]:
    """Each path's status, content type and the first bytes of its body."""
    answers: dict[str, list[Any]] = {}
    for path in PROBES:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
                status, kind, body = answer.status, answer.headers.get("Content-Type", ""), answer.read()
        except urllib.error.HTTPError as error:
            with error:
                status, kind, body = error.code, error.headers.get("Content-Type", ""), error.read()
        answers[path] = [status, kind, body[:16].hex(), len(body)]
    return answers


def main() -> None:
    mode, config_path = sys.argv[1], Path(sys.argv[2])
    config = load_config(config_path)
    report: dict[str, Any] = {}
    if mode == "setup":
        from edge.setup.server import SetupServer
        from edge.setup.session import SetupSession

        server = SetupServer("127.0.0.1", 0)
        session = SetupSession(config, config_path)
        session.start()
        server.start(session)
        print(json.dumps({"url": f"http://127.0.0.1:{server.port}", "token": server.token}), flush=True)
        sys.stdin.readline()
        seen_writes, seen_connects, seen_listeners = list(writes), list(connects), listening()
        server.stop()
        session.stop()
    elif mode == "service":
        from edge.service import EdgeService

        service = EdgeService(config)
        service.start()
        service.wait()
        report["port"] = service.metrics_port
        seen_writes, seen_connects, seen_listeners = list(writes), list(connects), listening()
        url = f"http://127.0.0.1:{service.metrics_port}/metrics"
        report["exposition"] = urllib.request.urlopen(url, timeout=10).read().decode()
        report["probes"] = probe(service.metrics_port)
        service.stop()
    else:
        from edge.replay import replay

        video, out_dir = Path(sys.argv[3]), Path(sys.argv[4])
        replay(video, config, config.cameras[0], out_dir, progress=False)
        seen_writes, seen_connects, seen_listeners = list(writes), list(connects), listening()
    report["writes"] = seen_writes
    report["connects"] = seen_connects
    report["listening"] = seen_listeners
    report["bound"] = [repr(address) for _, address in binds]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
