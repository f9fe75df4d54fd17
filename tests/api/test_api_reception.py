"""The reception page in real Chromium: login, banner and beep on firing, acknowledge, camera down,
reconnecting by itself when the API restarts. Occupancy comes from a fake edge /metrics page."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import DESK, DESK_HEADERS, LEAD_HEADERS, FakeEdge, ServerThread

from api.app import create_app
from api.settings import Settings
from tests.conftest import need, need_module

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",  # the kiosk's setting; else a click enables sound
]
RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 2, "min_below_s": 0, "cooldown_s": 60}


@pytest.fixture
def browser() -> Iterator[Any]:
    need(CHROMIUM, "scripts/setup.sh --dev installs Debian's chromium")
    sync_api: Any = need_module("playwright.sync_api", "scripts/setup.sh --dev installs playwright")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_reception_page(
    browser: Any, make_settings: Callable[..., Settings], fake_edge: FakeEdge, tmp_path: Path
) -> None:
    settings = make_settings(input={"targets": [fake_edge.url], "interval_s": 0.2})
    fake_edge.set(
        {("entrance", "waiting"): 3, ("entrance", "queue"): 1}, up={"entrance": True, "hall": False}
    )
    server = ServerThread(create_app(settings)).start()
    page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="de-DE")
    page.set_default_timeout(15000)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for zone in ("entrance/waiting", "hall/bench"):
                client.put(f"/api/v1/rules/north/{zone}", json=RULE, headers=LEAD_HEADERS)

        # Without a login: the login form; with the desk token: the reception screen.
        page.goto(f"{server.url}/reception")
        page.fill("#token", DESK)
        page.click("#submit")
        page.wait_for_selector('#connection[data-connected="true"]')
        waiting = page.locator('article.zone[data-zone="north/entrance/waiting"]')
        waiting.locator(".count", has_text="3").wait_for()
        assert "Grenze 5" in waiting.inner_text()

        # Camera down is shown as such, with no number.
        bench = page.locator('article.zone[data-zone="north/hall/bench"]')
        bench.locator(".down", has_text="Kamera ausgefallen").wait_for()
        assert bench.get_attribute("data-state") == "unknown"
        assert bench.locator(".count").count() == 0

        # Crowded for longer than min_above_s: the banner, and the beep.
        fake_edge.set(
            {("entrance", "waiting"): 7, ("entrance", "queue"): 1}, up={"entrance": True, "hall": False}
        )
        page.wait_for_selector("#banner.firing")
        assert "Zu voll: waiting \N{EN DASH} 7 Personen (Grenze 5)" in page.inner_text("#banner")
        assert waiting.get_attribute("data-state") == "firing"
        assert page.evaluate("window.wzBeeps") >= 1
        page.screenshot(path=str(tmp_path / "reception.png"), full_page=True)
        (REPO / "out").mkdir(exist_ok=True)
        shutil.copy(tmp_path / "reception.png", REPO / "out" / "reception.png")

        # Acknowledge from the page.
        page.click("#banner button.ack")
        page.wait_for_selector("#banner.acknowledged")
        assert "Gesehen um" in page.inner_text("#banner")
        with httpx.Client(base_url=server.url, headers=DESK_HEADERS, timeout=10) as client:
            zone = client.get("/api/v1/zones/north/entrance/waiting").json()
        assert zone["state"] == "acknowledged" and zone["alert"]["acknowledged_by"] == "desk"

        # English at a click.
        page.click("#lang")
        bench.locator(".down", has_text="Camera down").wait_for()
        assert "Acknowledged at" in page.inner_text("#banner")
        page.screenshot(path=str(tmp_path / "reception-acknowledged-en.png"), full_page=True)

        # The API restarts: the page says it lost the connection, then reconnects by itself.
        server.stop()
        page.wait_for_selector('#connection[data-connected="false"]')
        page.wait_for_selector("#banner.offline")
        server = ServerThread(create_app(settings), port=server.port).start()
        page.wait_for_selector('#connection[data-connected="true"]', timeout=20000)
        page.wait_for_selector("#banner.acknowledged")  # the stored alert, read back
    finally:
        page.close()
        server.stop()
