"""Real servers for the operations tests: start and stop processes, wait for them, and ask a real
Prometheus every dashboard query the way Grafana would (its variables filled as Grafana fills them)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from api.domain import ZoneKey
from api.simulated import seed
from api.storage import Storage
from tests.ops.grafana_queries import PROMETHEUS_CONFIG, Variable, fill, load_dashboards, queries, variables
from tests.support import free_port


def get_json(url: str, timeout_s: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.loads(response.read().decode())


def wait_for_url(
    url: str, what: str, process: subprocess.Popen[bytes] | None, log: Path, timeout_s: float
) -> None:
    """Until `url` answers 200; fails with the tail of `log` if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer {url} within {timeout_s:.0f} s:\n{tail}")
        time.sleep(0.3)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def start(
    command: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A process with its output in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)


@dataclass
class Api:
    """A real `wartezone api` process."""

    port: int
    process: subprocess.Popen[bytes]
    desk: str
    lead: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_api(
    folder: Path,
    edge_port: int,
    site: str,
    camera: str,
    raise_levels: dict[str, int],
    simulated_days: int = 8,
) -> Api:
    """`wartezone api` scraping the edge on edge_port every second, with a rule per zone in
    raise_levels (clear level 0, no minimum durations, so it fires as soon as a zone gets there).
    Its store starts with `simulated_days` SIMULATED past days of each of those zones (4 counters
    open), so that the queue figures (counters needed, a forecast) have data to show."""
    folder.mkdir(parents=True, exist_ok=True)
    storage = Storage.open(folder / "api.sqlite3")
    for zone in raise_levels:
        seed(storage, ZoneKey(site, camera, zone), time.time(), simulated_days, 4, ZoneInfo("Europe/Berlin"))
    storage.close()
    port = free_port()
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "database": str(folder / "api.sqlite3"),
        "input": {"type": "scrape", "targets": [f"http://127.0.0.1:{edge_port}/metrics"], "interval_s": 1.0},
    }
    (folder / "api.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    desk, lead = secrets.token_hex(16), secrets.token_hex(16)
    env = {
        **os.environ,
        "WARTEZONE_API__AUTH__DESK_TOKENS": json.dumps([desk]),
        "WARTEZONE_API__AUTH__LEAD_TOKENS": json.dumps([lead]),
    }
    command = [sys.executable, "-m", "edge", "api", "-c", str(folder / "api.yaml")]
    api = Api(port, start(command, folder / "api.log", cwd=folder, env=env), desk, lead)
    wait_for_url(f"{api.url}/metrics", "wartezone api", api.process, folder / "api.log", 60)
    for zone, raise_level in raise_levels.items():
        rule = {
            "raise_level": raise_level,
            "clear_level": 0,
            "min_above_s": 0,
            "min_below_s": 3600,
            "cooldown_s": 0,
        }
        request = urllib.request.Request(
            f"{api.url}/api/v1/rules/{site}/{camera}/{zone}",
            data=json.dumps(rule).encode(),
            method="PUT",
            headers={"Authorization": f"Bearer {lead}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        except urllib.error.HTTPError as error:
            pytest.fail(f"PUT rule for {zone}: {error.code} {error.read().decode(errors='replace')}")
    return api


def start_prometheus(binary: str, config: dict[str, Any], folder: Path, port: int) -> subprocess.Popen[bytes]:
    """A real Prometheus on 127.0.0.1:port with `config`, its data and log in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return start(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
        ],
        folder / "prometheus.log",
    )


def site_prometheus_config(targets: dict[str, str], site: str, interval: str = "1s") -> dict[str, Any]:
    """The repository's prometheus.yml (its jobs, rules and relabelling) pointed at `targets` (job
    name -> host:port), scraping and evaluating every `interval`, with the site label on every target."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    config["global"].update(scrape_interval=interval, evaluation_interval=interval, scrape_timeout=interval)
    config["rule_files"] = [str((PROMETHEUS_CONFIG.parent / f).resolve()) for f in config["rule_files"]]
    config.pop("alerting", None)
    for job in config["scrape_configs"]:
        assert job["job_name"] in targets, f"a scrape job this test does not know: {job['job_name']}"
        for key in ("file_sd_configs", "static_configs"):
            job.pop(key, None)
        job["static_configs"] = [{"targets": [targets[job["job_name"]]], "labels": {"site": site}}]
    return config


def query(base: str, expr: str, at: float | None = None) -> dict[str, Any]:
    """An instant query through the HTTP API; its error body when it does not parse or evaluate."""
    params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode(params)
    try:
        return dict(get_json(url))
    except urllib.error.HTTPError as error:  # 400: does not parse; 422: cannot be evaluated
        return dict(json.loads(error.read().decode()))


def label_values(base: str, variable: Variable, values: dict[str, str]) -> list[str]:
    params = {"match[]": fill(variable.metric_selector, values)} if variable.metric_selector else {}
    url = f"{base}/api/v1/label/{variable.label}/values?" + urllib.parse.urlencode(params)
    return list(get_json(url)["data"])


def has_data(result: dict[str, Any]) -> bool:
    """A non-empty vector with at least one number (a median of no visit is NaN: no data)."""
    samples = result["data"]["result"]
    return any(math.isfinite(float(s["value"][1])) for s in samples)


@dataclass
class DashboardRun:
    """What asking every dashboard query until each had data (or time ran out) found."""

    missing: dict[str, Any]  # query -> (filled expression, its last result) for those never accepted
    variable_values: dict[str, list[str]] = field(default_factory=dict)  # "dashboard / $name" -> values


def ask_every_dashboard_query(
    base: str,
    deadline_s: float,
    accept: Callable[[dict[str, Any]], bool] = has_data,
    only: dict[str, str] | None = None,
) -> DashboardRun:
    """Every panel and annotation query of every dashboard, again and again until `accept` took
    its result or `deadline_s` passed. Each variable takes all its values (Grafana's "All"), or the
    regex in `only` (variable name -> value). A query that does not evaluate fails at once."""
    dashboards = [d for _, d in load_dashboards()]
    assert dashboards, "no dashboard in grafana/dashboards"
    pending = {(d["title"], str(q)): (d, q) for d in dashboards for q in queries(d)}
    last: dict[str, Any] = {}
    found_values: dict[str, list[str]] = {}
    deadline = time.monotonic() + deadline_s
    while pending and time.monotonic() < deadline:
        values_of: dict[str, dict[str, str]] = {}
        for dashboard in dashboards:
            values: dict[str, str] = {}
            for variable in variables(dashboard):  # in order: zone's query uses $site
                found = label_values(base, variable, values)
                found_values[f"{dashboard['title']} / ${variable.name}"] = found
                # Grafana's "All" of a multi-value variable: a regex of every value.
                values[variable.name] = (only or {}).get(variable.name) or "(" + "|".join(found) + ")"
            values_of[dashboard["title"]] = values
        for key, (dashboard, q) in list(pending.items()):
            expr = fill(q.expr, values_of[dashboard["title"]], interval=q.interval)
            result = query(base, expr)
            error = f"{result.get('errorType')}: {result.get('error')}"
            assert result["status"] == "success", f"{q} does not evaluate: {expr}\n{error}"
            last[str(q)] = (expr, result["data"]["result"][:4])
            if accept(result):
                del pending[key]
        if pending:
            time.sleep(2)
    return DashboardRun({str(q): last.get(str(q)) for _, q in pending.values()}, found_values)


ACKNOWLEDGE_AFTER_S = 20.0  # Prometheus has scraped the firing state and the histogram at 0 by then


def acknowledge_alerts(api: Api, zones: Collection[str]) -> Callable[[], None]:
    """Reception pressing "Gesehen" a while after each alert of these zones fires, in a thread, so
    that the firing state and the time-to-acknowledge panel both have data; returns its stopper."""
    done = threading.Event()
    headers = {"Authorization": f"Bearer {api.desk}"}

    def run() -> None:
        firing_since: dict[str, float] = {}
        while not done.wait(1.0):
            try:
                found = httpx.get(f"{api.url}/api/v1/zones", headers=headers, timeout=5).json()["zones"]
            except httpx.HTTPError:
                continue  # the API is starting or stopping
            for zone in (z for z in found if z["zone"] in zones):
                path = f"{zone['site']}/{zone['camera']}/{zone['zone']}"
                if zone["state"] != "firing":
                    firing_since.pop(path, None)
                elif (
                    time.monotonic() - firing_since.setdefault(path, time.monotonic()) >= ACKNOWLEDGE_AFTER_S
                ):
                    with contextlib.suppress(httpx.HTTPError):
                        httpx.post(f"{api.url}/api/v1/zones/{path}/acknowledge", headers=headers, timeout=5)

    threading.Thread(target=run, daemon=True).start()
    return done.set
