"""A camera's fixtures: faint boxes found at one place, never a confident one there, for long enough."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detections import box_iou
from edge.zones.fixtures import FIXTURE_FORGET_S, MAX_PLACES, Fixtures

BOLLARD = [0.78, 0.21, 0.88, 0.43]
WIGGLE = [0.79, 0.22, 0.89, 0.44]  # the same place, boxed a little differently


def frames(fixtures: Fixtures, seen: list[tuple[float, list[list[float]], list[float]]]) -> list[list[bool]]:
    return [fixtures.update(np.asarray(b).reshape(-1, 4), c, t).tolist() for t, b, c in seen]


def test_no_people_no_places() -> None:
    fixtures = Fixtures(after_s=10)

    assert frames(fixtures, [(0.0, [], [])]) == [[]]
    assert len(fixtures) == 0


def test_a_faint_box_at_one_place_is_a_fixture_after_the_wait() -> None:
    fixtures = Fixtures(after_s=10)
    seen = [(t, [BOLLARD if t % 2 else WIGGLE], [0.03]) for t in (0.0, 4.0, 9.0, 10.0, 25.0)]

    assert frames(fixtures, seen) == [[False], [False], [False], [True], [True]]


@pytest.mark.parametrize(
    ("confidence", "left_out"),
    [(0.03, [True, True]), (0.6, [False, False])],  # a confident box there clears the place first
)
def test_faint_boxes_at_the_place_are_left_out(confidence: float, left_out: list[bool]) -> None:
    fixtures = Fixtures(after_s=10)
    frames(fixtures, [(0.0, [BOLLARD], [0.03])])

    assert frames(fixtures, [(12.0, [BOLLARD, WIGGLE], [0.03, confidence])]) == [left_out]


def test_a_confident_box_clears_the_place() -> None:
    fixtures = Fixtures(after_s=10)
    seen = [
        (0.0, [BOLLARD], [0.03]),
        (11.0, [BOLLARD], [0.03]),  # a fixture by now
        (12.0, [WIGGLE], [0.7]),  # someone seen clearly there: it may have been them
        (13.0, [BOLLARD], [0.03]),  # the wait starts again
        (24.0, [BOLLARD], [0.03]),
    ]

    assert frames(fixtures, seen) == [[False], [True], [False], [False], [True]]


def test_someone_passing_in_front_does_not_clear_the_place() -> None:
    fixtures = Fixtures(after_s=10)
    passer_by = [0.78, 0.21, 0.87, 0.58]  # overlaps the bollard's box (IoU 0.56), reaches lower
    seen = [(0.0, [BOLLARD], [0.03]), (11.0, [passer_by], [0.6]), (12.0, [BOLLARD], [0.03])]

    assert frames(fixtures, seen) == [[False], [False], [True]]


def test_a_walking_person_is_no_fixture() -> None:
    fixtures = Fixtures(after_s=10)
    walk = [(float(t), [[0.05 * t, 0.2, 0.05 * t + 0.08, 0.5]], [0.1]) for t in range(15)]

    assert not any(any(flags) for flags in frames(fixtures, walk))


def test_a_place_not_seen_for_a_while_is_forgotten() -> None:
    fixtures = Fixtures(after_s=10)
    later = FIXTURE_FORGET_S + 20.0
    seen = [(0.0, [BOLLARD], [0.03]), (later, [BOLLARD], [0.03]), (later + 5, [BOLLARD], [0.03])]

    assert frames(fixtures, seen) == [[False], [False], [False]]


def test_a_clock_that_goes_back_starts_afresh() -> None:
    fixtures = Fixtures(after_s=10)
    frames(fixtures, [(0.0, [BOLLARD], [0.03]), (20.0, [BOLLARD], [0.03])])

    assert frames(fixtures, [(1.0, [BOLLARD], [0.03])]) == [[False]]


def test_places_are_bounded() -> None:
    fixtures = Fixtures(after_s=10)
    for t in range(MAX_PLACES + 10):
        x = (t % 50) / 50
        y = 0.5 * (t // 50)
        fixtures.update(np.array([[x, y, x + 0.01, y + 0.02]]), [0.03], 0.5 * t)  # none forgotten

    assert len(fixtures) == MAX_PLACES


@pytest.mark.parametrize(
    ("words", "kwargs"),
    [
        ("after_s must be > 0, got 0", {"after_s": 0.0}),
        ("forget_s must be > 0, got -1", {"after_s": 10.0, "forget_s": -1.0}),
    ],
)
def test_bad_settings_are_named(words: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=words):
        Fixtures(**kwargs)


def test_confidences_of_the_wrong_shape_are_named() -> None:
    with pytest.raises(ValueError, match=r"confidence must have shape \(1,\), got \(2,\)"):
        Fixtures(after_s=10).update(np.array([BOLLARD]), [0.1, 0.2], 0.0)


def test_iou_of_boxes() -> None:
    boxes = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 5, 5]], np.float64)

    np.testing.assert_allclose(box_iou(boxes[:1], boxes), [[1.0, 1 / 7, 0.0]])
