"""The edge side of the edge/API contract: the exposition still has the pinned names, types, labels."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from edge.config import Config
from edge.detect.base import ModelInfo
from edge.metrics import EdgeMetrics
from edge.zones.accounting import ZoneReading

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
                        {"id": "waiting", "name": "Wartebereich Süd", "polygon": [[0, 0], [1, 0], [1, 1]]}
                    ],
                },
                {
                    "id": "hall",
                    "source": {"type": "file", "path": "b.mp4"},
                    "zones": [{"id": "bench", "polygon": [[0, 0], [1, 0], [1, 1]]}],
                },
            ],
        }
    )
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "onnxruntime", "960x1280"))
    metrics.record_frame("entrance", 1.7e9, 0.1, [ZoneReading("waiting", 7, 7, 1, 1900.0, 0)])
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
    assert {s.labels["camera"] for s in occupancy.samples} == {"entrance"}


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
