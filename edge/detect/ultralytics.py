"""Optional backend for .pt checkpoints through ultralytics (the `ultralytics` extra, needs torch)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.config import UltralyticsDetectorConfig
from edge.detect.base import NetworkBackend, whole_images
from edge.detect.model import ModelManifest
from edge.detect.postprocess import Region, faint_and_large, oriented, part_look
from edge.detections import Detections

PERSON_CLASS = 0


def stay_offline() -> None:
    """Ultralytics checks for updates and writes settings unless told not to."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "wartezone-ultralytics"))


class UltralyticsDetector(NetworkBackend):
    backend = "ultralytics"

    def __init__(self, config: UltralyticsDetectorConfig, manifest: ModelManifest) -> None:
        super().__init__(config, manifest)
        stay_offline()
        try:
            from ultralytics import YOLO
        except ImportError as error:
            raise RuntimeError(
                "detector.type 'ultralytics' needs the extra: pip install 'wartezone[edge,ultralytics]'"
            ) from error
        import torch

        torch.set_num_threads(config.threads)
        self._model = YOLO(str(config.model), task="pose")

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[Region] | None = None
    ) -> list[Detections]:
        regions = regions or whole_images(images)
        crops = [im[y1:y2, x1:x2] for im, (x1, y1, x2, y2) in zip(images, regions, strict=True)]
        # one call per crop: each has its own budget, turned to its orientation
        return [
            self.in_region(self._predict(crop, oriented(crop.shape[:2], self.height, self.width)), region)
            for crop, region in zip(crops, regions, strict=True)
        ]

    def detect_part(
        self, image: NDArray[np.uint8], region: Region, part: Region, standing: Detections | None = None
    ) -> Detections:
        (x1, y1, x2, y2), budget = part_look(region, part, self.height, self.width)
        return self.in_region(self._predict(image[y1:y2, x1:x2], budget), part, (x1, y1), standing)

    def _predict(self, crop: NDArray[np.uint8], budget: tuple[int, int]) -> Detections:
        """People in the crop's pixels, large faint boxes left out."""
        predict: Any = self._model.predict
        result = predict(
            crop, imgsz=budget, conf=self.floor, iou=self.nms_iou, classes=[PERSON_CLASS], verbose=False
        )[0]
        boxes: Any = result.boxes
        keypoints: Any = result.keypoints
        found = Detections(
            boxes.xyxy.cpu().numpy(),
            boxes.conf.cpu().numpy(),
            None if keypoints is None else keypoints.data.cpu().numpy(),
        )
        height, width = budget
        scale = min(height / crop.shape[0], width / crop.shape[1])  # as ultralytics letterboxes
        heights = (found.xyxy[:, 3] - found.xyxy[:, 1]) * scale  # in network-input pixels
        faint = faint_and_large(heights, found.confidence, self.large_box_px, self.large_box_confidence)
        return found.select(~faint)
