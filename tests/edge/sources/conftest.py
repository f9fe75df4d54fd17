"""A real RTSP server for the source tests: GStreamer's, in a child process (Debian's python3-gi),
serving real footage, so that tests can kill, restart and freeze it."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support import free_port

SERVER_SCRIPT = REPO / "tests" / "rtsp_server.py"
DEBIAN_PYTHON = "/usr/bin/python3"


class RtspServer:
    """GStreamer's RTSP server in a child process, so tests can kill, restart and freeze it."""

    def __init__(
        self, video: Path, mounts: tuple[str, ...] = ("cam",), credentials: str | None = None
    ) -> None:
        self.video = video
        self.mounts = mounts
        self.credentials = credentials  # "user:password": every mount asks for them
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    def url(self, mount: str = "cam") -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [DEBIAN_PYTHON, str(SERVER_SCRIPT), str(self.video), str(self.port), *self.mounts],
            env=os.environ | ({"RTSP_CREDENTIALS": self.credentials} if self.credentials else {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready", "the RTSP server did not start"

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def video(shared_data: Path) -> Path:
    return shared_data / "pets2009-s2l1" / "vtest.avi"


@pytest.fixture
def rtsp(video: Path) -> Iterator[Callable[..., RtspServer]]:
    if not Path(DEBIAN_PYTHON).exists():
        pytest.fail("Debian's python3 with gi is missing: scripts/setup.sh --dev installs it")
    servers: list[RtspServer] = []

    def make(*mounts: str) -> RtspServer:
        server = RtspServer(video, mounts or ("cam",))
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        if server.process is not None:
            server.thaw()
        server.kill()
