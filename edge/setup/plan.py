"""The floor plan on the setup page: each camera's point pairs fitted to the floor (edge/zones/floor.py),
its residual and footprint, where footprints overlap and how much of each room the cameras see.

Pure apart from reading an OpenCV calibration file a camera names: the session keeps the drafts, the
server speaks HTTP. Shares of an area are measured on a grid of points (camera_floor.seen_share).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from edge.config import FLOOR_EXTENT_M, MAX_POLYGON_CORNERS, Config
from edge.zones.camera_floor import CameraFloor, seen_share
from edge.zones.floor import MIN_PAIRS, RESIDUAL_WARNING_CM, FloorCalibrationError
from edge.zones.geometry import polygon_area

MAX_PAIRS = 100  # a careful installer clicks a dozen
OVERLAP_MIN_M2 = 0.05  # less shared floor than a person's footprint is no overlap worth shading

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Metres = Annotated[float, Field(ge=-FLOOR_EXTENT_M, le=FLOOR_EXTENT_M, allow_inf_nan=False)]


class PairDraft(BaseModel):
    """A mark seen in the picture (fractions of its width and height) and on the plan (metres)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: tuple[Fraction, Fraction]
    floor: tuple[Metres, Metres]


class CalibrationDraft(BaseModel):
    """A camera's point pairs as the page edits them; `opencv` names a calibration file the page
    shows but does not edit (kept as it is while no pairs replace it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    points: list[PairDraft] = Field(default_factory=list, max_length=MAX_PAIRS)
    opencv: str | None = None


class RoomDraft(BaseModel):
    """A room as the page draws it; values are checked by the config model, as zones are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origin: str | None = Field(None, description="The room's id in the file when the page loaded it.")
    id: str
    name: str | None = None
    polygon: list[tuple[Metres, Metres]] = Field(max_length=MAX_POLYGON_CORNERS)
    loiter_limit_s: float | None = None


class FloorDraft(BaseModel):
    """The site's rooms and every camera's calibration: what the page's plan edits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rooms: list[RoomDraft] = Field(default_factory=list, max_length=200)
    calibrations: dict[str, CalibrationDraft] = Field(default_factory=dict)


def floor_draft_of(config: Config) -> FloorDraft:
    """The site's rooms and calibrations as configured, for the page to start from."""
    rooms = [
        RoomDraft(origin=r.id, id=r.id, name=r.name, polygon=list(r.polygon), loiter_limit_s=r.loiter_limit_s)
        for r in (config.floor.rooms if config.floor else [])
    ]
    calibrations = {}
    for camera in config.cameras:
        calibration = camera.floor_calibration
        if calibration is not None:
            points = [PairDraft(image=p.image, floor=p.floor) for p in calibration.points or []]
            opencv = None if calibration.opencv is None else str(calibration.opencv)
            calibrations[camera.id] = CalibrationDraft(points=points, opencv=opencv)
    return FloorDraft(rooms=rooms, calibrations=calibrations)


@dataclass(frozen=True, slots=True)
class CameraFit:
    """One camera's calibration as the page shows it: its floor mapping, or why there is none."""

    camera: str
    pairs: int
    floor: CameraFloor | None = None
    problem: str | None = None
    source: str = "points"  # or "opencv", or "none"

    @property
    def footprint(self) -> NDArray[np.float64] | None:
        return None if self.floor is None else self.floor.footprint

    def describe(self) -> dict[str, Any]:
        fit = None if self.floor is None else self.floor.fit
        outline = (
            []
            if self.footprint is None
            else [[round(float(x), 3), round(float(y), 3)] for x, y in self.footprint]
        )
        return {
            "camera": self.camera,
            "source": self.source,
            "pairs": self.pairs,
            "rms_cm": None if fit is None else round(fit.rms_cm, 1),
            "limit_cm": RESIDUAL_WARNING_CM,
            "warning": None if self.floor is None else self.floor.warning,
            "residual_cm": [] if fit is None else [_cm(r) for r in fit.residual_m],
            "inliers": [] if fit is None else [bool(i) for i in fit.inliers],
            "footprint": outline,
            "problem": self.problem,
        }


def fit_camera(camera: str, draft: CalibrationDraft | None, base_dir: Path) -> CameraFit:
    """The fit of a camera's pairs (or of its OpenCV file where it has no pairs), with its footprint.
    A calibration that cannot be fitted comes back with `problem` in words, never as an exception."""
    if draft is None or (not draft.points and draft.opencv is None):
        return CameraFit(camera, 0, source="none")
    pairs = len(draft.points)
    if 0 < pairs < MIN_PAIRS:
        return CameraFit(
            camera, pairs, problem=f"{MIN_PAIRS - pairs} more point pair(s) needed (at least {MIN_PAIRS})"
        )
    source = "points" if pairs else "opencv"
    try:
        if pairs:
            floor = CameraFloor.from_points([p.image for p in draft.points], [p.floor for p in draft.points])
        else:
            assert draft.opencv is not None
            floor = CameraFloor.from_opencv(base_dir / draft.opencv)
    except FloorCalibrationError as error:
        return CameraFit(camera, pairs, problem=str(error), source=source)
    return CameraFit(camera, pairs, floor, source=source)


def _cm(metres: float) -> float:
    return round(float(metres) * 100, 1) if math.isfinite(metres) else -1.0


def overlaps(fits: list[CameraFit]) -> list[dict[str, Any]]:
    """Each pair of cameras whose footprints share floor, with the shared area in square metres."""
    seen = [(f.camera, f.footprint) for f in fits if f.footprint is not None]
    found = []
    for (a, outline_a), (b, outline_b) in combinations(seen, 2):
        area = seen_share(outline_a, [outline_b]) * polygon_area([(x, y) for x, y in outline_a])
        if area >= OVERLAP_MIN_M2:
            found.append({"cameras": [a, b], "area_m2": round(area, 1)})
    return found


def coverage(rooms: list[RoomDraft], fits: list[CameraFit]) -> dict[str, dict[str, Any]]:
    """Per room (by its place in the draft): its area in square metres, the share of it that any
    calibrated camera sees, and which cameras see part of it."""
    seen = [(f.camera, f.footprint) for f in fits if f.footprint is not None]
    result: dict[str, dict[str, Any]] = {}
    for index, room in enumerate(rooms):
        if len(room.polygon) < 3 or polygon_area(room.polygon) == 0:
            continue
        result[str(index)] = {
            "area_m2": round(polygon_area(room.polygon), 1),
            "seen_share": round(seen_share(room.polygon, [outline for _, outline in seen]), 3),
            "cameras": [camera for camera, outline in seen if seen_share(room.polygon, [outline]) > 0],
        }
    return result
