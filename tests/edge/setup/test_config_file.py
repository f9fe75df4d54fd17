"""The site's YAML written back as its owner wrote it: indentation, comments, order and untouched
values kept; nothing written unless the config model accepts the result."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

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
        ([], "cameras[0].zones", "has no zone and sees no room"),  # the empty layout, no floor plan
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


def add_bench(document: dict[str, list[dict[str, list[object]]]]) -> None:
    document["cameras"][0]["zones"].append({"id": "bench", "polygon": [[0.1, 0.5], [0.4, 0.5], [0.25, 0.9]]})


def test_the_file_is_replaced_whole_keeping_its_permissions(tmp_path: Path) -> None:
    """A new file renamed over the old one (another inode), never the old one truncated and written."""
    site = tmp_path / "site.yaml"
    site.write_text(SITE, encoding="utf-8")
    site.chmod(0o640)
    before = site.stat()

    backup = rewrite_config(site, add_bench)

    after = site.stat()
    assert after.st_ino != before.st_ino
    assert [z.id for z in load_config(site).cameras[0].zones] == ["waiting", "bench"]
    assert backup.read_text(encoding="utf-8") == SITE
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.yaml", "site.yaml.bak"]


def test_a_link_stays_a_link_and_its_file_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "sites" / "north.yaml"
    real.parent.mkdir()
    real.write_text(SITE, encoding="utf-8")
    site = tmp_path / "site.yaml"
    site.symlink_to(real)

    rewrite_config(site, add_bench)

    assert site.is_symlink() and site.resolve() == real
    assert [z.id for z in load_config(site).cameras[0].zones] == ["waiting", "bench"]
    assert sorted(p.name for p in real.parent.iterdir()) == ["north.yaml"]


@pytest.mark.parametrize(
    ("failing", "backed_up"),
    [
        (None, True),  # nothing fails: the new file
        (("fsync", 1), False),  # the backup's data
        (("replace", 1), False),  # the backup's rename
        (("fsync", 3), True),  # the new file's data (2: the folder, after the backup's rename)
        (("replace", 2), True),  # the new file's rename
    ],
)
def test_a_write_that_fails_midway_leaves_the_old_file_whole_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: tuple[str, int] | None, backed_up: bool
) -> None:
    """As a crash would: the failing call stands for the moment the power goes."""
    site = tmp_path / "site.yaml"
    site.write_text(SITE, encoding="utf-8")
    calls = {"fsync": 0, "replace": 0}
    for name in calls:
        real = getattr(os, name)

        def counted(*args: Any, _name: str = name, _real: Any = real) -> Any:
            calls[_name] += 1
            if failing == (_name, calls[_name]):
                raise OSError(errno.ENOSPC, "No space left on device")
            return _real(*args)

        monkeypatch.setattr(os, name, counted)

    if failing is None:
        rewrite_config(site, add_bench)
        assert [z.id for z in load_config(site).cameras[0].zones] == ["waiting", "bench"]
        assert calls == {"fsync": 4, "replace": 2}  # each file's data and its folder; two renames
    else:
        with pytest.raises(OSError, match="No space left"):
            rewrite_config(site, add_bench)
        assert site.read_text(encoding="utf-8") == SITE
    expected = ["site.yaml", "site.yaml.bak"] if backed_up else ["site.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    if backed_up:
        assert (tmp_path / "site.yaml.bak").read_text(encoding="utf-8") == SITE
