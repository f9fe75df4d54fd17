"""The Server-Sent Events stream from a real uvicorn server: zone states and alert events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from api_support import DESK_HEADERS, LEAD_HEADERS, FakeEdge, ServerThread

from api.app import create_app
from api.settings import Settings
from api.stream import sse

RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 60}


@pytest.mark.parametrize(
    ("event", "data", "event_id", "text"),
    [
        ("zones", "", None, "event: zones\ndata: \n\n"),
        ("alert", '{"id":3}', 3, 'event: alert\nid: 3\ndata: {"id":3}\n\n'),
        ("zones", "a\nb", None, "event: zones\ndata: a\ndata: b\n\n"),
    ],
)
def test_sse_framing(event: str, data: str, event_id: int | None, text: str) -> None:
    assert sse(event, data, event_id) == text


def events(response: httpx.Response) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(event, id, data) from an open stream."""
    kind, event_id, data = "", "", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and kind:
            yield kind, event_id, json.loads(data)
            kind, event_id, data = "", "", ""


def next_event(
    stream: Iterator[tuple[str, str, dict[str, Any]]], kind: str, test: Callable[[Any], bool]
) -> Any:
    for event_kind, event_id, data in stream:
        if event_kind == kind and test(data):
            return event_id, data
    raise AssertionError(f"the stream ended before a matching {kind} event")


def test_stream_sends_zones_then_alert_events_and_replays_missed_ones(
    make_settings: Callable[..., Settings], fake_edge: FakeEdge
) -> None:
    settings = make_settings(input={"targets": [fake_edge.url], "interval_s": 0.1})
    fake_edge.set({("entrance", "waiting"): 1})
    server = ServerThread(create_app(settings)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            client.put("/api/v1/rules/north/entrance/waiting", json=RULE, headers=LEAD_HEADERS)
            with client.stream("GET", "/api/v1/stream", headers=DESK_HEADERS) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                stream = events(response)
                _, first = next_event(stream, "zones", lambda d: True)
                assert [z["zone"] for z in first["zones"]] == ["waiting"]
                next_event(stream, "zones", lambda d: d["zones"][0]["state"] == "ok")
                fake_edge.set({("entrance", "waiting"): 6})
                event_id, fired = next_event(stream, "alert", lambda d: True)
                assert (
                    fired["type"] == "alert.fired"
                    and fired["occupancy"] == 6
                    and event_id == str(fired["id"])
                )
                _, zones = next_event(stream, "zones", lambda d: d["zones"][0]["state"] == "firing")
                assert zones["zones"][0]["alert"]["id"] == fired["alert"]["id"]
                fake_edge.set({}, up={"entrance": False})
                _, unknown = next_event(stream, "alert", lambda d: True)
                assert (unknown["type"], unknown["occupancy"], unknown["reason"]) == (
                    "zone.unknown",
                    None,
                    "camera down",
                )
            # A client that saw event 0 only gets the rest first (EventSource sends Last-Event-ID).
            replay = {**DESK_HEADERS, "Last-Event-ID": "0"}
            with client.stream("GET", "/api/v1/stream", headers=replay) as response:
                stream = events(response)
                got = [next_event(stream, "alert", lambda d: True)[1]["type"] for _ in range(2)]
                assert got == ["alert.fired", "zone.unknown"]
    finally:
        server.stop()
