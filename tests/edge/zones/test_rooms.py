"""One count per room: frames paired by capture time, people in overlaps counted once (assignment
within a gate), people seen by one camera only, people outside the room."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.detections import Anchor, Detections
from edge.zones.floor import to_floor
from edge.zones.rooms import (
    GATE_M,
    RoomView,
    assign,
    count_room,
    floor_points,
    merge_views,
    pair_frames,
    partial_steps,
)

Points = NDArray[np.float64]


def rectangle(x1: float, y1: float, x2: float, y2: float) -> Points:
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float64)


def points(*xy: tuple[float, float]) -> Points:
    return np.array(xy, np.float64).reshape(-1, 2)


ROOM = rectangle(0, 0, 10, 6)
LEFT, RIGHT = rectangle(-1, -1, 6, 7), rectangle(4, -1, 11, 7)  # overlap: x in [4, 6)


@pytest.mark.parametrize(
    ("times", "at_s", "expected"),
    [
        ([], [1.0], [[]]),
        ([[]], [1.0], [[-1]]),
        ([[0.0, 0.5, 1.0]], [], np.zeros((0, 1))),
        ([[0.0, 0.5, 1.0], [0.02, 0.51, 1.03]], [0.5], [[1, 1]]),
        ([[0.0, 0.5, 1.0], [0.02, 0.51, 1.03]], [0.0, 1.0], [[0, 0], [2, 2]]),
        ([[0.0, 0.5, 1.0], [0.3]], [0.5], [[1, 0]]),  # 0.2 s apart: within 0.25
        ([[0.0, 0.5, 1.0], [0.2]], [0.5], [[1, -1]]),  # 0.3 s apart: the room is partial
        ([[0.0, 0.5, 1.0], [0.2]], [5.0], [[-1, -1]]),  # both cameras stale
        ([[1.0]], [0.9, 1.0, 1.2, 1.3], [[0], [0], [0], [-1]]),
        ([[0.0, 0.4, 0.6]], [0.49, 0.51], [[1], [2]]),  # nearest, either side
    ],
)
def test_pair_frames_picks_the_nearest_frame_within_the_tolerance(
    times: list[list[float]], at_s: list[float], expected: list[list[int]]
) -> None:
    picked = pair_frames(times, at_s, tolerance_s=0.25)

    np.testing.assert_array_equal(picked, np.asarray(expected, np.int64).reshape(len(at_s), len(times)))


def test_partial_steps_are_those_missing_a_camera() -> None:
    picked = pair_frames([[0.0, 1.0, 2.0], [0.0, 2.0]], [0.0, 1.0, 2.0], tolerance_s=0.1)

    assert partial_steps(picked).tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("times", "tolerance", "words"),
    [([[1.0, 0.5]], 0.1, "capture times must be ascending"), ([[1.0]], -1.0, "tolerance_s must be >= 0")],
)
def test_pair_frames_refuses_bad_input(times: list[list[float]], tolerance: float, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        pair_frames(times, [1.0], tolerance_s=tolerance)


def greedy_nearest_first(a: Points, b: Points, gate_m: float) -> list[tuple[int, int]]:
    """The rule the assignment replaces: the closest pair first, then the next closest free pair."""
    distance = np.linalg.norm(a[:, None] - b[None], axis=2)
    pairs: list[tuple[int, int]] = []
    for flat in np.argsort(distance, axis=None):
        i, j = np.unravel_index(flat, distance.shape)
        if distance[i, j] <= gate_m and all(i != p and j != q for p, q in pairs):
            pairs.append((int(i), int(j)))
    return pairs


def test_assignment_pairs_two_where_nearest_first_pairs_one() -> None:
    """Two people 1 m apart, each seen by both cameras with 0.45-0.55 m of error: nearest first takes
    the closest cross pair (0.45 m) and leaves two unpaired (three people counted); the assignment
    pairs both within the gate (two counted)."""
    seen_by_a, seen_by_b = points((0.0, 0.0), (1.0, 0.0)), points((0.55, 0.0), (1.5, 0.0))

    assert len(greedy_nearest_first(seen_by_a, seen_by_b, GATE_M)) == 1
    assert assign(seen_by_a, seen_by_b, GATE_M).tolist() == [[0, 0], [1, 1]]


@pytest.mark.parametrize(
    ("a", "b", "gate", "expected"),
    [
        (points(), points(), 0.8, []),
        (points((0, 0)), points(), 0.8, []),
        (points((0, 0)), points((0.79, 0)), 0.8, [[0, 0]]),
        (points((0, 0)), points((0.81, 0)), 0.8, []),
        (points((0, 0)), points((0.81, 0)), 1.0, [[0, 0]]),
        (points((0, 0), (5, 5)), points((5.1, 5), (0, 0.1)), 0.8, [[0, 1], [1, 0]]),
        (points((0, 0)), points((0.3, 0), (0.2, 0)), 0.8, [[0, 1]]),  # one to one: the nearer wins
    ],
)
def test_assign_gate(a: Points, b: Points, gate: float, expected: list[list[int]]) -> None:
    assert assign(a, b, gate).tolist() == expected


@pytest.mark.parametrize(
    ("left", "right", "count"),
    [
        (points(), points(), 0),
        (points((2, 3)), points(), 1),  # seen by one camera only
        (points(), points((8, 3)), 1),
        (points((2, 3)), points((8, 3)), 2),
        (points((5, 3)), points((5.3, 3.2)), 1),  # in the overlap, seen by both: once
        (points((5, 3), (5, 4)), points((5.1, 3), (5.1, 4.1)), 2),  # two people side by side, once each
        (points((5, 3)), points((5, 4.5)), 2),  # in the overlap, beyond the gate: two people
        (points((5, 3)), points(), 1),  # in the overlap, hidden from the right camera
        # next to each other across the overlap's edge: the right camera's person stands where the
        # left camera does not see, so it cannot be the left camera's person however close
        (points((5.9, 3)), points((6.2, 3)), 2),
        (points((-0.5, 3), (2, 3)), points((10.5, 3)), 1),  # outside the room: not at all
        (points((np.nan, np.nan), (2, 3)), points(), 1),  # no floor point (above the horizon)
    ],
)
def test_merge_counts_each_person_in_the_room_once(left: Points, right: Points, count: int) -> None:
    merged = merge_views([RoomView(left, LEFT), RoomView(right, RIGHT)], ROOM)

    assert merged.shape == (count, 2)


def test_merged_point_is_the_mean_of_the_sightings() -> None:
    middle = rectangle(3, -1, 7, 7)
    views = [
        RoomView(points((5, 3)), LEFT),
        RoomView(points((5.3, 3)), RIGHT),
        RoomView(points((5.6, 3)), middle),
    ]

    merged = merge_views(views, ROOM)

    np.testing.assert_allclose(merged, [[5.3, 3]])


def test_three_cameras_one_person_each_pair_overlapping() -> None:
    middle = rectangle(3, -1, 7, 7)
    seen = [
        RoomView(points((5.0, 3.0)), LEFT),
        RoomView(points((5.4, 3.1)), middle),
        RoomView(points((5.2, 2.9)), RIGHT),
    ]

    assert len(merge_views(seen, ROOM)) == 1
    assert len(merge_views(seen[::-1], ROOM)) == 1


def test_no_cameras_no_people() -> None:
    assert merge_views([], ROOM).shape == (0, 2)


def test_a_room_needs_an_area() -> None:
    with pytest.raises(ValueError, match="at least 3 corners"):
        merge_views([], rectangle(0, 0, 1, 1)[:2])


@pytest.mark.parametrize(
    ("left", "left_confidence", "right", "right_confidence", "confirmed", "all_counted"),
    [
        (points(), [], points(), [], 0, 0),
        (points((5, 3)), [0.1], points(), [], 0, 1),  # faint, in the overlap, the other camera saw nothing
        (points((5, 3)), [0.9], points(), [], 1, 1),  # sure: hidden from the other camera
        (points((5, 3)), [0.1], points((5.2, 3)), [0.1], 1, 1),  # faint in both: confirmed
        (points((2, 3)), [0.1], points(), [], 1, 1),  # faint where only one camera sees: kept
        (points(), [], points((8, 3), (5, 3)), [0.1, 0.1], 1, 2),
    ],
)
def test_faint_people_in_an_overlap_need_a_second_camera(
    left: Points,
    left_confidence: list[float],
    right: Points,
    right_confidence: list[float],
    confirmed: int,
    all_counted: int,
) -> None:
    views = [
        RoomView(left, LEFT, np.asarray(left_confidence, np.float32)),
        RoomView(right, RIGHT, np.asarray(right_confidence, np.float32)),
    ]

    assert len(merge_views(views, ROOM)) == confirmed
    assert len(merge_views(views, ROOM, faint_below=None)) == all_counted


def test_without_confidences_nobody_is_faint() -> None:
    assert len(merge_views([RoomView(points((5, 3)), LEFT), RoomView(points(), RIGHT)], ROOM)) == 1


# Each camera looks straight down at its footprint: picture fraction (u, v) is floor
# (x0 + 7u, -1 + 8v), v = 1 (the picture's bottom) at y = 7.
def straight_down(x0: float) -> Points:
    return np.array([[7.0, 0.0, x0], [0.0, 8.0, -1.0], [0.0, 0.0, 1.0]])


LEFT_CAMERA, RIGHT_CAMERA = straight_down(-1.0), straight_down(4.0)


def pictured(
    floor: Points, homography: Points, confidence: list[float], boxes: list[list[float]]
) -> RoomView:
    corners = to_floor(homography, np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64))
    return RoomView(
        floor, corners, np.asarray(confidence, np.float32), np.asarray(boxes).reshape(-1, 4), homography
    )


# The right camera's person at floor (5, 3), picture (1/7, 1/2), and its box around there.
RIGHT_PERSON = [0.10, 0.30, 0.18, 0.50]


@pytest.mark.parametrize(
    ("right_boxes", "faint_counted"),
    [
        ([], 0),  # the right camera sees the place plainly and found no one: a thing
        ([[0.05, 0.35, 0.25, 0.60]], 1),  # someone nearer the right camera covers the place: maybe hidden
        ([[0.05, 0.10, 0.25, 0.45]], 0),  # someone behind the place: it is still in plain view
    ],
)
def test_a_faint_person_stays_where_the_other_camera_cannot_see_the_place(
    right_boxes: list[list[float]], faint_counted: int
) -> None:
    # The right camera's people stand outside the room (y = 7.5) but their boxes cover the picture.
    right_floor = points(*[(5.0, 7.5)] * len(right_boxes))
    views = [
        pictured(points((5, 3)), LEFT_CAMERA, [0.1], [[0.80, 0.30, 0.88, 0.50]]),
        pictured(right_floor, RIGHT_CAMERA, [0.9] * len(right_boxes), right_boxes),
    ]

    assert len(merge_views(views, ROOM)) == faint_counted


@pytest.mark.parametrize(
    ("box", "counted"),
    [
        ([0.40, 0.30, 0.50, 0.50], 1),
        ([0.40, 0.80, 0.50, 1.00], 0),  # cut by the bottom border: the feet are out of the picture
        ([0.40, 0.00, 0.50, 0.50], 1),  # cut by the top: the feet are seen
    ],
)
def test_a_person_cut_by_the_bottom_border_has_no_floor_point(box: list[float], counted: int) -> None:
    view = pictured(points((2.0, 3.0)), LEFT_CAMERA, [0.9], [box])

    assert len(merge_views([view], ROOM)) == counted


@pytest.mark.parametrize(
    ("left_box", "right_sees", "count"),
    [
        ([0.90, 0.30, 1.00, 0.50], [RIGHT_PERSON], 1),  # cut aside, the right camera sees them whole
        ([0.90, 0.30, 1.00, 0.50], [], 0),  # ... and found no one: the left one's point is off
        ([0.75, 0.30, 0.85, 0.50], [], 1),  # not cut: hidden from the right camera
    ],
)
def test_a_person_cut_aside_yields_to_a_camera_that_sees_them_whole(
    left_box: list[float], right_sees: list[list[float]], count: int
) -> None:
    # The left camera's cut box puts the person 0.6 m off, beyond the gate from the right camera's.
    right_floor = points(*[(5.0, 3.0)] * len(right_sees))
    views = [
        pictured(points((5.3, 3.6)), LEFT_CAMERA, [0.9], [left_box]),
        pictured(right_floor, RIGHT_CAMERA, [0.9] * len(right_sees), right_sees),
    ]

    assert len(merge_views(views, ROOM, gate_m=0.5)) == count


@pytest.mark.parametrize(("right_from", "count"), [(4.0, 0), (5.8, 1)])
def test_a_person_cut_aside_is_kept_where_no_other_camera_sees_them_whole(
    right_from: float, count: int
) -> None:
    # Floor (5.85, 3): the left camera's right border cuts them; a right camera starting at
    # x = 5.8 sees them at its left border, one starting at x = 4 well inside its picture.
    views = [
        pictured(points((5.85, 3.0)), LEFT_CAMERA, [0.9], [[0.95, 0.3, 1.0, 0.5]]),
        pictured(points(), straight_down(right_from), [], []),
    ]

    assert len(merge_views(views, ROOM)) == count
    assert len(merge_views(views[::-1], ROOM)) == count


def test_a_view_names_confidences_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"confidence must have shape \(1,\), got \(2,\)"):
        RoomView(points((5, 3)), LEFT, np.array([0.5, 0.5], np.float32))


# A 100 x 50 pixel picture whose top tenth is sky.
SKY_ABOVE = np.array([[10.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 1.0, -0.1]])


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [(Anchor.BOX_BOTTOM, [[1.5, 4.0]]), (Anchor.FEET, [[1.5, 3.8]])],
)
def test_floor_points_take_the_box_bottom_unless_told(anchor: Anchor, expected: list[list[float]]) -> None:
    keypoints = np.zeros((1, 17, 3), np.float32)
    keypoints[0, 15:17] = [[14, 38, 0.9], [16, 38, 0.9]]  # ankles 2 px above the box's bottom
    people = Detections(np.array([[10, 10, 20, 40]], np.float32), np.ones(1, np.float32), keypoints)

    points = floor_points(people, np.diag([10.0, 5.0, 1.0]), (100, 50), anchor)

    np.testing.assert_allclose(points, expected, atol=1e-6)


@pytest.mark.parametrize("count", [0, 2])
def test_floor_points_of_people_above_the_horizon_are_nan(count: int) -> None:
    boxes = np.array([[10, 0, 20, 3], [10, 10, 20, 40]], np.float32)[:count]  # bottoms at y 0.06, 0.8
    people = Detections(boxes, np.ones(count, np.float32))

    points = floor_points(people, SKY_ABOVE, (100, 50))

    assert points.shape == (count, 2)
    assert np.isfinite(points).all(axis=1).tolist() == [False, True][:count]


@pytest.mark.parametrize(
    ("views", "count", "partial"),
    [
        ([], 0, False),
        ([None], 0, True),
        ([RoomView(points((5, 3)), LEFT), RoomView(points((5.2, 3)), RIGHT)], 1, False),
        ([RoomView(points((5, 3), (2, 2)), LEFT), None], 2, True),  # the right camera's frame was too late
        ([None, RoomView(points((8, 3)), RIGHT)], 1, True),
    ],
)
def test_count_room_counts_the_cameras_it_has_and_says_when_one_is_missing(
    views: list[RoomView | None], count: int, partial: bool
) -> None:
    result = count_room(views, ROOM)

    assert result.count == count
    assert result.partial is partial
    assert result.people.shape == (count, 2)
