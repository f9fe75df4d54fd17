"""The source interface: frames with their own timestamps, decoded only when asked for."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray


class SourceError(RuntimeError):
    """A source that cannot be opened or read; the message names it, never its credentials."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded image and when it was captured.

    time_s: monotonic seconds on the source's own clock (video timestamps for files); all
    durations come from it. wall_time: Unix time for labels and timelines.
    """

    image: NDArray[np.uint8]
    time_s: float
    wall_time: float


class PendingFrame(Protocol):
    """A frame read from the source but not yet decoded: decoding is the expensive part.

    Valid until the source reads its next frame; decode it before asking for another.
    """

    @property
    def time_s(self) -> float: ...

    @property
    def wall_time(self) -> float: ...

    def decode(self) -> Frame | None: ...


class FrameSource(Protocol):
    name: str

    def frames(self) -> Iterator[PendingFrame]:
        """Every frame the source delivers, in order, until it ends."""
        ...

    def close(self) -> None: ...


def quiet_ffmpeg() -> None:
    """Silence FFmpeg's own log (`moov atom not found`, `[mjpeg @ ...]`) and OpenCV's warnings:
    they repeat at every reconnect attempt and for every damaged frame, and can carry a stream's
    URL; the runner logs each outage once, in words, with credentials removed. OpenCV reads
    OPENCV_FFMPEG_LOGLEVEL once, when the process's first FFmpeg capture opens, so every source
    calls this before every open (never at import): whichever camera opens first, file or stream,
    the level holds for all. Values the operator set (to debug a camera) are kept."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def reported_rate(fps: float) -> float | None:
    """A frame rate as a capture reports it, None where it says nothing real (0, NaN, 90000: a
    stream's clock rate)."""
    return fps if math.isfinite(fps) and 0 < fps < 1000 else None


def stream_format(capture: cv2.VideoCapture | None) -> tuple[float, int] | None:
    """(frame rate, FOURCC code) the open capture reports; None while none is open."""
    if capture is None:
        return None
    return float(capture.get(cv2.CAP_PROP_FPS)), int(capture.get(cv2.CAP_PROP_FOURCC))


def retriever(capture: cv2.VideoCapture) -> Callable[[], NDArray[np.uint8] | None]:
    """Decodes (converts) the frame `capture` grabbed last; valid until its next grab."""

    def retrieve() -> NDArray[np.uint8] | None:
        ok, image = capture.retrieve()
        return np.asarray(image, np.uint8) if ok else None

    return retrieve


@dataclass(slots=True)
class LazyFrame:
    time_s: float
    wall_time: float
    _decode: Callable[[], NDArray[np.uint8] | None]

    def decode(self) -> Frame | None:
        image = self._decode()
        return None if image is None else Frame(image, self.time_s, self.wall_time)
