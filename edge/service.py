"""The edge service: every configured camera analysed in its own thread, /metrics served."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.process_collector import ProcessCollector

from edge.config import Config
from edge.detect import build_detector
from edge.metrics import EdgeMetrics
from edge.pipeline import CameraPipeline, FrameResult
from edge.sources import SourceError, open_source

log = logging.getLogger(__name__)


class EdgeService:
    """Builds the stages from a config (failing fast on a bad model), then runs and serves them."""

    def __init__(self, config: Config, registry: CollectorRegistry | None = None) -> None:
        self.config = config
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        detector = build_detector(config.detector)
        self.metrics = EdgeMetrics(self.registry, config, detector.info)
        # One detector for all cameras: a 2-core box cannot afford a model copy per camera.
        self.pipelines = [
            CameraPipeline(camera, detector, config.tracker, self.metrics, config.detector.region)
            for camera in config.cameras
        ]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: WSGIServer | None = None
        self.on_result: Callable[[str, FrameResult], None] | None = None

    @property
    def metrics_port(self) -> int:
        assert self._server is not None, "service not started"
        return int(self._server.server_port)

    def start(self) -> None:
        m = self.config.metrics
        self._server, _ = start_http_server(m.port, addr=m.host, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", m.host, self.metrics_port)
        for pipeline in self.pipelines:
            thread = threading.Thread(
                target=self._run_camera, args=(pipeline,), name=f"camera-{pipeline.camera.id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run_camera(self, pipeline: CameraPipeline) -> None:
        camera = pipeline.camera.id
        try:
            source = open_source(pipeline.camera.source)
        except SourceError as error:
            log.error("camera %s: %s", camera, error)
            return

        def report(result: FrameResult) -> None:
            if self.on_result is not None:
                self.on_result(camera, result)

        try:
            pipeline.run(source.frames(), on_result=report, stop=self._stop)
        except SourceError as error:
            log.error("camera %s: %s", camera, error)
        finally:
            source.close()
        log.info("camera %s: source ended", camera)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for every camera to end (files without loop do); True when they all have."""
        for thread in self._threads:
            thread.join(timeout_s)
        return not any(t.is_alive() for t in self._threads)

    def stop(self) -> None:
        self._stop.set()
        self.wait(timeout_s=10)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
