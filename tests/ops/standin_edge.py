"""An edge box without a detector: the edge's own per-zone accounting (edge/zones/accounting.py) and
exposition (edge/metrics.py, with the process collector), served over HTTP, fed four frames a second
with people who come and go at random (a fixed seed). Several of them run beside Prometheus servers
on a 2-core machine, where several real replays (a detector each) would not."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

import numpy as np
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.process_collector import ProcessCollector

from edge.config import Config
from edge.detect.base import ModelInfo
from edge.metrics import EdgeMetrics
from edge.zones.accounting import ZoneAccount
from tests.support import free_port

FRAME_S = 0.25


@dataclass(frozen=True)
class ZoneTraffic:
    """People arriving at `arrivals_per_s` and staying `stay_s` (low, high) seconds."""

    name: str
    arrivals_per_s: float
    stay_s: tuple[float, float]


@dataclass
class _Zone:
    traffic: ZoneTraffic
    account: ZoneAccount
    leave_at: dict[int, float] = field(default_factory=dict)  # person id -> when they go
    crowd: int = 0  # people standing there on top, for as long as it is set


class StandInEdge:
    """One site's edge box: cameras -> zone id -> traffic, on 127.0.0.1 at `port`."""

    def __init__(self, site: str, cameras: dict[str, dict[str, ZoneTraffic]], seed: int) -> None:
        self.site = site
        self.port = free_port()
        config = Config.model_validate(
            {
                "site": site,
                "cameras": [
                    {
                        "id": camera,
                        "source": {"type": "file", "path": f"{camera}.mp4"},
                        "fps": 1 / FRAME_S,
                        "zones": [
                            {"id": z, "name": t.name, "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}
                            for z, t in zones.items()
                        ],
                    }
                    for camera, zones in cameras.items()
                ],
            }
        )
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.metrics = EdgeMetrics(self.registry, config, ModelInfo("stand-in", "0" * 64, "none", "480x640"))
        self._zones = {
            camera: {z: _Zone(t, ZoneAccount(z, 5.0, 3, 1.0)) for z, t in zones.items()}
            for camera, zones in cameras.items()
        }
        self._down: set[str] = set()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: WSGIServer | None = None
        self._thread = threading.Thread(target=self._run, name=f"stand-in edge {site}", daemon=True)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server, _ = start_http_server(self.port, "127.0.0.1", self.registry)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def crowd(self, camera: str, zone: str, people: int) -> None:
        """`people` more stand in the zone from now on (0: they leave)."""
        with self._lock:
            self._zones[camera][zone].crowd = people

    def camera_down(self, camera: str) -> None:
        """The camera stops delivering frames: down, and its zones' occupancy unknown."""
        with self._lock:
            self._down.add(camera)
            self.metrics.forget_camera(camera)

    def _run(self) -> None:
        next_id, start = 0, time.monotonic()
        while not self._stop.wait(FRAME_S):
            t = time.monotonic() - start
            with self._lock:
                for camera, zones in self._zones.items():
                    if camera in self._down:
                        continue
                    readings = []
                    for zone in zones.values():
                        if self._rng.random() < zone.traffic.arrivals_per_s * FRAME_S:
                            zone.leave_at[next_id] = t + self._rng.uniform(*zone.traffic.stay_s)
                            next_id += 1
                        zone.leave_at = {i: until for i, until in zone.leave_at.items() if until > t}
                        ids = [*zone.leave_at, *range(10**6, 10**6 + zone.crowd)]
                        readings.append(zone.account.update(len(ids), np.asarray(ids, np.int64), t))
                    latency = self._rng.uniform(0.03, 0.08)
                    self.metrics.record_frame(camera, time.time(), latency, readings)
                    self.metrics.set_things(camera, 0)  # as the pipeline does; no detector, no things
                self.metrics.set_busy(self._rng.uniform(0.2, 0.4))
