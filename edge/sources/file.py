"""Video files: demos, replays and evaluations."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import cv2

from edge.sources.base import LazyFrame, SourceError, quiet_ffmpeg, retriever, stream_format
from edge.sources.diagnose import why_file_not_open

log = logging.getLogger(__name__)


# A looping file that decodes under this share of its declared frames, or under this much video
# per pass, is broken (the ends of real files are often a few frames short of the header).
MIN_DECODED_SHARE = 0.5
MIN_LOOP_S = 1.0


def _signature(path: Path) -> tuple[int, float]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime


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
        self._capture: cv2.VideoCapture | None = None
        self._looped = False
        # A file found broken stays broken until it changes on disk: (size, mtime) and the reason.
        self._broken: tuple[tuple[int, float], str] | None = None

    def _open(self) -> cv2.VideoCapture:
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} does not exist or is not a file")
        if self._broken is not None and self._broken[0] == _signature(self.path):
            raise SourceError(self._broken[1])
        self._broken = None
        quiet_ffmpeg()
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            self._broken_until_changed(f"cannot open video file {self.path}: {why_file_not_open(self.path)}")
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
            declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            delivered = 0
            first_s = None
            while capture.grab():
                # Container timestamp of the grabbed frame; frame rate x index is wrong for VFR files.
                time_s = offset_s + capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if time_s <= last_s and delivered:
                    time_s = last_s + 1e-3  # a few containers repeat a timestamp; keep the clock moving
                last_s = time_s
                first_s = time_s if first_s is None else first_s
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
                # Said in our words: FFmpeg's own (`partial file`, `Invalid NAL unit size`) are silenced.
                if declared > 0 and delivered < MIN_DECODED_SHARE * declared:
                    log.warning(
                        "video file %s ended after %d of the %d frames its container declares: "
                        "truncated or damaged",
                        self.path,
                        delivered,
                        declared,
                    )
                return
            self._check_loopable(declared, delivered, last_s - (first_s or 0.0))
            if not self._looped:
                self._looped = True
                log.info("video %s ends after %.0f s and plays again (logged once)", self.name, last_s)
            offset_s = last_s + 0.1

    def _check_loopable(self, declared: int, delivered: int, seconds: float) -> None:
        """A looping file stands in for a camera: one that decodes far less than its container
        declares (truncated, damaged) or under a second of video would replay a few frames for
        ever as if people stood still. It is a broken source instead."""
        problem = None
        if declared > 0 and delivered < MIN_DECODED_SHARE * declared:
            problem = f"decodes only {delivered} of the {declared} frames its container declares"
        elif seconds < MIN_LOOP_S:
            problem = f"holds only {seconds:.2f} s of video ({delivered} frames)"
        if problem is not None:
            self._broken_until_changed(f"video file {self.path} {problem}: truncated or damaged, not looped")

    def _broken_until_changed(self, reason: str) -> NoReturn:
        """Later opens fail at once with the same reason, without OpenCV, until the file changes."""
        self._broken = (_signature(self.path), reason)
        raise SourceError(reason)

    def stream_format(self) -> tuple[float, int] | None:
        """(frame rate, FOURCC code) of the open stream, while `frames()` runs (for `wartezone check`)."""
        return stream_format(self._capture)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
