"""The HTTP surface: roles, the one error body, bounded bodies, closed CORS, persistence, metrics."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_support import DESK, DESK_HEADERS, LEAD, LEAD_HEADERS, FakeEdge
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.settings import Settings
from tests.conftest import need_tool
from tests.support import wait_for

RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 0}
RULE_PATH = "/api/v1/rules/north/entrance/waiting"
ZONE_PATH = "/api/v1/zones/north/entrance/waiting"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], fake_edge: FakeEdge) -> Settings:
    return make_settings(input={"targets": [fake_edge.url], "interval_s": 0.1})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def zone_state(client: TestClient) -> str | None:
    response = client.get(ZONE_PATH, headers=DESK_HEADERS)
    return response.json()["state"] if response.status_code == 200 else None


def assert_error_body(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "code", "message", "fields"}
    assert body["error"]["status"] == status and body["error"]["message"]


NONE: dict[str, str] = {}
WRONG = {"Authorization": "Bearer wrong-token-0123456789abc"}
BASIC = {"Authorization": "Basic ZGVzazpkZXNr"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/api/v1/zones", NONE, 401),
        ("GET", "/api/v1/zones", WRONG, 401),
        ("GET", "/api/v1/zones", BASIC, 401),
        ("GET", "/api/v1/zones", DESK_HEADERS, 200),
        ("GET", "/api/v1/zones", LEAD_HEADERS, 200),
        ("GET", ZONE_PATH, NONE, 401),
        ("GET", "/api/v1/rules", NONE, 401),
        ("GET", "/api/v1/rules", DESK_HEADERS, 200),
        ("GET", "/api/v1/alerts", NONE, 401),
        ("GET", "/api/v1/events", NONE, 401),
        ("GET", "/api/v1/health", NONE, 401),
        ("GET", "/api/v1/health", DESK_HEADERS, 200),
        ("GET", "/api/v1/stream", NONE, 401),
        ("PUT", RULE_PATH, NONE, 401),
        ("PUT", RULE_PATH, WRONG, 401),
        ("PUT", RULE_PATH, DESK_HEADERS, 403),
        ("PUT", RULE_PATH, LEAD_HEADERS, 200),
        ("DELETE", RULE_PATH, NONE, 401),
        ("DELETE", RULE_PATH, DESK_HEADERS, 403),
        ("DELETE", RULE_PATH, LEAD_HEADERS, 404),  # allowed, but there is no rule
        ("POST", ZONE_PATH + "/acknowledge", NONE, 401),
        ("POST", ZONE_PATH + "/acknowledge", DESK_HEADERS, 409),  # allowed, nothing to acknowledge
        ("POST", ZONE_PATH + "/acknowledge", LEAD_HEADERS, 409),
        ("GET", "/reception", NONE, 401),  # the login form
        ("GET", "/reception", DESK_HEADERS, 200),
        ("GET", "/metrics", NONE, 200),  # open, like the edge's
    ],
)
def test_roles(client: TestClient, method: str, path: str, headers: dict[str, str], status: int) -> None:
    response = client.request(method, path, headers=headers, json=RULE if method == "PUT" else None)
    assert response.status_code == status, response.text
    if status >= 400 and path.startswith("/api/"):
        assert_error_body(response, status)
    if status == 401 and path.startswith("/api/"):
        assert response.headers["www-authenticate"] == "Bearer"


def test_browser_login_cookie_and_cross_site_refusal(client: TestClient) -> None:
    assert_error_body(client.post("/api/v1/session", json={"token": "nope"}), 401)
    login = client.post("/api/v1/session", json={"token": DESK})
    # A session of 30 days at most, ended after an hour unused: the page renews it every 15 minutes.
    assert login.json() == {"role": "desk", "renew_after_s": 900.0}
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and f"max-age={30 * 86400}" in cookie
    assert DESK not in cookie  # the cookie holds a session id, never the token
    assert client.get("/api/v1/zones").status_code == 200  # the cookie is enough to read
    assert "<main" in client.get("/reception").text
    assert_error_body(client.put(RULE_PATH, json=RULE), 403)  # a desk cookie cannot edit rules

    client.post("/api/v1/session", json={"token": LEAD})
    assert client.put(RULE_PATH, json=RULE, headers={"Origin": "http://testserver"}).status_code == 200
    refused = client.put(RULE_PATH, json=RULE, headers={"Origin": "https://evil.example"})
    assert_error_body(refused, 403)
    assert "cross-site" in refused.json()["error"]["message"]
    assert client.delete("/api/v1/session").status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/zones").status_code == 401


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        ({}, "body.raise_level", "Field required"),
        ({**RULE, "raise_level": 0}, "body.raise_level", "greater than or equal to 1"),
        ({**RULE, "min_above_s": -1}, "body.min_above_s", "greater than or equal to 0"),
        ({**RULE, "colour": "red"}, "body.colour", "Extra inputs are not permitted"),
        (
            {**RULE, "opening_hours": {"monday": [{"start": "24:00", "end": "08:00"}]}},
            "body.opening_hours.monday[0].start",
            "should match pattern",
        ),
        (
            {**RULE, "opening_hours": {"monday": [{"start": "8:00", "end": "12:00"}]}},
            "body.opening_hours.monday[0].start",
            "should match pattern",
        ),
        ({**RULE, "opening_hours": {"funday": []}}, "body.opening_hours.funday", "Extra inputs"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], path: str, fragment: str
) -> None:
    response = client.put(RULE_PATH, json=body, headers=LEAD_HEADERS)
    assert_error_body(response, 422)
    fields = response.json()["error"]["fields"]
    assert any(f["path"] == path and fragment in f["message"] for f in fields), fields


@pytest.mark.parametrize(
    "intervals",
    [
        [],
        [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "24:00"}],
        [{"start": "18:00", "end": "08:00"}],  # overnight: ends the next day
        [{"start": "08:00", "end": "08:00"}],  # 24 hours
        [{"start": "00:00", "end": "00:00"}],  # the whole day
        [{"start": "23:59", "end": "00:00"}],
    ],
    ids=["empty", "day", "overnight", "24 hours", "whole day", "last minute"],
)
def test_every_interval_the_schema_allows_is_accepted(
    client: TestClient, intervals: list[dict[str, str]]
) -> None:
    """JSON Schema cannot compare start with end, so every pair it allows has a meaning."""
    body = {**RULE, "opening_hours": {"friday": intervals}}
    response = client.put(RULE_PATH, json=body, headers=LEAD_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json()["opening_hours"]["friday"] == intervals


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({**RULE, "raise_level": "5"}, "body.raise_level"),
        ({**RULE, "clear_level": True}, "body.clear_level"),
        ({**RULE, "cooldown_s": "60"}, "body.cooldown_s"),
        ({**RULE, "opening_hours": {"closed_dates": [0]}}, "body.opening_hours.closed_dates[0]"),
        (
            {**RULE, "opening_hours": {"closed_dates": ["2025-12-24T00:00:00"]}},
            "body.opening_hours.closed_dates[0]",
        ),
    ],
    ids=["count as text", "count as boolean", "seconds as text", "date as number", "date with time"],
)
def test_values_of_another_json_type_are_refused(client: TestClient, body: dict[str, Any], path: str) -> None:
    """What the schema refuses is refused, though pydantic alone would convert it."""
    response = client.put(RULE_PATH, json=body, headers=LEAD_HEADERS)
    assert_error_body(response, 422)
    assert [f["path"] for f in response.json()["error"]["fields"]] == [path]


def test_a_number_with_no_fraction_is_a_count(client: TestClient) -> None:
    response = client.put(RULE_PATH, json={**RULE, "raise_level": 5.0}, headers=LEAD_HEADERS)
    assert response.status_code == 200 and response.json()["raise_level"] == 5


def test_rules_are_read_from_the_database_only(settings: Settings, client: TestClient) -> None:
    """A rule lives in one place: changed there, every answer and the state machine follow."""
    import sqlite3

    assert client.put(RULE_PATH, json=RULE, headers=LEAD_HEADERS).status_code == 200
    with sqlite3.connect(settings.database) as db:
        db.execute("UPDATE rules SET spec = json_set(spec, '$.raise_level', 9)")
    assert client.get(RULE_PATH, headers=DESK_HEADERS).json()["raise_level"] == 9
    assert [r["raise_level"] for r in client.get("/api/v1/rules", headers=DESK_HEADERS).json()] == [9]
    assert client.get(ZONE_PATH, headers=DESK_HEADERS).json()["raise_level"] == 9


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/zones/North/entrance/waiting", 422),  # ids are lower-case labels
        ("/api/v1/zones/north/entrance/nowhere", 404),
        ("/api/v1/nothing", 404),
    ],
)
def test_not_found_and_bad_paths_have_the_error_body(client: TestClient, path: str, status: int) -> None:
    assert_error_body(client.get(path, headers=DESK_HEADERS), status)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/v1/zones", "GET"),
        ("PATCH", RULE_PATH, "GET, PUT, DELETE"),
        ("POST", RULE_PATH, "GET, PUT, DELETE"),
        ("OPTIONS", "/api/v1/session", "POST, DELETE"),
        ("GET", ZONE_PATH + "/acknowledge", "POST"),
        ("DELETE", "/openapi.json", "GET, HEAD"),
    ],
)
def test_method_not_allowed_says_what_is(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path, headers=LEAD_HEADERS)
    assert_error_body(response, 405)
    assert response.headers["allow"] == allow


def test_method_not_allowed_lists_every_documented_method_of_every_path(client: TestClient) -> None:
    """RFC 9110: Allow names every method the resource supports, not the first route's."""
    paths = client.get("/openapi.json").json()["paths"]
    assert len(paths) >= 10
    for path, operations in paths.items():
        assert "patch" not in operations  # PATCH is the method no route has
        url = path.format(site="north", camera="entrance", zone="waiting")
        response = client.request("PATCH", url, headers=LEAD_HEADERS)
        assert response.status_code == 405, (path, response.text)
        assert sorted(response.headers["allow"].split(", ")) == sorted(m.upper() for m in operations), path


def test_request_bodies_are_bounded(make_settings: Callable[..., Settings], fake_edge: FakeEdge) -> None:
    settings = make_settings(input={"targets": [fake_edge.url]}, http={"max_body_bytes": 1024})
    big = b'{"raise_level": 5, "clear_level": 2, "pad": "' + b"x" * 2000 + b'"}'
    with TestClient(create_app(settings)) as client:
        declared = client.put(
            RULE_PATH, content=big, headers={**LEAD_HEADERS, "Content-Type": "application/json"}
        )
        assert_error_body(declared, 413)
        assert "1024 bytes" in declared.json()["error"]["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield big[:600]
            yield big[600:]

        streamed = client.put(
            RULE_PATH, content=chunks(), headers={**LEAD_HEADERS, "Content-Type": "application/json"}
        )
        assert_error_body(streamed, 413)
        assert client.put(RULE_PATH, json=RULE, headers=LEAD_HEADERS).status_code == 200


def test_cors_is_closed_unless_origins_are_named(
    make_settings: Callable[..., Settings], fake_edge: FakeEdge
) -> None:
    preflight = {"Origin": "https://intranet.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(make_settings(input={"targets": [fake_edge.url]}))) as client:
        assert "access-control-allow-origin" not in client.options("/api/v1/zones", headers=preflight).headers
        plain = client.get("/api/v1/zones", headers={**DESK_HEADERS, "Origin": "https://intranet.example"})
        assert "access-control-allow-origin" not in plain.headers
    open_to = make_settings(
        input={"targets": [fake_edge.url]}, http={"cors_origins": ["https://intranet.example"]}
    )
    with TestClient(create_app(open_to)) as client:
        allowed = client.options("/api/v1/zones", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://intranet.example"


def test_rules_and_alerts_survive_a_restart(settings: Settings, fake_edge: FakeEdge) -> None:
    fake_edge.set({("entrance", "waiting"): 7})
    with TestClient(create_app(settings)) as client:
        assert (
            client.put(RULE_PATH, json={**RULE, "cooldown_s": 600}, headers=LEAD_HEADERS).status_code == 200
        )
        wait_for(lambda: zone_state(client) == "firing", 10, "the alert to fire")
        acked = client.post(ZONE_PATH + "/acknowledge", headers=DESK_HEADERS).json()
        assert acked["acknowledged_by"] == "desk"
    with TestClient(create_app(settings)) as client:
        rules = client.get("/api/v1/rules", headers=DESK_HEADERS).json()
        assert [(r["zone"], r["raise_level"], r["cooldown_s"]) for r in rules] == [("waiting", 5, 600)]
        wait_for(lambda: zone_state(client) == "acknowledged", 10, "the stored alert to be read back")
        [alert] = client.get("/api/v1/alerts", headers=DESK_HEADERS).json()
        assert alert["id"] == acked["id"] and alert["ended_at"] is None
        fake_edge.set({("entrance", "waiting"): 1})
        wait_for(lambda: zone_state(client) == "resolved", 10, "the alert to resolve")
        assert client.delete(RULE_PATH, headers=LEAD_HEADERS).status_code == 204
        assert client.get("/api/v1/rules", headers=DESK_HEADERS).json() == []
        events = client.get("/api/v1/events", headers=DESK_HEADERS).json()
        assert [e["type"] for e in events] == ["alert.fired", "alert.acknowledged", "alert.resolved"]
        assert [e["id"] for e in events] == sorted(e["id"] for e in events)
        [ended] = client.get(
            "/api/v1/alerts?site=north&camera=entrance&zone=waiting", headers=DESK_HEADERS
        ).json()
        assert ended["end_reason"] == "below_clear_level" and ended["peak_occupancy"] == 7


def test_storage_holds_counts_and_times_only(settings: Settings, fake_edge: FakeEdge) -> None:
    """Every column of every table is a number, a zone label, a role, a state word, JSON of those
    or a hash (a session's id and token, tests/api/test_api_sessions.py)."""
    import sqlite3

    fake_edge.set({("entrance", "waiting"): 7})
    with TestClient(create_app(settings)) as client:
        client.put(RULE_PATH, json=RULE, headers=LEAD_HEADERS)
        wait_for(lambda: zone_state(client) == "firing", 10, "the alert to fire")
    db = sqlite3.connect(settings.database)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    columns = {
        t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")] for t in tables if t != "sqlite_sequence"
    }
    assert columns == {
        "rules": ["site", "camera", "zone", "spec", "updated_at"],
        "alerts": [
            "id",
            "site",
            "camera",
            "zone",
            "raise_level",
            "started_at",
            "fired_at",
            "peak_occupancy",
            "acknowledged_at",
            "acknowledged_by",
            "ended_at",
            "end_reason",
        ],
        "notifications": ["id", "created_at", "type", "body"],
        "outbox": ["webhook", "notification_id", "attempts", "next_attempt_at", "delivered_at", "last_error"],
        "readings": [
            "site",
            "camera",
            "zone",
            "minute",
            "occupancy_sum",
            "samples",
            "occupancy_peak",
            "entries",
            "exits",
            "at_raise",
            "occupancy_first",
        ],
        "sessions": ["id_hash", "token_hash", "role", "created_at", "last_used_at", "replaced_at"],
        "counters": ["id", "site", "camera", "zone", "at", "set_by", "counters", "schedule"],
    }
    assert db.execute("PRAGMA user_version").fetchone()[0] == 5


def test_own_metrics_have_the_pinned_names(client: TestClient, fake_edge: FakeEdge) -> None:
    fake_edge.set({("entrance", "waiting"): 7, ("entrance", "queue"): 1})
    client.put(RULE_PATH, json=RULE, headers=LEAD_HEADERS)
    wait_for(lambda: zone_state(client) == "firing", 10, "the alert to fire")
    assert (
        client.put(
            RULE_PATH.replace("rules", "zones") + "/counters", json={"counters": 3}, headers=DESK_HEADERS
        ).status_code
        == 200
    )
    text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    state = {
        (s.labels["zone"], s.labels["state"]): s.value for s in families["wartezone_alert_state"].samples
    }
    assert [(s.labels["zone"], s.value) for s in families["wartezone_counters_open"].samples] == [
        ("waiting", 3)
    ]
    states = ("ok", "warning", "pending", "firing", "acknowledged", "resolved", "unknown")
    assert {k: v for k, v in state.items() if k[0] == "waiting"} == {
        ("waiting", s): float(s == "firing") for s in states
    }
    assert state[("queue", "ok")] == 1.0 and sum(v for (z, _), v in state.items() if z == "queue") == 1
    labels = {"site": "north", "camera": "entrance", "zone": "waiting"}
    value = {f.name: [s for s in f.samples if s.labels == labels] for f in families.values()}
    assert value["wartezone_alert_raise_level"][0].value == 5
    assert value["wartezone_alert_clear_level"][0].value == 2
    assert any(
        s.name == "wartezone_alerts_fired_total" and s.value == 1 for s in value["wartezone_alerts_fired"]
    )
    for name in ("wartezone_notifications_sent", "wartezone_notifications_failed"):
        assert [s.labels for s in families[name].samples if s.name.endswith("_total")] == [
            {"channel": "webhook"}
        ]
    assert families["wartezone_outbox_pending"].samples[0].value == 0
    promtool = need_tool("promtool", "scripts/setup.sh --dev installs Debian's prometheus package")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_openapi_documents_the_webhook_and_the_error_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    hook = spec["webhooks"]["alert-event"]["post"]
    assert hook["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/EventPayload")
    assert "X-Wartezone-Signature" in spec["info"]["description"]
    put = spec["paths"]["/api/v1/rules/{site}/{camera}/{zone}"]["put"]["responses"]
    for status in ("401", "403", "413", "422"):
        assert put[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_unknown_zone_and_input_problems_are_reported(client: TestClient, fake_edge: FakeEdge) -> None:
    client.put(RULE_PATH, json=RULE, headers=LEAD_HEADERS)
    fake_edge.set({("entrance", "waiting"): 3})
    wait_for(lambda: zone_state(client) == "ok", 10, "a first reading")
    fake_edge.status = 500
    wait_for(lambda: zone_state(client) == "unknown", 10, "the zone to become unknown")
    zone = client.get(ZONE_PATH, headers=DESK_HEADERS).json()
    assert zone["occupancy"] is None and "HTTP 500" in zone["reason"]
    health = client.get("/api/v1/health", headers=DESK_HEADERS).json()
    assert health["status"] == "degraded" and "HTTP 500" in health["problems"][0]


def test_tokens_are_not_echoed(client: TestClient) -> None:
    response = client.post("/api/v1/session", json={"token": DESK + "x"})
    assert DESK not in response.text
