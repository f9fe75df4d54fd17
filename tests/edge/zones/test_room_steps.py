"""A room counted from two cameras' frames: paired by capture time, each person once, partial
where a camera lacks a frame, visits through the zones' accounting, and the room's metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from edge.config import Config, parse_config
from edge.detect.base import ModelInfo
from edge.detections import Detections
from edge.metrics import EdgeMetrics
from edge.zones import room_steps
from edge.zones.room_steps import SiteRooms
from tests.conftest import make_detections

SIZE = (100, 100)  # pictures of 100 x 100 pixels
HALL = {"id": "hall", "name": "Halle", "polygon": [[0, 0], [12, 0], [12, 8], [0, 8]], "smoothing_frames": 1}


def _pairs(x0: float) -> list[dict[str, list[float]]]:
    """A camera whose picture shows the floor x0..x0+8 by 0..8 m, straight down."""
    corners = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    return [{"image": [x, y], "floor": [x0 + 8 * x, 8 * y]} for x, y in corners]


def site_data() -> dict[str, Any]:
    cameras = [
        {
            "id": name,
            "source": {"type": "file", "path": f"{name}.mp4"},
            "zones": [{"id": f"{name}-all", "polygon": [[0, 0], [1, 0], [1, 1]]}],
            "floor_calibration": {"points": _pairs(x0)},
        }
        for name, x0 in (("left", 0.0), ("right", 4.0))
    ]
    return {"site": "north", "cameras": cameras, "floor": {"rooms": [dict(HALL)]}}


def site() -> Config:
    return parse_config(site_data(), Path("/"))


def people(*floor_points: tuple[float, float], x0: float) -> Detections:
    """Boxes 10 px wide and 20 px tall standing on the floor points, in the camera showing x0.."""
    boxes = []
    for x, y in floor_points:
        px, py = (x - x0) / 8 * 100, y / 8 * 100
        boxes.append((px - 5, py - 20, px + 5, py))
    return make_detections(boxes)


LEFT, RIGHT = 0.0, 4.0
IN_OVERLAP, LEFT_ONLY, RIGHT_ONLY = (6.0, 4.0), (2.0, 4.0), (10.0, 4.0)


def test_a_person_both_cameras_see_counts_once() -> None:
    rooms = SiteRooms(site())
    assert rooms.seen("left", 0.0, 100.0, people(IN_OVERLAP, LEFT_ONLY, x0=LEFT), SIZE) == []
    steps = rooms.seen("right", 0.1, 100.1, people(IN_OVERLAP, RIGHT_ONLY, x0=RIGHT), SIZE)
    found = [(room, s.reading.raw_count, s.reading.entries, s.partial, s.wall_time) for room, s in steps]
    assert found == [("hall", 3, 3, False, 100.0)]


def test_the_empty_room_counts_zero() -> None:
    rooms = SiteRooms(site())
    rooms.seen("left", 0.0, 100.0, people(x0=LEFT), SIZE)
    [(_, step)] = rooms.seen("right", 0.0, 100.0, people(x0=RIGHT), SIZE)
    assert (step.reading.occupancy, step.partial) == (0, False)


@pytest.mark.parametrize(
    ("case", "frames", "expected"),
    [
        ("nothing yet", [], []),
        ("one camera's frame waits for the other's", [("left", 0.0)], []),
        ("within the tolerance", [("left", 0.0), ("right", 0.25)], [(0.0, False)]),
        # The right camera's first frame is 0.3 s later: the left's frame at 0 stands alone (partial);
        # the right's waits for a left frame near 0.3.
        ("beyond the tolerance", [("left", 0.0), ("right", 0.3)], [(0.0, True)]),
        ("then paired", [("left", 0.0), ("right", 0.3), ("left", 0.5)], [(0.0, True), (0.3, False)]),
        # Frames pair with the nearest: the left frame at 0.5 goes with the right one at 0.45, not
        # with the one at 0.3 (0.2 s apart, within the tolerance too).
        ("the nearest frame", [("right", 0.3), ("right", 0.45), ("left", 0.5)], [(0.3, True), (0.45, False)]),
        # A right camera that falls silent holds the room for WAIT_S (1 s), then it counts without it.
        (
            "a silent camera",
            [("right", 0.0), ("left", 0.0), ("left", 0.5), ("left", 1.0), ("left", 1.6)],
            [(0.0, False), (0.5, True)],
        ),
    ],
)
def test_frames_are_paired_by_capture_time(
    case: str, frames: list[tuple[str, float]], expected: list[tuple[float, bool]]
) -> None:
    rooms = SiteRooms(site())
    steps = []
    for camera, time_s in frames:
        x0 = LEFT if camera == "left" else RIGHT
        steps += rooms.seen(camera, time_s, 1000 + time_s, people(IN_OVERLAP, x0=x0), SIZE)
    assert [(round(s.wall_time - 1000, 6), s.partial) for _, s in steps] == expected
    assert all(s.reading.raw_count == 1 for _, s in steps)


def faint(*floor_points: tuple[float, float], x0: float) -> Detections:
    found = people(*floor_points, x0=x0)
    return make_detections([tuple(box) for box in found.xyxy.tolist()], [0.05] * len(found))


def test_a_faint_box_the_other_camera_does_not_confirm_is_left_out() -> None:
    rooms = SiteRooms(site())
    rooms.seen("left", 0.0, 100.0, faint(IN_OVERLAP, x0=LEFT), SIZE)
    [(_, step)] = rooms.seen("right", 0.0, 100.0, people(x0=RIGHT), SIZE)

    assert step.reading.raw_count == 0


def test_a_camera_down_leaves_its_rooms_partial_without_waiting() -> None:
    rooms = SiteRooms(site())
    assert rooms.unseen("right") == []
    [(_, step)] = rooms.seen("left", 0.0, 100.0, people(IN_OVERLAP, x0=LEFT), SIZE)
    assert (step.reading.raw_count, step.partial) == (1, True)


def _scrape(registry: CollectorRegistry, metric: str, **labels: str) -> float | None:
    return registry.get_sample_value(metric, {"site": "north", **labels})


def test_a_room_is_a_zone_of_camera_floor_in_the_metrics() -> None:
    config = site()
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "onnxruntime", "any"))
    room = {"camera": "floor", "zone": "hall"}
    assert _scrape(registry, "wartezone_zone_info", **room, name="Halle") == 1
    assert _scrape(registry, "wartezone_zone_partial", **room) == 1  # no camera has counted it yet
    assert _scrape(registry, "wartezone_camera_up", camera="floor") == 0
    assert _scrape(registry, "wartezone_zone_occupancy", **room) is None
    rooms = SiteRooms(config, metrics)
    rooms.seen("left", 0.0, 1.7e9, people(IN_OVERLAP, LEFT_ONLY, x0=LEFT), SIZE)
    rooms.seen("right", 0.0, 1.7e9, people(IN_OVERLAP, x0=RIGHT), SIZE)
    assert _scrape(registry, "wartezone_zone_occupancy", **room) == 2
    assert _scrape(registry, "wartezone_zone_entries_total", **room) == 2
    assert _scrape(registry, "wartezone_zone_partial", **room) == 0
    assert _scrape(registry, "wartezone_camera_up", camera="floor") == 1
    assert _scrape(registry, "wartezone_camera_last_frame_timestamp_seconds", camera="floor") == 1.7e9
    # The right camera goes down: the room counts on, partial.
    rooms.unseen("right")
    rooms.seen("left", 3.0, 1.7e9 + 3, people(LEFT_ONLY, x0=LEFT), SIZE)
    assert _scrape(registry, "wartezone_zone_occupancy", **room) == 1
    assert _scrape(registry, "wartezone_zone_partial", **room) == 1
    assert _scrape(registry, "wartezone_zone_exits_total", **room) == 0  # within the exit grace (4 s)
    rooms.seen("left", 4.5, 1.7e9 + 4.5, people(LEFT_ONLY, x0=LEFT), SIZE)
    assert _scrape(registry, "wartezone_zone_exits_total", **room) == 1  # the person last seen at 0 s
    # Both down: the room reads unknown, its visits end at their last sighting.
    rooms.unseen("left")
    assert _scrape(registry, "wartezone_zone_occupancy", **room) is None
    assert _scrape(registry, "wartezone_zone_exits_total", **room) == 2
    assert _scrape(registry, "wartezone_zone_dwell_seconds_sum", **room) == 4.5
    assert _scrape(registry, "wartezone_camera_up", camera="floor") == 0
    # The cameras' own zones are untouched by the room.
    assert _scrape(registry, "wartezone_zone_occupancy", camera="left", zone="left-all") is None


@pytest.mark.parametrize(
    ("down_s", "back_with", "entries", "exits_while_down", "exits_when_back"),
    [
        (20, [LEFT_ONLY], 2, 0, 0),  # still there: the same visit, not an exit and a new entry
        (20, [], 2, 0, 1),  # gone meanwhile: the exit shows once the floor is seen again
        # down longer than the camera's max_gap_s (30 s): the visit ends at its last sighting, as
        # the camera's zones' visits do, and the person back in view is a new visit
        (60, [LEFT_ONLY], 3, 1, 0),
    ],
)
def test_a_person_a_camera_down_cannot_see_is_not_taken_for_gone(
    down_s: int,
    back_with: list[tuple[float, float]],
    entries: int,
    exits_while_down: int,
    exits_when_back: int,
) -> None:
    """Someone only the left camera sees, from 0 s, and the left camera down from 5 s (longer than
    the exit grace, 4 s) while the right one counts on, with someone only it sees from 3 s."""
    rooms = SiteRooms(site())
    readings = []

    def step(time_s: float, left: list[tuple[float, float]] | None) -> None:
        if left is not None:
            rooms.seen("left", time_s, 1000 + time_s, people(*left, x0=LEFT), SIZE)
        right = people(*([RIGHT_ONLY] if time_s >= 3 else []), x0=RIGHT)
        readings.extend(s.reading for _, s in rooms.seen("right", time_s, 1000 + time_s, right, SIZE))

    for t in range(5):
        step(t, [LEFT_ONLY])
    rooms.unseen("left")
    for t in range(5, 5 + down_s):
        step(t, None)
    down = list(readings)
    for t in range(5 + down_s, 15 + down_s):
        step(t, back_with)
    assert sum(r.entries for r in readings) == entries
    assert sum(len(r.completed_dwells_s) for r in down) == exits_while_down
    assert sum(len(r.completed_dwells_s) for r in readings[len(down) :]) == exits_when_back
    # a visit ended is as long as it was seen (0 to 4 s), not stretched over the outage
    assert [d for r in readings for d in r.completed_dwells_s] == [4.0] * (exits_while_down + exits_when_back)
    # The count and the longest stay are what is seen (partial: at least that), not the unseen's.
    assert [(r.raw_count, r.longest_dwell_s) for r in down[5:]] == [(1, t - 3) for t in range(5, 5 + down_s)]


def test_a_room_no_camera_sees_has_a_name_but_no_series() -> None:
    data = site_data()
    data["floor"]["rooms"].append({"id": "upstairs", "polygon": [[100, 100], [110, 100], [110, 110]]})
    data["cameras"][0]["zones"][0]["room"] = "upstairs"  # its other zones are on another box's cameras
    config = parse_config(data, Path("/"))
    registry = CollectorRegistry()
    EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "onnxruntime", "any"))
    assert _scrape(registry, "wartezone_zone_info", camera="floor", zone="upstairs", name="upstairs") == 1
    assert _scrape(registry, "wartezone_zone_partial", camera="floor", zone="upstairs") is None
    assert [r.room.id for r in SiteRooms(config).rooms] == ["hall"]


def test_pending_frames_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(room_steps, "WAIT_S", 1e9)  # the other camera never comes, and is never given up
    rooms = SiteRooms(site())
    for step in range(room_steps.MAX_PENDING + 10):
        rooms.seen("left", step * 0.5, step * 0.5, people(x0=LEFT), SIZE)
    assert max(len(p) for r in rooms.rooms for p in r._pending.values()) == room_steps.MAX_PENDING
