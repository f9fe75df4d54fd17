"""The branch lead's page in real Chromium: the zones the edge reports (no typed ids), a rule with
opening hours set in the form and followed by an open reception page without a reload, the API's
validation in German and English, zones that disappeared removed, the test alarm, the alert history
with its acknowledgement. Screenshots go to out/screens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_support import DESK, LEAD, FakeEdge, RunningClock, Site, client_for

from tests.browser import DESKTOP, REPO, shoot
from tests.support import wait_for

pytestmark = pytest.mark.browser

DASH = "\N{EN DASH}"
# A 10" tablet, the smaller tablet, a phone: the sizes the lead page must fit without sideways scrolling.
LEAD_SIZES = {
    "1280x800": {"width": 1280, "height": 800},
    "1024x768": {"width": 1024, "height": 768},
    "390x844": {"width": 390, "height": 844},
}
DOCS_SCREENS = REPO / "docs" / "screenshots"
# What sticks out: the page wider than the window, a card that scrolls sideways, a button, input or
# table past its card's edge.
OVERFLOW_JS = """() => {
  const out = [];
  const page = document.scrollingElement.scrollWidth;
  if (page > innerWidth) out.push(`page ${page} > ${innerWidth}`);
  for (const section of document.querySelectorAll("section:not([hidden])")) {
    const box = section.getBoundingClientRect();
    if (section.scrollWidth > section.clientWidth) out.push(`${section.id} scrolls ${section.scrollWidth}`);
    for (const node of section.querySelectorAll("button, table, input")) {
      const r = node.getBoundingClientRect();
      if (r.width && (r.right > box.right + 0.5 || r.left < box.left - 0.5))
        out.push(`${section.id} ${node.id || node.className || node.tagName} ${r.left}..${r.right}`);
    }
  }
  return out;
}"""
NAMES = {("entrance", "waiting"): "Wartebereich Süd", ("entrance", "queue"): "Schlange"}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


def lead_page(browser: Any, site: Site, locale: str = "de-DE") -> Any:
    """The lead's page, logged in through its login form."""
    page = browser.new_page(viewport=DESKTOP, locale=locale)
    page.set_default_timeout(15000)
    page.goto(f"{site.server.url}/lead")
    assert page.inner_text("#hint").startswith("Diese Seite braucht den Schlüssel der Leitung")
    page.fill("#token", LEAD)
    page.click("#submit")
    page.wait_for_selector('#connection[data-state="live"]')
    return page


def reception_page(browser: Any, site: Site) -> Any:
    page = browser.new_page(viewport=DESKTOP, locale="de-DE")
    page.set_default_timeout(15000)
    page.goto(f"{site.server.url}/reception#token={DESK}")
    page.wait_for_selector('#connection[data-connected="true"]')
    page.evaluate("window.stayed = true")  # gone if the page were loaded again
    return page


def row(page: Any, zone: str) -> Any:
    return page.locator(f'#zones tr[data-zone="north/entrance/{zone}"]')


def fill_rule(page: Any, **values: object) -> None:
    for field, value in values.items():
        page.fill(f"#{field}", str(value))


def test_a_rule_with_opening_hours_set_on_the_lead_page_reaches_reception(
    browser: Any, make_site: Callable[..., Site], fake_edge: FakeEdge
) -> None:
    clock = RunningClock(WEDNESDAY_NOON)  # "today" stays one day while the test runs, whenever it runs
    fake_edge.clock = clock
    site = make_site(NAMES, clock=clock)
    site.edge.set({("entrance", "waiting"): 7, ("entrance", "queue"): 1})
    lead = lead_page(browser, site)
    desk = reception_page(browser, site)
    try:
        # The zones the edge reports, by their display names; nothing typed.
        names = lead.eval_on_selector_all("#zones tbody tr .name", "(n) => n.map((x) => x.textContent)")
        assert names == ["Schlange", "Wartebereich Süd"]
        assert row(lead, "waiting").locator(".rule").inner_text() == "keine Regel"
        waiting = desk.locator('article.zone[data-zone="north/entrance/waiting"]')
        assert waiting.locator(".limit").inner_text() == "keine Alarmgrenze gesetzt"

        # A rule open today all day, but today is a closed date: reception says closed, no alert.
        berlin = datetime.fromtimestamp(clock.now(), ZoneInfo(site.settings.timezone))
        today = WEEKDAYS[berlin.weekday()]
        row(lead, "waiting").locator("button.edit").click()
        assert lead.inner_text("#editor-title") == "Regel für Wartebereich Süd"
        assert lead.inner_text("#display-name") == "Wartebereich Süd"
        fill_rule(lead, raise_level=5, clear_level=2, min_above_s=0, min_below_s=0, cooldown_s=0)
        lead.check("#use-hours")
        lead.click(f'#hours .day[data-day="{today}"] button.add')
        lead.fill(f'#hours .day[data-day="{today}"] [data-field="start"]', "00:00")
        lead.fill(f'#hours .day[data-day="{today}"] [data-field="end"]', "00:00")
        lead.click("#closed-dates button.add")
        lead.fill("#closed-dates input", berlin.date().isoformat())
        lead.click("#save")
        lead.wait_for_selector("#form-message.ok")
        desk.locator('article.zone[data-zone="north/entrance/waiting"][data-look="closed"]').wait_for()
        assert waiting.locator(".badge .word").inner_text() == "Geschlossen"
        assert waiting.locator(".status").inner_text() == "kein Alarm"
        row(lead, "waiting").locator(".id", has_text="geschlossen").wait_for()
        assert waiting.locator(".limit").inner_text() == "Alarmgrenze 5"
        assert desk.locator("#banner").inner_text() == ""
        shoot(lead, "lead")

        # Not closed today any more: the zone is over its limit, and reception alerts at once.
        lead.click("#closed-dates .closed-date button")
        lead.click("#save")
        lead.wait_for_selector("#form-message.ok")
        desk.wait_for_selector("#banner.firing")
        assert desk.inner_text("#banner").startswith(f"Zu voll: Wartebereich Süd {DASH} 7 Personen")
        assert desk.evaluate("window.stayed === true")  # followed the rule without a reload
        with client_for(site) as client:
            rule = client.get("/api/v1/rules/north/entrance/waiting").json()
        assert rule["opening_hours"][today] == [{"start": "00:00", "end": "00:00"}]
        assert rule["opening_hours"]["closed_dates"] == []
        assert "Alarmgrenze 5, Entwarnung bei 2" in row(lead, "waiting").locator(".rule").inner_text()

        # The alert history, with its acknowledgement time and who acknowledged it.
        history = lead.locator("#history tbody tr").first
        history.wait_for()
        assert history.locator("td").first.inner_text() == "Wartebereich Süd"
        desk.click("#banner button.ack")
        history.locator(".acked", has_text="(Empfang)").wait_for()
        acked = history.locator(".acked").inner_text()
        assert acked[:2].isdigit() and acked.endswith("(Empfang)")
        shoot(lead, "lead-history")
    finally:
        lead.close()
        desk.close()


@pytest.mark.parametrize(
    ("values", "field", "german", "english"),
    [
        (
            {"raise_level": 0, "clear_level": 0},
            "body.raise_level",
            "mindestens 1",
            "greater than or equal to 1",
        ),
        ({"raise_level": 2.5, "clear_level": 1}, "body.raise_level", "eine ganze Zahl", "valid integer"),
        ({"raise_level": "", "clear_level": 1}, "body.raise_level", "Pflichtfeld", "Field required"),
        (
            {"raise_level": 5, "clear_level": 1, "cooldown_s": 100000},
            "body.cooldown_s",
            "höchstens 86400",
            "86400",
        ),
    ],
    ids=["below minimum", "fraction", "empty", "above maximum"],
)
def test_the_form_says_the_apis_problems_in_both_languages(
    browser: Any,
    make_site: Callable[..., Site],
    values: dict[str, object],
    field: str,
    german: str,
    english: str,
) -> None:
    site = make_site(NAMES)
    lead = lead_page(browser, site)
    try:
        row(lead, "queue").locator("button.edit").click()
        fill_rule(lead, **values)
        lead.click("#save")
        problem = lead.locator(f'.problem[data-for="{field}"]')
        problem.wait_for(state="visible")
        assert german in problem.inner_text()
        assert lead.inner_text("#form-message") == "Bitte die markierten Felder korrigieren."
        lead.click("#lang")
        assert english in problem.inner_text()
        with client_for(site) as client:
            assert client.get("/api/v1/rules").json() == []  # nothing stored
    finally:
        lead.close()


def test_opening_hours_problems_are_named_in_the_form(browser: Any, make_site: Callable[..., Site]) -> None:
    site = make_site(NAMES)
    lead = lead_page(browser, site)
    try:
        row(lead, "queue").locator("button.edit").click()
        fill_rule(lead, raise_level=5, clear_level=2)
        lead.check("#use-hours")
        lead.click('#hours .day[data-day="friday"] button.add')
        lead.fill('#hours .day[data-day="friday"] [data-field="end"]', "")  # left empty
        lead.click("#closed-dates button.add")
        lead.fill("#closed-dates input", "24.12.2025")  # the German way, not the API's
        lead.click("#save")
        problem = lead.locator('.problem[data-for="body.opening_hours"]')
        problem.wait_for(state="visible")
        assert problem.inner_text() == "eine Uhrzeit HH:MM; ein Datum JJJJ-MM-TT"
        lead.click("#lang")
        assert "should match pattern" in problem.inner_text() and "YYYY-MM-DD" in problem.inner_text()
    finally:
        lead.close()


def test_a_zone_that_disappeared_is_removed_from_both_pages(
    browser: Any, make_site: Callable[..., Site]
) -> None:
    site = make_site(NAMES)
    site.edge.set({("entrance", "waiting"): 2, ("entrance", "queue"): 1})
    site.rule("entrance/queue", {"raise_level": 5, "clear_level": 2})
    lead = lead_page(browser, site)
    desk = reception_page(browser, site)
    try:
        assert lead.locator("#gone-section").is_hidden()
        site.edge.names = {("entrance", "waiting"): "Wartebereich Süd"}  # renamed in the edge config
        site.edge.set({("entrance", "waiting"): 2})
        gone = lead.locator('#gone tr[data-zone="north/entrance/queue"]')
        gone.wait_for()
        assert gone.locator("strong").inner_text() == "Schlange"
        assert "zuletzt gemeldet" in gone.inner_text()
        assert row(lead, "queue").count() == 0
        shoot(lead, "lead-gone", {"1920x1080": DESKTOP})
        gone.locator("button.remove").click()
        lead.wait_for_selector("#gone-section", state="hidden")
        desk.wait_for_selector('article.zone[data-zone="north/entrance/queue"]', state="detached")
        assert desk.evaluate("window.stayed === true")
        with client_for(site) as client:
            assert client.get("/api/v1/rules").json() == []
    finally:
        lead.close()
        desk.close()


def test_the_test_alarm_reaches_reception(browser: Any, make_site: Callable[..., Site]) -> None:
    site = make_site(NAMES)
    site.edge.set({("entrance", "waiting"): 2, ("entrance", "queue"): 1})
    lead = lead_page(browser, site)
    desk = reception_page(browser, site)
    try:
        beeps = desk.evaluate("window.wzBeeps")
        row(lead, "queue").locator("button.test").click()
        line = desk.locator('.alert-line[data-kind="test"]')
        line.wait_for()
        assert line.locator("span").inner_text() == f"Probealarm: Schlange {DASH} nur ein Test, nichts zu tun"
        assert desk.evaluate("window.wzBeeps") == beeps + 1
        assert lead.inner_text("#test-message") == "Probealarm für Schlange gesendet (Empfang und Webhooks)."
        assert desk.locator("#banner").get_attribute("class") == "test"
        shoot(desk, "reception-test-alarm", {"1920x1080": DESKTOP})
        line.locator("button").click()  # OK
        line.wait_for(state="detached")
        with client_for(site) as client:
            [event] = client.get("/api/v1/events").json()
            assert (event["type"], event["zone"]) == ("alert.test", "queue")
            assert client.get("/api/v1/zones/north/entrance/queue").json()["state"] == "ok"
    finally:
        lead.close()
        desk.close()


def test_the_desks_token_does_not_open_the_lead_page(browser: Any, make_site: Callable[..., Site]) -> None:
    site = make_site(NAMES)
    page = browser.new_page(viewport=DESKTOP, locale="de-DE")
    try:
        page.goto(f"{site.server.url}/lead")
        page.fill("#token", DESK)
        page.click("#submit")
        page.locator("#error", has_text="Das ist der Schlüssel des Empfangs").wait_for()
        page.goto(f"{site.server.url}/lead")  # logged in as the desk now: still the login form
        assert page.locator("#login").is_visible() and page.locator("#zones").count() == 0
    finally:
        page.close()


@contextmanager
def counts_changing(site: Site, every_s: float = 1.0) -> Iterator[None]:
    """The edge reports new counts every `every_s` seconds until the block ends."""
    stop = threading.Event()

    def change() -> None:
        n = 0
        while not stop.wait(every_s):
            n += 1
            site.edge.set({("entrance", "waiting"): 3 + n % 4, ("entrance", "queue"): 1 + n % 3})

    thread = threading.Thread(target=change, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def test_clicks_held_while_counts_change_are_not_lost(browser: Any, make_site: Callable[..., Site]) -> None:
    site = make_site(NAMES)
    lead = lead_page(browser, site)
    try:
        button = row(lead, "queue").locator("button.test")
        box = button.bounding_box()
        with counts_changing(site):
            for _ in range(15):  # a click held 200 ms, as a hand on a tablet does
                lead.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                lead.mouse.down()
                lead.wait_for_timeout(200)
                lead.mouse.up()
                lead.wait_for_timeout(150)
        with client_for(site) as client:

            def test_alarms() -> int:
                return sum(e["type"] == "alert.test" for e in client.get("/api/v1/events").json())

            wait_for(lambda: test_alarms() >= 15, 5, "15 test alarms")
            assert test_alarms() == 15
    finally:
        lead.close()


@pytest.mark.parametrize("control", ["button.edit", "button.plan", "button.test"])
def test_keyboard_focus_stays_on_a_row_across_updates(
    browser: Any, make_site: Callable[..., Site], control: str
) -> None:
    site = make_site(NAMES)
    lead = lead_page(browser, site)
    try:
        row(lead, "waiting").locator(control).focus()
        before = lead.inner_text('#zones tr[data-zone="north/entrance/waiting"] .now')
        with counts_changing(site, 0.5):
            lead.wait_for_function(
                "(b) => document.querySelector('#zones tr[data-zone=\"north/entrance/waiting\"] .now')"
                ".textContent !== b",
                arg=before,
            )
            lead.wait_for_timeout(3000)
        focused = lead.evaluate(
            "[document.activeElement.className, document.activeElement.closest('tr')?.dataset.zone]"
        )
        assert focused == [control.split(".")[1], "north/entrance/waiting"]
    finally:
        lead.close()


def stored_rule(site: Site, zone: str) -> dict[str, Any] | None:
    with client_for(site) as client:
        response = client.get(f"/api/v1/rules/north/entrance/{zone}")
    if response.status_code == 404:
        return None
    rule = dict(response.json())
    rule.pop("updated_at")
    return rule


def shoot_docs(
    page: Any, name: str, sizes: dict[str, dict[str, int]] = LEAD_SIZES, show: str | None = None
) -> None:
    """The README's screenshots of the lead page: docs/screenshots/NAME-WxH.png, with `show` (a
    selector) in view."""
    for label, size in sizes.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(300)
        if show:
            page.locator(show).scroll_into_view_if_needed()
        page.screenshot(path=str(DOCS_SCREENS / f"{name}-{label}.png"))


def test_deleting_a_rule_asks_first_and_can_be_undone(browser: Any, make_site: Callable[..., Site]) -> None:
    site = make_site(NAMES)
    site.edge.set({("entrance", "waiting"): 3, ("entrance", "queue"): 1})
    lead = lead_page(browser, site)
    try:
        row(lead, "queue").locator("button.edit").click()
        assert lead.locator("#delete-rule").is_hidden()  # nothing to delete yet
        fill_rule(lead, raise_level=6, clear_level=2, cooldown_s=120)
        lead.check("#use-hours")
        lead.click('#hours .day[data-day="monday"] button.add')
        lead.click("#save")
        lead.wait_for_selector("#form-message.ok")
        assert lead.locator("#delete-rule").is_visible()  # after the first save, without reopening
        saved = stored_rule(site, "queue")
        assert saved is not None and saved["raise_level"] == 6

        # Asked first; "no" keeps the rule.
        lead.click("#delete-rule")
        assert (
            lead.inner_text("#confirm-text")
            == "Regel für Schlange wirklich löschen? Der Empfang alarmiert dann nicht mehr."
        )
        assert lead.evaluate("document.activeElement.id") == "confirm-no"
        lead.click("#confirm-no")
        assert lead.locator("#confirm-delete").is_hidden()
        assert stored_rule(site, "queue") == saved

        lead.click("#delete-rule")
        shoot_docs(lead, "lead-delete-confirm", show="#confirm-delete")
        lead.click("#confirm-yes")
        toast = lead.locator("#toast")
        toast.wait_for()
        assert toast.inner_text().split() == ["Regel", "für", "Schlange", "gelöscht", DASH, "Rückgängig"]
        row(lead, "queue").locator(".rule", has_text="keine Regel").wait_for()
        assert stored_rule(site, "queue") is None
        shoot_docs(lead, "lead-delete-undo", show="#form-message")

        lead.click("#undo")
        toast.locator("#toast-text", has_text="Regel für Schlange wiederhergestellt.").wait_for()
        assert stored_rule(site, "queue") == saved  # every field, opening hours included
        assert lead.locator("#delete-rule").is_visible()
        row(lead, "queue").locator(".rule", has_text="Alarmgrenze 6").wait_for()
        toast.wait_for(state="hidden", timeout=12000)  # gone after 10 s
    finally:
        lead.close()


@pytest.mark.parametrize("size", LEAD_SIZES)
def test_the_page_fits_its_width_with_history_and_buttons_inside_their_cards(
    browser: Any, make_site: Callable[..., Site], size: str
) -> None:
    site = make_site(NAMES)
    site.rule("entrance/waiting", {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0})
    site.edge.set({("entrance", "waiting"): 7, ("entrance", "queue"): 1})
    lead = lead_page(browser, site)
    try:
        lead.set_viewport_size(LEAD_SIZES[size])
        lead.locator("#history tbody tr").first.wait_for()
        row(lead, "waiting").locator("button.edit").click()
        lead.wait_for_timeout(300)
        overflow = lead.evaluate(OVERFLOW_JS)
        assert overflow == []
        if size == "390x844":  # the zone table as a phone shows it
            lead.evaluate("window.scrollTo(0, 0)")
            shoot_docs(lead, "lead-phone", {size: LEAD_SIZES[size]})
    finally:
        lead.close()
