"""The README's screenshots of the setup page's floor plan, made from the sample video as two cameras.

Run from the repository root: `.venv/bin/python -m tests.edge.setup.floor_screenshots` (needs Debian's
chromium, playwright, .cache/vtest.avi and the model, as the browser tests do). For each of 1280x800
(German) and 1024x768 (English, a tablet) it writes to docs/screenshots/:
  setup-floor-calibration-WxH.png  the entrance camera calibrated by six marks: numbered in both views,
                                   the residual in cm, its footprint and the room on the plan;
  setup-floor-plan-WxH.png         a second camera calibrated by typed metres: both footprints, their
                                   overlap hatched, the room's share seen;
  setup-floor-warning-WxH.png      the second camera's plan measured wrongly: the residual above 25 cm.
The two cameras show the same video (one recording is all there is); their calibrations are made up,
the plan is what the page draws of them. The site file lives in a temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.config import load_config
from edge.setup.server import SetupServer
from edge.setup.session import SetupSession
from edge.zones.floor import fit_floor, to_floor
from tests.browser import CHROMIUM_ARGS, launch, playwright
from tests.edge.setup.test_floor_page import click_picture, click_plan, draw_room, fit_shown

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "docs" / "screenshots"
SITE = """\
site: filiale-nord
cameras:
  - id: eingang
    source: {{type: file, path: {video}, loop: true}}
    fps: 1
    privacy_masks:
      - [[0.0, 0.0], [1.0, 0.0], [1.0, 0.17], [0.0, 0.17]]
    zones:
      - id: vorplatz
        name: Vorplatz
        polygon: [[0.0, 0.3], [1.0, 0.3], [1.0, 1.0], [0.0, 1.0]]
  - id: schalter
    source: {{type: file, path: {video}, loop: true}}
    fps: 1
    privacy_masks:
      - [[0.0, 0.0], [1.0, 0.0], [1.0, 0.17], [0.0, 0.17]]
    zones:
      - id: schlange
        name: Schlange
        polygon: [[0.0, 0.3], [1.0, 0.3], [1.0, 1.0], [0.0, 1.0]]
"""
PICTURE = [(0.0, 1.0), (1.0, 1.0), (1.0, 0.2), (0.0, 0.2)]


def _mapping(floor: list[tuple[float, float]]) -> np.ndarray:
    return cv2.getPerspectiveTransform(np.float32(PICTURE), np.float32(floor)).astype(np.float64)


# The entrance camera looks in from the south, the counter camera from the east: their views meet.
ENTRANCE = _mapping([(5.0, 15.0), (11.0, 15.0), (20.0, 1.0), (-3.0, 1.0)])
COUNTER = _mapping([(25.0, 12.0), (25.0, 5.0), (10.0, -1.0), (10.0, 18.0)])
ROOM = [(1.0, 2.0), (23.0, 2.0), (23.0, 14.0), (1.0, 14.0)]
ENTRANCE_MARKS = [(0.12, 0.92), (0.5, 0.96), (0.88, 0.9), (0.8, 0.42), (0.48, 0.3), (0.2, 0.45)]
COUNTER_MARKS = [(x, y) for y in (0.3, 0.5, 0.7, 0.92) for x in (0.1, 0.37, 0.63, 0.9)]


def _on_grid(points: np.ndarray) -> list[tuple[float, float]]:
    return [(round(float(x) * 20) / 20, round(float(y) * 20) / 20) for x, y in points]


def _bent(floor: list[tuple[float, float]], marks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The counter camera's marks as a plan measured wrongly (a wave no homography makes): the first
    bend whose fit is warned about for its residual alone, without a pair left out as an outlier."""
    picture = np.asarray(marks)
    wave = np.cos(2 * np.pi * picture[:, 0]) * np.cos(2 * np.pi * picture[:, 1])
    for axis in (1, 0):
        for bend in np.arange(0.4, 0.9, 0.05):
            bent = np.asarray(floor, np.float64)
            bent[:, axis] += bend * wave
            points = _on_grid(bent)
            fit = fit_floor(marks, points)
            if fit.warning is not None and fit.inliers.all():
                return points
    raise AssertionError("no bend gives a residual warning without outliers")


def _type_pair(page: Any, index: int, floor: tuple[float, float]) -> None:
    row = page.locator("#pairs tbody tr").nth(index)
    row.locator(".fx").fill(f"{floor[0]:g}")
    row.locator(".fy").fill(f"{floor[1]:g}")


def _shots(browser: Any, url: str, size: dict[str, int], locale: str) -> None:
    label = f"{size['width']}x{size['height']}"
    page = browser.new_page(viewport=size, locale=locale)
    page.set_default_timeout(60000)
    page.goto(url)
    page.wait_for_selector('article.zone[data-count]:not([data-count=""])', timeout=120000)
    page.click("#mode-floor")
    page.wait_for_selector("#plan:not([hidden])")
    draw_room(page, ROOM, "wartebereich-eg", "Wartebereich EG" if locale.startswith("de") else "Waiting room")
    entrance_floor = _on_grid(to_floor(ENTRANCE, ENTRANCE_MARKS))
    for picture, floor in zip(ENTRANCE_MARKS, entrance_floor, strict=True):
        click_picture(page, picture)
        click_plan(page, floor)
    fit_shown(page, "eingang", len(ENTRANCE_MARKS))
    page.locator("#pairs tbody tr").nth(3).dispatch_event(
        "pointerdown"
    )  # one pair chosen: ringed in both views
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / f"setup-floor-calibration-{label}.png"))

    page.click('nav button[data-camera="schalter"]')
    page.wait_for_timeout(1500)  # its picture
    counter_floor = _on_grid(to_floor(COUNTER, COUNTER_MARKS))
    for i, (picture, floor) in enumerate(zip(COUNTER_MARKS, counter_floor, strict=True)):
        click_picture(page, picture)
        _type_pair(page, i, floor)
    fit_shown(page, "schalter", len(COUNTER_MARKS))
    page.wait_for_function("() => document.querySelector('#plan').dataset.overlaps === '1'")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / f"setup-floor-plan-{label}.png"))

    for i, floor in enumerate(_bent(counter_floor, COUNTER_MARKS)):
        _type_pair(page, i, floor)
    page.wait_for_selector("#fitline.warn")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / f"setup-floor-warning-{label}.png"))
    page.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    video = REPO / ".cache" / "vtest.avi"
    sizes = [({"width": 1280, "height": 800}, "de-DE"), ({"width": 1024, "height": 768}, "en-US")]
    with tempfile.TemporaryDirectory() as folder, playwright() as driver:
        browser = launch(driver, CHROMIUM_ARGS)
        for size, locale in sizes:  # a fresh session each: the page starts from the file
            site = Path(folder) / "site.yaml"
            site.write_text(SITE.format(video=video), encoding="utf-8")
            session = SetupSession(load_config(site), site)
            server = SetupServer("127.0.0.1", 0)
            session.start()
            server.start(session)
            try:
                _shots(browser, server.url, size, locale)
            finally:
                server.stop()
                session.stop()
        browser.close()
    for shot in sorted(OUT.glob("setup-floor-*.png")):
        print(shot.relative_to(REPO))


if __name__ == "__main__":
    main()
