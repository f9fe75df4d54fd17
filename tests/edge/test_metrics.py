"""The exposition: declared once on a passed-in registry, aggregate labels, valid for promtool."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from edge.config import Config, load_config
from edge.detect.base import ModelInfo
from edge.metrics import EdgeMetrics
from edge.service import EdgeService
from edge.zones.accounting import ZoneReading
from tests.conftest import need_tool

MODEL_INFO = ModelInfo(name="m", sha256="0" * 64, backend="onnxruntime", input_size="480x640")
LABELS = {"site": "test-site", "camera": "cam", "zone": "all"}


def _reading(occupancy: int = 0, entries: int = 0, dwells: tuple[float, ...] = ()) -> ZoneReading:
    return ZoneReading("all", occupancy, occupancy, 0, 0.0, entries, dwells)


@pytest.fixture
def config(config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]) -> Config:
    return load_config(write_config(config_dict()))


def test_series_exist_at_zero_before_any_event(config: Config) -> None:
    registry = CollectorRegistry()
    EdgeMetrics(registry, config, MODEL_INFO)
    assert registry.get_sample_value("wartezone_zone_entries_total", LABELS) == 0
    assert registry.get_sample_value("wartezone_zone_dwell_seconds_count", LABELS) == 0
    assert (
        registry.get_sample_value("wartezone_frames_analysed_total", {"site": "test-site", "camera": "cam"})
        == 0
    )
    # Occupancy is unknown until a frame was analysed: absent, not 0.
    assert registry.get_sample_value("wartezone_zone_occupancy", LABELS) is None


@pytest.mark.parametrize(
    ("readings", "entries", "exits", "dwell_sum", "occupancy"),
    [
        ([], 0, 0, 0.0, None),
        ([_reading(3, entries=3)], 3, 0, 0.0, 3),
        ([_reading(3, entries=3), _reading(1, dwells=(40.0, 700.0))], 3, 2, 740.0, 1),
    ],
    ids=["nothing", "three arrive", "two leave"],
)
def test_frames_update_counters_histogram_and_state(
    config: Config,
    readings: list[ZoneReading],
    entries: int,
    exits: int,
    dwell_sum: float,
    occupancy: int | None,
) -> None:
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, MODEL_INFO)
    for reading in readings:
        metrics.record_frame("cam", 1_700_000_000.0, 0.1, [reading])
    assert registry.get_sample_value("wartezone_zone_entries_total", LABELS) == entries
    assert registry.get_sample_value("wartezone_zone_exits_total", LABELS) == exits
    assert registry.get_sample_value("wartezone_zone_dwell_seconds_sum", LABELS) == dwell_sum
    assert registry.get_sample_value("wartezone_zone_occupancy", LABELS) == occupancy
    analysed = registry.get_sample_value(
        "wartezone_frames_analysed_total", {"site": "test-site", "camera": "cam"}
    )
    assert analysed == len(readings)


def test_dwell_buckets_reach_hours(config: Config) -> None:
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, MODEL_INFO)
    metrics.record_frame("cam", 1_700_000_000.0, 0.1, [_reading(0, dwells=(3 * 3600.0,))])
    assert registry.get_sample_value("wartezone_zone_dwell_seconds_bucket", {**LABELS, "le": "7200.0"}) == 0
    assert registry.get_sample_value("wartezone_zone_dwell_seconds_bucket", {**LABELS, "le": "14400.0"}) == 1


def test_forgotten_camera_has_no_occupancy(config: Config) -> None:
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, MODEL_INFO)
    metrics.record_frame("cam", 1_700_000_000.0, 0.1, [_reading(4)])
    metrics.forget_camera("cam")
    assert registry.get_sample_value("wartezone_zone_occupancy", LABELS) is None
    assert registry.get_sample_value("wartezone_zone_entries_total", LABELS) == 0


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


@pytest.mark.slow
def test_live_exposition_passes_promtool(
    config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]
) -> None:
    promtool = need_tool("promtool", "scripts/setup.sh --dev installs Debian's prometheus package")
    data = config_dict(fps=5)
    data["cameras"][0]["source"]["loop"] = True
    data["detector"] = {"input_size": [480, 640]}  # counting accuracy is not under test here
    # The camera's lower 70 % is a room's floor: the room is exported too (camera "floor").
    corners = [(0.0, 0.3), (1.0, 0.3), (1.0, 1.0), (0.0, 1.0)]
    pairs = [{"image": [x, y], "floor": [8 * x, 10 * (y - 0.3)]} for x, y in corners]
    data["cameras"][0]["floor_calibration"] = {"points": pairs}
    data["floor"] = {"rooms": [{"id": "hall", "name": "Halle", "polygon": [[0, 0], [8, 0], [8, 7], [0, 7]]}]}
    service = EdgeService(load_config(write_config(data)))
    service.start()
    try:
        deadline = time.monotonic() + 60
        analysed = {"site": "test-site", "camera": "cam"}
        while (service.registry.get_sample_value("wartezone_frames_analysed_total", analysed) or 0) < 8:
            assert time.monotonic() < deadline, "the service analysed no frames within 60 s"
            time.sleep(0.2)
        exposition = _scrape(service.metrics_port)
    finally:
        service.stop()
    assert 'wartezone_zone_occupancy{camera="cam",site="test-site",zone="all"}' in exposition
    assert "wartezone_detector_latency_seconds_bucket" in exposition
    assert 'wartezone_zone_occupancy{camera="floor",site="test-site",zone="hall"}' in exposition
    assert 'wartezone_zone_partial{camera="floor",site="test-site",zone="hall"} 0.0' in exposition
    checked = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == "", checked.stdout + checked.stderr


def test_camera_is_up_while_analysed_and_down_when_forgotten(config: Config) -> None:
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, MODEL_INFO)
    camera = {"site": "test-site", "camera": "cam"}
    assert registry.get_sample_value("wartezone_camera_up", camera) == 0
    metrics.record_frame("cam", 1_700_000_123.5, 0.1, [_reading(2)])
    assert registry.get_sample_value("wartezone_camera_up", camera) == 1
    assert (
        registry.get_sample_value("wartezone_camera_last_frame_timestamp_seconds", camera) == 1_700_000_123.5
    )
    metrics.forget_camera("cam")
    assert registry.get_sample_value("wartezone_camera_up", camera) == 0
