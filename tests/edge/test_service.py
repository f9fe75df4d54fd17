"""The edge service never stops counting in silence: a frame whose analysis fails is counted and
skipped, a camera whose frames keep failing reads unknown until they work again, a reader fault
restarts its camera, and a thread that dies anyway fails /healthz and the process."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import edge.service
from edge.cli import EXIT_FAILED, main
from edge.config import Config, ConfigError, MetricsConfig, parse_config
from edge.detect.base import ModelInfo
from edge.detections import Detections
from edge.service import EdgeService
from edge.sources import FileSource
from edge.sources.base import LazyFrame
from tests.conftest import make_detections
from tests.support import wait_for, write_video

SITE = "test-site"
PEOPLE = [(10.0, 5.0, 20.0, 40.0), (30.0, 5.0, 40.0, 40.0), (45.0, 8.0, 55.0, 44.0)]  # 3, standing still


class ScriptedDetector:
    """A detector at the edge of the service: finds PEOPLE, and raises where `fails(call, image)`."""

    info = ModelInfo(name="scripted", sha256="0" * 64, backend="scripted", input_size="any")

    def __init__(self, fails: Callable[[int, NDArray[np.uint8]], bool] = lambda *_: False) -> None:
        self.fails = fails
        self.calls = 0
        self._lock = threading.Lock()

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[tuple[int, int, int, int]] | None = None
    ) -> list[Detections]:
        with self._lock:
            self.calls += 1
            call = self.calls
        if any(self.fails(call, image) for image in images):
            raise RuntimeError(f"scripted failure on call {call}")
        return [make_detections(PEOPLE, [0.9] * len(PEOPLE)) for _ in images]


FPS = 24  # the made-up videos' rate; every frame is due
FRAMES = 24


def config(videos: dict[str, Path], realtime: bool = True, streams: int = 1, **camera: Any) -> Config:
    """Cameras reading files at their own pace (as a camera delivers), every frame due."""
    cameras = [
        {
            "id": camera_id,
            "source": {"type": "file", "path": str(video), "realtime": realtime},
            "fps": FPS,
            "reconnect": {"initial_s": 0.05, "max_s": 0.2},
            "zones": [{"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
            **camera,
        }
        for camera_id, video in videos.items()
    ]
    # every due frame reaches the detector (no motion gate), so calls and failures can be counted
    detector = {"motion_gate": None, "streams": streams}
    return parse_config(
        {"site": SITE, "cameras": cameras, "detector": detector, "metrics": {"port": 0}}, Path(".")
    )


class Running:
    """A started service and what a scrape would read from it."""

    def __init__(self, service: EdgeService) -> None:
        self.service = service

    def value(self, name: str, camera: str, zone: str | None = None) -> float | None:
        labels = {"site": SITE, "camera": camera} | ({"zone": zone} if zone else {})
        return self.service.registry.get_sample_value(name, labels)

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        url = f"http://127.0.0.1:{self.service.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture
def run_service() -> Iterator[Callable[..., Running]]:
    services: list[EdgeService] = []

    def start(cfg: Config, detector: ScriptedDetector) -> Running:
        service = EdgeService(cfg, detector=detector)
        services.append(service)
        service.start()
        return Running(service)

    yield start
    for service in services:
        service.stop()


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """1 s of video: FRAMES frames, each one due for analysis."""
    return write_video(tmp_path / "room.avi", frames=FRAMES, fps=FPS)


def _tracebacks(caplog: pytest.LogCaptureFixture, camera: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and f"camera {camera}:" in r.getMessage()]


@pytest.mark.parametrize(
    ("fails", "errors", "failing"),
    [
        (lambda call, _: False, 0, False),
        (lambda call, _: call == 3, 1, False),
        (lambda call, _: call % 7 == 0, None, False),  # ~1 in 7: never 5 in a row
        (lambda call, _: True, None, True),
    ],
    ids=["never", "once", "every-7th", "always"],
)
def test_a_frame_that_fails_analysis_is_counted_and_the_next_is_analysed(
    video: Path,
    run_service: Callable[..., Running],
    caplog: pytest.LogCaptureFixture,
    fails: Callable[[int, NDArray[np.uint8]], bool],
    errors: int | None,
    failing: bool,
) -> None:
    detector = ScriptedDetector(fails)
    running = run_service(config({"door": video}), detector)

    assert running.service.wait(timeout_s=30), "the video did not end"
    assert running.service.failure is None

    counted = running.value("wartezone_analysis_errors_total", "door")
    analysed = running.value("wartezone_frames_analysed_total", "door")
    dropped = running.value("wartezone_frames_dropped_total", "door")
    assert counted == (
        errors if errors is not None else sum(fails(c, np.zeros(1)) for c in range(1, detector.calls + 1))
    )
    assert analysed == detector.calls - counted  # every other frame went on being analysed
    assert analysed + counted + dropped == FRAMES  # every due frame is accounted for
    assert len(_tracebacks(caplog, "door")) == (1 if counted else 0)  # one burst, one traceback
    failing_logged = any("frames in a row failed analysis" in r.getMessage() for r in caplog.records)
    assert failing_logged is failing
    if not failing:
        assert running.value("wartezone_zone_entries_total", "door", "all") == 3
        assert running.value("wartezone_zone_exits_total", "door", "all") == 3  # ended with the video


def test_a_camera_whose_frames_keep_failing_reads_unknown_then_comes_back(
    video: Path, run_service: Callable[..., Running], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    seen: dict[str, Any] = {}
    running: Running | None = None

    def fails(call: int, _: NDArray[np.uint8]) -> bool:
        if call == 9 and running is not None:  # in the middle of the failing run: what a scrape sees
            seen["ready"] = running.get("/readyz")
            seen["up"] = running.value("wartezone_camera_up", "door")
            seen["occupancy"] = running.value("wartezone_zone_occupancy", "door", "all")
        return 4 <= call <= 12

    detector = ScriptedDetector(fails)
    running = run_service(config({"door": video}), detector)
    assert running.service.wait(timeout_s=30)

    assert seen["ready"] == (503, {"ready": False, "cameras": {"door": "failing"}})
    assert seen["up"] == 0 and seen["occupancy"] is None  # unknown, not 0 people
    assert running.value("wartezone_analysis_errors_total", "door") == 9
    messages = [r.getMessage() for r in caplog.records]
    assert sum("5 frames in a row failed analysis" in m for m in messages) == 1
    assert sum("analysing again after 9 failed frames" in m for m in messages) == 1
    assert running.value("wartezone_zone_exits_total", "door", "all") == 3  # counted to the end


def test_failures_on_one_camera_leave_the_others_counting(
    tmp_path: Path, run_service: Callable[..., Running]
) -> None:
    small = write_video(tmp_path / "small.avi", frames=FRAMES, fps=FPS, size=(64, 48))
    large = write_video(tmp_path / "large.avi", frames=FRAMES, fps=FPS, size=(96, 72))
    detector = ScriptedDetector(lambda _, image: image.shape[0] == 72)  # the hall's frames fail
    running = run_service(config({"door": small, "hall": large}), detector)
    assert running.service.wait(timeout_s=30)

    assert running.value("wartezone_analysis_errors_total", "door") == 0
    assert (running.value("wartezone_frames_analysed_total", "door") or 0) >= FRAMES - 4
    assert running.value("wartezone_zone_entries_total", "door", "all") == 3
    assert (running.value("wartezone_analysis_errors_total", "hall") or 0) >= FRAMES - 4
    assert running.value("wartezone_frames_analysed_total", "hall") == 0
    assert running.service.failure is None


class InFlight(ScriptedDetector):
    """Takes a while per frame and notes how many frames it holds at once, in all and per camera
    (the cameras' pictures differ in width)."""

    def __init__(self) -> None:
        super().__init__()
        self.now: dict[int, int] = {}
        self.most = 0
        self.most_per_camera = 0

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[tuple[int, int, int, int]] | None = None
    ) -> list[Detections]:
        width = images[0].shape[1]
        with self._lock:
            self.now[width] = self.now.get(width, 0) + 1
            self.most = max(self.most, sum(self.now.values()))
            self.most_per_camera = max(self.most_per_camera, self.now[width])
        time.sleep(0.01)
        try:
            return super().detect_batch(images, regions)
        finally:
            with self._lock:
                self.now[width] -= 1


@pytest.mark.parametrize("streams", [1, 2])
def test_each_stream_analyses_a_camera_at_a_time_and_the_counts_hold(
    tmp_path: Path, run_service: Callable[..., Running], streams: int
) -> None:
    """With streams: 2 two analysis threads take frames of two cameras at once, never two of one
    camera (its tracker steps in order), and the service ends only once every last frame is counted."""
    sizes = {"door": (64, 48), "hall": (96, 72), "desk": (128, 96)}
    videos = {c: write_video(tmp_path / f"{c}.avi", frames=FRAMES, fps=FPS, size=s) for c, s in sizes.items()}
    detector = InFlight()
    running = run_service(config(videos, realtime=False, streams=streams), detector)
    assert running.service.wait(timeout_s=30)

    assert detector.most == streams and detector.most_per_camera == 1
    for camera in sizes:  # every frame analysed, and each camera's visits whole
        assert running.value("wartezone_frames_analysed_total", camera) == FRAMES
        assert running.value("wartezone_zone_entries_total", camera, "all") == 3
        assert running.value("wartezone_zone_exits_total", camera, "all") == 3
    assert running.service.failure is None


@pytest.mark.parametrize("streams", [1, 2])
def test_a_room_two_cameras_see_counts_its_people_once_with_either_stream_count(
    tmp_path: Path, run_service: Callable[..., Running], streams: int
) -> None:
    """Both cameras see the same floor (one calibration): the room's steps pair their frames, which
    two analysis threads hand to the room in either order."""
    videos = {c: write_video(tmp_path / f"{c}.avi", frames=FRAMES, fps=FPS) for c in ("door", "hall")}
    pairs = [{"image": [x, y], "floor": [8 * x, 7 * y]} for x, y in [(0, 0), (1, 0), (1, 1), (0, 1)]]
    data = config(videos, realtime=False, streams=streams).model_dump(mode="json")
    for camera in data["cameras"]:
        camera["floor_calibration"] = {"points": pairs}
    data["floor"] = {"rooms": [{"id": "hall", "polygon": [[0, 0], [8, 0], [8, 7], [0, 7]]}]}
    running = run_service(parse_config(data, Path(".")), ScriptedDetector())
    assert running.service.wait(timeout_s=30)

    assert running.value("wartezone_zone_entries_total", "floor", "hall") == len(PEOPLE)
    assert running.value("wartezone_zone_exits_total", "floor", "hall") == len(PEOPLE)
    assert running.service.failure is None


def test_ten_minutes_with_every_seventh_frame_failing_keep_correct_figures(
    tmp_path: Path, run_service: Callable[..., Running]
) -> None:
    """Ten minutes of video as fast as the service takes it (a file that is not paced waits for the
    detector, so every frame is analysed or counted as failed, none dropped)."""
    long_video = write_video(tmp_path / "ten-minutes.avi", frames=1200, fps=2)
    cfg = config({"door": long_video}, realtime=False, fps=2)
    detector = ScriptedDetector(lambda call, _: call % 7 == 0)
    running = run_service(cfg, detector)
    assert running.service.wait(timeout_s=120)

    analysed = running.value("wartezone_frames_analysed_total", "door") or 0
    errors = running.value("wartezone_analysis_errors_total", "door") or 0
    dropped = running.value("wartezone_frames_dropped_total", "door") or 0
    assert errors == detector.calls // 7 > 10 and analysed == detector.calls - errors
    assert analysed + errors == 1200 and dropped == 0
    # The same three people all along: three visits of the whole ten minutes, none broken.
    assert running.value("wartezone_zone_entries_total", "door", "all") == 3
    assert running.value("wartezone_zone_exits_total", "door", "all") == 3
    dwell = running.value("wartezone_zone_dwell_seconds_sum", "door", "all") or 0
    assert 3 * 590 <= dwell <= 3 * 600
    assert running.service.failure is None


def test_a_thread_that_dies_fails_health_and_ends_the_wait(
    video: Path, run_service: Callable[..., Running]
) -> None:
    cfg = config({"door": video}, source={"type": "file", "path": str(video), "loop": True})
    running = EdgeService(cfg, detector=ScriptedDetector())

    def broken_consumer(camera: str, result: object) -> None:
        raise RuntimeError("the consumer of results broke")

    running.on_result = broken_consumer
    running.start()
    try:
        assert running.wait(timeout_s=10), "a dead analysis thread must end the wait"
        assert running.failure is not None and "thread analysis died" in running.failure
        status, body = Running(running).get("/healthz")
        assert status == 500 and body["status"] == "failed" and "RuntimeError" in body["reason"]
    finally:
        running.stop()


def test_edge_run_exits_non_zero_when_a_thread_dies(
    video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.yaml"
    camera = {
        "id": "door",
        "source": {"type": "file", "path": str(video), "loop": True, "realtime": False},
        "zones": [{"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
    }
    path.write_text(json.dumps({"site": SITE, "cameras": [camera], "metrics": {"port": 0}}), encoding="utf-8")
    monkeypatch.setattr(edge.service, "build_detector", lambda _: ScriptedDetector())

    def broken_status(*_: object) -> None:
        raise RuntimeError("the terminal status broke")

    monkeypatch.setattr("edge.terminal.LiveStatus.update", broken_status)

    assert main(["edge", "run", "-c", str(path)]) == EXIT_FAILED
    assert "thread analysis died: RuntimeError: the terminal status broke" in capsys.readouterr().err


class _FlakySource:
    """The real file source, whose first connection fails with an error nobody planned for."""

    def __init__(self, source: FileSource) -> None:
        self.name = source.name
        self._source = source
        self._attempts = itertools.count(1)

    def frames(self) -> Iterator[LazyFrame]:
        if next(self._attempts) == 1:
            raise KeyError("a bug in a decoder wrapper")
        return self._source.frames()

    def close(self) -> None:
        self._source.close()


def test_an_unexpected_reader_error_restarts_its_camera(
    video: Path,
    run_service: Callable[..., Running],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_open = edge.service.open_source
    monkeypatch.setattr(edge.service, "open_source", lambda cfg: _FlakySource(real_open(cfg)))  # type: ignore[arg-type]
    running = run_service(config({"door": video}), ScriptedDetector())

    assert running.service.wait(timeout_s=30), "the camera did not come back and end its video"
    assert running.service.failure is None
    assert (running.value("wartezone_camera_reconnects_total", "door") or 0) >= 1
    assert (running.value("wartezone_frames_analysed_total", "door") or 0) >= FRAMES - 4
    assert len(_tracebacks(caplog, "door")) == 1
    assert any("reading failed unexpectedly; restarting" in r.getMessage() for r in caplog.records)


def test_a_truncated_looping_file_is_a_broken_camera_not_a_frozen_room(
    demo_video: Path, tmp_path: Path, run_service: Callable[..., Running], caplog: pytest.LogCaptureFixture
) -> None:
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(demo_video.read_bytes()[:100_000])  # declares 795 frames, decodes a few
    cfg = config({"door": truncated}, source={"type": "file", "path": str(truncated), "loop": True})
    running = run_service(cfg, ScriptedDetector())

    wait_for(lambda: running.service.readiness()[1]["door"] == "down", 10, "the camera going down")
    wait_for(lambda: (running.value("wartezone_camera_reconnects_total", "door") or 0) >= 5, 10, "retries")

    assert running.value("wartezone_camera_up", "door") == 0
    assert running.value("wartezone_zone_occupancy", "door", "all") is None  # unknown, never a frozen 3
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors  # once per outage, however often it retries
    assert errors[0].startswith("camera door: video file ") and "decodes only" in errors[0]
    loop_lines = [r for r in caplog.records if "plays again" in r.getMessage()]
    assert loop_lines == []  # a broken file is never looped


def test_a_metrics_port_in_use_names_the_port_and_the_setting(video: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        cfg = config({"door": video}).model_copy(
            update={"metrics": MetricsConfig(host="127.0.0.1", port=port)}
        )
        service = EdgeService(cfg, detector=ScriptedDetector())
        with pytest.raises(ConfigError) as raised:
            service.start()
    ((path, message),) = raised.value.problems
    assert path == "metrics.port"
    assert (
        message.startswith(f"port {port} on 127.0.0.1 is in use") and "choose another metrics.port" in message
    )


def test_malloc_is_limited_before_the_detector_is_built(video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(edge.service, "limit_malloc", lambda: calls.append("limit_malloc") or [])

    def build(_: object) -> ScriptedDetector:
        calls.append("build_detector")
        return ScriptedDetector()

    monkeypatch.setattr(edge.service, "build_detector", build)
    EdgeService(config({"door": video}))
    assert calls == ["limit_malloc", "build_detector"]  # its threads' arenas are limited from the start
