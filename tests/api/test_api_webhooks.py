"""Webhooks: signed, in order, retried with capped backoff from an outbox that survives restarts."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from api_support import DESK_HEADERS, LEAD_HEADERS, SECRET, FakeEdge, Receiver
from fastapi.testclient import TestClient

from api.app import create_app
from api.notify import backoff_s, sign, verify
from api.settings import RetrySettings, Settings
from tests.support import wait_for

RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 0}


@pytest.mark.parametrize(
    ("attempts", "wait_s"),
    [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (1000, 60.0)],
)
def test_backoff_doubles_up_to_the_cap(attempts: int, wait_s: float) -> None:
    assert backoff_s(attempts, RetrySettings(initial_s=1, max_s=60)) == wait_s


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id":1,"type":"alert.fired"}'
    header = sign(SECRET, body)
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", header)
    assert verify(SECRET, body, header)
    assert not verify(SECRET, body + b" ", header)
    assert not verify("another-secret-0123456789", body, header)
    assert not verify(SECRET, body, None)


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
