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
from edge.detect.postprocess import Region, faint_and_large
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
        results = self._model.predict(
            crops,
            imgsz=(self.height, self.width),
            conf=self.confidence,
            iou=self.nms_iou,
            classes=[PERSON_CLASS],
            verbose=False,
        )
        out = []
        for result, region, crop in zip(results, regions, crops, strict=True):
            boxes: Any = result.boxes  # type: ignore[union-attr]
            keypoints: Any = result.keypoints  # type: ignore[union-attr]
            found = Detections(
                boxes.xyxy.cpu().numpy(),
                boxes.conf.cpu().numpy(),
                None if keypoints is None else keypoints.data.cpu().numpy(),
            )
            scale = min(self.height / crop.shape[0], self.width / crop.shape[1])  # as ultralytics letterboxes
            heights = (found.xyxy[:, 3] - found.xyxy[:, 1]) * scale  # in network-input pixels
            faint = faint_and_large(heights, found.confidence, self.large_box_px, self.large_box_confidence)
            out.append(self.in_region(found.select(~faint), region))
        return out
