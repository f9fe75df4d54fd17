"""The edge service: a reader thread per camera, one analysis thread with the shared detector,
and /metrics, /healthz, /readyz served beside them."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry
from prometheus_client.process_collector import ProcessCollector

from edge.config import Config
from edge.detect import build_detector
from edge.metrics import EdgeMetrics
from edge.pipeline import CameraPipeline, FrameResult
from edge.server import make_app, serve
from edge.sources import open_source
from edge.sources.reader import CameraReader, CameraState

log = logging.getLogger(__name__)
WATCH_EVERY_S = 0.1  # how often camera states are checked when no frame arrives
BUSY_WINDOW_S = 10.0


class _Camera:
    """A camera's reader, its pipeline, and what the metrics have already been told."""

    def __init__(self, reader: CameraReader, pipeline: CameraPipeline) -> None:
        self.reader = reader
        self.pipeline = pipeline
        self.counted = {"reconnects": 0, "stalls": 0, "dropped": 0}
        self.down = False  # its zones are out of the exposition
        self.visits_dropped = False  # the outage outlasted max_gap_s and its open visits ended
        self.finished = False


class EdgeService:
    """Builds the stages from a config (failing fast on a bad model), then runs and serves them.

    One detector serves every camera: a 2-core box cannot afford a model copy per camera, and
    one inference at a time uses both cores best. The analysis thread takes the frame that has
    waited longest, so when the CPU cannot keep up every camera loses frames in equal measure;
    `wartezone_frames_dropped_total` and `wartezone_detector_busy_ratio` say so.
    """

    def __init__(self, config: Config, registry: CollectorRegistry | None = None) -> None:
        self.config = config
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        detector = build_detector(config.detector)
        self.metrics = EdgeMetrics(self.registry, config, detector.info)
        self._wake = threading.Event()
        self._cameras = [
            _Camera(
                CameraReader(camera, partial(open_source, camera.source), self._wake.set),
                CameraPipeline(camera, detector, config.tracker, self.metrics, config.detector.region),
            )
            for camera in config.cameras
        ]
        self._stop = threading.Event()
        self._analysis = threading.Thread(target=self._analyse_loop, name="analysis", daemon=True)
        self._server: WSGIServer | None = None
        self._busy: deque[tuple[float, float]] = deque()  # (finished at, seconds busy) in the window
        self._busy_s = 0.0
        self.on_result: Callable[[str, FrameResult], None] | None = None

    @property
    def metrics_port(self) -> int:
        assert self._server is not None, "service not started"
        return int(self._server.server_port)

    def readiness(self) -> tuple[bool, dict[str, str]]:
        states = {c.pipeline.camera.id: c.reader.state.value for c in self._cameras}
        return any(s == CameraState.UP.value for s in states.values()), states

    def start(self) -> None:
        m = self.config.metrics
        self._server, _ = serve(m.host, m.port, make_app(self.registry, self.readiness))
        log.info("metrics on http://%s:%d/metrics", m.host, self.metrics_port)
        for camera in self._cameras:
            camera.reader.start()
        self._analysis.start()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until every camera has ended (files without loop do); True when they all have."""
        self._analysis.join(timeout_s)
        return not self._analysis.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for camera in self._cameras:
            camera.reader.stop()
        self._analysis.join(timeout=10)
        for camera in self._cameras:
            camera.reader.join(timeout_s=10)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- the analysis thread ---------------------------------------------------------------

    def _analyse_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(WATCH_EVERY_S)
            self._wake.clear()
            self._watch(time.monotonic())
            while (camera := self._longest_waiting()) is not None and not self._stop.is_set():
                self._analyse(camera)
            if all(c.finished for c in self._cameras):
                return

    def _longest_waiting(self) -> _Camera | None:
        waiting = [
            (at, i) for i, c in enumerate(self._cameras) if (at := c.reader.waiting_since()) is not None
        ]
        return self._cameras[min(waiting)[1]] if waiting else None

    def _analyse(self, camera: _Camera) -> None:
        delivery = camera.reader.take()
        if (
            delivery is None
            or camera.finished
            or camera.reader.state not in (CameraState.UP, CameraState.ENDED)
        ):
            return  # the camera went down since: an old frame must not bring its zones back
        started = time.monotonic()
        camera.down = camera.visits_dropped = False
        result = camera.pipeline.analyse(delivery.frame)
        self._record_busy(time.monotonic(), time.monotonic() - started)
        if self.on_result is not None:
            self.on_result(camera.pipeline.camera.id, result)

    def _record_busy(self, now: float, seconds: float) -> None:
        self._busy.append((now, seconds))
        self._busy_s += seconds
        while now - self._busy[0][0] >= BUSY_WINDOW_S:
            self._busy_s -= self._busy.popleft()[1]
        self.metrics.set_busy(min(1.0, self._busy_s / BUSY_WINDOW_S))

    def _watch(self, now: float) -> None:
        """Apply what the readers report: stalls, outages, counters, ends."""
        for camera in self._cameras:
            reader, pipeline, camera_id = camera.reader, camera.pipeline, camera.pipeline.camera.id
            reader.check_stall(now)
            self._sync_counters(camera)
            if camera.finished:
                continue
            if reader.state is CameraState.ENDED:
                if reader.waiting_since() is None:  # its last frame is analysed first
                    pipeline.finish()
                    camera.finished = True
            elif reader.state is not CameraState.UP:
                if not camera.down:
                    pipeline.go_down()  # unknown, not zero: its zones leave the exposition
                    camera.down = True
                gap_s = pipeline.camera.max_gap_s
                if not camera.visits_dropped and now - reader.state_since > gap_s:
                    camera.visits_dropped = True
                    if pipeline.drop_visits():
                        log.info("camera %s: down longer than %.0f s; open visits ended", camera_id, gap_s)
        if not any(c.reader.state is CameraState.UP for c in self._cameras):
            self.metrics.set_busy(0.0)

    def _sync_counters(self, camera: _Camera) -> None:
        reader, camera_id, counted = camera.reader, camera.pipeline.camera.id, camera.counted
        now = {
            "reconnects": reader.reconnects,
            "stalls": reader.stalls,
            "dropped": reader.replaced + reader.undecodable,
        }
        for key, value in now.items():
            if value > counted[key]:
                self.metrics.count_camera_event(camera_id, key, value - counted[key])
                counted[key] = value
