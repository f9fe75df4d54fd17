"""The floor plan through the setup server: a camera's point pairs fitted (residual in cm, warning
above the limit, outliers, footprint), two cameras' footprints overlapping, a room's coverage, and
bad input answered in words. Real HTTP, the detector faked at the edge (tests/edge/setup/conftest)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.config import load_config
from edge.zones.floor import RESIDUAL_WARNING_CM, to_floor
from tests.edge.setup.conftest import SITE_YAML, WAITING, WINDOW, Running, serving, write_opencv_calibration

# The door camera looks down at the floor from the front: its picture's bottom corners are 2 m
# apart at 1 m from the wall, its picture's top 8 m wide at 9 m (a trapezoid: perspective).
DOOR_PICTURE = [(0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)]
DOOR_FLOOR = [(4.0, 10.0), (6.0, 10.0), (9.0, 2.0), (1.0, 2.0)]
DOOR_H = cv2.getPerspectiveTransform(np.float32(DOOR_PICTURE), np.float32(DOOR_FLOOR)).astype(np.float64)
# Marks seen in the picture (fractions): a 4 x 4 grid, not on one line.
MARKS = [(x, y) for y in (0.2, 0.45, 0.7, 0.95) for x in (0.1, 0.37, 0.63, 0.9)]


def pairs(homography: np.ndarray, marks: list[tuple[float, float]], bend_m: float = 0.0) -> list[Any]:
    """Point pairs of these marks through a known mapping; the floor points bent sideways by up to
    bend_m in a wave no homography makes (a mismeasured plan), so the fit cannot take it up."""
    picture = np.asarray(marks, np.float64).reshape(-1, 2)
    floor = to_floor(homography, picture)
    floor[:, 0] += bend_m * np.cos(2 * np.pi * picture[:, 0]) * np.cos(2 * np.pi * picture[:, 1])
    return [
        {"image": list(m), "floor": [round(float(x), 4), round(float(y), 4)]}
        for m, (x, y) in zip(marks, floor, strict=True)
    ]


def floor_body(revision: int, calibrations: dict[str, Any], rooms: list[Any] | None = None) -> dict[str, Any]:
    return {"revision": revision, "floor": {"rooms": rooms or [], "calibrations": calibrations}}


def test_exact_pairs_fit_with_no_residual_and_a_footprint_through_the_marks(running: Running) -> None:
    answer = running.call("POST", "/api/floor", floor_body(1, {"door": {"points": pairs(DOOR_H, MARKS)}}))

    assert answer.status == 200, answer.body
    fit = answer.json()["fits"]["door"]
    assert fit["problem"] is None and fit["warning"] is None
    assert fit["rms_cm"] == pytest.approx(0, abs=0.5) and fit["limit_cm"] == RESIDUAL_WARNING_CM
    assert len(fit["residual_cm"]) == len(MARKS) and all(fit["inliers"])
    # The footprint is the picture's border on the floor: the trapezoid's corners are on it.
    outline = np.asarray(fit["footprint"], np.float32)
    for corner in DOOR_FLOOR:
        assert cv2.pointPolygonTest(outline, corner, measureDist=True) == pytest.approx(0, abs=0.05)
    assert running.state()["floor"]["fits"]["door"] == fit


@pytest.mark.parametrize(
    ("bend_m", "warned"),
    [(0.0, False), (0.2, False), (0.45, False), (0.5, True)],  # RMS 0, 11, 24, 27 cm
)
def test_the_residual_is_said_in_centimetres_and_warned_above_the_limit(
    running: Running, bend_m: float, warned: bool
) -> None:
    body = floor_body(1, {"door": {"points": pairs(DOOR_H, MARKS, bend_m)}})

    fit = running.call("POST", "/api/floor", body).json()["fits"]["door"]

    assert fit["problem"] is None
    assert 0 <= fit["rms_cm"] <= bend_m * 100 and all(fit["inliers"])
    assert (fit["warning"] is not None) == warned, fit
    if warned:
        assert fit["warning"] == f"points disagree by {fit['rms_cm']:.0f} cm (RMS, limit 25 cm)"


def test_a_mistyped_pair_is_left_out_and_named(running: Running) -> None:
    points = pairs(DOOR_H, MARKS)
    points[4] = {**points[4], "floor": [points[4]["floor"][0] + 3.0, points[4]["floor"][1]]}  # 3 m off

    fit = running.call("POST", "/api/floor", floor_body(1, {"door": {"points": points}})).json()["fits"][
        "door"
    ]

    assert fit["inliers"] == [i != 4 for i in range(len(MARKS))]
    assert fit["residual_cm"][4] == pytest.approx(300, abs=2) and fit["rms_cm"] < 1
    assert "pair 5 is off by 3.00 m" in fit["warning"]


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([], None),  # no pairs: no calibration, nothing wrong
        (pairs(DOOR_H, MARKS[:1]), "3 more point pair(s) needed (at least 4)"),
        (pairs(DOOR_H, MARKS[:3]), "1 more point pair(s) needed (at least 4)"),
        (pairs(DOOR_H, MARKS[:3] + MARKS[:1]), "lie on one line"),  # a mark clicked twice: 3 apart
        (
            pairs(DOOR_H, [(0.1, 0.5), (0.3, 0.5), (0.6, 0.5), (0.9, 0.5)]),
            "the picture points lie on one line",
        ),
    ],
)
def test_a_calibration_that_cannot_be_fitted_is_said_in_words_and_blocks_saving(
    running: Running, points: list[Any], words: str | None
) -> None:
    answer = running.call("POST", "/api/floor", floor_body(1, {"door": {"points": points}}))

    assert answer.status == 200
    fit, problems = answer.json()["fits"]["door"], answer.json()["problems"]
    assert fit["footprint"] == [] and fit["rms_cm"] is None
    if words is None:
        assert fit["problem"] is None and problems == [] and fit["source"] == "none"
        return
    assert words in fit["problem"]
    assert [(p["path"], p["message"]) for p in problems] == [("cameras[0].floor_calibration", fit["problem"])]
    save = running.call("POST", "/api/save", {})
    assert save.status == 422 and "cameras[0].floor_calibration" in json.dumps(save.json())
    assert running.path.read_text(encoding="utf-8") == SITE_YAML


def _points(x: Any) -> dict[str, Any]:
    return {"door": {"points": [{"image": [0.5, 0.5], "floor": [1.0, 2.0]}] * 3 + [x]}}


@pytest.mark.parametrize(
    ("raw", "status", "path", "words"),
    [
        (
            floor_body(1, _points({"image": [1.5, 0.5], "floor": [1, 2]})),
            422,
            "floor.calibrations.door.points.3.image.0",
            "less than or equal to 1",
        ),
        (
            floor_body(1, _points({"image": [0.5, 0.5], "floor": [1e6, 2]})),
            422,
            "floor.calibrations.door.points.3.floor.0",
            "less than or equal to 10000",
        ),
        (
            floor_body(1, _points({"image": [0.5, 0.5], "floor": [float("nan"), 2]})),
            422,
            "floor.calibrations.door.points.3.floor.0",
            "finite number",
        ),
        (
            floor_body(1, _points({"image": [0.5, 0.5]})),
            422,
            "floor.calibrations.door.points.3.floor",
            "Field required",
        ),
        (
            floor_body(1, _points({"image": [0.5], "floor": [1, 2]})),
            422,
            "floor.calibrations.door.points.3.image.1",
            "Field required",
        ),
        (
            {"revision": 1, "floor": {"rooms": [], "calibrations": {}, "extra": 1}},
            422,
            "floor.extra",
            "Extra inputs",
        ),
    ],
)
def test_bad_floor_input_is_refused_naming_the_field(
    running: Running, raw: dict[str, Any], status: int, path: str, words: str
) -> None:
    answer = running.call("POST", "/api/floor", raw=json.dumps(raw).encode())

    assert answer.status == status, answer.body
    problems = answer.json()["error"]["problems"]
    assert any(p["path"] == path and words in p["message"] for p in problems), problems
    assert running.state()["floor"]["revision"] == 0


def test_an_unknown_camera_or_a_body_that_is_not_json_is_refused(running: Running) -> None:
    unknown = running.call("POST", "/api/floor", floor_body(1, {"hall": {"points": []}}))
    assert unknown.status == 404 and "no camera 'hall'" in unknown.json()["error"]["message"]
    broken = running.call("POST", "/api/floor", raw=b"{rooms")
    assert broken.status == 400 and "not JSON" in broken.json()["error"]["message"]


def test_a_late_floor_draft_does_not_replace_a_newer_one(running: Running) -> None:
    newer = floor_body(2, {"door": {"points": pairs(DOOR_H, MARKS)}})
    assert running.call("POST", "/api/floor", newer).status == 200
    late = running.call("POST", "/api/floor", floor_body(1, {})).json()
    assert late == {"revision": 2, "stale": True}
    assert (
        running.state()["floor"]["draft"]["calibrations"]["door"]["points"]
        == newer["floor"]["calibrations"]["door"]["points"]
    )


TWO_CAMERAS = (
    SITE_YAML
    + """\
  - id: desk
    source: {type: file, path: door.avi, loop: true}
    zones:
      - id: counter
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
"""
)


@pytest.fixture
def two_cameras(site: Path) -> Iterator[Running]:
    site.write_text(TWO_CAMERAS, encoding="utf-8")
    with serving(site) as running:
        yield running


def looking_down(x0: float, x1: float, y0: float, y1: float) -> list[Any]:
    """Pairs of a camera straight above the floor that sees the rectangle x0..x1, y0..y1 metres."""
    corners = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.5, 0.5)]
    return [{"image": [u, v], "floor": [x0 + u * (x1 - x0), y0 + v * (y1 - y0)]} for u, v in corners]


@pytest.mark.parametrize(
    ("desk", "shared_m2", "seen_share"),
    [
        (None, None, 0.5),  # one camera calibrated: nothing to overlap; half the room seen
        ((6.0, 10.0, 0.0, 3.0), None, 0.75),  # apart: 4..6 m of the room unseen, 8..10 m outside it
        ((4.0, 8.0, 0.0, 3.0), None, 1.0),  # touching along x = 4: a line, no area
        ((2.0, 6.0, 0.0, 3.0), 6.0, 0.75),  # 2 m x 3 m shared
        ((0.0, 4.0, 0.0, 3.0), 12.0, 0.5),  # the same floor
    ],
)
def test_overlapping_footprints_are_found_with_their_area_and_a_rooms_coverage(
    two_cameras: Running,
    desk: tuple[float, float, float, float] | None,
    shared_m2: float | None,
    seen_share: float,
) -> None:
    calibrations: dict[str, Any] = {"door": {"points": looking_down(0, 4, 0, 3)}}
    if desk is not None:
        calibrations["desk"] = {"points": looking_down(*desk)}
    room = {
        "origin": None,
        "id": "wartebereich",
        "name": "Warten",
        "polygon": [[0, 0], [8, 0], [8, 3], [0, 3]],
        "loiter_limit_s": 600,
    }

    view = two_cameras.call("POST", "/api/floor", floor_body(1, calibrations, [room])).json()

    expected = (
        []
        if shared_m2 is None
        else [{"cameras": ["door", "desk"], "area_m2": pytest.approx(shared_m2, abs=0.3)}]
    )
    assert view["overlaps"] == expected
    covered = view["coverage"]["0"]
    assert covered["area_m2"] == pytest.approx(24, abs=0.5)
    assert covered["seen_share"] == pytest.approx(seen_share, abs=0.02)
    assert covered["cameras"] == (["door"] if desk is None else ["door", "desk"])


def test_rooms_and_a_calibration_are_saved_into_the_yaml_and_read_back(running: Running) -> None:
    points = pairs(DOOR_H, MARKS[:6])
    room = {
        "origin": None,
        "id": "wartebereich-eg",
        "name": "Wartebereich Erdgeschoss",
        "polygon": [[2, 3], [8, 3], [8, 9.5], [2, 9.5]],
        "loiter_limit_s": 900,
    }
    view = running.call("POST", "/api/floor", floor_body(1, {"door": {"points": points}}, [room])).json()
    assert view["problems"] == [] and view["coverage"]["0"]["cameras"] == ["door"]

    answer = running.call("POST", "/api/save", {})

    assert answer.status == 200, answer.body
    text = running.path.read_text(encoding="utf-8")
    for line in SITE_YAML.splitlines():  # every line as it was, comments included
        assert line in text, line
    config = load_config(running.path)
    assert config.floor is not None
    (saved,) = config.floor.rooms
    assert (saved.id, saved.name, saved.loiter_limit_s) == (
        "wartebereich-eg",
        "Wartebereich Erdgeschoss",
        900,
    )
    assert saved.polygon == [(2, 3), (8, 3), (8, 9.5), (2, 9.5)]
    calibration = config.cameras[0].floor_calibration
    assert calibration is not None and calibration.points is not None
    assert [(p.image, p.floor) for p in calibration.points] == [
        (tuple(p["image"]), tuple(p["floor"])) for p in points
    ]
    assert "floor:\n  rooms:\n    - id: wartebereich-eg\n" in text  # before the cameras, as the design has it
    assert text.index("floor_calibration:") < text.index("    zones:")
    # The session goes on from what was saved: the room is now in the file under its id.
    assert running.state()["floor"]["draft"]["rooms"][0]["origin"] == "wartebereich-eg"


@pytest.mark.parametrize(
    ("room", "path", "words"),
    [
        ({"id": "Warte Raum"}, "floor.rooms.0.id", "lower-case letters"),
        ({"id": "waiting"}, "(file)", "also a zone of camera 'door'"),
        ({"polygon": [[0, 0], [0.5, 0], [0.5, 0.5]]}, "floor.rooms[0].polygon", "at least 0.5 m^2"),
        ({"polygon": [[40, 40], [50, 40], [50, 50]]}, "floor.rooms[0]", "seen by no calibrated camera"),
    ],
)
def test_a_room_the_config_model_refuses_is_named_and_not_saved(
    running: Running, room: dict[str, Any], path: str, words: str
) -> None:
    drawn = {
        "origin": None,
        "id": "raum-1",
        "name": None,
        "polygon": [[2, 3], [8, 3], [8, 9]],
        "loiter_limit_s": 600,
    }
    body = floor_body(1, {"door": {"points": pairs(DOOR_H, MARKS)}}, [{**drawn, **room}])

    problems = running.call("POST", "/api/floor", body).json()["problems"]

    assert any(words in p["message"] for p in problems), problems
    assert any(p["path"].replace(".0.", "[0].").startswith(path.replace(".0.", "[0].")) for p in problems), (
        problems
    )
    save = running.call("POST", "/api/save", {})
    assert save.status == 422 and running.path.read_text(encoding="utf-8") == SITE_YAML


def test_a_zone_assigned_to_a_drafted_room_is_counted_and_saved_with_it(running: Running) -> None:
    room = {
        "origin": None,
        "id": "halle",
        "name": "Halle",
        "polygon": [[2, 3], [8, 3], [8, 9]],
        "loiter_limit_s": 600,
    }
    running.call("POST", "/api/floor", floor_body(1, {"door": {"points": pairs(DOOR_H, MARKS)}}, [room]))

    answer = running.draft(1, [{**WAITING, "room": "halle"}], [WINDOW]).json()

    assert answer["problems"] == []
    assert running.snapshot(revision=1)["counts"] == {"waiting": 1}
    assert running.call("POST", "/api/save", {}).status == 200
    config = load_config(running.path)
    assert [(z.id, z.room) for z in config.cameras[0].zones] == [("waiting", "halle")]
    assert "        name: Wartebereich\n        room: halle\n" in running.path.read_text(encoding="utf-8")


def test_a_zone_whose_room_is_deleted_from_the_plan_is_named_and_not_saved(running: Running) -> None:
    room = {
        "origin": None,
        "id": "halle",
        "name": None,
        "polygon": [[2, 3], [8, 3], [8, 9]],
        "loiter_limit_s": 600,
    }
    calibrations = {"door": {"points": pairs(DOOR_H, MARKS)}}
    running.call("POST", "/api/floor", floor_body(1, calibrations, [room]))
    assert running.draft(1, [{**WAITING, "room": "halle"}], [WINDOW]).json()["problems"] == []

    problems = running.call("POST", "/api/floor", floor_body(2, calibrations, [])).json()["problems"]

    assert any("names room 'halle', which is not in floor.rooms" in p["message"] for p in problems), problems
    assert running.call("POST", "/api/save", {}).status == 422
    assert running.path.read_text(encoding="utf-8") == SITE_YAML


def test_an_opencv_calibration_is_shown_with_its_footprint_and_kept_as_written(site: Path) -> None:
    write_opencv_calibration(site.with_name("door.xml"))
    text = SITE_YAML.replace(
        "    zones:\n", "    floor_calibration:\n      opencv: door.xml   # checkerboard\n    zones:\n"
    )
    site.write_text(text, encoding="utf-8")
    with serving(site) as running:
        fit = running.state()["floor"]["fits"]["door"]
        assert (fit["source"], fit["problem"], fit["rms_cm"]) == ("opencv", None, None)
        assert len(fit["footprint"]) > 3
        assert running.state()["floor"]["draft"]["calibrations"]["door"]["points"] == []

        assert running.call("POST", "/api/save", {}).status == 200

    assert site.read_text(encoding="utf-8") == text
