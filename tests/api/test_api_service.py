"""The service object and its storage: routes speak to it in intents; a rule lives in the storage
only; an event is written with its id in one statement."""

from __future__ import annotations

import ast
import asyncio
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_support import FakeClock
from prometheus_client import CollectorRegistry

from api.domain import Reading, Role, Snapshot, ZoneKey
from api.metrics import ApiMetrics
from api.rules import Rule, RuleSpec
from api.service import Runtime
from api.settings import Settings
from api.storage import Storage, StorageError

ROUTES = Path(__file__).resolve().parents[2] / "api" / "routes"
KEY = ZoneKey("north", "entrance", "waiting")
SPEC = RuleSpec(raise_level=5, clear_level=2)


class NoInput:
    async def read(self) -> Snapshot:
        return Snapshot(0.0)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def runtime(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    service = Runtime.open(make_settings(), ApiMetrics(CollectorRegistry()), FakeClock(), NoInput())
    yield service
    asyncio.run(service.stop())


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = Storage.open(tmp_path / "api.sqlite3")
    yield opened
    opened.close()


def runtime_uses(source: str) -> set[str]:
    """Every attribute a route module reads from its `runtime` argument."""
    return {
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "runtime"
    }


@pytest.mark.parametrize(
    ("source", "uses"),
    [
        ("", set()),
        ("def f(runtime):\n    return runtime.zones()", {"zones"}),
        ("def f(runtime):\n    return runtime._storage.rules()", {"_storage"}),
    ],
)
def test_runtime_uses(source: str, uses: set[str]) -> None:
    assert runtime_uses(source) == uses


def test_routes_speak_to_the_service_in_intents_only() -> None:
    intents = {
        name
        for name, member in inspect.getmembers(Runtime, inspect.isfunction)
        if not name.startswith("_") and name not in {"start", "stop", "apply", "poll_once"}
    }
    used = set().union(*(runtime_uses(path.read_text()) for path in sorted(ROUTES.glob("*.py"))))
    assert used, "the routes use the service"
    assert used <= intents, f"routes reach past the service's intents: {sorted(used - intents)}"


def test_the_service_keeps_its_storage_and_engine_to_itself(runtime: Runtime) -> None:
    public = [name for name in vars(runtime) if not name.startswith("_")]
    assert public == []


def test_rules_are_stored_with_their_time_and_read_back(runtime: Runtime) -> None:
    assert runtime.rules() == [] and runtime.rule(KEY) is None
    stored = runtime.set_rule(KEY, SPEC)
    assert stored == Rule(KEY, SPEC, FakeClock().now())
    assert runtime.rules() == [stored] and runtime.rule(KEY) == stored
    zone = runtime.zone(KEY)
    assert zone is not None and (zone.raise_level, zone.clear_level) == (SPEC.raise_level, SPEC.clear_level)
    assert runtime.remove_rule(KEY) and runtime.rules() == []
    assert not runtime.remove_rule(KEY)


def test_an_event_is_written_with_its_id_in_one_statement(tmp_path: Path) -> None:
    path = tmp_path / "traced.sqlite3"
    Storage.open(path).close()  # created and migrated
    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    storage = Storage(db)
    with storage.transaction():
        number, body = storage.add_notification("alert.fired", {"site": "north"}, ["hook"], 1.0)
    storage.close()
    writes = [s.split()[0].upper() for s in statements if s.split()[0].upper() in ("INSERT", "UPDATE")]
    assert writes == ["INSERT", "INSERT"], statements  # the event, its outbox row
    assert (number, body) == (1, '{"id":1,"site":"north"}')


def test_event_ids_are_never_given_twice(storage: Storage) -> None:
    with storage.transaction():
        first = [storage.add_notification("zone.unknown", {}, [], 1.0)[0] for _ in range(3)]
    storage.prune(before=2.0)  # no webhooks: nothing waits for them
    assert storage.notifications() == []
    with storage.transaction():
        later = storage.add_notification("zone.known", {}, [], 3.0)[0]
    assert (first, later) == ([1, 2, 3], 4)


def test_an_event_is_only_written_inside_a_transaction(storage: Storage) -> None:
    with pytest.raises(StorageError, match="transaction"):
        storage.add_notification("zone.known", {}, [], 1.0)
    assert storage.notifications() == []


def test_the_time_from_firing_to_acknowledgement_is_a_histogram_per_zone(
    make_settings: Callable[..., Settings],
) -> None:
    registry = CollectorRegistry()
    clock = FakeClock()
    service = Runtime.open(make_settings(), ApiMetrics(registry), clock, NoInput())
    labels = {"site": "north", "camera": "entrance", "zone": "waiting"}

    def sample(suffix: str, **extra: str) -> float | None:
        return registry.get_sample_value(
            f"wartezone_alert_time_to_acknowledge_seconds{suffix}", labels | extra
        )

    try:
        service.set_rule(KEY, RuleSpec(raise_level=5, clear_level=2, min_above_s=0))
        assert sample("_count") == 0  # the series exists before the first alert, so increase() sees it
        fired_at = clock.now()
        service.apply(Snapshot(fired_at, {KEY: Reading(7.0, fired_at)}, reported={KEY: "waiting"}))
        zone = service.zone(KEY)
        assert zone is not None and zone.state == "firing"
        clock.advance(95)
        service.acknowledge(KEY, Role.DESK)
        assert sample("_count") == 1 and sample("_sum") == 95
        assert sample("_bucket", le="60.0") == 0 and sample("_bucket", le="120.0") == 1
    finally:
        asyncio.run(service.stop())
