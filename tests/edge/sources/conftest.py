"""Cameras for the source tests: a real RTSP server, GStreamer's, in a child process (Debian's
python3-gi), serving real footage, so that tests can kill, restart and freeze it; an MJPEG camera
over HTTP in a thread."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import pytest

from tests.conftest import REPO
from tests.support import free_port

SERVER_SCRIPT = REPO / "tests" / "rtsp_server.py"
DEBIAN_PYTHON = "/usr/bin/python3"


class RtspServer:
    """GStreamer's RTSP server in a child process, so tests can kill, restart and freeze it."""

    def __init__(
        self,
        video: Path,
        mounts: tuple[str, ...] = ("cam",),
        credentials: str | None = None,
        as_is: bool = False,
    ) -> None:
        self.video = video
        self.mounts = mounts
        self.credentials = credentials  # "user:password": every mount asks for them
        self.as_is = as_is  # video is benchmarks.live.camera_stream's H.264 .mp4, sent as it is
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    def url(self, mount: str = "cam") -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [DEBIAN_PYTHON, str(SERVER_SCRIPT), str(self.video), str(self.port), *self.mounts],
            env=os.environ
            | ({"RTSP_CREDENTIALS": self.credentials} if self.credentials else {})
            | ({"RTSP_AS_IS": "1"} if self.as_is else {}),
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


def jpeg_frames(video: Path, count: int) -> list[bytes]:
    """The first `count` frames of `video` as JPEG files. (Encoded beforehand: OpenCV holds a
    global lock while a capture opens.)"""
    capture = cv2.VideoCapture(str(video))
    frames = []
    for _ in range(count):
        ok, image = capture.read()
        assert ok
        frames.append(cv2.imencode(".jpg", image)[1].tobytes())
    capture.release()
    return frames


class _MjpegHandler(BaseHTTPRequestHandler):
    """An MJPEG camera: its JPEG frames, one every 0.1 s, `rounds` times, in one multipart response."""

    jpegs: list[bytes]
    rounds: int

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        try:
            for jpeg in self.jpegs * self.rounds:
                head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                self.wfile.write(head.encode() + jpeg + b"\r\n")
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def mjpeg() -> Iterator[Callable[..., str]]:
    """Starts an MJPEG camera on 127.0.0.1 sending the given JPEG frames; gives its URL."""
    servers: list[ThreadingHTTPServer] = []

    def make(jpegs: list[bytes], rounds: int = 1) -> str:
        handler = type("Handler", (_MjpegHandler,), {"jpegs": jpegs, "rounds": rounds})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()
