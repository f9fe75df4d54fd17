"""Helpers of the page tests (reception, lead, setup, demo): Debian's Chromium under Playwright
(never a downloaded browser), the screen sizes the pages are made for, screenshots, and the WCAG
contrast of what a page shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import need, need_module

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENS = REPO / "out" / "screens"  # every screenshot of the page tests; docs/screenshots has the README's
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KIOSK_ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]  # the kiosk's setting
DESKTOP = {"width": 1920, "height": 1080}
TABLET = {"width": 1024, "height": 768}
SIZES = {"1920x1080": DESKTOP, "1024x768": TABLET}


@contextmanager
def playwright() -> Iterator[Any]:
    """Playwright's driver (one per test module: its sync API does not nest)."""
    need(CHROMIUM, "scripts/setup.sh --dev installs Debian's chromium")
    sync_api: Any = need_module("playwright.sync_api", "scripts/setup.sh --dev installs playwright")
    with sync_api.sync_playwright() as driver:
        yield driver


def launch(driver: Any, args: list[str] = KIOSK_ARGS) -> Any:
    """Debian's Chromium, never a browser Playwright downloads."""
    return driver.chromium.launch(executable_path=str(CHROMIUM), args=args)


def shoot(page: Any, name: str, sizes: dict[str, dict[str, int]] = SIZES) -> list[Path]:
    """Screenshots of the page at each size (out/screens/NAME-WxH.png); the page keeps the last size."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, size in sizes.items():
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(300)  # the grid lays itself out again on resize
        path = SCREENS / f"{name}-{label}.png"
        page.screenshot(path=str(path))
        paths.append(path)
    return paths


# For every visible element with text of its own under `root`: its text, the contrast of its colour
# against the first opaque background behind it (WCAG 2 relative luminance), its font size and
# weight. Text on a flashing alert line is also measured against the flash's other colour.
CONTRAST_JS = """(root) => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => {
    const x = lum(a), y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  };
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0.99) return {color: c, from: n};
    }
    return {color: {r: 255, g: 255, b: 255, a: 1}, from: null};
  };
  const out = [];
  for (const node of (root || document.body).querySelectorAll("*")) {
    const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (!own || !node.checkVisibility() || !node.getClientRects().length) continue;
    const style = getComputedStyle(node);
    if (parseFloat(style.opacity) < 1) {
      out.push({text: node.textContent.trim(), ratio: 0, size: 0, bold: false, why: "opacity"});
    }
    const color = parse(style.color);
    const behind = background(node);
    const backs = [behind.color];
    // A flashing alert line: its text is also measured against the flash's other colour.
    if (behind.from && behind.from.dataset.kind === "firing") {
      const probe = document.createElement("div");
      probe.style.backgroundColor = getComputedStyle(behind.from).getPropertyValue("--firing-b").trim();
      document.body.append(probe);
      backs.push(parse(getComputedStyle(probe).backgroundColor));
      probe.remove();
    }
    const worst = Math.min(...backs.map((b) => ratio(color, b)));
    out.push({text: node.textContent.trim().slice(0, 60), ratio: worst, size: parseFloat(style.fontSize),
              bold: parseInt(style.fontWeight, 10) >= 700, tag: node.tagName, cls: node.className});
  }
  return out;
}"""


def contrast_problems(page: Any, selector: str = "body") -> list[str]:
    """Texts under `selector` below 4.5:1, or below 3:1 when large (24 px, or 18.66 px bold)."""
    found = page.evaluate(CONTRAST_JS, page.query_selector(selector))
    assert found, f"no visible text under {selector}"
    problems = []
    for item in found:
        large = item["size"] >= 24 or (item["bold"] and item["size"] >= 18.66)
        needed = 3.0 if large else 4.5
        if item["ratio"] < needed:
            problems.append(f"{item['text']!r}: {item['ratio']:.2f}:1 < {needed}:1 ({item})")
    return problems
