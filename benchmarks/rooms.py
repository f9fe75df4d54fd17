"""One count per room on virtual cameras: several overlapping views cut from one real view.

No calibrated multi-camera recording can be had here, so the bench makes one from real footage:
each virtual camera is a quadrilateral of the real picture warped to a rectangle
(cv2.warpPerspective), as a second camera placed elsewhere would see the same floor in another
perspective. Given the real picture's floor in metres, every virtual camera's true floor mapping
is known (virtual picture -> real picture -> floor). The real detector runs on each virtual view;
each camera's people go to the floor (edge/zones/floor.py) and are merged (edge/zones/rooms.py).

- pets: PETS 2009 S2.L1, three cameras along a campus path; its own calibration (View_001.xml,
  Tsai's model) gives the floor in metres and every person's true floor point (the bottom centre of
  their true box). The cameras take frames up to 0.1 s apart (--offsets), paired by capture time
  as a room's cameras would be.
- platform: the BRT bus platform's camera 1 (brt-dev stills, 1-48 people, dense), two cameras, one
  for the near and one for the far half. Its floor is assumed (the platform 3.5 m wide and 20 m
  long between the picture points of its corners) and there is no true floor point per person:
  the real view's own people are the reference. It tests merging where people stand close.

Compared per room-frame: the merged count, the real view's own count (the goal: within 0.1 MAE),
each camera alone and the plain sum of the cameras; how many times a person in an overlap is
counted (goal 1.00 +/- 0.03); people outside the room counted (goal none); the time to map and
merge against the detector's time on the views (goal <= 5 %). On PETS also: which floor point per
person is closest to the true one (box bottom, ankles, head at a typical height), and the merge
with perfect detections (the true boxes, warped into each view). The ways: the edge's merge as it
is (`box bottom`, `feet`), the merge with none of its checks of what each camera adds on its own
(`no checks`: no border cut, no faint check, no fixtures), each check alone, and the fixture's
wait swept. The real view alone is counted by the same rules as the merge of each way.

    .venv/bin/python -m benchmarks.rooms [--every 5] [--every-still 2] [--plot plan.png] [--json]
        [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from edge.assignment import min_cost_pairs
from edge.config import DetectorConfig, FixturesConfig, default_config, load_config
from edge.detect import Detector, build_detector
from edge.detect.postprocess import faces
from edge.detections import KEYPOINT_VISIBLE, LEFT_ANKLE, RIGHT_ANKLE, Anchor, Detections, box_iou
from edge.evaluate import read_counts_csv, read_cvml
from edge.sources.file import FileSource
from edge.zones.fixtures import Fixtures
from edge.zones.floor import fit_floor, footprint, to_floor
from edge.zones.geometry import contains
from edge.zones.rooms import (
    FAINT_BELOW,
    PAIRING_TOLERANCE_S,
    RoomView,
    count_room,
    floor_points,
    pair_frames,
    times_counted,
)

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
Points = NDArray[np.float64]
Box = tuple[float, float, float, float]
Quad = tuple[tuple[float, float], ...]  # picture pixels, corners clockwise from top left
Image = NDArray[np.uint8]

PETS = Path("pets2009-s2l1")
PETS_SIZE = (768, 576)  # View_001, pixels
# The room on PETS' floor (metres, its world frame): the path's middle, where people cross the
# three views; people beyond its edges are in view of some camera but outside the room.
PETS_ROOM = np.array([[-16.0, -13.0], [3.0, -13.0], [3.0, 4.0], [-16.0, 4.0]])
# Three virtual cameras: the quadrilateral of the real picture that each sees as its whole picture,
# and its picture's size. Neighbours overlap by 100 to 150 pixels of the real picture, so a person
# crossing is seen by two for a few seconds.
PETS_CAMERAS: dict[str, tuple[Quad, tuple[int, int]]] = {
    "west": (((0, 110), (330, 120), (350, 440), (0, 430)), (352, 320)),
    "middle": (((230, 115), (550, 110), (570, 430), (210, 440)), (352, 320)),
    "east": (((420, 120), (768, 105), (768, 440), (440, 430)), (352, 320)),
}
PLATFORM = Path("brt-dev") / "camera-1"
PLATFORM_SIZE = (360, 640)
# The platform's floor, assumed: its corners in the picture (the foot of the rail on the left, of
# the glass wall on the right, near the bottom edge and 600 pixels up) are a rectangle 3.5 m wide
# and 20 m long. A person near the bottom is then about 0.5 m wide, as at the top: plausible, not
# measured, which is why the platform is scored against its real view and not against a truth.
PLATFORM_CORNERS = ((48, 40), (125, 40), (345, 640), (55, 640))
PLATFORM_FLOOR_M = ((0.0, 20.0), (3.5, 20.0), (3.5, 0.0), (0.0, 0.0))
PLATFORM_ROOM = np.array([[0.0, 0.0], [3.5, 0.0], [3.5, 20.0], [0.0, 20.0]])
PLATFORM_CAMERAS: dict[str, tuple[Quad, tuple[int, int]]] = {
    "far": (((0, 0), (360, 10), (360, 370), (0, 390)), (352, 384)),
    "near": (((0, 250), (360, 270), (360, 640), (0, 640)), (352, 384)),
}
# Other waits before a place of faint boxes is a fixture, to show what the wait buys and costs.
FIXTURE_SWEEP_S = (5.0, 30.0, 60.0)
# How far from the picture's bottom a camera's footprint reaches: all of both scenes' floors.
FULL_VIEW_REACH_M = 60.0
STILLS_APART_S = 60.0  # platform stills are moments of their own; each is a room step
# Where a person's head (nose, eyes, ears) is above the floor, for the head rule: eye height of an
# adult standing (1.60 m for a 1.72 m person).
HEAD_HEIGHT_M = 1.6
MATCH_IOU = 0.5  # a detection is a true person's where their boxes overlap this much


# --- PETS' calibration: Tsai's camera model ----------------------------------------------------


@dataclass(frozen=True)
class TsaiCamera:
    """PETS' View_001.xml: Tsai's model (world in millimetres, radial distortion kappa1)."""

    rotation: Points
    translation: Points
    focal: float
    kappa1: float
    centre: tuple[float, float]
    sx: float
    pixel: tuple[float, float]  # effective sensor pixel size (dpx, dy), millimetres

    @classmethod
    def read(cls, path: Path) -> TsaiCamera:
        root = ET.parse(path).getroot()

        def values(tag: str, *names: str) -> list[float]:
            node = root.find(tag)
            if node is None:
                raise ValueError(f"{path}: no {tag}")
            return [float(node.attrib[name]) for name in names]

        dpx, dy = values("Geometry", "dpx", "dy")
        focal, kappa1, cx, cy, sx = values("Intrinsic", "focal", "kappa1", "cx", "cy", "sx")
        tx, ty, tz, rx, ry, rz = values("Extrinsic", "tx", "ty", "tz", "rx", "ry", "rz")
        sa, ca, sb, cb, sg, cg = np.sin(rx), np.cos(rx), np.sin(ry), np.cos(ry), np.sin(rz), np.cos(rz)
        rotation = np.array(
            [
                [cb * cg, cg * sa * sb - ca * sg, sa * sg + ca * cg * sb],
                [cb * sg, sa * sb * sg + ca * cg, ca * sb * sg - cg * sa],
                [-sb, cb * sa, ca * cb],
            ]
        )
        return cls(rotation, np.array([tx, ty, tz]), focal, kappa1, (cx, cy), sx, (dpx, dy))

    def project(self, world_m: Points) -> Points:
        """World points (metres) to picture pixels, distortion included."""
        camera = (world_m * 1000) @ self.rotation.T + self.translation
        undistorted = self.focal * camera[:, :2] / camera[:, 2:]
        distorted = undistorted.copy()
        for _ in range(20):  # Tsai's distortion is given from distorted to undistorted: invert it
            r2 = (distorted**2).sum(axis=1, keepdims=True)
            distorted = undistorted / (1 + self.kappa1 * r2)
        u = self.sx * distorted[:, 0] / self.pixel[0] + self.centre[0]
        v = distorted[:, 1] / self.pixel[1] + self.centre[1]
        return np.stack([u, v], axis=1)

    def plane(self, height_m: float) -> Points:
        """Picture fractions -> metres on the horizontal plane `height_m` above the floor, fitted
        on the part of the floor where PETS' people walk (lens distortion there: a few cm)."""
        xs, ys = np.meshgrid(np.linspace(-20, 8, 15), np.linspace(-17, 8, 15))
        world = np.c_[xs.ravel(), ys.ravel(), np.full(xs.size, height_m)]
        return fit_floor(self.project(world) / PETS_SIZE, world[:, :2]).homography


# --- scenes and their virtual cameras -----------------------------------------------------------


Frames = Callable[[set[int]], Iterator[tuple[int, float, Image]]]


@dataclass(frozen=True)
class Scene:
    """A real view, its floor, the room on it, and the virtual cameras cut from it."""

    name: str
    size: tuple[int, int]  # the real picture, pixels
    floor: Points  # the real picture's fractions -> floor metres
    room: Points
    cameras: dict[str, tuple[Quad, tuple[int, int]]]
    offsets: list[int]  # per camera, frames its capture lags a step (0 for stills)
    numbers: list[int]  # the frames that are room steps
    frames: Frames  # the wanted frames: (number, capture time, image)
    truth: dict[int, list[Box]] | None  # true boxes per frame; None: the real view is the reference
    head_plane: Points | None = None  # picture fractions -> the plane of heads, for the head rule
    stream: bool = True  # frames of one video; False: stills, each a moment of its own


def pets_scene(data: Path, every: int, offsets: list[int]) -> Scene:
    folder = data / PETS
    truth = {
        number: list(people.values()) for number, people in read_cvml(folder / "PETS2009-S2L1.xml").items()
    }
    tsai = TsaiCamera.read(folder / "View_001.xml")
    video = folder / "vtest.avi"
    margin = max(abs(o) for o in offsets)
    total = FileSource(video).frame_count()

    def frames(wanted: set[int]) -> Iterator[tuple[int, float, Image]]:
        for number, pending in enumerate(FileSource(video).frames()):
            if number in wanted and (frame := pending.decode()) is not None:
                yield number, frame.time_s, frame.image
            if number >= max(wanted):
                return

    numbers = list(range(margin, total - margin, every))
    floor = tsai.plane(0.0)
    return Scene(
        "pets",
        PETS_SIZE,
        floor,
        PETS_ROOM,
        PETS_CAMERAS,
        offsets,
        numbers,
        frames,
        truth,
        tsai.plane(HEAD_HEIGHT_M),
    )


def platform_scene(data: Path, every: int) -> Scene:
    folder = data / PLATFORM
    rows = read_counts_csv(folder / "counts.csv")[::every]
    corners = np.asarray(PLATFORM_CORNERS, np.float64) / PLATFORM_SIZE
    floor = fit_floor(corners, np.asarray(PLATFORM_FLOOR_M)).homography

    def frames(wanted: set[int]) -> Iterator[tuple[int, float, Image]]:
        for number, row in enumerate(rows):
            image = cv2.imread(str(folder / "frames" / row.file), cv2.IMREAD_COLOR)
            if number in wanted and image is not None:
                yield number, number * STILLS_APART_S, np.asarray(image, np.uint8)

    offsets = [0] * len(PLATFORM_CAMERAS)
    return Scene(
        "platform",
        PLATFORM_SIZE,
        floor,
        PLATFORM_ROOM,
        PLATFORM_CAMERAS,
        offsets,
        list(range(len(rows))),
        frames,
        None,
        stream=False,
    )


@dataclass(frozen=True)
class VirtualCamera:
    name: str
    warp: Points  # real picture pixels -> this camera's pixels
    size: tuple[int, int]
    homography: Points  # this camera's picture fractions -> floor metres (its true calibration)
    footprint: Points
    offset: int  # frames after the room's step that this camera's frame was captured

    def view(self, image: Image) -> Image:
        return np.asarray(cv2.warpPerspective(image, self.warp, self.size, flags=cv2.INTER_LINEAR), np.uint8)


def virtual_cameras(scene: Scene) -> list[VirtualCamera]:
    """The scene's cameras with their true floor mappings."""
    cameras = []
    for (name, (quad, size)), offset in zip(scene.cameras.items(), scene.offsets, strict=True):
        width, height = size
        corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        warp = cv2.getPerspectiveTransform(np.asarray(quad, np.float32), corners).astype(np.float64)
        # virtual fractions -> virtual pixels -> real pixels -> real fractions -> floor
        real_fractions = np.diag([1 / scene.size[0], 1 / scene.size[1], 1.0])
        homography = scene.floor @ real_fractions @ np.linalg.inv(warp) @ np.diag([width, height, 1.0])
        cameras.append(
            VirtualCamera(name, warp, size, homography, footprint(homography, FULL_VIEW_REACH_M), offset)
        )
    return cameras


def inside(polygon: Points, points: Points) -> NDArray[np.bool_]:
    return contains(polygon.astype(np.float32), points.astype(np.float32))


def view_settings(detector: DetectorConfig, real: tuple[int, int], size: tuple[int, int]) -> DetectorConfig:
    """The detector's settings for a virtual camera's picture of `size`: the network's input sized
    so that a person has as many of its pixels as in the real view (of size `real`). Otherwise the
    small views are enlarged more than the real one, and faint things (cones, a tripod) pass for
    people there."""
    height, width = detector.input_size
    scale = min(width / real[0], height / real[1])
    input_size = tuple(int(np.ceil(side * scale / 32) * 32) for side in (size[1], size[0]))
    return detector.model_copy(update={"input_size": input_size})


# --- the room, frame by frame ------------------------------------------------------------------


@dataclass
class RoomResult:
    frames: int = 0
    partial: int = 0  # steps with a camera's frame too far in time (none expected here)
    truth: list[int] = field(default_factory=list)
    merged: list[int] = field(default_factory=list)
    full_view: list[int] = field(default_factory=list)
    summed: list[int] = field(default_factory=list)  # the cameras' counts added, no merging
    alone: dict[str, list[int]] = field(default_factory=dict)
    overlap_counted: list[int] = field(default_factory=list)  # per seen person in an overlap: times counted
    overlap_summed: list[int] = field(default_factory=list)  # the same without merging
    outside_people: int = 0  # true people in some view but outside the room (person-frames)
    outside_counted: int = 0  # of those, counted in the room
    detector_s: float = 0.0  # the views' detector time
    merge_s: float = 0.0  # mapping to the floor and merging

    def figures(self) -> dict[str, Any]:
        truth = np.asarray(self.truth, float)

        def mae(counts: list[int]) -> float:
            return round(float(np.abs(np.asarray(counts, float) - truth).mean()), 3)

        def bias(counts: list[int]) -> float:
            return round(float((np.asarray(counts, float) - truth).mean()), 3)

        merged_vs_full = np.abs(np.asarray(self.merged, float) - np.asarray(self.full_view, float)).mean()
        return {
            "frames": self.frames,
            "partial": self.partial,
            "mean_true": round(float(truth.mean()), 2),
            "mae": {"merged": mae(self.merged), "full view": mae(self.full_view), "summed": mae(self.summed)}
            | {f"{name} alone": mae(counts) for name, counts in self.alone.items()},
            "bias": {
                "merged": bias(self.merged),
                "full view": bias(self.full_view),
                "summed": bias(self.summed),
            }
            | {f"{name} alone": bias(counts) for name, counts in self.alone.items()},
            "merged_vs_full_view_mae": round(float(merged_vs_full), 3),
            "overlap_people": len(self.overlap_counted),
            "overlap_times_counted": round(float(np.mean(self.overlap_counted)), 3)
            if self.overlap_counted
            else None,
            "overlap_times_counted_unmerged": round(float(np.mean(self.overlap_summed)), 3)
            if self.overlap_summed
            else None,
            "outside_people": self.outside_people,
            "outside_counted": self.outside_counted,
            "detector_ms_per_room_frame": round(1000 * self.detector_s / max(self.frames, 1), 1),
            "merge_ms_per_room_frame": round(1000 * self.merge_s / max(self.frames, 1), 3),
            "merge_overhead": round(self.merge_s / self.detector_s, 5) if self.detector_s else None,
        }


def bottom_centres(boxes: list[tuple[float, float, float, float]]) -> Points:
    xyxy = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], axis=1)


@dataclass(frozen=True)
class Step:
    """One room step's people: the real view's and each virtual camera's (capture time, people)."""

    number: int
    time_s: float
    full: Detections
    views: list[tuple[float, Detections]]
    # per view, people that stand nowhere on the floor (benchmarks/rooms_occlusion.py: a person pasted
    # into one view only): they count in no room, but their boxes still block that view
    unplaced: list[NDArray[np.bool_]] | None = None


def _cache_file(cache: Path, scene: Scene, cameras: list[VirtualCamera], settings: str) -> Path:
    """Where a run's detections are kept: named by everything that decides them."""
    key = json.dumps(
        [
            scene.name,
            scene.numbers,
            settings,
            [(c.name, c.warp.round(6).tolist(), c.size, c.offset) for c in cameras],
        ]
    )
    return cache / f"rooms-{scene.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def save_seen(path: Path, seen: dict[tuple[str, int], tuple[float, Detections]], seconds: float) -> None:
    arrays: dict[str, NDArray[Any]] = {"seconds": np.asarray(seconds)}
    for (name, number), (time_s, people) in seen.items():
        key = f"{name}:{number}"
        arrays[f"{key}:time"] = np.asarray(time_s)
        arrays[f"{key}:xyxy"] = people.xyxy
        arrays[f"{key}:confidence"] = people.confidence
        if people.keypoints is not None:
            arrays[f"{key}:keypoints"] = people.keypoints
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, allow_pickle=False, **arrays)


def load_seen(path: Path) -> tuple[dict[tuple[str, int], tuple[float, Detections]], float]:
    seen: dict[tuple[str, int], tuple[float, Detections]] = {}
    with np.load(path) as stored:
        for name in stored.files:
            if name.endswith(":time"):
                key = name.removesuffix(":time")
                camera, number = key.rsplit(":", 1)
                keypoints = stored[f"{key}:keypoints"] if f"{key}:keypoints" in stored.files else None
                people = Detections(stored[f"{key}:xyxy"], stored[f"{key}:confidence"], keypoints)
                seen[(camera, int(number))] = (float(stored[name]), people)
        return seen, float(stored["seconds"])


def detect_steps(
    scene: Scene,
    detectors: tuple[Detector, Detector],
    cameras: list[VirtualCamera],
    progress: bool,
    cache: Path | None = None,
    settings: str = "",
) -> tuple[list[Step], float]:
    """Each step's people in the real view and in each virtual camera (whose frame is `offset`
    frames later), and the detector's seconds on the virtual views. With `cache`, the detections
    (and the detector's seconds as measured then) are read from there if a run with the same scene,
    cameras and detector `settings` left them, else kept there."""
    detector, view_detector = detectors
    numbers = set(scene.numbers)
    stored = None if cache is None else _cache_file(cache, scene, cameras, settings)
    if stored is not None and stored.exists():
        seen, seconds = load_seen(stored)
        return _steps_of(scene, cameras, seen), seconds
    wanted = {number + camera.offset for number in numbers for camera in cameras} | numbers
    seen = {}
    seconds = 0.0
    bar = tqdm(total=len(wanted), desc=scene.name, unit="frame", disable=not progress, file=sys.stderr)
    for number, time_s, image in scene.frames(wanted):
        for camera in cameras:
            if number - camera.offset in numbers:
                started = time.perf_counter()
                seen[(camera.name, number)] = (time_s, view_detector.detect(camera.view(image)))
                seconds += time.perf_counter() - started
        if number in numbers:
            seen[("full", number)] = (time_s, detector.detect(image))
        bar.update()
    bar.close()
    if stored is not None:
        save_seen(stored, seen, seconds)
    return _steps_of(scene, cameras, seen), seconds


def _steps_of(
    scene: Scene, cameras: list[VirtualCamera], seen: dict[tuple[str, int], tuple[float, Detections]]
) -> list[Step]:
    steps = []
    for number in sorted(scene.numbers):
        time_s, full = seen[("full", number)]
        steps.append(Step(number, time_s, full, [seen[(c.name, number + c.offset)] for c in cameras]))
    return steps


def true_people(
    boxes: list[tuple[float, float, float, float]], warp: Points | None, size: tuple[int, int]
) -> Detections:
    """People as a perfect detector would box them in a picture (`warp`: from the real picture; None:
    the real picture itself): each true box's corners warped, boxed, cut to the picture; a person
    less than half of whose box is in the picture is not seen."""
    if not boxes:
        return Detections.empty()
    xyxy = np.asarray(boxes, np.float64) if warp is None else warp_boxes(boxes, warp)
    cut = np.clip(xyxy, 0, [size[0], size[1], size[0], size[1]])
    seen = _area(cut) >= 0.5 * _area(xyxy)
    return Detections(cut[seen].astype(np.float32), np.ones(int(seen.sum()), np.float32))


def warp_boxes(boxes: list[Box], warp: Points) -> Points:
    """(N, 4) boxes x1, y1, x2, y2 around each box's corners warped (real picture -> a view)."""
    xyxy = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(xyxy):
        return xyxy
    corners = np.stack([xyxy[:, [0, 1]], xyxy[:, [2, 1]], xyxy[:, [2, 3]], xyxy[:, [0, 3]]], axis=1)
    warped = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), warp).reshape(-1, 4, 2)
    return np.concatenate([warped.min(axis=1), warped.max(axis=1)], axis=1)


def _area(xyxy: Points) -> Points:
    return np.asarray(np.clip(xyxy[:, 2] - xyxy[:, 0], 0, None) * np.clip(xyxy[:, 3] - xyxy[:, 1], 0, None))


def true_steps(steps: list[Step], cameras: list[VirtualCamera], scene: Scene) -> list[Step]:
    """The same steps with the true people instead of the detector's, in every view."""
    truth = scene.truth or {}
    return [
        Step(
            step.number,
            step.time_s,
            true_people(truth.get(step.number, []), None, scene.size),
            [
                (time_s, true_people(truth.get(step.number + c.offset, []), c.warp, c.size))
                for c, (time_s, _) in zip(cameras, step.views, strict=True)
            ],
        )
        for step in steps
    ]


def score_room(
    steps: list[Step],
    cameras: list[VirtualCamera],
    scene: Scene,
    anchor: Anchor,
    faint_below: float | None = FAINT_BELOW,
    pictures: bool = True,
    fixtures_after_s: float | None = FixturesConfig().after_s,
) -> RoomResult:
    """The room's figures with `anchor` as each person's floor point, faint people (below
    `faint_below`) confirmed by a second camera, (with `pictures`) each view's boxes and floor
    mapping, as the edge builds its views: without them no border cut is known and a faint person
    needs confirming wherever another footprint covers them; and, in a video, each camera's faint
    boxes at a place where it found only faint ones for `fixtures_after_s` left out (stills have
    no time between them). The reference: the true people's floor points where the scene has them,
    else the real view's people."""
    result = RoomResult(alone={camera.name: [] for camera in cameras})
    whole = footprint(scene.floor, FULL_VIEW_REACH_M)
    memory = {}
    if fixtures_after_s is not None and scene.stream:  # each camera's, as the edge's pipeline makes them
        detector = default_config().detector
        settings = FixturesConfig(after_s=fixtures_after_s)
        memory = {
            name: Fixtures.configured(settings, detector.confidence)
            for name in ["full", *(c.name for c in cameras)]
        }

    def kept(name: str, people: Detections, size: tuple[int, int], time_s: float) -> NDArray[np.bool_]:
        if name not in memory:
            return np.ones(len(people), bool)
        return ~memory[name].things(people, size, time_s)

    def without_fixtures(name: str, people: Detections, size: tuple[int, int], time_s: float) -> Detections:
        return people.select(kept(name, people, size, time_s))

    for step in steps:
        started = time.perf_counter()
        picked = pair_frames([[t] for t, _ in step.views], [step.time_s], PAIRING_TOLERANCE_S)[0]
        unplaced = step.unplaced or [np.zeros(len(people), bool) for _, people in step.views]
        views = []
        for camera, (time_s, people), nowhere in zip(cameras, step.views, unplaced, strict=True):
            keep = kept(camera.name, people, camera.size, time_s)
            seen = people.select(keep)
            points = floor_points(seen, camera.homography, camera.size, anchor)
            points[nowhere[keep]] = np.nan
            views.append(
                RoomView(
                    points,
                    camera.footprint,
                    seen.confidence,
                    seen.xyxy / np.tile(camera.size, 2) if pictures else None,
                    camera.homography if pictures else None,
                )
            )
        paired = [view if index >= 0 else None for view, index in zip(views, picked, strict=True)]
        room = count_room(paired, scene.room, faint_below=faint_below)
        merged = room.people
        result.merge_s += time.perf_counter() - started
        result.frames += 1
        result.partial += int(room.partial)
        # The real view alone, counted by the same rules (a single camera: no faint check).
        full_people = without_fixtures("full", step.full, scene.size, step.time_s)
        full_view = RoomView(
            floor_points(full_people, scene.floor, scene.size, anchor),
            whole,
            full_people.confidence,
            full_people.xyxy / np.tile(scene.size, 2) if pictures else None,
            scene.floor if pictures else None,
        )
        full = count_room([full_view], scene.room).people
        if scene.truth is None:  # the real view's people, those just outside the room too
            placed = np.isfinite(full_view.points).all(axis=1) & ~full_view.cut_below
            reference = full_view.points[placed]
        else:
            reference = to_floor(scene.floor, bottom_centres(scene.truth.get(step.number, [])) / scene.size)
        in_room = inside(scene.room, reference)
        result.truth.append(int(in_room.sum()))
        result.merged.append(len(merged))
        result.full_view.append(int(inside(scene.room, full).sum()))
        each = [count_room([view], scene.room).people for view in views]
        for camera, points in zip(cameras, each, strict=True):
            result.alone[camera.name].append(len(points))
        result.summed.append(sum(len(points) for points in each))
        covered = np.zeros(len(reference), int)
        for camera in cameras:
            covered += inside(camera.footprint, reference)
        overlap = in_room & (covered >= 2)
        counted = times_counted(merged, reference)
        unmerged = times_counted(np.concatenate(each), reference)
        result.overlap_counted.extend(counted[overlap & (counted > 0)].tolist())  # found at all
        result.overlap_summed.extend(unmerged[overlap & (unmerged > 0)].tolist())
        outside = ~in_room & (covered >= 1)
        result.outside_people += int(outside.sum())
        result.outside_counted += int((counted[outside] > 0).sum())
    return result


def run_scene(
    scene: Scene,
    detectors: tuple[Detector, Detector],
    progress: bool = True,
    cache: Path | None = None,
    settings: str = "",
) -> tuple[dict[str, RoomResult], dict[str, dict[str, float | int]], list[VirtualCamera]]:
    """The room's figures per way of counting, and (with a truth) the floor-point rules' errors;
    `detectors`: the real view's and the virtual cameras'."""
    cameras = virtual_cameras(scene)
    steps, detector_s = detect_steps(scene, detectors, cameras, progress, cache, settings)
    box = Anchor.BOX_BOTTOM
    results = {
        "box bottom": score_room(steps, cameras, scene, box),
        "feet": score_room(steps, cameras, scene, Anchor.FEET),
        "no checks": score_room(steps, cameras, scene, box, None, pictures=False, fixtures_after_s=None),
        "border cut only": score_room(steps, cameras, scene, box, None, fixtures_after_s=None),
        "faint, by footprint": score_room(steps, cameras, scene, box, pictures=False, fixtures_after_s=None),
        "no fixtures": score_room(steps, cameras, scene, box, fixtures_after_s=None),
    }
    if scene.stream:
        for after_s in FIXTURE_SWEEP_S:
            results[f"fixtures {after_s:g} s"] = score_room(
                steps, cameras, scene, box, fixtures_after_s=after_s
            )
    rules = FloorRules()
    if scene.truth is not None and scene.head_plane is not None:
        results["true boxes"] = score_room(
            true_steps(steps, cameras, scene), cameras, scene, Anchor.BOX_BOTTOM
        )
        for step in steps:
            rules.add(step.full, scene.truth.get(step.number, []), scene.floor, scene.head_plane)
    for result in results.values():
        result.detector_s = detector_s
    return results, rules.figures(), cameras


# --- which floor point per person (PETS) -------------------------------------------------------


@dataclass
class FloorRules:
    """Floor error of each rule against the true box's bottom centre, for detections matched to a
    true person (IoU >= MATCH_IOU), on the real view."""

    errors_px: dict[str, list[float]] = field(default_factory=dict)
    errors_m: dict[str, list[float]] = field(default_factory=dict)
    matched: int = 0

    def add(
        self, people: Detections, boxes: list[tuple[float, float, float, float]], floor: Points, head: Points
    ) -> None:
        if not boxes or not len(people):
            return
        truth_xyxy = np.asarray(boxes, np.float64)
        pairs = assign_boxes(people.xyxy.astype(np.float64), truth_xyxy)
        if not len(pairs):
            return
        self.matched += len(pairs)
        found = people.select(pairs[:, 0])
        true_px = bottom_centres(list(truth_xyxy[pairs[:, 1]]))
        true_m = to_floor(floor, true_px / PETS_SIZE)
        candidates = {
            "box bottom": (found.anchors(Anchor.BOX_BOTTOM).astype(np.float64), floor),
            "ankles (where seen)": (ankles(found), floor),
            "ankles, else box bottom": (found.anchors(Anchor.FEET).astype(np.float64), floor),
            f"head at {HEAD_HEIGHT_M} m (where seen)": (head_points(found), head),
        }
        for rule, (points_px, homography) in candidates.items():
            ok = np.isfinite(points_px).all(axis=1)
            if rule.startswith("head"):
                # the head rule's image error means nothing (the head is far above the feet)
                self.errors_px.setdefault(rule, [])
            else:
                self.errors_px.setdefault(rule, []).extend(
                    np.linalg.norm(points_px[ok] - true_px[ok], axis=1)
                )
            mapped = to_floor(homography, points_px[ok] / PETS_SIZE)
            self.errors_m.setdefault(rule, []).extend(np.linalg.norm(mapped - true_m[ok], axis=1))

    def figures(self) -> dict[str, dict[str, float | int]]:
        table: dict[str, dict[str, float | int]] = {}
        for rule, errors in self.errors_m.items():
            metres = np.asarray(errors)
            pixels = np.asarray(self.errors_px[rule])
            table[rule] = {
                "share": round(len(metres) / max(self.matched, 1), 3),
                "median_px": round(float(np.median(pixels)), 1) if len(pixels) else float("nan"),
                "median_m": round(float(np.median(metres)), 3) if len(metres) else float("nan"),
                "p90_m": round(float(np.percentile(metres, 90)), 3) if len(metres) else float("nan"),
            }
        return table


def assign_boxes(found: Points, truth: Points) -> NDArray[np.int64]:
    """(P, 2) pairs (detection, true person) with IoU >= MATCH_IOU, one to one, the most overlap."""
    iou = box_iou(found, truth)
    rows, columns = min_cost_pairs(np.where(iou >= MATCH_IOU, 1 - iou, 1e6))
    kept = iou[rows, columns] >= MATCH_IOU
    return np.stack([rows[kept], columns[kept]], axis=1).astype(np.int64)


def ankles(people: Detections) -> Points:
    """The FEET anchor where the pose saw an ankle (NaN elsewhere, where FEET falls back on the box)."""
    points = people.anchors(Anchor.FEET).astype(np.float64)
    if people.keypoints is None:
        return np.full_like(points, np.nan)
    seen = (people.keypoints[:, [LEFT_ANKLE, RIGHT_ANKLE], 2] >= KEYPOINT_VISIBLE).any(axis=1)
    points[~seen] = np.nan
    return points


def head_points(people: Detections) -> Points:
    """The mean of the clearly seen face keypoints (as the face rule sees them), NaN where none."""
    if people.keypoints is None:
        return np.full((len(people), 2), np.nan)
    centre, count = faces(people.keypoints)
    points = centre.astype(np.float64)
    points[count == 0] = np.nan
    return points


# --- the plan ----------------------------------------------------------------------------------


def plot_plan(path: Path, scenes: list[tuple[Scene, list[VirtualCamera]]]) -> None:
    """Each scene's floor plan: the room, each camera's footprint, the overlaps shaded. No people."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, all_axes = plt.subplots(1, len(scenes), figsize=(7 * len(scenes), 7), dpi=100, squeeze=False)
    for axes, (scene, cameras) in zip(all_axes[0], scenes, strict=True):
        outlines = [c.footprint for c in cameras]
        everything = np.concatenate([*outlines, scene.room])
        low, high = everything.min(axis=0) - 1, everything.max(axis=0) + 1
        xs, ys = np.meshgrid(np.linspace(low[0], high[0], 400), np.linspace(low[1], high[1], 400))
        grid = np.c_[xs.ravel(), ys.ravel()]
        seen_by = np.zeros(len(grid), int)
        for outline in outlines:
            seen_by += inside(outline, grid)
        axes.contourf(xs, ys, seen_by.reshape(xs.shape), levels=[1.5, 10], colors=["#9e9e9e"], alpha=0.5)
        for index, camera in enumerate(cameras):
            closed = np.vstack([camera.footprint, camera.footprint[:1]])
            axes.fill(closed[:, 0], closed[:, 1], color=f"C{index}", alpha=0.15)
            axes.plot(closed[:, 0], closed[:, 1], color=f"C{index}", label=f"{camera.name}'s footprint")
        room = np.vstack([scene.room, scene.room[:1]])
        axes.plot(room[:, 0], room[:, 1], color="black", linewidth=2, label="room")
        axes.fill([], [], color="#9e9e9e", alpha=0.5, label="seen by two cameras")
        axes.set_xlim(low[0], high[0])
        axes.set_ylim(low[1], high[1])
        axes.set_aspect("equal")
        axes.set_xlabel("x (m)")
        axes.set_ylabel("y (m)")
        axes.grid(alpha=0.25)
        axes.legend(loc="upper left", fontsize=9)
        axes.set_title(f"{scene.name}: {len(cameras)} virtual cameras, one room")
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)


# --- the command -------------------------------------------------------------------------------


def table(
    rooms: dict[str, dict[str, Any]], rules: dict[str, dict[str, float | int]], wall_s: float
) -> list[str]:
    """A scene's figures as a text table: counts per way of counting (columns), then the floor rules."""
    anchors = list(rooms)
    first = rooms[anchors[0]]
    lines = [
        f"{'count in the room':<22}" + "".join(f" {anchor:>23}" for anchor in anchors),
        f"{'':<22}" + f" {'MAE':>16} {'bias':>6}" * len(anchors),
    ]
    for name in first["mae"]:
        cells = "".join(f" {rooms[a]['mae'][name]:>16.3f} {rooms[a]['bias'][name]:>+6.3f}" for a in anchors)
        lines.append(f"{name:<22}{cells}")
    rows = [
        ("merged vs full view MAE", "merged_vs_full_view_mae", "{}"),
        ("overlap: times counted", "overlap_times_counted", "{}"),
        ("  without merging", "overlap_times_counted_unmerged", "{}"),
        ("outside: counted", "outside_counted", "{}"),
        ("merge ms / room-frame", "merge_ms_per_room_frame", "{}"),
        ("merge / detector time", "merge_overhead", "{:.2%}"),
    ]
    for label, key, spec in rows:
        lines.append(f"{label:<22}" + "".join(f" {spec.format(rooms[a][key]):>23}" for a in anchors))
    lines += [
        "",
        f"{first['frames']} room-frames ({first['partial']} partial), "
        f"mean reference count {first['mean_true']}, "
        f"{first['overlap_people']} person-frames in overlaps, "
        f"{first['outside_people']} outside the room in view",
        f"detector on the views: {first['detector_ms_per_room_frame']} ms per room-frame; {wall_s} s in all",
    ]
    if rules:
        lines += [
            "",
            f"{'floor point rule (real view)':<30} {'share':>6} {'median px':>9} "
            f"{'median m':>8} {'p90 m':>6}",
        ]
    for rule, row in rules.items():
        median_px, median_m, p90_m = row["median_px"], row["median_m"], row["p90_m"]
        lines.append(f"{rule:<30} {row['share']:>6.0%} {median_px:>9.1f} {median_m:>8.3f} {p90_m:>6.3f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding pets2009-s2l1/ and brt-dev/")
    parser.add_argument("--scenes", default="pets,platform", help="which scenes (default pets,platform)")
    parser.add_argument(
        "--every", type=int, default=5, help="PETS: every Nth frame is a room step (default 5)"
    )
    parser.add_argument("--every-still", type=int, default=2, help="platform: every Nth still (default 2)")
    parser.add_argument(
        "--offsets",
        default="0,1,-1",
        help="PETS: per camera, frames its capture lags the step (default 0,1,-1)",
    )
    parser.add_argument(
        "--config", type=Path, help="detector settings from this site YAML (default: built-in)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep the detections in this folder and read them from there on a rerun with the same "
        "scenes and settings (the detector time is then the first run's)",
    )
    parser.add_argument("--plot", type=Path, help="draw the plans with footprints and overlaps (PNG)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args(argv)
    offsets = [int(o) for o in args.offsets.split(",")]
    names = args.scenes.split(",")
    if len(offsets) != len(PETS_CAMERAS) or args.every < 1 or args.every_still < 1:
        parser.error(f"--offsets needs {len(PETS_CAMERAS)} integers, --every and --every-still 1 or more")
    if not set(names) <= {"pets", "platform"}:
        parser.error(f"--scenes: pets and/or platform, got {args.scenes}")
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        parser.error(f"--plot {args.plot} must end in .png")
    config = load_config(args.config) if args.config else default_config()
    detector = build_detector(config.detector)
    figures: dict[str, Any] = {}
    plans = []
    for name in names:
        scene = (
            pets_scene(args.data, args.every, offsets)
            if name == "pets"
            else platform_scene(args.data, args.every_still)
        )
        (size,) = {size for _, size in scene.cameras.values()}  # one picture size: one detector for the views
        views = build_detector(view_settings(config.detector, scene.size, size))
        started = time.perf_counter()
        settings = config.detector.model_dump_json()
        results, rules, cameras = run_scene(scene, (detector, views), cache=args.cache, settings=settings)
        wall_s = round(time.perf_counter() - started, 1)
        figures[name] = {
            "rooms": {way: result.figures() for way, result in results.items()},
            "floor_rules": rules,
            "wall_s": wall_s,
        }
        plans.append((scene, cameras))
    if args.plot is not None:
        plot_plan(args.plot, plans)
    if args.json:
        print(json.dumps(figures))
    else:
        for name, scene_figures in figures.items():
            print(f"\n{name}")
            print(
                "\n".join(
                    table(scene_figures["rooms"], scene_figures["floor_rules"], scene_figures["wall_s"])
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
