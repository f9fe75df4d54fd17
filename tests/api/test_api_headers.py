"""Every answer says `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`: JSON, errors
(from a route, from the request validation, from the body limit, from a crash), the exposition and
the pages; the pages take `?lang=`, which their script reads, and run only their own inline
script and style blocks (a content security policy with their hashes)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_support import DESK, DESK_HEADERS, LEAD_HEADERS, FakeEdge, Site
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

RULE_PATH = "/api/v1/rules/north/entrance/waiting"


@pytest.fixture
def client(make_settings: Callable[..., Settings], fake_edge: FakeEdge) -> Iterator[TestClient]:
    app = create_app(make_settings(input={"targets": [fake_edge.url], "interval_s": 0.1}))

    @app.get("/crash", include_in_schema=False)
    async def crash() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "cache"),
    [
        ("GET", "/api/v1/zones", DESK_HEADERS, None, 200, "no-store"),
        ("GET", "/api/v1/health", DESK_HEADERS, None, 200, "no-store"),
        ("GET", "/api/v1/rules", {}, None, 401, "no-store"),
        ("GET", "/api/v1/rules/north/entrance/nowhere", DESK_HEADERS, None, 404, "no-store"),
        ("GET", "/api/v1/alerts?limit=0", DESK_HEADERS, None, 422, "no-store"),
        ("PUT", RULE_PATH, LEAD_HEADERS, "x" * 20000, 413, "no-store"),
        ("GET", "/crash", {}, None, 500, "no-store"),
        ("GET", "/metrics", {}, None, 200, "no-store"),
        ("GET", "/openapi.json", {}, None, 200, "no-store"),
        ("GET", "/reception", {}, None, 401, "no-store"),
        ("GET", "/favicon.ico", {}, None, 200, "max-age=86400"),  # its own: a day
    ],
    ids=["zones", "health", "no token", "not found", "invalid query", "body too large", "crash",
         "metrics", "openapi", "page", "favicon"],
)  # fmt: skip
def test_every_answer_is_neither_cached_nor_sniffed(
    client: TestClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str | None,
    status: int,
    cache: str,
) -> None:
    response = client.request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get_list("cache-control") == [cache]


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 200), ("?lang=en", 200), ("?lang=de", 200), ("?lang=fr", 422), ("?lang=", 422)],
    ids=["none", "en", "de", "another language", "empty"],
)
@pytest.mark.parametrize("page", ["/reception", "/lead"])
def test_pages_take_their_language(client: TestClient, page: str, query: str, status: int) -> None:
    response = client.get(page + query, headers=LEAD_HEADERS)
    assert response.status_code == status, response.text
    if status == 422:
        [problem] = response.json()["error"]["fields"]
        assert problem["path"] == "query.lang" and "'de' or 'en'" in problem["message"]


@pytest.mark.parametrize(
    ("page", "headers"),
    [("/reception", DESK_HEADERS), ("/lead", LEAD_HEADERS), ("/reception", {}), ("/docs", {})],
    ids=["reception", "lead", "login", "docs"],
)
def test_a_page_allows_only_its_own_inline_blocks(
    client: TestClient, page: str, headers: dict[str, str]
) -> None:
    """The policy names each inline script and style block of the page by its hash, nothing inline
    besides (no 'unsafe-inline'): a script or style put into the page some other way does not run."""
    response = client.get(page, headers=headers)
    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";")
    )
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    for kind in ("script", "style"):
        blocks = re.findall(rf"<{kind}>(.*?)</{kind}>", response.text, re.S)
        hashes = {
            "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'" for b in blocks
        }
        assert blocks and set(policy[f"{kind}-src"].split()) == hashes, kind


@pytest.mark.browser
def test_the_policy_blocks_what_the_page_did_not_bring(browser: Any, make_site: Callable[..., Site]) -> None:
    """In Chromium the reception page runs (its own blocks are allowed) and a script injected into it
    is refused."""
    site = make_site({("entrance", "waiting"): "Wartebereich"})
    site.edge.set({("entrance", "waiting"): 2.0})
    page = browser.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(f"{site.server.url}/reception?lang=de#token={DESK}")
        page.wait_for_selector('#connection[data-connected="true"]')
        assert refused == []
        page.evaluate("""() => { const s = document.createElement("script");
            s.textContent = "window.injected = true"; document.body.append(s); }""")
        page.wait_for_timeout(200)
        assert page.evaluate("window.injected === undefined")
        assert any("inline script" in text and "blocked" in text for text in refused), refused
    finally:
        page.close()
