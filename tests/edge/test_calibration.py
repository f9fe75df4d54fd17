"""Calibration: refusals that name the problem, a line shrunk towards no correction, kept only when it
helps each day it was not fitted on, written into the YAML with its comments, applied per zone."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from edge.calibration import (
    MIN_STILLS,
    CalibrationError,
    Still,
    check_labels,
    day_of,
    decide,
    fit_line,
    write_correction,
)
from edge.config import CameraConfig, Config, CountCorrection, load_config
from edge.detect.base import ModelInfo
from edge.evaluate import CountRow
from edge.metrics import EdgeMetrics
from edge.zones.accounting import CameraZones
from tests.conftest import make_detections


def rows(files_counts: list[tuple[str, int]]) -> list[CountRow]:
    return [CountRow(i + 1, file, count) for i, (file, count) in enumerate(files_counts)]


def dated(n: int, days: tuple[str, ...] = ("20170419", "20170505")) -> list[tuple[str, int]]:
    return [(f"1-{days[i % len(days)]}0912{i:02d}.jpg", 10 + i) for i in range(n)]


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("", None),
        ("1-20170419135653.jpg", "20170419"),
        ("cam/door_2026-11-30.jpg", None),  # only YYYYMMDD counts
        ("20261130-0800.png", "20261130"),
        ("seq_000001.jpg", None),
    ],
)
def test_the_day_comes_from_the_file_name(name: str, day: str | None) -> None:
    assert day_of(name) == day


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        ([], "0 stills labelled"),
        (dated(MIN_STILLS - 1), f"{MIN_STILLS - 1} stills labelled"),
        (dated(12, ("20170419",)), "all stills are from one day (20170419)"),
        ([(f"seq_{i:06d}.jpg", 5) for i in range(12)], "no date in their name"),
        ([*dated(11), ("1-20170419091200.jpg", 99)], "labelled twice, 10 and 99 people"),
        ([*dated(11), ("1-20170505091299.jpg", -1)], "a count of -1 people"),
    ],
    ids=["empty", "too-few", "one-day", "undated", "contradicting", "negative"],
)
def test_labels_that_cannot_carry_a_correction_are_refused_by_name(
    labels: list[tuple[str, int]], problem: str
) -> None:
    with pytest.raises(CalibrationError, match=re.escape(problem)):
        check_labels(rows(labels))


def test_good_labels_give_each_still_its_day() -> None:
    days = check_labels(rows(dated(12)))
    assert set(days.values()) == {"20170419", "20170505"} and len(days) == 12


@pytest.mark.parametrize(
    ("true_scale", "stills", "noise", "scale_range"),
    [
        (1.0, 20, 1.0, (0.99, 1.03)),  # no error: (almost) no correction
        (1.3, 6, 6.0, (1.0, 1.1)),  # a few scattered labels: pulled most of the way back to 1
        (1.3, 200, 1.0, (1.28, 1.32)),  # many clean ones: the labels win
    ],
)
def test_the_line_is_shrunk_towards_no_correction(
    true_scale: float, stills: int, noise: float, scale_range: tuple[float, float]
) -> None:
    rng = np.random.default_rng(0)
    detected = rng.integers(5, 40, stills).astype(float)
    true = np.round(true_scale * detected + rng.normal(0, noise, stills))
    scale, offset = fit_line(detected, true)
    assert scale_range[0] <= scale <= scale_range[1]
    assert abs(offset) < 2


def stills_with(scale_by_day: dict[str, float], per_day: int = 10, seed: int = 5) -> list[Still]:
    rng = np.random.default_rng(seed)
    out = []
    for day, scale in scale_by_day.items():
        for i in range(per_day):
            true = int(rng.integers(5, 45))
            out.append(Still(f"{day}-{i}.jpg", day, max(0, round(true / scale + rng.normal(0, 0.7))), true))
    return out


def test_an_error_that_holds_every_day_is_corrected() -> None:
    outcome = decide(stills_with({"20170419": 1.25, "20170505": 1.25, "20170512": 1.25}))
    assert outcome.correction is not None, outcome.reason
    assert 1.1 < outcome.correction.scale < 1.3 and outcome.correction.days == 3
    assert outcome.mae_after < 0.7 * outcome.mae_before and outcome.days_worse == []


def test_an_error_that_moves_from_day_to_day_is_left_alone() -> None:
    outcome = decide(stills_with({"20170419": 1.3, "20170505": 0.85, "20170512": 1.0}))
    assert outcome.correction is None
    assert "no correction" in outcome.reason and "the counts stay as detected" in outcome.reason


def test_no_error_needs_no_correction() -> None:
    outcome = decide(stills_with({"20170419": 1.0, "20170505": 1.0}))
    assert outcome.correction is None


SITE_YAML = """\
# the north branch: two cameras
site: north
cameras:
  - id: door      # the entrance
    source: {type: file, path: door.mp4}
    zones:
      - id: all
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
  - id: hall
    source: {type: file, path: hall.mp4}
    zones:
      - id: bench   # by the window
        polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
"""


def test_the_correction_is_written_with_comments_kept_and_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(SITE_YAML, encoding="utf-8")
    correction = CountCorrection(scale=1.12, offset=-0.4, stills=24, days=3)
    inode = path.stat().st_ino

    backup = write_correction(path, "hall", correction)

    assert path.stat().st_ino != inode  # a new file renamed over the old one, never half-written

    text = path.read_text(encoding="utf-8")
    assert backup.read_text(encoding="utf-8") == SITE_YAML
    for comment in ("# the north branch: two cameras", "# the entrance", "# by the window"):
        assert comment in text
    config = load_config(path)
    assert config.cameras[1].count_correction == correction
    assert config.cameras[0].count_correction is None

    write_correction(path, "hall", None)
    assert load_config(path).cameras[1].count_correction is None


def test_a_camera_that_is_not_there_is_named(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(SITE_YAML, encoding="utf-8")
    with pytest.raises(CalibrationError, match="no camera 'lobby'"):
        write_correction(path, "lobby", CountCorrection(scale=1.1, offset=0, stills=10, days=2))
    assert path.read_text(encoding="utf-8") == SITE_YAML


def camera(correction: CountCorrection | None) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "cam",
            "source": {"type": "file", "path": "unused.mp4"},
            "zones": [
                {"id": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "smoothing_frames": 1},
                {"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "smoothing_frames": 1},
            ],
            "count_correction": None if correction is None else correction.model_dump(),
        }
    )


@pytest.mark.parametrize(
    ("correction", "people", "counts"),
    [
        (None, 0, {"left": 0, "all": 0}),
        (None, 10, {"left": 10, "all": 10}),
        (CountCorrection(scale=1.2, offset=0, stills=20, days=2), 10, {"left": 12, "all": 12}),
        # the offset is per whole picture: the left half takes half of it
        (CountCorrection(scale=1.0, offset=2.0, stills=20, days=2), 10, {"left": 11, "all": 12}),
        (CountCorrection(scale=1.0, offset=-3.0, stills=20, days=2), 1, {"left": 0, "all": 0}),  # never < 0
    ],
)
def test_a_correction_applies_to_every_zone_by_its_share(
    correction: CountCorrection | None, people: int, counts: dict[str, int]
) -> None:
    boxes = [(10.0 + i, 10.0, 20.0 + i, 80.0) for i in range(people)]  # all in the left half
    readings = CameraZones(camera(correction)).update(make_detections(boxes), 200, 100, 0.0)
    assert {r.zone: r.occupancy for r in readings} == counts
    assert {r.zone: r.raw_count for r in readings} == counts


def test_the_metrics_name_each_cameras_correction() -> None:
    registry = CollectorRegistry()
    config = Config(
        site="north", cameras=[camera(CountCorrection(scale=1.12, offset=-0.4, stills=24, days=3))]
    )
    EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "x", "x"))
    labels = {
        "site": "north",
        "camera": "cam",
        "scale": "1.12",
        "offset": "-0.4",
        "stills": "24",
        "days": "3",
    }
    assert registry.get_sample_value("wartezone_camera_count_correction_info", labels) == 1
