"""One camera's floor mapping as configured: point pairs fitted (edge/zones/floor.fit_floor) or an
OpenCV calibration file read, with the floor the camera sees (its footprint) and how well the pairs
agree. Built once at start-up; mapping people's points is pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from edge.zones.floor import (
    CameraCalibration,
    FloorFit,
    Points,
    fit_floor,
    footprint,
    read_opencv_calibration,
    to_floor,
)
from edge.zones.geometry import contains


@dataclass(frozen=True, slots=True)
class CameraFloor:
    """homography: picture fractions (undistorted where `lens` is set) -> floor metres; footprint:
    (M, 2) metres; fit: the point pairs' fit (None for a calibration file: it has no pairs)."""

    homography: Points
    footprint: Points
    fit: FloorFit | None = None
    lens: CameraCalibration | None = None

    @classmethod
    def from_points(cls, image: ArrayLike, floor: ArrayLike) -> CameraFloor:
        fit = fit_floor(image, floor)
        return cls(fit.homography, footprint(fit.homography), fit)

    @classmethod
    def from_opencv(cls, path: Path) -> CameraFloor:
        lens = read_opencv_calibration(path)
        return cls(lens.homography, footprint(lens.homography), None, lens)

    @classmethod
    def from_config(
        cls, points: Sequence[tuple[Sequence[float], Sequence[float]]] | None, opencv: Path | None
    ) -> CameraFloor:
        """From a camera's floor_calibration: (image, floor) pairs, or else the file."""
        if points is not None:
            return cls.from_points([image for image, _ in points], [floor for _, floor in points])
        if opencv is None:
            raise ValueError("a floor calibration needs point pairs or an OpenCV file")
        return cls.from_opencv(opencv)

    @property
    def warning(self) -> str | None:
        """What the installer is told about the calibration (a residual above the limit, outliers)."""
        return None if self.fit is None else self.fit.warning

    def to_floor(self, fractions: ArrayLike) -> Points:
        """(N, 2) picture fractions -> (N, 2) floor metres, NaN above the horizon."""
        xy = np.asarray(fractions, np.float64).reshape(-1, 2)
        if self.lens is not None:
            return self.lens.to_floor(xy)
        return to_floor(self.homography, xy)


ROOM_SAMPLES = 64  # grid points per side of a room's bounding box when measuring how much of it is seen


def seen_share(room: ArrayLike, footprints: Sequence[Points]) -> float:
    """Share of a room's floor (0..1) inside at least one of the footprints, on a grid of points."""
    polygon = np.asarray(room, np.float64).reshape(-1, 2)
    low, high = polygon.min(axis=0), polygon.max(axis=0)
    axes = [np.linspace(low[i], high[i], ROOM_SAMPLES + 2)[1:-1] for i in range(2)]
    grid = np.stack(np.meshgrid(*axes), axis=-1).reshape(-1, 2).astype(np.float32)
    grid = grid[contains(polygon.astype(np.float32), grid)]
    if len(grid) == 0:
        return 0.0
    seen = np.zeros(len(grid), bool)
    for area in footprints:
        seen |= contains(np.asarray(area, np.float32).reshape(-1, 2), grid)
    return float(seen.mean())
