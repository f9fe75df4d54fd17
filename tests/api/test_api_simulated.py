"""The SIMULATED history for demonstrations: minutes and a counters setting in the API's store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from api.domain import ZoneKey
from api.simulated import main, simulated_minutes
from api.storage import Storage

BERLIN = ZoneInfo("Europe/Berlin")
KEY = ZoneKey("north", "entrance", "waiting")
NOON = datetime(2025, 11, 24, 12, 0, tzinfo=BERLIN).timestamp()


@pytest.mark.parametrize(("days", "minutes"), [(0, 12 * 60), (3, 3 * 1440 + 12 * 60)])
def test_whole_days_before_and_today_until_now(days: int, minutes: int) -> None:
    rows = list(simulated_minutes(KEY, NOON, days, 4, BERLIN))
    assert len(rows) == minutes and rows[-1].minute == NOON - 60
    assert all(r.exits <= 4 * 10 / 60 + 1e-9 and r.occupancy_sum >= 0 for r in rows)  # 4 counters at 10/h
    assert sum(r.entries for r in rows) > 0


def test_the_command_writes_and_says_simulated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "api.sqlite3"
    assert main(["--database", str(database), "--zone", "north/entrance/waiting", "--days", "3"]) == 0
    assert "SIMULATED" in capsys.readouterr().out
    storage = Storage.open(database)
    try:
        [setting] = storage.counter_settings(KEY)
        assert setting.counters == 2
        assert storage.sites() == {"north"}
    finally:
        storage.close()


@pytest.mark.parametrize("args", [["--zone", "north/entrance"], ["--zone", "a/b/c", "--days", "2"]])
def test_bad_arguments_are_named(tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--database", str(tmp_path / "x.sqlite3"), *args])
    assert "--zone SITE/CAMERA/ZONE, --days 3 or more" in capsys.readouterr().err
