"""What every detector backend offers the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from edge.detections import Detections


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Describes the running model in the `wartezone_model_info` metric (no per-person data)."""

    name: str
    sha256: str
    backend: str
    input_size: str


class Detector(Protocol):
    info: ModelInfo

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[tuple[int, int, int, int]] | None = None
    ) -> list[Detections]:
        """People in each BGR image, in that image's pixel coordinates.

        regions: optional (x1, y1, x2, y2) crop per image, to look at part of it at a larger scale;
        boxes still come back in the whole image's coordinates.
        """
        ...

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        """People in one BGR image."""
        ...
