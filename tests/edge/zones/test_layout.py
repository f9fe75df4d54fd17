"""Layouts that give confident wrong numbers are named before anything runs: a zone that crosses
itself, a mask over most of a zone, zones that overlap."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from edge.config import CameraConfig, parse_config
from edge.service import EdgeService
from edge.zones.layout import crosses_itself, layout_warnings
from tests.edge.test_service import ScriptedDetector

SQUARE = [(0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)]
BOW_TIE = [(0.1, 0.1), (0.5, 0.5), (0.5, 0.1), (0.1, 0.5)]
RIGHT = [(0.6, 0.1), (0.9, 0.1), (0.9, 0.5), (0.6, 0.5)]
SHIFTED = [(0.3, 0.1), (0.7, 0.1), (0.7, 0.5), (0.3, 0.5)]  # half over SQUARE
TOUCHING = [(0.5, 0.1), (0.9, 0.1), (0.9, 0.5), (0.5, 0.5)]  # shares an edge with SQUARE


@pytest.mark.parametrize(
    ("polygon", "crosses"),
    [
        ([(0, 0), (1, 0), (0, 1)], False),
        (SQUARE, False),
        (BOW_TIE, True),
        ([(0.1, 0.1), (0.9, 0.1), (0.5, 0.3), (0.9, 0.5), (0.1, 0.5)], False),  # concave, not crossing
        (
            [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.5, 0.05), (0.1, 0.9)],
            True,
        ),  # a point pulled across the top
    ],
)
def test_a_zone_that_crosses_itself_is_found(polygon: list[tuple[float, float]], crosses: bool) -> None:
    assert crosses_itself(polygon) is crosses


def camera(
    zones: list[list[tuple[float, float]]], masks: list[list[tuple[float, float]]] | None = None
) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "door",
            "source": {"type": "file", "path": "unused.mp4"},
            "zones": [{"id": f"z{i}", "polygon": polygon} for i, polygon in enumerate(zones)],
            "privacy_masks": masks or [],
        }
    )


@pytest.mark.parametrize(
    ("zones", "masks", "expected"),
    [
        ([SQUARE], [], []),
        ([SQUARE, RIGHT], [], []),
        ([SQUARE, TOUCHING], [], []),  # a shared edge is no overlap
        ([BOW_TIE], [], ["camera door, zone z0: its outline crosses itself"]),
        (
            [SQUARE],
            [[(0.0, 0.0), (1.0, 0.0), (1.0, 0.4), (0.0, 0.4)]],
            ["zone z0: privacy masks blank 75% of it"],
        ),
        ([SQUARE], [[(0.0, 0.0), (1.0, 0.0), (1.0, 0.2), (0.0, 0.2)]], []),  # a quarter: fine
        ([SQUARE, SHIFTED], [], ["zones z0 and z1 overlap (5"]),  # half of the smaller, to the raster
    ],
    ids=["one", "apart", "touching", "bow-tie", "mask-most", "mask-some", "overlap"],
)
def test_layout_warnings_name_the_camera_the_zone_and_what_to_do(
    zones: list[list[tuple[float, float]]], masks: list[list[tuple[float, float]]], expected: list[str]
) -> None:
    warnings = layout_warnings(camera(zones, masks))
    assert len(warnings) == len(expected), warnings
    for warning, words in zip(warnings, expected, strict=True):
        assert words in warning


def test_edge_run_logs_each_layout_warning_at_start(
    demo_video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data: dict[str, Any] = {
        "site": "north",
        "metrics": {"port": 0},
        "cameras": [
            {
                "id": "door",
                "source": {"type": "file", "path": str(demo_video)},
                "zones": [{"id": "a", "polygon": SQUARE}, {"id": "b", "polygon": SHIFTED}],
            }
        ],
    }
    with caplog.at_level(logging.WARNING, logger="edge.service"):
        EdgeService(parse_config(data, Path(".")), detector=ScriptedDetector())
    (record,) = caplog.records
    assert record.getMessage().startswith("camera door: zones a and b overlap (5")
    assert record.getMessage().endswith("% of the smaller): people there count in both")
