"""Floor ids for a room's people: the same person keeps an id step to step within reach, someone
new gets a new one, the lost are dropped, and the state stays bounded."""

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
    found = [tracker.update(np.array(points, float).reshape(-1, 2), t).tolist() for points, t in steps]
    assert found == expected


def test_the_lost_are_dropped_and_the_state_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(floor_tracker, "MAX_TRACKS", 5)
    tracker = FloorTracker(lost_s=4.0)
    for step in range(10):  # ten people, each far from the others, each seen once
        tracker.update([(step * 10.0, 0.0)], step * 0.1)
    assert len(tracker) == 5
    tracker.update([], 10.0)
    assert len(tracker) == 0


@pytest.mark.parametrize(
    ("arguments", "words"),
    [({"lost_s": 0}, "lost_s must be > 0, got 0"), ({"lost_s": 1, "gate_m": -1}, "gate_m")],
)
def test_bad_settings_are_named(arguments: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        FloorTracker(**arguments)


def test_time_cannot_go_back() -> None:
    tracker = FloorTracker(lost_s=4.0)
    tracker.update([], 2.0)
    with pytest.raises(ValueError, match="went back"):
        tracker.update([], 1.0)
