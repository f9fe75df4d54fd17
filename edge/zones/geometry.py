"""Polygon geometry, pure: no state, no I/O."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def to_pixels(polygon: list[tuple[float, float]], width: int, height: int) -> NDArray[np.float32]:
    """Normalised 0..1 corner points to pixel coordinates of a width x height image."""
    return (np.asarray(polygon, np.float32).reshape(-1, 2) * np.array([width, height], np.float32)).astype(
        np.float32
    )


def contains(polygon: NDArray[np.float32], points: NDArray[np.float32]) -> NDArray[np.bool_]:
    """Which (x, y) points lie inside the polygon (even-odd rule, vectorised over points).

    Points exactly on the right or bottom edge count as outside, on the left or top edge as
    inside, so that two zones sharing an edge never both claim one person.
    """
    xy = np.asarray(points, np.float64).reshape(-1, 2)
    if len(xy) == 0:
        return np.zeros(0, bool)
    x, y = xy[:, 0:1], xy[:, 1:2]  # (N, 1) against (M,) edges
    x1, y1 = polygon[:, 0].astype(np.float64), polygon[:, 1].astype(np.float64)
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    spans = (y1 <= y) != (y2 <= y)  # edge crosses the horizontal line through the point
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    crossings = spans & (x < x_cross)
    inside: NDArray[np.bool_] = (crossings.sum(axis=1) % 2) == 1
    return inside


def bounding_box(polygons: list[NDArray[np.float32]], width: int, height: int) -> tuple[int, int, int, int]:
    """The pixel box (x1, y1, x2, y2) around all polygons, inside the image."""
    corners = np.concatenate(polygons)
    x1, y1 = np.floor(corners.min(axis=0)).astype(int)
    x2, y2 = np.ceil(corners.max(axis=0)).astype(int)
    return max(0, int(x1)), max(0, int(y1)), min(width, int(x2)), min(height, int(y2))


def polygon_area(polygon: list[tuple[float, float]]) -> float:
    """Area of a simple polygon (shoelace formula); in 0..1 image coordinates, its share of the picture."""
    if len(polygon) < 3:
        return 0.0
    xs, ys = np.asarray(polygon, np.float64).T
    return float(abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2)
