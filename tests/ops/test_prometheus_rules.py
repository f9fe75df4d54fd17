"""The Prometheus and Alertmanager configuration, checked by their own tools: promtool (config,
rules, and the unit tests of every alerting rule) and amtool (config, and where each alert goes)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import wartezone_contract as contract
from tests.conftest import need_tool
from tests.ops.grafana_queries import (
    ALERTMANAGER_CONFIG,
    PROMETHEUS_CONFIG,
    PROMETHEUS_DIR,
    RULE_FILES,
    RULE_TESTS,
    alerting_rules,
    known_metric_names,
    metric_names,
    rules,
)


def _tool(name: str, package: str) -> str:
    return need_tool(name, f"scripts/setup.sh --dev installs Debian's {package} package")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_check_config() -> None:
    result = _run(_tool("promtool", "prometheus"), "check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_promtool_check_rules(path: Path) -> None:
    result = _run(_tool("promtool", "prometheus"), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    assert RULE_TESTS, "no rule unit tests in deploy/prometheus/tests"
    result = _run(_tool("promtool", "prometheus"), "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def _alert_cases() -> dict[str, dict[str, int]]:
    """Per alert name: how many unit-test cases expect it firing, and how many expect nothing."""
    cases: dict[str, dict[str, int]] = {}
    for path in RULE_TESTS:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in group.get("alert_rule_test", []):
                kind = "firing" if case.get("exp_alerts") else "silent"
                counts = cases.setdefault(case["alertname"], {"firing": 0, "silent": 0})
                counts[kind] += 1
    return cases


def test_every_alerting_rule_has_firing_and_non_firing_unit_tests() -> None:
    cases = _alert_cases()
    names = [rule["alert"] for rule in alerting_rules()]
    assert names, "no alerting rule"
    for name in names:
        assert cases.get(name, {}).get("firing"), f"{name}: no unit test where it fires"
        assert cases.get(name, {}).get("silent"), f"{name}: no unit test where it must not fire"
    assert set(cases) <= set(names), f"unit tests of alerts that do not exist: {set(cases) - set(names)}"


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda rule: rule["alert"])
def test_alerting_rule_is_routable_and_explained(rule: dict[str, Any]) -> None:
    assert rule["alert"].startswith("Wartezone")
    assert rule["labels"]["severity"] in {"page", "ticket"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert "{{ $labels.site }}" in rule["annotations"]["summary"], "operations must see which site"


def test_rule_names_and_metrics() -> None:
    known = known_metric_names()
    for rule in rules():
        if "record" in rule:  # level:metric:operations
            assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", rule["record"]), rule["record"]
        unknown = metric_names(rule["expr"]) - known
        assert not unknown, (
            f"{rule.get('record') or rule.get('alert')} reads {unknown}, which nothing exports"
        )


def test_scrape_config_labels_every_target_with_its_site() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"wartezone-edge", "wartezone-api"} <= set(jobs)
    for name in ("wartezone-edge", "wartezone-api"):
        job = jobs[name]
        # The exposition's own site label must win over the target's (never exported_site).
        assert job.get("honor_labels") is True, name
        for sd in job["file_sd_configs"]:
            for pattern in sd["files"]:
                files = list(PROMETHEUS_DIR.glob(pattern))
                assert files, f"{name}: no target file {pattern}"
                for path in files:
                    for group in yaml.safe_load(path.read_text(encoding="utf-8")):
                        assert re.fullmatch(contract.ID_PATTERN, group["labels"]["site"]), f"{path}: {group}"
                        assert group["targets"], f"{path}: a group without targets"


def test_amtool_check_config() -> None:
    result = _run(_tool("amtool", "prometheus-alertmanager"), "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_reaches_the_operations_webhook(rule: dict[str, Any]) -> None:
    result = _run(
        _tool("amtool", "prometheus-alertmanager"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        "--verify.receivers=operations-webhook",
        f"alertname={rule['alert']}",
        f"severity={rule['labels']['severity']}",
        "site=north",
        "camera=entrance",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_inhibit_rules_name_existing_alerts() -> None:
    names = {rule["alert"] for rule in alerting_rules()}
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    assert config["inhibit_rules"]
    for inhibit in config["inhibit_rules"]:
        for key in ("source_matchers", "target_matchers"):
            for matcher in inhibit[key]:
                match = re.fullmatch(r'alertname(=~|=)"(.+)"', matcher)
                assert match, matcher
                pattern = match[2] if match[1] == "=~" else re.escape(match[2])
                # Each alternative must match an alert: a renamed alert would silently escape.
                for alternative in pattern.split("|"):
                    assert any(re.fullmatch(alternative, n) for n in names), f"{matcher}: {alternative}"
