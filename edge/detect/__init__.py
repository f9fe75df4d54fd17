"""Person detectors: one interface, backends that each convert their own output to Detections."""

from edge.config import DetectorConfig, OnnxDetectorConfig, OpenvinoDetectorConfig
from edge.detect.base import Detector, ModelInfo
from edge.detect.model import ModelError, verify_model
from edge.detect.tiling import TiledDetector

__all__ = ["Detector", "ModelError", "ModelInfo", "build_detector", "verify_model"]


def build_detector(config: DetectorConfig) -> Detector:
    """The backend a `detector` config names; the model file is verified first."""
    manifest = verify_model(config.model)
    backend: Detector
    if isinstance(config, OpenvinoDetectorConfig):
        from edge.detect.openvino import OpenvinoDetector

        backend = OpenvinoDetector(config, manifest)
    elif isinstance(config, OnnxDetectorConfig):
        from edge.detect.onnx import OnnxDetector

        backend = OnnxDetector(config, manifest)
    else:
        from edge.detect.ultralytics import UltralyticsDetector

        backend = UltralyticsDetector(config, manifest)
    if config.tiling is not None:
        return TiledDetector(backend, config.tiling, config.nms_iou)
    return backend
