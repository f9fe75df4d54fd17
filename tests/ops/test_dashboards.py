"""The dashboards as files: valid, provisioned, on the one Prometheus datasource, and built only
from metric names that the edge, the API or the recording rules provide."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import wartezone_contract as contract
from tests.ops.grafana_queries import (
    DASHBOARD_FILES,
    GRAFANA,
    api_metric_names,
    datasource_uid,
    fill,
    known_metric_names,
    load_dashboards,
    metric_names,
    panels,
    queries,
    variables,
)

DASHBOARDS = load_dashboards()
IDS = [path.stem for path, _ in DASHBOARDS]


def _by_title(title: str) -> dict[str, Any]:
    (dashboard,) = [d for _, d in DASHBOARDS if d["title"] == title]
    return dashboard


def test_dashboards_exist_and_are_json() -> None:
    assert {d["title"] for _, d in DASHBOARDS} == {"Waiting rooms", "Edge health"}
    for path in DASHBOARD_FILES:
        json.loads(path.read_text(encoding="utf-8"))  # a syntax error names the file here


def test_uids_are_unique_and_stable() -> None:
    uids = [d["uid"] for _, d in DASHBOARDS]
    assert len(uids) == len(set(uids)), uids
    for uid in uids:  # links and the home dashboard name them: short, URL-safe
        assert re.fullmatch(r"[a-z0-9-]{1,40}", uid), uid


@pytest.mark.parametrize(("path", "dashboard"), DASHBOARDS, ids=IDS)
def test_every_panel_reads_the_provisioned_prometheus(path: Path, dashboard: dict[str, Any]) -> None:
    uid = datasource_uid()
    found = list(panels(dashboard))
    assert found, f"{path.name}: no panel"
    for panel in found:
        where = f"{path.name}: panel {panel.get('title')!r}"
        assert panel.get("datasource") == {"type": "prometheus", "uid": uid}, where
        assert panel.get("targets"), f"{where}: no query"
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] == uid, where
            assert target.get("expr", "").strip(), f"{where}: target {target.get('refId')} has no expr"
    for item in dashboard["templating"]["list"] + dashboard["annotations"]["list"]:
        assert item["datasource"] == {"type": "prometheus", "uid": uid}, f"{path.name}: {item['name']}"


@pytest.mark.parametrize(("path", "dashboard"), DASHBOARDS, ids=IDS)
def test_panel_ids_unique_and_grid_fits(path: Path, dashboard: dict[str, Any]) -> None:
    found = list(panels(dashboard))
    ids = [p["id"] for p in found]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids {ids}"
    cells: dict[tuple[int, int], str] = {}
    for panel in found:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, f"{panel['title']}: wider than 24 columns"
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_metric_in_a_query_is_exported_or_recorded() -> None:
    known = known_metric_names()
    for _, dashboard in DASHBOARDS:
        exprs = [(str(q), q.expr) for q in queries(dashboard)]
        exprs += [(f"variable {v.name}", v.metric_selector or "") for v in variables(dashboard)]
        for where, expr in exprs:
            unknown = metric_names(expr) - known
            assert not unknown, f"{dashboard['title']}: {where} reads {unknown}, which nothing exports"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("", set()),
        ('wartezone_zone_occupancy{site=~"$site"}', {"wartezone_zone_occupancy"}),
        (
            "histogram_quantile(0.9, sum by (le) (rate(wartezone_zone_dwell_seconds_bucket[$__range])))",
            {"wartezone_zone_dwell_seconds_bucket"},
        ),
        (
            "time() - wartezone_camera_last_frame_timestamp_seconds",
            {"wartezone_camera_last_frame_timestamp_seconds"},
        ),
        ('a:b:c{x="or y"} == 2 and on (site) up', {"a:b:c", "up"}),
    ],
    ids=["empty", "selector", "quantile", "function of time", "keywords and strings"],
)
def test_metric_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_variables_are_filled_as_grafana_does() -> None:
    expr = 'rate(x{site=~"$site", zone=~"${zone}"}[$__rate_interval]) + y[$__interval] + z[$__range]'
    assert (
        fill(expr, {"site": "(a|b)", "zone": "w"}, interval="1h")
        == 'rate(x{site=~"(a|b)", zone=~"w"}[1m]) + y[1h] + z[1h]'
    )


def test_waiting_rooms_has_what_the_branch_lead_needs() -> None:
    dashboard = _by_title("Waiting rooms")
    assert [v.name for v in variables(dashboard)] == ["site", "zone"]
    used = set().union(*(metric_names(q.expr) for q in queries(dashboard)))
    for name in [
        contract.ZONE_OCCUPANCY,  # over time and now
        contract.ALERT_RAISE_LEVEL,  # drawn with it
        contract.ZONE_LOITERING,
        f"site_camera_zone:{contract.ZONE_DWELL}:p50_1h",
        f"site_camera_zone:{contract.ZONE_DWELL}:p90_1h",
        f"site_camera_zone:{contract.ZONE_ENTRIES}:increase1h",
        f"site_camera_zone:{contract.ALERT_STATE}:code",  # alert state and periods
    ]:
        assert name in used, f"Waiting rooms does not show {name}"
    assert used & api_metric_names(), "no panel reads the alert API"


def test_edge_health_has_what_operations_needs() -> None:
    dashboard = _by_title("Edge health")
    assert [v.name for v in variables(dashboard)] == ["site", "camera"]
    used = set().union(*(metric_names(q.expr) for q in queries(dashboard)))
    for name in [
        contract.CAMERA_UP,
        f"{contract.FRAMES_ANALYSED}_total",
        contract.CAMERA_CONFIGURED_FPS,
        f"site_camera:{contract.DETECTOR_LATENCY}:p90_5m",
        f"{contract.CAMERA_RECONNECTS}_total",
        f"{contract.CAMERA_STALLS}_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        contract.DETECTOR_BUSY,
    ]:
        assert name in used, f"Edge health does not show {name}"


def test_camera_down_is_a_gap_never_zero() -> None:
    """Occupancy is absent while a camera is down; no query may turn that into a number."""
    for _, dashboard in DASHBOARDS:
        for query in queries(dashboard):
            if contract.ZONE_OCCUPANCY in query.expr:
                assert not re.search(r"\bor\b|vector\(|absent|default", query.expr), str(query)
        for panel in panels(dashboard):
            if panel["type"] == "timeseries":
                custom = panel["fieldConfig"]["defaults"]["custom"]
                assert custom.get("spanNulls") is False, f"{panel['title']}: a gap would be bridged"
                assert custom.get("insertNulls") is False, panel["title"]


def test_provisioning_files() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    assert datasources["apiVersion"] == 1
    (prometheus,) = datasources["datasources"]
    assert prometheus["type"] == "prometheus" and prometheus["uid"] == datasource_uid()
    assert prometheus["jsonData"]["timeInterval"] == "15s"  # $__rate_interval's floor, = scrape interval
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/wartezone.yml").read_text())
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")


# The contract's names as series: counters gain _total; the API's gauges are series as named.
CONTRACT_API_SERIES = [
    contract.ALERT_STATE,
    contract.ALERT_RAISE_LEVEL,
    contract.ALERT_CLEAR_LEVEL,
    f"{contract.ALERTS_FIRED}_total",
    f"{contract.NOTIFICATIONS_SENT}_total",
    f"{contract.NOTIFICATIONS_FAILED}_total",
    contract.OUTBOX_PENDING,
]


def test_the_api_exports_the_contract_names() -> None:
    exported = api_metric_names()
    missing = [name for name in CONTRACT_API_SERIES if name not in exported]
    assert not missing, f"the API does not export {missing}"
