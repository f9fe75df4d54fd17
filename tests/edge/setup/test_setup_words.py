"""The German setup page in Chromium: a failed save said in German, "nicht gespeichert" once, the
config model's own (English) messages introduced by German words once; the loitering limit called
"Verweildauer-Grenze"; no word of the page's English table; 0 serious or critical axe-core
violations at 1280x800, 1024x768 and 390x844."""

from __future__ import annotations

from typing import Any

import pytest

from tests.edge.setup.conftest import Running
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
