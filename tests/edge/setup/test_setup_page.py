"""`wartezone setup` as an installer uses it: the command on the sample video, its page in Chromium.
Without the token nothing; with it, a zone drawn by clicks, named (umlauts), a wrong id named on its
card, saved into the YAML with its comments kept; the page's live count equals what the camera's own
pipeline counts on the same frame; a camera that is not there says so; no request leaves the origin."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.config import load_config
from edge.detect import build_detector
from edge.pipeline import CameraPipeline
from edge.runner import CameraRunner
from edge.sources import FileSource
from edge.sources.base import Frame
from tests.conftest import REPO
from tests.edge.setup.conftest import SITE_YAML, Running
from tests.support import free_port, wait_for

pytestmark = pytest.mark.browser

SITE = """\
# the campus footpath, as an installer finds it
site: campus
metrics: {{port: 0}}
cameras:
  - id: path          # over the footpath
    source: {{type: file, path: {video}}}
    fps: 2
    privacy_masks:
      - [[0.0, 0.0], [1.0, 0.0], [1.0, 0.17], [0.0, 0.17]]   # office windows: never analysed
    zones:
      - id: path-west
        polygon: [[0.0, 0.26], [0.5, 0.26], [0.5, 0.62], [0.0, 0.45]]
  - id: gate          # not installed yet
    source: {{type: rtsp, url: "rtsp://127.0.0.1:{port}/cam", open_timeout_s: 2}}
    zones:
      - id: all
        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
"""
# Corners of the zone drawn by clicks (fractions of the picture): the path's eastern half.
CLICKS = [(0.5, 0.42), (0.98, 0.36), (0.98, 0.95), (0.5, 0.95)]


@pytest.fixture
def setup_command(demo_video: Path, tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """`wartezone setup -c site.yaml --port 0` running; its printed address."""
    site = tmp_path / "site.yaml"
    site.write_text(SITE.format(video=demo_video, port=free_port()), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "setup", "-c", str(site), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"open (http://127\.0\.0\.1:\d+/#token=\S+)", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        yield found.group(1), site, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read()


def _frame_at(video: Path, time_s: float) -> Frame:
    """The video's frame with this timestamp, as the camera delivered it to the setup."""
    source = FileSource(video)
    try:
        for pending in source.frames():
            if abs(pending.time_s - time_s) < 1e-6:
                frame = pending.decode()
                assert frame is not None
                return frame
    finally:
        source.close()
    raise AssertionError(f"no frame at {time_s} s in {video}")


def _watch(page: Any, faults: list[str]) -> None:
    """Collects what the page's policy refused (inline script or style, another origin) and every
    uncaught script error, in `faults`."""
    page.on("pageerror", lambda error: faults.append(f"script error: {error}"))
    page.on("console", lambda message: _refused(message.text, faults))


def _refused(text: str, faults: list[str]) -> None:
    if "Content Security Policy" in text:
        faults.append(text)


def test_draw_name_and_save_a_zone_whose_live_count_is_the_pipelines(
    browser: Any, setup_command: tuple[str, Path, subprocess.Popen[str]], demo_video: Path, tmp_path: Path
) -> None:
    url, site, process = setup_command
    base = url.split("/#", 1)[0]
    original = site.read_text(encoding="utf-8")
    requests: list[str] = []
    faults: list[str] = []

    # Without the token: the page asks for the printed address, and shows nothing.
    page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="de-DE")
    page.set_default_timeout(30000)
    _watch(page, faults)
    page.goto(base + "/")
    page.wait_for_selector("#notice.bad")
    assert "die „wartezone setup“ ausgegeben hat" in page.inner_text("#notice")
    assert page.locator("#canvas").is_hidden()
    page.close()

    page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="de-DE")
    page.set_default_timeout(30000)
    page.on("request", lambda request: requests.append(request.url))
    _watch(page, faults)
    page.goto(url)
    page.wait_for_selector('article.zone[data-zone-card="path-west"][data-count]:not([data-count=""])')
    assert "token" not in page.url  # taken out of the address bar
    assert "Live" in page.inner_text("#camstate .chip")

    # Draw a zone by clicks: four corners, then the first one again closes it.
    page.click("#tool-zone")
    box = page.locator("#canvas").bounding_box()
    for x, y in [*CLICKS, CLICKS[0]]:
        page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    card = page.locator('article.zone[data-key]:not([data-zone-card="path-west"])')
    card.wait_for()
    assert card.get_attribute("data-zone-card") == "zone-2"

    # A wrong id is named on its card; then the right one, a display name and the loitering limit.
    card.locator(".zid").fill("Warte Ost")
    page.wait_for_selector('article.zone .zid[aria-invalid="true"]')
    assert "lower-case letters" in card.locator(".problem").inner_text()
    card.locator(".zid").fill("wartebereich-ost")
    card.locator(".zname").fill("Wartebereich Süd")
    card.locator(".zloiter").fill("900")
    page.wait_for_selector('article.zone[data-zone-card="wartebereich-ost"][data-count]:not([data-count=""])')
    assert card.locator(".problem").inner_text() == ""

    # Hold the picture, then read its frame's time and the counts in one go (never from two frames).
    page.click("#hold")
    page.wait_for_selector("#camstate .chip.held")
    page.wait_for_timeout(1500)  # a frame taken just before the hold is still counted
    page.wait_for_selector('article.zone[data-zone-card="wartebereich-ost"][data-count]:not([data-count=""])')
    shown = page.evaluate(
        """() => ({
            time: document.querySelector("#canvas").dataset.frameTime,
            west: document.querySelector('[data-zone-card="path-west"]').dataset.count,
            east: document.querySelector('[data-zone-card="wartebereich-ost"]').dataset.count,
        })"""
    )

    version = page.evaluate("() => document.querySelector('#canvas').dataset.version")

    page.click("#save")
    page.wait_for_selector("#notice.ok")
    assert "Gespeichert in site.yaml (vorher: site.yaml.bak)" in page.inner_text("#notice")
    page.screenshot(path=str(tmp_path / "setup.png"))
    (REPO / "out").mkdir(exist_ok=True)
    shutil.copy(tmp_path / "setup.png", REPO / "out" / "setup.png")

    # The file: the zone as drawn and named, every comment and the other camera as they were.
    text = site.read_text(encoding="utf-8")
    assert site.with_name("site.yaml.bak").read_text(encoding="utf-8") == original
    for line in original.splitlines():
        assert line in text, line
    config = load_config(site)
    zones = {z.id: z for z in config.cameras[0].zones}
    drawn = zones["wartebereich-ost"]
    assert (drawn.name, drawn.loiter_limit_s) == ("Wartebereich Süd", 900)
    assert [p for point in drawn.polygon for p in point] == pytest.approx(
        [p for point in CLICKS for p in point], abs=0.01
    )

    # The page's count is what the camera's pipeline counts on the same frame.
    camera = config.cameras[0]
    detector = build_detector(config.detector)
    pipeline = CameraPipeline(camera, detector, config.tracker, settings=config.detector)
    result = CameraRunner(camera, pipeline).analyse(_frame_at(demo_video, float(shown["time"])))
    assert result is not None
    counted = {r.zone: r.raw_count for r in result.zones}
    assert counted == {"path-west": int(shown["west"]), "wartebereich-ost": int(shown["east"])}
    assert sum(counted.values()) > 0  # people were there to be counted

    # A camera that cannot be reached says so, with the cause.
    page.click('nav button[data-camera="gate"]')
    page.wait_for_selector("#camstate .chip.bad")
    assert page.inner_text("#camstate .chip") == "Kamera nicht erreichbar"
    assert "connection refused" in page.inner_text("#camstate .details")

    # The page asked its own origin only; a request without the token gets no picture.
    assert requests and all(r.startswith(base + "/") or r.startswith("blob:") for r in requests), requests
    status, kind, body = _get(f"{base}/api/picture/path?version={version}")
    assert (status, kind) == (401, "application/json") and b"\xff\xd8\xff" not in body
    # The page's own style and script ran as written: nothing refused by its policy, no script error.
    assert faults == []
    page.close()

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


def _server_layout(running: Running) -> dict[str, Any]:
    layout: dict[str, Any] = running.camera()["layout"]
    return layout


def test_masks_by_touch_moving_deleting_and_the_states_that_are_not_calm(
    browser: Any, running: Running
) -> None:
    """The in-process page (fake detector): a mask drawn by taps, a zone's corner dragged, shapes
    deleted; no zone left is named and cannot be saved; the setup process gone reads as such."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US", has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(f"{running.base}/#token={running.server.token}")
    page.wait_for_selector('article.zone[data-zone-card="waiting"][data-count="1"]')
    box = page.locator("#canvas").bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    # A mask by taps: three corners and the first again.
    page.click("#tool-mask")
    for x, y in [(0.6, 0.3), (0.9, 0.3), (0.9, 0.6), (0.6, 0.3)]:
        page.touchscreen.tap(*at(x, y))
    wait_for(lambda: len(_server_layout(running)["privacy_masks"]) == 2, 10, "the tapped mask on the server")
    mask = _server_layout(running)["privacy_masks"][1]
    assert [p for point in mask for p in point] == pytest.approx([0.6, 0.3, 0.9, 0.3, 0.9, 0.6], abs=0.01)
    assert page.locator("#masks article.mask").count() == 2

    # Drag the zone's corner at (0.5, 0.2) to (0.6, 0.25).
    page.mouse.click(*at(0.25, 0.6))  # select the zone
    page.mouse.move(*at(0.5, 0.2))
    page.mouse.down()
    page.mouse.move(*at(0.6, 0.25), steps=5)
    page.mouse.up()
    wait_for(
        lambda: _server_layout(running)["zones"][0]["polygon"][1] == pytest.approx([0.6, 0.25], abs=0.01),
        10,
        "the moved corner on the server",
    )

    # Delete the mask (tap it, then Delete) and the only zone (its card's button): named, not saved.
    page.touchscreen.tap(*at(0.85, 0.5))
    page.click("#delete")
    wait_for(lambda: len(_server_layout(running)["privacy_masks"]) == 1, 10, "the mask deleted on the server")
    page.click("article.zone .zdelete")
    page.wait_for_selector("#zones .empty")
    page.wait_for_selector("#checks li.bad")
    assert "cameras[0].zones" in page.inner_text("#checks")
    page.click("#save")
    page.wait_for_selector("#notice.bad")
    assert "Not saved" in page.inner_text("#notice") and "cameras[0].zones" in page.inner_text("#notice")
    assert running.path.read_text(encoding="utf-8") == SITE_YAML
    assert page.inner_text("#unsaved") == "Not saved"

    # The setup process gone: the page says so instead of showing a calm picture.
    running.server.stop()
    page.wait_for_selector("#camstate .chip.bad")
    assert "No connection to 'wartezone setup'" in page.inner_text("#camstate .chip")
    context.close()
