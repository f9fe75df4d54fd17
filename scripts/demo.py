"""The whole chain on the sample video: the edge counting, the API scraping it, a rule low enough to
fire within a minute, the reception page to watch it. Started by scripts/demo.sh after set-up.

Tokens are made for this run and printed; they are handed to the API through its environment and
written nowhere. Everything the run writes (configs, logs, the API's database) goes to .cache/demo
(ignored by git), or to WARTEZONE_DEMO_DIR. Ctrl-C, SIGTERM or SIGHUP (a closed terminal) stop the
API, then the edge, even where the demo was started with SIGINT ignored (in the background by a
script); should the demo die without that (SIGKILL), Linux ends both with it (PR_SET_PDEATHSIG).
Ports: WARTEZONE_DEMO_EDGE_PORT (default 9464), WARTEZONE_DEMO_API_PORT (default 8088).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import yaml

REPO = Path(__file__).resolve().parent.parent
SITE, CAMERA, ZONE = "demo", "campus", "path-east"
# Two people on the eastern path for 5 s: the sample video gets there within a minute.
RULE = {"raise_level": 2, "clear_level": 1, "min_above_s": 5, "min_below_s": 5, "cooldown_s": 30}
PRINT_EVERY_S = 2.0
START_TIMEOUT_S = 90.0
# Ctrl-C, `kill`, and the terminal closing. Set even where inherited as ignored: a shell starts a
# background job with SIGINT ignored, and the demo would then never stop on `kill -INT`.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Stopped(Exception):
    """A stop signal arrived: the demo ends, and the edge and the API with it."""


def _stop_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    raise Stopped(signal.Signals(signum).name)


def main() -> int:
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop_on_signal)
    folder = Path(os.environ.get("WARTEZONE_DEMO_DIR", REPO / ".cache" / "demo"))
    folder.mkdir(parents=True, exist_ok=True)
    edge_port = _free_port("WARTEZONE_DEMO_EDGE_PORT", 9464)
    api_port = _free_port("WARTEZONE_DEMO_API_PORT", 8088)
    desk, lead = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    edge_config, api_config = _write_configs(folder, edge_port, api_port)
    api_url = f"http://127.0.0.1:{api_port}"
    tokens = {
        "WARTEZONE_API__AUTH__DESK_TOKENS": json.dumps([desk]),
        "WARTEZONE_API__AUTH__LEAD_TOKENS": json.dumps([lead]),
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(_start(["edge", "run", "-c", str(edge_config)], folder / "edge.log"))
        processes.append(_start(["api", "-c", str(api_config)], folder / "api.log", tokens))
        _wait_for_api(api_url, desk, processes, folder)
        _request("PUT", f"{api_url}/api/v1/rules/{SITE}/{CAMERA}/{ZONE}", lead, RULE)
        # The token rides in the fragment, which the browser never sends; the page then drops it.
        print(f"wartezone demo: reception page {api_url}/reception#token={desk}")
        print(f"  lead page (rules): {api_url}/lead#token={lead}")
        print(f"  desk token: {desk}")
        print(f"  lead token: {lead}")
        print(f"  rule: {ZONE} alerts at {RULE['raise_level']} people for {RULE['min_above_s']} s")
        print(f"  edge metrics http://127.0.0.1:{edge_port}/metrics; logs in {folder}; Ctrl-C stops both")
        sys.stdout.flush()
        while all(p.poll() is None for p in processes):
            print(_status_line(api_url, desk), flush=True)
            time.sleep(PRINT_EVERY_S)
        print("wartezone demo: a process ended; see the logs in", folder, file=sys.stderr)
        return 1
    except Stopped:
        return 0
    finally:
        for signum in STOP_SIGNALS:  # a second Ctrl-C must not cut the stopping short
            signal.signal(signum, signal.SIG_IGN)
        for process in reversed(processes):  # the API first: it reads the edge
            _stop(process)


def _free_port(variable: str, default: int) -> int:
    """The port `variable` names, checked free on 127.0.0.1 before anything starts."""
    port = int(os.environ.get(variable, str(default)))
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise SystemExit(
                f"wartezone demo: port {port} on 127.0.0.1 is in use (an earlier demo still running? "
                f"`ss -ltnp 'sport = :{port}'` names the process); stop it, or set {variable} to another port"
            ) from None
    return port


def _write_configs(folder: Path, edge_port: int, api_port: int) -> tuple[Path, Path]:
    """The sample's edge config with this run's port and the video's absolute path; the API's."""
    edge = yaml.safe_load((REPO / "examples" / "demo.yaml").read_text(encoding="utf-8"))
    edge["metrics"]["port"] = edge_port
    for camera in edge["cameras"]:
        camera["source"]["path"] = str((REPO / "examples" / camera["source"]["path"]).resolve())
    edge_config = folder / "edge.yaml"
    edge_config.write_text(yaml.safe_dump(edge, sort_keys=False), encoding="utf-8")
    api = {
        "host": "127.0.0.1",
        "port": api_port,
        "database": str(folder / "api.sqlite3"),
        "input": {"targets": [f"http://127.0.0.1:{edge_port}/metrics"]},
    }
    api_config = folder / "api.yaml"
    api_config.write_text(yaml.safe_dump(api, sort_keys=False), encoding="utf-8")
    return edge_config, api_config


def _start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A `wartezone` process in a session of its own (Ctrl-C reaches this script, which stops it
    in order), which Linux ends should this script end without stopping it."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "edge", *args],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ | (env or {}),
            start_new_session=True,
            preexec_fn=_ended_with(os.getpid()) if sys.platform == "linux" else None,
        )


def _ended_with(parent: int) -> Callable[[], None]:
    """Runs in the child before it becomes the `wartezone` process: SIGTERM when `parent` ends,
    however it ends (SIGKILL included), which no handler or atexit in the parent can promise."""

    def ask() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent ended before the request took effect
            os._exit(1)

    return ask


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"null")


def _wait_for_api(url: str, desk: str, processes: list[subprocess.Popen[bytes]], folder: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SystemExit(f"wartezone demo: a process did not start; see the logs in {folder}")
        try:
            _request("GET", f"{url}/api/v1/health", desk)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise SystemExit(f"wartezone demo: the API did not answer within {START_TIMEOUT_S:.0f} s")


def _status_line(url: str, desk: str) -> str:
    """Occupancy and alert state per zone, as the API sees them now."""
    try:
        zones = _request("GET", f"{url}/api/v1/zones", desk)["zones"]
    except (urllib.error.URLError, OSError) as error:
        return f"{time.strftime('%H:%M:%S')} the API does not answer: {error}"
    parts = []
    for zone in sorted(zones, key=lambda z: str(z["zone"])):
        people = "?" if zone["occupancy"] is None else f"{zone['occupancy']:.0f}"
        state = "" if zone["raise_level"] is None else f" {zone['state']} (alert at {zone['raise_level']})"
        parts.append(f"{zone['zone']} {people}{state}")
    return f"{time.strftime('%H:%M:%S')} " + " | ".join(parts or ["waiting for the first counts"])


if __name__ == "__main__":
    sys.exit(main())
