"""The edge service: a reader thread per camera, analysis threads sharing one detector (one per
`detector.streams`), a watchdog, and /metrics, /healthz, /readyz served beside them."""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry
from prometheus_client.process_collector import ProcessCollector

from edge.config import Config, ConfigError, OpenvinoDetectorConfig
from edge.detect import Detector, build_detector
from edge.memory import limit_malloc
from edge.metrics import EdgeMetrics
from edge.pipeline import CameraPipeline, FrameResult
from edge.runner import CameraRunner, CameraState
from edge.server import make_app, serve
from edge.sources import open_source
from edge.sources.reader import CameraReader
from edge.sources.sampling import on_grid
from edge.zones.layout import layout_warnings
from edge.zones.room_steps import SiteRooms

log = logging.getLogger(__name__)
WATCH_EVERY_S = 0.1  # how often the watchdog looks for stalls, long outages and dead threads
BUSY_WINDOW_S = 10.0


class _Camera:
    def __init__(self, runner: CameraRunner, reader: CameraReader) -> None:
        self.runner = runner
        self.reader = reader


class EdgeService:
    """Builds the stages from a config (failing fast on a bad model), then runs and serves them.

    One detector serves every camera: a 2-core box cannot afford a model copy per camera. With
    `detector.streams` > 1 as many analysis threads each analyse a camera's frame at once (never
    two frames of one camera), each inference on its share of the cores. An analysis thread takes
    the frame that has waited longest, so when the CPU cannot keep up every camera loses frames in
    equal measure; `wartezone_frames_dropped_total` and `wartezone_detector_busy_ratio` say so.

    A thread that dies anyway (a fault outside a frame's analysis) marks the service failed:
    /healthz answers 500 and `wait` returns, so the process can exit non-zero and be restarted.
    `detector` replaces the one the config names (tests).
    """

    def __init__(
        self,
        config: Config,
        registry: CollectorRegistry | None = None,
        detector: Detector | None = None,
    ) -> None:
        limit_malloc()  # before the detector's threads and the readers start
        self.config = config
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        detector = detector or build_detector(config.detector)
        self.metrics = EdgeMetrics(self.registry, config, detector.info)
        self._wake = threading.Event()
        self.rooms = SiteRooms(config, self.metrics)
        self._cameras = []
        for camera in config.cameras:
            for warning in layout_warnings(camera):
                log.warning("%s", warning)
            pipeline = CameraPipeline(
                camera,
                detector,
                config.tracker,
                self.metrics,
                config.detector,
                self.rooms,
            )
            # A room's cameras take frames on one grid of the clock, so their frames pair in time.
            select = on_grid(camera.fps) if self.rooms.sees_rooms(camera.id) else None
            runner = CameraRunner(camera, pipeline, self.metrics, select, on_frame_ready=self._wake.set)
            self._cameras.append(_Camera(runner, CameraReader(camera, open_source(camera.source), runner)))
        self._stop = threading.Event()
        self._done = threading.Event()  # every camera ended, or a thread died
        self.failure: str | None = None
        streams = config.detector.streams if isinstance(config.detector, OpenvinoDetectorConfig) else 1
        self._schedule = threading.Lock()  # which cameras are in analysis, and the busy window
        self._in_analysis: set[int] = set()
        self._analysis_threads = streams
        self._threads = [
            *(self._thread(f"camera-{c.runner.camera.id}", c.reader.run) for c in self._cameras),
            *(
                self._thread(f"analysis{f'-{i + 1}' if streams > 1 else ''}", self._analyse_loop)
                for i in range(streams)
            ),
            self._thread("watchdog", self._watch_loop),
        ]
        self._server: WSGIServer | None = None
        self._busy: deque[tuple[float, float]] = deque()  # (finished at, seconds busy) in the window
        self._busy_s = 0.0
        self.on_result: Callable[[str, FrameResult], None] | None = None

    @property
    def metrics_port(self) -> int:
        assert self._server is not None, "service not started"
        return int(self._server.server_port)

    def readiness(self) -> tuple[bool, dict[str, str]]:
        states = {c.runner.camera.id: c.runner.state.value for c in self._cameras}
        return any(s == CameraState.UP.value for s in states.values()), states

    def health(self) -> str | None:
        """None while every thread runs; else what died."""
        return self.failure

    def start(self) -> None:
        m = self.config.metrics
        try:
            self._server, _ = serve(m.host, m.port, make_app(self.registry, self.readiness, self.health))
        except OSError as error:  # before any camera starts: nothing to undo
            reason = "is in use (another wartezone edge, or another program)"
            if error.errno != errno.EADDRINUSE:
                reason = f"cannot be opened ({error.strerror})"
            raise ConfigError(
                [
                    (
                        "metrics.port",
                        f"port {m.port} on {m.host} {reason}: choose another metrics.port or stop it",
                    )
                ]
            ) from None
        log.info("metrics on http://%s:%d/metrics", m.host, self.metrics_port)
        for thread in self._threads:
            thread.start()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until every camera has ended (files without loop do) or a thread died; True then."""
        return self._done.wait(timeout_s)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for camera in self._cameras:
            camera.reader.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _thread(self, name: str, target: Callable[[], None]) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except BaseException as error:
                self.failure = f"thread {name} died: {type(error).__name__}: {error}"
                log.critical(
                    "%s; the service stops for its supervisor to restart", self.failure, exc_info=True
                )
                self._done.set()

        return threading.Thread(target=guarded, name=name, daemon=True)

    # --- the analysis thread ---------------------------------------------------------------

    def _analyse_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(WATCH_EVERY_S)
            self._wake.clear()
            while not self._stop.is_set() and (taken := self._take_longest_waiting()) is not None:
                camera = self._cameras[taken]
                started = time.monotonic()
                try:
                    result = camera.runner.analyse_waiting()
                finally:
                    self._release(taken, time.monotonic(), time.monotonic() - started)
                if result is not None and self.on_result is not None:
                    self.on_result(camera.runner.camera.id, result)
            if self._all_ended():
                self._done.set()
                return

    def _all_ended(self) -> bool:
        """Every camera ended and its last frame analysed (by this thread or another)."""
        with self._schedule:
            return not self._in_analysis and all(
                c.runner.state is CameraState.ENDED and c.runner.waiting_since() is None
                for c in self._cameras
            )

    def _take_longest_waiting(self) -> int | None:
        """The camera whose frame has waited longest, of those no other analysis thread has."""
        with self._schedule:
            waiting = [
                (at, i)
                for i, c in enumerate(self._cameras)
                if i not in self._in_analysis and (at := c.runner.waiting_since()) is not None
            ]
            if not waiting:
                return None
            taken = min(waiting)[1]
            self._in_analysis.add(taken)
            return taken

    def _release(self, camera: int, now: float, seconds: float) -> None:
        """The camera's analysis ended after `seconds`: its next frame may go to any thread, and
        the busy share (of all analysis threads' time) counts it."""
        with self._schedule:
            self._in_analysis.discard(camera)
            self._busy.append((now, seconds))
            self._busy_s += seconds
            while now - self._busy[0][0] >= BUSY_WINDOW_S:
                self._busy_s -= self._busy.popleft()[1]
            self.metrics.set_busy(min(1.0, self._busy_s / (BUSY_WINDOW_S * self._analysis_threads)))
        self._wake.set()  # a frame of this camera may have come while it was analysed

    # --- the watchdog ----------------------------------------------------------------------

    def _watch_loop(self) -> None:
        """Time-outs nobody else can see: a stream that stays open but silent, an outage that
        outlasts max_gap_s, and a detector that has gone idle because no camera is up."""
        while not self._stop.wait(WATCH_EVERY_S):
            now = time.monotonic()
            for camera in self._cameras:
                camera.reader.check_stall(now)
                camera.runner.check_gap(now)
            if not any(c.runner.state is CameraState.UP for c in self._cameras):
                self.metrics.set_busy(0.0)
