"""benchmarks/pets_wait.py: the wait figures on real video against per-person ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import last_json, run_python


def test_on_pets_little_s_law_checks_out_on_the_truth_and_holds_on_the_tracks(shared_data: Path) -> None:
    """benchmarks/pets_wait.py: the formula on complete, true visits, then on what the edge tracked."""
    done = run_python(
        "-m", "benchmarks.pets_wait", "--data", str(shared_data), "--fps", "2", "--json", timeout=600
    )
    figures = last_json(done)
    truth, (tracked,) = figures["truth"], figures["tracked"]
    assert truth["visits"] == 19 and truth["mean_dwell_s"] == pytest.approx(24.4, abs=0.05)
    # Every true visit lies inside the video: Little's law is their mean, plus one frame each (0.1 s).
    assert truth["little_s"] == pytest.approx(truth["mean_dwell_s"] + 0.1, abs=1e-6)
    # At 2 analysed frames/s both figures from the edge's tracks are within 10 % of the truth.
    for key in ("little_s", "mean_dwell_s"):
        assert tracked[key] == pytest.approx(truth["mean_dwell_s"], rel=0.10), key
    assert tracked["histogram_median_s"] == pytest.approx(tracked["median_dwell_s"], rel=0.10)
