"""Benchmark of the staffing-alert API, run as a user runs it (`wartezone api` as a subprocess).

1. Throughput and latency of the state endpoint (GET /api/v1/zones, desk token) under load from a
   second process (this script started again with --load), at 1 and at 8 concurrent clients.
2. Time from an occupancy crossing at the edge to the alert banner on the reception page in
   Chromium (Playwright), with the default scrape interval (1 s).

With --hostile-edge, instead: an edge box (or anything on its port) reporting 10,000 zones, two
of them with ids that break the pattern; while the API reads it every second, the latency of
GET /api/v1/health and GET /metrics, and how many rule PUTs finish. Run with the default limits
(200 zones per edge) and with the limit raised to 10,000 (every zone read), and, with --baseline
DIR, against the API of another checkout (e.g. a `git worktree` of an older commit).

The edge box is a stand-in /metrics page served by this script (the API scrapes it over HTTP as it
would a real one): the benchmark measures the API, not the detector.

    .venv/bin/python -m benchmarks.api_bench [--seconds 3] [--crossings 5]
    .venv/bin/python -m benchmarks.api_bench --hostile-edge [--zones 10000] [--seconds 20] [--baseline DIR]
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


def start_api(
    folder: Path, edge_url: str, port: int, extra: dict[str, Any] | None = None, checkout: Path = REPO
) -> subprocess.Popen[bytes]:
    """`wartezone api` of `checkout` reading the edge; extra: more settings (e.g. limits)."""
    settings = {
        "port": port,
        "database": str(folder / "api.sqlite3"),
        "input": {"targets": [edge_url]},  # the default interval: 1 s
        "auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]},
        **(extra or {}),
    }
    (folder / "api.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    log = (folder / "api.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "api", "-c", str(folder / "api.yaml")],
        cwd=checkout,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120  # an API busy with a hostile edge answers late
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).status_code == 200:
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


# -- a hostile edge ---------------------------------------------------------------------------------

BAD_IDS = ("<svg onload=alert(1)>", "z'); DROP TABLE rules;--")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def hostile_run(
    edge: FakeEdge, seconds: float, extra: dict[str, Any] | None, checkout: Path
) -> dict[str, Any]:
    """The API reading the hostile edge: /health and /metrics latencies (ms) from one client every
    0.2 s, and rule PUTs (the first 200 zones, round and round) from another, for `seconds`."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        api = start_api(Path(tmp), edge.url, port, extra, checkout)
        url = f"http://127.0.0.1:{port}"
        desk = {"Authorization": f"Bearer {DESK}"}
        lead = {"Authorization": f"Bearer {LEAD}"}
        latencies: dict[str, list[float]] = {"/api/v1/health": [], "/metrics": []}
        puts = {"ok": 0, "answered": 0}
        try:
            with httpx.Client(base_url=url, headers=desk, timeout=60) as http:
                first = time.monotonic()
                while not http.get("/api/v1/zones").json()["zones"] and time.monotonic() - first < 120:
                    time.sleep(0.5)
                listed = len(http.get("/api/v1/zones").json()["zones"])
            until = time.monotonic() + seconds

            def read() -> None:
                with httpx.Client(base_url=url, headers=desk, timeout=60) as http:
                    while time.monotonic() < until:
                        for path, found in latencies.items():
                            began = time.perf_counter()
                            http.get(path).raise_for_status()
                            found.append((time.perf_counter() - began) * 1000)
                        time.sleep(0.2)

            def put() -> None:
                with httpx.Client(base_url=url, headers=lead, timeout=60) as http:
                    i = 0
                    while time.monotonic() < until:
                        zone = f"z{i % 200:05d}"
                        answer = http.put(f"/api/v1/rules/{SITE}/{CAMERA}/{zone}", json=RULE)
                        puts["answered"] += 1
                        puts["ok"] += answer.status_code == 200
                        i += 1

            threads = [threading.Thread(target=read), threading.Thread(target=put)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            with httpx.Client(base_url=url, headers=desk, timeout=60) as http:
                health = http.get("/api/v1/health").json()
        finally:
            api.send_signal(signal.SIGTERM)
            api.wait(30)
    return {"listed": listed, "latencies": latencies, "puts": puts, "problems": health["problems"]}


def hostile_edge(zones: int, seconds: float, baseline: Path | None) -> int:
    edge = FakeEdge(SITE, names={(CAMERA, f"z{i:05d}"): f"Zone {i}" for i in range(zones)})
    edge.names |= {(CAMERA, bad): "Evil" for bad in BAD_IDS}
    edge.set(dict.fromkeys(edge.names, 1.0))  # every zone counted, a new frame at every scrape
    runs: list[tuple[str, dict[str, Any]]] = []
    if baseline is not None:
        runs.append((f"baseline {baseline.name}", hostile_run(edge, seconds, None, baseline)))
    runs.append((f"limit {zones}", hostile_run(edge, seconds, {"limits": {"zones_per_target": zones}}, REPO)))
    runs.append(("limit 200 (default)", hostile_run(edge, seconds, None, REPO)))
    edge.close()
    print(
        f"\nAn edge reporting {zones} zones (+{len(BAD_IDS)} bad ids), read every 1 s; {seconds:.0f} s each"
    )
    print(
        f"{'API':<24} {'zones':>6} {'health p50/p95/max ms':>24} {'metrics p50/p95/max ms':>25} "
        f"{'rule PUTs ok/s':>15}"
    )
    for name, run in runs:
        cells = [
            "/".join(f"{percentile(run['latencies'][path], q):.0f}" for q in (0.5, 0.95, 1.0))
            for path in ("/api/v1/health", "/metrics")
        ]
        print(
            f"{name:<24} {run['listed']:>6} {cells[0]:>24} {cells[1]:>25} "
            f"{run['puts']['ok'] / seconds:>15.1f}"
        )
    for name, run in runs:
        print(f"{name}: problems {run['problems']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="load duration per run (default 3)")
    parser.add_argument("--crossings", type=int, default=5, help="crossings timed in the browser (default 5)")
    parser.add_argument("--hostile-edge", action="store_true", help="the hostile-edge case (see above)")
    parser.add_argument("--zones", type=int, default=10000, help="zones of the hostile edge (default 10000)")
    parser.add_argument("--baseline", type=Path, help="hostile edge: also run the API of this checkout")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.load, args.seconds, args.clients)))
        return 0
    if args.hostile_edge:
        return hostile_edge(args.zones, args.seconds, args.baseline)

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
