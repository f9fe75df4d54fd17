"""No frame, crop or per-person record leaves the edge process: not to disk, not to the network,
not into metric labels. Checked with a Python audit hook around real runs on a real video."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import MODEL, REPO, last_json, run_python

pytestmark = pytest.mark.slow  # runs the service and a replay with the real model, audited

AGGREGATE_LABELS = {"site", "camera", "zone"}
MODEL_INFO_LABELS = {"site", "name", "sha256", "backend", "input_size"}
# The camera's count correction: four numbers from its config (none here: scale 1, stills 0).
CORRECTION_INFO = {
    "site": "test-site",
    "camera": "cam",
    "scale": "1",
    "offset": "0",
    "stills": "0",
    "days": "0",
}


def _audited(tmp_path: Path, *args: str) -> dict[str, Any]:
    # As on a site: no CI variable (some libraries stay quiet only in CI), a home of its own.
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env |= {"PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": str(tmp_path / "mpl"), "HOME": str(tmp_path)}
    done = run_python(str(REPO / "tests" / "edge" / "audited_run.py"), *args, timeout=300, env=env)
    report: dict[str, Any] = last_json(done)
    report["stderr"] = done.stderr
    return report


@pytest.fixture
def privacy_config(config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]) -> Path:
    data = config_dict(
        fps=1,
        zones=[
            {"id": "west", "polygon": [[0, 0.2], [0.5, 0.2], [0.5, 1], [0, 1]]},
            {"id": "east", "polygon": [[0.5, 0.2], [1, 0.2], [1, 1], [0.5, 1]]},
        ],
        privacy_masks=[[[0, 0], [1, 0], [1, 0.17], [0, 0.17]]],
    )
    return write_config(data)


def test_service_writes_nothing_listens_once_and_labels_only_aggregates(
    tmp_path: Path, privacy_config: Path
) -> None:
    report = _audited(tmp_path, "service", str(privacy_config))

    assert report["writes"] == [], f"the edge service wrote files: {report['writes']}"
    assert report["listening"] == [repr(("127.0.0.1", 0))], report["listening"]  # port 0: picked free
    assert report["connects"] == []
    assert all("127.0.0.1" in a or "::1" in a for a in report["bound"]), report["bound"]

    manifest = json.loads(MODEL.with_name(MODEL.name + ".manifest.json").read_text())
    allowed = {"site": {"test-site"}, "camera": {"cam"}, "zone": {"west", "east"}}
    families = list(text_string_to_metric_families(report["exposition"]))
    assert any(f.name == "wartezone_zone_entries" for f in families)
    for family in families:
        for sample in family.samples:
            names = set(sample.labels)
            if sample.name == "wartezone_model_info":
                assert names == MODEL_INFO_LABELS
                assert sample.labels["sha256"] == manifest["sha256"]
                continue
            if sample.name == "wartezone_camera_count_correction_info":
                assert sample.labels == CORRECTION_INFO
                continue
            assert names <= AGGREGATE_LABELS | {"le"}, f"{sample.name} has labels {names}"
            for name in names & AGGREGATE_LABELS:
                assert sample.labels[name] in allowed[name], f"{sample.name}: {name}={sample.labels[name]!r}"


def test_replay_writes_only_its_timeline_and_chart(
    tmp_path: Path, privacy_config: Path, demo_video: Path
) -> None:
    out_dir = tmp_path / "out"
    report = _audited(tmp_path, "replay", str(privacy_config), str(demo_video), str(out_dir))

    mpl_cache = str(tmp_path / "mpl")
    outputs = {Path(p) for p in report["writes"] if not p.startswith(mpl_cache)}
    assert outputs == {out_dir / "occupancy.csv", out_dir / "occupancy.png"}
    assert report["listening"] == [] and report["connects"] == []
    # The chart is a plot of counts: a small picture, not a video frame (768x576) or a crop of one.
    import cv2

    chart = cv2.imread(str(out_dir / "occupancy.png"))
    assert chart is not None and chart.shape[:2] == (400, 1000)
    assert "track" not in report["stderr"].lower()
