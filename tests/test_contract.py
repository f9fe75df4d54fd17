"""The edge side of the edge/API contract: the exposition still has the pinned names, types, labels."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import wartezone_contract as contract
from edge.config import Config
from edge.detect.base import ModelInfo
from edge.metrics import EdgeMetrics
from edge.zones.accounting import ZoneReading
from edge.zones.room_steps import SiteRooms
from tests.edge.zones.test_room_steps import IN_OVERLAP, LEFT, RIGHT, SIZE, _pairs, people, site

CONTRACT = Path(__file__).parent / "contract" / "edge_exposition.prom"


def _shape(exposition: str) -> dict[str, tuple[str, frozenset[str]]]:
    return {
        family.name: (family.type, frozenset(name for s in family.samples for name in s.labels))
        for family in text_string_to_metric_families(exposition)
    }


def test_edge_exports_the_contracted_families() -> None:
    config = Config.model_validate(
        {
            "site": "north",
            "cameras": [
                {
                    "id": "entrance",
                    "source": {"type": "file", "path": "a.mp4"},
                    "zones": [
                        {"id": "waiting", "name": "Wartebereich Süd", "polygon": [[0, 0], [1, 0], [1, 1]]},
                        {"id": "queue", "room": "wartebereich", "polygon": [[0, 0], [1, 0], [1, 1]]},
                    ],
                    "floor_calibration": {"points": _pairs(0.0)},
                },
                {
                    "id": "hall",
                    "source": {"type": "file", "path": "b.mp4"},
                    "zones": [{"id": "bench", "polygon": [[0, 0], [1, 0], [1, 1]]}],
                },
            ],
            "floor": {"rooms": [{"id": "wartebereich", "polygon": [[0, 0], [12, 0], [12, 8], [0, 8]]}]},
        }
    )
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "onnxruntime", "960x1280"))
    metrics.record_frame("entrance", 1.7e9, 0.1, [ZoneReading("waiting", 7, 7, 1, 1900.0, 0)])
    metrics.record_room("wartebereich", 1.7e9, ZoneReading("wartebereich", 9, 9, 1, 1900.0, 0), True)
    exported = _shape(generate_latest(registry).decode())
    contracted = _shape(CONTRACT.read_text())
    assert contracted, "the contract file lists no metric"
    for name, shape in contracted.items():
        assert exported.get(name) == shape, (
            f"{name}: edge exports {exported.get(name)}, contract says {shape}"
        )
    # A camera never analysed has no occupancy series: unknown, not 0.
    occupancy = next(
        f
        for f in text_string_to_metric_families(generate_latest(registry).decode())
        if f.name == "wartezone_zone_occupancy"
    )
    assert {s.labels["camera"] for s in occupancy.samples} == {"entrance", contract.ROOM_CAMERA}
    # A zone's room travels on its info series (the API adds up a room's zones across boxes), only where set.
    info = next(
        f
        for f in text_string_to_metric_families(generate_latest(registry).decode())
        if f.name == contract.ZONE_INFO + "_info"
    )
    assert {
        s.labels["zone"]: s.labels.get(contract.ZONE_ROOM_LABEL)
        for s in info.samples
        if s.labels["camera"] != contract.ROOM_CAMERA
    } == {"waiting": None, "queue": "wartebereich", "bench": None}


def test_a_zone_display_name_reaches_the_exposition_and_the_id_stands_in_without_one() -> None:
    config = Config.model_validate(
        {
            "site": "north",
            "cameras": [
                {
                    "id": "entrance",
                    "source": {"type": "file", "path": "a.mp4"},
                    "zones": [
                        {"id": "waiting", "name": " Wartebereich Süd ", "polygon": [[0, 0], [1, 0], [1, 1]]},
                        {"id": "queue", "polygon": [[0, 0], [1, 0], [1, 1]]},
                    ],
                }
            ],
        }
    )
    registry = CollectorRegistry()
    EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "onnxruntime", "960x1280"))
    info = next(
        f
        for f in text_string_to_metric_families(generate_latest(registry).decode())
        if f.name == "wartezone_zone_info"
    )
    assert {s.labels["zone"]: s.labels["name"] for s in info.samples} == {
        "waiting": "Wartebereich Süd",
        "queue": "queue",
    }


def test_a_room_is_exported_as_a_zone_of_the_reserved_camera_with_its_partial_flag() -> None:
    config = site()
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "onnxruntime", "960x1280"))
    metrics.record_frame("left", 1.7e9, 0.1, [ZoneReading("left-all", 1, 1, 0, 0.0, 1)])
    rooms = SiteRooms(config, metrics)
    rooms.seen("left", 0.0, 1.7e9, people(IN_OVERLAP, x0=LEFT), SIZE)
    rooms.seen("right", 0.0, 1.7e9, people(IN_OVERLAP, x0=RIGHT), SIZE)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    zone_families = [
        contract.ZONE_OCCUPANCY,
        contract.ZONE_LOITERING,
        contract.ZONE_LONGEST_DWELL,
        contract.ZONE_ENTRIES,
        contract.ZONE_EXITS,
        contract.ZONE_DWELL,
        contract.ZONE_INFO + "_info",
    ]
    for name in zone_families:
        by_camera = {s.labels["camera"]: frozenset(s.labels) for s in families[name].samples}
        assert by_camera.get(contract.ROOM_CAMERA) == by_camera.get("left"), name
    partial = families[contract.ZONE_PARTIAL]
    assert partial.type == "gauge"
    assert [(s.labels, s.value) for s in partial.samples] == [
        ({"site": "north", "camera": contract.ROOM_CAMERA, "zone": "hall"}, 0.0)
    ]
    assert set(contract.ZONE_LABELS) == set(partial.samples[0].labels)
    up = {s.labels["camera"]: s.value for s in families[contract.CAMERA_UP].samples}
    assert up[contract.ROOM_CAMERA] == 1
