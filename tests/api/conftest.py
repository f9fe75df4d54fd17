"""Fixtures of the API tests: settings with test tokens and SQLite in tmp_path, a fake edge box."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import DESK, LEAD, FakeEdge, ServerThread, Site, prometheus_server

from api.app import create_app
from api.domain import Clock
from api.settings import Settings, parse_settings
from tests.support import wait_for

BASE_SETTINGS: dict[str, Any] = {
    "auth": {"desk_tokens": [DESK], "lead_tokens": [LEAD]},
    "timezone": "Europe/Berlin",
}


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Valid settings (SQLite in tmp_path, test tokens); keyword arguments replace top-level keys."""

    def make(**overrides: Any) -> Settings:
        data = copy.deepcopy(BASE_SETTINGS)
        data["database"] = str(tmp_path / "api.sqlite3")
        data.update(overrides)
        return parse_settings(data, tmp_path, environ={})

    return make


@pytest.fixture
def fake_edge() -> Iterator[FakeEdge]:
    edge = FakeEdge()
    yield edge
    edge.close()


@pytest.fixture
def prometheus(tmp_path: Path, fake_edge: FakeEdge) -> Iterator[str]:
    """A real Prometheus server scraping the fake edge every second; its URL."""
    with prometheus_server(tmp_path, [fake_edge.url.split("/")[2]]) as url:
        yield url


@pytest.fixture
def make_site(make_settings: Callable[..., Settings], fake_edge: FakeEdge) -> Iterator[Callable[..., Site]]:
    """An API under uvicorn reading the fake edge, which reports these zones ((camera, zone) ->
    display name); keyword arguments are input settings, clock replaces the API's. Read once
    before it is handed out."""
    sites: list[Site] = []

    def make(names: dict[tuple[str, str], str], clock: Clock | None = None, **settings: Any) -> Site:
        fake_edge.names = dict(names)
        made = make_settings(input={"targets": [fake_edge.url], "interval_s": 0.2, **settings})
        site = Site(fake_edge, made, ServerThread(create_app(made, clock=clock)).start())
        sites.append(site)
        first = "/".join(next(iter(names)))
        wait_for(lambda: site.zone(first).get("reported"), 10, "a first read")
        return site

    yield make
    for site in sites:
        site.server.stop()
