"""The committed int8 model is what models/quantize.py makes from the float model and named frames."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import pytest

from edge.config import INT8_MODEL_NAME, OpenvinoDetectorConfig
from edge.detect.model import file_sha256
from edge.detect.openvino import import_openvino
from edge.detect.postprocess import letterbox, network_shape
from tests.conftest import MODEL, REPO, need_module, run_python

INT8_MODEL = REPO / "models" / INT8_MODEL_NAME
# Footage anything is evaluated or tested on; calibration must use none of it.
TEST_DATA = ("pets2009-s2l1", "mall-dev", "brt-dev", "vtest")


def _manifest(model: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(model.with_name(model.name + ".manifest.json").read_text())
    return loaded


def _recipe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quantize_recipe", REPO / "models" / "quantize.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _raw_output(model: Path, image: np.ndarray) -> np.ndarray:
    """What the network computes on OpenVINO in float32 (int8 kernels for an int8 model)."""
    core = import_openvino().Core()
    compiled = core.compile_model(str(model), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    height, width = network_shape(image.shape[:2], *OpenvinoDetectorConfig().input_size)
    canvas, _ = letterbox(image, height, width)
    blob = cv2.dnn.blobFromImages([canvas], scalefactor=1 / 255.0, swapRB=True)
    return np.asarray(compiled(blob)[0])


def test_the_int8_model_matches_its_manifest() -> None:
    manifest = _manifest(INT8_MODEL)

    assert manifest["file"] == INT8_MODEL.name
    assert manifest["sha256"] == file_sha256(INT8_MODEL)
    assert manifest["licence"] == _manifest(MODEL)["licence"]
    assert manifest["licence"].startswith("AGPL-3.0")


def test_the_int8_model_names_its_source_model_and_calibration_frames() -> None:
    manifest, recipe = _manifest(INT8_MODEL), _recipe()

    assert manifest["source_model"] == MODEL.name
    assert manifest["source_model_sha256"] == file_sha256(MODEL)
    assert manifest["checkpoint_sha256"] == _manifest(MODEL)["checkpoint_sha256"]
    assert manifest["calibration_frames"] == recipe.calibration_names()
    assert manifest["calibration_frame_count"] == sum(
        len(range(first, end, step)) for _, first, end, step in recipe.CALIBRATION_FRAMES
    )
    assert manifest["nncf_version"]
    assert "CC BY 4.0" in manifest["calibration_data"]


def test_no_calibration_frame_comes_from_test_footage() -> None:
    recipe = _recipe()
    named = [recipe.CALIBRATION_FOLDER, *(name for name, *_ in recipe.CALIBRATION_FRAMES)]

    assert len(named) > 1
    for name in named:
        assert not any(test in name for test in TEST_DATA), name


@pytest.mark.slow
@pytest.mark.data
def test_recipe_reproduces_the_committed_int8_model(
    tmp_path: Path, shared_data: Path, demo_video: Path
) -> None:
    need_module("nncf", "the dev extra installs it: pip install -e '.[dev]'")
    target = tmp_path / "again.onnx"
    run_python(str(REPO / "models" / "quantize.py"), str(target), timeout=1200)
    committed, remade = _manifest(INT8_MODEL), _manifest(target)
    for key in ("source_model_sha256", "calibration_frames", "calibration_frame_count", "quantization"):
        assert remade[key] == committed[key], key
    # ONNX bytes may differ (metadata, the order of equal statistics); what the networks compute may not.
    capture = cv2.VideoCapture(str(demo_video))
    ok, image = capture.read()
    capture.release()
    assert ok
    expected, actual = _raw_output(INT8_MODEL, image), _raw_output(target, image)
    assert expected.shape == actual.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-2)
