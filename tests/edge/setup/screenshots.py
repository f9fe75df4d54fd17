"""The README's screenshots of the setup page, made from the sample video (examples/demo.yaml).

Run from the repository root: `.venv/bin/python -m tests.edge.setup.screenshots` (needs Debian's
chromium, playwright and .cache/vtest.avi, as the browser tests do). Writes
docs/screenshots/setup-1920x1080-de.png (the demo's zones, live, one selected) and
docs/screenshots/setup-1024x768-en.png (a zone drawn by clicks, named, overlapping another: the warning).
The demo config is copied to a temporary folder first, so examples/ is never written.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.browser import CHROMIUM_ARGS, launch, playwright

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "docs" / "screenshots"
ENOUGH_PEOPLE = 5  # wait for a picture with this many people: the pixelation is what the shots show
READY = 'article.zone[data-count]:not([data-count=""])'


def _wait_for_people(page: Any, at_least: int) -> None:
    page.wait_for_function(
        f"""() => {{
            const text = document.querySelector('#camstate .details').textContent;
            const found = text.match(/(\\d+) (Person|people|person)/);
            return found && Number(found[1]) >= {at_least};
        }}""",
        timeout=90000,
    )


def _draw(page: Any, corners: list[tuple[float, float]]) -> None:
    page.click("#tool-zone")
    box = page.locator("#canvas").bounding_box()
    for x, y in [*corners, corners[0]]:
        page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])


def main() -> None:

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / "demo.yaml"
        text = (REPO / "examples" / "demo.yaml").read_text(encoding="utf-8")
        site.write_text(
            text.replace("../.cache/vtest.avi", str(REPO / ".cache" / "vtest.avi")), encoding="utf-8"
        )
        assert yaml.safe_load(site.read_text(encoding="utf-8"))["cameras"][0]["source"]["path"].startswith(
            "/"
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "edge", "setup", "-c", str(site), "--port", "0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            found = re.search(r"open (\S+#token=\S+)", process.stdout.readline())
            assert found, "wartezone setup printed no address"
            url = found.group(1)
            with playwright() as driver:
                browser = launch(driver, CHROMIUM_ARGS)

                page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="de-DE")
                page.goto(url)
                page.wait_for_selector(READY, timeout=60000)
                page.locator('article.zone[data-zone-card="path-east"]').dispatch_event("pointerdown")
                _wait_for_people(page, ENOUGH_PEOPLE)
                page.wait_for_selector(READY)
                page.screenshot(path=str(OUT / "setup-1920x1080-de.png"))
                page.close()

                page = browser.new_page(viewport={"width": 1024, "height": 768}, locale="en-US")
                page.goto(url)
                page.wait_for_selector(READY, timeout=60000)
                _wait_for_people(page, ENOUGH_PEOPLE)
                page.click("#hold")
                page.wait_for_timeout(1500)
                _draw(page, [(0.3, 0.5), (0.62, 0.45), (0.7, 0.9), (0.25, 0.95)])
                card = page.locator("article.zone").nth(2)  # the new one (its id changes below)
                card.locator(".zid").fill("queue")
                card.locator(".zname").fill("Queue at the desk")
                card.locator(".zloiter").fill("300")
                page.wait_for_selector("#checks:not([hidden])")
                page.wait_for_selector(
                    'article.zone[data-zone-card="queue"][data-count]:not([data-count=""])'
                )
                page.screenshot(path=str(OUT / "setup-1024x768-en.png"))
                page.close()
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    for shot in sorted(OUT.glob("setup-*.png")):
        print(shot.relative_to(REPO))


if __name__ == "__main__":
    main()
