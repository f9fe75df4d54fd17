"""Zone accounting: smoothed occupancy, entries, exits with dwell times, loitering, bounded state."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.config import CameraConfig
from edge.detections import Anchor, Detections
from edge.zones.accounting import MAX_PEOPLE_PER_ZONE, CameraZones, ZoneAccount, ZoneReading
from tests.conftest import make_detections

GRACE_S = 2.0
WIDTH, HEIGHT = 640, 480


def account(
    smoothing_frames: int = 3, loiter_limit_s: float = 600.0, exit_grace_s: float = GRACE_S
) -> ZoneAccount:
    return ZoneAccount("queue", loiter_limit_s, smoothing_frames, exit_grace_s)


def ids(*track_ids: int) -> NDArray[np.int64]:
    return np.array(track_ids, np.int64)


def see(zone: ZoneAccount, frames: list[tuple[float, list[int]]]) -> list[ZoneReading]:
    """Feed (time, track ids inside) frames; the raw count is the number of ids."""
    return [zone.update(len(inside), ids(*inside), time_s) for time_s, inside in frames]


# --- ZoneAccount: occupancy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("smoothing_frames", "raw", "occupancy"),
    [
        (3, [], []),
        (3, [0, 0, 0, 0], [0, 0, 0, 0]),
        # one person missed for one frame: occupancy holds
        (3, [2, 2, 2, 1, 2, 2], [2, 2, 2, 2, 2, 2]),
        (3, [2, 2, 2, 0, 2, 2], [2, 2, 2, 2, 2, 2]),
        # one false detection for one frame: occupancy holds
        (3, [0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0]),
        (3, [1, 1, 4, 1, 1], [1, 1, 1, 1, 1]),
        # a real change shows once it has lasted a majority of the window
        (3, [1, 1, 1, 3, 3, 3], [1, 1, 1, 1, 3, 3]),
        (3, [3, 3, 3, 0, 0, 0], [3, 3, 3, 3, 0, 0]),
        # a wider window rides out two bad frames
        (5, [4, 4, 4, 4, 4, 0, 0, 4, 4], [4] * 9),
        (5, [2, 2, 2, 2, 2, 5, 5, 5, 5], [2, 2, 2, 2, 2, 2, 2, 5, 5]),
        # no smoothing: what was seen
        (1, [2, 0, 3, 0], [2, 0, 3, 0]),
    ],
)
def test_occupancy_is_the_median_of_the_last_raw_counts(
    smoothing_frames: int, raw: list[int], occupancy: list[int]
) -> None:
    zone = account(smoothing_frames)

    readings = [zone.update(count, ids(), 0.5 * i) for i, count in enumerate(raw)]

    assert [r.occupancy for r in readings] == occupancy
    assert [r.raw_count for r in readings] == raw
    assert all(r.zone == "queue" for r in readings)


# --- ZoneAccount: entries and exits ----------------------------------------------------------


@pytest.mark.parametrize(
    ("frames", "entries"),
    [
        ([], []),
        ([(0.0, [])], [0]),
        ([(0.0, [1])], [1]),
        ([(0.0, [1]), (0.5, [1]), (1.0, [1])], [1, 0, 0]),
        ([(0.0, [1]), (0.5, [1, 2]), (1.0, [2, 1]), (1.5, [2])], [1, 1, 0, 0]),
        ([(0.0, [1, 2, 3]), (0.5, [4]), (1.0, [1, 2, 3, 4])], [3, 1, 0]),
        # missed for less than the grace period: the same visit
        ([(0.0, [1]), (0.5, []), (1.0, []), (2.0, [1])], [1, 0, 0, 0]),
        # gone for longer: a second visit
        ([(0.0, [1]), (1.0, []), (2.5, []), (3.0, [1])], [1, 0, 0, 1]),
    ],
)
def test_each_track_enters_once_per_visit(frames: list[tuple[float, list[int]]], entries: list[int]) -> None:
    assert [r.entries for r in see(account(), frames)] == entries


@pytest.mark.parametrize(
    ("frames", "dwells"),
    [
        # never seen: nothing ends
        ([(0.0, []), (5.0, [])], [(), ()]),
        # seen 0..3, unseen after: ends at the first frame more than GRACE_S after 3.0,
        # and the dwell is last seen - entered, not the time the exit was noticed
        (
            [(0.0, [1]), (1.0, [1]), (3.0, [1]), (4.0, []), (5.0, []), (5.5, []), (6.0, [])],
            [(), (), (), (), (), (3.0,), ()],
        ),
        # two people ending in the same frame
        ([(1.0, [1]), (2.0, [1, 2]), (4.5, [])], [(), (), (1.0, 0.0)]),
        # one leaves while the other stays
        ([(0.0, [1, 2]), (1.0, [2]), (2.0, [2]), (3.5, [2])], [(), (), (), (0.0,)]),
    ],
)
def test_a_visit_ends_after_the_grace_period_with_its_dwell(
    frames: list[tuple[float, list[int]]], dwells: list[tuple[float, ...]]
) -> None:
    readings = see(account(), frames)

    assert [sorted(r.completed_dwells_s) for r in readings] == [sorted(d) for d in dwells]


@pytest.mark.parametrize("grace_s", [0.5, 2.0, 10.0])
def test_exit_follows_the_configured_grace(grace_s: float) -> None:
    zone = account(exit_grace_s=grace_s)
    seen_again_s = 10.0 + grace_s * 0.8  # within the grace: the same visit goes on
    zone.update(1, ids(7), 10.0)
    zone.update(1, ids(7), seen_again_s)

    still_in = zone.update(0, ids(), seen_again_s + grace_s * 0.9)
    left = zone.update(0, ids(), seen_again_s + grace_s * 1.1)

    assert still_in.completed_dwells_s == ()
    assert left.completed_dwells_s == pytest.approx((grace_s * 0.8,))


def test_a_track_back_after_the_grace_period_starts_a_new_visit_even_without_frames_between() -> None:
    zone = account()
    zone.update(1, ids(1), 0.0)

    back = zone.update(1, ids(1), 10.0)

    assert back.entries == 1
    assert back.completed_dwells_s == (0.0,)


# --- ZoneAccount: loitering and dwell now ----------------------------------------------------


@pytest.mark.parametrize(
    ("arrivals", "now", "loitering", "longest"),
    [
        ({}, 100.0, 0, 0.0),
        ({1: 0.0}, 5.0, 0, 5.0),
        ({1: 0.0}, 15.0, 1, 15.0),
        ({1: 0.0, 2: 8.0}, 15.0, 1, 15.0),
        ({1: 0.0, 2: 8.0}, 19.0, 2, 19.0),
        ({1: 12.0, 2: 0.5, 3: 15.0}, 20.0, 1, 19.5),
    ],
)
def test_loitering_counts_people_present_longer_than_the_limit(
    arrivals: dict[int, float], now: float, loitering: int, longest: float
) -> None:
    """Everyone arrives at the given time and stays, seen every half second, until `now`."""
    zone = account(loiter_limit_s=10.0)
    times = np.arange(0.0, now + 0.25, 0.5)
    frames = [(float(t), [track for track, arrived in arrivals.items() if arrived <= t]) for t in times]

    reading = see(zone, frames)[-1]

    assert reading.loitering == loitering
    assert reading.longest_dwell_s == pytest.approx(longest)


def test_people_who_left_no_longer_loiter_or_set_the_longest_dwell() -> None:
    zone = account(loiter_limit_s=10.0)
    see(zone, [*[(float(t), [1]) for t in range(20)], (20.0, [1, 2]), (21.0, [2])])

    reading = zone.update(1, ids(2), 23.0)

    assert reading.completed_dwells_s == (20.0,)
    assert reading.loitering == 0
    assert reading.longest_dwell_s == pytest.approx(3.0)


# --- ZoneAccount: finish and bounds ----------------------------------------------------------


@pytest.mark.parametrize(
    ("frames", "dwells"),
    [
        ([], []),
        ([(0.0, [])], []),
        ([(0.0, [1]), (4.0, [1])], [4.0]),
        ([(0.0, [1]), (1.0, [1, 2]), (3.0, [2])], [1.0, 2.0]),
    ],
)
def test_finish_ends_every_visit(frames: list[tuple[float, list[int]]], dwells: list[float]) -> None:
    zone = account(exit_grace_s=60.0)
    see(zone, frames)

    done = zone.finish()

    assert sorted(done.completed_dwells_s) == pytest.approx(dwells)
    assert (done.occupancy, done.raw_count, done.loitering, done.longest_dwell_s, done.entries) == (
        0,
        0,
        0,
        0.0,
        0,
    )
    assert zone.finish().completed_dwells_s == ()


def test_after_finish_the_same_track_is_a_new_visit_and_smoothing_starts_again() -> None:
    zone = account()
    see(zone, [(0.0, [1]), (0.5, [1]), (1.0, [1])])
    zone.finish()

    reading = zone.update(0, ids(), 1.5)
    again = zone.update(1, ids(1), 2.0)

    assert reading.occupancy == 0  # not the median of the counts before finish
    assert again.entries == 1


def test_per_person_state_is_bounded_dropping_the_longest_unseen() -> None:
    zone = account(exit_grace_s=60.0)
    zone.update(1, ids(0), 0.0)
    zone.update(1, ids(0), 0.5)  # the one visit with a non-zero dwell, and the least recently seen

    crowd = zone.update(MAX_PEOPLE_PER_ZONE, ids(*range(1, MAX_PEOPLE_PER_ZONE + 1)), 1.0)
    more = zone.update(1, ids(MAX_PEOPLE_PER_ZONE + 1), 2.0)

    assert crowd.entries == MAX_PEOPLE_PER_ZONE
    assert crowd.completed_dwells_s == (0.5,)
    assert len(more.completed_dwells_s) == 1
    assert len(zone.finish().completed_dwells_s) == MAX_PEOPLE_PER_ZONE


# --- CameraZones -----------------------------------------------------------------------------

FULL = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
LEFT = [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
RIGHT = [(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)]
BOTTOM = Anchor.BOX_BOTTOM


def camera(*zones: tuple[str, list[tuple[float, float]], Anchor]) -> CameraConfig:
    """A camera reading a file that is never opened, with (id, polygon, anchor) zones."""
    return CameraConfig.model_validate(
        {
            "id": "cam",
            "source": {"type": "file", "path": "unused.mp4"},
            "zones": [
                {
                    "id": i,
                    "polygon": polygon,
                    "anchor": anchor,
                    "smoothing_frames": 1,
                    "exit_grace_s": GRACE_S,
                }
                for i, polygon, anchor in zones
            ],
        }
    )


@pytest.mark.parametrize(
    ("boxes", "counts"),
    [
        ([], {"left": 0, "right": 0}),
        ([(80, 100, 120, 300)], {"left": 1, "right": 0}),
        ([(480, 100, 520, 300)], {"left": 0, "right": 1}),
        ([(80, 100, 120, 300), (480, 100, 520, 300), (500, 50, 560, 200)], {"left": 1, "right": 2}),
        # a box straddling the border belongs where its bottom centre is
        ([(280, 100, 340, 300)], {"left": 1, "right": 0}),
        # exactly on the shared edge: one zone only
        ([(300, 100, 340, 300)], {"left": 0, "right": 1}),
    ],
)
def test_each_person_counts_in_the_zone_under_their_anchor(
    boxes: list[tuple[float, float, float, float]], counts: dict[str, int]
) -> None:
    zones = CameraZones(camera(("left", LEFT, BOTTOM), ("right", RIGHT, BOTTOM)))

    readings = zones.update(make_detections(boxes), WIDTH, HEIGHT, 0.0)

    assert {r.zone: r.raw_count for r in readings} == counts
    assert [r.zone for r in readings] == ["left", "right"]


@pytest.mark.parametrize(
    ("box", "anchor"),
    [
        ((300, 200, 340, 480), Anchor.BOX_BOTTOM),  # bottom edge on the last row
        ((300, 200, 340, 530), Anchor.BOX_BOTTOM),  # cut by the bottom border
        ((600, 300, 680, 480), Anchor.BOX_BOTTOM),  # bottom-right corner
        ((600, 300, 700, 480), Anchor.BOX_CENTER),  # centre right of the image
        ((-40, 300, 20, 500), Anchor.FEET),  # bottom-left, no keypoints: box bottom
        ((100, 0, 140, 480), Anchor.BOX_BOTTOM),  # whole frame height
    ],
)
def test_a_person_cut_by_the_image_border_counts_in_a_full_frame_zone(
    box: tuple[float, float, float, float], anchor: Anchor
) -> None:
    zones = CameraZones(camera(("all", FULL, anchor)))

    (reading,) = zones.update(make_detections([box]), WIDTH, HEIGHT, 0.0)

    assert reading.raw_count == 1


def test_border_clipping_does_not_pull_outside_anchors_into_an_inner_zone() -> None:
    inner = [(0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)]
    zones = CameraZones(camera(("inner", inner, BOTTOM)))

    (reading,) = zones.update(
        make_detections([(300, 200, 340, 480), (300, 100, 340, 300)]), WIDTH, HEIGHT, 0.0
    )

    assert reading.raw_count == 1


def test_each_zone_uses_its_own_anchor() -> None:
    config = camera(
        ("bench", [(0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)], Anchor.FEET),
        ("top", [(0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (0.0, 0.5)], Anchor.BOX_BOTTOM),
    )
    # box bottom at y=200 (top half), ankles seen at y=300 (bottom half)
    keypoints = np.zeros((1, 17, 3), np.float32)
    keypoints[0, 15:17] = [(110, 300, 0.9), (130, 300, 0.9)]
    person = Detections(np.array([(100, 50, 140, 200)], np.float32), np.array([0.9], np.float32), keypoints)

    readings = CameraZones(config).update(person, WIDTH, HEIGHT, 0.0)

    assert {r.zone: r.raw_count for r in readings} == {"bench": 1, "top": 1}


@pytest.mark.parametrize(
    ("track_id", "raw", "entries"),
    [
        (None, 3, 0),
        ([-1, -1, -1], 3, 0),
        ([-1, 5, -1], 3, 1),
        ([4, 5, 6], 3, 3),
    ],
)
def test_unconfirmed_people_count_but_start_no_visit(
    track_id: list[int] | None, raw: int, entries: int
) -> None:
    zones = CameraZones(camera(("all", FULL, BOTTOM)))
    people = make_detections([(10, 10, 50, 100), (100, 10, 150, 100), (200, 10, 250, 100)], track_id=track_id)

    (reading,) = zones.update(people, WIDTH, HEIGHT, 0.0)
    (done,) = zones.finish()

    assert reading.raw_count == raw
    assert reading.entries == entries
    assert len(done.completed_dwells_s) == entries


def test_a_person_walking_from_one_zone_to_the_other() -> None:
    zones = CameraZones(camera(("left", LEFT, BOTTOM), ("right", RIGHT, BOTTOM)))
    in_left = make_detections([(80, 100, 120, 300)], track_id=[7])
    in_right = make_detections([(480, 100, 520, 300)], track_id=[7])

    history = [
        zones.update(people, WIDTH, HEIGHT, t)
        for t, people in [(0.0, in_left), (1.5, in_left), (3.0, in_left)]
    ]
    history += [zones.update(in_right, WIDTH, HEIGHT, t) for t in (3.5, 4.0, 5.5, 6.0)]
    left = [r[0] for r in history]
    right = [r[1] for r in history]

    assert [r.entries for r in left] == [1, 0, 0, 0, 0, 0, 0]
    assert [r.entries for r in right] == [0, 0, 0, 1, 0, 0, 0]
    assert [r.raw_count for r in left] == [1, 1, 1, 0, 0, 0, 0]
    # left at 3.0, noticed at the first frame more than the grace period later
    assert [r.completed_dwells_s for r in left] == [(), (), (), (), (), (3.0,), ()]
    assert [d for r in right for d in r.completed_dwells_s] == []
    (_, right_done) = zones.finish()
    assert right_done.completed_dwells_s == (2.5,)


@pytest.mark.parametrize(("width", "height"), [(640, 480), (1920, 1080)])
def test_zones_follow_the_frame_size(width: int, height: int) -> None:
    zones = CameraZones(camera(("left", LEFT, BOTTOM), ("right", RIGHT, BOTTOM)))
    # bottom centre at 40% of the width: left in any frame size
    x = 0.4 * width
    people = make_detections([(x - 10, 0.2 * height, x + 10, 0.6 * height)])

    readings = zones.update(people, width, height, 0.0)

    assert [r.raw_count for r in readings] == [1, 0]
