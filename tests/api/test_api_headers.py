"""Every answer says `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`: JSON, errors
(from a route, from the request validation, from the body limit, from a crash), the exposition and
the pages; and the pages take `?lang=`, which their script reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from api_support import DESK_HEADERS, LEAD_HEADERS, FakeEdge
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
