"""benchmarks/rooms.py: virtual cameras cut from one real view, their true floor mappings, and the
room's figures on PETS with the real detector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from benchmarks.rooms import (
    PETS_CAMERAS,
    PETS_ROOM,
    PETS_SIZE,
    PLATFORM_CAMERAS,
    PLATFORM_ROOM,
    PLATFORM_SIZE,
    Scene,
    TsaiCamera,
    bottom_centres,
    table,
    true_people,
    view_settings,
    virtual_cameras,
)
from edge.config import default_config
from edge.detections import Anchor
from edge.evaluate import read_cvml
from edge.zones.floor import to_floor
from edge.zones.geometry import contains
from edge.zones.rooms import times_counted
from tests.conftest import last_json, run_python

# A floor for the real picture: 2 cm per pixel, seen a little in perspective.
FLOOR = np.array([[15.36, 0.5, 0.0], [0.0, 11.52, 0.0], [0.0, 0.2, 1.0]])


def scene(cameras: dict[str, Any], size: tuple[int, int], room: Any) -> Scene:
    """A scene to cut virtual cameras from; no frames (these tests read none)."""
    return Scene("test", size, FLOOR, room, cameras, [0] * len(cameras), [], lambda wanted: iter(()), None)


@pytest.mark.parametrize(
    ("cameras", "size", "room"),
    [(PETS_CAMERAS, PETS_SIZE, PETS_ROOM), (PLATFORM_CAMERAS, PLATFORM_SIZE, PLATFORM_ROOM)],
)
def test_a_virtual_camera_maps_a_real_point_to_the_same_floor_point(
    cameras: dict[str, Any], size: tuple[int, int], room: Any
) -> None:
    rng = np.random.default_rng(1)
    for camera in virtual_cameras(scene(cameras, size, room)):
        quad = np.asarray(cameras[camera.name][0], np.float64)
        real = quad.mean(axis=0) + rng.uniform(-60, 60, (20, 2))  # inside the quad
        virtual = cv2.perspectiveTransform(real.reshape(-1, 1, 2), camera.warp).reshape(-1, 2)

        from_virtual = to_floor(camera.homography, virtual / camera.size)

        np.testing.assert_allclose(from_virtual, to_floor(FLOOR, real / size), atol=1e-9)
        assert contains(camera.footprint.astype(np.float32), from_virtual.astype(np.float32)).all()


@pytest.mark.parametrize(
    ("boxes", "seen"),
    [
        ([], 0),
        ([(100, 100, 120, 160)], 1),
        ([(-15, 100, 5, 160)], 0),  # three quarters outside the picture
        ([(-5, 100, 15, 160)], 1),  # a quarter outside: seen, cut
        ([(100, 100, 120, 160), (900, 100, 920, 160)], 1),
    ],
)
def test_true_people_are_those_mostly_in_the_picture(
    boxes: list[tuple[float, float, float, float]], seen: int
) -> None:
    people = true_people(boxes, None, PETS_SIZE)

    assert len(people) == seen
    assert (people.xyxy >= 0).all() and (people.xyxy[:, [0, 2]] <= PETS_SIZE[0]).all()


def test_true_people_in_a_virtual_view_stand_where_the_real_ones_do() -> None:
    (camera, *_) = virtual_cameras(scene(PETS_CAMERAS, PETS_SIZE, PETS_ROOM))
    box = (150.0, 200.0, 180.0, 280.0)  # inside the west camera's quad

    (person,) = true_people([box], camera.warp, camera.size).anchors(Anchor.BOX_BOTTOM)
    floor = to_floor(camera.homography, person[None] / camera.size)[0]

    # the warped box's bottom centre is not the warped bottom centre, but close: within 5 cm here
    assert np.linalg.norm(floor - to_floor(FLOOR, np.array([[165.0, 280.0]]) / PETS_SIZE)[0]) < 0.05


@pytest.mark.parametrize(
    ("found", "truth", "expected"),
    [
        ([], [], []),
        ([], [(0, 0)], [0]),
        ([(0.1, 0)], [(0, 0)], [1]),
        ([(0.1, 0), (-0.2, 0)], [(0, 0), (5, 5)], [2, 0]),  # counted twice
        ([(2, 0)], [(0, 0)], [0]),  # beyond the gate: nobody's
    ],
)
def test_times_counted_gives_each_found_point_to_the_nearest_true_person(
    found: list[tuple[float, float]], truth: list[tuple[float, float]], expected: list[int]
) -> None:
    counted = times_counted(np.asarray(found, float).reshape(-1, 2), np.asarray(truth, float).reshape(-1, 2))

    assert counted.tolist() == expected


def test_the_views_detector_sees_people_at_the_real_views_scale() -> None:
    detector = default_config().detector
    height, width = detector.input_size

    settings = view_settings(detector, PETS_SIZE, (352, 320))

    view_height, view_width = settings.input_size
    real_scale = min(width / PETS_SIZE[0], height / PETS_SIZE[1])
    assert view_height % 32 == 0 and view_width % 32 == 0
    assert 1.0 <= min(view_width / 352, view_height / 320) / real_scale < 1.1


def test_pets_calibration_puts_walkers_at_walking_speed(shared_data: Path) -> None:
    """Tsai's model read right: PETS' people walk at 0.5 to 2 m/s on the floor it gives, and the
    fitted floor plane agrees with the model within 6 pixels where they walk (the plane leaves out
    the lens's distortion, largest at the picture's edges)."""
    folder = shared_data / "pets2009-s2l1"
    tsai = TsaiCamera.read(folder / "View_001.xml")
    floor = tsai.plane(0.0)
    truth = read_cvml(folder / "PETS2009-S2L1.xml")
    speeds = []
    for person in (9, 15, 19):  # in view during the first 5 s
        feet = bottom_centres([truth[0][person], truth[50][person]])
        start, end = to_floor(floor, feet / PETS_SIZE)
        speeds.append(np.linalg.norm(end - start) / 5.0)
        back = tsai.project(np.c_[to_floor(floor, feet / PETS_SIZE), np.zeros(2)])
        np.testing.assert_allclose(back, feet, atol=6.0)
    assert all(0.5 < speed < 2.0 for speed in speeds), speeds


@pytest.mark.slow
def test_the_merged_room_counts_people_in_overlaps_once(shared_data: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.png"
    done = run_python(
        "-m",
        "benchmarks.rooms",
        "--data",
        str(shared_data),
        "--every",
        "40",
        "--every-still",
        "20",
        "--plot",
        str(plan),
        "--json",
        timeout=600,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    figures = last_json(done)
    pets = figures["pets"]["rooms"]
    perfect, detected = pets["true boxes"], pets["box bottom"]
    assert perfect["frames"] == 20 and perfect["partial"] == 0
    # With a perfect detector the merged count is the true count (people cut by a view's edge aside).
    assert perfect["mae"]["merged"] <= 0.1
    assert perfect["overlap_times_counted"] == pytest.approx(1.0, abs=0.05)
    assert perfect["overlap_times_counted_unmerged"] > 1.5  # there is something to merge
    assert detected["overlap_times_counted"] == pytest.approx(1.0, abs=0.1)
    assert detected["merge_overhead"] < 0.05
    # The border and faint checks take out what each view adds on its own.
    assert detected["bias"]["merged"] < pets["no checks"]["bias"]["merged"]
    platform = figures["platform"]["rooms"]["box bottom"]
    assert platform["frames"] == 9  # 178 stills, every 20th
    assert platform["overlap_times_counted"] < platform["overlap_times_counted_unmerged"]
    assert figures["platform"]["floor_rules"] == {}  # no true floor points there
    assert plan.stat().st_size > 10_000
    text = "\n".join(table(pets, figures["pets"]["floor_rules"], figures["pets"]["wall_s"]))
    assert "true boxes" in text and "ankles" in text
