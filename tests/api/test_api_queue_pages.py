"""The queue figures on the pages, in Chromium: the counters with one tap down or up, the advice
and the calm early-warning banner at reception; the weekly schedule, counters needed and the
forecast on the lead page. The store holds simulated past days (api/simulated.py) so that the
forecast shows. Screenshots in German and English at 1280x800 and 1024x768 go to out/screens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from api_support import DESK, DESK_HEADERS, LEAD, FakeEdge, RunningClock, Site

from api.domain import ZoneKey
from api.readings import MinuteRow
from api.simulated import seed
from api.storage import Storage
from tests.browser import contrast_problems, shoot
from tests.support import wait_for

pytestmark = pytest.mark.browser

SIZES = {"1280x800": {"width": 1280, "height": 800}, "1024x768": {"width": 1024, "height": 768}}
NAMES = {("entrance", "waiting"): "Wartebereich Süd", ("entrance", "queue"): "Schlange"}
KEY = ZoneKey("north", "entrance", "waiting")
RULE = {"raise_level": 10, "clear_level": 4, "min_above_s": 60, "min_below_s": 60, "cooldown_s": 300}
COUNTERS = "/api/v1/zones/north/entrance/waiting/counters"
BERLIN = ZoneInfo("Europe/Berlin")
# A Tuesday morning: the simulated profile's busiest hour follows (48 arrivals an hour against 30
# served), so the forecast crosses the raise level. At some other instants (15:00, a quieter hour
# ahead) it does not: the fixture must not depend on when the suite runs.
BUSY_MORNING = datetime(2026, 11, 24, 9, 40, tzinfo=BERLIN).timestamp()


def _busy_site(make_site: Callable[..., Site], fake_edge: FakeEdge, tmp_path: Path, extra: float) -> Site:
    """8 people waiting (raise level 10), simulated past days with 4 counters, 3 open now: the
    forecast rises, more counters are needed; `extra` more arrivals a minute in the last half hour."""
    clock = RunningClock(BUSY_MORNING)
    storage = Storage.open(tmp_path / "api.sqlite3")  # the database make_site's settings name
    seed(storage, KEY, clock.now(), 8, 4, BERLIN)
    now = int(clock.now() - clock.now() % 60)
    with storage.transaction():  # a stored minute written again adds up
        storage.save_readings(
            [
                MinuteRow(KEY, minute, 0.0, 0, None, None, extra, 0.0, None)
                for minute in range(now - 1800, now, 60)
            ]
        )
    storage.close()
    fake_edge.clock = clock  # the edge's frames and the API on one clock
    site = make_site(NAMES, clock=clock)
    site.edge.set({("entrance", "waiting"): 8, ("entrance", "queue"): 1})
    site.rule("entrance/waiting", RULE)
    site.rule("entrance/queue", {**RULE, "raise_level": 30})
    with httpx.Client(base_url=site.server.url, headers=DESK_HEADERS) as client:
        client.put(COUNTERS, json={"counters": 3}).raise_for_status()
    wait_for(lambda: site.zone("entrance/waiting")["state"] == "warning", 15, "the early warning")
    return site


@pytest.fixture
def busy_site(make_site: Callable[..., Site], fake_edge: FakeEdge, tmp_path: Path) -> Site:
    return _busy_site(make_site, fake_edge, tmp_path, 0.0)


@pytest.fixture
def surging_site(make_site: Callable[..., Site], fake_edge: FakeEdge, tmp_path: Path) -> Site:
    """The busy morning, and one more a minute than usual came in the last half hour."""
    return _busy_site(make_site, fake_edge, tmp_path, 1.0)


def page_for(browser: Any, site: Site, path: str, token: str, lang: str) -> Any:
    page = browser.new_page(viewport=SIZES["1280x800"], locale="de-DE")
    page.set_default_timeout(15000)
    page.goto(f"{site.server.url}/{path}?lang={lang}#token={token}")
    return page


def shoot_readable(page: Any, name: str) -> None:
    """Screenshots at each size, once the page's text contrast passes at each."""
    for size in SIZES.values():
        page.set_viewport_size(size)
        page.wait_for_timeout(200)
        assert contrast_problems(page) == []
    shoot(page, name, SIZES)


def test_reception_shows_the_warning_the_advice_and_sets_counters(browser: Any, busy_site: Site) -> None:
    zone = busy_site.zone("entrance/waiting")
    assert zone["counters_needed"] > zone["counters_open"] == 3
    for lang, banner, advice in (
        ("de", "Bald voll: Wartebereich Süd", "Schalter mehr öffnen"),
        ("en", "Filling up: Wartebereich Süd", "more counter"),
    ):
        page = page_for(browser, busy_site, "reception", DESK, lang)
        try:
            page.wait_for_selector('.alert-line[data-kind="warning"]')
            card = page.locator('article.zone[data-zone="north/entrance/waiting"]')
            assert banner in page.locator('.alert-line[data-kind="warning"]').inner_text()
            assert advice in card.locator(".advice").inner_text()
            assert card.locator(".counters .open").inner_text() == "3"
            quiet = page.locator('article.zone[data-zone="north/entrance/queue"]')
            assert quiet.get_attribute("data-state") == "ok"
            for size in SIZES.values():
                page.set_viewport_size(size)
                page.wait_for_timeout(200)
                assert contrast_problems(page) == []
                assert card.locator(".counters").is_visible() and card.locator(".count").is_visible()
            shoot(page, f"reception-warning-{lang}", SIZES)
        finally:
            page.close()
    page = page_for(browser, busy_site, "reception", DESK, "de")
    try:
        card = page.locator('article.zone[data-zone="north/entrance/waiting"]')
        card.locator(".counters .plus").click()
        page.wait_for_function(
            "() => document.querySelector('article.zone[data-zone=\"north/entrance/waiting\"] .open')"
            ".textContent === '4'"
        )
        card.locator(".counters .minus").click()
        page.wait_for_function(
            "() => document.querySelector('article.zone[data-zone=\"north/entrance/waiting\"] .open')"
            ".textContent === '3'"
        )
    finally:
        page.close()
    with httpx.Client(base_url=busy_site.server.url, headers=DESK_HEADERS) as client:
        history = client.get(COUNTERS + "/history").json()
    assert [(h["set_by"], h["counters"]) for h in history[:3]] == [("desk", 3), ("desk", 4), ("desk", 3)]


def test_reception_enters_the_first_counters_before_any_schedule(
    browser: Any, make_site: Callable[..., Site]
) -> None:
    """A zone with a rule but no counters, schedule or forecast yet offers - / + where its card has
    room; a zone without a rule has nothing to staff."""
    site = make_site(NAMES)
    site.edge.set({("entrance", "waiting"): 4, ("entrance", "queue"): 1})
    site.rule("entrance/waiting", RULE)
    wait_for(lambda: site.zone("entrance/waiting")["raise_level"] == 10, 10, "the rule")
    assert site.zone("entrance/waiting")["counters_open"] is None
    page = page_for(browser, site, "reception", DESK, "de")
    try:
        card = page.locator('article.zone[data-zone="north/entrance/waiting"]')
        card.locator(".counters").wait_for()
        assert card.locator(".counters .open").inner_text() == "\N{EN DASH}"
        assert card.locator(".counters .minus").is_disabled()
        assert page.locator('article.zone[data-zone="north/entrance/queue"] .counters').is_hidden()
        card.locator(".counters .plus").click()
        wait_for(lambda: site.zone("entrance/waiting")["counters_open"] == 1, 10, "the first counter")
        card.locator(".counters .open", has_text="1").wait_for()
        assert contrast_problems(page) == []
    finally:
        page.close()


def test_lead_page_shows_counters_forecast_and_saves_a_schedule(browser: Any, busy_site: Site) -> None:
    def next_hour() -> str:  # the counters the API gives the next four quarter hours
        steps = busy_site.zone("entrance/waiting")["forecast"]["counters_by_step"][:4]
        return " · ".join(str(step["counters"]) for step in steps)

    def pace(decimal_mark: str) -> str:  # the API's service rate, one decimal at most, as the page writes it
        per_hour = busy_site.zone("entrance/waiting")["forecast"]["service_rate_per_hour"]
        tenths = Decimal(str(per_hour)).quantize(Decimal("0.1"), ROUND_HALF_UP)  # as Intl rounds
        return str(tenths).removesuffix(".0").replace(".", decimal_mark)

    for lang, state, advice, forecast, ahead, paced in (
        ("de", "bald voll", "mehr öffnen", "in 30 Min.:", "nächste Stunde: {} Schalter (je ¼\u00a0Std. ab ",
         "je Schalter {} Aufrufe pro Std."),
        ("en", "filling up", "open ", "in 30 min:", "next hour: {} counters (each ¼\u00a0h from ",
         "each counter serves {} an hour"),
    ):  # fmt: skip
        page = page_for(browser, busy_site, "lead", LEAD, lang)
        try:
            row = page.locator('#zones tr[data-zone="north/entrance/waiting"]')
            row.locator("td.counters .advice").wait_for()
            assert state in row.inner_text()
            assert advice in row.locator("td.counters .advice").inner_text()
            assert forecast in row.locator("td.forecast .outlook").inner_text()
            cell = row.locator("td.forecast .ahead")
            wait_for(lambda c=cell, a=ahead: a.format(next_hour()) in c.inner_text(), 15, "the next hour")
            paced_cell = row.locator("td.counters .pace")
            mark = "," if lang == "de" else "."
            wait_for(
                lambda c=paced_cell, p=paced, m=mark: c.inner_text() == p.format(pace(m)), 15, "the pace"
            )
            assert "erwartet" not in row.inner_text() and "expected" not in row.inner_text()  # no surge
            row.locator("button.plan").click()
            page.locator('#schedule-days .day[data-day="monday"] button.add').click()
            page.locator('#schedule-days .day[data-day="friday"] button.add').click()
            shoot_readable(page, f"lead-counters-{lang}")
        finally:
            page.close()
    page = page_for(browser, busy_site, "lead", LEAD, "en")
    try:
        page.locator('#zones tr[data-zone="north/entrance/waiting"] button.plan').click()
        page.locator('#schedule-days .day[data-day="tuesday"] button.add').click()
        page.locator('#schedule-days .day[data-day="tuesday"] input.counters').fill("-1")
        page.locator("#schedule-save").click()
        page.wait_for_selector("#schedule-message.error")
        assert "tuesday[0].counters" in page.locator("#schedule-message").inner_text()
        page.locator('#schedule-days .day[data-day="tuesday"] input.counters').fill("4")
        page.locator("#schedule-save").click()
        page.wait_for_selector("#schedule-message.ok")
    finally:
        page.close()
    with httpx.Client(base_url=busy_site.server.url, headers=DESK_HEADERS) as client:
        saved = client.get(COUNTERS).json()["schedule"]
    assert saved["set_by"] == "lead"
    assert saved["schedule"]["tuesday"] == [{"start": "08:00", "end": "12:00", "counters": 4}]


def test_lead_page_names_a_surge(browser: Any, surging_site: Site) -> None:
    """The half hour ahead follows a surge (api/forecast.py surge_ratio): the lead sees why the
    forecast and the counters needed jumped (without one it says nothing of it,
    test_lead_page_shows_counters_forecast_and_saves_a_schedule)."""
    forecast = surging_site.zone("entrance/waiting")["forecast"]
    assert forecast["surge_ratio"] > 1.3

    def arrivals() -> int:  # the half hour ahead at the surge's rate, as the occupancy forecast has it
        return round(surging_site.zone("entrance/waiting")["forecast"]["arrivals_in_30_min"])

    for lang, said, arriving in (
        ("de", "so viele wie erwartet", "Ankünfte"),
        ("en", "as many as expected", "arrivals"),
    ):
        page = page_for(browser, surging_site, "lead", LEAD, lang)
        try:
            cell = page.locator('#zones tr[data-zone="north/entrance/waiting"] td.forecast')
            cell.wait_for()
            wait_for(lambda cell=cell, said=said: said in cell.inner_text(), 15, "the surge")
            wait_for(
                lambda cell=cell, arriving=arriving: f" {arrivals()} {arriving}" in cell.inner_text(),
                15,
                "the arrivals the forecast runs on",
            )
            shoot_readable(page, f"lead-surge-{lang}")
        finally:
            page.close()
