"""What every detector backend offers the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from edge.config import DetectorSettings
from edge.detect.model import ModelManifest
from edge.detect.postprocess import (
    Region,
    clip_to_region,
    drop_edge_fragments,
    drop_quiet_duplicates,
    sure_or_face_seen,
)
from edge.detections import Detections


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Describes the running model in the `wartezone_model_info` metric (no per-person data)."""

    name: str
    sha256: str
    backend: str
    input_size: str
    precision: str = "as the backend computes"  # for OpenVINO: what `precision` chose, and why


def whole_images(images: list[NDArray[np.uint8]]) -> list[Region]:
    return [(0, 0, image.shape[1], image.shape[0]) for image in images]


class NetworkBackend:
    """What the network backends share: their settings from the config, `info`, and `detect`."""

    backend = "unknown"

    def __init__(
        self,
        config: DetectorSettings,
        manifest: ModelManifest,
        precision: str = "float32 (the runtime's own)",
    ) -> None:
        self.height, self.width = config.input_size
        self.confidence = config.confidence
        self.face_confidence = config.face_confidence
        # What the network's output is read down to: faint boxes are kept only with a face seen.
        self.floor = config.confidence if config.face_confidence is None else config.face_confidence
        self.nms_iou = config.nms_iou
        self.large_box_px = config.large_box_px
        self.large_box_confidence = config.large_box_confidence
        self.edge_fragment_inside = config.edge_fragment_inside
        self.quiet_duplicates = config.quiet_duplicates
        self.info = ModelInfo(
            manifest.name, manifest.sha256, self.backend, f"{self.height}x{self.width}", precision
        )

    def in_region(
        self,
        found: Detections,
        region: Region,
        origin: tuple[int, int] | None = None,
        standing: Detections | None = None,
    ) -> Detections:
        """People in coordinates of the part of the image at `origin` (default: the region's corner),
        after NMS, as the whole image's: the sure ones and the faint ones with a face seen, cut to the
        region, fragments of people cut by its edge dropped, and in a quiet frame second boxes around
        a person. `standing`: the frame's people outside `region` (a part looked at), who make it a
        crowd or not together with those found."""
        if self.face_confidence is not None:
            found = sure_or_face_seen(found, self.confidence)
        x, y = origin or region[:2]
        found = clip_to_region(found.shifted(x, y), region)
        if self.edge_fragment_inside is not None:
            found = drop_edge_fragments(found, region, self.edge_fragment_inside)
        if (quiet := self.quiet_duplicates) is not None:
            elsewhere = 0 if standing is None else int((standing.confidence >= self.confidence).sum())
            found = drop_quiet_duplicates(
                found, self.confidence, quiet.crowd, quiet.below, quiet.inside, elsewhere
            )
        return found

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[Region] | None = None
    ) -> list[Detections]:
        raise NotImplementedError

    def detect_part(
        self, image: NDArray[np.uint8], region: Region, part: Region, standing: Detections | None = None
    ) -> Detections:
        raise NotImplementedError


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

    def detect_part(
        self, image: NDArray[np.uint8], region: Region, part: Region, standing: Detections | None = None
    ) -> Detections:
        """The people in `part` of `region` (both image pixels) as a look at the whole region
        (detect_batch) would find them there, for a share of its time: the part seen at the region's
        scale. Boxes are cut to the part, so someone reaching out of it touches its edge.
        `standing`: the people found before outside the part, who stand: whether the frame is a
        crowd depends on them too."""
        ...
