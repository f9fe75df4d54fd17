"""Person detectors: one interface, backends that each convert their own output to Detections."""

from edge.config import DetectorConfig, OnnxDetectorConfig, OpenvinoDetectorConfig
from edge.detect.base import Detector, ModelInfo
from edge.detect.model import ModelError, verify_model

__all__ = ["Detector", "ModelError", "ModelInfo", "build_detector", "verify_model"]


def build_detector(config: DetectorConfig) -> Detector:
    """The backend a `detector` config names; the model file is verified first."""
    manifest = verify_model(config.model)
    if isinstance(config, OpenvinoDetectorConfig):
        from edge.detect.openvino import OpenvinoDetector

        return OpenvinoDetector(config, manifest)
    if isinstance(config, OnnxDetectorConfig):
        from edge.detect.onnx import OnnxDetector

        return OnnxDetector(config, manifest)
    from edge.detect.ultralytics import UltralyticsDetector

    return UltralyticsDetector(config, manifest)
