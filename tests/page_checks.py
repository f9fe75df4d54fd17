"""Checks a page test runs in Chromium on any page: axe-core's serious and critical violations
(axe-playwright-python bundles axe-core), and English words left on a German page (the words of the
page's own English table `TEXT.en` that its German table `TEXT.de` does not use; ids marked
translate="no" are names, not words)."""

from __future__ import annotations

from typing import Any

from tests.conftest import need_module

# The words of a table's texts (functions called with a sample argument: they hold words too).
_WORDS_JS = r"""() => {
  const words = (table) => {
    const found = new Set();
    const walk = (value) => {
      if (typeof value === "function") {
        try { value = value("1", "1", "1"); } catch (e) { return; }
      }
      if (typeof value === "string") {
        for (const w of value.toLowerCase().match(/[a-zäöüß]{3,}/g) || []) found.add(w);
      } else if (value && typeof value === "object") {
        Object.values(value).forEach(walk);
      }
    };
    walk(table);
    return found;
  };
  const english = words(TEXT.en), german = words(TEXT.de);
  // Ids from the configuration (translate="no": north/entrance/waiting) are names, not words.
  let body = document.body.innerText;
  for (const id of document.querySelectorAll('[translate="no"]')) body = body.replace(id.innerText, " ");
  // So is a title that is a configuration path (site/camera/zone), for IT.
  const path = /^[\w.-]+(\/[\w.-]+)+$/;
  const shown = [body,
    ...[...document.querySelectorAll("[placeholder], [aria-label], [title]")].map((n) =>
      [n.placeholder, n.getAttribute("aria-label"), path.test(n.title) ? "" : n.title]
        .filter(Boolean).join(" "))].join(" ");
  const seen = new Set(shown.toLowerCase().match(/[a-zäöüß]{3,}/g) || []);
  return [...english].filter((w) => !german.has(w) && seen.has(w)).sort();
}"""


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is, with where they are."""
    module: Any = need_module(
        "axe_playwright_python.sync_playwright", "pip install axe-playwright-python (the dev extra)"
    )
    found = module.Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def english_words(page: Any) -> list[str]:
    """The words of the page's English table shown on it (text, placeholders, labels, titles) that
    its German table never uses: none on a German page."""
    words: list[str] = page.evaluate(_WORDS_JS)
    return words
