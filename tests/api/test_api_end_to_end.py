"""End to end with real parts only: the edge replaying a real video as a subprocess, two API
subprocesses scraping it, signed webhooks to HTTP receivers on 127.0.0.1 (one of them down for a
while). Times are checked against the edge's own frame clock, read from its /metrics.

The PETS 2009 video at the fast detector setting counts 0-5 people in the whole frame: two or more
from about 19 s to 26 s, then at most one until about 34 s (see `wartezone replay`). A rule with
raise level 2 and clear level 1 therefore fires and resolves within the first 35 s of the video.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from api_support import DESK, LEAD, LEAD_HEADERS, SECRET, Receiver
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SHARED_DATA, need
from tests.support import free_port, wait_for

pytestmark = pytest.mark.live_server  # the edge and the API as processes, a receiver, a real clock

REPO = Path(__file__).resolve().parents[2]
SITE = "branch"
RULE = {"raise_level": 2, "clear_level": 1, "min_above_s": 3, "min_below_s": 3, "cooldown_s": 300}
SCRAPE_S = 0.25


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # a file, not a pipe: a chatty child never blocks on a full pipe
        return subprocess.Popen(
            [sys.executable, "-m", "edge", *args], cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return int(process.returncode)


@dataclass
class EdgeClock:
    """What the test itself reads from the edge: frame time -> occupancy of camera cam, zone all."""

    url: str
    frames: dict[float, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                text = httpx.get(self.url, timeout=2).text
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            values: dict[str, float] = {}
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if s.labels.get("camera") == "cam" and s.labels.get("zone", "all") == "all":
                        values[s.name] = s.value
            frame = values.get("wartezone_camera_last_frame_timestamp_seconds")
            if frame is not None and "wartezone_zone_occupancy" in values:
                self.frames[frame] = values["wartezone_zone_occupancy"]
            time.sleep(0.1)

    def between(self, start: float, end: float) -> list[float]:
        return [v for t, v in sorted(self.frames.items()) if start <= t <= end]

    def run_start(self, at: float, holds: Callable[[float], bool]) -> float:
        """The earliest frame time from which `holds` is true of every frame up to `at`."""
        start = at
        for t, v in sorted(self.frames.items(), reverse=True):
            if t > at:
                continue
            if not holds(v):
                break
            start = t
        return start


@dataclass
class Run:
    events_up: list[dict[str, Any]]
    events_down: list[dict[str, Any]]
    stored_up: list[dict[str, Any]]
    stored_down: list[dict[str, Any]]
    receiver_down_started_after: int
    clock: EdgeClock
    has_second_camera: bool
    api_exit_codes: list[int]
    api_logs: list[str]


def api_settings(folder: Path, port: int, edge_url: str, receiver: Receiver) -> Path:
    path = folder / "api.yaml"
    settings = {
        "port": port,
        "database": "api.sqlite3",
        "input": {"type": "scrape", "targets": [edge_url], "interval_s": SCRAPE_S},
        "auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]},
        "webhooks": [{"name": "branch-system", "url": receiver.url, "secret": SECRET, "timeout_s": 2}],
        "retry": {"initial_s": 0.2, "max_s": 1.0},
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def stored_events(api: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{api}/api/v1/events", headers={"Authorization": f"Bearer {DESK}"}, timeout=5)
    return list(response.json())


def types(events: list[dict[str, Any]], camera: str = "cam") -> list[str]:
    return [e["type"] for e in events if e["camera"] == camera]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Run]:
    video: Path = request.getfixturevalue("demo_video")
    try:  # a second camera, a 4 s clip: it ends early, so its zone goes down for real
        gif: Path | None = (
            request.getfixturevalue("shared_data") / "intel-sample-videos" / "store-aisle-detection.gif"
        )
    except pytest.skip.Exception:
        gif = None
    folder = tmp_path_factory.mktemp("e2e")
    edge_port = free_port()
    edge_url = f"http://127.0.0.1:{edge_port}/metrics"
    cameras: list[dict[str, Any]] = [
        {
            "id": "cam",
            "source": {"type": "file", "path": str(video), "realtime": True, "loop": False},
            "fps": 2,
            "zones": [{"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
        }
    ]
    if gif is not None and gif.exists():
        cameras.append({**cameras[0], "id": "aisle", "source": {**cameras[0]["source"], "path": str(gif)}})
    edge_config = folder / "edge.yaml"
    edge_config.write_text(
        yaml.safe_dump(
            {
                "site": SITE,
                "metrics": {"host": "127.0.0.1", "port": edge_port},
                "detector": {"input_size": [480, 640]},
                "cameras": cameras,
            }
        ),
        encoding="utf-8",
    )
    up, down = Receiver(), Receiver()
    up.start()
    apis: list[tuple[str, subprocess.Popen[bytes]]] = []
    processes: list[subprocess.Popen[bytes]] = []
    clock = EdgeClock(edge_url)
    watcher = threading.Thread(target=clock.run, daemon=True)
    try:
        for name, receiver in (("up", up), ("down", down)):
            port = free_port()
            (folder / name).mkdir()
            config = api_settings(folder / name, port, edge_url, receiver)
            args = ["api", "-c", str(config)]
            if name == "down":  # the command line wins over the file
                port = free_port()
                args += ["--host", "127.0.0.1", "--port", str(port)]
            process = start(args, folder / f"api-{name}.log")
            processes.append(process)
            apis.append((f"http://127.0.0.1:{port}", process))
        for api, _ in apis:
            wait_for(lambda a=api: _answers(a), 30, f"the API at {api} to start")  # type: ignore[misc]
            for camera, rule in (("cam", RULE), ("aisle", {**RULE, "raise_level": 50})):
                put = httpx.put(f"{api}/api/v1/rules/{SITE}/{camera}/all", json=rule, headers=LEAD_HEADERS)
                assert put.status_code == 200, put.text
        edge = start(["edge", "run", "-c", str(edge_config)], folder / "edge.log")
        processes.append(edge)
        watcher.start()
        api_up, api_down = apis[0][0], apis[1][0]

        # Receiver "down" stays down until its API has fired (and queued what came before).
        wait_for(lambda: "alert.fired" in types(stored_events(api_down)), 60, "the alert to fire")
        time.sleep(2)  # a few failed attempts more, with backoff
        waiting = len(stored_events(api_down))
        assert down.received == []
        down.start()
        for api in (api_up, api_down):
            wait_for(lambda a=api: "alert.resolved" in types(stored_events(a)), 60, "the alert to resolve")  # type: ignore[misc]
        for api, receiver in ((api_up, up), (api_down, down)):
            wait_for(
                lambda a=api, r=receiver: len(r.received) >= len(stored_events(a)),  # type: ignore[misc]
                20,
                "every stored event to reach the receiver",
            )
        stored = [stored_events(api_up), stored_events(api_down)]
        assert edge.poll() is None, (folder / "edge.log").read_text()[-3000:]
        clock.stop.set()
        codes = [stop(process) for _, process in apis]
        yield Run(
            up.events(SECRET),
            down.events(SECRET),
            stored[0],
            stored[1],
            waiting,
            clock,
            len(cameras) == 2,
            codes,
            [(folder / f"api-{name}.log").read_text() for name in ("up", "down")],
        )
    finally:
        clock.stop.set()
        for process in processes:
            stop(process)
        up.stop()
        down.stop()


def _answers(api: str) -> bool:
    try:
        return httpx.get(f"{api}/reception", timeout=1).status_code == 401
    except httpx.HTTPError:
        return False


def test_alert_fires_after_min_duration_and_resolves_when_occupancy_falls(run: Run) -> None:
    events = [e for e in run.events_up if e["camera"] == "cam"]
    assert [e["type"] for e in events] == ["alert.fired", "alert.resolved"]
    fired, resolved = events
    at, since = _t(fired["at"]), _t(fired["since"])
    # Against the edge's frame clock: fired min_above_s after the first frame at the raise level
    # (plus at most one analysed frame and one scrape), and every frame between was at or above it.
    assert RULE["min_above_s"] <= at - since <= RULE["min_above_s"] + 0.5 + SCRAPE_S + 0.3
    assert min(run.clock.between(since, at)) >= RULE["raise_level"]
    # `since` is where the run of frames at/above the raise level began; a scrape may miss one
    # frame of it under load, so it is that frame or the next (frames come every 0.5 s).
    assert since - run.clock.run_start(since, lambda v: v >= RULE["raise_level"]) <= 0.5 + 0.01
    assert fired["occupancy"] >= RULE["raise_level"] and fired["alert"]["started_at"] == fired["since"]

    end, below = _t(resolved["at"]), _t(resolved["since"])
    assert RULE["min_below_s"] <= end - below <= RULE["min_below_s"] + 0.5 + SCRAPE_S + 0.3
    assert max(run.clock.between(below, end)) <= RULE["clear_level"]
    assert below - run.clock.run_start(below, lambda v: v <= RULE["clear_level"]) <= 0.5 + 0.01
    assert resolved["reason"] == "below_clear_level" and resolved["alert"]["ended_at"] == resolved["at"]
    assert resolved["alert"]["peak_occupancy"] == max(run.clock.between(since, below))
    assert resolved["alert"]["id"] == fired["alert"]["id"]


def test_webhooks_are_signed_complete_and_in_order(run: Run) -> None:
    # Receiver.events() has verified every X-Wartezone-Signature against the shared secret.
    assert run.events_up == run.stored_up
    assert [e["id"] for e in run.events_up] == list(range(1, len(run.events_up) + 1))


def test_a_receiver_down_for_a_while_gets_every_event_in_order_once(run: Run) -> None:
    assert run.receiver_down_started_after >= 1  # events were waiting in the outbox
    assert run.events_down == run.stored_down  # everything, in order, none twice
    assert [e["id"] for e in run.events_down] == list(range(1, len(run.events_down) + 1))
    assert types(run.events_down) == ["alert.fired", "alert.resolved"]
    # Both APIs saw the same edge: the same transitions of the same zone.
    assert [(e["type"], e["state"]) for e in run.events_down] == [
        (e["type"], e["state"]) for e in run.events_up
    ]


def test_a_camera_that_ends_makes_its_zone_unknown(run: Run) -> None:
    if not run.has_second_camera:
        need(SHARED_DATA, "the second, short clip lives in ../shared/data")
    unknown = [e for e in run.events_up if e["camera"] == "aisle"]
    assert [e["type"] for e in unknown] == ["zone.unknown"]
    assert unknown[0]["occupancy"] is None and unknown[0]["reason"] == "camera down"


def test_apis_stop_cleanly_on_sigterm(run: Run) -> None:
    # uvicorn re-raises the signal it handled, so the exit status says "terminated by SIGTERM".
    assert set(run.api_exit_codes) <= {0, -signal.SIGTERM}
    for log in run.api_logs:
        assert "Application shutdown complete" in log and "Traceback" not in log


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_routine_success_is_quiet(run: Run) -> None:
    """Scrapes every second and webhooks that work are not news: no request line per scrape or
    delivery; what is logged at INFO and above is start, stop and what went wrong."""
    for log in run.api_logs:
        assert "HTTP Request:" not in log, log[-2000:]  # httpx's INFO line per request
        lines = [line for line in log.splitlines() if " INFO " in line or " WARNING " in line]
        assert len(lines) < 30, "\n".join(lines)
