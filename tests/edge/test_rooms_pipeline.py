"""Rooms in the pipeline: every analysed frame of a calibrated camera hands its people to the
rooms it sees, frames the motion gate let pass included (the last detection's people stand), and a
camera's outage leaves its rooms partial."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry

from edge.config import Config, TrackerConfig
from edge.metrics import EdgeMetrics
from edge.pipeline import CameraPipeline
from edge.runner import CameraRunner
from edge.sources.base import Frame
from edge.zones.room_steps import SiteRooms
from tests.edge.test_pipeline import RecordingDetector
from tests.edge.zones.test_room_steps import site

STILL = np.full((100, 100, 3), 128, np.uint8)
ROOM = {"site": "north", "camera": "floor", "zone": "hall"}


def two_cameras(
    config: Config,
) -> tuple[dict[str, RecordingDetector], CollectorRegistry, EdgeMetrics, SiteRooms]:
    """Both cameras see one person at (6, 4) on the floor, in the overlap; the left one also (2, 4)."""
    detectors = {
        "left": RecordingDetector([(70, 30, 80, 50), (20, 30, 30, 50)]),
        "right": RecordingDetector([(20, 30, 30, 50)]),
    }
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, detectors["left"].info)
    return detectors, registry, metrics, SiteRooms(config, metrics)


def test_frames_the_gate_lets_pass_still_count_in_the_room() -> None:
    config = site()
    detectors, registry, metrics, rooms = two_cameras(config)
    runners = {}
    for camera in config.cameras:
        pipeline = CameraPipeline(
            camera,
            detectors[camera.id],
            TrackerConfig(),
            metrics,
            settings=config.detector,
            rooms=rooms,
        )
        runners[camera.id] = CameraRunner(camera, pipeline, metrics)
        runners[camera.id].came_up()
    occupancy = []
    for step in range(4):
        for runner in runners.values():
            runner.analyse(Frame(STILL, step * 0.5, 1.7e9 + step * 0.5))
        occupancy.append(registry.get_sample_value("wartezone_zone_occupancy", ROOM))
    assert [len(d.images) for d in detectors.values()] == [1, 1]  # the picture never changed
    assert occupancy == [2, 2, 2, 2]
    assert registry.get_sample_value("wartezone_zone_partial", ROOM) == 0

    runners["right"].went_down("stream lost")
    runners["left"].analyse(Frame(STILL, 2.0, 1.7e9 + 2.0))
    assert registry.get_sample_value("wartezone_zone_partial", ROOM) == 1
    assert registry.get_sample_value("wartezone_zone_occupancy", ROOM) == 2  # the left camera sees both

    runners["left"].went_down("stream lost")
    assert registry.get_sample_value("wartezone_zone_occupancy", ROOM) is None
    assert registry.get_sample_value("wartezone_camera_up", {"site": "north", "camera": "floor"}) == 0


def test_a_camera_without_rooms_takes_no_part() -> None:
    config = site()
    rooms = SiteRooms(config)
    camera = config.cameras[0].model_copy(update={"id": "elsewhere"})
    pipeline = CameraPipeline(camera, RecordingDetector([(20, 30, 30, 50)]), TrackerConfig(), rooms=rooms)
    assert pipeline.rooms is None


def test_a_camera_without_zones_tracks_nobody_and_counts_in_its_room() -> None:
    """Track ids serve a camera's zones only: without zones it runs no tracker, and its people still
    reach the room (the room gives them ids on the floor)."""
    config = site()
    cameras = [camera.model_copy(update={"zones": []}) for camera in config.cameras]
    config = config.model_copy(update={"cameras": cameras})
    detectors, registry, metrics, rooms = two_cameras(config)
    pipelines = {
        camera.id: CameraPipeline(camera, detectors[camera.id], TrackerConfig(), metrics, rooms=rooms)
        for camera in config.cameras
    }
    assert all(p.tracker is None for p in pipelines.values())
    for step in range(3):
        for pipeline in pipelines.values():
            result = pipeline.analyse(Frame(STILL, step * 0.5, 1.7e9 + step * 0.5))
            assert (result.zones, result.people) == ([], len(detectors[pipeline.camera.id].people))
    assert registry.get_sample_value("wartezone_zone_occupancy", ROOM) == 2
    assert registry.get_sample_value("wartezone_zone_entries_total", ROOM) == 2
    assert pipelines["left"].end_visits() == []
