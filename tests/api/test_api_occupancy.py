"""Occupancy input: the pinned edge exposition, direct scraping, and a real Prometheus server."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from api_support import LEAD_HEADERS, FakeClock, FakeEdge, ServerThread, client_for, exposition
from fastapi.testclient import TestClient

from api import occupancy
from api.app import create_app
from api.domain import Snapshot, Unknown, Why, ZoneKey
from api.occupancy import (
    ZONE_INFO_SERIES,
    Bounds,
    InputError,
    PrometheusSource,
    Sample,
    ScrapeSource,
    samples_from_exposition,
    snapshot_from_samples,
)
from api.settings import LimitSettings, PrometheusInput, ScrapeInput, Settings
from tests.support import free_port, wait_for
from wartezone_contract import ROOM_CAMERA

CONTRACT = Path(__file__).resolve().parent.parent / "contract" / "edge_exposition.prom"
WAITING = ZoneKey("north", "entrance", "waiting")
QUEUE = ZoneKey("north", "entrance", "queue")
CONTRACT_LAST_FRAME = 1.7643e9
ROOM = ZoneKey("north", ROOM_CAMERA, "wartebereich")


def test_contract_exposition_through_the_scrape_input() -> None:
    """The API side of the edge/API contract: the pinned file read by the real parsing code."""
    samples = samples_from_exposition(CONTRACT.read_text(encoding="utf-8"))
    snapshot = snapshot_from_samples(samples, now=CONTRACT_LAST_FRAME + 1, stale_after_s=30)
    assert {key: (r.occupancy, r.at, r.partial) for key, r in snapshot.zones.items()} == {
        WAITING: (7.0, CONTRACT_LAST_FRAME, False),
        QUEUE: (2.0, CONTRACT_LAST_FRAME, False),
        ROOM: (9.0, CONTRACT_LAST_FRAME, True),  # a camera of the room is late: at least 9
    }
    assert snapshot.room_members == {}  # the box counts its room itself: queue's room is not added up
    # Camera "hall" is down: its zones are unknown (none of them reads 0), with the reason.
    assert snapshot.cameras_down == {("north", "hall"): Why(Unknown.CAMERA_DOWN, "camera down")}
    assert snapshot.problems == ()


def test_contract_exposition_scraped_over_http(fake_edge: FakeEdge) -> None:
    fake_edge.text = CONTRACT.read_text(encoding="utf-8")
    source = ScrapeSource(ScrapeInput(targets=[fake_edge.url]), FakeClock(CONTRACT_LAST_FRAME + 5))
    snapshot = asyncio.run(_read_and_close(source))
    assert snapshot.zones[WAITING].occupancy == 7.0 and set(snapshot.zones) == {WAITING, QUEUE, ROOM}
    assert snapshot.zones[ROOM].partial
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


def test_promql_input_reads_a_partial_room(prometheus: str, fake_edge: FakeEdge) -> None:
    """The contract's room through PromQL: a zone of camera "floor", its count marked partial."""
    fake_edge.text = CONTRACT.read_text(encoding="utf-8")
    clock = FakeClock(CONTRACT_LAST_FRAME + 5)  # the page's frame times are then recent
    source = PrometheusSource(PrometheusInput(type="prometheus", url=prometheus), clock)

    async def scenario() -> Snapshot:
        deadline = time.monotonic() + 20
        while True:
            snapshot = await source.read()
            if ROOM in snapshot.zones or time.monotonic() > deadline:
                await source.aclose()
                return snapshot
            await asyncio.sleep(0.3)

    snapshot = asyncio.run(scenario())
    assert {k: (r.occupancy, r.partial) for k, r in snapshot.zones.items()} == {
        WAITING: (7.0, False),
        QUEUE: (2.0, False),
        ROOM: (9.0, True),
    }


PARTIAL = 'wartezone_zone_partial{site="north",camera="floor",zone="hall"} '
ROOM_LINES = (
    'wartezone_zone_occupancy{site="north",camera="floor",zone="hall"} 4\n'
    'wartezone_camera_up{site="north",camera="floor"} 1\n'
)


@pytest.mark.parametrize(
    ("partial", "expected"),
    [("", False), ("0", False), ("1", True), ("NaN", False)],
    ids=["no series", "every camera counts", "a camera lacks", "no value"],
)
def test_a_room_lacking_a_camera_reads_partial(partial: str, expected: bool) -> None:
    text = (
        HEAD + ROOM_LINES + (f"# TYPE wartezone_zone_partial gauge\n{PARTIAL}{partial}\n" if partial else "")
    )
    snapshot = snapshot_from_samples(samples_from_exposition(text), now=1000.0, stale_after_s=30)
    room = snapshot.zones[ZoneKey("north", ROOM_CAMERA, "hall")]
    assert (room.occupancy, room.partial) == (4.0, expected)


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


# -- limits: what one edge box can make the API hold (settings `limits`) ---------------------------

BAD_IDS = ["<svg onload=alert(1)>", "z'); DROP TABLE rules;--", "Waiting", "x" * 64]
LIMITS = LimitSettings(zones_per_target=3, name_chars=10)


def page(zones: dict[tuple[str, str], str], site: str = "north") -> str:
    """An edge's page with these zones ((camera, zone) -> name), each counted, every camera up."""
    cameras = {c: True for c, _ in zones}
    return exposition(site, dict.fromkeys(zones, 1.0), cameras, dict.fromkeys(cameras, 1000.0), zones)


@pytest.mark.parametrize(
    ("zones", "kept", "problem"),
    [
        ({}, [], None),
        ({("a", f"z{i}"): f"Z{i}" for i in range(3)}, ["z0", "z1", "z2"], None),
        ({("a", f"z{i}"): f"Z{i}" for i in range(5)}, ["z0", "z1", "z2"], "reports 5 zones, more than"),
        (
            {("a", f"z{i}"): f"Z{i}" for i in range(1000)},
            ["z0", "z1", "z2"],
            "reports 1000 zones, more than limits.zones_per_target (3): the first 3 are read",
        ),
        ({("a", bad): "B" for bad in BAD_IDS} | {("a", "ok"): "O"}, ["ok"], ": 8 series ignored"),
        ({("<b>", "ok"): "B", ("a", "ok"): "O"}, ["ok"], ": 4 series ignored"),
    ],
    ids=["empty", "at the limit", "over", "1000 over", "bad zone ids", "bad camera id"],
)
def test_a_page_is_read_within_the_limits(
    zones: dict[tuple[str, str], str], kept: list[str], problem: str | None
) -> None:
    samples, problems = Bounds(LIMITS).read("http://edge/metrics", page(zones))
    snapshot = snapshot_from_samples(samples, now=1001.0, stale_after_s=30, problems=problems)
    assert [key.zone for key in snapshot.reported] == kept
    assert sorted(key.zone for key in snapshot.zones) == sorted(kept)
    assert (problem is None) == (not snapshot.problems), snapshot.problems
    if problem:
        assert any(problem in p and p.startswith("http://edge/metrics") for p in snapshot.problems)
    assert not any(bad in p for p in snapshot.problems for bad in BAD_IDS)  # named in the log only


@pytest.mark.parametrize(
    ("name", "shown"), [("", "z"), ("Wartebereich", "Wartebere…"), ("Halle Süd", "Halle Süd")]
)
def test_long_display_names_are_cut(name: str, shown: str) -> None:
    samples, problems = Bounds(LIMITS).read("edge", page({("a", "z"): name}))
    assert snapshot_from_samples(samples, 1001.0, 30).reported == {ZoneKey("north", "a", "z"): shown}
    assert problems == []


def test_refused_labels_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    bounds = Bounds(LIMITS)
    text = page({("a", bad): "B" for bad in BAD_IDS})
    for _ in range(3):
        bounds.read("edge-1", text)
    bounds.read("edge-2", text)
    refused = [r.getMessage() for r in caplog.records if "is not an id" in r.msg]
    assert len(refused) == 2 * len(BAD_IDS)  # once per target and label value
    assert all(r.startswith(("edge-1: ", "edge-2: ")) for r in refused)


def test_the_prometheus_input_bounds_each_instance() -> None:
    bounds_of = PrometheusSource(
        PrometheusInput(type="prometheus", url="http://prometheus:9090"), FakeClock(), limits=LIMITS
    )
    samples = [
        Sample(ZONE_INFO_SERIES, {"site": "n", "camera": "c", "zone": f"z{i}", "instance": instance}, 1.0)
        for instance in ("edge-1:9464", "edge-2:9464")
        for i in range(5)
    ]
    kept, problems = bounds_of._within_limits(samples)
    assert [(s.labels["instance"], s.labels["zone"]) for s in kept] == [
        (instance, f"z{i}") for instance in ("edge-1:9464", "edge-2:9464") for i in range(3)
    ]
    assert [p.split(" ")[0] for p in problems] == ["edge-1:9464", "edge-2:9464"]


def test_a_hostile_edge_is_bounded_and_the_api_answers(
    make_settings: Callable[..., Settings], fake_edge: FakeEdge, caplog: pytest.LogCaptureFixture
) -> None:
    """1,000 zones and ids that break the pattern from one edge: the first 200 are listed, the
    problem is named, bad ids are neither listed nor stored, and the API keeps answering."""
    fake_edge.names = {("entrance", f"z{i:04d}"): f"Zone {i}" for i in range(1000)}
    fake_edge.names |= {("entrance", bad): "Evil" for bad in BAD_IDS[:2]}
    fake_edge.set(dict.fromkeys(fake_edge.names, 1.0))
    settings = make_settings(input={"targets": [fake_edge.url], "interval_s": 0.2})
    server = ServerThread(create_app(settings)).start()
    try:
        with client_for(server) as client:
            wait_for(lambda: client.get("/api/v1/zones").json()["zones"], 20, "a first read")
            for _ in range(10):  # several reads, each answered while the edge is read
                began = time.perf_counter()
                health = client.get("/api/v1/health")
                assert health.status_code == 200 and time.perf_counter() - began < 1.0
                time.sleep(0.1)
            zones = client.get("/api/v1/zones").json()
        problems = health.json()["problems"]
    finally:
        server.stop()
    listed = [z["zone"] for z in zones["zones"]]
    assert listed == [f"z{i:04d}" for i in range(200)]
    assert any("reports 1000 zones, more than limits.zones_per_target (200)" in p for p in problems)
    with sqlite3.connect(settings.database) as db:  # the minute so far is stored on the way out
        stored = {row[0] for row in db.execute("SELECT DISTINCT zone FROM readings")}
    assert stored == set(listed)
    refused = [r.getMessage() for r in caplog.records if r.name == "api.occupancy" and "is not an" in r.msg]
    assert len(refused) == 2 and all(BAD_IDS[0][:8] in m or "DROP TABLE" in m for m in refused)


@pytest.mark.parametrize("rules", [1, 2])
def test_rules_beyond_the_limit_are_refused_with_words(
    make_settings: Callable[..., Settings], fake_edge: FakeEdge, rules: int
) -> None:
    fake_edge.names = {("entrance", z): z for z in ("a", "b", "c")}
    settings = make_settings(input={"targets": [fake_edge.url], "interval_s": 0.1}, limits={"rules": rules})
    rule = {"raise_level": 5, "clear_level": 2}
    with TestClient(create_app(settings)) as client:
        wait_for(lambda: client.get("/api/v1/zones", headers=LEAD_HEADERS).json()["zones"], 10, "a read")
        put = [
            client.put(f"/api/v1/rules/north/entrance/{z}", json=rule, headers=LEAD_HEADERS) for z in "abc"
        ]
        again = client.put("/api/v1/rules/north/entrance/a", json=rule, headers=LEAD_HEADERS)
    assert [r.status_code for r in put] == [200] * rules + [409] * (3 - rules)
    assert put[-1].json()["error"]["message"] == (
        f"{rules} rules are set, as many as limits.rules allows: remove one or raise the limit"
    )
    assert again.status_code == 200  # a rule replaced is no new rule


INFO = "# TYPE wartezone_zone_info gauge\nwartezone_zone_info{"


@pytest.mark.parametrize(
    ("labels", "reported", "refused"),
    [
        ('site="north",camera="a",zone="z",name="Z"', {"z": "Z"}, 0),
        ('site="north",camera="a",subzone="<x>",zone="z",name="Z"', {"z": "Z"}, 0),
        ('name="a\\",zone=\\"<svg>",site="north",camera="a",zone="z"', {"z": 'a",zone="…'}, 0),  # cut at 10
        ('site="north",camera="a",zone="z\\"x",name="Z"', {}, 1),
        ('site="north",camera="a", zone="Z",name="Z"', {}, 1),
    ],
    ids=["plain", "a label ending in zone", "zone= inside a name", "escaped quote in an id", "upper case"],
)
def test_ids_are_read_as_the_parser_reads_them(labels: str, reported: dict[str, str], refused: int) -> None:
    """The look at the labels before the parser never takes part of another label for an id."""
    samples, problems = Bounds(LIMITS).read("edge", INFO + labels + "} 1\n")
    assert {k.zone: name for k, name in snapshot_from_samples(samples, 1.0, 30).reported.items()} == reported
    assert len(problems) == refused


def test_refused_labels_logged_are_bounded(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(occupancy, "LOGGED_MAX", 3)
    bounds = Bounds(LIMITS)
    for round_ in range(2):  # ten bad ids a read, new ones in the second
        bounds.read("edge", page({("a", f"Z{round_}{i}"): "B" for i in range(10)}))
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 4 and logged[-1] == "more labels refused than the 3 named so far: no longer logged"
