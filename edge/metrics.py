"""Prometheus exposition of the edge box. Labels are site, camera and zone only: aggregates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import wartezone_contract as contract
from edge.config import Config, room_cameras
from edge.detect.base import ModelInfo
from edge.zones.accounting import ZoneReading

# Waiting rooms: a quick look-in lasts seconds, a normal wait minutes, a bad day hours.
DWELL_BUCKETS_S = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800, 14400)
LATENCY_BUCKETS_S = (0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)
ZONE_LABELS = contract.ZONE_LABELS
CAMERA_LABELS = contract.CAMERA_LABELS
# What a camera's runner counts besides analysed frames.
CameraEvent = Literal["reconnects", "stalls", "dropped", "analysis_errors"]
ROOM = contract.ROOM_CAMERA


@dataclass(frozen=True, slots=True)
class _ZoneNow:
    occupancy: int
    loitering: int
    longest_dwell_s: float


class _ZoneStateCollector(Collector):
    """Current state read at scrape time from the latest snapshot of each camera."""

    def __init__(self, site: str) -> None:
        self._site = site
        self._lock = threading.Lock()
        self._now: dict[tuple[str, str], _ZoneNow] = {}

    def publish(self, camera: str, readings: list[ZoneReading]) -> None:
        with self._lock:
            for r in readings:
                self._now[(camera, r.zone)] = _ZoneNow(r.occupancy, r.loitering, r.longest_dwell_s)

    def forget(self, camera: str, zone: str | None = None) -> None:
        """A camera (or one zone of it) that is not analysed has unknown occupancy: its series
        disappear, never read 0."""
        with self._lock:
            self._now = {
                key: v for key, v in self._now.items() if key[0] != camera or zone not in (None, key[1])
            }

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = dict(self._now)
        occupancy = GaugeMetricFamily(
            contract.ZONE_OCCUPANCY,
            "People in the zone now (median of recent frames).",
            labels=ZONE_LABELS,
        )
        loitering = GaugeMetricFamily(
            contract.ZONE_LOITERING,
            "People in the zone longer than its loitering limit now.",
            labels=ZONE_LABELS,
        )
        longest = GaugeMetricFamily(
            contract.ZONE_LONGEST_DWELL,
            "How long the longest-staying person now in the zone has been there.",
            labels=ZONE_LABELS,
        )
        for (camera, zone), state in sorted(now.items()):
            labels = [self._site, camera, zone]
            occupancy.add_metric(labels, state.occupancy)
            loitering.add_metric(labels, state.loitering)
            longest.add_metric(labels, state.longest_dwell_s)
        yield occupancy
        yield loitering
        yield longest


class EdgeMetrics:
    """Every metric the edge box exports, declared once on the registry it is given."""

    def __init__(self, registry: CollectorRegistry, config: Config, model: ModelInfo) -> None:
        self.site = config.site
        self._state = _ZoneStateCollector(config.site)
        registry.register(self._state)
        self.entries = Counter(
            contract.ZONE_ENTRIES, "People who entered the zone.", ZONE_LABELS, registry=registry
        )
        self.exits = Counter(contract.ZONE_EXITS, "People who left the zone.", ZONE_LABELS, registry=registry)
        self.dwell = Histogram(
            contract.ZONE_DWELL,
            "Time people spent in the zone, observed when they leave.",
            ZONE_LABELS,
            buckets=DWELL_BUCKETS_S,
            registry=registry,
        )
        self.frames_analysed = Counter(
            contract.FRAMES_ANALYSED, "Frames run through the detector.", CAMERA_LABELS, registry=registry
        )
        self.frames_dropped = Counter(
            contract.FRAMES_DROPPED,
            "Frames due for analysis that could not be decoded or analysed.",
            CAMERA_LABELS,
            registry=registry,
        )
        self.detector_latency = Histogram(
            contract.DETECTOR_LATENCY,
            "Wall time of one detector call per analysed frame.",
            CAMERA_LABELS,
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.things = Gauge(
            contract.CAMERA_THINGS,
            "Places where the camera keeps finding a faint box but never a person, left out as things "
            "(a bollard, a door frame; or someone hidden there, seen only faintly, for a long time).",
            CAMERA_LABELS,
            registry=registry,
        )
        self.camera_up = Gauge(
            contract.CAMERA_UP,
            "1 while the camera delivers frames that are analysed, else 0 (its zones are then unknown).",
            CAMERA_LABELS,
            registry=registry,
        )
        self.last_frame = Gauge(
            contract.CAMERA_LAST_FRAME,
            "Unix time of the camera's last analysed frame.",
            CAMERA_LABELS,
            registry=registry,
        )
        self.configured_fps = Gauge(
            contract.CAMERA_CONFIGURED_FPS,
            "Frames per second the camera should be analysed at.",
            CAMERA_LABELS,
            registry=registry,
        )
        self.reconnects = Counter(
            contract.CAMERA_RECONNECTS,
            "Attempts to reconnect to the camera's stream.",
            CAMERA_LABELS,
            registry=registry,
        )
        self.stalls = Counter(
            contract.CAMERA_STALLS,
            "Times the stream stayed open but sent no new frame.",
            CAMERA_LABELS,
            registry=registry,
        )
        self.analysis_errors = Counter(
            contract.ANALYSIS_ERRORS,
            "Frames whose analysis failed (counted and skipped; the next frame is analysed).",
            CAMERA_LABELS,
            registry=registry,
        )
        self.detector_busy = Gauge(
            contract.DETECTOR_BUSY,
            "Share of the last 10 s the shared detector was busy (the mean of its streams); near 1 means "
            "cameras lose frames.",
            ["site"],
            registry=registry,
        )
        info = Info(contract.MODEL_INFO, "The person model in use.", ["site"], registry=registry)
        info.labels(config.site).info(
            {
                "name": model.name,
                "sha256": model.sha256,
                "backend": model.backend,
                "input_size": model.input_size,
                "precision": model.precision,
            }
        )
        correction = Info(
            contract.COUNT_CORRECTION_INFO,
            "The camera's count correction from `wartezone calibrate` (stills 0: none, counts as detected).",
            CAMERA_LABELS,
            registry=registry,
        )
        for camera in config.cameras:
            c = camera.count_correction
            correction.labels(config.site, camera.id).info(
                {"scale": "1", "offset": "0", "stills": "0", "days": "0"}
                if c is None
                else {
                    "scale": f"{c.scale:g}",
                    "offset": f"{c.offset:g}",
                    "stills": str(c.stills),
                    "days": str(c.days),
                }
            )
        zone_info = Info(
            contract.ZONE_INFO,
            "A zone's display name from the config (the id where none is set); value always 1.",
            ZONE_LABELS,
            registry=registry,
        )
        for camera in config.cameras:
            for zone in camera.zones:
                # A zone's room travels with it: the API adds up a room's zones across boxes.
                part_of = {} if zone.room is None else {contract.ZONE_ROOM_LABEL: zone.room}
                zone_info.labels(config.site, camera.id, zone.id).info(
                    {contract.ZONE_NAME_LABEL: zone.name or zone.id, **part_of}
                )
        # Rooms are zones of the reserved camera "floor" (wartezone_contract.ROOM_CAMERA): every room
        # has its name; those this box counts (a calibrated camera of it sees them) their series.
        self.rooms = list(room_cameras(config))
        for room in config.floor.rooms if config.floor else []:
            zone_info.labels(config.site, ROOM, room.id).info(
                {contract.ZONE_NAME_LABEL: room.name or room.id}
            )
        self.zone_partial = Gauge(
            contract.ZONE_PARTIAL,
            "Rooms only: 1 while the room's count lacks a camera (down, or no frame close enough in time): "
            "the count is then a lower bound; 0 while every camera of the room counts.",
            ZONE_LABELS,
            registry=registry,
        )
        # Series exist from the start, so rate() and increase() see the first event.
        for camera in config.cameras:
            self.frames_analysed.labels(self.site, camera.id)
            self.frames_dropped.labels(self.site, camera.id)
            self.camera_up.labels(self.site, camera.id).set(0)
            self.configured_fps.labels(self.site, camera.id).set(camera.fps)
            self.reconnects.labels(self.site, camera.id)
            self.stalls.labels(self.site, camera.id)
            self.analysis_errors.labels(self.site, camera.id)
            for zone in camera.zones:
                self.entries.labels(self.site, camera.id, zone.id)
                self.exits.labels(self.site, camera.id, zone.id)
                self.dwell.labels(self.site, camera.id, zone.id)
        for room_id in self.rooms:
            self.entries.labels(self.site, ROOM, room_id)
            self.exits.labels(self.site, ROOM, room_id)
            self.dwell.labels(self.site, ROOM, room_id)
            self.zone_partial.labels(self.site, ROOM, room_id).set(1)  # no camera has counted it yet
        if self.rooms:
            self.camera_up.labels(self.site, ROOM).set(0)
        self.detector_busy.labels(self.site).set(0)

    def record_frame(
        self, camera: str, wall_time: float, latency_s: float | None, readings: list[ZoneReading]
    ) -> None:
        """latency_s None: the detector did not run (the motion gate let its last finding stand)."""
        self.camera_up.labels(self.site, camera).set(1)
        self.last_frame.labels(self.site, camera).set(wall_time)
        self.frames_analysed.labels(self.site, camera).inc()
        if latency_s is not None:
            self.detector_latency.labels(self.site, camera).observe(latency_s)
        self.record_visits(camera, readings)
        self._state.publish(camera, readings)

    def record_visits(self, camera: str, readings: list[ZoneReading]) -> None:
        for r in readings:
            if r.entries:
                self.entries.labels(self.site, camera, r.zone).inc(r.entries)
            for dwell_s in r.completed_dwells_s:
                self.exits.labels(self.site, camera, r.zone).inc()
                self.dwell.labels(self.site, camera, r.zone).observe(dwell_s)

    def count_camera_event(self, camera: str, event: CameraEvent, count: int = 1) -> None:
        """dropped: frames due for analysis that could not be decoded or were replaced by a newer one."""
        counters = {
            "reconnects": self.reconnects,
            "stalls": self.stalls,
            "dropped": self.frames_dropped,
            "analysis_errors": self.analysis_errors,
        }
        counters[event].labels(self.site, camera).inc(count)

    def set_busy(self, ratio: float) -> None:
        self.detector_busy.labels(self.site).set(ratio)

    def record_room(self, room: str, wall_time: float, reading: ZoneReading, partial: bool) -> None:
        """A room's step: its reading under camera "floor", and whether a camera lacked a frame."""
        self.camera_up.labels(self.site, ROOM).set(1)
        self.last_frame.labels(self.site, ROOM).set(wall_time)
        self.zone_partial.labels(self.site, ROOM, room).set(int(partial))
        self.record_visits(ROOM, [reading])
        self._state.publish(ROOM, [reading])

    def forget_room(self, room: str, ended: ZoneReading) -> None:
        """None of the room's cameras is analysed: its visits ended (`ended`), its occupancy unknown."""
        self.record_visits(ROOM, [ended])
        self.zone_partial.labels(self.site, ROOM, room).set(1)
        self._state.forget(ROOM, room)

    def rooms_down(self) -> None:
        """No camera of any room is analysed."""
        self.camera_up.labels(self.site, ROOM).set(0)

    def set_things(self, camera: str, places: int) -> None:
        self.things.labels(self.site, camera).set(places)

    def forget_camera(self, camera: str) -> None:
        """The camera is not analysed any more: down, and its zones' occupancy unknown."""
        self.camera_up.labels(self.site, camera).set(0)
        self._state.forget(camera)
