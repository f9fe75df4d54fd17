"""Counting accuracy on real footage with the built-in default settings, through the real CLI.

Bars from the accuracy issue: PETS 2009 S2L1 whole-frame count MAE <= 0.3 (every 5th frame),
Mall frames 1-600 MAE <= 4 (every 4th frame), one detector configuration for both; the crowded
platform's stills (brt-dev) under the error they had before faint people with a face seen were
counted; the indoor room, where people come in one at a time, counted as one person at a time.
Speed is measured by `wartezone bench`, not asserted here.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import last_json, run_python

pytestmark = [pytest.mark.data, pytest.mark.slow]

PETS_MAE_BAR = 0.3
MALL_MAE_BAR = 4.0


def _eval(*args: str) -> dict[str, Any]:
    result: dict[str, Any] = last_json(run_python("-m", "edge", "eval", *args, "--json", timeout=900))
    return result


def _pets(shared_data: Path, every: int) -> dict[str, Any]:
    folder = shared_data / "pets2009-s2l1"
    return _eval(str(folder / "vtest.avi"), "--gt", str(folder / "PETS2009-S2L1.xml"), "--every", str(every))


@pytest.fixture(scope="module")
def pets(shared_data: Path) -> dict[str, Any]:
    return _pets(shared_data, 5)


def test_pets_count_error_is_within_the_bar(pets: dict[str, Any]) -> None:
    assert pets["frames"] == 159
    assert pets["mae"] <= PETS_MAE_BAR, pets
    assert {"bias", "ms_per_frame", "mae_raw"} <= set(pets)


VISITS_BAR = 0.15  # share of the ground truth's visits and mean dwell


@pytest.mark.parametrize("every", [5, 10], ids=["2-frames-a-second", "1-frame-a-second"])
def test_pets_visits_and_dwell_hold_at_the_rates_a_box_analyses(
    pets: dict[str, Any], shared_data: Path, every: int
) -> None:
    """19 people cross the scene; a tracker that fragments would report many short visits, the
    more so the fewer frames a second a box can analyse (1 a second when it serves 13 cameras)."""
    result = pets if every == 5 else _pets(shared_data, every)
    assert result["gt_visits"] == 19
    assert abs(result["visits"] - result["gt_visits"]) <= VISITS_BAR * result["gt_visits"], result
    assert (
        abs(result["mean_dwell_s"] - result["gt_mean_dwell_s"]) <= VISITS_BAR * result["gt_mean_dwell_s"]
    ), result


def test_mall_count_error_is_within_the_bar(shared_data: Path) -> None:
    folder = shared_data / "mall-dev"
    mall = _eval(str(folder / "frames"), "--counts", str(folder / "counts.csv"), "--every", "4")
    assert mall["frames"] == 150
    assert mall["mae"] <= MALL_MAE_BAR, mall


# Per-still MAE of the brt-dev cameras before a faint box with a face seen counted (3.22, 2.51);
# with it 2.73 and 2.17: the bars sit between, so losing the rule fails.
BRT_MAE_BARS = {1: 3.0, 2: 2.4}


@pytest.mark.parametrize("camera", [1, 2])
def test_the_crowded_platform_stills_keep_their_gain(shared_data: Path, camera: int) -> None:
    folder = shared_data / "brt-dev" / f"camera-{camera}"
    stills = _eval(str(folder / "frames"), "--counts", str(folder / "counts.csv"), "--stills")
    assert stills["mae"] <= BRT_MAE_BARS[camera], stills
    crowded = stills["bands"]["20-39"]
    assert abs(crowded["relative_bias"]) <= 0.15, crowded


def test_the_indoor_room_counts_one_person_at_a_time(
    shared_data: Path,
    tmp_path: Path,
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
) -> None:
    """Intel's video: people come in one at a time, stand at a table, leave; a second box on the
    same person (a duplicate the low threshold or the face rule let in) would count two."""
    whole = [{"id": "room", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}]
    config = config_dict(id="room", fps=5, zones=whole)  # every 2nd frame of the 10 frames/s video
    video = shared_data / "intel-sample-videos" / "one-by-one-person-detection.mp4"
    out = tmp_path / "replay"
    run_python(
        "-m", "edge", "replay", str(video), "-c", str(write_config(config)), "--out", str(out), timeout=900
    )
    with (out / "occupancy.csv").open(encoding="utf-8") as timeline:
        counts = [int(row["occupancy"]) for row in csv.DictReader(timeline)]
    assert len(counts) > 600
    assert sum(count >= 1 for count in counts) > len(counts) / 2  # people are seen
    assert sum(count >= 2 for count in counts) <= 0.03 * len(counts), sorted(counts)[-30:]
