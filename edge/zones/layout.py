"""Zone and mask layouts that give confident wrong numbers, said in words before anything runs.

A zone that crosses itself counts half of what it seems to hold, a mask over most of a zone makes it
read near 0 for ever, and two zones that overlap count the people between them twice. Each is
legal (a site may want it), so these are warnings, not config errors. Areas are measured on a
raster of the 0..1 picture, which handles any polygon, crossing or not.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.config import CameraConfig

RASTER = 400  # pixels a side: areas to a quarter of a percent
MASK_COVERS_MOST = 0.5  # share of a zone blanked by privacy masks
ZONES_OVERLAP = 0.05  # share of the smaller zone inside another

Polygon = list[tuple[float, float]]


def crosses_itself(polygon: Polygon) -> bool:
    """Whether two edges that are not neighbours cross (a bow tie, points out of order)."""
    corners = np.asarray(polygon, np.float64)
    n = len(corners)
    edges = [(corners[i], corners[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbours share a corner
            if _cross(*edges[i], *edges[j]):
                return True
    return False


def _cross(
    a: NDArray[np.float64], b: NDArray[np.float64], c: NDArray[np.float64], d: NDArray[np.float64]
) -> bool:
    def side(p: NDArray[np.float64], q: NDArray[np.float64], r: NDArray[np.float64]) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    return side(a, b, c) * side(a, b, d) < 0 and side(c, d, a) * side(c, d, b) < 0


def _raster(polygons: list[Polygon]) -> NDArray[np.bool_]:
    canvas = np.zeros((RASTER, RASTER), np.uint8)
    for polygon in polygons:
        corners = np.round(np.asarray(polygon, np.float64) * (RASTER - 1)).astype(np.int32)
        cv2.fillPoly(canvas, [corners], 1)
    return canvas.astype(bool)


def layout_warnings(camera: CameraConfig) -> list[str]:
    """What an installer should look at again, one sentence each, naming the camera and zone."""
    warnings = []
    zones = [(zone.id, _raster([zone.polygon])) for zone in camera.zones]
    masked = _raster(camera.privacy_masks) if camera.privacy_masks else None
    for zone, (zone_id, area) in zip(camera.zones, zones, strict=True):
        where = f"camera {camera.id}, zone {zone_id}"
        if crosses_itself(zone.polygon):
            warnings.append(f"{where}: its outline crosses itself; put its points in order around it")
        if masked is not None and area.any():
            share = float((area & masked).sum() / area.sum())
            if share >= MASK_COVERS_MOST:
                warnings.append(
                    f"{where}: privacy masks blank {share:.0%} of it, so it will count (almost) nobody"
                )
    for i, (first, first_area) in enumerate(zones):
        for second, second_area in zones[i + 1 :]:
            smaller = min(first_area.sum(), second_area.sum())
            if smaller and (first_area & second_area).sum() / smaller > ZONES_OVERLAP:
                share = (first_area & second_area).sum() / smaller
                warnings.append(
                    f"camera {camera.id}: zones {first} and {second} overlap ({share:.0%} of the smaller): "
                    "people there count in both"
                )
    return warnings
