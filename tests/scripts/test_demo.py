"""The README's first command, what it runs: the edge and the API on the sample video, a demo rule
that fires within two minutes, and Ctrl-C leaving no process behind."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.support import free_port

pytestmark = [pytest.mark.live_server, pytest.mark.slow]


def _processes_mentioning(text: str) -> list[int]:
    """Processes whose command line names `text` (this run's own folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue  # ended meanwhile
    return found


def test_the_demo_fires_an_alert_on_the_reception_page_and_stops_on_ctrl_c(
    demo_video: Path, tmp_path: Path, browser: Any
) -> None:
    api_port = free_port()
    env = os.environ | {
        "WARTEZONE_DEMO_DIR": str(tmp_path),
        "WARTEZONE_DEMO_EDGE_PORT": str(free_port()),
        "WARTEZONE_DEMO_API_PORT": str(api_port),
    }
    demo = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    lines: list[str] = []
    fired_at = None
    started = time.monotonic()
    try:
        while time.monotonic() - started < 120 and fired_at is None:
            ready, _, _ = select.select([demo.stdout], [], [], 1.0)
            if ready and (line := demo.stdout.readline()):
                lines.append(line.rstrip("\n"))
                if "path-east" in line and " firing " in line:
                    fired_at = time.monotonic() - started
            assert demo.poll() is None, "\n".join(lines)
        assert fired_at is not None, "no alert within 2 minutes:\n" + "\n".join(lines[-20:])
        desk = next(line.split(": ", 1)[1] for line in lines if line.startswith("  desk token: "))
        request = urllib.request.Request(f"http://127.0.0.1:{api_port}/api/v1/zones")
        request.add_header("Authorization", f"Bearer {desk}")
        with urllib.request.urlopen(request, timeout=5) as response:
            zones = {z["zone"]: z for z in json.loads(response.read())["zones"]}
        assert zones["path-east"]["state"] in ("firing", "resolved", "pending")  # the rule is live
        assert zones["path-east"]["raise_level"] == 2
        reception = next(
            line.split(" ")[-1] for line in lines if line.startswith("wartezone demo: reception page ")
        )
        assert reception == f"http://127.0.0.1:{api_port}/reception#token={desk}"
        page = browser.new_page()
        page.goto(reception)
        page.wait_for_selector("#banner.firing", timeout=30_000)  # the alert, as reception sees it
        assert "Weg Ost" in page.inner_text("#banner")  # the display name of examples/demo.yaml
        assert "token" not in page.url  # the page took the token out of the address bar
        page.close()
        assert not any(desk in path.read_text(encoding="utf-8") for path in tmp_path.glob("*.yaml"))
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=30)
    print(f"the alert fired {fired_at:.0f} s after the start")
    assert code == 0
    assert _processes_mentioning(str(tmp_path)) == []  # the edge and the API ended with it
