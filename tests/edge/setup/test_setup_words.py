"""The German setup page in Chromium: a failed save said in German, "nicht gespeichert" once, the
config model's own (English) messages introduced by German words once; the loitering limit called
"Verweildauer-Grenze"; no word of the page's English table; 0 serious or critical axe-core
violations at 1280x800, 1024x768 and 390x844, also on the floor plan in each of its states."""

from __future__ import annotations

from typing import Any

import pytest

from tests.edge.setup.conftest import Running
from tests.edge.setup.test_floor_page import MARKS_M, click_picture, draw_room, picture_of
from tests.edge.setup.test_floor_server import DOOR_H
from tests.page_checks import english_words, serious_violations

pytestmark = pytest.mark.browser

SIZES = {
    "1280x800": {"width": 1280, "height": 800},
    "1024x768": {"width": 1024, "height": 768},
    "390x844": {"width": 390, "height": 844},
}


def german_page(browser: Any, running: Running, size: str = "1280x800") -> Any:
    page = browser.new_page(viewport=SIZES[size], locale="de-DE")
    page.set_default_timeout(20000)
    page.goto(f"{running.base}/#token={running.server.token}")
    page.wait_for_selector('article.zone[data-zone-card="waiting"][data-count="1"]')
    if page.inner_text("#lang") != "English":
        page.click("#lang")
    return page


def test_a_failed_save_is_said_in_german_once(browser: Any, running: Running) -> None:
    page = german_page(browser, running)
    try:
        page.click("article.zone .zdelete")  # no zone left: the config model refuses the file
        page.wait_for_selector("#zones .empty")
        page.click("#save")
        page.wait_for_selector("#notice.bad")
        notice = page.inner_text("#notice")
        assert notice.startswith(
            "Nicht gespeichert: Die Zonen und Masken passen nicht zur Konfiguration. "
            "Die Prüfung meldet (auf Englisch):"
        ), notice
        assert notice.lower().count("nicht gespeichert") == 1 and "not saved" not in notice.lower()
        assert "cameras[0].zones" in page.inner_text("#notice li")
    finally:
        page.close()


def test_the_error_names_a_code_and_no_not_saved(running: Running) -> None:
    running.draft(1, [], [])
    answer = running.call("POST", "/api/save", {})
    error = answer.json()["error"]
    assert (answer.status, error["code"], error["message"]) == (
        422,
        "invalid_layout",
        "the layout does not pass the config model",
    )
    assert [p["path"] for p in error["problems"]] == ["cameras[0].zones"]


@pytest.mark.parametrize("size", SIZES)
def test_the_german_page_passes_axe_and_has_no_english_word(
    browser: Any, running: Running, size: str
) -> None:
    page = german_page(browser, running, size)
    try:
        assert page.inner_text(".l-loiter") == "Verweildauer-Grenze (s)"
        assert serious_violations(page) == []
        assert english_words(page) == []
        assert "Wartezeit-Grenze" not in page.evaluate("document.body.innerText")
        page.click("#lang")  # the check sees English where there is some
        assert {"zones", "save"} <= set(english_words(page))
    finally:
        page.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_german_floor_plan_passes_axe_and_has_no_english_word(
    browser: Any, running: Running, size: str
) -> None:
    """The plan in each of its states: marks placed (too few for a fit), fitted, warned about a
    mark 0.7 m off, and a room drawn."""
    page = german_page(browser, running, size)
    try:
        page.click("#mode-floor")
        page.wait_for_selector("#plan:not([hidden])")
        # Each mark tapped in the picture and typed in metres (a phone's plan is too small to tap).
        for i, (picture, floor) in enumerate(zip(picture_of(DOOR_H, MARKS_M), MARKS_M, strict=True)):
            if i == 3:
                problems = {"three marks": serious_violations(page) + english_words(page)}
            click_picture(page, picture)
            row = page.locator("#pairs tbody tr").nth(i)
            row.locator(".fx").fill(str(floor[0]))
            row.locator(".fy").fill(str(floor[1]))
        page.wait_for_selector("#fitline.ok")
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
        problems["fitted"] = serious_violations(page) + english_words(page)
        row = page.locator("#pairs tbody tr").nth(4)
        row.locator(".fx").fill(str(MARKS_M[4][0] + 0.6))
        row.locator(".fy").fill(str(MARKS_M[4][1] + 0.35))
        page.wait_for_selector("#fitline.warn")
        assert page.inner_text("#fitwarn").startswith("Bitte prüfen: ")
        problems["warned"] = serious_violations(page) + english_words(page)
        draw_room(
            page, [(2.0, 3.0), (8.0, 3.0), (8.0, 9.0), (2.0, 9.0)], "wartebereich-eg", "Wartebereich EG"
        )
        problems["room"] = serious_violations(page) + english_words(page)
        assert {state: found for state, found in problems.items() if found} == {}
    finally:
        page.close()
