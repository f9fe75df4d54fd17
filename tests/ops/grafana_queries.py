"""What the operations tests read out of the repository: dashboards, their queries, rule files, and
the metric names that the edge, the API and the recording rules provide."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.process_collector import ProcessCollector

from api.domain import ZoneKey
from api.metrics import ApiMetrics
from edge.config import Config
from edge.detect.base import ModelInfo
from edge.metrics import EdgeMetrics

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
GRAFANA = REPO / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCE_FILE = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"

# Series that Prometheus itself makes for every target.
PROMETHEUS_METRICS = frozenset({"up"})


def exposed_names(registry: CollectorRegistry) -> frozenset[str]:
    """The series names a scrape of `registry` can return, read from its text exposition.

    Every sample's name, and the TYPE line of a gauge or counter with no sample yet (a labelled
    counter before its first event, a scrape-time gauge with nothing to report): those lines carry
    the series name itself (a counter's with _total). A histogram's TYPE line names no series.
    """
    names = set()
    for line in generate_latest(registry).decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if kind in {"gauge", "counter", "untyped"}:
                names.add(name)
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return frozenset(names)


def edge_metric_names() -> frozenset[str]:
    """Series names of a real edge registry (with its process collector), as the service builds it."""
    config = Config.model_validate(
        {
            "site": "names",
            "cameras": [
                {
                    "id": "cam",
                    "source": {"type": "file", "path": "a.mp4"},
                    "zones": [{"id": "zone", "polygon": [[0, 0], [1, 0], [1, 1]]}],
                }
            ],
        }
    )
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    metrics = EdgeMetrics(registry, config, ModelInfo("m", "0" * 64, "onnxruntime", "480x640"))
    metrics.record_frame("cam", 1.7e9, 0.1, [])  # latency histogram and camera gauges get samples
    return exposed_names(registry)


def api_metric_names() -> frozenset[str]:
    """Series names of the alert API's real registry."""
    registry = CollectorRegistry()
    metrics = ApiMetrics(registry)
    metrics.zone_seen(ZoneKey("site", "camera", "zone"))  # per-zone series appear once a zone is seen
    return exposed_names(registry)


def recording_rule_names() -> frozenset[str]:
    return frozenset(rule["record"] for rule in rules() if "record" in rule)


def rules() -> Iterator[dict[str, Any]]:
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            yield from group["rules"]


def alerting_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def known_metric_names() -> frozenset[str]:
    return edge_metric_names() | api_metric_names() | PROMETHEUS_METRICS | recording_rule_names()


def datasource_uid() -> str:
    provisioning = yaml.safe_load(DATASOURCE_FILE.read_text(encoding="utf-8"))
    (prometheus,) = [d for d in provisioning["datasources"] if d["type"] == "prometheus"]
    return str(prometheus["uid"])


def load_dashboards() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, json.loads(path.read_text(encoding="utf-8"))) for path in DASHBOARD_FILES]


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included; rows themselves are not panels."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str  # panel title, or "annotation NAME"
    ref_id: str
    expr: str
    interval: str | None  # the panel's minimum interval, which Grafana's $__interval honours

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.where} / {self.ref_id}"


def queries(dashboard: dict[str, Any]) -> list[Query]:
    """The PromQL of every panel target and every Prometheus annotation of a dashboard."""
    found = [
        Query(dashboard["title"], panel["title"], target["refId"], target["expr"], panel.get("interval"))
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]
    found += [
        Query(dashboard["title"], f"annotation {a['name']}", "-", a["expr"], a.get("step"))
        for a in dashboard.get("annotations", {}).get("list", [])
        if "expr" in a
    ]
    return found


@dataclass(frozen=True)
class Variable:
    name: str
    metric_selector: str | None  # label_values(SELECTOR, label); None for label_values(label)
    label: str


LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$")


def variables(dashboard: dict[str, Any]) -> list[Variable]:
    """The dashboard's query variables, all of the label_values form."""
    found = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = LABEL_VALUES.match(text)
        assert match, f"{dashboard['title']}: variable {variable['name']}: not label_values(...): {text}"
        found.append(Variable(variable["name"], match["selector"], match["label"]))
    return found


def fill(expr: str, values: dict[str, str], *, interval: str | None = None) -> str:
    """Grafana's substitution: built-in intervals and the dashboard's variables, longest names first."""
    builtins = {
        "__rate_interval": "1m",  # Grafana: max(4 x scrape interval 15s, $__interval + 15s)
        "__interval": interval or "15s",
        "__range": "1h",
    }
    for name, value in sorted({**builtins, **values}.items(), key=lambda item: -len(item[0])):
        expr = _substitute(expr, name, value)
    return expr


def _substitute(expr: str, name: str, value: str) -> str:
    expr = expr.replace(f"${{{name}}}", value).replace(f"[[{name}]]", value)
    return re.sub(rf"\${re.escape(name)}\b", lambda _match: value, expr)


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
    | {"inf", "nan", "Inf", "NaN"}
)


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects: identifiers that are not functions, keywords, labels."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    return {
        match[1]
        for match in _IDENTIFIER.finditer(text)
        if match[2] is None and match[1] not in _KEYWORDS and not match[1].startswith("$")
    }


AGGREGATOR = re.compile(
    r"\b(sum|avg|count|min|max|group|stddev|stdvar|topk|bottomk|quantile)\s*(?=\(|by\b|without\b)"
)
GROUPING = re.compile(r"\s*(by|without)\s*\(([^)]*)\)")
ZONE_SERIES = re.compile(r"\bwartezone_zone_\w+|\bsite_camera_zone:\w+")
ROOMS_APART = re.compile(r"camera\s*(!=|=|!~|=~)\s*\"floor\"")


def _closing(expr: str, start: int) -> int:
    """The index just past the parenthesis that closes the one at `start`."""
    depth = 0
    for i in range(start, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[i], 0)
        if depth == 0:
            return i + 1
    raise ValueError(f"unbalanced parentheses in {expr!r}")


def zone_sums_across_cameras(expr: str) -> list[str]:
    """The aggregations in a PromQL expression that add zone series of several cameras together
    (their grouping drops `camera`) without taking the rooms (camera "floor") apart: a room is a
    zone of camera "floor", so such a sum counts its people twice."""
    found = []
    for match in AGGREGATOR.finditer(expr):
        at = match.end()
        grouping = GROUPING.match(expr, at)
        if grouping:
            at = grouping.end()
        while expr[at].isspace():
            at += 1
        end = _closing(expr, at)
        body = expr[at:end]
        if grouping is None:
            grouping = GROUPING.match(expr, end)
        labels = set() if grouping is None else {label.strip() for label in grouping.group(2).split(",")}
        keeps_camera = grouping is not None and (
            ("camera" in labels) if grouping.group(1) == "by" else ("camera" not in labels)
        )
        if ZONE_SERIES.search(body) and not keeps_camera and not ROOMS_APART.search(body):
            found.append(expr[match.start() : end])
    return found
