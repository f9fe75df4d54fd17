"""benchmarks/rooms_occlusion.py: who is hidden in which view, the occluders painted in, pasted people
counted in no room, and the figures; on PETS with the real detector (slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.rooms import (
    PETS_CAMERAS,
    PETS_SIZE,
    RoomResult,
    Scene,
    Step,
    score_room,
    virtual_cameras,
    warp_boxes,
)
from benchmarks.rooms_occlusion import (
    OCCLUDER_DROP,
    OCCLUDER_HEIGHT,
    PILLAR_GREY,
    Cutout,
    Occluder,
    count_figures,
    hide_plan,
    hiding,
    occluded_steps,
    occluder_boxes,
    paint,
)
from edge.detections import Anchor, Detections
from tests.conftest import last_json, run_python

# A floor for the real picture: 2 cm per pixel, seen a little in perspective (as in test_rooms_bench).
FLOOR = np.array([[15.36, 0.5, 0.0], [0.0, 11.52, 0.0], [0.0, 0.2, 1.0]])
ROOM = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]])
SMALL_ROOM = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # the picture's top left corner


def scene(room: np.ndarray = ROOM, numbers: tuple[int, ...] = (10, 20, 30)) -> Scene:
    return Scene(
        "test", PETS_SIZE, FLOOR, room, PETS_CAMERAS, [0, 0, 0], list(numbers), lambda wanted: iter(()), None
    )


def bank(frames: tuple[int, ...] = (100, 200)) -> list[Cutout]:
    pixels = np.full((40, 16, 3), 50, np.uint8)
    return [Cutout(frame, (0.0, 0.0, 16.0, 40.0), pixels, np.ones((40, 16), np.float32)) for frame in frames]


# Four people standing where all three virtual cameras' quads overlap each other pairwise.
PEOPLE = {
    1: (240.0, 200.0, 270.0, 280.0),
    2: (300.0, 220.0, 330.0, 300.0),
    3: (460.0, 200.0, 490.0, 280.0),
    4: (500.0, 250.0, 530.0, 330.0),
}
TRUTH = {number: dict(PEOPLE) for number in (10, 20, 30)}


@pytest.mark.parametrize("chance", [0.0, 0.3, 1.0])
def test_each_person_is_hidden_in_a_view_by_their_own_draw(chance: float) -> None:
    room = scene()
    cameras = virtual_cameras(room)

    plan = hide_plan(room, TRUTH, cameras, chance, bank())

    hidden = [o.person for occluders in plan.values() for o in occluders]
    assert set(plan) == {(c.name, n) for c in cameras for n in room.numbers}
    if chance == 0.0:
        assert hidden == []
    if chance == 1.0:  # everyone in the room, in every view
        assert all(sorted(o.person for o in occluders) == [1, 2, 3, 4] for occluders in plan.values())


def test_the_hidden_grow_with_the_chance_and_stay_behind_the_same_occluder() -> None:
    room = scene(numbers=tuple(range(0, 400, 10)))
    cameras = virtual_cameras(room)
    truth = {number: dict(PEOPLE) for number in room.numbers}

    low, high = (hide_plan(room, truth, cameras, chance, bank((0, 1000))) for chance in (0.2, 0.5))

    assert all(set(low[key]) <= set(high[key]) for key in low)
    few, many = (sum(len(v) for v in plan.values()) for plan in (low, high))
    assert 0 < few < many < len(room.numbers) * len(cameras) * len(PEOPLE)
    # views differ: someone hidden in one view is seen in another
    assert any(len({tuple(high[(c.name, n)]) for c in cameras}) > 1 for n in room.numbers)


def test_people_outside_the_room_are_never_hidden_and_pasted_people_come_from_elsewhere() -> None:
    outside = scene(SMALL_ROOM)
    cameras = virtual_cameras(outside)
    assert all(not v for v in hide_plan(outside, TRUTH, cameras, 1.0, bank()).values())

    plan = hide_plan(scene(), TRUTH, cameras, 1.0, bank((15, 500)))  # frame 15 is within 5 s of all steps
    assert {o.cutout for occluders in plan.values() for o in occluders} == {1}


@pytest.mark.parametrize("box", [(100.0, 100.0, 130.0, 180.0), (0.0, 500.0, 20.0, 576.0)])
def test_a_pasted_person_stands_in_front_and_a_pillar_covers_the_box(box: tuple[float, ...]) -> None:
    x1, y1, x2, y2 = box
    pasted, pillar = occluder_boxes((x1, y1, x2, y2), (0.0, 0.0, 20.0, 50.0), 0.0)

    assert pasted[3] == pytest.approx(y2 + OCCLUDER_DROP * (y2 - y1))
    assert pasted[3] - pasted[1] == pytest.approx(OCCLUDER_HEIGHT * (y2 - y1))
    assert pasted[1] < y1 and pasted[0] < (x1 + x2) / 2 < pasted[2]
    assert pillar[0] < x1 and pillar[1] <= y1 and pillar[2] > x2 and pillar[3] > y2


def test_paint_covers_with_a_pillar_or_the_persons_own_pixels_only() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    alpha = np.zeros((40, 16), np.float32)
    alpha[:, 4:12] = 1.0  # the person is the middle half of their box
    person = Cutout(0, (0.0, 0.0, 16.0, 40.0), np.full((40, 16, 3), 200, np.uint8), alpha)
    occluder = Occluder(1, (90.0, 10.0, 106.0, 50.0), (10.0, 10.0, 30.0, 50.0), 0)  # pasted: cut at the right

    assert paint(image, [], "person", [person]) is image
    pillar = paint(image, [occluder], "pillar", [person])
    pasted = paint(image, [occluder], "person", [person])

    assert (pillar[10:50, 10:30] == PILLAR_GREY).all() and pillar[:, 30:].max() == 0
    assert (pasted[12:48, 95:100] == 200).all()  # the person's middle, up to the border
    assert pasted[:, :93].max() == 0  # their box's background left as it was
    assert image.max() == 0  # the input untouched


def test_a_detected_pasted_person_stands_nowhere_and_counts_in_no_room() -> None:
    room = scene(numbers=(10,))
    cameras = virtual_cameras(room)
    west = cameras[0]
    hidden = PEOPLE[1]
    pasted, pillar = occluder_boxes(hidden, (0.0, 0.0, 20.0, 50.0), 0.0)
    plan = {(c.name, 10): [Occluder(1, pasted, pillar, 0)] if c is west else [] for c in cameras}
    found = Detections(
        warp_boxes([pasted, PEOPLE[2]], west.warp).astype(np.float32), np.array([0.9, 0.9], np.float32)
    )
    seen = {(c.name, 10): (0.0, found if c is west else Detections.empty()) for c in cameras}
    base = [Step(10, 0.0, Detections.empty(), [(0.0, Detections.empty())] * 3)]

    steps, in_view, matched = occluded_steps(base, cameras, TRUTH, "person", plan, seen)
    (step,) = steps

    assert (in_view, matched) == (1, 1)
    assert step.unplaced is not None and step.unplaced[0].tolist() == [True, False]
    result = score_room(steps, cameras, room, Anchor.BOX_BOTTOM)
    assert result.merged == [1] and result.alone["west"] == [1]  # the real person only
    unmarked = score_room([Step(10, 0.0, Detections.empty(), step.views)], cameras, room, Anchor.BOX_BOTTOM)
    assert unmarked.merged == [2]


def test_hiding_counts_who_is_lost_to_every_view() -> None:
    room = scene(numbers=(10,))
    cameras = virtual_cameras(room)
    everywhere = {(c.name, 10): [Occluder(1, PEOPLE[1], PEOPLE[1], 0)] for c in cameras}
    somewhere = {
        (c.name, 10): [Occluder(1, PEOPLE[1], PEOPLE[1], 0)] if i == 0 else [] for i, c in enumerate(cameras)
    }

    assert hiding(room, cameras, {}, everywhere)["people"] == 0  # the empty case
    lost = hiding(room, cameras, TRUTH, everywhere)
    kept = hiding(room, cameras, TRUTH, somewhere)

    assert lost["people"] == kept["people"] == 4
    assert lost["hidden_everywhere"] == 0.25 and lost["hidden_somewhere"] == 0.25
    assert kept["hidden_everywhere"] == 0.0  # the middle camera sees person 1 too
    assert kept["hidden_somewhere"] == 0.25


def test_figures_name_the_best_single_camera_and_the_merges_gain() -> None:
    result = RoomResult(truth=[2, 4, 6, 7], merged=[2, 4, 5, 7], alone={"a": [1, 3, 5, 6], "b": [2, 3, 6, 5]})

    figures = count_figures(result)

    assert figures["best_single"] == "b"  # MAE 0.75 against a's 1.0
    assert figures["overall"]["merged"] == {"mae": 0.25, "bias": -0.25}
    assert figures["merged_below_best"] == pytest.approx(1 - 0.25 / 0.75, abs=1e-3)
    assert figures["bands"]["2-3"] == {"frames": 1, "merged": {"mae": 0.0, "bias": 0.0}} | {
        "a": {"mae": 1.0, "bias": -1.0},
        "b": {"mae": 0.0, "bias": 0.0},
    }
    assert figures["bands"]["6-8"]["frames"] == 2
    empty = count_figures(RoomResult(alone={"a": []}))
    assert empty["frames"] == 0 and empty["bands"]["2-3"]["merged"]["mae"] is None


@pytest.mark.slow
def test_merging_recovers_people_hidden_in_one_view(shared_data: Path, tmp_path: Path) -> None:
    done = run_python(
        "-m",
        "benchmarks.rooms_occlusion",
        "--data",
        str(shared_data),
        "--every",
        "80",
        "--chances",
        "0.5",
        "--layouts",
        "whole",
        "--occluders",
        "pillar",
        "--json",
        timeout=600,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    whole = last_json(done)["whole"]
    assert set(whole) == {"0", "0.5"}
    hidden = whole["0.5"]
    assert 0 < hidden["hiding"]["hidden_everywhere"] < hidden["hiding"]["hidden_somewhere"] < 1
    for way in ("true boxes", "pillar"):
        figures = hidden[way]
        assert figures["frames"] == 10
        best = figures["overall"][figures["best_single"]]
        # a single camera misses whoever it has hidden; the merge only those hidden in every view
        assert best["bias"] < -0.5
        assert figures["overall"]["merged"]["mae"] < best["mae"]
    unhidden = whole["0"]["true boxes"]
    assert unhidden["overall"]["merged"]["mae"] <= 0.2
