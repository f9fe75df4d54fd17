"""The expected wait for someone arriving now, per zone: the exits of the last 15 minutes kept by
the API itself where it scrapes the edge (counter resets as Prometheus counts them), asked of
Prometheus where it reads PromQL, and people waiting now / those exits, by wartezone_contract's
formula, in the zone view; unknown (null) while the count is unknown or too few left."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from api_support import FakeClock, FakeEdge
from prometheus_client import CollectorRegistry, generate_latest

from api.domain import Reading, Snapshot, Unknown, Why, ZoneKey
from api.metrics import ApiMetrics
from api.occupancy import PrometheusSource, ScrapeSource, samples_from_exposition, snapshot_from_samples
from api.readings import ExitWindow, counter_increase
from api.service import Runtime
from api.settings import PrometheusInput, ScrapeInput, Settings
from edge.config import Config
from edge.detect.base import ModelInfo
from edge.metrics import EdgeMetrics
from edge.zones.accounting import ZoneReading
from wartezone_contract import EXPECTED_WAIT_WINDOW_S

WAITING = ZoneKey("north", "entrance", "waiting")
QUEUE = ZoneKey("north", "entrance", "queue")
W = EXPECTED_WAIT_WINDOW_S


@pytest.mark.parametrize(
    ("previous", "value", "gain"),
    [
        (None, 7.0, 0.0),  # the first read is a baseline, not 7 people leaving at once
        (7.0, 7.0, 0.0),
        (7.0, 10.0, 3.0),
        (10.0, 2.0, 2.0),  # the edge restarted: counted from 0
        (10.0, 0.0, 0.0),
    ],
)
def test_counter_increase_counts_resets_as_prometheus_does(
    previous: float | None, value: float, gain: float
) -> None:
    assert counter_increase(previous, value) == gain


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        ([], {}),
        ([(0, {WAITING: 10.0})], {}),  # one read does not reach back 15 minutes
        ([(0, {WAITING: 10.0}), (W - 1, {WAITING: 14.0})], {}),  # nor do 899 s
        ([(0, {WAITING: 10.0}), (W / 2, {WAITING: 12.0}), (W, {WAITING: 16.0})], {WAITING: 6.0}),
        # the window slides: what left before its start no longer counts
        ([(0, {WAITING: 10.0}), (100, {WAITING: 11.0}), (W, {WAITING: 16.0}), (W + 100, {WAITING: 17.0})],
         {WAITING: 6.0}),
        # the edge restarted between two reads: 4, then 2 from 0, then 3
        ([(0, {WAITING: 10.0}), (300, {WAITING: 14.0}), (600, {WAITING: 2.0}), (W, {WAITING: 5.0})],
         {WAITING: 9.0}),
        # reads that failed in between (the zone missing from them) lose nothing
        ([(0, {WAITING: 10.0}), (300, {}), (600, {}), (W, {WAITING: 13.0})], {WAITING: 3.0}),
        # a zone first seen later has its figure only once its reads reach back the window
        ([(0, {WAITING: 1.0}), (100, {WAITING: 1.0, QUEUE: 5.0}), (W, {WAITING: 4.0, QUEUE: 9.0})],
         {WAITING: 3.0}),
        # a zone not read for a whole window is forgotten: its old reads are no baseline
        ([(0, {WAITING: 1.0, QUEUE: 5.0}), (W + 1, {WAITING: 2.0}), (2 * W, {WAITING: 3.0, QUEUE: 9.0})],
         {WAITING: 2.0}),
    ],
    ids=["empty", "one read", "short", "whole window", "slides", "reset", "failed reads", "new zone",
         "forgotten"],
)  # fmt: skip
def test_the_exit_window(
    reads: list[tuple[float, dict[ZoneKey, float]]], expected: dict[ZoneKey, float]
) -> None:
    window = ExitWindow()
    recent: dict[ZoneKey, float] = {}
    for at, counters in reads:
        recent = window.observe(at, counters)
    assert recent == expected


def test_an_exit_window_needs_a_length() -> None:
    with pytest.raises(ValueError, match="window_s: must be > 0, got 0"):
        ExitWindow(0)


EXPOSITION = """# TYPE wartezone_zone_occupancy gauge
wartezone_zone_occupancy{site="north",camera="entrance",zone="waiting"} 6
# TYPE wartezone_camera_up gauge
wartezone_camera_up{site="north",camera="entrance"} 1
# TYPE wartezone_zone_entries counter
wartezone_zone_entries_total{site="north",camera="entrance",zone="waiting"} 40
wartezone_zone_entries_created{site="north",camera="entrance",zone="waiting"} 1.7e9
# TYPE wartezone_zone_exits counter
wartezone_zone_exits_total{site="north",camera="entrance",zone="waiting"} 34
wartezone_zone_exits_total{site="north",camera="entrance"} 3
"""


def test_the_counters_are_read_from_the_exposition() -> None:
    snapshot = snapshot_from_samples(samples_from_exposition(EXPOSITION), now=1000.0, stale_after_s=30)
    assert snapshot.entries_total == {WAITING: 40.0} and snapshot.exits_total == {WAITING: 34.0}
    assert snapshot.problems == (
        "wartezone_zone_exits_total sample without a zone label: {'site': 'north', 'camera': 'entrance'}",
    )


def test_the_counters_of_the_edge_s_own_exposition_are_read() -> None:
    """The edge's real registry (tests/contract/edge_exposition.prom does not pin the counters yet)."""
    zone = {"id": "waiting", "polygon": [[0, 0], [1, 0], [1, 1]]}
    camera = {"id": "entrance", "source": {"type": "file", "path": "a.mp4"}, "zones": [zone]}
    config = Config.model_validate({"site": "north", "cameras": [camera]})
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "onnxruntime", "960x1280"))
    metrics.record_frame("entrance", 1000.0, 0.1, [ZoneReading("waiting", 2, 2, 0, 30.0, 5, (12.0, 40.0))])
    samples = samples_from_exposition(generate_latest(registry).decode())
    snapshot = snapshot_from_samples(samples, now=1001.0, stale_after_s=30)
    assert (snapshot.entries_total, snapshot.exits_total) == ({WAITING: 5.0}, {WAITING: 2.0})


def test_the_scrape_input_keeps_the_exits_of_the_window(fake_edge: FakeEdge) -> None:
    clock = FakeClock(time.time())
    source = ScrapeSource(ScrapeInput(targets=[fake_edge.url], stale_after_s=3600), clock)
    fake_edge.set({("entrance", "waiting"): 6})

    async def reads() -> list[Snapshot]:
        seen = []
        try:
            for exits, later in ((10, 0.0), (14, W / 2), (19, W / 2)):
                fake_edge.exits = {("entrance", "waiting"): exits}
                clock.advance(later)
                seen.append(await source.read())
        finally:
            await source.aclose()
        return seen

    first, half, whole = asyncio.run(reads())
    assert first.recent_exits == {} and half.recent_exits == {}  # not 15 minutes seen yet
    assert whole.recent_exits == {WAITING: 9.0}


class Reads:
    """The occupancy input at the edge of the unit: whatever snapshot the test gives it next."""

    def __init__(self) -> None:
        self.next = Snapshot(0.0)

    async def read(self) -> Snapshot:
        return self.next

    async def aclose(self) -> None:
        pass


@pytest.fixture
def runtime(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    service = Runtime.open(make_settings(), ApiMetrics(CollectorRegistry()), FakeClock(), Reads())
    yield service
    asyncio.run(service.stop())


@pytest.mark.parametrize(
    ("occupancy", "recent_exits", "down", "expected"),
    [
        (6.0, 9.0, False, 600.0),  # 6 waiting, 9 left in 15 min: 10 minutes
        (0.0, 9.0, False, 0.0),  # people were called and nobody waits
        (6.0, 2.0, False, None),  # too few left to say
        (6.0, None, False, None),  # not 15 minutes of exits yet
        (None, 9.0, True, None),  # the camera is down: unknown, whatever left before
        (6.4, 7.0, False, 823.0),  # whole seconds
        (6.0, 9.0, "partial", None),  # a room lacking a camera: at least 6, so no wait that reads short
    ],
)
def test_the_zone_view_carries_the_expected_wait(
    runtime: Runtime,
    occupancy: float | None,
    recent_exits: float | None,
    down: bool | str,
    expected: float | None,
) -> None:
    t = FakeClock().now()
    runtime.apply(
        Snapshot(
            t,
            zones={} if occupancy is None else {WAITING: Reading(occupancy, t, down == "partial")},
            cameras_down={("north", "entrance"): Why(Unknown.CAMERA_DOWN, "camera down")}
            if down is True
            else {},
            reported={WAITING: "Wartebereich Süd"},
            complete=True,
            recent_exits={} if recent_exits is None else {WAITING: recent_exits},
        )
    )
    zone = runtime.zone(WAITING)
    assert zone is not None and zone.expected_wait_s == expected
    assert [z.expected_wait_s for z in runtime.zone_list().zones] == [expected]


@pytest.mark.live_server
def test_the_promql_input_asks_prometheus_for_the_exits(prometheus: str, fake_edge: FakeEdge) -> None:
    fake_edge.exits = {("entrance", "waiting"): 10}
    fake_edge.set({("entrance", "waiting"): 6})
    source = PrometheusSource(PrometheusInput(type="prometheus", url=prometheus), FakeClock(time.time()))

    async def read_until(condition: Callable[[Snapshot], bool]) -> Snapshot:
        deadline = time.monotonic() + 20
        while True:
            snapshot = await source.read()
            if condition(snapshot) or time.monotonic() > deadline:
                return snapshot
            await asyncio.sleep(0.3)

    async def scenario() -> tuple[Snapshot, Snapshot]:
        try:
            before = await read_until(lambda s: WAITING in s.recent_exits and WAITING in s.zones)
            await asyncio.sleep(1.5)
            fake_edge.exits = {("entrance", "waiting"): 19}  # nine people called
            after = await read_until(lambda s: s.recent_exits.get(WAITING, 0) >= 9)
        finally:
            await source.aclose()
        return before, after

    before, after = asyncio.run(scenario())
    assert before.recent_exits[WAITING] == 0  # nobody left yet: a figure, and too few to say
    # Prometheus' increase() stretches what it saw to the window's edge: 9 and a little more.
    assert 9 <= after.recent_exits[WAITING] < 12, after.recent_exits
    assert after.problems == ()
