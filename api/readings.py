"""What the API keeps of the edge's counters where it scrapes the edge directly (no Prometheus
keeps a history for it): the exits of the last minutes, in memory, for the expected wait; and per
zone and minute the counts the report is made of, for the database. Counts only, never a person.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container, Mapping
from dataclasses import dataclass

from api.domain import ZoneKey
from wartezone_contract import EXPECTED_WAIT_WINDOW_S

MINUTE_S = 60


def counter_increase(previous: float | None, value: float) -> float:
    """What a counter gained since the read before, as Prometheus counts it: a value below the one
    before is a reset (the edge restarted) and counts from 0; the first read is only a baseline."""
    if previous is None:
        return 0.0
    return value - previous if value >= previous else value


class ExitWindow:
    """Per zone, the exits counter as read over the last window_s (the API's clock), so that "people
    who left in the last 15 minutes" needs no Prometheus. A zone's figure is there only once its
    reads reach back the whole window: after the API starts, or a zone first appears, a shorter
    stretch would make the expected wait read long. Bounded: one entry per read in the window."""

    def __init__(self, window_s: float = EXPECTED_WAIT_WINDOW_S) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s: must be > 0, got {window_s}")
        self.window_s = window_s
        # Per zone: (time, counter, gain since the read before); the first is the baseline at or
        # before the window's start, so the gains after it are exactly those inside the window.
        self._reads: dict[ZoneKey, deque[tuple[float, float, float]]] = {}
        self._gained: dict[ZoneKey, float] = {}

    def observe(self, at: float, counters: Mapping[ZoneKey, float]) -> dict[ZoneKey, float]:
        """Add one read's counter values; returns the exits in the last window_s per zone whose reads
        reach back that far. A zone missing from a read keeps its history (a failed scrape); one not
        read for a whole window is forgotten."""
        start = at - self.window_s
        for key, value in counters.items():
            reads = self._reads.setdefault(key, deque())
            gain = counter_increase(reads[-1][1] if reads else None, value)
            reads.append((at, value, gain))
            self._gained[key] = self._gained.get(key, 0.0) + gain
        recent: dict[ZoneKey, float] = {}
        for key in list(self._reads):
            reads = self._reads[key]
            if reads[-1][0] < start:
                del self._reads[key], self._gained[key]
                continue
            while len(reads) > 1 and reads[1][0] <= start:
                reads.popleft()
                self._gained[key] -= reads[0][2]  # the new baseline's gain came before the window
            if reads[0][0] <= start:
                recent[key] = self._gained[key]
        return recent


@dataclass(frozen=True, slots=True)
class MinuteRow:
    """One zone's minute as stored. occupancy_sum / samples is the mean over the reads that had a
    count (a sum, so that a minute written in two parts, around a restart, adds up exactly);
    occupancy_first: the minute's first read with a count, the queue the minute began with (the
    service rate's selection, wartezone_contract.service_rate); at_raise: reads at or above the
    rule's raise level, None while the zone had no rule."""

    key: ZoneKey
    minute: int  # Unix time of the minute's start
    occupancy_sum: float
    samples: int
    occupancy_peak: float | None
    occupancy_first: float | None
    entries: float
    exits: float
    at_raise: int | None


@dataclass(slots=True)
class _Minute:
    occupancy_sum: float = 0.0
    samples: int = 0
    occupancy_peak: float | None = None
    occupancy_first: float | None = None
    entries: float = 0.0
    exits: float = 0.0
    at_raise: int | None = None


class MinuteReadings:
    """Reads in, finished minutes out. Entries and exits are the counters' gains between reads,
    each in the minute of the read that saw it (what happened while the edge could not be read
    lands in the minute it was read again). A partial room's read (a camera down or late: at
    least that many) counts for the peak only: in the mean, the first read or the reads at the
    raise level it would be a silently lower count."""

    def __init__(self) -> None:
        self._minute: int | None = None
        self._zones: dict[ZoneKey, _Minute] = {}
        self._entries: dict[ZoneKey, float] = {}
        self._exits: dict[ZoneKey, float] = {}

    def add(
        self,
        at: float,
        occupancy: Mapping[ZoneKey, tuple[float, int | None]],
        entries_total: Mapping[ZoneKey, float],
        exits_total: Mapping[ZoneKey, float],
        partial: Container[ZoneKey] = frozenset(),
    ) -> list[MinuteRow]:
        """One read: occupancy per known zone with the raise level in force (None without a rule),
        the counters as read, and the rooms whose count is partial. Returns the minute this read
        closed, if it closed one."""
        minute = int(at // MINUTE_S) * MINUTE_S
        finished = self.take() if self._minute is not None and minute != self._minute else []
        self._minute = minute
        for key, (people, raise_level) in occupancy.items():
            zone = self._zone(key)
            zone.occupancy_peak = people if zone.occupancy_peak is None else max(zone.occupancy_peak, people)
            if raise_level is not None and zone.at_raise is None:
                zone.at_raise = 0  # the rule was there this minute, even where no read could be judged
            if key in partial:
                continue
            zone.occupancy_sum += people
            zone.samples += 1
            if zone.occupancy_first is None:
                zone.occupancy_first = people
            if raise_level is not None:
                zone.at_raise = (zone.at_raise or 0) + (people >= raise_level)
        for key, value in entries_total.items():
            gain = counter_increase(self._entries.get(key), value)
            self._entries[key] = value
            if gain:
                self._zone(key).entries += gain
        for key, value in exits_total.items():
            gain = counter_increase(self._exits.get(key), value)
            self._exits[key] = value
            if gain:
                self._zone(key).exits += gain
        return finished

    def take(self) -> list[MinuteRow]:
        """The minute so far (at shutdown, or when a read starts the next one); starts it afresh."""
        minute, zones = self._minute, self._zones
        self._zones = {}
        if minute is None:
            return []
        return [
            MinuteRow(
                key,
                minute,
                z.occupancy_sum,
                z.samples,
                z.occupancy_peak,
                z.occupancy_first,
                z.entries,
                z.exits,
                z.at_raise,
            )
            for key, z in sorted(zones.items())
        ]

    def _zone(self, key: ZoneKey) -> _Minute:
        zone = self._zones.get(key)
        if zone is None:
            zone = self._zones[key] = _Minute()
        return zone
