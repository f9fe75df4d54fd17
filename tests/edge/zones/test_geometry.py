"""Zone polygon geometry: point in polygon, shared edges, pixel conversion, bounding box, area."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.zones.geometry import bounding_box, contains, polygon_area, to_pixels

Points = list[tuple[float, float]]


def polygon(*corners: tuple[float, float]) -> NDArray[np.float32]:
    return np.asarray(corners, np.float32)


SQUARE = polygon((10, 10), (50, 10), (50, 50), (10, 50))
# A "U" opening upwards: the notch x in (20, 40), y in [0, 30) is outside.
U_SHAPE = polygon((0, 0), (20, 0), (20, 30), (40, 30), (40, 0), (60, 0), (60, 50), (0, 50))
# An arrow head pointing right with a reflex corner at (20, 20).
CHEVRON = polygon((0, 0), (40, 20), (0, 40), (20, 20))


@pytest.mark.parametrize(
    ("shape", "point", "inside"),
    [
        (SQUARE, (30, 30), True),
        (SQUARE, (10.5, 49.5), True),
        (SQUARE, (5, 30), False),
        (SQUARE, (30, 55), False),
        (SQUARE, (-30, -30), False),
        (SQUARE, (1000, 30), False),
        # edges: left and top inside, right and bottom outside
        (SQUARE, (10, 30), True),
        (SQUARE, (30, 10), True),
        (SQUARE, (50, 30), False),
        (SQUARE, (30, 50), False),
        (SQUARE, (10, 10), True),
        (SQUARE, (50, 50), False),
        # concave
        (U_SHAPE, (10, 10), True),
        (U_SHAPE, (50, 10), True),
        (U_SHAPE, (30, 40), True),
        (U_SHAPE, (30, 10), False),
        (U_SHAPE, (30, 29.9), False),
        (U_SHAPE, (70, 10), False),
        (CHEVRON, (25, 20), True),
        (CHEVRON, (15, 10), True),
        (CHEVRON, (5, 10), False),
        (CHEVRON, (10, 20), False),  # in the notch, left of the reflex corner
        (CHEVRON, (5, 20), False),
        (CHEVRON, (45, 20), False),
    ],
)
def test_contains_one_point(shape: NDArray[np.float32], point: tuple[float, float], inside: bool) -> None:
    result = contains(shape, np.array([point], np.float32))

    assert result.shape == (1,)
    assert result.dtype == np.bool_
    assert bool(result[0]) is inside


@pytest.mark.parametrize("points", [np.zeros((0, 2), np.float32), np.zeros(0, np.float32), []])
def test_contains_no_points(points: NDArray[np.float32]) -> None:
    result = contains(SQUARE, np.asarray(points))

    assert result.shape == (0,)
    assert result.dtype == np.bool_


def test_contains_is_vectorised_and_keeps_point_order() -> None:
    points = np.array([(30, 40), (65, 5), (30, 10), (15, 15), (55, 30)], np.float32)

    np.testing.assert_array_equal(contains(U_SHAPE, points), [True, False, False, True, True])


def test_contains_ignores_corner_order() -> None:
    rng = np.random.default_rng(7)
    points = rng.uniform(-10, 70, (500, 2)).astype(np.float32)

    np.testing.assert_array_equal(contains(U_SHAPE, points), contains(U_SHAPE[::-1].copy(), points))


def _partition_points(dividers: NDArray[np.float32], width: float, height: float) -> NDArray[np.float32]:
    """Points exactly on the corners of a dividing polyline, spread along its segments, and near it."""
    rng = np.random.default_rng(0)
    on_segments = [a + t * (b - a) for a, b in itertools.pairwise(dividers) for t in rng.random(50)]
    near = np.asarray(on_segments) + rng.normal(0, 1e-3, (len(on_segments), 2))
    anywhere = rng.uniform(0, 1, (500, 2)) * (width, height)
    points = np.concatenate([dividers, np.asarray(on_segments), near, anywhere]).astype(np.float32)
    inner = (points[:, 0] > 0) & (points[:, 0] < width) & (points[:, 1] > 0) & (points[:, 1] < height)
    return points[inner]


@pytest.mark.parametrize(
    "divider",
    [
        [(0.5, 0.0), (0.5, 1.0)],  # vertical
        [(1 / 3, 0.0), (1 / 3, 1.0)],  # not a whole pixel
        [(0.2, 0.0), (0.8, 1.0)],  # slanted
        [(0.3, 0.0), (0.7, 0.35), (0.25, 0.6), (0.61, 1.0)],  # zigzag with reflex corners
    ],
)
@pytest.mark.parametrize(("width", "height"), [(640, 480), (1920, 1080), (1277, 719)])
def test_two_zones_sharing_an_edge_never_both_claim_a_point(divider: Points, width: int, height: int) -> None:
    """Left and right of a top-to-bottom polyline, as zones are configured: every point in the
    frame belongs to exactly one of them, including points on the shared edge and its corners."""
    left = to_pixels([(0.0, 0.0), *divider, (0.0, 1.0)], width, height)
    right = to_pixels([*divider, (1.0, 1.0), (1.0, 0.0)], width, height)
    points = _partition_points(to_pixels(divider, width, height), width, height)

    claims = contains(left, points).astype(int) + contains(right, points).astype(int)

    assert len(points) > 500
    np.testing.assert_array_equal(claims, 1)


@pytest.mark.parametrize(
    "point",
    [(320, 240), (320, 100), (100, 240), (320, 0), (0, 240), (100, 100), (500, 400)],
)
def test_four_zones_meeting_at_a_corner_claim_each_point_once(point: tuple[float, float]) -> None:
    zones = [
        to_pixels([(x0, y0), (x0 + 0.5, y0), (x0 + 0.5, y0 + 0.5), (x0, y0 + 0.5)], 640, 480)
        for x0 in (0.0, 0.5)
        for y0 in (0.0, 0.5)
    ]

    claims = sum(int(contains(zone, np.array([point], np.float32))[0]) for zone in zones)

    assert claims == 1


# --- to_pixels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("normalised", "width", "height", "expected"),
    [
        ([], 640, 480, np.zeros((0, 2))),
        ([(0, 0), (1, 0), (1, 1), (0, 1)], 640, 480, [(0, 0), (640, 0), (640, 480), (0, 480)]),
        ([(0.25, 0.5), (0.75, 0.5), (0.5, 1.0)], 1920, 1080, [(480, 540), (1440, 540), (960, 1080)]),
        ([(0.1, 0.2), (0.3, 0.4), (0.5, 0.6)], 1, 1, [(0.1, 0.2), (0.3, 0.4), (0.5, 0.6)]),
    ],
)
def test_to_pixels_scales_x_by_width_and_y_by_height(
    normalised: Points, width: int, height: int, expected: Points
) -> None:
    pixels = to_pixels(normalised, width, height)

    assert pixels.dtype == np.float32
    assert pixels.shape == (len(normalised), 2)
    np.testing.assert_allclose(pixels, np.asarray(expected, np.float32).reshape(-1, 2), rtol=1e-6)


# --- bounding_box ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("polygons", "expected"),
    [
        ([[(10, 20), (30, 20), (30, 40)]], (10, 20, 30, 40)),
        # rounded outwards, never cutting a zone
        ([[(10.2, 20.7), (30.1, 20.7), (29.5, 39.01)]], (10, 20, 31, 40)),
        # around all zones
        ([[(10, 20), (30, 20), (30, 40)], [(100, 5), (120, 5), (110, 60)]], (10, 5, 120, 60)),
        # clipped to the 640 x 480 image
        ([[(-15, -3), (700, -3), (700, 500), (-15, 500)]], (0, 0, 640, 480)),
        ([[(600.5, 400.5), (639.9, 400.5), (639.9, 479.9)]], (600, 400, 640, 480)),
        ([[(-1, 100), (50, 100), (50, 490)]], (0, 100, 50, 480)),
    ],
)
def test_bounding_box_around_zones_inside_the_image(
    polygons: list[Points], expected: tuple[int, int, int, int]
) -> None:
    box = bounding_box([np.asarray(p, np.float32) for p in polygons], 640, 480)

    assert tuple(int(v) for v in box) == expected


def test_bounding_box_of_full_frame_zone_is_the_image() -> None:
    assert tuple(
        int(v) for v in bounding_box([to_pixels([(0, 0), (1, 0), (1, 1), (0, 1)], 1277, 719)], 1277, 719)
    ) == (
        0,
        0,
        1277,
        719,
    )


def test_bounding_box_of_no_zones_is_an_error() -> None:
    with pytest.raises(ValueError):
        bounding_box([], 640, 480)


STAR = [
    (0.5 + 0.4 * np.cos(np.pi / 2 + k * 0.8 * np.pi), 0.5 + 0.4 * np.sin(np.pi / 2 + k * 0.8 * np.pi))
    for k in range(5)
]


@pytest.mark.parametrize(
    ("corners", "area"),
    [
        ([], 0.0),  # nothing
        ([(0.1, 0.1), (0.9, 0.9)], 0.0),  # two corners: a line
        ([(0.3, 0.3), (0.3, 0.3), (0.3, 0.3)], 0.0),  # one point three times
        ([(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)], 0.0),  # corners in one line
        ([(0.1, 0.2), (0.9, 0.2), (0.5, 0.2), (0.9, 0.2)], 0.0),  # out along a line and back
        ([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)], 1.0),  # the whole picture
        ([(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)], 1.0),  # the other way round
        ([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)], 0.5),
        ([(0.0, 0.2), (0.5, 1.0), (0.5, 0.2), (0.0, 1.0)], 0.2),  # a bow tie: two triangles of 0.1
        ([(x / 60, y / 60) for x, y in U_SHAPE.tolist()], (60 * 50 - 20 * 30) / 3600),  # a notch
    ],
)
def test_polygon_area_is_the_area_inside_by_the_even_odd_rule(corners: Points, area: float) -> None:
    assert polygon_area(list(corners)) == pytest.approx(area, abs=1e-12)


@pytest.mark.parametrize(
    "corners", [STAR, np.random.default_rng(3).random((9, 2)).tolist()], ids=["star", "random"]
)
def test_polygon_area_is_the_share_of_points_contains_counts(corners: Points) -> None:
    """Crossing itself (a five-pointed star's middle is outside), measured against `contains` on a grid."""
    grid = (np.arange(1000) + 0.5) / 1000
    points = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    share = contains(np.asarray(corners, np.float32), points).mean()
    assert polygon_area(corners) == pytest.approx(share, abs=2e-3)
