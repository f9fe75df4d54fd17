"""schemathesis' command line against a real server: every operation of the OpenAPI description,
valid and invalid requests, every check (`--checks all`), once as the lead and once as the desk,
without hooks: every request the description allows is accepted as it is, so a reviewer's plain
`schemathesis run <url>/openapi.json --checks all` finds what this test finds.

The command line, not its pytest plugin: the plugin does not run under the pytest in use, and the
command line is what someone reproducing a failure runs (the report names `st replay <id>`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import DESK, LEAD, FakeClock, ServerThread, client_for

from api.app import create_app
from api.domain import Snapshot
from api.occupancy import samples_from_exposition, snapshot_from_samples
from api.settings import parse_settings
from tests.support import wait_for

HERE = Path(__file__).resolve().parent
CONTRACT = HERE.parent / "contract" / "edge_exposition.prom"
NOW = 1.7643e9 + 1
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Generated requests per operation and phase: every operation is covered, about 10 s a run.
EXAMPLES = 25
SEED = 20251124
# The pinned exposition has 7 people in north/entrance/waiting: this rule fires there at once.
WAITING_RULE = "/api/v1/rules/north/entrance/waiting"
FIRES_AT_ONCE = {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 0}


class ContractEdge:
    """The occupancy input at the edge of the unit: always the pinned exposition."""

    async def read(self) -> Snapshot:
        samples = samples_from_exposition(CONTRACT.read_text(encoding="utf-8"))
        return snapshot_from_samples(samples, NOW, stale_after_s=30)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    """A fresh API (its own database) under uvicorn on 127.0.0.1, with an open alert and its event,
    so zones, alerts, events and the stream answer with more than empty lists."""
    settings = parse_settings(
        {
            # schemathesis sends wrong tokens on purpose (and logs in with made-up ones): none waits.
            "auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD], "free_failures": 1_000_000},
            "database": str(tmp_path / "api.sqlite3"),
        },
        tmp_path,
        environ={},
    )
    running = ServerThread(create_app(settings, clock=FakeClock(NOW), source=ContractEdge())).start()
    with client_for(running, LEAD) as client:
        assert client.put(WAITING_RULE, json=FIRES_AT_ONCE).status_code == 200
        wait_for(lambda: client.get("/api/v1/events").json(), 10, "the alert event")
    yield running
    running.stop()


def failures_of(output: str) -> str:
    """The FAILURES and SUMMARY sections of schemathesis' report, or its last lines."""
    start = output.find("== FAILURES ==")
    if start < 0:
        start = output.find("== ERRORS ==")
    return output[output.rfind("\n", 0, max(start, 0)) + 1 :] if start >= 0 else output[-4000:]


@pytest.mark.live_server
@pytest.mark.slow
@pytest.mark.parametrize("token", [LEAD, DESK], ids=["lead", "desk"])
def test_api_matches_its_description(server: ServerThread, token: str, tmp_path: Path) -> None:
    assert SCHEMATHESIS.exists(), f"{SCHEMATHESIS} is missing: install the dev extra (scripts/setup.sh --dev)"
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    operations = sum(len(methods) for methods in paths.values())
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "5",
        "--generation-database",
        "none",
        "--no-color",
    ]
    # No hooks: what the description allows is accepted, as a reviewer's plain run would find.
    environ = {k: v for k, v in os.environ.items() if k != "SCHEMATHESIS_HOOKS"}
    # cwd: whatever it writes lands in tmp_path; the token is filtered out of its output.
    run = subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"schemathesis exit code {run.returncode}:\n{failures_of(output)}"
    tested = re.search(r"^\s*Tested: (\d+)", output, re.MULTILINE)
    assert tested is not None and int(tested.group(1)) == operations, output[-4000:]
