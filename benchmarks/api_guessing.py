"""Guessing tokens against the staffing-alert API, run as a user runs it (`wartezone api` as a
subprocess on 127.0.0.1).

1. A fast guesser: --tries wrong bearer tokens in a row, as fast as one client sends them; the
   answers counted by status, the time taken, and whether the right token is then accepted.
2. A patient guesser that waits out every Retry-After: how many tokens the API checks for it in
   the first hour and in a day, on the API's own Guard with a simulated clock.

With --baseline DIR, part 1 also runs against the API of another checkout (e.g. a `git worktree`
of an older commit).

    .venv/bin/python -m benchmarks.api_guessing [--tries 1000] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from api.security import Guard
from benchmarks.live import free_port
from tests.api.api_support import DESK, LEAD, FakeClock
from tests.support import wait_for

REPO = Path(__file__).resolve().parents[1]
DAY_S = 86400.0


def fast_guesser(checkout: Path, tries: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        settings = {
            "port": port,
            "database": str(Path(folder) / "api.sqlite3"),
            "input": {"targets": [f"http://127.0.0.1:{free_port()}/metrics"]},  # nothing there
            "auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]},
        }
        (Path(folder) / "api.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
        command = [sys.executable, "-m", "edge", "api", "-c", str(Path(folder) / "api.yaml")]
        environ = {"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"}
        process = subprocess.Popen(
            command, cwd=checkout, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _answers(url), 60, "wartezone api to answer")
            statuses: collections.Counter[int] = collections.Counter()
            with httpx.Client(base_url=url, timeout=10) as client:
                started = time.perf_counter()
                for n in range(tries):
                    guess = {"Authorization": f"Bearer guess-{n:06d}-0123456789abcdef"}
                    statuses[client.get("/api/v1/zones", headers=guess).status_code] += 1
                elapsed = time.perf_counter() - started
                right = client.get("/api/v1/zones", headers={"Authorization": f"Bearer {DESK}"})
        finally:
            process.terminate()
            process.wait(10)
    answers = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
    return (
        f"{tries} wrong tokens in {elapsed:.1f} s: {answers}; the right token then: "
        f"{right.status_code} (Retry-After {right.headers.get('retry-after', '-')})"
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/metrics", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def patient_guesser(free: int = 5) -> tuple[int, int]:
    """Tokens checked for a guesser that sends the next one the moment its wait is over."""
    clock = FakeClock(0.0)
    guard = Guard(clock, lambda kind: None, free)
    checked, first_hour = 0, 0
    while clock.now() < DAY_S:
        wait = guard.wait_s("guesser")
        if wait > 0:
            clock.advance(wait)
            continue
        checked += 1
        if clock.now() < 3600:
            first_hour = checked
        guard.failed("guesser", "bearer")
    return first_hour, checked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=1000, help="wrong tokens the fast guesser sends")
    parser.add_argument("--baseline", type=Path, help="another checkout to run the fast guesser against")
    args = parser.parse_args()
    print(f"this checkout: {fast_guesser(REPO, args.tries)}")
    if args.baseline is not None:
        print(f"baseline {args.baseline}: {fast_guesser(args.baseline.resolve(), args.tries)}")
    hour, day = patient_guesser()
    print(f"a guesser waiting out every Retry-After: {hour} tokens checked in the first hour, {day} in 24 h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
