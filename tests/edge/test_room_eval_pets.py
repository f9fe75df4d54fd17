"""The room on PETS' virtual cameras (tests/edge/room_pets.py) through `wartezone eval --room`
with the real detector: people in overlaps counted once, nobody outside the room counted, the
merged count close to the real view's own, and the merging a small share of the analysis."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load_config
from edge.room_eval import eval_room
from tests.edge.room_pets import make_room_set

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_merged_views_count_the_room_as_the_full_view_does(shared_data: Path, tmp_path: Path) -> None:
    made = make_room_set(tmp_path, every=5, frames=80, data=shared_data)
    merged = eval_room(load_config(made["site"]), made["truth"], progress=False).as_dict()
    full = eval_room(load_config(made["full"]), made["truth"], progress=False).as_dict()
    print({"merged": merged, "full": full})  # the figures, with -s
    assert merged["steps"] == full["steps"] == 80 and merged["partial"] == 0
    ways = merged["ways"]
    assert isinstance(ways, dict)
    overlap = merged["overlap_times_counted"]
    assert isinstance(overlap, float) and 0.95 <= overlap <= 1.1
    # People just outside the room's edge may be counted: a floor point is 0.1 to 0.3 m off.
    outside, counted = merged["outside_people"], merged["outside_counted"]
    assert isinstance(outside, int) and isinstance(counted, int) and outside > 0 and counted <= 0.05 * outside
    assert ways["merged"]["mae"] <= full["ways"]["full"]["mae"] + 0.5  # type: ignore[index]
    # No phantoms of its own: a faint box left standing beside the motion windows read +0.2 here.
    assert ways["merged"]["bias"] <= full["ways"]["full"]["bias"] + 0.1  # type: ignore[index]
    # Each camera alone sees part of the room: merged beats every one of them.
    assert all(ways["merged"]["mae"] < ways[c]["mae"] for c in ("west", "middle", "east"))
