"""Settings: one validated model from YAML plus WARTEZONE_API__* variables; bad input names its field."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_support import DESK, LEAD, SECRET

from api.settings import PrometheusInput, ScrapeInput, SettingsError, load_settings, parse_settings

GOOD: dict[str, Any] = {"auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]}}
HOOK = {"name": "desk", "url": "http://127.0.0.1:9/hook", "secret": SECRET}


def problems(data: Any, environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(data, Path("/tmp"), environ or {})
    return caught.value.problems


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({}, "auth", "Field required"),  # the empty file: tokens are required, nothing else
        ({"auth": {"desk_tokens": [], "lead_tokens": [LEAD]}}, "auth.desk_tokens", "at least 1 item"),
        ({"auth": {"desk_tokens": ["short"], "lead_tokens": [LEAD]}}, "auth.desk_tokens[0]", "too short"),
        ({**GOOD, "auth": {**GOOD["auth"], "cookie_secure": True}}, "auth", "replaced by plain_http"),
        ({**GOOD, "auth": {**GOOD["auth"], "session_idle_s": 1}}, "auth.session_idle_s", "greater than"),
        ({"auth": {"desk_tokens": [LEAD], "lead_tokens": [LEAD]}}, "auth", "both a desk and a lead token"),
        ({**GOOD, "webhoks": []}, "webhoks", "Extra inputs are not permitted"),
        ({**GOOD, "port": 70000}, "port", "less than or equal to 65535"),
        ({**GOOD, "timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        ({**GOOD, "input": {"type": "kafka"}}, "input", "does not match any of the expected tags"),
        ({**GOOD, "input": {"type": "prometheus"}}, "input.url", "Field required"),
        ({**GOOD, "input": {"targets": ["ftp://edge/metrics"]}}, "input.targets[0]", "http:// or https://"),
        ({**GOOD, "input": {"targets": []}}, "input.targets", "at least 1 item"),
        ({**GOOD, "input": {"interval_s": 0}}, "input.interval_s", "greater than or equal to 0.1"),
        (
            {**GOOD, "input": {"targets": ["http://a/metrics", "http://a/metrics"]}},
            "input.targets",
            "duplicate target",
        ),
        ({**GOOD, "webhooks": [HOOK, HOOK]}, "webhooks", "duplicate webhook name 'desk'"),
        ({**GOOD, "webhooks": [{**HOOK, "secret": "x"}]}, "webhooks[0].secret", "too short"),
        ({**GOOD, "webhooks": [{**HOOK, "name": "Desk!"}]}, "webhooks[0].name", "should match pattern"),
        ({**GOOD, "retry": {"initial_s": 10, "max_s": 1}}, "retry", "max_s must be at least initial_s"),
        ({**GOOD, "http": {"max_body_bytes": 10}}, "http.max_body_bytes", "greater than or equal to 256"),
        ({**GOOD, "http": {"cors_origins": ["*"]}}, "http.cors_origins[0]", "http:// or https://"),
        (["a", "b"], "(file)", "must be a mapping"),
    ],
)
def test_bad_settings_name_the_field(data: Any, path: str, fragment: str) -> None:
    found = problems(data)
    assert any(p == path and fragment in message for p, message in found), found


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        ("", "too short to be a token (0 characters, at least 16)"),
        ("abcdefgh1234567", "too short to be a token (15 characters, at least 16)"),
        ("aaaaaaaaaaaaaaaa", "too few different characters to be a token (1, at least 8"),
        ("abababababababababababab", "too few different characters to be a token (2, at least 8"),
        ("1234567123456712345671234567", "too few different characters to be a token (7, at least 8"),
    ],
)
@pytest.mark.parametrize("role", ["desk_tokens", "lead_tokens"])
def test_weak_tokens_are_refused_saying_how_to_make_one(token: str, fragment: str, role: str) -> None:
    auth = {**GOOD["auth"], role: [token]}
    [(path, message)] = problems({"auth": auth})
    assert path == f"auth.{role}[0]" and fragment in message
    assert "`wartezone api token` prints a random one" in message
    assert not token or token not in message


@pytest.mark.parametrize("token", ["abcdefgh12345678", "Zx9-Qw3_Er7tYu1i"])  # 16 characters, 8+ different
def test_a_token_of_16_characters_with_8_different_ones_is_enough(token: str) -> None:
    settings = parse_settings({"auth": {**GOOD["auth"], "desk_tokens": [token]}}, Path("/tmp"), {})
    assert settings.auth.desk_tokens[0].get_secret_value() == token


def test_wartezone_api_token_prints_a_token_the_settings_take() -> None:
    made = [wartezone_api("token") for _ in range(2)]
    assert [done.returncode for done in made] == [0, 0], [done.stderr for done in made]
    tokens = [done.stdout for done in made]
    assert all(t.endswith("\n") and t.count("\n") == 1 for t in tokens)  # the token alone: $(...) takes it
    first, second = (t.strip() for t in tokens)
    assert first != second and len(first) >= 40
    settings = parse_settings({"auth": {"desk_tokens": [first], "lead_tokens": [second]}}, Path("/tmp"), {})
    assert settings.auth.desk_tokens[0].get_secret_value() == first


def test_defaults_scrape_the_local_edge_and_listen_locally() -> None:
    settings = parse_settings(GOOD, Path("/srv/wz"), {})
    assert isinstance(settings.input, ScrapeInput)
    assert settings.input.targets == ["http://127.0.0.1:9464/metrics"]
    assert (settings.host, settings.port) == ("127.0.0.1", 8088)
    assert not settings.auth.plain_http  # the cookie is Secure off loopback unless this is set
    assert (settings.auth.session_max_age_s, settings.auth.session_idle_s) == (30 * 86400, 3600)
    assert settings.database == Path("/srv/wz/wartezone-api.sqlite3")  # relative to the file
    assert settings.http.cors_origins == [] and settings.webhooks == []


def test_environment_overrides_the_file() -> None:
    environ = {
        "WARTEZONE_API__AUTH__DESK_TOKENS": f'["{DESK}"]',
        "WARTEZONE_API__AUTH__LEAD_TOKENS": f'["{LEAD}"]',
        "WARTEZONE_API__PORT": "9000",
        "WARTEZONE_API__INPUT__TYPE": "prometheus",
        "WARTEZONE_API__INPUT__URL": "http://prom:9090",
        "WARTEZONE_API__WEBHOOKS__0__SECRET": "from-the-environment-0123",
        "OTHER": "ignored",
    }
    settings = parse_settings({"port": 8000, "webhooks": [HOOK]}, Path("/tmp"), environ)
    assert settings.port == 9000
    assert isinstance(settings.input, PrometheusInput) and settings.input.url == "http://prom:9090"
    assert settings.webhooks[0].secret.get_secret_value() == "from-the-environment-0123"
    assert settings.auth.desk_tokens[0].get_secret_value() == DESK
    assert DESK not in repr(settings)  # secrets do not show in logs or tracebacks


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"WARTEZONE_API__AUTH__DESK_TOKENS": "[not json"}, "not valid JSON"),
        ({"WARTEZONE_API__WEBHOOKS__3__SECRET": "x" * 20}, "no item 3"),
        ({"WARTEZONE_API__PORT__X": "1"}, "is not a section"),
    ],
)
def test_bad_environment_names_the_variable(environ: dict[str, str], fragment: str) -> None:
    found = problems({**GOOD, "webhooks": [HOOK], "port": 8000}, environ)
    assert any(path in environ and fragment in message for path, message in found), found


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml", {})
    broken = tmp_path / "broken.yaml"
    broken.write_text("auth: [unclosed", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(broken, {})


def wartezone_api(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", "api", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_exits_2_listing_every_bad_field_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(
        yaml.safe_dump({"auth": {"desk_tokens": ["short"], "lead_tokens": []}, "input": {"interval_s": -1}}),
        encoding="utf-8",
    )
    done = wartezone_api("-c", str(path))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for field in ("auth.desk_tokens[0]", "auth.lead_tokens", "input.interval_s"):
        assert f"  {field}: " in done.stderr, done.stderr
    assert "`wartezone api token` prints a random one" in done.stderr


def test_cli_exits_2_when_the_database_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump({**GOOD, "database": str(blocker / "db.sqlite3")}), encoding="utf-8")
    done = wartezone_api("-c", str(path))
    assert done.returncode == 2 and "database" in done.stderr and "Traceback" not in done.stderr


def test_cli_names_a_port_in_use_and_creates_no_database(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        path = tmp_path / "api.yaml"
        database = tmp_path / "api.sqlite3"
        path.write_text(yaml.safe_dump({**GOOD, "port": port, "database": str(database)}), encoding="utf-8")
        done = wartezone_api("-c", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"  port: port {port} on 127.0.0.1 is in use" in done.stderr, done.stderr
    assert not database.exists()  # the port is tried before the database is made
