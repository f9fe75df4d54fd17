"""The zones the API knows come from the edge's series: display names through the contract, a rule for
a zone no edge reports refused with a suggestion, zones that disappeared listed and removable, the
test alarm, the page session's renewal, and pages that need nothing from another origin."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import DESK, DESK_HEADERS, LEAD, LEAD_HEADERS, SECRET, FakeClock, FakeEdge, Receiver
from fastapi.testclient import TestClient

from api.app import create_app
from api.directory import UnknownZone, ZoneDirectory
from api.domain import Snapshot, Unknown, Why, ZoneKey
from api.occupancy import PrometheusSource, samples_from_exposition, snapshot_from_samples
from api.settings import PrometheusInput, Settings, SettingsError
from tests.support import wait_for
from wartezone_contract import ROOM_CAMERA

CONTRACT = Path(__file__).resolve().parent.parent / "contract" / "edge_exposition.prom"
CONTRACT_NOW = 1.7643e9 + 1
WAITING = ZoneKey("north", "entrance", "waiting")
QUEUE = ZoneKey("north", "entrance", "queue")
BENCH = ZoneKey("north", "hall", "bench")
RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 0}
NAMES = {("entrance", "waiting"): "Wartebereich Süd", ("entrance", "queue"): "Schlange"}


@pytest.fixture
def settings(make_settings: Callable[..., Settings], fake_edge: FakeEdge) -> Settings:
    fake_edge.names = dict(NAMES)
    return make_settings(input={"targets": [fake_edge.url], "interval_s": 0.1})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def zones_by_id(client: TestClient) -> dict[str, dict[str, Any]]:
    body = client.get("/api/v1/zones", headers=DESK_HEADERS).json()
    return {z["zone"]: z for z in body["zones"]}


def listed(client: TestClient, *zones: str) -> bool:
    return set(zones) <= set(zones_by_id(client))


# -- display names through the contract ------------------------------------------------------------


def test_display_names_come_from_the_contract_exposition() -> None:
    snapshot = snapshot_from_samples(
        samples_from_exposition(CONTRACT.read_text(encoding="utf-8")), CONTRACT_NOW, stale_after_s=30
    )
    # Every configured zone, counted or not (bench's camera is down): name, else the id; the room
    # of the floor plan as a zone of camera "floor".
    assert snapshot.reported == {
        WAITING: "Wartebereich Süd",
        QUEUE: "queue",
        BENCH: "bench",
        ZoneKey("north", ROOM_CAMERA, "wartebereich"): "Wartebereich",
    }
    assert snapshot.complete


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ("", {}),  # the empty page: no zone
        ('{site="north",camera="entrance",zone="waiting",name="Süd"}', {WAITING: "Süd"}),
        ('{site="north",camera="entrance",zone="waiting",name="  "}', {WAITING: "waiting"}),  # blank: the id
        ('{site="north",camera="entrance",zone="waiting"}', {WAITING: "waiting"}),  # no name label
    ],
    ids=["empty", "named", "blank name", "no name label"],
)
def test_a_zone_info_series_names_the_zone(info: str, expected: dict[ZoneKey, str]) -> None:
    text = "# TYPE wartezone_zone_info gauge\n" + (f"wartezone_zone_info{info} 1.0\n" if info else "")
    snapshot = snapshot_from_samples(samples_from_exposition(text), 1000.0, stale_after_s=30)
    assert snapshot.reported == expected and snapshot.zones == {}  # named is not counted


def test_a_zone_info_without_a_zone_label_is_a_problem_named() -> None:
    text = '# TYPE wartezone_zone_info gauge\nwartezone_zone_info{site="north",camera="entrance"} 1\n'
    snapshot = snapshot_from_samples(samples_from_exposition(text), 1000.0, stale_after_s=30)
    assert (
        snapshot.reported == {} and "wartezone_zone_info sample without a zone label" in snapshot.problems[0]
    )


def test_the_promql_input_reads_the_names_too() -> None:
    """The same series through Prometheus' HTTP API: the query asks for it, the answer is read."""
    asked: list[str] = []

    def prometheus(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["query"])
        result = [
            {"metric": {"__name__": "wartezone_zone_info", "site": "north", "camera": "entrance",
                        "zone": "waiting", "name": "Wartebereich Süd"}, "value": [1000, "1"]},
            {"metric": {"__name__": "wartezone_zone_occupancy", "site": "north", "camera": "entrance",
                        "zone": "waiting"}, "value": [1000, "4"]},
            {"metric": {"__name__": "wartezone_camera_up", "site": "north", "camera": "entrance"},
             "value": [1000, "1"]},
        ]  # fmt: skip
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(prometheus))
    source = PrometheusSource(
        PrometheusInput(type="prometheus", url="http://prom"), FakeClock(1000.0), client
    )

    async def read() -> Snapshot:
        try:
            return await source.read()
        finally:
            await source.aclose()

    snapshot = asyncio.run(read())
    assert "wartezone_zone_info" in asked[0]
    assert snapshot.reported == {WAITING: "Wartebereich Süd"} and snapshot.zones[WAITING].occupancy == 4
    assert snapshot.complete


def test_names_reach_the_zones_and_the_webhook_events(client: TestClient, fake_edge: FakeEdge) -> None:
    fake_edge.set({("entrance", "waiting"): 7, ("entrance", "queue"): 1})
    wait_for(lambda: listed(client, "waiting", "queue"), 10, "both zones")
    assert {z: v["name"] for z, v in zones_by_id(client).items()} == {
        "waiting": "Wartebereich Süd",
        "queue": "Schlange",
    }
    assert (
        client.put("/api/v1/rules/north/entrance/waiting", json=RULE, headers=LEAD_HEADERS).status_code == 200
    )
    wait_for(lambda: client.get("/api/v1/events", headers=DESK_HEADERS).json(), 10, "the alert event")
    [fired] = client.get("/api/v1/events", headers=DESK_HEADERS).json()
    assert (fired["type"], fired["name"]) == ("alert.fired", "Wartebereich Süd")


def test_the_zone_view_says_which_count_is_partial(settings: Settings, fake_edge: FakeEdge) -> None:
    """The contract's room lacks a camera: GET /zones marks it partial (at least 9), no zone else."""
    fake_edge.text = CONTRACT.read_text(encoding="utf-8")
    with TestClient(create_app(settings, clock=FakeClock(CONTRACT_NOW))) as client:
        wait_for(lambda: zones_by_id(client).get("wartebereich", {}).get("occupancy"), 10, "the room")
        zones = zones_by_id(client)
        assert {z: (v["camera"], v["occupancy"], v["partial"]) for z, v in zones.items()} == {
            "waiting": ("entrance", 7.0, False),
            "queue": ("entrance", 2.0, False),
            "bench": ("hall", None, False),  # unknown, not partial
            "wartebereich": (ROOM_CAMERA, 9.0, True),
        }
        assert zones["wartebereich"]["members"] is None  # counted by its box, not added up
        one = client.get(f"/api/v1/zones/north/{ROOM_CAMERA}/wartebereich", headers=DESK_HEADERS).json()
        assert (one["name"], one["partial"]) == ("Wartebereich", True)
        # At least 9 is over a raise level of 5: the alert fires, and its event says "at least".
        path = f"/api/v1/rules/north/{ROOM_CAMERA}/wartebereich"
        assert client.put(path, json=RULE, headers=LEAD_HEADERS).status_code == 200
        wait_for(lambda: client.get("/api/v1/events", headers=DESK_HEADERS).json(), 10, "the alert event")
        [fired] = client.get("/api/v1/events", headers=DESK_HEADERS).json()
        assert (fired["type"], fired["occupancy"], fired["partial"]) == ("alert.fired", 9.0, True)


# -- which zones exist -----------------------------------------------------------------------------


def snapshot(reported: list[ZoneKey], down: dict[tuple[str, str], Unknown] | None = None) -> Snapshot:
    cameras = {cam: Why(kind, kind.value) for cam, kind in (down or {}).items()}
    return Snapshot(1000.0, {}, cameras, (), {k: k.zone for k in reported}, complete=True)


@pytest.mark.parametrize(
    ("second", "reported"),
    [
        (snapshot([]), {WAITING: False, QUEUE: False}),  # the edge answered without them
        (snapshot([WAITING, QUEUE]), {WAITING: True, QUEUE: True}),
        (snapshot([WAITING]), {WAITING: True, QUEUE: False}),  # queue removed from the edge config
        # the edge could not be read: what was last known stands
        (snapshot([], {("north", "entrance"): Unknown.INPUT_FAILED}), {WAITING: True, QUEUE: True}),
        # a camera down is still reported by its edge (its zone info is there) ...
        (
            snapshot([WAITING, QUEUE], {("north", "entrance"): Unknown.CAMERA_DOWN}),
            {WAITING: True, QUEUE: True},
        ),
        # ... and an edge that answers without the camera's zones no longer reports them
        (snapshot([], {("north", "entrance"): Unknown.NOT_COUNTED}), {WAITING: False, QUEUE: False}),
    ],
    ids=["none", "both", "one gone", "edge unreachable", "camera down", "camera gone"],
)
def test_a_zone_missing_from_an_answer_is_no_longer_reported(
    second: Snapshot, reported: dict[ZoneKey, bool]
) -> None:
    directory = ZoneDirectory()
    directory.observe(snapshot([WAITING, QUEUE]))
    directory.observe(second)
    got = {}
    for key in reported:
        entry = directory.entry(key)
        assert entry is not None
        got[key] = entry.reported
    assert got == reported


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        (ZoneKey("north", "entrance", "waitng"), "did you mean north/entrance/waiting?"),
        (ZoneKey("north", "entrnace", "queue"), "did you mean north/entrance/queue?"),
        (ZoneKey("south", "lobby", "sofa"), "the edge reports 2 zones; GET /api/v1/zones lists them"),
    ],
)
def test_an_unknown_zone_is_refused_with_the_nearest_one(typed: ZoneKey, hint: str) -> None:
    directory = ZoneDirectory()
    directory.check_exists(typed)  # nothing read yet: it may still come
    directory.observe(snapshot([WAITING, QUEUE]))
    directory.check_exists(WAITING)
    with pytest.raises(UnknownZone) as refused:
        directory.check_exists(typed)
    assert str(refused.value) == f"no edge box reports zone {typed}: {hint}"


def test_before_every_edge_has_answered_a_zone_not_seen_yet_may_still_come() -> None:
    directory = ZoneDirectory()
    directory.observe(Snapshot(1000.0, reported={WAITING: "waiting"}, complete=False))
    directory.check_exists(QUEUE)  # another edge box, not read yet, may report it
    directory.observe(Snapshot(1001.0, reported={WAITING: "waiting"}, complete=True))
    with pytest.raises(UnknownZone, match="did you mean north/entrance/waiting"):
        directory.check_exists(ZoneKey("north", "entrance", "waitin"))


def test_a_rule_for_a_typo_zone_gets_404_and_no_ghost(client: TestClient, fake_edge: FakeEdge) -> None:
    fake_edge.set({("entrance", "waiting"): 3})
    wait_for(lambda: listed(client, "waiting"), 10, "the edge's zones")
    refused = client.put("/api/v1/rules/north/entrance/waitng", json=RULE, headers=LEAD_HEADERS)
    assert refused.status_code == 404, refused.text
    error = refused.json()["error"]
    assert error["code"] == "not_found"
    assert (
        error["message"]
        == "no edge box reports zone north/entrance/waitng: did you mean north/entrance/waiting?"
    )
    assert client.get("/api/v1/rules", headers=DESK_HEADERS).json() == []
    assert "waitng" not in zones_by_id(client)  # no ghost card
    ok = client.put("/api/v1/rules/north/entrance/waiting", json=RULE, headers=LEAD_HEADERS)
    assert ok.status_code == 200


def test_a_zone_that_disappeared_is_listed_and_removed_without_a_restart(
    client: TestClient, fake_edge: FakeEdge
) -> None:
    fake_edge.set({("entrance", "waiting"): 7, ("entrance", "queue"): 1})
    wait_for(lambda: listed(client, "waiting", "queue"), 10, "both zones")
    client.put("/api/v1/rules/north/entrance/queue", json={**RULE, "raise_level": 1, "clear_level": 0},
               headers=LEAD_HEADERS)  # fmt: skip
    wait_for(lambda: zones_by_id(client)["queue"]["state"] == "firing", 10, "the queue's alert")
    path = "/api/v1/zones/north/entrance/queue"
    refused = client.delete(path, headers=LEAD_HEADERS)
    assert (
        refused.status_code == 409
        and "remove it from the edge config first" in refused.json()["error"]["message"]
    )

    # The edge's config loses the zone: listed as no longer reported, unknown, never 0.
    fake_edge.names = {("entrance", "waiting"): "Wartebereich Süd"}
    fake_edge.set({("entrance", "waiting"): 7})
    wait_for(lambda: not zones_by_id(client)["queue"]["reported"], 10, "the queue to be gone")
    queue = zones_by_id(client)["queue"]
    assert (queue["state"], queue["occupancy"], queue["reason_kind"]) == ("unknown", None, "not_counted")
    assert queue["last_reported_at"] is not None and zones_by_id(client)["waiting"]["reported"]

    assert client.delete(path, headers=DESK_HEADERS).status_code == 403
    assert client.delete(path, headers=LEAD_HEADERS).status_code == 204
    assert set(zones_by_id(client)) == {"waiting"}
    assert client.get("/api/v1/rules", headers=DESK_HEADERS).json() == []
    [ended] = client.get("/api/v1/alerts?zone=queue", headers=DESK_HEADERS).json()
    assert ended["end_reason"] == "rule_removed"
    assert client.delete(path, headers=LEAD_HEADERS).status_code == 404  # gone
    assert 'zone="queue"' not in client.get("/metrics").text


def test_the_test_alarm_is_a_marked_event_and_changes_nothing(
    client: TestClient, fake_edge: FakeEdge
) -> None:
    fake_edge.set({("entrance", "waiting"): 2})
    wait_for(
        lambda: listed(client, "waiting") and zones_by_id(client)["waiting"]["state"] == "ok", 10, "a count"
    )
    path = "/api/v1/zones/north/entrance/waiting/test-alarm"
    assert client.post(path, headers=DESK_HEADERS).status_code == 403
    sent = client.post(path, headers=LEAD_HEADERS)
    assert sent.status_code == 200, sent.text
    assert (sent.json()["type"], sent.json()["name"], sent.json()["alert"]) == (
        "alert.test",
        "Wartebereich Süd",
        None,
    )
    [event] = client.get("/api/v1/events", headers=DESK_HEADERS).json()
    assert event == sent.json()  # what the webhooks get
    assert zones_by_id(client)["waiting"]["state"] == "ok" and zones_by_id(client)["waiting"]["alert"] is None
    assert client.get("/api/v1/alerts", headers=DESK_HEADERS).json() == []
    missing = client.post("/api/v1/zones/north/entrance/nowhere/test-alarm", headers=LEAD_HEADERS)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("levels", "stored"),
    [
        ((5, 2), (5, 2)),
        ((5, 4), (5, 4)),
        ((5, 5), (5, 4)),
        ((1, 9999), (1, 0)),
        ((10000, 9999), (10000, 9999)),
        ((3.0, 7.0), (3, 2)),
    ],
    ids=["gap", "gap of one", "equal", "clear far above", "highest", "whole floats"],
)
def test_a_clear_level_at_or_above_the_raise_level_is_stored_below_it(
    client: TestClient, levels: tuple[float, float], stored: tuple[int, int]
) -> None:
    """Every pair of levels the schema allows is accepted (JSON Schema cannot compare two fields):
    the answer and the stored rule show the level used."""
    body = {**RULE, "raise_level": levels[0], "clear_level": levels[1]}
    response = client.put("/api/v1/rules/north/entrance/waiting", json=body, headers=LEAD_HEADERS)
    assert response.status_code == 200, response.text
    assert (response.json()["raise_level"], response.json()["clear_level"]) == stored
    rule = client.get("/api/v1/rules/north/entrance/waiting", headers=LEAD_HEADERS).json()
    assert (rule["raise_level"], rule["clear_level"]) == stored


@pytest.mark.parametrize(
    ("levels", "path"),
    [((5, 10000), "body.clear_level"), ((0, 0), "body.raise_level"), ((5, -1), "body.clear_level")],
)
def test_levels_out_of_their_own_bounds_are_still_refused(
    client: TestClient, levels: tuple[int, int], path: str
) -> None:
    body = {**RULE, "raise_level": levels[0], "clear_level": levels[1]}
    response = client.put("/api/v1/rules/north/entrance/waiting", json=body, headers=LEAD_HEADERS)
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == [path]


@pytest.mark.parametrize(
    ("body", "path", "kind", "context"),
    [
        ({**RULE, "raise_level": 0}, "body.raise_level", "greater_than_equal", {"ge": 1}),
        ({**RULE, "cooldown_s": 90000}, "body.cooldown_s", "less_than_equal", {"le": 86400.0}),
        ({**RULE, "raise_level": 4.5}, "body.raise_level", "int_from_float", None),
        ({"clear_level": 1}, "body.raise_level", "missing", None),
    ],
)
def test_field_problems_carry_a_kind_and_numbers_for_translation(
    client: TestClient, body: dict[str, Any], path: str, kind: str, context: dict[str, Any] | None
) -> None:
    response = client.put("/api/v1/rules/north/entrance/waiting", json=body, headers=LEAD_HEADERS)
    assert response.status_code == 422
    [problem] = [f for f in response.json()["error"]["fields"] if f["path"] == path]
    assert (problem["type"], problem["context"]) == (kind, context)


# -- the page session --------------------------------------------------------------------------------


def cookie_max_age(response: httpx.Response) -> int:
    match = re.search(r"max-age=(\d+)", response.headers["set-cookie"], re.IGNORECASE)
    assert match, response.headers["set-cookie"]
    return int(match.group(1))


def test_a_page_session_renews_itself(make_settings: Callable[..., Settings], fake_edge: FakeEdge) -> None:
    settings = make_settings(input={"targets": [fake_edge.url]}, auth={
        "desk_tokens": [DESK], "lead_tokens": [LEAD], "session_max_age_s": 600})  # fmt: skip
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/v1/session/renew").status_code == 401  # no session to renew
        login = client.post("/api/v1/session", json={"token": DESK})
        assert login.json() == {"role": "desk", "renew_after_s": 150.0} and cookie_max_age(login) == 600
        renewed = client.post("/api/v1/session/renew", headers={"Origin": "http://testserver"})
        assert renewed.status_code == 200 and cookie_max_age(renewed) == 600
        assert renewed.json()["role"] == "desk"
        cross = client.post("/api/v1/session/renew", headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        client.cookies.clear()  # the session's cookie out, an unknown one in (one jar, whatever its domain)
        client.cookies.set("wartezone_token", "revoked-token-0123456789")
        assert (
            client.post("/api/v1/session/renew").json()["error"]["message"] == "session ended: log in again"
        )


@pytest.mark.parametrize(
    ("value", "fragment"), [(1, "greater than or equal to 2"), (10**9, "less than or equal")]
)
def test_the_session_lifetime_is_bounded(
    make_settings: Callable[..., Settings], value: int, fragment: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        make_settings(auth={"desk_tokens": [DESK], "lead_tokens": [LEAD], "session_max_age_s": value})
    [(path, message)] = refused.value.problems
    assert path == "auth.session_max_age_s" and fragment in message


# -- pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "status", "marker"),
    [
        ("/lead", {}, 401, 'id="login"'),
        ("/lead", DESK_HEADERS, 403, 'id="login"'),  # the desk's token does not open the lead's page
        ("/lead", LEAD_HEADERS, 200, 'id="zones"'),
        ("/reception", LEAD_HEADERS, 200, 'id="banner"'),
        ("/docs", {}, 200, "/openapi.json"),
    ],
)
def test_pages_are_self_contained(
    client: TestClient, path: str, headers: dict[str, str], status: int, marker: str
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == status and marker in response.text
    assert "<!--#include" not in response.text  # the shared parts are put in
    # Nothing from another origin: no absolute URL in any src, href, fetch or import.
    assert re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", response.text) == []
    assert re.findall(r"""fetch\(\s*["'`]https?:""", response.text) == []
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp


def test_no_cdn_docs_and_a_favicon(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404  # FastAPI's page would load a CDN's scripts
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    spec = client.get("/openapi.json").json()
    assert "/lead" in spec["paths"] and "/api/v1/session/renew" in spec["paths"]
    assert json.dumps(spec).count("alert.test") >= 1  # the webhook body documents the test event


def test_the_test_alarm_reaches_a_webhook_signed(
    make_settings: Callable[..., Settings], fake_edge: FakeEdge
) -> None:
    receiver = Receiver()
    receiver.start()
    webhook = {"name": "branch", "url": receiver.url, "secret": SECRET}
    settings = make_settings(input={"targets": [fake_edge.url], "interval_s": 0.1}, webhooks=[webhook])
    try:
        with TestClient(create_app(settings)) as client:
            wait_for(lambda: listed(client, "waiting"), 10, "the zone")
            sent = client.post("/api/v1/zones/north/entrance/waiting/test-alarm", headers=LEAD_HEADERS)
            assert sent.status_code == 200
            wait_for(lambda: receiver.received, 10, "the webhook")
    finally:
        receiver.stop()
    [event] = receiver.events()  # its signature checked
    assert (event["type"], event["name"], event["id"]) == (
        "alert.test",
        "Wartebereich Süd",
        sent.json()["id"],
    )
    assert receiver.received[0][0]["x-wartezone-event"] == "alert.test"
