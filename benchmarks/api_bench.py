"""Benchmark of the staffing-alert API, run as a user runs it (`wartezone api` as a subprocess).

1. Throughput and latency of the state endpoint (GET /api/v1/zones, desk token) under load from a
   second process (this script started again with --load), at 1 and at 8 concurrent clients.
2. Time from an occupancy crossing at the edge to the alert banner on the reception page in
   Chromium (Playwright), with the default scrape interval (1 s).

The edge box is a stand-in /metrics page served by this script (the API scrapes it over HTTP as it
would a real one): the benchmark measures the API, not the detector.

    .venv/bin/python -m benchmarks.api_bench [--seconds 3] [--crossings 5]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from benchmarks.live import free_port
from tests.api.api_support import FakeEdge

REPO = Path(__file__).resolve().parent.parent
DESK = "bench-desk-token-0123456789"
LEAD = "bench-lead-token-0123456789"
SITE, CAMERA = "bench", "entrance"
ZONES = ("waiting", "queue", "counter")
RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 0}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


class StandInEdge:
    """An edge box's /metrics page (the tests' fake edge), all zones of one camera, a new frame
    time at every scrape."""

    def __init__(self) -> None:
        self.occupancy = dict.fromkeys(ZONES, 1.0)
        self.fake = FakeEdge(SITE)
        self.url = self.fake.url
        self.fake.set({(CAMERA, zone): value for zone, value in self.occupancy.items()})

    def set(self, zone: str, value: float) -> float:
        """The new occupancy of `zone`; returns when it was set (Unix time)."""
        self.occupancy[zone] = value
        self.fake.set({(CAMERA, z): v for z, v in self.occupancy.items()})
        return time.time()


def start_api(folder: Path, edge_url: str, port: int) -> subprocess.Popen[bytes]:
    settings = {
        "port": port,
        "database": str(folder / "api.sqlite3"),
        "input": {"targets": [edge_url]},  # the default interval: 1 s
        "auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]},
    }
    (folder / "api.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    log = (folder / "api.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "api", "-c", str(folder / "api.yaml")],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the API did not start; see {folder / 'api.log'}")


# -- load, in a second process --------------------------------------------------------------------


def load(url: str, seconds: float, clients: int) -> dict[str, Any]:
    """GET the state endpoint from `clients` threads for `seconds`; latencies in ms."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    until = [0.0]

    def client(i: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {DESK}"}, timeout=10) as http:
            http.get("/api/v1/zones")  # connect before the clock starts
            start.wait()
            while time.perf_counter() < until[0]:
                began = time.perf_counter()
                response = http.get("/api/v1/zones")
                latencies[i].append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    errors[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    until[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(v for per in latencies for v in per)
    return {
        "clients": clients,
        "requests": len(every),
        "errors": sum(errors),
        "rps": len(every) / elapsed,
        "p50_ms": every[len(every) // 2],
        "p99_ms": every[min(len(every) - 1, int(len(every) * 0.99))],
        "max_ms": every[-1],
    }


def load_from_second_process(url: str, seconds: float, clients: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.api_bench",
            "--load",
            url,
            "--seconds",
            str(seconds),
            "--clients",
            str(clients),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- crossing to banner ------------------------------------------------------------------------


WATCH_BANNER = """() => {
  const banner = document.getElementById("banner");
  new MutationObserver(() => {
    if (banner.className === "firing" && !window.bannerShownAt) window.bannerShownAt = Date.now();
  }).observe(banner, {attributes: true});
}"""


def crossing_to_banner(url: str, edge: StandInEdge, crossings: int) -> list[tuple[float, float]]:
    """Per crossing: (seconds to the banner, of which waiting for the next scrape)."""
    from datetime import datetime

    from playwright.sync_api import sync_playwright

    times: list[tuple[float, float]] = []
    desk = {"Authorization": f"Bearer {DESK}"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{url}/reception")
        page.fill("#token", DESK)
        page.click("#submit")
        page.wait_for_selector('#connection[data-connected="true"]')
        # The page notes when the banner turned red (Playwright's own waiting polls, adding up to
        # ~0.4 s): a MutationObserver in the page, read with the page's clock (the same machine's).
        page.evaluate(WATCH_BANNER)
        for _ in range(crossings):
            edge.set("waiting", 1)
            page.wait_for_selector("#banner.firing", state="hidden", timeout=10000)
            time.sleep(0.3 + (len(times) * 0.37) % 1.0)  # crossings at varied phases of the scrape
            page.evaluate("window.bannerShownAt = null")
            crossed = edge.set("waiting", 7)
            page.wait_for_selector("#banner.firing", timeout=10000)
            shown = float(page.evaluate("window.bannerShownAt")) / 1000
            zone = httpx.get(f"{url}/api/v1/zones/{SITE}/{CAMERA}/waiting", headers=desk).json()
            scraped = datetime.fromisoformat(zone["alert"]["fired_at"]).timestamp()  # the frame time read
            times.append((shown - crossed, scraped - crossed))
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="load duration per run (default 3)")
    parser.add_argument("--crossings", type=int, default=5, help="crossings timed in the browser (default 5)")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.load, args.seconds, args.clients)))
        return 0

    edge = StandInEdge()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        api = start_api(Path(tmp), edge.url, port)
        url = f"http://127.0.0.1:{port}"
        try:
            lead = {"Authorization": f"Bearer {LEAD}"}
            for zone in ZONES:
                httpx.put(
                    f"{url}/api/v1/rules/{SITE}/{CAMERA}/{zone}", json=RULE, headers=lead
                ).raise_for_status()
            time.sleep(1.5)  # a first scrape: every zone known
            runs = [load_from_second_process(url, args.seconds, clients) for clients in (1, 8)]
            banner = crossing_to_banner(url, edge, args.crossings)
        finally:
            api.send_signal(signal.SIGTERM)
            api.wait(15)

    print(f"\nState endpoint GET /api/v1/zones ({len(ZONES)} zones), load from a second process")
    print(
        f"{'clients':>8} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for r in runs:
        print(
            f"{r['clients']:>8} {r['requests']:>9} {r['errors']:>7} {r['rps']:>8.0f} "
            f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f}"
        )
    one, eight = runs
    print(
        f"ratios: req/s 8 clients / 1 client = {eight['rps'] / one['rps']:.2f}; "
        f"p99 / p50 at 8 clients = {eight['p99_ms'] / eight['p50_ms']:.2f}"
    )
    total = [t for t, _ in banner]
    wait = [w for _, w in banner]
    rest = [t - w for t, w in banner]
    print(f"\nOccupancy crossing -> banner in Chromium (scrape interval 1 s, {len(banner)} crossings)")
    print(f"{'':<26} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, values in (
        ("crossing -> banner", total),
        ("  waiting for the scrape", wait),
        ("  scrape -> banner", rest),
    ):
        print(f"{name:<26} {statistics.median(values):>9.3f} {min(values):>7.3f} {max(values):>7.3f}")
    print(
        f"ratios: median crossing->banner / scrape interval = {statistics.median(total):.2f}; "
        f"share spent waiting for the scrape = {sum(wait) / sum(total):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
