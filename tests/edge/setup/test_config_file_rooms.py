"""Saving a camera's zones keeps the floor plan as written: rooms, calibrations (points or a file)
and a zone's room, with their comments and key order."""

from __future__ import annotations

from pathlib import Path

from edge.config import load_config
from edge.setup.config_file import Layout, ZoneDraft, layout_of, save_layouts
from tests.edge.setup.conftest import write_opencv_calibration

SITE = """\
site: north   # the branch
floor:   # metres on the plan
  rooms:
    - id: wartebereich-eg   # ground floor
      name: Wartebereich Erdgeschoss
      polygon: [[0, 0], [12, 0], [12, 8], [0, 8]]
      loiter_limit_s: 900
cameras:
  - id: door
    source: {type: file, path: door.mp4}
    floor_calibration:
      points:   # measured with a tape, 2026-11-02
        - {image: [0.0, 0.5], floor: [0, 0]}
        - {image: [1.0, 0.5], floor: [12, 0]}
        - {image: [1.0, 1.0], floor: [12, 8]}
        - {image: [0.0, 1.0], floor: [0, 8]}
    zones:
      - id: queue   # at the desk
        room: wartebereich-eg
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
  - id: hall
    source: {type: file, path: hall.mp4}
    floor_calibration:
      opencv: hall.xml   # from the installer's checkerboard
    zones:
      - id: bench
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
"""


def test_saving_zones_keeps_the_floor_plan_and_each_zones_room(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        SITE.replace(
            "opencv: hall.xml   # from the installer's checkerboard\n",
            "points:\n"
            "        - {image: [0.0, 0.5], floor: [0, 0]}\n        - {image: [1.0, 0.5], floor: [12, 0]}\n"
            "        - {image: [1.0, 1.0], floor: [12, 8]}\n        - {image: [0.0, 1.0], floor: [0, 8]}\n",
        )
    )
    before = path.read_text()
    layout = layout_of(load_config(path).cameras[0])
    moved = layout.zones[0].model_copy(update={"polygon": [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9)]})
    added = ZoneDraft(id="desk", polygon=[(0.2, 0.5), (0.4, 0.5), (0.3, 0.9)], loiter_limit_s=600)
    save_layouts(path, {"door": Layout(zones=[moved, added], privacy_masks=[])})
    after = path.read_text()
    # Everything but the door's zone polygons and the new zone is as it was, line for line.
    assert (
        after.replace("[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]", "[[0, 0], [1, 0], [1, 1], [0, 1]]").replace(
            "      - id: desk\n        polygon: [[0.2, 0.5], [0.4, 0.5], [0.3, 0.9]]\n", ""
        )
        == before
    )
    config = load_config(path)
    assert config.floor is not None and config.floor.rooms[0].loiter_limit_s == 900
    assert [z.room for z in config.cameras[0].zones] == ["wartebereich-eg", None]


def test_an_opencv_calibration_path_is_written_back_as_given(tmp_path: Path) -> None:
    write_opencv_calibration(tmp_path / "hall.xml")
    path = tmp_path / "site.yaml"
    path.write_text(SITE)
    layout = layout_of(load_config(path).cameras[1])
    save_layouts(
        path, {"hall": layout.model_copy(update={"privacy_masks": [[(0, 0), (0.2, 0), (0.2, 0.2)]]})}
    )
    after = path.read_text()
    assert "      opencv: hall.xml   # from the installer's checkerboard\n" in after
    calibration = load_config(path).cameras[1].floor_calibration
    assert calibration is not None and calibration.opencv == tmp_path / "hall.xml"
