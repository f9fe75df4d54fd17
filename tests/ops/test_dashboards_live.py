"""The dashboards proven against a real Prometheus: no Grafana server can be had here, so every query
of every panel and annotation, with its variables filled as Grafana would, goes through the
Prometheus HTTP API while Prometheus scrapes a real edge run on the demo video and the alert API,
with the repository's recording rules loaded. Each query must parse and return data."""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import wartezone_contract as contract
from tests.conftest import need_tool
from tests.ops.grafana_queries import (
    PROMETHEUS_CONFIG,
    REPO,
    Variable,
    fill,
    load_dashboards,
    queries,
    variables,
)

pytestmark = pytest.mark.live_server  # a real edge, the API under uvicorn and Prometheus

SITE = "ops-test"
CAMERA = "campus"
ZONES = ("path-west", "path-east")
# Long enough for people to walk out of a zone (completed dwell times) and for rates over 1 minute.
DATA_DEADLINE_S = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, timeout_s: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.loads(response.read().decode())


def _wait_for(
    url: str, what: str, process: subprocess.Popen[bytes] | None, log: Path, timeout_s: float
) -> None:
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


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _edge_config(path: Path, video: Path, port: int) -> None:
    polygons = {  # the demo's two paths across the square (examples/demo.yaml)
        "path-west": [[0.0, 0.26], [0.5, 0.26], [0.5, 0.62], [0.0, 0.45]],
        "path-east": [[0.5, 0.2], [1.0, 0.15], [1.0, 0.85], [0.5, 0.62]],
    }
    config = {
        "site": SITE,
        "metrics": {"host": "127.0.0.1", "port": port},
        "cameras": [
            {
                "id": CAMERA,
                "source": {"type": "file", "path": str(video), "realtime": True, "loop": True},
                "fps": 4,
                "zones": [{"id": z, "polygon": polygons[z], "loiter_limit_s": 3} for z in ZONES],
            }
        ],
        "detector": {"input_size": [480, 640]},  # counting accuracy is not under test here
        "tracker": {"lost_track_s": 1.5},  # visits end, and dwell times are observed, sooner
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


# ---- the alert API


@dataclass
class Api:
    port: int
    stop: Any


def _start_real_api(tmp_path: Path, edge_port: int) -> Api:
    """`wartezone api` scraping the edge, with a rule on path-east low enough to fire."""
    port = _free_port()
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "database": str(tmp_path / "api.sqlite3"),
        "input": {"type": "scrape", "targets": [f"http://127.0.0.1:{edge_port}/metrics"], "interval_s": 1.0},
    }
    (tmp_path / "api.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    desk, lead = secrets.token_hex(16), secrets.token_hex(16)
    env = {
        **os.environ,
        "WARTEZONE_API__AUTH__DESK_TOKENS": json.dumps([desk]),
        "WARTEZONE_API__AUTH__LEAD_TOKENS": json.dumps([lead]),
    }
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "edge", "api", "-c", str(tmp_path / "api.yaml")],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait_for(f"http://127.0.0.1:{port}/metrics", "wartezone api", process, log, 60)
    for zone, raise_level in [("path-east", 1), ("path-west", 50)]:
        rule = {
            "raise_level": raise_level,
            "clear_level": 0,
            "min_above_s": 0,
            "min_below_s": 3600,
            "cooldown_s": 0,
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/rules/{SITE}/{CAMERA}/{zone}",
            data=json.dumps(rule).encode(),
            method="PUT",
            headers={"Authorization": f"Bearer {lead}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        except urllib.error.HTTPError as error:
            pytest.fail(f"PUT rule for {zone}: {error.code} {error.read().decode(errors='replace')}")
    return Api(port, lambda: _stop(process))


# ---- Prometheus with the repository's scrape config and rules, pointed at this run


def _prometheus_config(edge_port: int, api_port: int, prometheus_port: int) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    config["rule_files"] = [str((PROMETHEUS_CONFIG.parent / f).resolve()) for f in config["rule_files"]]
    config.pop("alerting", None)  # the alert rules are evaluated; nobody to send them to here
    targets = {
        "wartezone-edge": f"127.0.0.1:{edge_port}",
        "wartezone-api": f"127.0.0.1:{api_port}",
        "prometheus": f"127.0.0.1:{prometheus_port}",
    }
    for job in config["scrape_configs"]:
        assert job["job_name"] in targets, f"a scrape job this test does not know: {job['job_name']}"
        for key in ("file_sd_configs", "static_configs"):
            job.pop(key, None)
        job["static_configs"] = [{"targets": [targets[job["job_name"]]], "labels": {"site": SITE}}]
    return config


@dataclass
class Stack:
    prometheus: str  # base URL
    logs: dict[str, Path]


@pytest.fixture(scope="module")
def stack(demo_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus_bin = need_tool("prometheus", "scripts/setup.sh --dev installs Debian's prometheus package")
    tmp = tmp_path_factory.mktemp("ops-live")
    edge_port, prometheus_port = _free_port(), _free_port()
    _edge_config(tmp / "edge.yaml", demo_video, edge_port)
    logs = {"edge": tmp / "edge.log", "prometheus": tmp / "prometheus.log", "api": tmp / "api.log"}
    stoppers: list[Any] = []
    try:
        with logs["edge"].open("wb") as out:
            edge = subprocess.Popen(
                [sys.executable, "-m", "edge", "edge", "run", "-c", str(tmp / "edge.yaml")],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        stoppers.append(lambda: _stop(edge))
        _wait_for(f"http://127.0.0.1:{edge_port}/metrics", "the edge", edge, logs["edge"], 60)

        api = _start_real_api(tmp, edge_port)
        stoppers.append(api.stop)

        (tmp / "prometheus.yml").write_text(
            yaml.safe_dump(_prometheus_config(edge_port, api.port, prometheus_port)), encoding="utf-8"
        )
        with logs["prometheus"].open("wb") as out:
            prometheus = subprocess.Popen(
                [
                    prometheus_bin,
                    f"--config.file={tmp / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                    "--storage.tsdb.retention.time=1h",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        stoppers.append(lambda: _stop(prometheus))
        base = f"http://127.0.0.1:{prometheus_port}"
        _wait_for(f"{base}/-/ready", "prometheus", prometheus, logs["prometheus"], 60)
        yield Stack(base, logs)
    finally:
        for stop in reversed(stoppers):
            stop()


def _query(stack: Stack, expr: str) -> dict[str, Any]:
    url = f"{stack.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        return dict(_get(url))
    except urllib.error.HTTPError as error:  # 400: does not parse; 422: cannot be evaluated
        return dict(json.loads(error.read().decode()))


def _label_values(stack: Stack, variable: Variable, values: dict[str, str]) -> list[str]:
    params = {"match[]": fill(variable.metric_selector, values)} if variable.metric_selector else {}
    url = f"{stack.prometheus}/api/v1/label/{variable.label}/values?" + urllib.parse.urlencode(params)
    return list(_get(url)["data"])


def _has_data(result: dict[str, Any]) -> bool:
    """A non-empty vector with at least one number (a median of no visit is NaN: no data)."""
    samples = result["data"]["result"]
    return any(math.isfinite(float(s["value"][1])) for s in samples)


def test_every_dashboard_query_parses_and_returns_data(stack: Stack) -> None:
    dashboards = [d for _, d in load_dashboards()]
    assert dashboards, "no dashboard in grafana/dashboards"
    pending = {(d["title"], str(q)): (d, q) for d in dashboards for q in queries(d)}
    last: dict[str, Any] = {}
    deadline = time.monotonic() + DATA_DEADLINE_S
    while pending and time.monotonic() < deadline:
        values_of: dict[str, dict[str, str]] = {}
        for dashboard in dashboards:
            values: dict[str, str] = {}
            for variable in variables(dashboard):  # in order: zone's query uses $site
                found = _label_values(stack, variable, values)
                # Grafana's "All" of a multi-value variable: a regex of every value.
                values[variable.name] = "(" + "|".join(found) + ")" if found else "()"
                last[f"{dashboard['title']} / ${variable.name}"] = found
            values_of[dashboard["title"]] = values
        for key, (dashboard, query) in list(pending.items()):
            expr = fill(query.expr, values_of[dashboard["title"]], interval=query.interval)
            result = _query(stack, expr)
            error = f"{result.get('errorType')}: {result.get('error')}"
            assert result["status"] == "success", f"{query} does not evaluate: {expr}\n{error}"
            last[str(query)] = (expr, result["data"]["result"][:3])
            if _has_data(result):
                del pending[key]
        if pending:
            time.sleep(2)
    missing = {str(q): last.get(str(q)) for _, q in pending.values()}
    assert not missing, f"queries without data after {DATA_DEADLINE_S:.0f} s:\n" + "\n".join(
        f"  {k}: {v}" for k, v in missing.items()
    )
    for dashboard in dashboards:
        for variable in variables(dashboard):
            found = last[f"{dashboard['title']} / ${variable.name}"]
            assert found, f"{dashboard['title']}: variable ${variable.name} has no values"


def test_dashboard_values_come_from_this_run(stack: Stack) -> None:
    """The site, camera and zones of the run, and the API's series, as the dashboards select them."""
    occupancy = _query(stack, f'{contract.ZONE_OCCUPANCY}{{site="{SITE}"}}')["data"]["result"]
    assert {s["metric"]["zone"] for s in occupancy} == set(ZONES)
    assert all(s["metric"]["camera"] == CAMERA and s["metric"]["job"] == "wartezone-edge" for s in occupancy)
    # process_* carry no site in the exposition: the target's site label fills it in.
    memory = _query(stack, f'process_resident_memory_bytes{{job="wartezone-edge", site="{SITE}"}}')
    assert memory["data"]["result"], "process_* of the edge not selectable by site"
    states = _query(stack, f'{contract.ALERT_STATE}{{site="{SITE}", job="wartezone-api"}} == 1')
    # The real API with a rule on each zone: every zone is in exactly one state.
    assert sorted(s["metric"]["zone"] for s in states["data"]["result"]) == sorted(ZONES)


def test_rules_evaluate_without_errors(stack: Stack) -> None:
    deadline = time.monotonic() + 30
    while True:
        groups = _get(f"{stack.prometheus}/api/v1/rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules):
            break
        assert time.monotonic() < deadline, "rules were not evaluated within 30 s"
        time.sleep(1)
    broken = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
    assert not broken, broken
    # A healthy run on the demo video fires no operations alert. (Pending is possible: rates over
    # 5 minutes of a box that started seconds ago read low; the rules' `for` covers that.)
    firing = {rule["name"] for rule in rules if rule["type"] == "alerting" and rule["state"] == "firing"}
    assert not firing, firing
