"""The motion gate: the detector is due when the picture changed since the last detection, when
the last whole look is full_every_s old, and on the first frame; never otherwise. Where only a part
changed, the window to detect holds it and every person it touches whole."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.config import MotionGateConfig
from edge.detections import Detections
from edge.motion import (
    THUMBNAIL_WIDTH,
    MotionGate,
    around_people,
    changed_box,
    changed_pixels,
    changed_share,
    confirmed,
    detection_window,
    thumbnail,
    with_window,
)
from tests.conftest import make_detections

HEIGHT, WIDTH = 360, 640


def room(seed: int = 0) -> NDArray[np.uint8]:
    """A textured still picture: a room without anyone moving."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, (HEIGHT // 40, WIDTH // 40, 3), dtype=np.uint8)
    return np.asarray(np.kron(small, np.ones((40, 40, 1), np.uint8)), np.uint8)


def with_person(image: NDArray[np.uint8], x: int, width: int = 24, height: int = 60) -> NDArray[np.uint8]:
    """A dark figure at column x (a person of 1/27 of the picture's width, as in a far corner)."""
    out = image.copy()
    out[150 : 150 + height, x : x + width] = 10
    return out


def shaded(image: NDArray[np.uint8], darker: int) -> NDArray[np.uint8]:
    """A patch of the picture made darker by `darker` grey levels (someone edging along a bench)."""
    out = image.copy()
    out[150:210, 300:324] = np.clip(out[150:210, 300:324].astype(int) - darker, 0, 255)
    return out


def noisy(image: NDArray[np.uint8], sigma: float, seed: int = 1) -> NDArray[np.uint8]:
    """The same picture with sensor noise."""
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.asarray(np.clip(image + noise, 0, 255), np.uint8)


@pytest.mark.parametrize("shape", [(HEIGHT, WIDTH, 3), (HEIGHT, WIDTH), (640, 360, 3), (10, 1000, 3)])
def test_thumbnail_is_small_grey_and_keeps_the_aspect(shape: tuple[int, ...]) -> None:
    small = thumbnail(np.zeros(shape, np.uint8))

    assert small.ndim == 2 and small.dtype == np.uint8
    assert small.shape[1] == THUMBNAIL_WIDTH
    assert small.shape[0] == max(1, round(shape[0] * THUMBNAIL_WIDTH / shape[1]))


@pytest.mark.parametrize(
    ("now", "share"),
    [
        (np.zeros((4, 4), np.uint8), 0.0),
        (np.full((4, 4), 16, np.uint8), 0.0),  # not more than pixel_change
        (np.full((4, 4), 17, np.uint8), 1.0),
        (np.pad(np.full((1, 2), 200, np.uint8), ((0, 3), (0, 2))), 2 / 16),
        (np.zeros((4, 5), np.uint8), 1.0),  # another size: all new
    ],
    ids=["same", "at-threshold", "above", "two-pixels", "resized"],
)
def test_changed_share(now: NDArray[np.uint8], share: float) -> None:
    assert changed_share(changed_pixels(np.zeros((4, 4), np.uint8), now, pixel_change=16)) == pytest.approx(
        share
    )


# (frame time, picture) after a first detection of room() at 0 s, and whether each is due
STILL = [(1.0, room()), (2.0, room()), (9.9, room())]
CASES = {
    "no-frames": ([], []),
    "still": (STILL, [False, False, False]),
    "sensor-noise": ([(1.0, noisy(room(), 3.0)), (2.0, noisy(room(), 3.0, seed=2))], [False, False]),
    "periodic": ([*STILL, (10.0, room()), (11.0, room()), (20.5, room())], [False] * 3 + [True, False, True]),
    "a-person-walks-in": (
        [(1.0, room()), (2.0, with_person(room(), 300)), (3.0, with_person(room(), 300))],
        [False, True, False],
    ),
    "changes-a-little-each-frame": (  # compared with the last detection, not the frame before
        [(float(t), shaded(room(), 10 * t)) for t in range(1, 5)],
        [False, True, False, True],
    ),
    "another-picture": ([(1.0, room(seed=5))], [True]),
    "clock-back": ([(1.0, room()), (-1.0, room())], [False, True]),  # before the last detection
    "another-size": ([(1.0, room()[:, :320])], [True]),
}


@pytest.mark.parametrize(("frames", "due"), CASES.values(), ids=CASES.keys())
def test_due_when_the_picture_changed_or_the_detection_is_old(
    frames: list[tuple[float, NDArray[np.uint8]]], due: list[bool]
) -> None:
    gate = MotionGate(MotionGateConfig(full_every_s=10.0))
    assert gate.due(room(), 0.0)  # the first frame always
    gate.detected()

    said = []
    for time_s, image in frames:
        said.append(gate.due(image, time_s))
        if said[-1]:
            gate.detected()

    assert said == due


SEATED = np.array([[300, 150, 324, 210]], np.float32)  # the person with_person(room(), 300) draws


def fidgeting(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The seated person of SEATED moves an arm: a change inside their box only."""
    out = image.copy()
    out[170:190, 302:322] = 120
    return out


@pytest.mark.parametrize(
    ("now", "skip_in_place", "due"),
    [
        (fidgeting(with_person(room(), 300)), True, False),
        (fidgeting(with_person(room(), 300)), False, True),
        (with_person(room(), 340), True, True),  # they got up and moved beside where they sat
        (with_person(with_person(room(), 300), 40), True, True),  # someone else came
    ],
    ids=["moving-in-place", "moving-in-place-counted", "moved-away", "another-person"],
)
def test_someone_moving_in_place_needs_no_detector_but_someone_coming_or_going_does(
    now: NDArray[np.uint8], skip_in_place: bool, due: bool
) -> None:
    gate = MotionGate(MotionGateConfig(full_every_s=10.0, skip_in_place=skip_in_place))
    assert gate.due(with_person(room(), 300), 0.0)
    gate.detected()

    assert gate.due(now, 1.0, SEATED) is due
    if due and skip_in_place:  # where they moved to, not where they sat, is pointed at
        assert (
            gate.changed is not None and not 300 / WIDTH <= gate.changed[0] < gate.changed[2] <= 324 / WIDTH
        )


SITTING = np.array([[100, 100, 140, 200], [300, 100, 340, 200]], np.float32)


@pytest.mark.parametrize(
    ("before", "now", "stayed"),
    [
        (None, SITTING, [False, False]),  # the first look: nobody confirmed yet
        (SITTING, SITTING + 3, [True, True]),  # the detector's jitter
        (SITTING, SITTING[:1], [True]),  # one left: those still there stay
        (SITTING[:1], SITTING, [True, False]),  # someone new: not yet
        (SITTING, SITTING + np.array([[30, 0, 30, 0], [0, 0, 0, 0]], np.float32), [False, True]),  # one moved
    ],
    ids=["first-look", "jitter", "one-left", "one-came", "one-moved"],
)
def test_a_box_is_confirmed_once_two_looks_find_it_at_its_place(
    before: NDArray[np.float32] | None, now: NDArray[np.float32], stayed: list[bool]
) -> None:
    assert confirmed(before, now).tolist() == stayed


def test_around_people_holds_each_box_with_a_tenth_of_its_height() -> None:
    inside = around_people((9, 16), (640, 360), np.array([[200, 100, 240, 200]], np.float32))

    rows, cols = np.nonzero(inside)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (2, 5, 4, 6)
    assert not around_people((9, 16), (640, 360), np.empty((0, 4), np.float32)).any()


def test_a_frame_becomes_the_reference_only_once_detected() -> None:
    """A detection that failed leaves the last detected picture as the one compared with."""
    gate = MotionGate(MotionGateConfig())
    assert gate.due(room(), 0.0)
    gate.detected()
    assert gate.due(with_person(room(), 300), 1.0)  # the detector then fails: no `detected`

    assert gate.due(with_person(room(), 300), 2.0)


def test_reset_makes_the_next_frame_due() -> None:
    gate = MotionGate(MotionGateConfig())
    gate.due(room(), 0.0)
    gate.detected()
    assert not gate.due(room(), 1.0)

    gate.reset()

    assert gate.due(room(), 2.0)


def test_a_part_looked_at_renews_the_reference_there_only() -> None:
    """Two people came; the detector looked only around the one at column 300 (a window): the one
    at column 40 is still a change, and the gate points at them."""
    gate = MotionGate(MotionGateConfig(full_every_s=10.0))
    assert gate.due(room(), 0.0)
    gate.detected()
    both = with_person(with_person(room(), 300), 40)
    assert gate.due(both, 1.0)
    gate.detected((250 / WIDTH, 0.0, 380 / WIDTH, 1.0))

    assert gate.due(both, 2.0)
    assert gate.changed is not None
    x1, _, x2, _ = gate.changed
    assert x1 < 40 / WIDTH and 64 / WIDTH <= x2 < 250 / WIDTH
    gate.detected((0.0, 0.0, 120 / WIDTH, 1.0))
    assert not gate.due(both, 3.0)  # both parts renewed: nothing left that changed


def test_the_periodic_look_counts_from_the_last_whole_look_however_busy_a_part() -> None:
    """Someone walks about in the middle the whole time: windows there do not put off the look at
    the whole picture, which comes full_every_s after the last one."""
    gate = MotionGate(MotionGateConfig(full_every_s=10.0))
    assert gate.due(room(), 0.0)
    gate.detected()
    for second in range(1, 10):
        assert gate.due(with_person(room(), 250 + 10 * second), float(second))
        assert gate.changed is not None  # a part: a window will do
        gate.detected((200 / WIDTH, 0.0, 400 / WIDTH, 1.0))

    assert gate.due(with_person(room(), 350), 10.0)
    assert gate.changed is None  # all of it
    gate.detected()
    assert gate.due(with_person(room(), 360), 11.0) and gate.changed is not None


# --- where it changed, and the window detected ------------------------------------------------


@pytest.mark.parametrize(
    ("now", "box"),
    [
        (np.zeros((4, 8), np.uint8), None),
        (np.pad(np.full((2, 2), 200, np.uint8), ((1, 1), (2, 4))), (2 / 8, 1 / 4, 4 / 8, 3 / 4)),
        (np.pad(np.full((1, 1), 200, np.uint8), ((3, 0), (7, 0))), (7 / 8, 3 / 4, 1.0, 1.0)),
        (np.zeros((4, 5), np.uint8), None),  # another size: the whole picture is new
    ],
    ids=["same", "a-patch", "a-corner", "resized"],
)
def test_changed_box_holds_every_changed_pixel(now: NDArray[np.uint8], box: tuple[float, ...] | None) -> None:
    assert changed_box(changed_pixels(np.zeros((4, 8), np.uint8), now, pixel_change=16)) == box


def test_the_gate_says_where_the_picture_changed_and_when_all_of_it_is_due() -> None:
    gate = MotionGate(MotionGateConfig(full_every_s=10.0))
    assert gate.due(room(), 0.0) and gate.changed is None  # the first frame: all of it
    gate.detected()

    assert gate.due(with_person(room(), 300), 1.0)
    assert gate.changed is not None
    x1, y1, x2, y2 = gate.changed
    # the figure is columns 300-324, rows 150-210 of 640 x 360; the thumbnail's blur adds a little
    assert 280 / 640 <= x1 <= 300 / 640 and 324 / 640 <= x2 <= 344 / 640
    assert 130 / 360 <= y1 <= 150 / 360 and 210 / 360 <= y2 <= 230 / 360
    gate.detected()

    assert not gate.due(with_person(room(), 300), 2.0)
    assert gate.due(with_person(room(), 300), 11.0) and gate.changed is None  # periodic: all of it
    gate.reset()
    assert gate.due(room(), 12.0) and gate.changed is None


SIZE = (1000, 500)  # width, height
WHOLE: tuple[int, int, int, int] = (0, 0, 1000, 500)
CHANGED = (0.5, 0.5, 0.6, 0.6)  # x 500-600, y 250-300: padded by 10 px (a tenth of 100)


@pytest.mark.parametrize(
    ("people", "window"),
    [
        ([], (490, 240, 610, 310)),
        ([(100, 100, 140, 200)], (490, 240, 610, 310)),  # far away: left standing
        # touched: taken in whole, with a tenth of their height around (they may have moved)
        ([(580, 200, 640, 380)], (490, 182, 658, 398)),
        ([(580, 200, 640, 380), (630, 150, 700, 260)], (490, 139, 711, 398)),  # and whom that touches
        ([(600, 280, 1100, 520)], (490, 240, 1000, 500)),  # cut to the picture
    ],
    ids=["nobody", "far", "touched", "touched-in-turn", "at-the-border"],
)
def test_a_window_holds_what_changed_and_each_person_it_touches_whole(
    people: list[tuple[float, float, float, float]], window: tuple[int, int, int, int]
) -> None:
    xyxy = make_detections(people).xyxy

    assert detection_window(CHANGED, SIZE, WHOLE, xyxy) == window


def test_a_window_stays_in_the_region_looked_at() -> None:
    assert detection_window(CHANGED, SIZE, (0, 0, 550, 280), make_detections([]).xyxy) == (490, 240, 550, 280)


def test_a_small_change_is_padded_by_a_share_of_the_pictures_height() -> None:
    tiny = (0.5, 0.5, 0.501, 0.502)  # 1 x 1 pixels: padded by 2 % of 500

    assert detection_window(tiny, SIZE, WHOLE, make_detections([]).xyxy) == (490, 240, 511, 261)


def test_the_people_found_in_a_window_replace_those_there_and_the_others_stand() -> None:
    last = make_detections([(100, 100, 140, 200), (500, 250, 540, 300)], [0.9, 0.8])
    found = make_detections([(520, 250, 560, 300)], [0.7])

    merged = with_window(last, (490, 240, 610, 310), found)

    assert sorted(merged.xyxy.tolist()) == [[100, 100, 140, 200], [520, 250, 560, 300]]
    assert sorted(merged.confidence.tolist()) == pytest.approx([0.7, 0.9])
    assert len(with_window(last, (490, 240, 610, 310), Detections.empty())) == 1
