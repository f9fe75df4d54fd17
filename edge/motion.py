"""Motion gating: the detector runs on a camera's frame only when its picture changed since the
last detection, or when the last one is `full_every_s` old.

A waiting room is mostly still: people sit. Where nothing moved, the people are where the detector
last saw them, so its last finding stands and the detector's time goes to cameras whose picture
changed. The comparison is against the picture of the last detection, not the previous frame, so a
slow change (someone edging along a bench) adds up until it counts. The periodic detection bounds
how long any mistake can stand: a person the detector missed, a count frozen by a threshold set
too high.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.config import MotionGateConfig

THUMBNAIL_WIDTH = 160  # a person of a frame's 1/30 width still covers several of its pixels
BLUR = (5, 5)  # sensor noise and compression blocks smoothed away before comparing


def thumbnail(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A small, blurred grey copy of a BGR (or grey) image: what the gate compares."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # Halving with a Gaussian pyramid first: an area resize straight from the camera's size takes
    # about 1 ms a frame where the ratio is not a whole number, the pyramid a quarter of that.
    while grey.shape[1] >= 2 * THUMBNAIL_WIDTH:
        grey = cv2.pyrDown(grey)
    height, width = grey.shape
    size = (THUMBNAIL_WIDTH, max(1, round(height * THUMBNAIL_WIDTH / width)))
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.GaussianBlur(small, BLUR, 0), np.uint8)


def changed_share(reference: NDArray[np.uint8], now: NDArray[np.uint8], pixel_change: int) -> float:
    """Share of thumbnail pixels whose grey value moved by more than `pixel_change`."""
    if reference.shape != now.shape:
        return 1.0  # the camera's picture changed size: everything is new
    return float((cv2.absdiff(reference, now) > pixel_change).mean())


class MotionGate:
    """One camera's gate. `due` says whether a frame needs the detector; `detected` tells the gate
    that it ran on that frame (only then does the frame become the reference); `reset` forgets the
    reference, so that the next frame is detected (after an outage, at the end of a file)."""

    def __init__(self, config: MotionGateConfig) -> None:
        self.config = config
        self._reference: NDArray[np.uint8] | None = None
        self._reference_s = 0.0
        self._candidate: tuple[NDArray[np.uint8], float] | None = None

    def due(self, image: NDArray[np.uint8], time_s: float) -> bool:
        small = thumbnail(image)
        self._candidate = (small, time_s)
        if self._reference is None:
            return True
        age_s = time_s - self._reference_s
        if age_s >= self.config.full_every_s or age_s < 0:  # < 0: the clock went back (a file looped)
            return True
        return changed_share(self._reference, small, self.config.pixel_change) > self.config.changed_share

    def detected(self) -> None:
        if self._candidate is not None:
            self._reference, self._reference_s = self._candidate
            self._candidate = None

    def reset(self) -> None:
        self._reference, self._candidate = None, None
