"""SIMULATED history for a demonstration: past weeks of per-minute readings of one waiting zone
written into the API's database, so that the forecast, the counters advice and the early warning
show on a fresh install (they need days of stored readings). Never for a real branch: the minutes
are made up (a weekly arrival profile, Poisson arrivals, a fluid queue with the counters given).

    .venv/bin/python -m api.simulated --database PATH --zone SITE/CAMERA/ZONE [--days 21] [--counters 2]

It also sets the zone's counters (a number, as reception would) from before the first simulated day.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from api.counters import CounterSetting
from api.domain import Role, ZoneKey
from api.readings import MinuteRow
from api.storage import Storage

# Arrivals per hour of the simulated branch of benchmarks/queue_sim.py's 8 opening hours, repeated
# around the clock so that a demonstration at any hour has a forecast to show.
ARRIVALS_PER_HOUR = (30.0, 44.0, 48.0, 38.0, 30.0, 40.0, 36.0, 24.0)
CALLED_PER_COUNTER_HOUR = 10.0  # a 6-minute service


def simulated_minutes(
    key: ZoneKey, until: float, days: int, counters: int, tz: ZoneInfo, seed: int = 7, scale: float = 1.0
) -> Iterator[MinuteRow]:
    """Minutes of the `days` days before `until`'s day and of that day until `until`: arrivals at
    ARRIVALS_PER_HOUR x scale, the people waiting called at counters x the service rate."""
    rng = random.Random(seed)
    last = datetime.fromtimestamp(until, tz).date()
    for back in range(days, -1, -1):
        day: date = last - timedelta(days=back)
        waiting = 0.0
        for hour in range(24):
            per_hour = ARRIVALS_PER_HOUR[hour % len(ARRIVALS_PER_HOUR)]
            for m in range(60):
                start = datetime(day.year, day.month, day.day, hour, m, tzinfo=tz).timestamp()
                if start >= until:
                    return
                came = _poisson(rng, per_hour * scale / 60)
                called = min(waiting, counters * CALLED_PER_COUNTER_HOUR / 60)
                began_with, waiting = waiting, waiting + came - called
                yield MinuteRow(key, int(start), waiting, 1, waiting, began_with, float(came), called, None)


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def seed(
    storage: Storage, key: ZoneKey, until: float, days: int, counters: int, tz: ZoneInfo, scale: float = 1.0
) -> int:
    """Write the simulated minutes and the counters setting; returns how many minutes."""
    rows = list(simulated_minutes(key, until, days, counters, tz, scale=scale))
    with storage.transaction():
        storage.save_readings(rows)
        storage.add_counter_setting(key, CounterSetting(until - (days + 1) * 86400, Role.LEAD, counters))
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, required=True, help="the API's SQLite file")
    parser.add_argument("--zone", required=True, help="SITE/CAMERA/ZONE")
    parser.add_argument("--days", type=int, default=21, help="simulated days before today (3 or more)")
    parser.add_argument("--counters", type=int, default=2, help="counters open in the simulated days")
    parser.add_argument("--scale", type=float, default=1.0, help="arrivals against the profile")
    parser.add_argument("--timezone", default="Europe/Berlin")
    args = parser.parse_args(argv)
    parts = args.zone.split("/")
    if len(parts) != 3 or args.days < 3 or args.counters < 1 or not args.scale > 0:
        parser.error("--zone SITE/CAMERA/ZONE, --days 3 or more, --counters 1 or more, --scale above 0")
    storage = Storage.open(args.database)
    try:
        minutes = seed(
            storage, ZoneKey(*parts), time.time(), args.days, args.counters, ZoneInfo(args.timezone)
        )
    finally:
        storage.close()
    print(f"SIMULATED: {minutes} minutes of {args.zone} over {args.days} days written to {args.database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
