"""Live per-zone occupancy in the terminal while the edge service runs."""

from __future__ import annotations

import threading
import time
from typing import TextIO

from edge.config import Config
from edge.pipeline import FrameResult

PRINT_EVERY_S = 2.0


class LiveStatus:
    def __init__(self, config: Config, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._latest: dict[str, FrameResult] = {}
        self._order = [c.id for c in config.cameras]
        self._next_print = 0.0

    def update(self, camera: str, result: FrameResult) -> None:
        with self._lock:
            self._latest[camera] = result

    def print_if_due(self, now: float, states: dict[str, str]) -> None:
        """states: camera id -> reader state; a camera not up is shown as such, not as 0 people."""
        if now < self._next_print:
            return
        self._next_print = now + PRINT_EVERY_S
        with self._lock:
            latest = dict(self._latest)
        parts = []
        for camera in self._order:
            result = latest.get(camera)
            if states.get(camera, "up") != "up":
                parts.append(f"{camera}: camera {states[camera]}")
                continue
            if result is None:
                parts.append(f"{camera}: waiting for frames")
                continue
            for z in result.zones:
                parts.append(
                    f"{camera}/{z.zone}: {z.occupancy} {'person' if z.occupancy == 1 else 'people'}, "
                    f"{z.loitering} over the dwell limit, "
                    f"longest {z.longest_dwell_s:.0f} s"
                )
        print(time.strftime("%H:%M:%S"), " | ".join(parts), file=self._out, flush=True)
