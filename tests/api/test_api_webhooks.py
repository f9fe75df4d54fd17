"""Webhooks: signed with the attempt's time, in order, retried with capped backoff from an outbox that
survives restarts; the receiver recipe of docs/integration.md refusing old and repeated deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from api_support import DESK, DESK_HEADERS, LEAD, LEAD_HEADERS, SECRET, FakeEdge, Receiver
from fastapi.testclient import TestClient

from api.app import create_app
from api.notify import REPLAY_WINDOW_S, TIMESTAMP_HEADER, backoff_s, sign, verify
from api.settings import RetrySettings, Settings, parse_settings
from tests.conftest import REPO
from tests.support import wait_for

RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 0}


@pytest.mark.parametrize(
    ("attempts", "wait_s"),
    [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (1000, 60.0)],
)
def test_backoff_doubles_up_to_the_cap(attempts: int, wait_s: float) -> None:
    assert backoff_s(attempts, RetrySettings(initial_s=1, max_s=60)) == wait_s


T = 1_764_000_000  # a delivery's X-Wartezone-Timestamp
BODY = b'{"id":1,"type":"alert.fired"}'


def test_signature_is_hmac_sha256_of_the_timestamp_and_the_raw_body() -> None:
    header = sign(SECRET, T, BODY)
    signed = f"{T}.".encode() + BODY
    assert header == "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", header)


# (timestamp header, signature header, body, now: what the receiver gets; whether verify accepts)
VERIFY_CASES: dict[str, tuple[str | None, str | None, bytes, float, bool]] = {
    "no headers": (None, None, BODY, T, False),
    "fresh": (str(T), sign(SECRET, T, BODY), BODY, T + 2, True),
    "4:59 old": (str(T), sign(SECRET, T, BODY), BODY, T + 299, True),
    "5:00 old": (str(T), sign(SECRET, T, BODY), BODY, T + REPLAY_WINDOW_S, True),
    "5:01 old": (str(T), sign(SECRET, T, BODY), BODY, T + 301, False),
    "an hour old": (str(T), sign(SECRET, T, BODY), BODY, T + 3600, False),
    "sender's clock 4 min ahead": (str(T), sign(SECRET, T, BODY), BODY, T - 240, True),
    "sender's clock 6 min ahead": (str(T), sign(SECRET, T, BODY), BODY, T - 360, False),
    "body changed": (str(T), sign(SECRET, T, BODY), BODY + b" ", T, False),
    "old delivery stamped anew": (str(T + 3600), sign(SECRET, T, BODY), BODY, T + 3600, False),
    "body signed alone (the old scheme)": (
        str(T),
        "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(),
        BODY,
        T,
        False,
    ),
    "another secret": (str(T), sign("another-secret-0123456789", T, BODY), BODY, T, False),
    "empty timestamp": ("", sign(SECRET, T, BODY), BODY, T, False),
    "timestamp not ASCII digits": ("\uff11\uff12", sign(SECRET, T, BODY), BODY, T, False),
    "signature not ASCII": (str(T), "sha256=\u00fc", BODY, T, False),
}


@pytest.mark.parametrize("case", VERIFY_CASES)
def test_verify_takes_a_fresh_genuine_delivery_only(case: str) -> None:
    timestamp, signature, body, now, accepted = VERIFY_CASES[case]
    assert verify(SECRET, body, timestamp, signature, now=now) is accepted


# --- the receiver recipe of docs/integration.md, run as written against real deliveries --------------------


def _readme_recipe() -> str:
    page = (REPO / "docs" / "integration.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    [recipe] = [block for block in blocks if "def receive(" in block and TIMESTAMP_HEADER in block]
    return str(recipe)


class Recipe:
    """The documented receiver in a namespace of its own (its own memory of ids), on a clock the
    test sets, acting by recording the event."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.acted: list[dict[str, Any]] = []
        self._namespace: dict[str, Any] = {"act_on": self.acted.append}
        exec(compile(_readme_recipe(), "docs/integration.md (webhook receiver)", "exec"), self._namespace)
        self._namespace["time"] = SimpleNamespace(time=lambda: self.now)

    def receive(self, headers: dict[str, str], body: bytes, secret: str = SECRET) -> int:
        return int(self._namespace["receive"](secret, httpx.Headers(headers), body))


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def timestamp(self) -> int:
        return int(self.headers[TIMESTAMP_HEADER.lower()])


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> list[Delivery]:
    """The branch lead's test alarm as a real API delivers it to a receiver that answers its first
    POST with 500: the delivery, then its retry a second or more later."""
    folder = tmp_path_factory.mktemp("webhooks")
    edge, receiver = FakeEdge(), Receiver(failures=1)
    settings = parse_settings(
        {
            "auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]},
            "database": str(folder / "api.sqlite3"),
            "input": {"targets": [edge.url], "interval_s": 0.1},
            "webhooks": [{"name": "branch", "url": receiver.url, "secret": SECRET}],
            "retry": {"initial_s": 1.1, "max_s": 2},  # the retry lands in another second
        },
        folder,
        environ={},
    )
    receiver.start()
    try:
        with TestClient(create_app(settings)) as client:
            wait_for(lambda: client.get("/api/v1/zones", headers=DESK_HEADERS).json()["zones"], 10, "a zone")
            sent = client.post("/api/v1/zones/north/entrance/waiting/test-alarm", headers=LEAD_HEADERS)
            assert sent.status_code == 200
            wait_for(lambda: len(receiver.received) >= 2, 10, "the delivery and its retry")
    finally:
        receiver.stop()
        edge.close()
    return [Delivery(headers, body) for headers, body in receiver.received[:2]]


def test_a_retry_keeps_its_delivery_id_and_is_signed_at_its_own_time(deliveries: list[Delivery]) -> None:
    first, retry = deliveries
    assert retry.body == first.body
    assert retry.headers["x-wartezone-delivery"] == first.headers["x-wartezone-delivery"]
    assert str(json.loads(first.body)["id"]) == first.headers["x-wartezone-delivery"]  # signed there too
    assert retry.timestamp > first.timestamp
    assert retry.headers["x-wartezone-signature"] != first.headers["x-wartezone-signature"]
    for delivery in deliveries:
        assert abs(time.time() - delivery.timestamp) < 60  # the attempt's own time, Unix seconds
        signature = delivery.headers["x-wartezone-signature"]
        assert verify(SECRET, delivery.body, str(delivery.timestamp), signature, now=delivery.timestamp)


def _restamped(delivery: Delivery, timestamp: int) -> Delivery:
    return Delivery({**delivery.headers, TIMESTAMP_HEADER.lower(): str(timestamp)}, delivery.body)


def _altered(delivery: Delivery) -> Delivery:
    return Delivery(delivery.headers, delivery.body.replace(b'"alert.test"', b'"alert.fired"'))


# (what reaches the receiver: deliveries and when, seconds after the first's timestamp; the
# statuses it answers; how many events it acts on)
RECIPE_CASES: dict[str, tuple[Callable[[list[Delivery]], list[tuple[Delivery, float]]], list[int], int]] = {
    "nothing": (lambda d: [], [], 0),
    "fresh": (lambda d: [(d[0], 1)], [200], 1),
    "replayed at once": (lambda d: [(d[0], 1), (d[0], 2)], [200, 200], 1),
    "replayed 4 min later": (lambda d: [(d[0], 1), (d[0], 240)], [200, 200], 1),
    "the retry after the first": (lambda d: [(d[0], 1), (d[1], 2)], [200, 200], 1),
    "captured, sent 6 min later": (lambda d: [(d[0], 360)], [401], 0),
    "replayed 6 min later": (lambda d: [(d[0], 1), (d[0], 360)], [200, 401], 1),
    "stamped anew": (lambda d: [(_restamped(d[0], d[0].timestamp + 360), 360)], [401], 0),
    "body altered": (lambda d: [(_altered(d[0]), 1)], [401], 0),
    "unsigned": (lambda d: [(Delivery({}, d[0].body), 1)], [401], 0),
}


@pytest.mark.parametrize("case", RECIPE_CASES)
def test_the_readme_receiver_takes_each_genuine_delivery_once_and_refuses_old_ones(
    deliveries: list[Delivery], case: str
) -> None:
    arrivals, statuses, acted = RECIPE_CASES[case]
    recipe = Recipe(now=deliveries[0].timestamp)
    answered = []
    for delivery, after_s in arrivals(deliveries):
        recipe.now = deliveries[0].timestamp + after_s
        answered.append(recipe.receive(delivery.headers, delivery.body))
    assert answered == statuses
    assert [event["type"] for event in recipe.acted] == ["alert.test"] * acted


def test_the_readme_receiver_refuses_another_webhooks_secret(deliveries: list[Delivery]) -> None:
    first = deliveries[0]
    recipe = Recipe(now=first.timestamp)
    assert recipe.receive(first.headers, first.body, secret="another-secret-0123456789") == 401
    assert recipe.acted == []


def pending(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("wartezone_outbox_pending "):
            return float(line.split()[1])
    raise AssertionError("no wartezone_outbox_pending")


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{"):
            return float(line.split()[-1])
    raise AssertionError(f"no {name}")


def state(client: TestClient) -> str:
    return str(client.get("/api/v1/zones/north/entrance/waiting", headers=DESK_HEADERS).json()["state"])


def told(client: TestClient) -> list[str]:
    return [e["type"] for e in client.get("/api/v1/events", headers=DESK_HEADERS).json()]


def test_a_receiver_down_across_a_restart_gets_every_event_in_order_once(
    make_settings: Callable[..., Settings], fake_edge: FakeEdge
) -> None:
    receiver = Receiver()  # not started: the receiver is down
    settings = make_settings(
        input={"targets": [fake_edge.url], "interval_s": 0.1},
        webhooks=[{"name": "desk", "url": receiver.url, "secret": SECRET, "timeout_s": 2}],
        retry={"initial_s": 0.05, "max_s": 0.2},
    )
    fake_edge.set({("entrance", "waiting"): 3})
    with TestClient(create_app(settings)) as client:
        client.put("/api/v1/rules/north/entrance/waiting", json=RULE, headers=LEAD_HEADERS)
        for occupancy, count in ((7, 1), (1, 2), (8, 3)):
            fake_edge.set({("entrance", "waiting"): occupancy})
            wait_for(lambda n=count: len(told(client)) == n, 10, f"event {count}")  # type: ignore[misc]
        client.post("/api/v1/zones/north/entrance/waiting/acknowledge", headers=DESK_HEADERS)
        wait_for(lambda: pending(client) == 4, 10, "4 events in the outbox")
        wait_for(lambda: metric(client, "wartezone_notifications_failed_total") >= 2, 10, "retries")
    # Restarted, the receiver still down: the outbox is in the database, not in memory.
    with TestClient(create_app(settings)) as client:
        fake_edge.set({("entrance", "waiting"): 8})
        wait_for(lambda: state(client) == "acknowledged", 10, "the stored alert back")
        fake_edge.set({}, up={"entrance": False})
        wait_for(lambda: state(client) == "unknown", 10, "camera down")
        fake_edge.set({("entrance", "waiting"): 2})
        wait_for(lambda: len(told(client)) == 7, 10, "resolved")
        wait_for(lambda: pending(client) == 7, 10, "7 events in the outbox")
        assert receiver.received == []
        receiver.start()
        try:
            wait_for(lambda: pending(client) == 0, 20, "the outbox to drain")
            expected = client.get("/api/v1/events", headers=DESK_HEADERS).json()
        finally:
            receiver.stop()
    events = receiver.events(SECRET)  # every signature checked
    assert [e["type"] for e in events] == [
        "alert.fired",
        "alert.resolved",
        "alert.fired",
        "alert.acknowledged",
        "zone.unknown",
        "zone.known",
        "alert.resolved",
    ]
    assert [e["id"] for e in events] == list(range(1, 8))  # in order, none twice, none missing
    assert events == expected
    assert [h["x-wartezone-delivery"] for h, _ in receiver.received] == [str(i) for i in range(1, 8)]
    assert [h["x-wartezone-event"] for h, _ in receiver.received] == [e["type"] for e in events]
    assert events[4]["occupancy"] is None and events[4]["reason"] == "camera down"
    assert events[3]["alert"]["acknowledged_by"] == "desk"


def test_the_api_description_names_the_signed_timestamp(make_settings: Callable[..., Settings]) -> None:
    description = create_app(make_settings()).openapi()["info"]["description"]
    assert f"`{TIMESTAMP_HEADER}: <Unix seconds of the attempt>`" in description
    assert '"<timestamp>.<raw body>"' in description and "5 minutes" in description
