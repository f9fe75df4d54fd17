"""The committed ONNX model is what the recipe in models/ makes from the official checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from edge.detect.model import file_sha256
from edge.detect.postprocess import letterbox
from tests.conftest import MODEL, REPO, need

CHECKPOINT = REPO / "models" / "yolo11n-pose.pt"


def _raw_output(model: Path, image: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    canvas, _ = letterbox(image, 480, 640)
    blob = cv2.dnn.blobFromImages([canvas], scalefactor=1 / 255.0, swapRB=True)
    return np.asarray(session.run(None, {session.get_inputs()[0].name: blob})[0])


def test_committed_model_matches_its_manifest() -> None:
    manifest = json.loads(MODEL.with_name(MODEL.name + ".manifest.json").read_text())
    assert manifest["sha256"] == file_sha256(MODEL)
    assert manifest["checkpoint_sha256"] == "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0"
    for key in (
        "source_package",
        "source_package_sha256",
        "export_command",
        "ultralytics_version",
        "input_size",
    ):
        assert manifest[key], key
    assert manifest["licence"].startswith("AGPL-3.0")


@pytest.mark.slow
def test_recipe_reproduces_the_committed_model(tmp_path: Path, demo_video: Path) -> None:
    need(CHECKPOINT, "models/fetch_checkpoint.sh fetches the official checkpoint (scripts/setup.sh --dev)")
    target = tmp_path / "again.onnx"
    done = subprocess.run(
        [sys.executable, str(REPO / "models" / "export.py"), str(target)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    committed = json.loads(MODEL.with_name(MODEL.name + ".manifest.json").read_text())
    remade = json.loads(target.with_name("again.onnx.manifest.json").read_text())
    for key in ("checkpoint_sha256", "export_command", "ultralytics_version", "source_package_sha256"):
        assert remade[key] == committed[key], key
    # ONNX files carry export-time metadata, so compare what the networks compute, not bytes.
    capture = cv2.VideoCapture(str(demo_video))
    ok, image = capture.read()
    capture.release()
    assert ok
    expected, actual = _raw_output(MODEL, image), _raw_output(target, image)
    assert expected.shape == actual.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("name", ["yolo11n-pose.onnx", "yolo11n-pose.pt"])
def test_every_model_file_has_a_manifest(name: str) -> None:
    assert (REPO / "models" / f"{name}.manifest.json").is_file()
