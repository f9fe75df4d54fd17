"""Video files: demos, replays and evaluations."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import cv2

from edge.sources.base import LazyFrame, SourceError, retriever

log = logging.getLogger(__name__)


class FileSource:
    """Frames of a video file with the container's timestamps.

    realtime: deliver frames no faster than the video's own clock (a camera stand-in);
    loop: start again at the end, the clock running on so durations stay monotonic.
    """

    def __init__(self, path: Path, *, loop: bool = False, realtime: bool = False) -> None:
        self.path = path
        self.name = path.name
        self.loop = loop
        self.realtime = realtime
        if not path.is_file():
            raise SourceError(f"video file {path} does not exist or is not a file")
        self._capture: cv2.VideoCapture | None = None

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise SourceError(f"cannot open video file {self.path}")
        return capture

    def frame_count(self) -> int:
        """The container's frame count (for progress bars; may be approximate)."""
        return int(self._property(cv2.CAP_PROP_FRAME_COUNT))

    def nominal_fps(self) -> float:
        """The container's stated frame rate (durations never use it: frames carry timestamps)."""
        return self._property(cv2.CAP_PROP_FPS) or 25.0

    def _property(self, key: int) -> float:
        capture = self._open()
        try:
            return float(capture.get(key))
        finally:
            capture.release()

    def frames(self) -> Iterator[LazyFrame]:
        start_monotonic = time.monotonic()
        start_wall = time.time()
        offset_s = 0.0  # clock carried over from earlier loops
        last_s = 0.0
        while True:
            self._capture = capture = self._open()
            delivered = 0
            while capture.grab():
                # Container timestamp of the grabbed frame; frame rate x index is wrong for VFR files.
                time_s = offset_s + capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if time_s <= last_s and delivered:
                    time_s = last_s + 1e-3  # a few containers repeat a timestamp; keep the clock moving
                last_s = time_s
                delivered += 1
                if self.realtime:
                    delay = start_monotonic + time_s - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                yield LazyFrame(time_s, start_wall + time_s, retriever(capture))
            capture.release()
            self._capture = None
            if delivered == 0:
                raise SourceError(f"video file {self.path} has no readable frames")
            if not self.loop:
                return
            offset_s = last_s + 0.1
            log.info("video %s ended; looping", self.name)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
