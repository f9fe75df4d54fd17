"""The edge's terminal line: per zone the people now, how many are over the zone's dwell limit
(the loitering limit, never called just "limit": the staffing rule's limit is the API's), the
longest dwell; a camera that is not up said as such."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.config import parse_config
from edge.pipeline import FrameResult
from edge.terminal import LiveStatus
from edge.zones.accounting import ZoneReading


def result(*zones: tuple[str, int, int]) -> FrameResult:
    readings = [ZoneReading(zone, people, people, over, 120.0, 0) for zone, people, over in zones]
    return FrameResult(0.0, 0.0, 0, readings, 0.0, 0.0, (480, 640))


@pytest.mark.parametrize(
    ("update", "states", "line"),
    [
        (None, {}, "cam: waiting for frames"),
        (result(), {}, ""),
        (result(("all", 1, 0)), {}, "cam/all: 1 person, 0 over the dwell limit, longest 120 s"),
        (result(("all", 4, 3)), {}, "cam/all: 4 people, 3 over the dwell limit, longest 120 s"),
        (result(("all", 4, 3)), {"cam": "down"}, "cam: camera down"),
    ],
    ids=["no frame yet", "no zone", "one person", "three over the dwell limit", "camera down"],
)
def test_the_terminal_line_names_the_dwell_limit(
    config_dict: Callable[..., dict[str, Any]], update: FrameResult | None, states: dict[str, str], line: str
) -> None:
    out = io.StringIO()
    status = LiveStatus(parse_config(config_dict(), Path.cwd(), environment={}), out)
    if update is not None:
        status.update("cam", update)
    status.print_if_due(0.0, states)
    assert out.getvalue().split(" ", 1)[1].rstrip("\n") == line
