"""One camera from frames to figures, and the only caller of the pipeline's analysis.

The edge service, replay, eval and bench all hand a camera's frames to a CameraRunner, so what
happens to them (selection, decoding, counting drops, analysis, outages, the end) and how faults
are handled is written once, here. The service feeds it from a reader thread and analyses in its
own thread; replays call `run` with a finite source in the calling thread.
"""

from __future__ import annotations

import enum
import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from edge.config import CameraConfig
from edge.metrics import CameraEvent, EdgeMetrics
from edge.pipeline import CameraPipeline, FrameResult
from edge.sources.base import Frame, PendingFrame
from edge.sources.sampling import Selection, at_rate
from edge.zones.accounting import ZoneReading

log = logging.getLogger(__name__)

# Consecutive frames that fail analysis before the camera's figures count as unknown: one bad
# frame is noise, a run of them means nothing it reports can be trusted.
FAILING_AFTER = 5
# Failures closer together than this are one burst: its first is logged with the traceback, the
# rest only counted (wartezone_analysis_errors_total), so a recurring fault cannot flood the log.
BURST_QUIET_S = 60.0
OFFER_WAIT_S = 0.1  # a frame that waits for room checks this often whether its reader must stop


class CameraState(enum.Enum):
    CONNECTING = "connecting"
    UP = "up"
    STALLED = "stalled"  # the stream stayed open but sent no new frame
    DOWN = "down"
    FAILING = "failing"  # frames arrive, but their analysis keeps failing
    ENDED = "ended"  # a file that does not loop has been read to its end

    @property
    def live(self) -> bool:
        """Frames of a camera in this state are analysed."""
        return self in (CameraState.UP, CameraState.FAILING)


@dataclass(frozen=True, slots=True)
class Delivery:
    frame: Frame
    waiting_since: float  # monotonic time this camera's mailbox filled; a newer frame keeps it


class CameraRunner:
    """A camera's frames through its pipeline; what it reports to the metrics and the log.

    Thread-safe: a reader thread reports the stream's events and offers frames, the analysis
    thread analyses the waiting frame, a watchdog checks how long an outage lasts. State changes
    and analysis run under one lock, so a frame taken before an outage cannot bring its zones back.
    """

    def __init__(
        self,
        camera: CameraConfig,
        pipeline: CameraPipeline,
        metrics: EdgeMetrics | None = None,
        select: Selection | None = None,
        on_frame_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self.camera = camera
        self.pipeline = pipeline
        self._metrics = metrics
        self._select = select or at_rate(camera.fps)
        self._on_frame_ready = on_frame_ready
        self._lock = threading.Lock()
        self._mailbox_lock = threading.Lock()
        self._taken = threading.Condition(self._mailbox_lock)  # the mailbox was emptied
        self._mailbox: Delivery | None = None
        self.state = CameraState.CONNECTING
        self._down_since: float | None = None  # monotonic; None while up
        self._visits_open = False  # since the last time they were ended
        self._failures = 0  # consecutive frames whose analysis failed
        self._last_failure = -BURST_QUIET_S  # monotonic
        self.analysis_errors = 0

    # --- the stream's events (reader side) ---------------------------------------------------

    def due_frame(self, index: int, pending: PendingFrame) -> Frame | None:
        """`pending` decoded, if it is due for analysis; a due frame that cannot be decoded is counted."""
        if not self._select(index, pending.time_s):
            return None
        frame = pending.decode()
        if frame is None:
            self.count("dropped")
            log.debug("camera %s: a frame could not be decoded", self.camera.id)
        return frame

    def offer(self, frame: Frame, replace: bool = True) -> bool:
        """Leave a frame for the analysis thread. A live camera's frame replaces one still waiting
        (counted as dropped: the detector is behind, and the newest frame is what matters); with
        replace=False (a file read as fast as it goes) it waits up to OFFER_WAIT_S for the mailbox
        to empty instead, and says whether the frame was left."""
        with self._mailbox_lock:
            if not replace and self._mailbox is not None:
                self._taken.wait(OFFER_WAIT_S)
                if self._mailbox is not None:
                    return False
            since = time.monotonic()
            if self._mailbox is not None:
                self.count("dropped")
                since = self._mailbox.waiting_since
            self._mailbox = Delivery(frame, since)
        self._on_frame_ready()
        return True

    def came_up(self) -> None:
        """The source delivers frames again (or for the first time)."""
        with self._lock:
            if self.state is CameraState.UP:
                return
            if self._down_since is not None:
                log.info(
                    "camera %s: receiving frames again after %.0f s",
                    self.camera.id,
                    time.monotonic() - self._down_since,
                )
            else:
                log.info("camera %s: receiving frames", self.camera.id)
            self.state, self._down_since, self._failures = CameraState.UP, None, 0

    def went_down(self, cause: str, stalled: bool = False) -> None:
        """The source delivers nothing: its zones are unknown, not 0, until it does again. Logged
        once per outage, with its cause."""
        with self._lock:
            self._clear_mailbox()
            if self.state in (CameraState.DOWN, CameraState.STALLED, CameraState.ENDED):
                return  # the same outage: the first cause is the one logged
            log.error("camera %s: %s", self.camera.id, cause)
            self._set_down(CameraState.STALLED if stalled else CameraState.DOWN)

    def ended(self) -> None:
        """A non-looping file was read to its end: open visits end once its last frame is analysed."""
        with self._lock:
            if self.state is CameraState.ENDED:
                return
            self.state = CameraState.ENDED
            if self.waiting_since() is None:
                self._finish()

    # --- analysis ----------------------------------------------------------------------------

    def waiting_since(self) -> float | None:
        """Since when a frame of this camera has been waiting for analysis (None: none waits)."""
        with self._mailbox_lock:
            return None if self._mailbox is None else self._mailbox.waiting_since

    def analyse_waiting(self) -> FrameResult | None:
        """Analyse the frame waiting in the mailbox, if any; the last frame of a file ends it."""
        with self._lock:
            with self._mailbox_lock:
                delivery, self._mailbox = self._mailbox, None
                self._taken.notify_all()
            if delivery is None:
                return None
            live = self.state.live or self.state is CameraState.ENDED
            result = self._analyse(delivery.frame) if live else None
            if self.state is CameraState.ENDED:
                self._finish()
            return result

    def analyse(self, frame: Frame) -> FrameResult | None:
        """One frame through the pipeline, now, in this thread (None: it failed, and was counted)."""
        with self._lock:
            return self._analyse(frame)

    def _analyse(self, frame: Frame) -> FrameResult | None:
        try:
            result = self.pipeline.analyse(frame)
        except Exception:  # noqa: BLE001 - one bad frame must not stop the camera: counted, logged
            self._analysis_failed()
            return None
        if self.state is CameraState.FAILING:
            log.info("camera %s: analysing again after %d failed frames", self.camera.id, self._failures)
            self.state, self._down_since = CameraState.UP, None
        self._failures = 0
        self._visits_open = True
        return result

    def _analysis_failed(self) -> None:
        self._failures += 1
        self.analysis_errors += 1
        self.count("analysis_errors")
        now = time.monotonic()
        if now - self._last_failure > BURST_QUIET_S:
            log.exception(
                "camera %s: analysing a frame failed; it is skipped, and further failures within %.0f s "
                "are only counted",
                self.camera.id,
                BURST_QUIET_S,
            )
        self._last_failure = now
        if self._failures == FAILING_AFTER and self.state is CameraState.UP:
            cause = f"{FAILING_AFTER} frames in a row failed analysis"
            log.error("camera %s: %s; its zones read unknown until a frame succeeds", self.camera.id, cause)
            self._set_down(CameraState.FAILING)

    # --- outages and the end -----------------------------------------------------------------

    def check_gap(self, now: float) -> None:
        """After an outage longer than max_gap_s, open visits end at their last sighting, so no
        visit is stretched over it."""
        with self._lock:
            gap_s = self.camera.max_gap_s
            if self._down_since is None or not self._visits_open or now - self._down_since <= gap_s:
                return
            readings = self._end_visits()
            if any(r.completed_dwells_s for r in readings):
                log.info("camera %s: down longer than %.0f s; open visits ended", self.camera.id, gap_s)

    def run(
        self, frames: Iterable[PendingFrame], on_result: Callable[[FrameResult], None] | None = None
    ) -> list[ZoneReading]:
        """A finite source in this thread (replays, evaluations): every due frame analysed, then
        open visits ended. Returns the visits that were still open at the end."""
        return run_together([self], [frames], None if on_result is None else lambda _, r: on_result(r))[0]

    def _end(self) -> list[ZoneReading]:
        with self._lock:
            self.state = CameraState.ENDED
            return self._finish()

    def _set_down(self, state: CameraState) -> None:
        if self.state.live:
            self.pipeline.forget()
        self.state = state
        if self._down_since is None:
            self._down_since = time.monotonic()

    def _finish(self) -> list[ZoneReading]:
        readings = self._end_visits()
        self.pipeline.forget()
        return readings

    def _end_visits(self) -> list[ZoneReading]:
        self._visits_open = False
        return self.pipeline.end_visits()

    def _clear_mailbox(self) -> None:
        with self._mailbox_lock:
            self._mailbox = None
            self._taken.notify_all()

    def count(self, event: CameraEvent, n: int = 1) -> None:
        if self._metrics is not None:
            self._metrics.count_camera_event(self.camera.id, event, n)


def run_together(
    runners: Sequence[CameraRunner],
    sources: Sequence[Iterable[PendingFrame]],
    on_result: Callable[[CameraRunner, FrameResult], None] | None = None,
) -> list[list[ZoneReading]]:
    """Finite sources of several cameras in this thread, their frames analysed in the order of
    their capture times (the cameras of a room, as the service analyses them close in time), then
    each camera's open visits ended. Returns each camera's visits still open at the end."""
    if len(runners) != len(sources):
        raise ValueError(f"{len(runners)} runners but {len(sources)} sources")
    for runner in runners:
        runner.came_up()

    def numbered(
        camera: int, frames: Iterable[PendingFrame]
    ) -> Iterator[tuple[float, int, int, PendingFrame]]:
        for index, pending in enumerate(frames):
            yield pending.time_s, camera, index, pending

    streams = [numbered(camera, frames) for camera, frames in enumerate(sources)]
    for _, camera, index, pending in heapq.merge(*streams, key=lambda item: item[:3]):
        runner = runners[camera]
        frame = runner.due_frame(index, pending)
        if frame is not None and (result := runner.analyse(frame)) is not None and on_result is not None:
            on_result(runner, result)
    return [runner._end() for runner in runners]
