"""Fixtures of the API tests: settings with test tokens and SQLite in tmp_path, a fake edge box."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import DESK, LEAD, FakeEdge

from api.settings import Settings, parse_settings

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
