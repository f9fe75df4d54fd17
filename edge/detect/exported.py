"""The exported YOLO pose model, whatever runs it: letterbox in, decode and NMS out."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edge.detect.base import NetworkBackend, whole_images
from edge.detect.postprocess import (
    Letterbox,
    Region,
    faint_and_large,
    letterbox,
    network_shape,
    nms,
    part_look,
)
from edge.detections import Detections

# output rows: cx, cy, w, h (network-input pixels), person score, then keypoints x, y, visibility
BOX_ROWS, HEIGHT_ROW, SCORE_ROW = 4, 3, 4


class ExportedPoseModel(NetworkBackend):
    """Subclasses run the network: (n, H, W, 3) BGR uint8 in, (n, 56, anchors) float32 out."""

    def infer(self, canvases: NDArray[np.uint8]) -> NDArray[np.float32]:
        raise NotImplementedError

    def detect_part(
        self, image: NDArray[np.uint8], region: Region, part: Region, standing: Detections | None = None
    ) -> Detections:
        looked, (height, width) = part_look(region, part, self.height, self.width)
        x1, y1, x2, y2 = looked
        canvas, box = letterbox(image[y1:y2, x1:x2], height, width)
        output = self.infer(canvas[np.newaxis])
        return self.in_region(self._decode(output[0], box), part, (x1, y1), standing)

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[Region] | None = None
    ) -> list[Detections]:
        if not images:
            return []
        regions = regions or whole_images(images)
        crops = [image[y1:y2, x1:x2] for image, (x1, y1, x2, y2) in zip(images, regions, strict=True)]
        shapes = [network_shape(crop.shape[:2], self.height, self.width) for crop in crops]
        height, width = max(h for h, _ in shapes), max(w for _, w in shapes)
        canvases, boxes = zip(*(letterbox(crop, height, width) for crop in crops), strict=True)
        # One frame (the service's case) goes in as a view: no second copy of a network-sized canvas.
        output = self.infer(canvases[0][np.newaxis] if len(canvases) == 1 else np.stack(canvases))
        return [
            self.in_region(self._decode(rows, box), region)
            for rows, box, region in zip(output, boxes, regions, strict=True)
        ]

    def _decode(self, rows: NDArray[np.float32], box: Letterbox) -> Detections:
        candidates = rows[:, rows[SCORE_ROW] >= self.floor].T  # (n, 56)
        faint = faint_and_large(
            candidates[:, HEIGHT_ROW], candidates[:, SCORE_ROW], self.large_box_px, self.large_box_confidence
        )
        candidates = candidates[~faint]
        cx, cy, w, h = candidates[:, :BOX_ROWS].T
        xyxy = box.to_image(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1))
        keypoint_count = (rows.shape[0] - SCORE_ROW - 1) // 3
        keypoints = candidates[:, SCORE_ROW + 1 :].reshape(len(candidates), keypoint_count, 3).copy()
        keypoints[..., :2] = box.to_image(keypoints[..., :2])
        found = Detections(xyxy, candidates[:, SCORE_ROW], keypoints)
        return nms(found, self.nms_iou)
