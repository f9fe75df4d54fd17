"""The floor plan on the setup page: each camera's point pairs fitted to the floor (edge/zones/floor.py),
its residual and footprint, where footprints overlap and how much of each room the cameras see.

Pure apart from reading an OpenCV calibration file a camera names: the session keeps the drafts, the
server speaks HTTP. Areas are measured on a raster of the plan, which handles any polygon.
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

from edge.zones.floor import (
    MIN_PAIRS,
    RESIDUAL_WARNING_CM,
    FloorCalibrationError,
    fit_floor,
    footprint,
    read_opencv_calibration,
)
from edge.zones.geometry import contains, polygon_area

# A plan spans a building's floor at most: 1 km either way keeps a typo (1e9) out of the raster.
PLAN_LIMIT_M = 1000.0
MAX_PAIRS = 100  # a careful installer clicks a dozen
RASTER_M = 0.05  # overlap and coverage measured on 5 cm cells
RASTER_CELLS = 400  # at most this many cells a side: coarser cells for a larger plan
OVERLAP_MIN_M2 = 0.05  # less shared floor than a person's footprint is no overlap worth shading

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Metres = Annotated[float, Field(ge=-PLAN_LIMIT_M, le=PLAN_LIMIT_M, allow_inf_nan=False)]


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
    polygon: list[tuple[Metres, Metres]] = Field(max_length=100)
    loiter_limit_s: float | None = None


class FloorDraft(BaseModel):
    """The site's rooms and every camera's calibration: what the page's plan edits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rooms: list[RoomDraft] = Field(default_factory=list, max_length=200)
    calibrations: dict[str, CalibrationDraft] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CameraFit:
    """One camera's calibration as the page shows it: the fit's figures, or why there is none."""

    camera: str
    pairs: int
    homography: NDArray[np.float64] | None = None
    residual_cm: tuple[float, ...] = ()
    inliers: tuple[bool, ...] = ()
    rms_cm: float | None = None
    warning: str | None = None
    footprint: tuple[tuple[float, float], ...] = ()
    problem: str | None = None
    source: str = "points"  # or "opencv", or "none"

    def describe(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "source": self.source,
            "pairs": self.pairs,
            "rms_cm": self.rms_cm,
            "limit_cm": RESIDUAL_WARNING_CM,
            "warning": self.warning,
            "residual_cm": list(self.residual_cm),
            "inliers": list(self.inliers),
            "footprint": [list(p) for p in self.footprint],
            "problem": self.problem,
        }


def fit_camera(camera: str, draft: CalibrationDraft | None, base_dir: Path) -> CameraFit:
    """The fit of a camera's pairs (or of its OpenCV file where it has no pairs), with its footprint.
    A calibration that cannot be fitted comes back with `problem` in words, never as an exception."""
    if draft is None or (not draft.points and draft.opencv is None):
        return CameraFit(camera, 0, source="none")
    if not draft.points:
        assert draft.opencv is not None
        return _fit_opencv(camera, base_dir / draft.opencv)
    pairs = len(draft.points)
    if pairs < MIN_PAIRS:
        return CameraFit(
            camera, pairs, problem=f"{MIN_PAIRS - pairs} more point pair(s) needed (at least {MIN_PAIRS})"
        )
    image = [p.image for p in draft.points]
    floor = [p.floor for p in draft.points]
    try:
        fit = fit_floor(image, floor)
        outline = footprint(fit.homography)
    except FloorCalibrationError as error:
        return CameraFit(camera, pairs, problem=str(error))
    return CameraFit(
        camera,
        pairs,
        homography=fit.homography,
        residual_cm=tuple(_cm(r) for r in fit.residual_m),
        inliers=tuple(bool(i) for i in fit.inliers),
        rms_cm=round(fit.rms_cm, 1),
        warning=fit.warning,
        footprint=_rounded(outline),
    )


def _fit_opencv(camera: str, path: Path) -> CameraFit:
    try:
        calibration = read_opencv_calibration(path)
        outline = footprint(calibration.homography)
    except FloorCalibrationError as error:
        return CameraFit(camera, 0, source="opencv", problem=str(error))
    return CameraFit(
        camera, 0, homography=calibration.homography, footprint=_rounded(outline), source="opencv"
    )


def _cm(metres: float) -> float:
    return round(float(metres) * 100, 1) if math.isfinite(metres) else -1.0


def _rounded(points: NDArray[np.float64]) -> tuple[tuple[float, float], ...]:
    return tuple((round(float(x), 3), round(float(y), 3)) for x, y in points if np.isfinite([x, y]).all())


@dataclass(frozen=True, slots=True)
class _Raster:
    """Cell centres over the plan: a polygon's cells are the centres it contains (geometry.contains,
    half-open edges, so two footprints that only touch share none)."""

    centres: NDArray[np.float64]
    cell_m: float

    @classmethod
    def around(cls, polygons: list[NDArray[np.float64]]) -> _Raster:
        corners = np.concatenate(polygons)
        low, high = corners.min(axis=0), corners.max(axis=0)
        cell = max(RASTER_M, float((high - low).max()) / RASTER_CELLS)
        xs = np.arange(low[0] + cell / 2, high[0], cell)
        ys = np.arange(low[1] + cell / 2, high[1], cell)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        return cls(grid, cell)

    def fill(self, polygon: NDArray[np.float64]) -> NDArray[np.bool_]:
        return contains(polygon.astype(np.float32), self.centres.astype(np.float32))

    def area(self, cells: NDArray[np.bool_]) -> float:
        return float(cells.sum()) * self.cell_m**2


def overlaps(fits: list[CameraFit]) -> list[dict[str, Any]]:
    """Each pair of cameras whose footprints share floor, with the shared area in square metres."""
    seen = [f for f in fits if len(f.footprint) >= 3]
    if len(seen) < 2:
        return []
    outlines = {f.camera: np.asarray(f.footprint, np.float64) for f in seen}
    raster = _Raster.around(list(outlines.values()))
    cells = {camera: raster.fill(outline) for camera, outline in outlines.items()}
    found = []
    for a, b in combinations(outlines, 2):
        area = raster.area(cells[a] & cells[b])
        if area >= OVERLAP_MIN_M2:
            found.append({"cameras": [a, b], "area_m2": round(area, 1)})
    return found


def coverage(rooms: list[RoomDraft], fits: list[CameraFit]) -> dict[str, dict[str, Any]]:
    """Per room (by its key in the draft's order): its area in square metres, the share of it that
    any calibrated camera sees, and which cameras see part of it."""
    result: dict[str, dict[str, Any]] = {}
    seen = [f for f in fits if len(f.footprint) >= 3]
    for index, room in enumerate(rooms):
        if len(room.polygon) < 3:
            continue
        outline = np.asarray(room.polygon, np.float64)
        raster = _Raster.around([outline])
        inside = raster.fill(outline)
        area = polygon_area(room.polygon)
        covered = np.zeros_like(inside)
        cameras = []
        for fit in seen:
            sees = inside & raster.fill(np.asarray(fit.footprint, np.float64))
            if raster.area(sees) >= OVERLAP_MIN_M2:
                cameras.append(fit.camera)
                covered |= sees
        result[str(index)] = {
            "area_m2": round(area, 1),
            "seen_share": round(float(covered.sum()) / max(1, int(inside.sum())), 3),
            "cameras": cameras,
        }
    return result
