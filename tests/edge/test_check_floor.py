"""`wartezone check` on a floor plan: a calibration whose points disagree is a warning with the
figure in cm, a room this box's cameras see only in part or not at all is named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.check import floor_checks
from edge.config import parse_config
from tests.edge.zones.test_room_steps import site_data


def _lines(data: dict[str, Any]) -> list[str]:
    return [finding.line() for finding in floor_checks(parse_config(data, Path("/")))]


def test_no_floor_plan_no_lines() -> None:
    data = site_data()
    del data["floor"]
    for camera in data["cameras"]:
        del camera["floor_calibration"]
    assert _lines(data) == []


def test_good_calibrations_and_a_room_seen_whole_pass() -> None:
    assert _lines(site_data()) == [
        "ok   camera left: floor calibration: 4 point pairs agree within 0 cm (RMS)",
        "ok   camera right: floor calibration: 4 point pairs agree within 0 cm (RMS)",
        "ok   room hall: 100% of its floor seen by left, right",
    ]


@pytest.mark.parametrize(("error_m", "status"), [(0.1, "ok"), (0.45, "warn")])
def test_points_that_disagree_are_a_warning_in_cm(error_m: float, status: str) -> None:
    data = site_data()
    pairs = data["cameras"][0]["floor_calibration"]["points"]
    # A fifth and sixth mark, each measured `error_m` off in opposite directions.
    pairs += [
        {"image": [0.5, 0.5], "floor": [4 + error_m, 4]},
        {"image": [0.25, 0.5], "floor": [2 - error_m, 4]},
    ]
    [line] = [line for line in _lines(data) if "camera left" in line]
    assert line.startswith(status)
    if status == "warn":
        assert "cm (RMS, limit 25 cm)" in line and "measure the marks again" in line


def test_rooms_seen_in_part_or_not_at_all_are_named() -> None:
    data = site_data()
    data["floor"]["rooms"][0]["polygon"] = [[0, 0], [24, 0], [24, 8], [0, 8]]  # twice what they see
    data["floor"]["rooms"].append({"id": "upstairs", "polygon": [[100, 100], [110, 100], [110, 110]]})
    data["cameras"][1]["zones"][0]["room"] = "upstairs"
    lines = [line for line in _lines(data) if "room" in line]
    assert lines == [
        "warn room hall: 50% of its floor seen by left, right: people elsewhere in it are not counted",
        "warn room upstairs: no calibrated camera of this box sees it; only its zones (right/right-all) "
        "count it, added by the API",
    ]
