"""The floor plan in the site YAML: rooms, each camera's floor calibration, zones that belong to a
room, and the rules across them, each refused with a message naming the problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.config import ConfigError, camera_floor, floor_problems, parse_config
from edge.zones.floor import to_floor
from tests.edge.zones.test_room_steps import site_data

# A camera whose picture's lower half shows the room 0..12 x 0..8 m (top edge of that half at y = 0).
PAIRS = [
    {"image": [0.0, 0.5], "floor": [0.0, 0.0]},
    {"image": [1.0, 0.5], "floor": [12.0, 0.0]},
    {"image": [1.0, 1.0], "floor": [12.0, 8.0]},
    {"image": [0.0, 1.0], "floor": [0.0, 8.0]},
    {"image": [0.5, 0.75], "floor": [6.0, 4.0]},
]
ROOM = {"id": "wartebereich-eg", "name": "Wartebereich EG", "polygon": [[0, 0], [12, 0], [12, 8], [0, 8]]}


def site(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "site": "north",
        "floor": {"rooms": [copy.deepcopy(ROOM)]},
        "cameras": [
            {
                "id": "entrance",
                "source": {"type": "file", "path": "a.mp4"},
                "floor_calibration": {"points": copy.deepcopy(PAIRS)},
                "zones": [{"id": "queue", "polygon": [[0, 0], [1, 0], [1, 1]]}],
            }
        ],
    }
    data.update(changes)
    return data


def problems(data: dict[str, Any], base: Path = Path("/")) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as error:
        parse_config(data, base)
    return error.value.problems


def test_a_site_with_rooms_loads_and_maps_its_camera() -> None:
    config = parse_config(site(), Path("/"))
    assert config.floor is not None
    room = config.floor.rooms[0]
    assert (room.id, room.name, room.loiter_limit_s, room.smoothing_frames) == (
        "wartebereich-eg",
        "Wartebereich EG",
        600,
        3,
    )
    mapping = camera_floor(config.cameras[0])
    assert mapping is not None
    assert np.allclose(mapping.to_floor([[0.5, 0.75], [0.25, 1.0]]), [[6, 4], [3, 8]], atol=1e-6)
    assert mapping.warning is None


def test_a_site_without_floor_has_no_rooms() -> None:
    config = parse_config(site(floor=None), Path("/"))
    assert config.floor is None
    assert floor_problems(config) == []


def _camera(data: dict[str, Any]) -> dict[str, Any]:
    camera: dict[str, Any] = data["cameras"][0]
    return camera


BROKEN: list[tuple[str, Any, str, str]] = [
    ("reserved camera id", lambda d: _camera(d).update(id="floor"), "cameras[0].id", "reserved"),
    (
        "zone names an unknown room",
        lambda d: _camera(d)["zones"][0].update(room="upstairs"),
        "(file)",
        "names room 'upstairs', which is not in floor.rooms (known: wartebereich-eg)",
    ),
    (
        "zone names a room where there is no floor",
        lambda d: (d.update(floor=None), _camera(d)["zones"][0].update(room="upstairs")),
        "(file)",
        "known: none",
    ),
    (
        "room id is a zone id",
        lambda d: d["floor"]["rooms"][0].update(id="queue"),
        "(file)",
        "room id 'queue' is also a zone of camera 'entrance'",
    ),
    (
        "two rooms with one id",
        lambda d: d["floor"]["rooms"].append(copy.deepcopy(ROOM)),
        "floor",
        "duplicate room id 'wartebereich-eg'",
    ),
    (
        "room of no area",
        lambda d: d["floor"]["rooms"][0].update(polygon=[[0, 0], [1, 0], [2, 0]]),
        "floor.rooms[0].polygon",
        "encloses 0.00 m^2",
    ),
    (
        "room of two corners",
        lambda d: d["floor"]["rooms"][0].update(polygon=[[0, 0], [1, 0]]),
        "floor.rooms[0].polygon",
        "at least 3",
    ),
    ("no rooms", lambda d: d["floor"].update(rooms=[]), "floor.rooms", "at least 1"),
    (
        "even smoothing on a room",
        lambda d: d["floor"]["rooms"][0].update(smoothing_frames=4),
        "floor.rooms[0].smoothing_frames",
        "odd",
    ),
    (
        "three point pairs",
        lambda d: _camera(d)["floor_calibration"].update(points=PAIRS[:3]),
        "cameras[0].floor_calibration.points",
        "at least 4",
    ),
    (
        "points and a file",
        lambda d: _camera(d)["floor_calibration"].update(opencv="c.xml"),
        "cameras[0].floor_calibration",
        "either points or opencv",
    ),
    (
        "neither points nor a file",
        lambda d: _camera(d).update(floor_calibration={}),
        "cameras[0].floor_calibration",
        "either points or opencv",
    ),
    (
        "image point in pixels",
        lambda d: _camera(d)["floor_calibration"]["points"][0].update(image=[640, 0.5]),
        "cameras[0].floor_calibration.points[0].image[0]",
        "less than or equal to 1",
    ),
    (
        "floor points on one line",
        lambda d: [
            p.update(floor=[float(i), 0.0]) for i, p in enumerate(_camera(d)["floor_calibration"]["points"])
        ],
        "cameras[0].floor_calibration",
        "",
    ),
    (
        "room nobody sees",
        lambda d: d["floor"]["rooms"][0].update(polygon=[[100, 100], [110, 100], [110, 110]]),
        "floor.rooms[0]",
        "seen by no calibrated camera",
    ),
    (
        "room with no calibrated camera",
        lambda d: _camera(d).pop("floor_calibration"),
        "floor.rooms[0]",
        "seen by no calibrated camera",
    ),
    (
        "missing calibration file",
        lambda d: _camera(d).update(floor_calibration={"opencv": "missing.xml"}),
        "cameras[0].floor_calibration",
        "no such calibration file",
    ),
]


@pytest.mark.parametrize(("case", "change", "path", "words"), BROKEN, ids=[c[0] for c in BROKEN])
def test_a_broken_floor_is_refused_naming_the_problem(case: str, change: Any, path: str, words: str) -> None:
    data = site()
    change(data)
    found = problems(data)
    assert any(where == path and words in message for where, message in found), found


def test_a_camera_without_zones_counts_for_the_room_it_sees() -> None:
    data = site()
    _camera(data).pop("zones")
    config = parse_config(data, Path("/"))
    assert config.cameras[0].zones == []


def _beside_the_room(camera: dict[str, Any]) -> None:
    """The camera's floor 40 m east of the room: its footprint reaches no room."""
    points = [{**p, "floor": [p["floor"][0] + 40, p["floor"][1]]} for p in PAIRS]
    camera["floor_calibration"] = {"points": points}


@pytest.mark.parametrize(
    "change",
    [lambda camera: camera.pop("floor_calibration"), _beside_the_room],
    ids=["no floor calibration", "its floor beside the room"],
)
def test_a_camera_without_zones_or_room_is_refused(change: Any) -> None:
    data = site()
    _camera(data)["zones"] = []
    change(_camera(data))
    data["cameras"].append(  # the room is counted by a member zone of another camera
        {
            "id": "hall",
            "source": {"type": "file", "path": "b.mp4"},
            "zones": [{"id": "seats", "polygon": [[0, 0], [1, 0], [1, 1]], "room": ROOM["id"]}],
        }
    )
    found = problems(data)
    assert found == [
        (
            "cameras[0].zones",
            "camera 'entrance' has no zone and sees no room of the floor plan (no floor_calibration whose "
            "footprint reaches one): give it a zone, or a room to count",
        )
    ], found


def test_a_room_without_a_calibrated_camera_stands_on_its_member_zones() -> None:
    data = site()
    _camera(data).pop("floor_calibration")
    _camera(data)["zones"][0]["room"] = "wartebereich-eg"
    config = parse_config(data, Path("/"))
    assert config.cameras[0].zones[0].room == "wartebereich-eg"


def test_an_opencv_calibration_is_read_relative_to_the_file(tmp_path: Path) -> None:
    # A camera 3 m above (6, -2) looking along +y, 45 degrees down (world z up, the floor z = 0).
    k = np.array([[800.0, 0, 640], [0, 800, 360], [0, 0, 1]])
    half = np.sqrt(0.5)
    rotation = np.array(
        [[1.0, 0, 0], [0, -half, -half], [0, half, -half]]
    )  # rows: camera x, y, z in the world
    centre = np.array([6.0, -2.0, 3.0])
    rvec, _ = cv2.Rodrigues(rotation)
    tvec = -rotation @ centre
    storage = cv2.FileStorage(str(tmp_path / "calibration.xml"), cv2.FILE_STORAGE_WRITE)
    for name, value in (("camera_matrix", k), ("dist_coeffs", np.zeros(5)), ("rvec", rvec), ("tvec", tvec)):
        storage.write(name, value)
    storage.write("image_width", 1280)
    storage.write("image_height", 720)
    storage.release()
    data = site()
    _camera(data)["floor_calibration"] = {"opencv": "calibration.xml"}
    config = parse_config(data, tmp_path)
    mapping = camera_floor(config.cameras[0])
    assert mapping is not None and mapping.lens is not None
    assert config.cameras[0].floor_calibration is not None
    assert config.cameras[0].floor_calibration.opencv == tmp_path / "calibration.xml"
    # The picture's centre looks along the optical axis, which meets the floor 3 m ahead: (6, 1).
    assert np.allclose(mapping.to_floor([[0.5, 0.5]])[0], [6, 1], atol=1e-6)
    assert np.allclose(to_floor(mapping.homography, [[0.5, 0.5]])[0], [6, 1], atol=1e-6)


@pytest.mark.parametrize(("rates", "refused"), [((2.0, 2.0), False), ((2.0, 1.0), True)])
def test_a_rooms_cameras_need_one_rate(rates: tuple[float, float], refused: bool) -> None:
    data = site_data()
    for camera, fps in zip(data["cameras"], rates, strict=True):
        camera["fps"] = fps
    if not refused:
        parse_config(data, Path("/"))
        return
    assert problems(data) == [
        (
            "floor.rooms[0]",
            "room 'hall' is seen by left (2 fps), right (1 fps): a room's cameras need one fps, so that "
            "their frames pair up in time",
        )
    ]
