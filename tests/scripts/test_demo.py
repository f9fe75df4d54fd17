"""The README's first command, what it runs: the edge and the API on the sample video, a demo rule
that fires within two minutes, and no process left behind however the demo ends (Ctrl-C, `kill`,
a closed terminal, SIGINT to a background job that inherited it ignored, SIGKILL)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.support import free_port, wait_for

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


def _listening(port: int) -> bool:
    """Something holds the port: it accepts, or keeps a connection waiting (a server stopping)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except ConnectionRefusedError:
        return False
    except TimeoutError:
        return True


def _demo_env(tmp_path: Path) -> tuple[dict[str, str], list[int]]:
    ports = [free_port(), free_port()]
    env = os.environ | {
        "WARTEZONE_DEMO_DIR": str(tmp_path),
        "WARTEZONE_DEMO_EDGE_PORT": str(ports[0]),
        "WARTEZONE_DEMO_API_PORT": str(ports[1]),
    }
    return env, ports


def _start_demo(tmp_path: Path, **options: Any) -> tuple[subprocess.Popen[str], list[int]]:
    """The demo writing to tmp_path, on free ports (edge, API), its output in a pipe."""
    env, ports = _demo_env(tmp_path)
    demo = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **options,
    )
    return demo, ports


def _ignore_sigint() -> None:
    """What a shell does to a background job (`scripts/demo.sh &` in a script)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# (how the demo is started, how it is ended, its exit status)
ENDINGS: dict[str, tuple[Callable[[], None] | None, Callable[[int], None], int]] = {
    "kill (SIGTERM)": (None, lambda pid: os.kill(pid, signal.SIGTERM), 0),
    "terminal closed (SIGHUP)": (None, lambda pid: os.kill(pid, signal.SIGHUP), 0),
    "SIGINT to a background job's group": (_ignore_sigint, lambda pid: os.killpg(pid, signal.SIGINT), 0),
    "SIGKILL": (None, lambda pid: os.kill(pid, signal.SIGKILL), -signal.SIGKILL),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_edge_and_the_api_end_with_the_demo_however_it_ends(
    demo_video: Path, tmp_path: Path, ending: str
) -> None:
    prepare, end, expected = ENDINGS[ending]
    # A process group of its own, as a background job has.
    demo, ports = _start_demo(tmp_path, start_new_session=True, preexec_fn=prepare)
    assert demo.stdout is not None
    lines: list[str] = []
    try:
        while not any(line.startswith("wartezone demo: reception page") for line in lines):
            line = demo.stdout.readline()
            assert line, "the demo ended before it was ready:\n" + "".join(lines)
            lines.append(line)
        wait_for(lambda: all(_listening(port) for port in ports), 60, "the edge's and the API's ports")
        assert len(_processes_mentioning(str(tmp_path))) == 2  # the edge and the API

        end(demo.pid)
        code = demo.wait(timeout=30)
        ended = time.monotonic()
        while time.monotonic() - ended < 10 and _processes_mentioning(str(tmp_path)):
            time.sleep(0.1)
    finally:
        if demo.poll() is None:
            demo.kill()
        demo.stdout.close()
        left = _processes_mentioning(str(tmp_path))
        for pid in left:  # this test's own leftovers, so that later tests find their ports free
            os.kill(pid, signal.SIGKILL)
    assert code == expected
    assert left == []
    assert not any(_listening(port) for port in ports)


def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path) -> None:
    env, (edge_port, _) = _demo_env(tmp_path)
    with socket.socket() as holder:  # an earlier demo's edge, still running
        holder.bind(("127.0.0.1", edge_port))
        holder.listen()
        done = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "demo.py")],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"wartezone demo: port {edge_port} on 127.0.0.1 is in use (an earlier demo still running? "
        f"`ss -ltnp 'sport = :{edge_port}'` names the process); stop it, or set WARTEZONE_DEMO_EDGE_PORT "
        "to another port"
    )
    assert _processes_mentioning(str(tmp_path)) == []


def test_the_demo_fires_an_alert_on_the_reception_page_and_stops_on_ctrl_c(
    demo_video: Path, tmp_path: Path, browser: Any
) -> None:
    demo, (_, api_port) = _start_demo(tmp_path)
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
