"""Recipe: the int8 model for CPUs without bfloat16, made from the float ONNX model, and its manifest.

Static post-training quantization with NNCF's ONNX backend: every convolution of the network
computes in int8 (per-channel weights, per-tensor activations, ranges measured on the calibration
frames named below); the decoding at the end of the detection head (distances to boxes, anchor
offsets, keypoint scaling) stays in float, so the outputs mean what the float model's mean. The
result is one ONNX file with QuantizeLinear/DequantizeLinear pairs, which OpenVINO reads and runs
with int8 kernels (VNNI where the CPU has it). NNCF writes asymmetric activation ranges as int8 with
a zero point; OpenVINO (2026.4) computes those wrongly (person scores everywhere) while onnxruntime
computes them right, so they are rewritten as the same ranges in uint8 (zero point + 128).

Calibration frames are none of the frames anything is evaluated or tested on: Intel's sample
videos (CC BY 4.0, Intel Corporation), read from ../shared/data/intel-sample-videos beside the
checkout (or $WARTEZONE_DATA/intel-sample-videos). Frames are never copied into the repository.

Needs the `dev` extra (nncf, onnx); the edge runtime needs neither.
Run from the repository root:  python models/quantize.py
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
FLOAT_MODEL = HERE / "yolo11n-pose.onnx"
TARGET = HERE / "yolo11n-pose-int8.onnx"
DATA = Path(os.environ.get("WARTEZONE_DATA", HERE.parent.parent / "shared" / "data"))
CALIBRATION_FOLDER = "intel-sample-videos"
CALIBRATION_LICENCE = "CC BY 4.0, Intel Corporation sample videos"
# (file, first frame, end, step): frames first, first + step, ... before end, counted from 0 in
# the order OpenCV decodes them. 200 frames of a room people walk through, and every frame of
# three previews (a classroom with seated people, a store aisle, a doorway): 335 frames.
CALIBRATION_FRAMES: tuple[tuple[str, int, int, int], ...] = (
    ("one-by-one-person-detection.mp4", 0, 1394, 7),
    ("classroom.gif", 0, 45, 1),
    ("people-detection.gif", 0, 23, 1),
    ("store-aisle-detection.gif", 0, 67, 1),
)
# Frames are letterboxed as the detector does at its default input size (edge.config).
INPUT_SIZE = (1088, 1440)
PRESET = "mixed"  # symmetric int8 weights, asymmetric activations (SiLU outputs go below zero)
# Kept in float: the head's decoding after its last convolutions. Matched against node names of
# the float model (ultralytics' export names nodes after the module path; model.23 is the head).
FLOAT_NODES = (
    r"/model\.23/dfl/.*",
    r"/model\.23/(Shape|Gather|Range|Cast|Unsqueeze|Expand|ConstantOfShape|Reshape|Concat|Transpose)"
    r"(_[0-9]+)?(_output_0)?",
    r"/model\.23/(Add|Sub|Mul|Div|Sigmoid|Slice|Split|MatMul|Softmax)(_[0-9]+)?",
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def calibration_names() -> list[str]:
    """The calibration frames as the manifest names them: one entry per file."""
    return [f"{name} frames range({first}, {end}, {step})" for name, first, end, step in CALIBRATION_FRAMES]


def calibration_frames(folder: Path) -> Iterator[np.ndarray]:
    """The named frames, decoded in order (BGR uint8)."""
    for name, first, end, step in CALIBRATION_FRAMES:
        wanted = set(range(first, end, step))
        capture = cv2.VideoCapture(str(folder / name))
        found = 0
        try:
            for index in range(end):
                ok, image = capture.read()
                if not ok:
                    break
                if index in wanted:
                    found += 1
                    yield image
        finally:
            capture.release()
        if found != len(wanted):
            sys.exit(f"{folder / name}: {found} of the {len(wanted)} named frames decoded")


def network_input(image: np.ndarray) -> dict[str, np.ndarray]:
    """What the detector feeds the network for this frame: letterboxed, RGB, 0..1, NCHW."""
    from edge.detect.postprocess import letterbox, network_shape

    height, width = network_shape(image.shape[:2], *INPUT_SIZE)
    canvas, _ = letterbox(image, height, width)
    blob = cv2.dnn.blobFromImages([canvas], scalefactor=1 / 255.0, swapRB=True)
    return {"images": np.ascontiguousarray(blob, np.float32)}


def unsigned_activations(model: Any) -> int:
    """Rewrite int8 activation quantizers with a zero point as uint8 ones with the zero point moved
    by 128: the same levels and scale, so the same arithmetic, in the form OpenVINO computes right.
    Weights stay int8 (symmetric, zero point 0). Returns how many were rewritten."""
    from onnx import numpy_helper

    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    quantizers = [n for n in model.graph.node if n.op_type == "QuantizeLinear" and len(n.input) > 2]
    rewritten = 0
    for name in sorted({node.input[2] for node in quantizers}):
        zero_point = numpy_helper.to_array(initializers[name])
        if zero_point.dtype == np.int8:
            moved = (zero_point.astype(np.int16) + 128).astype(np.uint8)
            initializers[name].CopyFrom(numpy_helper.from_array(moved, name))
            rewritten += 1
    # The quantized tensors' recorded types (int8) no longer hold; shape inference finds them again.
    outputs = {output for node in quantizers for output in node.output}
    kept = [info for info in model.graph.value_info if info.name not in outputs]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept)
    return rewritten


def quantize(target: Path) -> dict[str, object]:
    # nncf reports usage to Google Analytics through openvino_telemetry unless that is absent.
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
    import nncf
    import onnx

    float_manifest = json.loads((HERE / f"{FLOAT_MODEL.name}.manifest.json").read_text(encoding="utf-8"))
    if sha256(FLOAT_MODEL) != float_manifest["sha256"]:
        sys.exit(f"{FLOAT_MODEL}: sha256 differs from its manifest; run models/export.py")
    folder = DATA / CALIBRATION_FOLDER
    if not folder.is_dir():
        sys.exit(f"{folder}: the calibration videos are missing (set WARTEZONE_DATA to the data folder)")
    frames = list(calibration_frames(folder))
    quantized = nncf.quantize(
        onnx.load(str(FLOAT_MODEL)),
        nncf.Dataset(frames, network_input),
        preset=nncf.QuantizationPreset(PRESET),
        subset_size=len(frames),
        ignored_scope=nncf.IgnoredScope(patterns=list(FLOAT_NODES), validate=False),
    )
    unsigned_activations(quantized)
    onnx.checker.check_model(quantized)
    onnx.save(quantized, str(target))
    return {
        "name": "yolo11n-pose-int8",
        "file": target.name,
        "sha256": sha256(target),
        "source_model": FLOAT_MODEL.name,
        "source_model_sha256": float_manifest["sha256"],
        "checkpoint_sha256": float_manifest["checkpoint_sha256"],
        "quantization": f"nncf.quantize (ONNX backend), preset {PRESET}, int8 convolutions, "
        "the head's decoding in float, activation quantizers as uint8",
        "nncf_version": nncf.__version__,
        "calibration_frames": calibration_names(),
        "calibration_frame_count": len(frames),
        "calibration_data": f"{CALIBRATION_FOLDER}/ ({CALIBRATION_LICENCE}); not in the repository",
        "calibration_input_size": f"letterboxed into {INPUT_SIZE[0]} x {INPUT_SIZE[1]} as the detector does",
        "input_size": float_manifest["input_size"],
        "outputs": float_manifest["outputs"],
        "licence": float_manifest["licence"],
    }


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET
    manifest: dict[str, Any] = quantize(target)
    manifest_file = target.with_name(target.name + ".manifest.json")
    manifest_file.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"{target}: sha256 {manifest['sha256']}\n{manifest_file}")


if __name__ == "__main__":
    main()
