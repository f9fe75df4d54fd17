"""Person detectors: one interface, backends that each convert their own output to Detections."""

from edge.config import DetectorConfig, OnnxDetectorConfig, OpenvinoDetectorConfig
from edge.detect.base import Detector, ModelInfo
from edge.detect.model import ModelError, ModelManifest, verify_model
from edge.detect.tiling import TiledDetector

__all__ = ["Detector", "ModelError", "ModelInfo", "build_detector", "verify_model"]


def build_detector(config: DetectorConfig) -> Detector:
    """The backend a `detector` config names; the model file is verified first."""
    manifest = verify_model(config.model)
    if config.tiling is None:
        return _backend(config, manifest)
    # Whether a frame is quiet depends on the sure people of the whole picture: a tile of a crowd
    # holds few of them. So the tiles are looked at without the quiet-frame rule, and it runs once
    # on their merged boxes.
    backend = _backend(config.model_copy(update={"quiet_duplicates": None}), manifest)
    return TiledDetector(backend, config.tiling, config.nms_iou, config.quiet_duplicates, config.confidence)


def _backend(config: DetectorConfig, manifest: ModelManifest) -> Detector:
    if isinstance(config, OpenvinoDetectorConfig):
        from edge.detect.openvino import OpenvinoDetector

        return OpenvinoDetector(config, manifest)
    if isinstance(config, OnnxDetectorConfig):
        from edge.detect.onnx import OnnxDetector

        return OnnxDetector(config, manifest)
    from edge.detect.ultralytics import UltralyticsDetector

    return UltralyticsDetector(config, manifest)
