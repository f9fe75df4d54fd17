"""Detections: validated, frozen parallel arrays; selection, shifting, merging and anchor points."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.detections import KEYPOINT_VISIBLE, LEFT_ANKLE, RIGHT_ANKLE, Anchor, Detections
from tests.conftest import make_detections

COCO_KEYPOINTS = 17
HIDDEN = 0.0
SEEN = 0.9

Ankle = tuple[float, float, float]  # x, y, visibility


def with_ankles(boxes: Sequence[Sequence[float]], ankles: Sequence[tuple[Ankle, Ankle]]) -> Detections:
    """Detections whose keypoints are all hidden except the given (left, right) ankles."""
    keypoints = np.zeros((len(boxes), COCO_KEYPOINTS, 3), np.float32)
    for row, (left, right) in enumerate(ankles):
        keypoints[row, LEFT_ANKLE] = left
        keypoints[row, RIGHT_ANKLE] = right
    xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(xyxy, np.full(len(xyxy), 0.9, np.float32), keypoints)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrays", "field", "shape"),
    [
        ({"xyxy": np.zeros(4)}, "xyxy", "(4,)"),
        ({"xyxy": np.zeros((2, 3))}, "xyxy", "(2, 3)"),
        ({"xyxy": np.zeros((1, 2, 4))}, "xyxy", "(1, 2, 4)"),
        ({"confidence": np.zeros(3)}, "confidence", "(3,)"),
        ({"confidence": np.zeros((2, 1))}, "confidence", "(2, 1)"),
        ({"keypoints": np.zeros((2, 17, 2))}, "keypoints", "(2, 17, 2)"),
        ({"keypoints": np.zeros((1, 17, 3))}, "keypoints", "(1, 17, 3)"),
        ({"keypoints": np.zeros((2, 17))}, "keypoints", "(2, 17)"),
        ({"track_id": np.zeros(1)}, "track_id", "(1,)"),
        ({"track_id": np.zeros((2, 1))}, "track_id", "(2, 1)"),
        # the empty case: no boxes, but a confidence for one
        ({"xyxy": np.zeros((0, 4)), "confidence": np.zeros(1)}, "confidence", "(1,)"),
    ],
)
def test_bad_shapes_are_rejected_naming_field_and_shape(
    arrays: dict[str, Any], field: str, shape: str
) -> None:
    values: dict[str, Any] = {"xyxy": np.zeros((2, 4)), "confidence": np.zeros(2)} | arrays
    with pytest.raises(ValueError, match=rf"^{field} must have shape .*, got {re.escape(shape)}$"):
        Detections(**values)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_good_shapes_are_accepted_with_canonical_dtypes(n: int) -> None:
    found = Detections(
        np.zeros((n, 4), np.float64),
        np.zeros(n, np.float64),
        np.zeros((n, COCO_KEYPOINTS, 3), np.float64),
        np.zeros(n, np.int32),
    )

    assert len(found) == n
    assert found.xyxy.dtype == np.float32
    assert found.confidence.dtype == np.float32
    assert found.keypoints is not None and found.keypoints.dtype == np.float32
    assert found.track_id is not None and found.track_id.dtype == np.int64


@pytest.mark.parametrize("keypoint_count", [None, 0, COCO_KEYPOINTS])
def test_empty_has_no_rows_and_the_asked_keypoint_layout(keypoint_count: int | None) -> None:
    empty = Detections.empty(keypoint_count)

    assert len(empty) == 0
    assert empty.xyxy.shape == (0, 4)
    assert empty.confidence.shape == (0,)
    assert empty.track_id is None
    if keypoint_count is None:
        assert empty.keypoints is None
    else:
        assert empty.keypoints is not None and empty.keypoints.shape == (0, keypoint_count, 3)


# --- frozen ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["xyxy", "confidence", "keypoints", "track_id"])
def test_arrays_are_read_only(field: str) -> None:
    found = with_ankles([(0, 0, 10, 20)], [((1, 2, SEEN), (3, 4, SEEN))]).with_track_ids(np.array([7]))
    array: NDArray[Any] = getattr(found, field)

    with pytest.raises(ValueError, match="read-only"):
        array[0] = 0


@pytest.mark.parametrize("field", ["xyxy", "confidence", "keypoints", "track_id"])
def test_fields_cannot_be_replaced(field: str) -> None:
    found = make_detections([(0, 0, 10, 20)])

    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(found, field, None)


def test_the_callers_arrays_are_copied_not_shared() -> None:
    xyxy = np.array([[0, 0, 10, 20]], np.float32)
    confidence = np.array([0.5], np.float32)
    track_id = np.array([3], np.int64)
    found = Detections(xyxy, confidence, None, track_id)

    xyxy[0, 0] = 99
    confidence[0] = 0.1
    track_id[0] = 4

    assert found.xyxy[0, 0] == 0
    assert found.confidence[0] == pytest.approx(0.5)
    assert found.track_id is not None and found.track_id[0] == 3
    assert xyxy.flags.writeable  # and the caller's arrays stay theirs


# --- select ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "kept"),
    [
        (np.array([True, False, True]), [0, 2]),
        (np.array([False, False, False]), []),
        (np.array([True, True, True]), [0, 1, 2]),
        (np.array([2, 0]), [2, 0]),
        (np.array([1]), [1]),
        (np.array([], np.int64), []),
    ],
)
def test_select_keeps_the_picked_rows_of_every_array(index: NDArray[Any], kept: list[int]) -> None:
    boxes = [(0, 0, 10, 10), (20, 0, 30, 10), (40, 0, 50, 10)]
    found = with_ankles(boxes, [((r, r, SEEN), (r, r, HIDDEN)) for r in range(3)]).with_track_ids(
        np.array([10, 11, 12])
    )
    found = Detections(found.xyxy, np.array([0.1, 0.2, 0.3]), found.keypoints, found.track_id)

    picked = found.select(index)

    assert len(picked) == len(kept)
    np.testing.assert_array_equal(picked.xyxy, np.asarray(boxes, np.float32).reshape(-1, 4)[kept])
    np.testing.assert_allclose(picked.confidence, np.array([0.1, 0.2, 0.3], np.float32)[kept])
    assert picked.keypoints is not None and picked.keypoints.shape == (len(kept), COCO_KEYPOINTS, 3)
    np.testing.assert_array_equal(picked.keypoints[:, LEFT_ANKLE, 0], np.array(kept, np.float32))
    assert picked.track_id is not None
    np.testing.assert_array_equal(picked.track_id, np.array([10, 11, 12])[kept])
    assert not picked.xyxy.flags.writeable


def test_select_without_optional_arrays_keeps_them_absent() -> None:
    picked = make_detections([(0, 0, 1, 1), (2, 2, 3, 3)]).select(np.array([False, True]))

    assert picked.keypoints is None
    assert picked.track_id is None
    np.testing.assert_array_equal(picked.xyxy, [[2, 2, 3, 3]])


# --- with_track_ids --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("boxes", "ids"),
    [
        ([], []),
        ([(0, 0, 1, 1)], [-1]),
        ([(0, 0, 1, 1), (2, 2, 3, 3)], [4, -1]),
    ],
)
def test_with_track_ids_returns_a_new_value_and_leaves_the_input(
    boxes: list[tuple[float, float, float, float]], ids: list[int]
) -> None:
    found = make_detections(boxes)

    tracked = found.with_track_ids(np.array(ids, np.int32))

    assert found.track_id is None
    assert tracked.track_id is not None and tracked.track_id.dtype == np.int64
    np.testing.assert_array_equal(tracked.track_id, ids)
    np.testing.assert_array_equal(tracked.xyxy, found.xyxy)
    np.testing.assert_array_equal(tracked.confidence, found.confidence)


def test_with_track_ids_of_the_wrong_length_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"track_id must have shape \(2,\), got \(3,\)"):
        make_detections([(0, 0, 1, 1), (2, 2, 3, 3)]).with_track_ids(np.array([1, 2, 3]))


# --- shifted ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("boxes", "dx", "dy"),
    [
        ([], 100.0, 50.0),
        ([(0, 0, 10, 20)], 0.0, 0.0),
        ([(0, 0, 10, 20), (5, 6, 7, 8)], 100.0, 50.0),
        ([(10, 10, 20, 20)], -5.5, 2.25),
    ],
)
def test_shifted_moves_boxes_and_keypoints_but_not_visibility(
    boxes: list[tuple[float, float, float, float]], dx: float, dy: float
) -> None:
    found = with_ankles(boxes, [((1, 2, SEEN), (3, 4, HIDDEN))] * len(boxes)).with_track_ids(
        np.arange(len(boxes))
    )
    before_xyxy = found.xyxy.copy()
    before_keypoints = None if found.keypoints is None else found.keypoints.copy()

    moved = found.shifted(dx, dy)

    expected = np.asarray(boxes, np.float32).reshape(-1, 4) + np.array([dx, dy, dx, dy], np.float32)
    np.testing.assert_allclose(moved.xyxy, expected)
    assert moved.keypoints is not None and before_keypoints is not None
    np.testing.assert_allclose(moved.keypoints[..., 0], before_keypoints[..., 0] + dx)
    np.testing.assert_allclose(moved.keypoints[..., 1], before_keypoints[..., 1] + dy)
    np.testing.assert_array_equal(moved.keypoints[..., 2], before_keypoints[..., 2])
    np.testing.assert_array_equal(moved.confidence, found.confidence)
    assert moved.track_id is not None
    np.testing.assert_array_equal(moved.track_id, np.arange(len(boxes)))
    # the input is untouched
    np.testing.assert_array_equal(found.xyxy, before_xyxy)
    np.testing.assert_array_equal(found.keypoints, before_keypoints)


def test_shifted_without_keypoints_keeps_them_absent() -> None:
    moved = make_detections([(0, 0, 10, 20)]).shifted(3, 4)

    assert moved.keypoints is None
    np.testing.assert_array_equal(moved.xyxy, [[3, 4, 13, 24]])


# --- concatenate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sizes", "with_keypoints", "keypoints_kept"),
    [
        ([], [], False),
        ([0], [False], False),
        ([0, 0], [True, True], True),
        ([2], [False], False),
        ([1, 2], [False, False], False),
        ([1, 0, 2], [True, True, True], True),
        ([1, 2], [True, False], False),  # keypoints only where every part has them
    ],
)
def test_concatenate_stacks_rows_in_order(
    sizes: list[int], with_keypoints: list[bool], keypoints_kept: bool
) -> None:
    parts = []
    start = 0
    for size, keypoints in zip(sizes, with_keypoints, strict=True):
        boxes = [(float(i), 0.0, float(i) + 1, 1.0) for i in range(start, start + size)]
        part = with_ankles(boxes, [((i, 0, SEEN), (i, 0, SEEN)) for i in range(size)])
        parts.append(part if keypoints else Detections(part.xyxy, part.confidence))
        start += size

    merged = Detections.concatenate(parts)

    assert len(merged) == sum(sizes)
    np.testing.assert_array_equal(merged.xyxy[:, 0], np.arange(sum(sizes), dtype=np.float32))
    assert merged.confidence.shape == (sum(sizes),)
    assert (merged.keypoints is not None) == keypoints_kept
    if merged.keypoints is not None:
        assert merged.keypoints.shape == (sum(sizes), COCO_KEYPOINTS, 3)


# --- anchors ---------------------------------------------------------------------------------

BOX = (100.0, 50.0, 140.0, 250.0)  # bottom centre (120, 250), centre (120, 150)


@pytest.mark.parametrize(
    ("anchor", "ankles", "expected"),
    [
        (Anchor.BOX_BOTTOM, ((110, 240, SEEN), (130, 244, SEEN)), (120, 250)),
        (Anchor.BOX_CENTER, ((110, 240, SEEN), (130, 244, SEEN)), (120, 150)),
        # feet: midpoint of both visible ankles
        (Anchor.FEET, ((110, 200, SEEN), (130, 210, SEEN)), (120, 205)),
        (Anchor.FEET, ((104, 180, KEYPOINT_VISIBLE), (136, 190, 1.0)), (120, 185)),
        # one ankle visible: that ankle alone, the hidden one's coordinates ignored
        (Anchor.FEET, ((110, 200, SEEN), (0, 0, HIDDEN)), (110, 200)),
        (Anchor.FEET, ((999, 999, 0.2), (131, 198, SEEN)), (131, 198)),
        # none visible: the box bottom
        (Anchor.FEET, ((110, 200, HIDDEN), (130, 210, 0.3)), (120, 250)),
    ],
)
def test_anchor_of_one_person(
    anchor: Anchor, ankles: tuple[Ankle, Ankle], expected: tuple[float, float]
) -> None:
    points = with_ankles([BOX], [ankles]).anchors(anchor)

    assert points.shape == (1, 2)
    assert points.dtype == np.float32
    np.testing.assert_allclose(points[0], expected)


def test_feet_are_chosen_per_person_in_one_call() -> None:
    found = with_ankles(
        [BOX, (0, 0, 10, 30), (200, 0, 220, 100)],
        [
            ((110, 200, SEEN), (130, 210, SEEN)),
            ((0, 0, HIDDEN), (8, 27, SEEN)),
            ((210, 90, HIDDEN), (215, 95, HIDDEN)),
        ],
    )

    np.testing.assert_allclose(found.anchors(Anchor.FEET), [[120, 205], [8, 27], [210, 100]])


@pytest.mark.parametrize("keypoint_count", [None, 5])
def test_feet_without_ankle_keypoints_fall_back_to_box_bottom(keypoint_count: int | None) -> None:
    keypoints = None if keypoint_count is None else np.full((1, keypoint_count, 3), SEEN, np.float32)
    found = Detections(np.array([BOX], np.float32), np.array([0.9], np.float32), keypoints)

    np.testing.assert_allclose(found.anchors(Anchor.FEET), [[120, 250]])


@pytest.mark.parametrize("anchor", list(Anchor))
@pytest.mark.parametrize("keypoint_count", [None, COCO_KEYPOINTS])
def test_anchors_of_no_people_are_an_empty_point_list(anchor: Anchor, keypoint_count: int | None) -> None:
    points = Detections.empty(keypoint_count).anchors(anchor)

    assert points.shape == (0, 2)
    assert points.dtype == np.float32


def test_anchors_do_not_touch_the_detections() -> None:
    found = with_ankles([BOX], [((110, 200, SEEN), (130, 210, SEEN))])
    before = found.xyxy.copy()

    points = found.anchors(Anchor.FEET)
    points[0] = (0, 0)  # the caller may write into its own result

    np.testing.assert_array_equal(found.xyxy, before)
    np.testing.assert_allclose(found.anchors(Anchor.FEET), [[120, 205]])


def test_concatenate_keeps_track_ids_when_every_part_has_them() -> None:
    a = make_detections([(0, 0, 1, 1)], track_id=[4])
    b = make_detections([(2, 2, 3, 3)], track_id=[-1])
    merged = Detections.concatenate([a, b])
    assert merged.track_id is not None and merged.track_id.tolist() == [4, -1]
    assert Detections.concatenate([a, make_detections([(2, 2, 3, 3)])]).track_id is None
