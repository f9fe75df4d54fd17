"""Default backend: the exported YOLO pose model on onnxruntime, no torch."""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from edge.config import DetectorConfig
from edge.detect.base import NetworkBackend, Region, whole_images
from edge.detect.model import ModelManifest
from edge.detect.postprocess import Letterbox, clip_to_region, letterbox, nms
from edge.detections import Detections

BOX_ROWS, SCORE_ROW = 4, 4  # output rows: cx, cy, w, h, person score, then keypoints x, y, visibility


class OnnxDetector(NetworkBackend):
    backend = "onnxruntime"

    def __init__(self, config: DetectorConfig, manifest: ModelManifest) -> None:
        super().__init__(config, manifest)
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(config.model), options, providers=["CPUExecutionProvider"])
        self._input_name = self._session.get_inputs()[0].name

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[Region] | None = None
    ) -> list[Detections]:
        if not images:
            return []
        regions = regions or whole_images(images)
        canvases, boxes = [], []
        for image, (x1, y1, x2, y2) in zip(images, regions, strict=True):
            canvas, box = letterbox(image[y1:y2, x1:x2], self.height, self.width)
            canvases.append(canvas)
            boxes.append(box)
        blob = cv2.dnn.blobFromImages(canvases, scalefactor=1 / 255.0, swapRB=True)
        (output,) = self._session.run(None, {self._input_name: blob})[:1]
        results = []
        for rows, box, region in zip(output, boxes, regions, strict=True):
            found = self._decode(rows, box).shifted(region[0], region[1])
            results.append(clip_to_region(found, region))
        return results

    def _decode(self, rows: NDArray[np.float32], box: Letterbox) -> Detections:
        keep = rows[SCORE_ROW] >= self.confidence
        candidates = rows[:, keep].T  # (n, 56)
        cx, cy, w, h = candidates[:, :BOX_ROWS].T
        xyxy = box.to_image(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1))
        keypoint_count = (rows.shape[0] - SCORE_ROW - 1) // 3
        keypoints = candidates[:, SCORE_ROW + 1 :].reshape(len(candidates), keypoint_count, 3).copy()
        keypoints[..., :2] = box.to_image(keypoints[..., :2])
        found = Detections(xyxy, candidates[:, SCORE_ROW], keypoints)
        return nms(found, self.nms_iou)
