"""A room test set from PETS 2009 S2.L1 for `wartezone eval --room`: benchmarks/rooms.py's three
virtual cameras cut from the real view, each written as a video of its own, a site YAML with the
room and each camera's true calibration as point pairs, and the room's truth per timestamp (PETS'
people inside the room, with their floor points). Also a site of the real view alone, the single
full view the merged count is compared with.

    .venv/bin/python -m tests.edge.room_pets OUT [--every 5] [--frames 80]
    .venv/bin/wartezone eval OUT/site.yaml --room --counts OUT/room.csv --plot OUT/plan.png
    .venv/bin/wartezone eval OUT/full.yaml --room --counts OUT/room.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from benchmarks.rooms import (
    DATA,
    PETS_SIZE,
    bottom_centres,
    inside,
    pets_scene,
    view_settings,
    virtual_cameras,
)
from edge.config import OpenvinoDetectorConfig
from edge.zones.floor import to_floor

FPS = 2.0  # the written videos' rate: frame i is at i / FPS seconds, in every camera
# Marks in each picture (fractions) whose floor points become the camera's calibration: its lower
# part, where the floor is seen.
MARKS = [(0.1, 0.5), (0.9, 0.5), (0.9, 0.95), (0.1, 0.95), (0.5, 0.7), (0.3, 0.85)]


def _pairs(homography: np.ndarray) -> list[dict[str, list[float]]]:
    floor = to_floor(homography, np.asarray(MARKS, np.float64))
    return [
        {"image": [float(x), float(y)], "floor": [round(float(a), 4), round(float(b), 4)]}
        for (x, y), (a, b) in zip(MARKS, floor, strict=True)
    ]


def make_room_set(out: Path, every: int = 5, frames: int = 80, data: Path = DATA) -> dict[str, Path]:
    """Writes the videos, site.yaml (the three virtual cameras), full.yaml (the real view alone) and
    room.csv into `out`; returns their paths by name."""
    out.mkdir(parents=True, exist_ok=True)
    scene = pets_scene(data, every, [0, 0, 0])
    cameras = virtual_cameras(scene)
    numbers = scene.numbers[:frames]
    writers = {
        c.name: cv2.VideoWriter(str(out / f"{c.name}.avi"), cv2.VideoWriter.fourcc(*"MJPG"), FPS, c.size)
        for c in cameras
    }
    writers["full"] = cv2.VideoWriter(str(out / "full.avi"), cv2.VideoWriter.fourcc(*"MJPG"), FPS, PETS_SIZE)
    for _, _, image in scene.frames(set(numbers)):
        for camera in cameras:
            writers[camera.name].write(camera.view(image))
        writers["full"].write(image)
    for writer in writers.values():
        writer.release()
    rows = ["time_s,count,floor_points"]
    for i, number in enumerate(numbers):
        boxes = (scene.truth or {}).get(number, [])
        points = to_floor(scene.floor, bottom_centres(boxes) / PETS_SIZE)
        points = points[np.isfinite(points).all(axis=1)]  # everyone: outside the room too
        count = int(inside(scene.room, points).sum())
        rows.append(f"{i / FPS},{count}," + ";".join(f"{x:.3f} {y:.3f}" for x, y in points))
    (out / "room.csv").write_text("\n".join(rows) + "\n")
    room = {"id": "path", "name": "PETS path", "polygon": scene.room.tolist()}
    base = OpenvinoDetectorConfig()

    def site(name: str, entries: list[tuple[str, np.ndarray, tuple[int, int]]], detector: Any) -> Path:
        data = {
            "site": "pets",
            "floor": {"rooms": [room]},
            "cameras": [
                {
                    "id": camera,
                    "source": {"type": "file", "path": f"{camera}.avi", "realtime": False},
                    "fps": FPS,
                    "floor_calibration": {"points": _pairs(homography)},
                    # No zones: each camera counts only for the room, so it runs no tracker of its own.
                }
                for camera, homography, _ in entries
            ],
            "detector": detector,
        }
        path = out / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    # The virtual views' network input sized so that a person has as many of its pixels as in the
    # real view (benchmarks/rooms.view_settings); the views share one size.
    view = view_settings(base, PETS_SIZE, cameras[0].size)
    return {
        "site": site(
            "site", [(c.name, c.homography, c.size) for c in cameras], {"input_size": list(view.input_size)}
        ),
        "full": site("full", [("full", scene.floor, PETS_SIZE)], {"input_size": list(base.input_size)}),
        "truth": out / "room.csv",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--frames", type=int, default=80)
    args = parser.parse_args()
    print(make_room_set(args.out, args.every, args.frames))
