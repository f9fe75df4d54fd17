"""PersonTracker: ByteTrack, driven by frame timestamps at an edge box's analysis rate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edge.config import TrackerConfig
from edge.detections import Detections
from edge.track import PersonTracker
from tests.conftest import make_detections

FPS = 2.0
PERIOD_S = 1 / FPS
LOST_S = 2.0
Box = tuple[float, float, float, float]
Frame = tuple[float, list[Box]]  # time, people seen


def tracker(**config: Any) -> PersonTracker:
    return PersonTracker(TrackerConfig(**({"lost_track_s": LOST_S} | config)), fps=FPS)


def person(x: float, y: float = 100.0, width: float = 60.0, height: float = 160.0) -> Box:
    return (x, y, x + width, y + height)


def run(people: PersonTracker, frames: list[Frame]) -> list[list[int]]:
    """Track ids per frame, in the order the boxes were given."""
    out = []
    for time_s, boxes in frames:
        tracked = people.update(make_detections(boxes), time_s)
        assert tracked.track_id is not None
        out.append(tracked.track_id.tolist())
    return out


def absent(last_s: float, gap_s: float, empty_frames: bool) -> list[Frame]:
    """The frames between last_s and last_s + gap_s: analysed without the person, or none at all."""
    if not empty_frames:
        return []
    return [(float(t), []) for t in np.arange(last_s + PERIOD_S, last_s + gap_s - 1e-9, PERIOD_S)]


def test_no_people_no_ids() -> None:
    people = tracker()

    for time_s in (0.0, 0.5, 1.0):
        tracked = people.update(Detections.empty(), time_s)
        assert len(tracked) == 0
        assert tracked.track_id is not None and tracked.track_id.shape == (0,)


@pytest.mark.parametrize(
    "confirm_frames",
    [2, 3, 5],
)
def test_ids_are_minus_one_until_confirmed(confirm_frames: int) -> None:
    people = tracker(confirm_frames=confirm_frames)

    ids = run(people, [(i * PERIOD_S, [person(100 + 4 * i)]) for i in range(confirm_frames + 3)])

    assert ids[: confirm_frames - 1] == [[-1]] * (confirm_frames - 1)
    assert ids[confirm_frames - 1][0] >= 0
    assert ids[confirm_frames - 1 :] == [ids[confirm_frames - 1]] * 4


@pytest.mark.parametrize("step_px", [0.0, 5.0, 20.0, -15.0])
def test_a_person_moving_slowly_keeps_one_id(step_px: float) -> None:
    people = tracker()

    ids = run(people, [(i * PERIOD_S, [person(300 + step_px * i)]) for i in range(20)])

    assert ids[0] == [-1]
    confirmed = {i[0] for i in ids[1:]}
    assert len(confirmed) == 1
    assert confirmed.pop() >= 0


def test_the_output_is_the_input_with_track_ids() -> None:
    people = tracker()
    found = make_detections([person(100), person(400)], confidence=[0.8, 0.6])

    tracked = people.update(found, 0.0)

    np.testing.assert_array_equal(tracked.xyxy, found.xyxy)
    np.testing.assert_array_equal(tracked.confidence, found.confidence)
    assert found.track_id is None  # the input is left as it was


def test_ids_follow_the_people_whatever_their_order_in_the_frame() -> None:
    people = tracker()
    left, right = person(100), person(450)

    ids = run(
        people,
        [
            (0.0, [left, right]),
            (0.5, [left, right]),
            (1.0, [right, left]),
            (1.5, [left, right]),
            (2.0, [right]),
        ],
    )

    a, b = ids[1]
    assert a >= 0 and b >= 0 and a != b
    assert ids[2] == [b, a]
    assert ids[3] == [a, b]
    assert ids[4] == [b]


def test_a_low_confidence_detection_never_starts_a_track() -> None:
    people = tracker(activation_confidence=0.5, high_confidence=0.5)
    frames = [(i * PERIOD_S, [person(100), person(400)]) for i in range(5)]

    ids = []
    for time_s, boxes in frames:
        tracked = people.update(make_detections(boxes, confidence=[0.9, 0.2]), time_s)
        assert tracked.track_id is not None
        ids.append(tracked.track_id.tolist())

    assert ids[-1][0] >= 0
    assert all(row[1] == -1 for row in ids)


@pytest.mark.parametrize("gap_s", [1.0, 1.5, 1.9])
@pytest.mark.parametrize("empty_frames", [True, False])
def test_a_person_missed_for_less_than_lost_track_s_keeps_the_id(gap_s: float, empty_frames: bool) -> None:
    """Skipped frames (no calls) or frames where the person was not detected (empty calls)."""
    people = tracker()
    seen = [(i * PERIOD_S, [person(200 + 5 * i)]) for i in range(4)]  # until 1.5 s
    last_s = seen[-1][0]
    missed = absent(last_s, gap_s, empty_frames)
    back = [(last_s + gap_s + i * PERIOD_S, [person(220 + 5 * i)]) for i in range(3)]

    ids = run(people, [*seen, *missed, *back])

    before = ids[len(seen) - 1][0]
    assert before >= 0
    assert ids[-len(back) :] == [[before]] * len(back)


@pytest.mark.parametrize("gap_s", [2.5, 4.0, 30.0])
@pytest.mark.parametrize("empty_frames", [True, False])
def test_a_person_unseen_longer_than_lost_track_s_gets_a_new_id(gap_s: float, empty_frames: bool) -> None:
    people = tracker()
    seen = [(i * PERIOD_S, [person(200)]) for i in range(4)]
    last_s = seen[-1][0]
    missed = absent(last_s, gap_s, empty_frames)
    back = [(last_s + gap_s + i * PERIOD_S, [person(200)]) for i in range(3)]

    ids = run(people, [*seen, *missed, *back])

    before = ids[len(seen) - 1][0]
    after = ids[-len(back) :]
    assert before >= 0
    assert after[0] == [-1]  # a new track, not yet confirmed
    assert after[1][0] >= 0
    assert after[1][0] != before
    assert after[2] == after[1]


def test_the_lost_time_follows_the_config() -> None:
    """The same 3 s absence: kept with lost_track_s=5, a new id with lost_track_s=2."""
    frames: list[Frame] = [(0.0, [person(200)]), (0.5, [person(200)])]
    frames += [(3.5, [person(200)]), (4.0, [person(200)])]

    patient = run(tracker(lost_track_s=5.0), frames)
    hasty = run(tracker(lost_track_s=2.0), frames)

    assert patient[2] == patient[1]
    assert hasty[3] != hasty[1]


def test_reset_forgets_everyone() -> None:
    people = tracker()
    ids = run(people, [(0.0, [person(200)]), (0.5, [person(200)])])

    people.reset()
    after = run(people, [(1.0, [person(200)]), (1.5, [person(200)])])

    assert ids[1][0] >= 0
    assert after[0] == [-1]  # the same box is a new, unconfirmed track
    assert after[1][0] >= 0


def test_a_faint_box_continues_a_track_it_could_not_start() -> None:
    """ByteTrack's second stage: half hidden, the person is found faintly and keeps their id."""
    people = tracker(activation_confidence=0.5, high_confidence=0.5)
    ids = []
    for i, confidence in enumerate([0.9, 0.9, 0.2, 0.2, 0.9]):
        tracked = people.update(
            make_detections([person(200 + 10 * i)], confidence=[confidence]), i * PERIOD_S
        )
        assert tracked.track_id is not None
        ids.append(int(tracked.track_id[0]))

    assert ids[1] >= 0 and ids[1:] == [ids[1]] * 4


@pytest.mark.parametrize(("match_buffer", "kept"), [(3.0, True), (0.0, False)])
def test_a_walker_further_than_their_width_a_frame_keeps_the_id_by_the_buffer(
    match_buffer: float, kept: bool
) -> None:
    """80 px a frame for a person 60 px wide: their boxes of two frames do not overlap at all."""
    people = tracker(match_buffer=match_buffer)

    ids = run(people, [(i * PERIOD_S, [person(100 + 80 * i)]) for i in range(6)])

    assert (len({i[0] for i in ids[1:]}) == 1 and ids[1][0] >= 0) is kept
