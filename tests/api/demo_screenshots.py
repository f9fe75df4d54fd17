"""Screenshots of the demo with SIMULATED past days: the whole chain on the sample video (scripts/demo.py),
the forecast, the counters advice and the alert live on the reception and lead pages.

Run from the repository root: `.venv/bin/python -m tests.api.demo_screenshots` (needs Debian's
chromium, playwright and .cache/vtest.avi, as the browser tests do). Three weeks of SIMULATED
minutes of the demo's ruled zone (api/simulated.py) go into a temporary database before the demo
starts, so the forecast shows at once; the edge then counts the video into the same zone. Writes
docs/screenshots/reception-demo-replay-de-WxH.png and lead-demo-replay-de-WxH.png at a desk's
1280x800 and a tablet's 1024x768.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from api.domain import ZoneKey
from api.simulated import seed
from api.storage import Storage
from tests.browser import CHROMIUM_ARGS, launch, playwright

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "screenshots"
ZONE = ZoneKey("demo", "campus", "path-east")  # the zone scripts/demo.py gives its rule
ZONE_ID = f"{ZONE.site}/{ZONE.camera}/{ZONE.zone}"
SIZES = {"1280x800": {"width": 1280, "height": 800}, "1024x768": {"width": 1024, "height": 768}}
SHOWN_WITHIN_MS = 150_000  # the API's first minute of readings, then its queue figures


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _addresses(demo: subprocess.Popen[str]) -> tuple[str, str]:
    """The reception and lead addresses the demo prints once the API answers."""
    assert demo.stdout is not None
    reception = lead = None
    deadline = time.monotonic() + 120
    while (reception is None or lead is None) and time.monotonic() < deadline:
        line = demo.stdout.readline()
        if not line:
            raise SystemExit("the demo ended before it printed its addresses")
        if found := re.search(r"reception page (\S+#token=\S+)", line):
            reception = found.group(1)
        if found := re.search(r"lead page \(rules\): (\S+#token=\S+)", line):
            lead = found.group(1)
    if reception is None or lead is None:
        raise SystemExit("the demo printed no addresses within 120 s")
    return reception, lead


def _shoot(browser: Any, address: str, advice: str, name: str) -> None:
    """The German page at `address` once the zone's counters advice (`advice`, a selector) shows, at
    each size."""
    page = browser.new_page(viewport=SIZES["1280x800"], locale="de-DE")
    page.goto(address.replace("#", "?lang=de#", 1))
    print(f"{name}: waiting for the counters advice (up to {SHOWN_WITHIN_MS // 1000} s)", flush=True)
    page.locator(advice).wait_for(timeout=SHOWN_WITHIN_MS)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(500)
        path = OUT / f"{name}-de-{label}.png"
        page.screenshot(path=str(path))
        print(path.relative_to(REPO))
    page.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        storage = Storage.open(Path(folder) / "api.sqlite3")  # the database scripts/demo.py names
        try:
            seed(storage, ZONE, time.time(), days=21, counters=2, tz=ZoneInfo("Europe/Berlin"))
        finally:
            storage.close()
        ports = {"WARTEZONE_DEMO_EDGE_PORT": str(_free_port()), "WARTEZONE_DEMO_API_PORT": str(_free_port())}
        demo = subprocess.Popen(
            [sys.executable, "scripts/demo.py"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ | ports | {"WARTEZONE_DEMO_DIR": folder},
        )
        try:
            print("starting the demo on three SIMULATED weeks", flush=True)
            reception, lead = _addresses(demo)
            with playwright() as driver:
                browser = launch(driver, CHROMIUM_ARGS)
                _shoot(browser, lead, f'#zones tr[data-zone="{ZONE_ID}"] .advice', "lead-demo-replay")
                card = f'article.zone[data-zone="{ZONE_ID}"]'
                _shoot(browser, reception, f"{card} .advice", "reception-demo-replay")
                browser.close()
        finally:
            demo.terminate()
            demo.wait(timeout=30)


if __name__ == "__main__":
    main()
