"""Floor ids for a room's people: the same person keeps an id step to step within reach, someone
new gets a new one, the lost are dropped, and the state stays bounded; each track's side of the
room's edge holds until its point is a margin over it."""

from __future__ import annotations

import numpy as np
import pytest

from edge.zones import floor_tracker
from edge.zones.floor_tracker import FloorTracker


@pytest.mark.parametrize(
    ("case", "steps", "expected"),
    [
        ("nobody", [([], 0.0), ([], 0.5)], [[], []]),
        ("one standing", [([(1, 1)], 0.0), ([(1.1, 1)], 0.5)], [[0], [0]]),
        # At 0.5 s a person reaches 0.8 + 0.7 m: two metres away is someone else.
        ("too far for the time", [([(1, 1)], 0.0), ([(3, 1)], 0.5)], [[0], [1]]),
        # After 2 s the same two metres are within reach (0.8 + 2.8, at most 3 m).
        ("far but long after", [([(1, 1)], 0.0), ([(3, 1)], 2.0)], [[0], [0]]),
        # Two people who swap order in the list keep their ids (an assignment, not list order).
        ("two, listed swapped", [([(1, 1), (4, 1)], 0.0), ([(4.1, 1), (1.1, 1)], 0.5)], [[0, 1], [1, 0]]),
        # Nearest-first would give the middle point to the first track and leave the other unmatched.
        (
            "assignment beats greedy",
            [([(0, 0), (1.4, 0)], 0.0), ([(0.7, 0), (2.1, 0)], 0.0)],
            [[0, 1], [0, 1]],
        ),
        ("one leaves, one comes", [([(1, 1)], 0.0), ([], 0.5), ([(9, 9)], 1.0)], [[0], [], [1]]),
        # Unseen for longer than lost_s (4 s): a new person at the same place.
        ("lost", [([(1, 1)], 0.0), ([], 3.0), ([(1, 1)], 4.5)], [[0], [], [1]]),
    ],
)
def test_ids_follow_people_on_the_floor(
    case: str, steps: list[tuple[list[tuple[float, float]], float]], expected: list[list[int]]
) -> None:
    tracker = FloorTracker(lost_s=4.0)
    found = [tracker.update(np.array(points, float).reshape(-1, 2), t).ids.tolist() for points, t in steps]
    assert found == expected


def test_the_lost_are_dropped_and_the_state_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(floor_tracker, "MAX_TRACKS", 5)
    tracker = FloorTracker(lost_s=4.0)
    for step in range(10):  # ten people, each far from the others, each seen once
        tracker.update([(step * 10.0, 0.0)], step * 0.1)
    assert len(tracker) == 5
    assert len(tracker._inside) == len(tracker._settling_s) == 5  # each track's side goes with it
    tracker.update([], 10.0)
    assert len(tracker) == 0
    assert len(tracker._inside) == len(tracker._settling_s) == 0


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"lost_s": 0}, "lost_s must be > 0, got 0"),
        ({"lost_s": 1, "gate_m": -1}, "gate_m"),
        ({"lost_s": 1, "margin_m": -0.1}, "margin_m must be >= 0, got -0.1"),
        ({"lost_s": 1, "settle_s": -1}, "settle_s must be >= 0, got -1"),
    ],
)
def test_bad_settings_are_named(arguments: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        FloorTracker(**arguments)


def test_time_cannot_go_back() -> None:
    tracker = FloorTracker(lost_s=4.0)
    tracker.update([], 2.0)
    with pytest.raises(ValueError, match="went back"):
        tracker.update([], 1.0)


MARGIN = 0.27


@pytest.mark.parametrize(
    ("case", "margin_m", "depths", "expected"),
    [
        ("nobody", MARGIN, [], []),
        # Depths: metres inside the room's edge (negative outside), one person at steps 0.5 s apart.
        ("without a margin, where the point is", 0.0, [-0.1, 0.1, -0.1], [False, True, False]),
        ("just outside, the point strays in", MARGIN, [-0.1, 0.1, -0.05, 0.2], [False] * 4),
        ("walks in", MARGIN, [-0.5, 0.1, 0.4], [False, False, True]),
        ("inside, the point strays out", MARGIN, [1.0, -0.1, 0.05, -0.2], [True] * 4),
        ("walks out", MARGIN, [0.5, -0.1, -0.4, 0.1], [True, True, False, False]),
        ("first seen deep inside", MARGIN, [0.5], [True]),
        # First seen just inside: counted once it has stayed inside for settle_s (1 s).
        ("first seen just inside, stays", MARGIN, [0.1, 0.15, 0.1], [False, False, True]),
        ("first seen just inside, out once", MARGIN, [0.1, -0.05, 0.1, 0.1, 0.1], [False] * 5),
    ],
)
def test_a_track_changes_side_only_a_margin_over_the_edge(
    case: str, margin_m: float, depths: list[float], expected: list[bool]
) -> None:
    tracker = FloorTracker(lost_s=4.0, margin_m=margin_m, settle_s=1.0)
    found = []
    for step, depth in enumerate(depths):
        tracked = tracker.update([(5.0, 0.01 * step)], 0.5 * step, [depth])
        found.append(bool(tracked.inside[0]))
        assert tracked.ids.tolist() == [0]  # one person all along
    assert found == expected


def test_sides_follow_each_track_and_a_lost_track_forgets_its_side() -> None:
    tracker = FloorTracker(lost_s=1.0, margin_m=MARGIN, settle_s=1.0)
    tracker.update([(0.0, 0.0), (5.0, 0.0)], 0.0, [-0.5, 1.0])
    # Listed the other way round, both a little inside: the first stays out, the second in.
    tracked = tracker.update([(5.0, 0.1), (0.0, 0.1)], 0.5, [0.1, 0.1])
    assert (tracked.ids.tolist(), tracked.inside.tolist()) == ([1, 0], [True, False])
    # Unseen past lost_s, the first is someone new, first seen deep inside.
    tracked = tracker.update([(0.0, 0.1)], 2.0, [0.5])
    assert (tracked.ids.tolist(), tracked.inside.tolist()) == ([2], [True])


def test_without_depths_everyone_is_inside() -> None:
    tracked = FloorTracker(lost_s=4.0, margin_m=MARGIN).update([(1, 1), (2, 2)], 0.0)
    assert tracked.inside.tolist() == [True, True]


def test_depths_must_match_the_points() -> None:
    with pytest.raises(ValueError, match=r"depth must have shape \(2,\), got \(1,\)"):
        FloorTracker(lost_s=4.0).update([(1, 1), (2, 2)], 0.0, [0.5])
