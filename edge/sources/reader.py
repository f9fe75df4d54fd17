"""One thread per camera: keeps the stream read, reconnects with backoff, hands over the newest frame.

Each camera gets its own thread because reading blocks (network waits, timeouts, reconnect
sleeps) and OpenCV releases the GIL while it receives and decodes; a camera that hangs or fails
then delays nobody else. Analysis does not happen here: the shared detector takes frames from
each reader's one-frame mailbox, so a slow detector drops old frames instead of building a backlog.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.config import CameraConfig, FileSourceConfig, ReconnectConfig
from edge.sources.base import Frame, FrameSource, SourceError
from edge.sources.sampling import FrameSampler

log = logging.getLogger(__name__)


class CameraState(enum.Enum):
    CONNECTING = "connecting"
    UP = "up"
    STALLED = "stalled"
    DOWN = "down"
    ENDED = "ended"  # a file that does not loop has been read to its end


class Backoff:
    """Capped exponential backoff with jitter, so that cameras do not reconnect in lockstep."""

    def __init__(self, config: ReconnectConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_wait_s(self) -> float:
        base = min(self.config.max_s, self.config.initial_s * 2**self._attempt)
        self._attempt += 1
        return base * (1 + self.config.jitter * self._rng.uniform(-1, 1))

    def reset(self) -> None:
        self._attempt = 0


@dataclass(frozen=True, slots=True)
class Delivery:
    frame: Frame
    waiting_since: float  # monotonic time this camera's mailbox filled; a newer frame keeps it


class CameraReader:
    """Reads one camera until stopped; state and counters are read by the analysis thread."""

    def __init__(
        self,
        camera: CameraConfig,
        open_source: Callable[[], FrameSource],
        on_frame_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self.camera = camera
        self._open_source = open_source
        self._on_frame_ready = on_frame_ready
        self._sampler = FrameSampler(camera.fps)
        self._backoff = Backoff(camera.reconnect)
        self._lock = threading.Lock()
        self._mailbox: Delivery | None = None
        self._stop = threading.Event()
        self._restart = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera.id}", daemon=True)
        self.state = CameraState.CONNECTING
        self.state_since = time.monotonic()
        self.last_new_frame = time.monotonic()
        self.reconnects = 0
        self.stalls = 0
        self.replaced = 0  # frames due for analysis that a newer frame replaced: the detector was busy
        self.undecodable = 0

    # --- the analysis side -----------------------------------------------------------------

    def take(self) -> Delivery | None:
        """The newest due frame, if one is waiting; each frame is handed out once."""
        with self._lock:
            delivery, self._mailbox = self._mailbox, None
            return delivery

    def waiting_since(self) -> float | None:
        """Since when a frame of this camera has been waiting for analysis (None: none waits).
        Replacing a waiting frame by a newer one does not reset it, so a camera whose frames keep
        being replaced is not pushed to the back of the queue."""
        with self._lock:
            return None if self._mailbox is None else self._mailbox.waiting_since

    def check_stall(self, now: float) -> bool:
        """Watchdog: an UP camera without a new frame for stall_timeout_s is stalled; the reader
        is told to reconnect. A frozen server can keep a connection open that delivers nothing."""
        if self.state is not CameraState.UP or now - self.last_new_frame <= self.camera.stall_timeout_s:
            return False
        self.stalls += 1
        self._set_state(CameraState.STALLED)
        self._restart.set()
        with self._lock:
            self._mailbox = None
        log.warning(
            "camera %s: no new frame for %.1f s; reconnecting", self.camera.id, now - self.last_new_frame
        )
        return True

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float | None = None) -> bool:
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    # --- the reading thread ----------------------------------------------------------------

    def _set_state(self, state: CameraState) -> None:
        if state is not self.state:
            self.state = state
            self.state_since = time.monotonic()

    def _run(self) -> None:
        camera = self.camera.id
        first_attempt = True
        while not self._stop.is_set():
            if not first_attempt:
                self.reconnects += 1
                wait_s = self._backoff.next_wait_s()
                if self._stop.wait(wait_s):
                    break
            first_attempt = False
            self._restart.clear()
            try:
                ended = self._read(self._open_source())
            except SourceError as error:
                if self.state is not CameraState.DOWN:
                    log.error("camera %s: %s", camera, error)  # once per episode
                self._set_state(CameraState.DOWN)
                continue
            if ended:
                self._set_state(CameraState.ENDED)
                log.info("camera %s: video ended", camera)
                return
            if self._stop.is_set():
                break
            if self.state is CameraState.UP:
                log.warning("camera %s: stream lost; reconnecting", camera)
            if self.state is not CameraState.STALLED:
                self._set_state(CameraState.DOWN)
        self._set_state(CameraState.ENDED)

    def _read(self, source: FrameSource) -> bool:
        """Reads until the stream breaks (False) or a non-looping file ends (True)."""
        try:
            for pending in source.frames():
                if self._stop.is_set() or self._restart.is_set():
                    return False
                self.last_new_frame = time.monotonic()
                if self.state is not CameraState.UP:
                    log.info("camera %s: receiving frames", self.camera.id)
                    self._set_state(CameraState.UP)
                    self._backoff.reset()
                if not self._sampler.due(pending.time_s):
                    continue
                frame = pending.decode()
                if frame is None:
                    self.undecodable += 1
                    continue
                with self._lock:
                    since = time.monotonic()
                    if self._mailbox is not None:
                        self.replaced += 1
                        since = self._mailbox.waiting_since
                    self._mailbox = Delivery(frame, since)
                self._on_frame_ready()
        finally:
            source.close()
        config = self.camera.source
        return isinstance(config, FileSourceConfig) and not config.loop and not self._stop.is_set()
