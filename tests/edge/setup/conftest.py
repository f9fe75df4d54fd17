"""Fixtures of the setup tests: a site file with comments, a textured video as its camera, the setup
session and server running in this process with a detector faked at the edge, and a plain HTTP client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from edge.config import load_config
from edge.setup.server import SetupServer
from edge.setup.session import SetupSession
from tests.edge.test_pipeline import RecordingDetector
from tests.support import wait_for

WIDTH, HEIGHT = 320, 240
# Two people: the first stands in the zone `waiting` (left half), the second outside it.
PEOPLE = [(40.0, 50.0, 90.0, 200.0), (200.0, 60.0, 250.0, 220.0)]

SITE_YAML = """\
# the north branch: its entrance camera
site: north
metrics: {port: 0}
cameras:
  - id: door          # the entrance
    source: {type: file, path: door.avi, loop: true}
    fps: 2
    privacy_masks:
      - [[0.0, 0.0], [1.0, 0.0], [1.0, 0.1], [0.0, 0.1]]   # the street window
    zones:
      - id: waiting
        name: Wartebereich
        polygon: [[0.0, 0.2], [0.5, 0.2], [0.5, 1.0], [0.0, 1.0]]
        anchor: box_center    # kept when the zone is edited
        loiter_limit_s: 900
"""


def textured_frame() -> NDArray[np.uint8]:
    """Fine detail everywhere (what a face or a pattern shows), the same in every frame."""
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (HEIGHT // 4, WIDTH // 4, 3), dtype=np.uint8)
    return np.asarray(cv2.resize(noise, (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST), np.uint8)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """site.yaml beside door.avi: 2 s of the textured frame at 10 frames/s (MJPEG, near lossless)."""
    writer = cv2.VideoWriter(str(tmp_path / "door.avi"), cv2.VideoWriter.fourcc(*"MJPG"), 10, (WIDTH, HEIGHT))
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 100)
    for _ in range(20):
        writer.write(textured_frame())
    writer.release()
    path = tmp_path / "site.yaml"
    path.write_text(SITE_YAML, encoding="utf-8")
    return path


def camera_frame(site: Path) -> NDArray[np.uint8]:
    """The picture the camera delivers (the video decoded), to compare the served one with."""
    capture = cv2.VideoCapture(str(site.parent / "door.avi"))
    ok, image = capture.read()
    capture.release()
    assert ok
    return np.asarray(image, np.uint8)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Running:
    session: SetupSession
    server: SetupServer
    detector: RecordingDetector
    path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = "", raw: bytes | None = None
    ) -> Answer:
        """One request; token "" (the default) sends the right one, None none at all."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self.server.token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return Answer(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, dict(error.headers), error.read())

    def state(self) -> dict[str, Any]:
        answer = self.call("GET", "/api/state")
        assert answer.status == 200, answer.body
        state: dict[str, Any] = answer.json()
        return state

    def camera(self) -> dict[str, Any]:
        camera: dict[str, Any] = self.state()["cameras"][0]
        return camera

    def snapshot(self, revision: int = 0, after_version: int = 0) -> dict[str, Any]:
        """The door camera's snapshot once one counted with draft `revision` (newer than
        `after_version`) is there."""

        def ready() -> dict[str, Any] | None:
            snapshot = self.camera()["snapshot"]
            fits = snapshot and snapshot["revision"] == revision and snapshot["version"] > after_version
            return snapshot if fits else None

        return wait_for(ready, 20, f"a snapshot counted with draft {revision}", every_s=0.1)

    def draft(self, revision: int, zones: list[dict[str, Any]], masks: list[Any]) -> Answer:
        layout = {"zones": zones, "privacy_masks": masks}
        return self.call("POST", "/api/draft", {"camera": "door", "revision": revision, "layout": layout})


def zone(
    zone_id: str,
    polygon: list[list[float]],
    origin: str | None = None,
    name: str | None = None,
    loiter_limit_s: float | None = 600,
) -> dict[str, Any]:
    return {
        "origin": origin,
        "id": zone_id,
        "name": name,
        "polygon": polygon,
        "loiter_limit_s": loiter_limit_s,
    }


WAITING = zone(
    "waiting", [[0.0, 0.2], [0.5, 0.2], [0.5, 1.0], [0.0, 1.0]], "waiting", "Wartebereich", loiter_limit_s=900
)
WINDOW = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.1], [0.0, 0.1]]


@pytest.fixture
def running(site: Path) -> Iterator[Running]:
    with serving(site) as running:
        yield running


@contextmanager
def serving(site: Path) -> Iterator[Running]:
    """The setup session and server of this site file, running until the block ends."""
    detector = RecordingDetector(PEOPLE)
    session = SetupSession(load_config(site), site, detector=detector)
    server = SetupServer("127.0.0.1", 0)
    session.start()
    server.start(session)
    try:
        yield Running(session, server, detector, site)
    finally:
        server.stop()
        session.stop()


def write_opencv_calibration(path: Path) -> None:
    """A camera 3 m above the floor at (6, -2), looking down at 45 degrees, as cv2.FileStorage writes it."""
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    half = np.sqrt(0.5)
    rotation = np.array([[1.0, 0, 0], [0, -half, -half], [0, half, -half]])
    rvec, _ = cv2.Rodrigues(rotation)
    for name, value in (
        ("camera_matrix", np.array([[800.0, 0, 640], [0, 800, 360], [0, 0, 1]])),
        ("rvec", rvec),
        ("tvec", -rotation @ np.array([6.0, -2.0, 3.0])),
    ):
        storage.write(name, value)
    storage.write("image_width", 1280)
    storage.write("image_height", 720)
    storage.release()
