"""A room whose cameras are on different edge boxes: the zones that name it (`room` on
wartezone_zone_info) added up by the API into a zone of camera "floor", only where no box counts
the room itself; partial while one of them is unknown; through rules, the zone view and the events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from api_support import DESK_HEADERS, LEAD_HEADERS, FakeClock, FakeEdge
from fastapi.testclient import TestClient

from api.app import create_app
from api.domain import Snapshot, Unknown, ZoneKey
from api.occupancy import PrometheusSource, samples_from_exposition, snapshot_from_samples
from api.settings import PrometheusInput, Settings
from tests.support import wait_for
from wartezone_contract import ROOM_CAMERA

NOW = 1000.0
ROOM = ZoneKey("north", ROOM_CAMERA, "wartebereich")
DOOR = ZoneKey("north", "door", "seats")  # on box A
WINDOW = ZoneKey("north", "window", "seats")  # on box B
RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 0}

# (camera, zone) -> (occupancy or None (camera down), the room it names or None)
Zones = dict[tuple[str, str], tuple[float | None, str | None]]


def page(zones: Zones, counted_room: float | None = None, partial: int | None = None) -> str:
    """One box's page in the contract's shape; counted_room / partial: the box counts the room itself."""
    lines = ["# TYPE wartezone_zone_info gauge"]
    for (camera, zone), (_, room) in zones.items():
        part_of = "" if room is None else f',room="{room}"'
        lines.append(
            f'wartezone_zone_info{{camera="{camera}",name="{zone}"{part_of},site="north",zone="{zone}"}} 1'
        )
    lines.append('wartezone_zone_info{camera="floor",name="Wartebereich",site="north",zone="wartebereich"} 1')
    lines.append("# TYPE wartezone_zone_occupancy gauge")
    for (camera, zone), (count, _) in zones.items():
        if count is not None:
            lines.append(f'wartezone_zone_occupancy{{camera="{camera}",site="north",zone="{zone}"}} {count}')
    if counted_room is not None:
        lines.append(
            f'wartezone_zone_occupancy{{camera="floor",site="north",zone="wartebereich"}} {counted_room}'
        )
    if partial is not None:
        lines.append("# TYPE wartezone_zone_partial gauge")
        lines.append(f'wartezone_zone_partial{{camera="floor",site="north",zone="wartebereich"}} {partial}')
    lines.append("# TYPE wartezone_camera_up gauge")
    cameras = {camera: count is not None for (camera, _), (count, _) in zones.items()}
    if counted_room is not None or partial is not None:
        cameras[ROOM_CAMERA] = True
    lines += [f'wartezone_camera_up{{camera="{c}",site="north"}} {int(up)}' for c, up in cameras.items()]
    lines.append("# TYPE wartezone_camera_last_frame_timestamp_seconds gauge")
    lines += [
        f'wartezone_camera_last_frame_timestamp_seconds{{camera="{c}",site="north"}} {NOW}' for c in cameras
    ]
    return "\n".join(lines) + "\n"


ROOMS = "wartebereich"
CASES: list[tuple[str, str, tuple[float, bool] | None, tuple[ZoneKey, ...]]] = [
    ("empty: no zone names a room", page({}), None, ()),
    ("a zone without a room adds nothing", page({("door", "seats"): (3, None)}), None, ()),
    (
        "two zones of one room on two boxes: their sum",
        page({("door", "seats"): (3, ROOMS)}) + page({("window", "seats"): (4, ROOMS)}),
        (7.0, False),
        (DOOR, WINDOW),
    ),
    (
        "a zone of it unknown: the others' sum, partial",
        page({("door", "seats"): (3, ROOMS)}) + page({("window", "seats"): (None, ROOMS)}),
        (3.0, True),
        (DOOR, WINDOW),
    ),
    (
        "every zone of it unknown: the room is unknown",
        page({("door", "seats"): (None, ROOMS), ("window", "seats"): (None, ROOMS)}),
        None,
        (DOOR, WINDOW),
    ),
    (
        "a box counts the room itself: its count, nothing added",
        page({("door", "seats"): (3, ROOMS)}, counted_room=9, partial=0),
        (9.0, False),
        (),
    ),
    (
        "a box counts it but has no count now: unknown, not the zones' sum",
        page({("door", "seats"): (3, ROOMS)}, partial=1),
        None,
        (),
    ),
]


@pytest.mark.parametrize(("text", "room", "members"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_room_across_boxes_is_the_sum_of_its_zones(
    text: str, room: tuple[float, bool] | None, members: tuple[ZoneKey, ...]
) -> None:
    snapshot = snapshot_from_samples(samples_from_exposition(text), now=NOW, stale_after_s=30)
    reading = snapshot.zones.get(ROOM)
    assert (None if reading is None else (reading.occupancy, reading.partial)) == room
    assert snapshot.room_members == ({ROOM: members} if members else {})
    if members and room is None:  # unknown with a reason naming its zones, never 0
        why = snapshot.zones_unknown[ROOM]
        assert why.kind is Unknown.NOT_COUNTED and str(DOOR) in why.detail


@pytest.mark.parametrize(
    ("door", "window", "room"),
    [({}, {}, None), ({DOOR: 5.0}, {}, None), ({DOOR: 5.0}, {WINDOW: 2.0}, 7.0)],
    ids=["none", "a zone without its counter", "both"],
)
def test_a_room_across_boxes_has_counters_only_while_each_zone_has_one(
    door: dict[ZoneKey, float], window: dict[ZoneKey, float], room: float | None
) -> None:
    """A sum that lacks a zone would fall, and read as a counter reset: then the room has none."""
    text = (
        page({("door", "seats"): (3, ROOMS), ("window", "seats"): (4, ROOMS)})
        + "# TYPE wartezone_zone_entries counter\n"
    )
    for key, value in {**door, **window}.items():
        text += (
            f'wartezone_zone_entries_total{{camera="{key.camera}",site="north",zone="{key.zone}"}} {value}\n'
        )
    snapshot = snapshot_from_samples(samples_from_exposition(text), now=NOW, stale_after_s=30)
    assert snapshot.entries_total.get(ROOM) == room


def test_a_room_whose_zone_names_a_bad_id_is_a_problem_named() -> None:
    text = page({("door", "seats"): (3, "Warte Bereich")})
    snapshot = snapshot_from_samples(samples_from_exposition(text), now=NOW, stale_after_s=30)
    assert snapshot.room_members == {} and "not an id" in snapshot.problems[0]


def test_the_promql_input_adds_up_a_room_and_its_exits(prometheus: str, fake_edge: FakeEdge) -> None:
    """Prometheus holds every box's series: the room is added up there too, its recent exits as well."""
    exits = "# TYPE wartezone_zone_exits counter\n" + "".join(
        f'wartezone_zone_exits_total{{camera="{k.camera}",site="north",zone="{k.zone}"}} 5\n'
        for k in (DOOR, WINDOW)
    )
    fake_edge.text = page({("door", "seats"): (3, ROOMS), ("window", "seats"): (4, ROOMS)}) + exits
    source = PrometheusSource(PrometheusInput(type="prometheus", url=prometheus), FakeClock(NOW + 5))

    async def scenario() -> Snapshot:
        deadline = time.monotonic() + 20
        while True:
            snapshot = await source.read()
            counted = ROOM in snapshot.zones and {DOOR, WINDOW} <= set(snapshot.recent_exits)
            if counted or time.monotonic() > deadline:  # increase() needs two scrapes
                await source.aclose()
                return snapshot
            await asyncio.sleep(0.3)

    snapshot = asyncio.run(scenario())
    assert (snapshot.zones[ROOM].occupancy, snapshot.zones[ROOM].partial) == (7.0, False)
    assert snapshot.room_members == {ROOM: (DOOR, WINDOW)}
    # increase() over a counter seen for a few seconds: 0 each so far, the room's their sum
    assert snapshot.recent_exits[ROOM] == snapshot.recent_exits[DOOR] + snapshot.recent_exits[WINDOW]


# -- through the API: two boxes, a rule on the room -------------------------------------------------


class Box(FakeEdge):
    """An edge box serving a fixed page, the frame time moved to the API's now at every scrape."""

    def __init__(self) -> None:
        super().__init__(names={})
        self.zones: Zones = {}

    def render(self) -> str:
        if self.status != 200:
            return ""
        return page(self.zones).replace(f" {NOW}\n", f" {time.time()}\n")  # a live camera's frame


@pytest.fixture
def boxes() -> Iterator[tuple[Box, Box]]:
    a, b = Box(), Box()
    yield a, b
    a.close()
    b.close()


def room_view(client: TestClient) -> dict[str, object]:
    answer = client.get(f"/api/v1/zones/north/{ROOM_CAMERA}/wartebereich", headers=DESK_HEADERS)
    return dict(answer.json()) if answer.status_code == 200 else {}


def test_a_rule_on_a_room_across_boxes_fires_and_the_view_says_it_is_added_up(
    make_settings: Callable[..., Settings], boxes: tuple[Box, Box]
) -> None:
    a, b = boxes
    a.zones = {("door", "seats"): (3, ROOMS)}
    b.zones = {("window", "seats"): (4, ROOMS)}
    settings = make_settings(input={"targets": [a.url, b.url], "interval_s": 0.1})
    with TestClient(create_app(settings)) as client:
        wait_for(lambda: room_view(client).get("occupancy") == 7.0, 10, "the room added up")
        view = room_view(client)
        assert (view["name"], view["partial"]) == ("Wartebereich", False)
        assert view["members"] == [str(DOOR), str(WINDOW)]
        put = client.put(f"/api/v1/rules/north/{ROOM_CAMERA}/wartebereich", json=RULE, headers=LEAD_HEADERS)
        assert put.status_code == 200, put.text
        wait_for(lambda: room_view(client).get("state") == "firing", 10, "the room's alert")
        [fired] = client.get("/api/v1/events", headers=DESK_HEADERS).json()
        assert (fired["type"], fired["camera"], fired["zone"]) == ("alert.fired", ROOM_CAMERA, "wartebereich")
        # Box B stops answering: the room is at least box A's 3, partial, and its alert stays open.
        b.status = 500
        wait_for(lambda: room_view(client).get("partial") is True, 10, "the room partial")
        view = room_view(client)
        assert (view["occupancy"], view["state"]) == (3.0, "firing")
    # The report (the API's stored minutes: the minute so far is stored when the API stops) has the
    # room as a zone: its peak, its alert.
    with TestClient(create_app(settings)) as client:
        now = int(time.time())  # one step of a day around now: one row per zone
        asked = {"site": "north", "from": str(now - 3600), "to": str(now + 3600), "step": "1d"}
        rows = client.get("/api/v1/report", params=asked, headers=LEAD_HEADERS).json()["rows"]
    [row] = [r for r in rows if (r["camera"], r["zone"]) == (ROOM_CAMERA, "wartebereich")]
    assert (row["name"], row["occupancy_peak"], row["alerts_fired"]) == ("Wartebereich", 7.0, 1)
