"""Counting accuracy on real footage with the built-in default settings, through the real CLI.

Bars from the accuracy issue: PETS 2009 S2L1 whole-frame count MAE <= 0.3 (every 5th frame),
Mall frames 1-600 MAE <= 4 (every 4th frame), one detector configuration for both. Speed is
measured by `wartezone bench`, not asserted here.
"""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def pets(shared_data: Path) -> dict[str, Any]:
    folder = shared_data / "pets2009-s2l1"
    return _eval(str(folder / "vtest.avi"), "--gt", str(folder / "PETS2009-S2L1.xml"), "--every", "5")


def test_pets_count_error_is_within_the_bar(pets: dict[str, Any]) -> None:
    assert pets["frames"] == 159
    assert pets["mae"] <= PETS_MAE_BAR, pets
    assert {"bias", "ms_per_frame", "mae_raw"} <= set(pets)


def test_pets_visits_and_dwell_are_close_to_the_ground_truth(pets: dict[str, Any]) -> None:
    """19 people cross the scene; a tracker that fragments would report many short visits."""
    assert pets["gt_visits"] == 19
    assert abs(pets["visits"] - pets["gt_visits"]) <= 0.3 * pets["gt_visits"], pets
    assert abs(pets["mean_dwell_s"] - pets["gt_mean_dwell_s"]) <= 0.3 * pets["gt_mean_dwell_s"], pets


def test_mall_count_error_is_within_the_bar(shared_data: Path) -> None:
    folder = shared_data / "mall-dev"
    mall = _eval(str(folder / "frames"), "--counts", str(folder / "counts.csv"), "--every", "4")
    assert mall["frames"] == 150
    assert mall["mae"] <= MALL_MAE_BAR, mall
