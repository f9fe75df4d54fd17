"""Page sessions held by the server (logout, lifetime, idle time, rotation, revoked tokens, Secure)
and slowed-down guessing (429 with a growing Retry-After per client, one log line per burst, the
failure counter)."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from api_support import DESK, DESK_HEADERS, LEAD, FakeClock, FakeEdge, Site
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from api import security, sessions
from api.app import create_app
from api.security import COOKIE, Guard, client_key
from api.sessions import ROTATED_GRACE_S
from api.settings import Settings
from tests.browser import shoot
from tests.support import free_port, wait_for

ZONES = "/api/v1/zones"
SESSION = "/api/v1/session"
RENEW = "/api/v1/session/renew"
OTHER_DESK = "second-desk-token-0123456789"
WRONG = "wrong-token-0123456789abcdef"
SAME_ORIGIN = {"Origin": "http://testserver"}
FREE = 5  # auth.free_failures by default


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_app(
    make_settings: Callable[..., Settings], fake_edge: FakeEdge, clock: FakeClock
) -> Callable[..., FastAPI]:
    """The API on the fake clock; keyword arguments are auth settings (or `host`)."""

    def make(host: str = "127.0.0.1", registry: CollectorRegistry | None = None, **auth: Any) -> FastAPI:
        settings = make_settings(
            host=host,
            input={"targets": [fake_edge.url]},
            auth={"desk_tokens": [DESK, OTHER_DESK], "lead_tokens": [LEAD], **auth},
        )
        return create_app(settings, clock=clock, registry=registry)

    return make


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app(session_max_age_s=1500, session_idle_s=600)) as test_client:
        yield test_client


def log_in(client: TestClient, token: str = DESK) -> str:
    """A new browser's login: its session id."""
    client.cookies.clear()
    response = client.post(SESSION, json={"token": token})
    assert response.status_code == 200, response.text
    return response.cookies[COOKIE]


def status_with(client: TestClient, cookie: str, path: str = ZONES) -> int:
    """The answer to a request carrying only this cookie (not the client's jar)."""
    client.cookies.clear()
    return client.get(path, headers={"Cookie": f"{COOKIE}={cookie}"}).status_code


def database(client: TestClient) -> sqlite3.Connection:
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    return sqlite3.connect(settings.database)


# -- sessions ----------------------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    cookie = log_in(client)
    assert status_with(client, cookie) == 200
    out = client.delete(SESSION, headers={"Cookie": f"{COOKIE}={cookie}"})
    assert out.status_code == 204 and 'wartezone_token=""' in out.headers["set-cookie"]
    assert status_with(client, cookie) == 401  # the browser's copy would be gone; a kept copy is useless
    assert status_with(client, cookie, "/reception") == 401  # the login form


@pytest.mark.parametrize(
    ("steps", "last_status"),
    [
        ([], 200),  # just logged in
        ([500, 500], 200),  # used within the idle time (600 s), twice
        ([601], 401),  # idle too long
        ([500, 500, 499], 200),  # 1499 s after the login, used all along
        ([500, 500, 500], 401),  # 1500 s: past the lifetime, however much it was used
    ],
)
def test_a_session_ends_after_its_idle_time_and_its_lifetime(
    client: TestClient, clock: FakeClock, steps: list[float], last_status: int
) -> None:
    cookie = log_in(client)
    status = status_with(client, cookie)
    for seconds in steps:
        clock.advance(seconds)
        status = status_with(client, cookie)
    assert status == last_status


def test_renewal_gives_a_new_id_and_keeps_the_lifetime_of_the_login(
    client: TestClient, clock: FakeClock
) -> None:
    first = log_in(client)
    clock.advance(500)
    client.cookies.clear()
    renewed = client.post(RENEW, headers={"Cookie": f"{COOKIE}={first}", **SAME_ORIGIN})
    assert renewed.status_code == 200, renewed.text
    second = renewed.cookies[COOKIE]
    assert second != first
    assert "max-age=1000" in renewed.headers["set-cookie"].lower()  # 1500 s from the login, not from now
    # The old id answers what the page sent before it had the new one, then never again.
    assert status_with(client, first) == 200
    clock.advance(ROTATED_GRACE_S + 1)
    assert status_with(client, first) == 401
    assert status_with(client, second) == 200
    again = client.post(RENEW, headers={"Cookie": f"{COOKIE}={first}", **SAME_ORIGIN})
    assert again.status_code == 401
    clock.advance(500)
    assert status_with(client, second) == 200
    clock.advance(1500 - 1000 - ROTATED_GRACE_S - 1)
    assert status_with(client, second) == 401  # the login's lifetime is over, used or not


def test_a_new_login_ends_the_session_the_browser_had(client: TestClient) -> None:
    desk = log_in(client)
    lead = client.post(SESSION, json={"token": LEAD}, headers={"Cookie": f"{COOKIE}={desk}"})
    assert lead.status_code == 200 and lead.json()["role"] == "lead"
    assert status_with(client, desk) == 401
    assert status_with(client, lead.cookies[COOKIE], "/lead") == 200


@pytest.mark.parametrize("logins", [0, 1, 3])
def test_a_token_keeps_its_most_recently_used_sessions_only(
    client: TestClient, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, logins: int
) -> None:
    monkeypatch.setattr(sessions, "SESSIONS_PER_TOKEN", 2)
    made = []
    for _ in range(logins):
        made.append(log_in(client))
        clock.advance(61)  # each use is written: the order of last use is the order of the logins
    assert [status_with(client, cookie) for cookie in made] == [401] * (logins - 2) + [200] * min(logins, 2)
    assert status_with(client, log_in(client, OTHER_DESK)) == 200  # another token's count


@pytest.mark.parametrize("value", ["", DESK, LEAD, "x" * 43])
def test_a_hand_written_cookie_is_no_session(client: TestClient, value: str) -> None:
    assert status_with(client, value) == 401
    assert status_with(client, value, "/reception") == 401  # the login form
    client.cookies.clear()
    renew = client.post(RENEW, headers={"Cookie": f"{COOKIE}={value}"})
    assert renew.status_code == 401


def test_the_database_holds_hashes_of_ids_and_tokens_only(client: TestClient) -> None:
    cookie = log_in(client)
    rows = database(client).execute("SELECT * FROM sessions").fetchall()
    assert len(rows) == 1
    text = repr(rows)
    assert cookie not in text and DESK not in text
    assert security.fingerprint(cookie) in text and security.fingerprint(DESK) in text


def test_the_last_use_is_written_at_most_once_a_minute(client: TestClient, clock: FakeClock) -> None:
    login_at = clock.now()
    cookie = log_in(client)

    def last_use() -> float:
        return float(database(client).execute("SELECT last_used_at FROM sessions").fetchone()[0])

    clock.advance(30)
    assert status_with(client, cookie) == 200 and last_use() == login_at
    clock.advance(31)
    assert status_with(client, cookie) == 200 and last_use() == login_at + 61


@pytest.mark.parametrize(
    ("host", "plain_http", "secure"),
    [
        ("127.0.0.1", False, False),
        ("::1", False, False),
        ("localhost", False, False),
        ("0.0.0.0", False, True),
        ("192.168.1.5", False, True),
        ("0.0.0.0", True, False),
    ],
)
def test_the_cookie_is_secure_unless_on_loopback_or_said_plain_http(
    make_app: Callable[..., FastAPI], host: str, plain_http: bool, secure: bool
) -> None:
    with TestClient(make_app(host=host, plain_http=plain_http)) as client:
        login = client.post(SESSION, json={"token": DESK})
        attributes = [a.strip().lower() for a in login.headers["set-cookie"].split(";")]
        assert ("secure" in attributes) is secure
        assert "httponly" in attributes and "samesite=strict" in attributes


def test_sessions_of_a_removed_token_end_at_the_next_start(
    make_app: Callable[..., FastAPI],
    make_settings: Callable[..., Settings],
    fake_edge: FakeEdge,
    clock: FakeClock,
) -> None:
    with TestClient(make_app()) as client:
        kept, removed, lead = log_in(client, DESK), log_in(client, OTHER_DESK), log_in(client, LEAD)
        assert status_with(client, removed) == 200
    # OTHER_DESK leaves the settings; the lead token becomes a desk token (its lead session ends too).
    moved = make_settings(
        input={"targets": [fake_edge.url]},
        auth={"desk_tokens": [DESK, LEAD], "lead_tokens": ["new-lead-token-0123456789"]},
    )
    with TestClient(create_app(moved, clock=clock)) as client:
        assert status_with(client, kept) == 200
        assert status_with(client, removed) == 401
        assert status_with(client, lead) == 401


# -- guessing ----------------------------------------------------------------------------------------


def attempt(client: TestClient, kind: str, token: str) -> httpx.Response:
    client.cookies.clear()
    if kind == "login":
        return client.post(SESSION, json={"token": token})
    return client.get(ZONES, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("kind", ["bearer", "login"])
def test_wrong_tokens_make_the_client_wait_longer_and_longer(
    client: TestClient, clock: FakeClock, kind: str
) -> None:
    for _ in range(FREE):
        assert attempt(client, kind, WRONG).status_code == 401
    waits = []
    for _ in range(12):
        response = attempt(client, kind, WRONG)
        assert response.status_code == 429 and response.json()["error"]["code"] == "too_many_requests"
        waits.append(int(response.headers["retry-after"]))
        # While it waits, not even the right token is looked at: the answer tells nothing.
        right = attempt(client, kind, DESK)
        assert right.status_code == 429 and int(right.headers["retry-after"]) == waits[-1]
        clock.advance(waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert attempt(client, kind, DESK).status_code == 200  # its wait over, the right token works
    # Another address has its own count, and this one's success reset nothing.
    other = TestClient(client.app, client=("192.0.2.7", 40000))
    assert attempt(other, kind, WRONG).status_code == 401
    assert attempt(client, kind, WRONG).status_code == 429
    clock.advance(security.FORGET_AFTER_S + 1)  # quiet for long enough: forgotten
    assert attempt(client, kind, WRONG).status_code == 401


@pytest.mark.parametrize("free", [1, 2, 50])
def test_the_free_failures_are_a_setting(make_app: Callable[..., FastAPI], free: int) -> None:
    with TestClient(make_app(free_failures=free)) as client:
        statuses = [attempt(client, "bearer", WRONG).status_code for _ in range(free + 1)]
    assert statuses == [401] * free + [429]


@pytest.mark.live_server
def test_wartezone_api_counts_the_connecting_address_not_x_forwarded_for(tmp_path: Path) -> None:
    port = free_port()
    settings = {"port": port, "database": str(tmp_path / "api.sqlite3"), "auth": {"desk_tokens": [DESK],
                "lead_tokens": [LEAD]}}  # fmt: skip
    (tmp_path / "api.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    command = [sys.executable, "-m", "edge", "api", "-c", str(tmp_path / "api.yaml")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/metrics", timeout=1).status_code == 200
        except httpx.HTTPError:
            assert process.poll() is None, "wartezone api ended"
            return False

    try:
        wait_for(answers, 30, "wartezone api to answer")
        statuses = [
            httpx.get(
                f"{url}{ZONES}",
                headers={"Authorization": f"Bearer {WRONG}", "X-Forwarded-For": f"198.51.100.{n}"},
            ).status_code
            for n in range(FREE + 1)
        ]
    finally:
        process.terminate()
        process.wait(10)
    assert statuses == [401] * FREE + [429]


def test_session_cookies_are_checked_while_the_address_waits(client: TestClient) -> None:
    cookie = log_in(client)
    for _ in range(FREE + 1):
        attempt(client, "bearer", WRONG)
    assert attempt(client, "bearer", DESK).status_code == 429
    assert status_with(client, cookie) == 200  # a screen behind the guesser's address keeps working
    assert status_with(client, "made-up") == 401  # counted, never 429


def test_one_warning_per_burst_names_the_address_never_the_token(
    client: TestClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guesser = TestClient(client.app, client=("203.0.113.9", 50000))

    def burst() -> None:
        for _ in range(30):
            if attempt(guesser, "bearer", WRONG).status_code == 429:
                clock.advance(security.MAX_WAIT_S)

    with caplog.at_level(logging.INFO, logger="api"):
        burst()
        clock.advance(security.FORGET_AFTER_S + 1)
        burst()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert all("203.0.113.9" in w and "bearer" in w for w in warnings)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert WRONG not in logged and DESK not in logged


def test_failures_are_counted_per_kind_without_the_address(make_app: Callable[..., FastAPI]) -> None:
    registry = CollectorRegistry()
    with TestClient(make_app(registry=registry)) as client:

        def failures(kind: str) -> float | None:
            return registry.get_sample_value("wartezone_api_auth_failures_total", {"kind": kind})

        assert [failures(k) for k in ("bearer", "cookie", "login")] == [0, 0, 0]  # exist from the start
        attempt(client, "bearer", WRONG)
        attempt(client, "bearer", DESK)
        for _ in range(3):
            attempt(client, "login", WRONG)
        status_with(client, "made-up")
        assert [failures(k) for k in ("bearer", "cookie", "login")] == [1, 1, 3]
        exposition = client.get("/metrics").text
        assert "testclient" not in exposition


def test_the_clients_remembered_are_bounded(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "MAX_CLIENTS", 3)
    guard = Guard(clock, lambda kind: None, FREE)
    for _ in range(FREE + 1):
        guard.failed("198.51.100.1", "bearer")
    assert guard.wait_s("198.51.100.1") == 1.0
    for n in range(2, 5):  # three more clients fail once each: the first is forgotten
        guard.failed(f"198.51.100.{n}", "bearer")
    assert guard.wait_s("198.51.100.1") == 0.0
    assert guard.failed("198.51.100.1", "bearer") == 0.0  # a fresh count


@pytest.mark.parametrize(
    ("host", "key"),
    [
        (None, "unknown"),
        ("", "unknown"),
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),  # same /64: one count
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("testclient", "testclient"),
    ],
)
def test_failures_are_counted_per_address_and_ipv6_per_64(host: str | None, key: str) -> None:
    assert client_key(host) == key


def test_bearer_clients_keep_working(client: TestClient) -> None:
    client.cookies.clear()
    assert client.get(ZONES, headers=DESK_HEADERS).status_code == 200


@pytest.mark.browser
def test_the_login_form_says_how_long_to_wait(browser: Any, make_site: Callable[..., Site]) -> None:
    site = make_site({("entrance", "waiting"): "Wartebereich Süd"})
    page = browser.new_page(locale="de-DE")
    page.set_default_timeout(15000)
    try:
        page.goto(f"{site.server.url}/reception")
        for _ in range(FREE):
            page.fill("#token", WRONG)
            page.click("#submit")
            page.wait_for_selector("#error:has-text('Unbekannter Schlüssel')")
            page.evaluate("document.getElementById('error').textContent = ''")
        page.fill("#token", WRONG)
        page.click("#submit")
        page.wait_for_selector("#error:has-text('Zu viele')")
        assert page.inner_text("#error") == (
            "Zu viele falsche Schlüssel \N{EN DASH} in 1 s erneut versuchen / "
            "Too many wrong tokens \N{EN DASH} try again in 1 s"
        )
        shoot(page, "login-too-many-wrong-tokens")
        page.wait_for_timeout(1100)  # its wait over, the right token logs in
        page.fill("#token", DESK)
        page.click("#submit")
        page.wait_for_selector('#connection[data-connected="true"]')
    finally:
        page.close()
