"""Polygon geometry, pure: no state, no I/O."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

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
    corners = np.asarray(polygon, np.float64)
    following = np.r_[1 : len(corners), 0]  # each edge runs from a corner to the next
    x1, y1 = corners[:, 0], corners[:, 1]
    x2, y2 = x1[following], y1[following]
    spans = (y1 <= y) != (y2 <= y)  # edge crosses the horizontal line through the point
    rise = np.where(y2 == y1, 1.0, y2 - y1)  # a flat edge never spans: its crossing goes unused
    crossings = spans & (x < x1 + (y - y1) * (x2 - x1) / rise)
    inside: NDArray[np.bool_] = np.count_nonzero(crossings, axis=1) % 2 == 1
    return inside


def bounding_box(polygons: list[NDArray[np.float32]], width: int, height: int) -> tuple[int, int, int, int]:
    """The pixel box (x1, y1, x2, y2) around all polygons, inside the image."""
    corners = np.concatenate(polygons)
    x1, y1 = np.floor(corners.min(axis=0)).astype(int)
    x2, y2 = np.ceil(corners.max(axis=0)).astype(int)
    return max(0, int(x1)), max(0, int(y1)), min(width, int(x2)), min(height, int(y2))


def polygon_area(polygon: Sequence[tuple[float, float]]) -> float:
    """Area of what `contains` counts as inside (the even-odd rule), for any polygon: crossing itself
    or not, corners repeated or in one line (area 0). In 0..1 image coordinates, its share of the
    picture. (The shoelace formula alone lets the two halves of a bow tie cancel to 0.)"""
    corners = np.asarray(polygon, np.float64).reshape(-1, 2)
    if len(corners) < 3:
        return 0.0
    starts, ends = corners, np.roll(corners, -1, axis=0)
    # Between neighbouring heights of corners and crossings no two edges cross: inside such a slab
    # the edges keep their left-to-right order, and inside is a row of trapezoids, between the
    # first edge and the second, the third and the fourth, and so on.
    heights = np.unique(np.concatenate([corners[:, 1], _crossing_heights(starts, ends)]))
    low_y, high_y = np.minimum(starts[:, 1], ends[:, 1]), np.maximum(starts[:, 1], ends[:, 1])
    area = 0.0
    for low, high in itertools.pairwise(heights):
        spans = (low_y <= low) & (high_y >= high)  # never a flat edge: its height is a slab border
        a, b = starts[spans], ends[spans]
        slope = (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
        middle = a[:, 0] + ((low + high) / 2 - a[:, 1]) * slope  # mean of the edge's x in the slab
        middle.sort()
        area += float((middle[1::2] - middle[0::2]).sum()) * (high - low)
    return area


def _crossing_heights(starts: NDArray[np.float64], ends: NDArray[np.float64]) -> NDArray[np.float64]:
    """Heights at which two edges (start -> end) meet, every pair at once."""
    d = ends - starts
    across = d[:, None, 0] * d[None, :, 1] - d[:, None, 1] * d[None, :, 0]  # 0: parallel
    r = starts[None, :, :] - starts[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (r[..., 0] * d[None, :, 1] - r[..., 1] * d[None, :, 0]) / across  # along the first edge
        u = (r[..., 0] * d[:, None, 1] - r[..., 1] * d[:, None, 0]) / across  # along the second
        meet = (across != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
        heights: NDArray[np.float64] = (starts[:, None, 1] + t * d[:, None, 1])[meet]
    return heights
