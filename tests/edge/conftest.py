"""Fixtures of the edge tests: a small fake camera on 127.0.0.1 (tests/edge/fake_camera.py)."""

from __future__ import annotations

import socketserver
from collections.abc import Iterator

import pytest

from tests.edge.fake_camera import Serve, start_camera


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Starts a small camera on 127.0.0.1; gives its port."""
    servers: list[socketserver.ThreadingTCPServer] = []
    yield lambda camera: start_camera(camera, servers)
    for server in servers:
        server.shutdown()
        server.server_close()
