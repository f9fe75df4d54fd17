"""The site's YAML written back as its owner wrote it: indentation, comments, order and untouched
values kept; nothing written unless the config model accepts the result."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import ConfigError, load_config
from edge.setup.config_file import Layout, ZoneDraft, layout_of, rewrite_config, save_layouts

ZONE_ALL = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
BENCH = ZoneDraft(
    id="bench", name="Bank am Fenster", polygon=[(0.1, 0.5), (0.4, 0.5), (0.25, 0.9)], loiter_limit_s=300
)

INDENTED = """\
site: north   # the branch
cameras:
  - id: door
    source: {type: file, path: door.mp4}
    zones:
      - id: all   # the whole picture
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
"""
FLUSH = """\
site: north   # the branch
cameras:
- id: door
  source:
    type: file
    path: door.mp4
  zones:
  - id: all   # the whole picture
    polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
"""
WIDE = """\
site: north   # the branch
cameras:
    -   id: door
        source:
            type: file
            path: door.mp4
        zones:
            -   id: all   # the whole picture
                polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
"""


@pytest.mark.parametrize(
    ("text", "added"),
    [
        (
            INDENTED,
            "      - id: bench\n        name: Bank am Fenster\n"
            "        polygon: [[0.1, 0.5], [0.4, 0.5], [0.25, 0.9]]\n        loiter_limit_s: 300\n",
        ),
        (
            FLUSH,
            "  - id: bench\n    name: Bank am Fenster\n"
            "    polygon: [[0.1, 0.5], [0.4, 0.5], [0.25, 0.9]]\n    loiter_limit_s: 300\n",
        ),
        (
            WIDE,
            "            -   id: bench\n                name: Bank am Fenster\n"
            "                polygon: [[0.1, 0.5], [0.4, 0.5], [0.25, 0.9]]\n"
            "                loiter_limit_s: 300\n",
        ),
    ],
)
def test_a_new_zone_is_written_in_the_files_own_style_and_the_rest_is_untouched(
    tmp_path: Path, text: str, added: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    layout = layout_of(load_config(path).cameras[0])

    backup = save_layouts(path, {"door": Layout(zones=[*layout.zones, BENCH], privacy_masks=[])})

    assert path.read_text(encoding="utf-8") == text + added  # the polygon written as [[0, 0], ...] stays
    assert backup == tmp_path / "site.yaml.bak" and backup.read_text(encoding="utf-8") == text
    assert [z.name for z in load_config(path).cameras[0].zones] == [None, "Bank am Fenster"]


SITE = """\
site: north
cameras:
  - id: door
    source: {type: file, path: door.mp4}
    privacy_masks:
      - [[0.0, 0.0], [1.0, 0.0], [1.0, 0.1], [0.0, 0.1]]  # the street window
      - [[0.8, 0.1], [1.0, 0.1], [1.0, 0.4]]               # the till
    zones:
      - id: waiting
        name: Wartebereich
        polygon: [[0.0, 0.2], [0.5, 0.2], [0.5, 1.0], [0.0, 1.0]]
        anchor: feet          # ankles where the model sees them
        smoothing_frames: 5
"""


def test_a_renamed_zone_keeps_the_keys_and_comments_the_page_does_not_edit(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(SITE, encoding="utf-8")
    layout = layout_of(load_config(path).cameras[0])
    renamed = layout.zones[0].model_copy(update={"id": "warten", "name": None, "loiter_limit_s": 1200})

    save_layouts(path, {"door": layout.model_copy(update={"zones": [renamed]})})

    # A key the zone did not have goes after its polygon, where the page's other keys are.
    expected = SITE.replace("- id: waiting\n        name: Wartebereich\n", "- id: warten\n").replace(
        "1.0]]\n        anchor", "1.0]]\n        loiter_limit_s: 1200\n        anchor"
    )
    assert path.read_text(encoding="utf-8") == expected
    [zone] = load_config(path).cameras[0].zones
    assert (zone.id, zone.name, zone.anchor, zone.smoothing_frames, zone.loiter_limit_s) == (
        "warten",
        None,
        "feet",
        5,
        1200,
    )


def test_a_deleted_mask_goes_and_the_others_keep_their_comments(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(SITE, encoding="utf-8")
    layout = layout_of(load_config(path).cameras[0])
    moved = [(0.7, 0.1), (1.0, 0.1), (1.0, 0.5)]

    save_layouts(
        path, {"door": layout.model_copy(update={"privacy_masks": [layout.privacy_masks[0], moved]})}
    )

    text = path.read_text(encoding="utf-8")
    assert "      - [[0.0, 0.0], [1.0, 0.0], [1.0, 0.1], [0.0, 0.1]]  # the street window\n" in text
    assert "      - [[0.7, 0.1], [1.0, 0.1], [1.0, 0.5]]\n" in text and "the till" not in text

    save_layouts(path, {"door": layout.model_copy(update={"privacy_masks": []})})
    assert "privacy_masks" not in path.read_text(encoding="utf-8")


def test_a_mask_for_a_camera_that_had_none_goes_before_its_zones(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(INDENTED, encoding="utf-8")
    layout = layout_of(load_config(path).cameras[0])

    save_layouts(
        path, {"door": layout.model_copy(update={"privacy_masks": [[(0.0, 0.0), (1.0, 0.0), (0.5, 0.3)]]})}
    )

    assert path.read_text(encoding="utf-8") == INDENTED.replace(
        "    zones:\n", "    privacy_masks:\n      - [[0.0, 0.0], [1.0, 0.0], [0.5, 0.3]]\n    zones:\n"
    )


@pytest.mark.parametrize(
    ("zones", "path", "words"),
    [
        ([], "cameras[0].zones", "at least 1 item"),  # the empty layout
        (
            [ZoneDraft(id="Bank 1", polygon=ZONE_ALL, loiter_limit_s=600)],
            "cameras[0].zones[0].id",
            "lower-case",
        ),
        (
            [ZoneDraft(id="bank", polygon=ZONE_ALL, loiter_limit_s=None)],
            "cameras[0].zones[0].loiter_limit_s",
            "number",
        ),
        (
            [ZoneDraft(id="bank", polygon=[(0, 0), (768, 0), (0, 1)], loiter_limit_s=60)],
            "cameras[0].zones[0].polygon[1][0]",
            "fractions 0..1 of the image",
        ),
    ],
)
def test_a_layout_the_config_model_refuses_writes_nothing(
    tmp_path: Path, zones: list[ZoneDraft], path: str, words: str
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE, encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        save_layouts(site, {"door": Layout(zones=zones, privacy_masks=[])})

    assert any(p == path and words in m for p, m in error.value.problems), error.value.problems
    assert site.read_text(encoding="utf-8") == SITE
    assert not (tmp_path / "site.yaml.bak").exists()


def test_a_camera_gone_from_the_file_is_named(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE, encoding="utf-8")
    with pytest.raises(ConfigError, match="camera 'hall' is no longer in the file"):
        save_layouts(site, {"hall": Layout(zones=[BENCH], privacy_masks=[])})
    assert site.read_text(encoding="utf-8") == SITE


def test_any_edit_is_checked_before_it_is_written(tmp_path: Path) -> None:
    """The shared write-back (calibrate uses it too): an edit the model refuses writes nothing."""
    site = tmp_path / "site.yaml"
    site.write_text(SITE, encoding="utf-8")

    def bad_correction(document: dict[str, list[dict[str, object]]]) -> None:
        document["cameras"][0]["count_correction"] = {"scale": 7, "offset": 0, "stills": 10, "days": 2}

    with pytest.raises(ConfigError, match="less than or equal to 2"):
        rewrite_config(site, bad_correction)
    assert site.read_text(encoding="utf-8") == SITE and not (tmp_path / "site.yaml.bak").exists()
