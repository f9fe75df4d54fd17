"""One thread per camera: keeps the stream read, reconnects with backoff, reports what happens.

Each camera gets its own thread because reading blocks (network waits, timeouts, reconnect
sleeps) and OpenCV releases the GIL while it receives and decodes; a camera that hangs or fails
then delays nobody else. Analysis does not happen here: the reader tells the camera's runner
each event once (up, down with its cause, reconnects, stalls, the end) and offers it the due
frames, which the shared detector takes from the runner's one-frame mailbox.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Literal, Protocol

from edge.config import CameraConfig, FileSourceConfig, ReconnectConfig
from edge.sources.base import Frame, FrameSource, PendingFrame, SourceError
from edge.sources.stream import StreamSource

log = logging.getLogger(__name__)


class Backoff:
    """Capped exponential backoff with jitter, so that cameras do not reconnect in lockstep."""

    def __init__(self, config: ReconnectConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_wait_s(self) -> float:
        base = min(self.config.max_s, self.config.initial_s * 2**self._attempt)
        self._attempt += 1
        return float(base * (1 + self.config.jitter * self._rng.uniform(-1, 1)))

    def reset(self) -> None:
        self._attempt = 0


class CameraEvents(Protocol):
    """What a reader tells its camera's runner (edge/runner.py)."""

    def due_frame(self, index: int, pending: PendingFrame) -> Frame | None: ...

    def offer(self, frame: Frame, replace: bool = True) -> bool: ...

    def came_up(self) -> None: ...

    def went_down(self, cause: str, stalled: bool = False) -> None: ...

    def count(self, event: Literal["reconnects", "stalls"], n: int = 1) -> None: ...

    def ended(self) -> None: ...


class CameraReader:
    """Reads one camera's source in its own thread; `check_stall` is the watchdog's to call."""

    def __init__(self, camera: CameraConfig, source: FrameSource, events: CameraEvents) -> None:
        self.camera = camera
        self._source = source
        self._events = events
        self._backoff = Backoff(camera.reconnect)
        self._stop = threading.Event()
        self._restart = threading.Event()
        self._receiving = False  # a frame arrived since the source was (re)opened
        self._told_heavy = False  # the stream's decoding cost was logged (once per camera)
        # A file read as fast as it goes (a replay) waits for the detector instead of dropping frames.
        self._keep_every_frame = isinstance(camera.source, FileSourceConfig) and not camera.source.realtime
        self.last_new_frame = time.monotonic()

    def _tell_if_heavy(self) -> None:
        """Once per camera: a stream that costs the box much to decode, and what to send instead."""
        if self._told_heavy or not isinstance(self._source, StreamSource):
            return
        self._told_heavy = True
        if (heavy := self._source.decoding_warning()) is not None:
            log.warning("camera %s: %s", self.camera.id, heavy)

    def check_stall(self, now: float) -> bool:
        """A receiving camera without a new frame for stall_timeout_s is stalled: reconnect. A frozen
        server can keep a connection open that delivers nothing."""
        silent_s = now - self.last_new_frame
        if not self._receiving or silent_s <= self.camera.stall_timeout_s:
            return False
        self._receiving = False
        self._restart.set()
        self._events.count("stalls")
        self._events.went_down(f"no new frame for {silent_s:.1f} s; reconnecting", stalled=True)
        return True

    def stop(self) -> None:
        self._stop.set()

    # --- the reading thread ----------------------------------------------------------------

    def run(self) -> None:
        """Read until stopped or a non-looping file ends; the caller gives it its own thread."""
        first_attempt = True
        while not self._stop.is_set():
            if not first_attempt:
                self._events.count("reconnects")
                if self._stop.wait(self._backoff.next_wait_s()):
                    break
            first_attempt = False
            self._restart.clear()
            try:
                ended = self._read()
            except SourceError as error:
                self._events.went_down(str(error))
                continue
            except Exception as error:  # an unexpected fault restarts this camera only
                log.exception("camera %s: reading failed unexpectedly; restarting the camera", self.camera.id)
                self._events.went_down(f"reading failed ({type(error).__name__}: {error}); restarting")
                continue
            if ended:
                self._events.ended()
                return
            if not self._stop.is_set() and not self._restart.is_set():
                self._events.went_down("stream lost; reconnecting")

    def _read(self) -> bool:
        """Reads until the stream breaks (False) or a non-looping file ends (True)."""
        self._receiving = False
        try:
            for index, pending in enumerate(self._source.frames()):
                if self._stop.is_set() or self._restart.is_set():
                    return False
                self.last_new_frame = time.monotonic()
                if not self._receiving:
                    self._receiving = True
                    self._backoff.reset()
                    self._events.came_up()
                    self._tell_if_heavy()
                frame = self._events.due_frame(index, pending)
                if frame is not None:
                    while not self._events.offer(frame, replace=not self._keep_every_frame):
                        if self._stop.is_set() or self._restart.is_set():
                            return False
                        self.last_new_frame = time.monotonic()  # waiting for the detector is no stall
        finally:
            self._receiving = False
            self._source.close()
        config = self.camera.source
        return isinstance(config, FileSourceConfig) and not config.loop and not self._stop.is_set()
