"""The lead page and its login in Chromium at a 10" tablet (1280x800), a smaller tablet (1024x768)
and a phone (390x844): 0 serious or critical axe-core violations in each state (the table, the rule
form with a problem, the question before deleting, the undo toast), and the German page shows no
word of its English table and none of the old mixed terms for the limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_support import LEAD, Site

from tests.browser import REPO
from tests.page_checks import english_words, serious_violations

pytestmark = pytest.mark.browser

SIZES = {
    "1280x800": {"width": 1280, "height": 800},
    "1024x768": {"width": 1024, "height": 768},
    "390x844": {"width": 390, "height": 844},
}
NAMES = {("entrance", "waiting"): "Wartebereich Süd", ("entrance", "queue"): "Schlange"}
# What staff read before one vocabulary: the loitering limit called a waiting-time limit, the rule's
# level "Alarm ab" and "über der Grenze", its cooldown "Pause".
OLD_TERMS = ("Wartezeit-Grenze", "über der Grenze", "Alarm ab", "Pause")


def logged_in(browser: Any, site: Site, size: str, lang: str = "de") -> Any:
    page = browser.new_page(viewport=SIZES[size], locale="de-DE" if lang == "de" else "en-GB")
    page.set_default_timeout(15000)
    page.goto(f"{site.server.url}/lead?lang={lang}")
    page.wait_for_selector("#token")
    assert serious_violations(page) == [], "the login form"
    page.fill("#token", LEAD)
    page.click("#submit")
    page.wait_for_selector('#connection[data-state="live"]')
    return page


def states(page: Any) -> list[tuple[str, Callable[[], None]]]:
    """The lead page's states, each reached from the one before."""
    row = '#zones tr[data-zone="north/entrance/queue"]'

    def history() -> None:
        page.locator("#history tbody tr").first.wait_for()

    def form_problem() -> None:
        page.click(f"{row} button.edit")
        page.fill("#raise_level", "0")
        page.click("#save")
        page.wait_for_selector("#form-message.error")

    def saved() -> None:
        page.fill("#raise_level", "6")
        page.fill("#clear_level", "2")
        page.click("#save")
        page.wait_for_selector("#form-message.ok")

    def confirm() -> None:
        page.click("#delete-rule")
        page.wait_for_selector("#confirm-delete:not([hidden])")

    def toast() -> None:
        page.click("#confirm-yes")
        page.wait_for_selector("#toast:not([hidden])")

    def schedule() -> None:
        page.click(f"{row} button.plan")
        page.wait_for_selector("#schedule-editor:not([hidden]) .day")

    return [("history", history), ("form problem", form_problem), ("saved", saved), ("confirm", confirm),
            ("undo toast", toast), ("schedule", schedule)]  # fmt: skip


@pytest.mark.parametrize(("size", "lang"), [*((size, "de") for size in SIZES), ("1280x800", "en")])
def test_every_state_passes_axe_and_the_german_page_has_no_english(
    browser: Any, make_site: Callable[..., Site], size: str, lang: str
) -> None:
    site = make_site(NAMES)
    site.rule("entrance/waiting", {"raise_level": 5, "clear_level": 2, "min_above_s": 0, "min_below_s": 0})
    site.edge.set({("entrance", "waiting"): 7, ("entrance", "queue"): 1})
    page = logged_in(browser, site, size, lang)
    try:
        found = {}
        for name, reach in states(page):
            reach()
            page.wait_for_timeout(200)
            problems = serious_violations(page)
            if lang == "de":
                problems += [f"English: {w}" for w in english_words(page)]
                shown = page.evaluate("document.body.innerText")
                problems += [f"old term: {term}" for term in OLD_TERMS if term.lower() in shown.lower()]
            if problems:
                found[name] = problems
        assert found == {}
        if lang == "de":
            page.click("#lang")  # the check sees English where there is some
            assert {"rule", "save", "counters"} <= set(english_words(page))
    finally:
        page.close()


def test_the_page_has_none_of_the_old_terms_in_any_state_it_can_show() -> None:
    """The states a test cannot easily reach (cooldown, closed) hold their words in the tables."""
    text = (REPO / "api" / "static" / "lead.html").read_text(encoding="utf-8")
    assert [term for term in OLD_TERMS if term in text] == []
