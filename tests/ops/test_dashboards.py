"""The dashboards as files: valid, provisioned, on the one Prometheus datasource, and built only
from metric names that the edge, the API or the recording rules provide."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import wartezone_contract as contract
from tests.conftest import need_tool
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
    rules,
    variables,
    zone_sums_across_cameras,
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


@pytest.mark.parametrize(
    ("expr", "found"),
    [
        ("", []),
        ("sum by (site, camera, zone) (wartezone_zone_occupancy)", []),
        ("sum by (site) (wartezone_zone_occupancy)", ["sum by (site) (wartezone_zone_occupancy)"]),
        ("sum(wartezone_zone_occupancy)", ["sum(wartezone_zone_occupancy)"]),
        (
            "sum(increase(wartezone_zone_entries_total[1h])) by (site)",
            ["sum(increase(wartezone_zone_entries_total[1h]))"],
        ),
        ('sum by (site) (wartezone_zone_occupancy{camera!="floor"})', []),
        ('sum by (site) (wartezone_zone_occupancy{camera="floor"})', []),
        (
            "sum without (camera) (site_camera_zone:wartezone_zone_entries:increase1h)",
            ["sum without (camera) (site_camera_zone:wartezone_zone_entries:increase1h)"],
        ),
        ("sum without (le) (wartezone_zone_dwell_seconds_bucket)", []),
        ("sum by (site) (wartezone_frames_analysed_total)", []),
        ("sum_over_time(wartezone_zone_occupancy[1h])", []),
    ],
    ids=[
        "empty",
        "per zone",
        "per site",
        "no grouping",
        "grouping after",
        "rooms left out",
        "rooms alone",
        "without camera",
        "without le",
        "not a zone series",
        "over time is no aggregation",
    ],
)
def test_zone_sums_across_cameras_are_found(expr: str, found: list[str]) -> None:
    assert zone_sums_across_cameras(expr) == found


def test_no_query_or_rule_counts_a_room_twice() -> None:
    """A room is a zone of camera "floor": a sum over a site's zones must leave rooms out (or take
    them alone), else the people in a room count once in its zones and again in the room."""
    exprs = [(str(q), q.expr) for _, dashboard in DASHBOARDS for q in queries(dashboard)]
    exprs += [(rule.get("record") or rule["alert"], str(rule["expr"])) for rule in rules()]
    assert exprs
    twice = {where: sums for where, expr in exprs if (sums := zone_sums_across_cameras(expr))}
    assert twice == {}


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
        contract.ALERT_RAISE_LEVEL,  # drawn with it, and its colours
        contract.ALERT_CLEAR_LEVEL,
        contract.ZONE_LOITERING,
        f"{contract.ZONE_INFO}_info",  # display names
        contract.WAIT_MEDIAN,
        contract.WAIT_P90,
        contract.WAIT_MEAN,
        contract.WAIT_LITTLE,
        contract.WAIT_DISAGREEMENT,
        contract.WAIT_EXPECTED,
        f"site_camera_zone:{contract.ZONE_ENTRIES}:increase1h",
        f"site_camera_zone:{contract.ALERT_STATE}:code",  # alert state and periods
        contract.OCCUPANCY_BY_HOUR_OF_WEEK,  # busiest hours
        contract.OCCUPANCY_AT_RAISE_LEVEL,
        f"{contract.ALERTS_FIRED}_total",
        contract.COUNTERS_NEEDED,  # counters needed against open
        contract.COUNTERS_NEEDED_NEXT_HOUR,  # and for the next hour
        contract.COUNTERS_OPEN,
        contract.SERVICE_RATE,  # the pace the advice rests on
    ]:
        assert name in used, f"Waiting rooms does not show {name}"
    assert used & api_metric_names(), "no panel reads the alert API"


def _panel(dashboard: dict[str, Any], english: str) -> dict[str, Any]:
    (found,) = [p for p in panels(dashboard) if p["title"].endswith(f" / {english}")]
    return found


def test_waiting_rooms_titles_are_german_with_the_english_beside_them() -> None:
    dashboard = _by_title("Waiting rooms")
    titles = [p["title"] for p in dashboard["panels"]]  # rows too
    for title in titles:
        german, _, english = title.partition(" / ")
        assert german and english and german != english, title


def test_waiting_rooms_shows_zones_by_display_name() -> None:
    """Every series of the branch lead's dashboard carries the zone's name from the edge config."""
    join = NAME_JOIN.strip()
    dashboard = _by_title("Waiting rooms")
    for panel in panels(dashboard):
        for target in panel["targets"]:
            where = f"{panel['title']} / {target['refId']}"
            assert join in target["expr"], f"{where}: no display name joined"
            legend = target.get("legendFormat", "")
            assert "{{zone}}" not in legend, where
            assert "{{name}}" in legend or target.get("format") == "table", where
    (annotation,) = dashboard["annotations"]["list"]
    assert join in annotation["expr"] and "{{name}}" in annotation["textFormat"]


def _override_colours(panel: dict[str, Any]) -> dict[str, str]:
    """Query refId -> the fixed colour its series are drawn in."""
    colours = {}
    for override in panel["fieldConfig"]["overrides"]:
        if override["matcher"]["id"] == "byFrameRefID":
            for prop in override["properties"]:
                if prop["id"] == "color":
                    colours[override["matcher"]["options"]] = prop["value"]["fixedColor"]
    return colours


RAISE = f"max by (site, camera, zone) ({contract.ALERT_RAISE_LEVEL})"
SELECTED = '{site=~"$site", zone=~"$zone"}'
NAME_JOIN = f" * on (site, camera, zone) group_left (name) {contract.ZONE_INFO}_info"
CLEAR = f"max by (site, camera, zone) ({contract.ALERT_CLEAR_LEVEL})"
PARTIAL = f"{contract.ZONE_PARTIAL} == 1"
# A room with a camera down or late counts at least what it says: counted apart, named for it.
COUNTED = f"({contract.ZONE_OCCUPANCY}{SELECTED} unless on (site, camera, zone) ({PARTIAL}))"
AT_LEAST = (
    f"label_replace({contract.ZONE_OCCUPANCY}{SELECTED} and on (site, camera, zone) ({PARTIAL}), "
    '"partial", " · mindestens / at least", "", "")'
)


def test_people_now_and_occupancy_are_coloured_by_each_zone_s_own_levels() -> None:
    dashboard = _by_title("Waiting rooms")
    now = _panel(dashboard, "People waiting now")
    by_colour = {colour: _target(now, ref)["expr"] for ref, colour in _override_colours(now).items()}
    assert set(by_colour) == {"green", "orange", "red", "blue"}
    assert f"<= on (site, camera, zone) group_left () {CLEAR}" in by_colour["green"]
    assert f"> on (site, camera, zone) group_left () {CLEAR}" in by_colour["orange"]
    assert f"< on (site, camera, zone) group_left () {RAISE}" in by_colour["orange"]
    assert f">= on (site, camera, zone) group_left () {RAISE}" in by_colour["red"]
    assert f"unless on (site, camera, zone) {RAISE}" in by_colour["blue"]  # no rule: neither calm nor alarmed
    assert now["options"]["colorMode"] == "background"

    # Over time: each zone in its own colour, its raise level dashed, and drawn over its line red
    # while at or above that level, orange between its clear and raise level.
    occupancy = _panel(dashboard, "Occupancy per zone")
    drawn: dict[str, list[str]] = {}
    for ref, colour in _override_colours(occupancy).items():
        drawn.setdefault(colour, []).append(_target(occupancy, ref)["expr"])
    assert by_colour["red"] in drawn["red"] and by_colour["orange"] in drawn["orange"]
    assert any(e.startswith(f"({contract.ALERT_RAISE_LEVEL}{{") for e in drawn["red"]), (
        "raise level not drawn"
    )
    plain = [t["expr"] for t in occupancy["targets"] if t["refId"] not in _override_colours(occupancy)]
    assert plain == [f"({COUNTED} or {AT_LEAST}){NAME_JOIN}"]
    # The colours judge counted people only; a partial room is its own series, grey now, dashed over time.
    overlays = [e for e in drawn["red"] + drawn["orange"] if contract.ZONE_OCCUPANCY in e]
    assert len(overlays) == 2 and all(COUNTED in e for e in [*by_colour.values(), *overlays])
    assert AT_LEAST in _target(now, "A")["expr"]
    for panel, prop in ((now, "color"), (occupancy, "custom.lineStyle")):
        (named,) = [o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["id"] == "byRegexp"]
        assert re.fullmatch(named["matcher"]["options"], "Halle · north · mindestens / at least")
        assert [q["id"] for q in named["properties"]] == [prop]


def test_a_partial_room_shows_as_at_least_on_a_real_prometheus(tmp_path: Path) -> None:
    """Prometheus' own engine (promtool) on the panels at one instant: a zone between its levels, a
    room with a camera down at 15 (raise level 12) and a room seen whole without a rule. The partial
    room is one series named "at least" and in no colour that judges its count; its people over
    the loitering limit and its longest wait (lower bounds too) are named so as well."""
    promtool = need_tool("promtool", "scripts/setup.sh --dev installs Debian's prometheus package")
    rooms = {  # people, over the limit, longest wait (s), partial, levels
        ("entrance", "waiting", "Wartebereich"): (4, 1, 300, None, (10, 2)),
        ("room", "hall", "Halle"): (15, 5, 900, 1, (12, 4)),
        ("room", "lobby", "Foyer"): (3, 0, 120, 0, None),
    }
    series = []
    for (camera, zone, name), (people, loitering, longest, partial, levels) in rooms.items():
        where = f'site="north", camera="{camera}", zone="{zone}"'
        for metric, value in (
            (contract.ZONE_OCCUPANCY, people),
            (contract.ZONE_LOITERING, loitering),
            (contract.ZONE_LONGEST_DWELL, longest),
        ):
            series.append({"series": f"{metric}{{{where}}}", "values": f"{value}x10"})
        series.append({"series": f'{contract.ZONE_INFO}_info{{{where}, name="{name}"}}', "values": "1x10"})
        if partial is not None:
            series.append({"series": f"{contract.ZONE_PARTIAL}{{{where}}}", "values": f"{partial}x10"})
        if levels is not None:
            for metric, level in zip(
                (contract.ALERT_RAISE_LEVEL, contract.ALERT_CLEAR_LEVEL), levels, strict=True
            ):
                series.append({"series": f"{metric}{{{where}}}", "values": f"{level}x10"})

    def shown(camera: str, zone: str, name: str, people: int, at_least: bool = False) -> dict[str, Any]:
        partial = ', partial=" · mindestens / at least"' if at_least else ""
        labels = f'{{camera="{camera}", name="{name}"{partial}, site="north", zone="{zone}"}}'
        return {"labels": labels, "value": people}

    waiting, hall = shown("entrance", "waiting", "Wartebereich", 4), shown("room", "hall", "Halle", 15, True)
    lobby = shown("room", "lobby", "Foyer", 3)
    over_limit = [
        shown("entrance", "waiting", "Wartebereich", 1),
        shown("room", "hall", "Halle", 5, True),
        shown("room", "lobby", "Foyer", 0),
    ]
    expected = {
        ("Waiting longer than the limit now", "A"): over_limit,
        ("Waiting longer than the loitering limit", "A"): over_limit,
        ("Longest wait now", "A"): [
            shown("entrance", "waiting", "Wartebereich", 300),
            shown("room", "hall", "Halle", 900, True),
            shown("room", "lobby", "Foyer", 120),
        ],
        ("People waiting now", "A"): [hall],  # green, but drawn grey by its name
        ("People waiting now", "B"): [waiting],  # orange
        ("People waiting now", "C"): [],  # red: the hall's 15 is not judged
        ("People waiting now", "D"): [lobby],  # blue: no rule
        ("Occupancy per zone", "A"): [waiting, hall, lobby],
        ("Occupancy per zone", "C"): [],
        ("Occupancy per zone", "D"): [waiting],
    }
    dashboard = _by_title("Waiting rooms")
    values = {"site": "north", "zone": "(waiting|hall|lobby)"}
    checks = [
        {
            "expr": fill(_target(_panel(dashboard, title), ref)["expr"], values),
            "eval_time": "5m",
            "exp_samples": shows,
        }
        for (title, ref), shows in expected.items()
    ]
    tests = {
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": checks}],
    }
    (tmp_path / "panels_test.yml").write_text(yaml.safe_dump(tests, allow_unicode=True), encoding="utf-8")
    done = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "panels_test.yml")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _target(panel: dict[str, Any], ref: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [t for t in panel["targets"] if t["refId"] == ref]
    assert len(found) == 1, f"{panel['title']}: {len(found)} queries {ref}"
    return found[0]


def test_busiest_hours_tables_are_hour_by_weekday_over_four_weeks() -> None:
    dashboard = _by_title("Waiting rooms")
    for english, function in [
        ("Mean occupancy per hour of the week", "avg_over_time"),
        ("Peak occupancy per hour of the week", "max_over_time"),
    ]:
        panel = _panel(dashboard, english)
        (target,) = panel["targets"]
        assert (
            f"{function}({contract.OCCUPANCY_BY_HOUR_OF_WEEK}" in target["expr"] and "[4w])" in target["expr"]
        )
        assert target["instant"] and target["format"] == "table"
        (matrix,) = [t for t in panel["transformations"] if t["id"] == "groupingToMatrix"]
        assert matrix["options"]["columnField"] == "weekday" and matrix["options"]["valueField"] == "Value"
        row = matrix["options"]["rowField"]
        assert re.search(rf'label_join\(.*"{row}", " · ", "hour", "name", "site"\)', target["expr"])
        (organize,) = [t for t in panel["transformations"] if t["id"] == "organize"]
        names = organize["options"]["renameByName"]
        assert names["1"].startswith("Mo") and names["0"].startswith("So")  # weekday 0 is Sunday
        order = organize["options"]["indexByName"]
        assert sorted(map(str, range(7)), key=order.__getitem__) == ["1", "2", "3", "4", "5", "6", "0"]


@pytest.mark.parametrize(
    ("english", "metric"),
    [
        ("Minutes at or above the raise level per day", contract.OCCUPANCY_AT_RAISE_LEVEL),
        ("Staffing alerts per day", f"{contract.ALERTS_FIRED}_total"),
    ],
)
def test_per_day_panels_count_whole_days(english: str, metric: str) -> None:
    panel = _panel(_by_title("Waiting rooms"), english)
    (target,) = panel["targets"]
    assert metric in target["expr"] and "[$__interval" in target["expr"]
    assert panel["interval"] == "1d" and panel["timeFrom"] == "28d"
    assert panel["fieldConfig"]["defaults"]["custom"]["drawStyle"] == "bars"


def test_entries_per_hour_are_stacked_per_zone() -> None:
    panel = _panel(_by_title("Waiting rooms"), "Entries per hour")
    custom = panel["fieldConfig"]["defaults"]["custom"]
    assert custom["drawStyle"] == "bars" and custom["stacking"]["mode"] == "normal"
    assert panel["interval"] == "1h"  # one bar per hour whatever the range


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
        contract.CAMERA_THINGS,
    ]:
        assert name in used, f"Edge health does not show {name}"


def test_camera_down_is_a_gap_never_zero() -> None:
    """Occupancy is absent while a camera is down; no query may turn that into a number."""
    for _, dashboard in DASHBOARDS:
        for query in queries(dashboard):
            if contract.ZONE_OCCUPANCY in query.expr:
                assert not re.search(r"vector\(|absent|default", query.expr), str(query)
                # "or" only beside the occupancy itself (a room's partial count apart), never a stand-in
                for joined in re.finditer(r"\bor\b", query.expr):
                    after = query.expr[joined.end() :].lstrip()
                    assert re.match(rf"(label_replace\()?{contract.ZONE_OCCUPANCY}\{{", after), str(query)
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
