"""The floor plan written into the YAML (edge/setup/floor_file): rooms and calibrations as the page
drafts them, everything else as written: comments, an unchanged calibration's node, an OpenCV file."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load_config
from edge.setup.config_file import Layout, layout_of
from edge.setup.floor_file import save_site
from edge.setup.plan import CalibrationDraft, PairDraft, RoomDraft, floor_draft_of
from tests.edge.setup.test_config_file_rooms import SITE

SQUARE = [((0.0, 0.5), (0, 0)), ((1.0, 0.5), (12, 0)), ((1.0, 1.0), (12, 8)), ((0.0, 1.0), (0, 8))]


def _site(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(
        SITE.replace(
            "opencv: hall.xml   # from the installer's checkerboard\n",
            "points:\n"
            + "".join(f"        - {{image: [{i[0]}, {i[1]}], floor: [{f[0]}, {f[1]}]}}\n" for i, f in SQUARE),
        ),
        encoding="utf-8",
    )
    return path


def _layouts(path: Path) -> dict[str, Layout]:
    return {c.id: layout_of(c) for c in load_config(path).cameras}


def test_the_floor_as_loaded_is_saved_line_for_line(tmp_path: Path) -> None:
    path = _site(tmp_path)
    before = path.read_text(encoding="utf-8")

    save_site(path, _layouts(path), floor_draft_of(load_config(path)))

    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("none", None),  # no pairs left: no calibration
        ("moved", [(0.0, 0.5), (0.0, 0.0)]),
    ],
)
def test_a_calibration_changed_or_removed_is_written_and_the_others_kept(
    tmp_path: Path, change: str, expected: list[tuple[float, float]] | None
) -> None:
    path = _site(tmp_path)
    draft = floor_draft_of(load_config(path))
    door = draft.calibrations["door"]
    if change == "none":
        door = CalibrationDraft()
    else:
        door = CalibrationDraft(
            points=[
                PairDraft(image=(0.0, 0.5), floor=(0.0, 0.0)),
                *door.points[1:],
                PairDraft(image=(0.5, 0.75), floor=(6.0, 4.0)),
            ]
        )
    draft = draft.model_copy(update={"calibrations": {**draft.calibrations, "door": door}})

    save_site(path, _layouts(path), draft)

    text = path.read_text(encoding="utf-8")
    config = load_config(path)
    calibration = config.cameras[0].floor_calibration
    if expected is None:
        assert calibration is None and "measured with a tape" not in text
    else:
        assert calibration is not None and calibration.points is not None and len(calibration.points) == 5
        assert (calibration.points[0].image, calibration.points[0].floor) == tuple(expected)
        assert "        - {image: [0.5, 0.75], floor: [6.0, 4.0]}\n" in text
    assert "# the branch" in text and "# at the desk" in text
    hall = config.cameras[1].floor_calibration
    assert (
        hall is not None and hall.points is not None and len(hall.points) == 4
    )  # the other camera's as it was


def test_a_room_renamed_keeps_its_comment_and_a_new_one_is_written_plainly(tmp_path: Path) -> None:
    path = _site(tmp_path)
    draft = floor_draft_of(load_config(path))
    renamed = draft.rooms[0].model_copy(update={"name": "Warten EG"})
    added = RoomDraft(id="flur", name=None, polygon=[(0, 0), (12, 0), (12, 3)], loiter_limit_s=600)

    save_site(path, _layouts(path), draft.model_copy(update={"rooms": [renamed, added]}))

    text = path.read_text(encoding="utf-8")
    floor = load_config(path).floor
    assert floor is not None
    rooms = floor.rooms
    assert [(r.id, r.name, r.loiter_limit_s) for r in rooms] == [
        ("wartebereich-eg", "Warten EG", 900),
        ("flur", None, 600),
    ]
    assert "    - id: wartebereich-eg   # ground floor\n" in text  # its comment stays with it
    assert (
        "    - id: flur\n      polygon: [[0.0, 0.0], [12.0, 0.0], [12.0, 3.0]]\ncameras:\n" in text
    )  # the default limit not written
