"""Occupancy input: the pinned edge exposition, direct scraping, and a real Prometheus server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from api_support import FakeClock, FakeEdge

from api.domain import Snapshot, Unknown, Why, ZoneKey
from api.occupancy import (
    InputError,
    PrometheusSource,
    ScrapeSource,
    samples_from_exposition,
    snapshot_from_samples,
)
from api.settings import PrometheusInput, ScrapeInput
from tests.support import free_port

CONTRACT = Path(__file__).resolve().parent.parent / "contract" / "edge_exposition.prom"
WAITING = ZoneKey("north", "entrance", "waiting")
QUEUE = ZoneKey("north", "entrance", "queue")
CONTRACT_LAST_FRAME = 1.7643e9


def test_contract_exposition_through_the_scrape_input() -> None:
    """The API side of the edge/API contract: the pinned file read by the real parsing code."""
    samples = samples_from_exposition(CONTRACT.read_text(encoding="utf-8"))
    snapshot = snapshot_from_samples(samples, now=CONTRACT_LAST_FRAME + 1, stale_after_s=30)
    assert {key: (r.occupancy, r.at) for key, r in snapshot.zones.items()} == {
        WAITING: (7.0, CONTRACT_LAST_FRAME),
        QUEUE: (2.0, CONTRACT_LAST_FRAME),
    }
    # Camera "hall" is down: its zones are unknown (none of them reads 0), with the reason.
    assert snapshot.cameras_down == {("north", "hall"): Why(Unknown.CAMERA_DOWN, "camera down")}
    assert snapshot.problems == ()


def test_contract_exposition_scraped_over_http(fake_edge: FakeEdge) -> None:
    fake_edge.text = CONTRACT.read_text(encoding="utf-8")
    source = ScrapeSource(ScrapeInput(targets=[fake_edge.url]), FakeClock(CONTRACT_LAST_FRAME + 5))
    snapshot = asyncio.run(_read_and_close(source))
    assert snapshot.zones[WAITING].occupancy == 7.0 and set(snapshot.zones) == {WAITING, QUEUE}
    assert ("north", "hall") in snapshot.cameras_down


async def _read_and_close(source: ScrapeSource | PrometheusSource) -> Snapshot:
    try:
        return await source.read()
    finally:
        await source.aclose()


HEAD = "# TYPE wartezone_zone_occupancy gauge\n"
OCC = 'wartezone_zone_occupancy{site="north",camera="entrance",zone="waiting"} '
UP = 'wartezone_camera_up{site="north",camera="entrance"} '
LAST = 'wartezone_camera_last_frame_timestamp_seconds{site="north",camera="entrance"} '


@pytest.mark.parametrize(
    ("text", "zones", "down", "problem"),
    [
        ("", {}, {}, None),  # the empty page: nothing known, nothing down
        (HEAD + OCC + "4\n" + UP + "1\n" + LAST + "1000\n", {WAITING: 4.0}, {}, None),
        (HEAD + OCC + "4\n" + UP + "0\n", {}, {("north", "entrance"): "camera down"}, None),
        (HEAD + OCC + "4\n", {}, {("north", "entrance"): "exports no wartezone_camera_up"}, None),
        (
            HEAD + OCC + "4\n" + UP + "1\n" + LAST + "900\n",
            {},
            {("north", "entrance"): "no analysed frame"},
            None,
        ),
        (HEAD + OCC + "NaN\n" + UP + "1\n", {}, {}, None),  # no value is unknown, not 0
        (
            HEAD + 'wartezone_zone_occupancy{zone="waiting"} 4\n',
            {},
            {},
            "without site and camera labels",
        ),
        (
            HEAD + 'wartezone_zone_occupancy{site="north",camera="entrance"} 4\n' + UP + "1\n",
            {},
            {},
            "without a zone label",
        ),
    ],
    ids=["empty", "known", "camera down", "no camera_up", "stale", "NaN", "no labels", "no zone"],
)
def test_what_makes_a_zone_unknown(
    text: str, zones: dict[ZoneKey, float], down: dict[tuple[str, str], str], problem: str | None
) -> None:
    snapshot = snapshot_from_samples(samples_from_exposition(text), now=1000.0 + 10, stale_after_s=30)
    assert {k: r.occupancy for k, r in snapshot.zones.items()} == zones
    assert set(snapshot.cameras_down) == set(down)
    for camera, fragment in down.items():
        assert fragment in snapshot.cameras_down[camera].detail
    assert (problem is None) == (not snapshot.problems)
    if problem:
        assert problem in snapshot.problems[0]


def test_garbage_is_an_input_error_naming_the_problem() -> None:
    with pytest.raises(InputError, match="not a Prometheus text exposition"):
        samples_from_exposition('wartezone_zone_occupancy{site="north" 4\n')


def test_a_failed_scrape_makes_the_cameras_it_served_unknown(fake_edge: FakeEdge) -> None:
    other = FakeEdge(site="south")
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    try:
        fake_edge.set({("entrance", "waiting"): 3})
        other.set({("hall", "bench"): 1})
        source = ScrapeSource(ScrapeInput(targets=[fake_edge.url, other.url, dead]), FakeClock(time.time()))

        async def twice() -> tuple[Snapshot, Snapshot]:
            first = await source.read()
            other.status = 503
            second = await source.read()
            await source.aclose()
            return first, second

        first, second = asyncio.run(twice())
    finally:
        other.close()
    assert set(first.zones) == {WAITING, ZoneKey("south", "hall", "bench")}
    [problem] = first.problems
    assert problem.startswith(f"scrape of {dead} failed: ConnectError")
    assert set(second.zones) == {WAITING}
    assert "HTTP 503" in second.cameras_down[("south", "hall")].detail
    assert second.cameras_down[("south", "hall")].kind is Unknown.INPUT_FAILED


# -- a real Prometheus server (the `prometheus` fixture of conftest.py) ----------------------------


def test_promql_input_against_a_real_prometheus(prometheus: str, fake_edge: FakeEdge) -> None:
    fake_edge.set(
        {("entrance", "waiting"): 7, ("entrance", "queue"): 2}, up={"entrance": True, "hall": False}
    )
    source = PrometheusSource(PrometheusInput(type="prometheus", url=prometheus), FakeClock(time.time()))

    async def read_until(condition: object, timeout_s: float) -> Snapshot:
        deadline = time.monotonic() + timeout_s
        while True:
            source.clock = FakeClock(time.time())
            snapshot = await source.read()
            if condition(snapshot) or time.monotonic() > deadline:  # type: ignore[operator]
                return snapshot
            await asyncio.sleep(0.3)

    async def scenario() -> tuple[Snapshot, Snapshot]:
        seen = await read_until(lambda s: WAITING in s.zones, 20)
        fake_edge.status = 500  # the edge stops answering: Prometheus marks its series stale
        gone = await read_until(lambda s: not s.zones, 20)
        await source.aclose()
        return seen, gone

    seen, gone = asyncio.run(scenario())
    assert {k: r.occupancy for k, r in seen.zones.items()} == {WAITING: 7.0, QUEUE: 2.0}
    assert seen.cameras_down == {("north", "hall"): Why(Unknown.CAMERA_DOWN, "camera down")}
    # The display name through PromQL too; a zone without wartezone_zone_info goes by its id.
    assert seen.reported == {WAITING: "Wartebereich Süd", QUEUE: "queue"}
    assert seen.zones[WAITING].at == pytest.approx(time.time(), abs=30)  # the edge's frame time
    assert gone.zones == {}  # unknown, not 0


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("refused", "ConnectError"),
        ("not prometheus", "not a Prometheus API answer"),
    ],
)
def test_promql_input_errors_name_the_problem(fake_edge: FakeEdge, answer: str, fragment: str) -> None:
    url = f"http://127.0.0.1:{free_port()}" if answer == "refused" else fake_edge.url.rsplit("/", 1)[0]
    source = PrometheusSource(PrometheusInput(type="prometheus", url=url), FakeClock(time.time()))
    snapshot = asyncio.run(_read_and_close(source))
    assert snapshot.zones == {} and fragment in snapshot.problems[0] and url in snapshot.problems[0]
