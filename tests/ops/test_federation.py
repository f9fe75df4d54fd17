"""All branches in one place, for real: two branch Prometheus servers, each scraping its own edge box
and its own staffing-alert API and sending its operations alerts to its own Alertmanager, and a
head-office Prometheus federating both with deploy/prometheus/central/prometheus.yml (the README's
recipe). Every dashboard query, the site variable set to both branches, must return both branches'
data at head office; a branch whose link to head office is cut must go on alerting by itself.
Remote write is checked on paper: promtool accepts the branch config with remote-write.yml in it.

The edge boxes are stand-ins (tests/ops/standin_edge.py: the edge's own accounting and exposition
without a detector): two real replays beside five servers would not keep pace on 2 cores."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

import wartezone_contract as contract
from tests.conftest import need_tool
from tests.ops.grafana_queries import ALERTMANAGER_CONFIG, PROMETHEUS_DIR
from tests.ops.live_prometheus import (
    Api,
    acknowledge_alerts,
    ask_every_dashboard_query,
    query,
    site_prometheus_config,
    start,
    start_api,
    start_prometheus,
    stop,
    wait_for_url,
)
from tests.ops.standin_edge import StandInEdge, ZoneTraffic
from tests.support import free_port, wait_for

CENTRAL_CONFIG = PROMETHEUS_DIR / "central" / "prometheus.yml"
REMOTE_WRITE = PROMETHEUS_DIR / "remote-write.yml"
SITES = ("north", "south")
# Two cameras per branch: "door" (a hall without a staffing rule) and "desk" (the waiting area,
# whose raise level is never reached by itself, and the counter queue, which often reaches its own).
CAMERAS = {
    "door": {"hall": ZoneTraffic("Eingangshalle", 0.3, (2.0, 6.0))},
    "desk": {
        "waiting": ZoneTraffic("Wartebereich", 0.4, (1.0, 5.0)),
        "counter": ZoneTraffic("Schalter", 1.0, (2.0, 5.0)),
    },
}
RAISE_LEVELS = {"waiting": 50, "counter": 3}
DATA_DEADLINE_S = 150.0


def test_central_config_is_valid() -> None:
    promtool = need_tool("promtool", "scripts/setup.sh --dev installs Debian's prometheus package")
    done = subprocess.run([promtool, "check", "config", str(CENTRAL_CONFIG)], capture_output=True, text=True)
    assert done.returncode == 0 and "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_branch_config_with_remote_write_is_valid(tmp_path: Path) -> None:
    """remote-write.yml pasted into the branch's prometheus.yml, as the README says, passes promtool."""
    promtool = need_tool("promtool", "scripts/setup.sh --dev installs Debian's prometheus package")
    folder = shutil.copytree(PROMETHEUS_DIR, tmp_path / "prometheus")
    config = yaml.safe_load((folder / "prometheus.yml").read_text(encoding="utf-8"))
    remote = yaml.safe_load(REMOTE_WRITE.read_text(encoding="utf-8"))
    assert set(remote) == {"remote_write"} and remote["remote_write"][0]["url"].startswith("https://")
    (folder / "prometheus.yml").write_text(yaml.safe_dump({**config, **remote}), encoding="utf-8")
    done = subprocess.run(
        [promtool, "check", "config", str(folder / "prometheus.yml")], capture_output=True, text=True
    )
    assert done.returncode == 0 and "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
    # ... and promtool does read it: a remote write without its URL fails.
    del remote["remote_write"][0]["url"]
    (folder / "prometheus.yml").write_text(yaml.safe_dump({**config, **remote}), encoding="utf-8")
    bad = subprocess.run([promtool, "check", "config", str(folder / "prometheus.yml")], capture_output=True)
    assert bad.returncode != 0


# ---- the branches' link to head office, and the operations team's webhook


class Link:
    """A TCP connection between head office and a branch's Prometheus that can be cut and mended."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = ("127.0.0.1", target_port)
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def mend(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            sockets, self._open = [*self._open, *([self._listener] if self._listener else [])], []
            self._listener = None
        for sock in sockets:
            with contextlib.suppress(OSError):  # not connected any more
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                near, _ = listener.accept()
                far = socket.create_connection(self._target, timeout=5)
            except OSError:
                return  # cut
            with self._lock:
                self._open += [near, far]
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # one side closed or the link was cut: the connection ends
        finally:
            for sock in (source, sink):
                sock.close()


class Webhook:
    """The operations team's receiver: every alert name Alertmanager posted, in order."""

    def __init__(self) -> None:
        self.received: list[str] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.extend(a["labels"]["alertname"] for a in body["alerts"] if a["status"] == "firing")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass  # quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alertmanager"


def _alertmanager_config(webhook: Webhook) -> dict[str, Any]:
    """The repository's routes and inhibitions, its webhook pointed here, sent after 1 s, not 30."""
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    config["route"]["group_wait"] = "1s"
    (receiver,) = config["receivers"]
    (hook,) = receiver["webhook_configs"]
    hook["url"] = webhook.url
    return config


def _fast_camera_down_rules(folder: Path) -> Path:
    """The repository's alerting rules with WartezoneCameraDown after 2 s instead of 10 minutes, so
    that a test can see it reach the branch's own Alertmanager."""
    rules = yaml.safe_load((PROMETHEUS_DIR / "rules" / "alerts.yml").read_text(encoding="utf-8"))
    found = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "WartezoneCameraDown"]
    assert len(found) == 1
    found[0]["for"] = "2s"
    path = folder / "alerts.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return path


@dataclass
class Branch:
    site: str
    edge: StandInEdge
    api: Api
    prometheus: str
    link: Link
    webhook: Webhook


@dataclass
class Federation:
    branches: dict[str, Branch]
    central: str


def _start_branch(site: str, folder: Path, seed: int, stoppers: list[Callable[[], None]]) -> Branch:
    prometheus_bin = need_tool("prometheus", "scripts/setup.sh --dev installs Debian's prometheus package")
    alertmanager_bin = need_tool(
        "prometheus-alertmanager", "scripts/setup.sh --dev installs Debian's prometheus-alertmanager package"
    )
    folder.mkdir()
    edge = StandInEdge(site, CAMERAS, seed)
    edge.start()
    stoppers.append(edge.stop)
    api = start_api(folder / "api", edge.port, site, "desk", RAISE_LEVELS)
    stoppers.append(lambda: stop(api.process))
    # The counter fires as people queue there and reception acknowledges it; "waiting" fires only
    # when the test crowds it, and stays firing for the cut-off test to see.
    stoppers.append(acknowledge_alerts(api, ("counter",)))

    webhook = Webhook()
    stoppers.append(webhook.server.shutdown)
    am_port = free_port()
    (folder / "alertmanager.yml").write_text(yaml.safe_dump(_alertmanager_config(webhook)), encoding="utf-8")
    alertmanager = start(
        [
            alertmanager_bin,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'alertmanager'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # one per branch, no cluster
        ],
        folder / "alertmanager.log",
    )
    stoppers.append(lambda: stop(alertmanager))
    wait_for_url(
        f"http://127.0.0.1:{am_port}/-/ready", "alertmanager", alertmanager, folder / "alertmanager.log", 60
    )

    port = free_port()
    targets = {
        "wartezone-edge": edge.target,
        "wartezone-api": f"127.0.0.1:{api.port}",
        "prometheus": f"127.0.0.1:{port}",
    }
    config = site_prometheus_config(targets, site)
    config["global"]["external_labels"] = {"prometheus": f"{site}-branch"}
    alerts = str((PROMETHEUS_DIR / "rules" / "alerts.yml").resolve())
    config["rule_files"] = [
        str(_fast_camera_down_rules(folder)) if f == alerts else f for f in config["rule_files"]
    ]
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]}
    prometheus = start_prometheus(prometheus_bin, config, folder / "prometheus", port)
    stoppers.append(lambda: stop(prometheus))
    base = f"http://127.0.0.1:{port}"
    wait_for_url(
        f"{base}/-/ready", f"prometheus of {site}", prometheus, folder / "prometheus" / "prometheus.log", 60
    )

    link = Link(port)
    link.mend()
    stoppers.append(link.cut)
    return Branch(site, edge, api, base, link, webhook)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    prometheus_bin = need_tool("prometheus", "scripts/setup.sh --dev installs Debian's prometheus package")
    tmp = tmp_path_factory.mktemp("federation")
    stoppers: list[Callable[[], None]] = []
    try:
        branches = {site: _start_branch(site, tmp / site, seed, stoppers) for seed, site in enumerate(SITES)}
        port = free_port()
        config: dict[str, Any] = yaml.safe_load(CENTRAL_CONFIG.read_text(encoding="utf-8"))
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        for job in config["scrape_configs"]:
            job.update(scrape_interval="1s", scrape_timeout="1s")
            job.pop("file_sd_configs", None)
            if job["job_name"] == "wartezone-federate":  # head office reaches each branch over its link
                job["static_configs"] = [{"targets": [f"127.0.0.1:{b.link.port}" for b in branches.values()]}]
            else:
                job["static_configs"] = [{"targets": [f"127.0.0.1:{port}"]}]
        central = start_prometheus(prometheus_bin, config, tmp / "central", port)
        stoppers.append(lambda: stop(central))
        base = f"http://127.0.0.1:{port}"
        wait_for_url(
            f"{base}/-/ready", "prometheus of head office", central, tmp / "central" / "prometheus.log", 60
        )
        yield Federation(branches, base)
    finally:
        for stopper in reversed(stoppers):
            stopper()


def _from_both_branches(result: dict[str, Any]) -> bool:
    """Finite samples of every branch's site (a median of no visit, NaN, is no data)."""
    samples = result["data"]["result"]
    return {s["metric"].get("site") for s in samples if math.isfinite(float(s["value"][1]))} >= set(SITES)


@pytest.mark.live_server
def test_every_dashboard_query_shows_both_branches_at_head_office(federation: Federation) -> None:
    both = "(" + "|".join(SITES) + ")"
    run = ask_every_dashboard_query(federation.central, DATA_DEADLINE_S, _from_both_branches, {"site": both})
    assert not run.missing, (
        f"queries at head office without both branches after {DATA_DEADLINE_S:.0f} s:\n"
        + "\n".join(f"  {k}: {v}" for k, v in run.missing.items())
    )
    for where, found in run.variable_values.items():
        if where.endswith("$site"):
            assert set(found) == set(SITES), f"{where}: {found}"


def _samples(base: str, expr: str) -> list[dict[str, Any]]:
    result = query(base, expr)
    assert result["status"] == "success", result
    return list(result["data"]["result"])


def _zones(api: Api) -> dict[str, str]:
    request = urllib.request.Request(
        f"{api.url}/api/v1/zones", headers={"Authorization": f"Bearer {api.desk}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return {z["zone"]: z["state"] for z in json.loads(response.read())["zones"]}


@pytest.mark.live_server
def test_a_branch_cut_off_from_head_office_keeps_alerting(federation: Federation) -> None:
    north, south = federation.branches["north"], federation.branches["south"]
    central = federation.central
    federate = 'up{job="wartezone-federate", instance="127.0.0.1:%d"}'
    wait_for(
        lambda: _samples(central, f'{contract.ZONE_OCCUPANCY}{{site="north"}}'), 60, "north at head office"
    )
    assert "WartezoneCameraDown" not in north.webhook.received

    north.link.cut()
    cut_at = time.time()
    wait_for(lambda: _samples(central, (federate % north.link.port) + " == 0"), 20, "head office to notice")
    # North's last samples at head office stop where the link broke (federated samples carry their
    # own time, so Prometheus shows them up to 5 minutes more instead of marking them stale at
    # once: README); south's go on.
    time.sleep(3)
    newest = {
        s["metric"]["site"]: float(s["value"][1])
        for s in _samples(central, f"max by (site) (timestamp({contract.ZONE_OCCUPANCY}))")
    }
    assert newest["north"] < cut_at + 1 < newest["south"], (cut_at, newest)
    assert _samples(central, (federate % south.link.port) + " == 1")

    # Cut off, north gets crowded and loses a camera: it tells reception and operations itself.
    north.edge.crowd("desk", "waiting", 60)
    north.edge.camera_down("door")
    wait_for(lambda: _zones(north.api).get("waiting") == "firing", 30, "north's staffing alert", every_s=0.5)
    firing = f'{contract.ALERT_STATE}{{site="north", zone="waiting", state="firing"}} == 1'
    wait_for(lambda: _samples(north.prometheus, firing), 30, "north's Prometheus to record it", every_s=0.5)
    wait_for(
        lambda: "WartezoneCameraDown" in north.webhook.received,
        60,
        "north's Alertmanager to post WartezoneCameraDown to north's webhook",
        every_s=0.5,
    )
    (alert,) = _samples(north.prometheus, 'ALERTS{alertname="WartezoneCameraDown", alertstate="firing"}')
    assert alert["metric"]["site"] == "north" and alert["metric"]["camera"] == "door"
    assert "WartezoneCameraDown" not in south.webhook.received  # each branch alerts only its own
    assert not _samples(central, firing), "head office saw north while cut off"
    assert _zones(south.api).get("waiting") != "firing"

    # Mended: head office sees north again, the alert that fired meanwhile included.
    north.link.mend()
    wait_for(lambda: _samples(central, firing), 30, "head office to see north's alert", every_s=0.5)
    assert _samples(central, (federate % north.link.port) + " == 1")
