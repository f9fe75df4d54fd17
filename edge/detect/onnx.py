"""The exported model on onnxruntime: runs on any CPU onnxruntime supports."""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from edge.config import OnnxDetectorConfig
from edge.detect.exported import ExportedPoseModel
from edge.detect.model import ModelManifest


class OnnxDetector(ExportedPoseModel):
    backend = "onnxruntime"

    def __init__(self, config: OnnxDetectorConfig, manifest: ModelManifest) -> None:
        super().__init__(config, manifest)
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(config.model), options, providers=["CPUExecutionProvider"])
        self._input_name = self._session.get_inputs()[0].name

    def infer(self, canvases: NDArray[np.uint8]) -> NDArray[np.float32]:
        blob = cv2.dnn.blobFromImages(list(canvases), scalefactor=1 / 255.0, swapRB=True)
        output: NDArray[np.float32] = self._session.run(None, {self._input_name: blob})[0]
        return output
