"""A simulated waiting room: what the wait figures (docs/waits.md) are worth, and where each
one fails.

People arrive at random (a fixed seed), wait in one zone for the first free of a few counters, and
leave the zone when called. The edge's own per-zone accounting (edge/zones/accounting.py) and its
exposition (edge/metrics.py) see them as a detector and tracker that miss nobody would, at the
analysed frame rate; Prometheus' scrape is taken every 15 s, and every minute the wait figures are
computed by the formulas that the recording rules mirror (wartezone_contract). Each is held
against what the simulated people really waited:

- waited lately (the last hour): the mean of the visits that ended (the dwell histogram's sum over
  its count) and Little's law, against the mean wait of the people called in that hour; the
  median and 90th percentile from the histogram's buckets, against the true ones;
- expected wait for someone arriving now, against what a person arriving at that minute waits
  (exact: first come, first served, behind the people already waiting, at the counters' pace).

    .venv/bin/python -m benchmarks.queue_sim [--seed 7] [--open-hours 4] [--counters 3] [--json]
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import math
import random
import statistics
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry
from tqdm import tqdm

import wartezone_contract as contract
from api.forecast import (
    NEXT_HOUR_STEPS,
    SURGE_WINDOW_S,
    WARNING_HOLD_S,
    ArrivalForecast,
    ArrivalSeries,
    RecentArrivals,
    counters_advice,
    counters_by_step,
    early_warning,
    forecast_arrivals,
    public_holidays,
    queue_outlook,
    skip_days,
)
from edge.config import Config
from edge.detect.base import ModelInfo
from edge.metrics import EdgeMetrics
from edge.zones.accounting import ZoneAccount

SITE, CAMERA, ZONE = "sim", "hall", "waiting"
LABELS = {"site": SITE, "camera": CAMERA, "zone": ZONE}
SCRAPE_S = 15.0  # the Prometheus scrape interval of deploy/prometheus/prometheus.yml
EVAL_S = 60.0  # how often the figures are taken (rules evaluate every 15 s; a minute is enough here)
SHORT_WAIT_S = 300.0  # below 5 minutes reception says "under 5 minutes": no relative error there
LATELY_TOLERANCE = 0.10
NEW_TRACK = 1_000_000  # added to a person's index: the id of their track after it broke
EXPECTED_TOLERANCE = 0.25


@dataclass(frozen=True)
class Scenario:
    seed: int = 7
    open_hours: float = 4.0  # doors open this long; people inside are still served after it
    counters: int = 3
    service_mean_s: float = 360.0
    service_cv: float = 0.4  # spread of the service times (lognormal)
    arrivals_per_hour: tuple[float, ...] = (26.0, 26.0, 26.0, 32.0)  # per opening hour: a rush at the end
    opening_crowd: int = 10  # waiting at the door when it opens
    ticket_s: tuple[float, float] = (20.0, 60.0)  # take a number and sit down first: no one is called sooner
    fps: float = 2.0  # analysed frames per second
    smoothing_frames: int = 3
    exit_grace_s: float = 4.0
    miss: float = 0.0  # chance that a person is missed in a frame (detector errors)
    breaks: float = 0.0  # chance that a person's track breaks once: the edge sees two visits


@dataclass(frozen=True)
class Person:
    arrives_s: float
    called_s: float  # leaves the waiting zone for a counter

    @property
    def wait_s(self) -> float:
        return self.called_s - self.arrives_s


@dataclass
class Queue:
    """Everyone's arrival and call, and each counter's service: enough to know what a person
    arriving at any moment would wait."""

    people: list[Person]
    services: list[tuple[float, float]]  # (start, end) per person, by arrival
    counters: int
    service_s: list[float]

    def virtual_wait_s(self, t: float) -> float:
        """What someone arriving at `t` waits: every counter finishes whom it serves at t, then
        takes the people waiting at t in their order; the newcomer gets the next free counter."""
        free = [t] * self.counters
        busy = sorted(end for start, end in self.services if start <= t < end)
        for i, end in enumerate(busy):
            free[i] = end
        heapq.heapify(free)
        for index, person in enumerate(self.people):
            if person.arrives_s <= t < person.called_s:
                heapq.heappush(free, heapq.heappop(free) + self.service_s[index])
        return free[0] - t


def simulate_queue(scenario: Scenario) -> Queue:
    """Arrivals (the crowd at the door, then Poisson at each hour's rate) served first come,
    first served by the counters."""
    rng = random.Random(scenario.seed)
    arrivals = sorted(rng.uniform(0, 60) for _ in range(scenario.opening_crowd))
    for hour, rate in enumerate(scenario.arrivals_per_hour):
        t = hour * 3600.0
        while True:
            t += rng.expovariate(rate / 3600.0)
            if t >= min((hour + 1) * 3600.0, scenario.open_hours * 3600.0):
                break
            arrivals.append(t)
    arrivals.sort()
    sigma = math.sqrt(math.log(1 + scenario.service_cv**2))
    mu = math.log(scenario.service_mean_s) - sigma**2 / 2
    free = [0.0] * scenario.counters
    people, services, service_s = [], [], []
    for arrives in arrivals:
        counter_free = heapq.heappop(free)
        called = max(arrives + rng.uniform(*scenario.ticket_s), counter_free)
        duration = rng.lognormvariate(mu, sigma)
        heapq.heappush(free, called + duration)
        people.append(Person(arrives, called))
        services.append((called, called + duration))
        service_s.append(duration)
    return Queue(people, services, scenario.counters, service_s)


@dataclass
class Scrapes:
    """What Prometheus holds: one sample every SCRAPE_S from the edge's exposition."""

    occupancy: list[float] = field(default_factory=list)
    entries: list[float] = field(default_factory=list)
    exits: list[float] = field(default_factory=list)
    dwell_count: list[float] = field(default_factory=list)
    dwell_sum: list[float] = field(default_factory=list)
    buckets: dict[float, list[float]] = field(default_factory=dict)

    def take(self, registry: CollectorRegistry) -> None:
        samples: dict[tuple[str, str], float] = {}
        for family in registry.collect():
            for s in family.samples:
                if all(s.labels.get(k) == v for k, v in LABELS.items()):
                    samples[(s.name, s.labels.get("le", ""))] = s.value
        self.occupancy.append(samples.get((contract.ZONE_OCCUPANCY, ""), math.nan))
        self.entries.append(samples[(f"{contract.ZONE_ENTRIES}_total", "")])
        self.exits.append(samples[(f"{contract.ZONE_EXITS}_total", "")])
        self.dwell_count.append(samples[(f"{contract.ZONE_DWELL}_count", "")])
        self.dwell_sum.append(samples[(f"{contract.ZONE_DWELL}_sum", "")])
        for (name, le), value in samples.items():
            if name == f"{contract.ZONE_DWELL}_bucket":
                self.buckets.setdefault(float(le), []).append(value)


def _edge(scenario: Scenario) -> tuple[CollectorRegistry, EdgeMetrics, ZoneAccount]:
    config = Config.model_validate(
        {
            "site": SITE,
            "cameras": [
                {
                    "id": CAMERA,
                    "source": {"type": "file", "path": "simulated.mp4"},
                    "fps": scenario.fps,
                    "zones": [{"id": ZONE, "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
                }
            ],
        }
    )
    registry = CollectorRegistry()
    metrics = EdgeMetrics(registry, config, ModelInfo("simulated", "0" * 64, "none", "0x0"))
    account = ZoneAccount(ZONE, 1800.0, scenario.smoothing_frames, scenario.exit_grace_s)
    return registry, metrics, account


def observe(scenario: Scenario, queue: Queue, end_s: float, progress: bool) -> Scrapes:
    """The edge's view of the queue frame by frame, scraped every SCRAPE_S from an hour before
    opening (an empty room, as a camera that runs all night sees it) until end_s."""
    rng = random.Random(scenario.seed + 1)
    # A broken track: the person gets a new id part-way, as a tracker that lost them would give.
    broken_at = {
        i: rng.uniform(p.arrives_s, p.called_s)
        for i, p in enumerate(queue.people)
        if rng.random() < scenario.breaks
    }
    registry, metrics, account = _edge(scenario)
    scrapes = Scrapes()
    step = 1.0 / scenario.fps
    wall = 1_700_000_000.0  # labels only
    people = queue.people
    inside: set[int] = set()
    leaving: list[tuple[float, int]] = []
    next_arrival, frame, next_scrape = 0, 0, -3600.0
    t = -3600.0
    started = time.monotonic()
    while t <= end_s:
        while next_arrival < len(people) and people[next_arrival].arrives_s <= t:
            inside.add(next_arrival)
            heapq.heappush(leaving, (people[next_arrival].called_s, next_arrival))
            next_arrival += 1
        while leaving and leaving[0][0] <= t:
            inside.discard(heapq.heappop(leaving)[1])
        seen = [
            i + NEW_TRACK if t >= broken_at.get(i, math.inf) else i
            for i in sorted(inside)
            if rng.random() >= scenario.miss
        ]
        reading = account.update(len(seen), np.asarray(seen, np.int64), t)
        metrics.record_frame(CAMERA, wall + t, 0.05, [reading])
        while next_scrape <= t:
            scrapes.take(registry)
            next_scrape += SCRAPE_S
        frame += 1
        t = -3600.0 + frame * step
        if progress and frame % int(3600 * scenario.fps) == 0:
            print(
                f"  simulated up to {_clock(t)}: {next_arrival} arrived, {len(inside)} waiting "
                f"({time.monotonic() - started:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    return scrapes


def _clock(t: float) -> str:
    """Seconds since opening as the clock of a branch that opens at 08:00."""
    minutes = round(t / 60) + 8 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Moment:
    """The figures at one minute, and the truth they estimate."""

    t: float
    median_s: float | None
    p90_s: float | None
    mean_s: float | None
    little_s: float | None
    expected_s: float | None
    true_mean_s: float | None  # of the people called in the last hour
    true_median_s: float | None
    true_p90_s: float | None
    true_wait_now_s: float | None  # of someone arriving now (doors open only)


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def figures(scenario: Scenario, queue: Queue, scrapes: Scrapes, end_s: float) -> list[Moment]:
    """Every minute from opening to end_s: the contract's formulas on the scrapes, and the truth."""
    per_window = int(contract.WAIT_WINDOW_S / SCRAPE_S)
    per_recent = int(contract.EXPECTED_WAIT_WINDOW_S / SCRAPE_S)
    calls = sorted((p.called_s, p.wait_s) for p in queue.people)
    call_times = [c for c, _ in calls]
    close_s = scenario.open_hours * 3600.0
    moments = []
    t = EVAL_S
    while t <= end_s:
        k = round((t + 3600.0) / SCRAPE_S)  # the scrape at t; scrape 0 is an hour before opening
        w = k - per_window
        visits = scrapes.dwell_count[k] - scrapes.dwell_count[w]
        buckets = [(le, counts[k] - counts[w]) for le, counts in sorted(scrapes.buckets.items())]
        mean_occupancy = statistics.fmean(scrapes.occupancy[w : k + 1])
        first = bisect.bisect_right(call_times, t - contract.WAIT_WINDOW_S)
        ended = [
            wait for _, wait in calls[first : bisect.bisect_right(call_times, t)]
        ]  # called in the window
        moments.append(
            Moment(
                t=t,
                median_s=contract.dwell_quantile_s(0.5, buckets, visits),
                p90_s=contract.dwell_quantile_s(0.9, buckets, visits),
                mean_s=contract.dwell_mean_s(scrapes.dwell_sum[k] - scrapes.dwell_sum[w], visits),
                little_s=contract.little_wait_s(mean_occupancy, scrapes.entries[k] - scrapes.entries[w]),
                expected_s=contract.expected_wait_s(
                    scrapes.occupancy[k], scrapes.exits[k] - scrapes.exits[k - per_recent]
                ),
                true_mean_s=statistics.fmean(ended) if ended else None,
                true_median_s=statistics.median(ended) if ended else None,
                true_p90_s=_quantile(ended, 0.9) if ended else None,
                true_wait_now_s=queue.virtual_wait_s(t) if t < close_s else None,
            )
        )
        t += EVAL_S
    return moments


def _error(estimate: float | None, truth: float | None) -> float | None:
    if estimate is None or truth is None or truth <= 0:
        return None
    return estimate / truth - 1


@dataclass
class Phase:
    """The figures' errors (estimate / truth - 1) over the moments of one stretch of the day."""

    name: str
    moments: int
    lately_known: float | None  # share of moments with both "waited lately" means known
    mean_error: float | None  # median over the moments of |error| of the histogram's mean
    mean_within: float | None  # share of known moments within LATELY_TOLERANCE
    little_error: float | None
    little_within: float | None
    little_worst: float | None  # the error furthest from 0, with its sign
    median_error: float | None  # histogram median against the true median (bucket interpolation)
    p90_error: float | None
    expected_known: float | None  # share of moments (doors open) with an expected wait
    expected_error: float | None  # median |error| where the real wait is 5 min or more
    expected_within: float | None  # share of those within EXPECTED_TOLERANCE
    expected_bias: float | None  # sum of estimates / sum of real waits - 1, same moments
    short_said_short: float | None  # real wait under 5 min: share estimated under 10 min


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _median_abs(errors: Sequence[float]) -> float | None:
    return statistics.median(abs(e) for e in errors) if errors else None


def phase(name: str, moments: Sequence[Moment]) -> Phase:
    def errors(pairs: list[tuple[float | None, float | None]]) -> list[float]:
        return [e for estimate, truth in pairs if (e := _error(estimate, truth)) is not None]

    mean_errors = errors([(m.mean_s, m.true_mean_s) for m in moments])
    little_errors = errors([(m.little_s, m.true_mean_s) for m in moments])
    arriving = [(m.expected_s, m.true_wait_now_s) for m in moments if m.true_wait_now_s is not None]
    said = [(e, w) for e, w in arriving if e is not None and w is not None]
    long = [(e, w) for e, w in said if w >= SHORT_WAIT_S]
    short = [(e, w) for e, w in said if w < SHORT_WAIT_S]
    expected_errors = [e / w - 1 for e, w in long]
    return Phase(
        name=name,
        moments=len(moments),
        lately_known=_share([m.little_s is not None and m.mean_s is not None for m in moments]),
        mean_error=_median_abs(mean_errors),
        mean_within=_share([abs(e) <= LATELY_TOLERANCE for e in mean_errors]),
        little_error=_median_abs(little_errors),
        little_within=_share([abs(e) <= LATELY_TOLERANCE for e in little_errors]),
        little_worst=max(little_errors, key=abs) if little_errors else None,
        median_error=_median_abs(errors([(m.median_s, m.true_median_s) for m in moments])),
        p90_error=_median_abs(errors([(m.p90_s, m.true_p90_s) for m in moments])),
        expected_known=_share([e is not None for e, _ in arriving]),
        expected_error=_median_abs(expected_errors),
        expected_within=_share([abs(e) <= EXPECTED_TOLERANCE for e in expected_errors]),
        expected_bias=sum(e for e, _ in long) / sum(w for _, w in long) - 1 if long else None,
        short_said_short=_share([e < 2 * SHORT_WAIT_S for e, _ in short]) if short else None,
    )


@dataclass
class Day:
    """Both "waited lately" means over one window from an hour before opening to the empty room,
    against everyone's mean wait."""

    true_mean_s: float
    mean_s: float | None
    little_s: float | None


@dataclass
class Result:
    scenario: Scenario
    people: int
    longest_wait_s: float
    day: Day
    phases: list[Phase]


def whole_day(queue: Queue, scrapes: Scrapes) -> Day:
    """The contract's formulas over the whole day: every visit lies inside this window."""
    last = len(scrapes.occupancy) - 1
    window_s = last * SCRAPE_S
    visits = scrapes.dwell_count[last]
    return Day(
        true_mean_s=statistics.fmean(p.wait_s for p in queue.people),
        mean_s=contract.dwell_mean_s(scrapes.dwell_sum[last], visits),
        little_s=contract.little_wait_s(statistics.fmean(scrapes.occupancy), scrapes.entries[last], window_s),
    )


def run(scenario: Scenario, progress: bool = True) -> Result:
    queue = simulate_queue(scenario)
    last_call = max(p.called_s for p in queue.people)
    end_s = math.ceil((last_call + 1800.0) / 3600.0) * 3600.0  # half an hour or more after the last call
    if progress:
        print(
            f"queue: {len(queue.people)} people over {scenario.open_hours:g} h, {scenario.counters} "
            f"counters; the edge at {scenario.fps:g} frames/s from 07:00 until {_clock(end_s)}",
            file=sys.stderr,
            flush=True,
        )
    scrapes = observe(scenario, queue, end_s, progress)
    moments = figures(scenario, queue, scrapes, end_s)
    close_s = scenario.open_hours * 3600.0
    stretches = [
        ("queue just opened: first 15 min", 0.0, 900.0),
        ("rest of the first hour", 900.0, 3600.0),
        ("steady: from an hour after opening to closing", 3600.0, close_s),
        ("last hour of the day: doors shut, room empties", close_s, end_s),
    ]
    phases = [phase(name, [m for m in moments if start < m.t <= stop]) for name, start, stop in stretches]
    return Result(
        scenario, len(queue.people), max(p.wait_s for p in queue.people), whole_day(queue, scrapes), phases
    )


def _pct(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.0f}%" if sign else f"{100 * value:.0f}%"


def report(result: Result) -> list[str]:
    day = result.day
    day_errors = [
        _pct(_error(day.mean_s, day.true_mean_s), True),
        _pct(_error(day.little_s, day.true_mean_s), True),
    ]
    lines = [
        f"{result.people} people, mean wait {_minutes(day.true_mean_s)}, "
        f"longest {_minutes(result.longest_wait_s)}",
        f"whole day as one window: histogram mean {_minutes(day.mean_s)}, "
        f"Little's law {_minutes(day.little_s)} (errors {day_errors[0]}, {day_errors[1]})",
        "",
        "waited lately (last hour) against the true mean of the people called in it; each minute's error,",
        "median of |error| and share within 10 %; median and p90 from the buckets against the true ones:",
        f"{'':48} {'known':>5} {'mean':>5} {'<=10%':>5} {'Little':>6} {'<=10%':>5} {'worst':>6} "
        f"{'median':>6} {'p90':>4}",
    ]
    for p in result.phases:
        lines.append(
            f"{p.name:48} {_pct(p.lately_known):>5} {_pct(p.mean_error):>5} {_pct(p.mean_within):>5} "
            f"{_pct(p.little_error):>6} {_pct(p.little_within):>5} {_pct(p.little_worst, True):>6} "
            f"{_pct(p.median_error):>6} {_pct(p.p90_error):>4}"
        )
    lines += [
        "",
        "expected wait for someone arriving now, against what a person arriving then waits (real wait",
        ">= 5 min: median |error|, share within 25 %, bias; under 5 min: share said to be under 10 min):",
        f"{'':48} {'known':>5} {'|error|':>7} {'<=25%':>5} {'bias':>5} {'<5 min':>6}",
    ]
    for p in result.phases[:-1]:  # after closing nobody arrives
        lines.append(
            f"{p.name:48} {_pct(p.expected_known):>5} {_pct(p.expected_error):>7} "
            f"{_pct(p.expected_within):>5} {_pct(p.expected_bias, True):>5} {_pct(p.short_said_short):>6}"
        )
    return lines


def _minutes(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds / 60:.1f} min"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=Scenario.seed)
    parser.add_argument("--open-hours", type=float, default=Scenario.open_hours)
    parser.add_argument("--counters", type=int, default=Scenario.counters)
    parser.add_argument(
        "--miss", type=float, default=Scenario.miss, help="chance a person is missed in a frame"
    )
    parser.add_argument(
        "--breaks", type=float, default=Scenario.breaks, help="chance a person's track breaks"
    )
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON line")
    args = parser.parse_args(argv)
    steady, rush = Scenario.arrivals_per_hour[0], Scenario.arrivals_per_hour[-1]
    hours = max(1, math.ceil(args.open_hours))
    rates = (*(steady,) * (hours - 1), rush)  # the default day, longer or shorter: a rush at the end
    scenario = Scenario(
        seed=args.seed,
        open_hours=args.open_hours,
        counters=args.counters,
        arrivals_per_hour=rates,
        miss=args.miss,
        breaks=args.breaks,
    )
    result = run(scenario)
    for line in report(result):
        print(line)
    if args.json:
        print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# --- Simulated branch weeks: the forecast, the early warning and the counters advice ------------
# Weeks of a branch (Monday to Friday, German public holidays closed) with a weekly arrival profile,
# each day's own level and random surges. Every minute while open the API's pure functions run on
# what the branch has counted so far: the arrival forecast (api/forecast.py) on the 15-minute
# arrivals of earlier steps, the service rate and the occupancy forecast (wartezone_contract) on
# the last hour's minutes, the early warning, and the counters needed. The counts are the true
# ones (a perfect edge; the frame-by-frame accounting above measures the edge's own errors) so
# that weeks simulate in seconds. benchmarks/forecast.py scores it.

BRANCH_STEP_S = 900
MINUTE_S = 60.0
SPREADS = (0.0, 0.5, 1.0, 1.5, 2.0)  # the warning's spread (api/forecast.py) traced on fixed counters


@dataclass(frozen=True)
class BranchScenario:
    seed: int = 11
    weeks: int = 20
    warmup_weeks: int = 4  # scored from this week on, once the weekday profile has seen a few weeks
    first_day: date = date(2026, 3, 2)  # a Monday; Good Friday, Easter Monday and 1 May fall inside
    subdiv: str = "BY"  # the German state whose public holidays close the branch
    opens_h: int = 8
    arrivals_per_hour: tuple[float, ...] = (30.0, 44.0, 48.0, 38.0, 30.0, 40.0, 36.0, 24.0)  # by hour open
    weekday_factor: tuple[float, ...] = (1.25, 1.0, 0.8, 1.15, 0.9)  # Monday .. Friday
    day_spread: float = 0.1  # each day's level: lognormal with this spread
    surge_chance: float = 0.3  # a day has a surge (a bus, a letter sent to many) with this chance
    surge_per_hour: tuple[float, float] = (20.0, 40.0)  # extra arrivals per hour during it
    surge_minutes: tuple[float, float] = (30.0, 75.0)
    service_mean_s: float = 360.0
    service_cv: float = 0.4
    counters: int = 5  # the fixed staffing, and the advice's start before it knows anything
    max_counters: int = 8
    open_delay_s: float = 300.0  # an extra counter opens this long after the advice asks for it
    close_after_s: float = 900.0  # one closes after the advice has asked for fewer this long
    backlog: bool = True  # counters needed also serve the people waiting now within the half hour
    raise_level: int = 15  # the alert rule (api/rules.py defaults for the durations)
    clear_level: int = 8
    min_above_s: float = 60.0
    min_below_s: float = 60.0
    cooldown_s: float = 300.0
    warn_ahead_s: float = 1200.0
    target_s: float = contract.TARGET_WAIT_S
    level: float = contract.WAIT_LONGER_LEVEL

    @property
    def hours_open(self) -> int:
        return len(self.arrivals_per_hour)

    def scaled(self, factor: float) -> BranchScenario:
        """A branch `factor` times as large: arrivals, surges, counters and the rule's levels times
        `factor`, the load per counter the same. The queue's own chance weighs less in a larger
        room (its spread grows as the square root of its size)."""
        if not factor > 0:
            raise ValueError(f"factor: above 0, got {factor}")
        return replace(
            self,
            arrivals_per_hour=tuple(a * factor for a in self.arrivals_per_hour),
            surge_per_hour=(self.surge_per_hour[0] * factor, self.surge_per_hour[1] * factor),
            counters=max(1, round(self.counters * factor)),
            max_counters=max(1, round(self.max_counters * factor)),
            raise_level=max(1, round(self.raise_level * factor)),
            clear_level=max(0, round(self.clear_level * factor)),
        )


@dataclass
class BranchDay:
    """One open day, minute by minute from opening until the room is empty."""

    day: date
    scored: bool
    waiting: list[int] = field(default_factory=list)  # at the start of each minute
    arrivals: list[int] = field(default_factory=list)  # in each minute
    exits: list[int] = field(default_factory=list)
    counters: list[int] = field(default_factory=list)
    warning_s: list[float | None] = field(default_factory=list)  # early_warning's answer (open minutes)
    forecast: list[list[float] | None] = field(default_factory=list)  # the occupancy path then
    # early_warning's answer at each of SPREADS (fixed counters only: the trade-off's curve)
    warning_by_spread: list[tuple[float | None, ...]] = field(default_factory=list)
    in_service: list[tuple[float, ...]] = field(default_factory=list)  # each busy counter's service left, s
    waits_s: list[float] = field(default_factory=list)  # of everyone who came that day
    level: float = 1.0  # the day's arrivals against the weekly profile
    surge: tuple[float, float, float] | None = None  # (start, end) seconds after opening, rate per second


@dataclass(frozen=True)
class PlannedStep:
    """At a step's start, what counters_by_step gave a step `ahead` steps later, what that step's
    true arrival rate (a surge too, begun or not) and service time needed, and the running step's
    own need by the forecast held for it: the plan without foresight."""

    ahead: int
    planned: int
    needed: int
    held: int


@dataclass
class BranchRun:
    policy: str
    days: list[BranchDay]
    arrival_forecasts: list[tuple[int, float, float]]  # (step index, forecast 1 step ahead, truth)
    plans: list[PlannedStep] = field(default_factory=list)  # fixed counters, the forecast's own


def _true_rate(scenario: BranchScenario, day: BranchDay, t: float) -> float:
    """Arrivals per second expected at t seconds after opening: the hour's rate times the day's
    level, plus the surge's while it lasts."""
    if not 0 <= t < scenario.hours_open * 3600:
        return 0.0
    rate = scenario.arrivals_per_hour[int(t // 3600)] * day.level / 3600
    if day.surge is not None and day.surge[0] <= t < day.surge[1]:
        rate += day.surge[2]
    return rate


def _arrival_times(scenario: BranchScenario, rng: random.Random, day: BranchDay) -> list[float]:
    """One day's arrivals (seconds after opening): Poisson at _true_rate, by thinning; a surge
    on some days."""
    if rng.random() < scenario.surge_chance:
        length = rng.uniform(*scenario.surge_minutes) * 60
        start = rng.uniform(0, scenario.hours_open * 3600 - length)
        day.surge = (start, start + length, rng.uniform(*scenario.surge_per_hour) / 3600)
    top = max(scenario.arrivals_per_hour) * day.level / 3600 + (day.surge[2] if day.surge else 0.0)
    times: list[float] = []
    t = 0.0
    while True:
        t += rng.expovariate(top)
        if t >= scenario.hours_open * 3600:
            return times
        if rng.random() * top < _true_rate(scenario, day, t):
            times.append(t)


def _as_known(day: BranchDay, now_s: float) -> BranchDay:
    """The day as it can be known `now_s` seconds after opening: a surge once it has begun (no
    forecast can know one before; foresight gained the true-rates row little, docs/lead.md)."""
    return day if day.surge is None or day.surge[0] <= now_s else replace(day, surge=None)


def _true_forecast(
    scenario: BranchScenario, day: BranchDay, origin: int, steps: int, now_s: float
) -> ArrivalForecast:
    """What the arrival forecast would be `now_s` seconds after opening if it knew the day's
    rates, a surge from its start: the early warning's best case from the rates
    (benchmarks/forecast.py's row "true rates")."""
    day = _as_known(day, now_s)
    per_day = 86400 // BRANCH_STEP_S
    counts = []
    for index in range(origin, origin + steps):
        start = (index % per_day) * BRANCH_STEP_S - scenario.opens_h * 3600
        counts.append(
            sum(
                _true_rate(scenario, day, start + m * MINUTE_S) * MINUTE_S for m in range(BRANCH_STEP_S // 60)
            )
        )
    return ArrivalForecast(origin, tuple(counts), "weekday", 1.0)


def _need(scenario: BranchScenario, arrival_rate: float, service_rate: float) -> int | None:
    """Erlang C's counters for the scenario's target; None beyond any branch."""
    try:
        return contract.counters_needed(arrival_rate, service_rate, scenario.target_s, scenario.level)
    except ValueError:
        return None


def planned_steps(
    scenario: BranchScenario,
    day: BranchDay,
    now_s: float,
    forecast: ArrivalForecast,
    rate: float,
    surge: float,
) -> list[PlannedStep]:
    """The next hour's counters by quarter hour at a step's start `now_s` after opening, against
    each step's true need; steps that start after closing are left out."""
    planned = counters_by_step(forecast, BRANCH_STEP_S, 0.0, rate, surge, scenario.target_s, scenario.level)
    held = _need(scenario, forecast.counts[0] * surge / BRANCH_STEP_S, rate)
    steps = []
    for ahead in range(1, NEXT_HOUR_STEPS + 1):
        start = now_s + ahead * BRANCH_STEP_S
        if start >= scenario.hours_open * 3600:
            break
        minutes = [_true_rate(scenario, day, start + m * MINUTE_S) for m in range(BRANCH_STEP_S // 60)]
        needed = _need(scenario, statistics.fmean(minutes), 1 / scenario.service_mean_s)
        plan = planned[ahead - 1]
        if plan is not None and needed is not None and held is not None:  # else beyond any branch
            steps.append(PlannedStep(ahead, plan, needed, held))
    return steps


def _advice(scenario: BranchScenario, rates: Sequence[float], rate: float, waiting: int) -> int:
    """Counters needed for the next half hour's forecast arrivals (and the people waiting now,
    as if they came within it), within 1 .. max_counters."""
    try:
        needed = counters_advice(
            rates, rate, waiting if scenario.backlog else 0, scenario.target_s, scenario.level
        )
    except ValueError:  # beyond any branch: as many as there are
        needed = scenario.max_counters
    return min(scenario.max_counters, max(1, needed))


def _settle(run_: BranchRun, index: int, arrived: int) -> None:
    """The truth for the step's arrival forecast, once the step has ended."""
    if run_.arrival_forecasts and run_.arrival_forecasts[-1][0] == index:
        run_.arrival_forecasts[-1] = (index, run_.arrival_forecasts[-1][1], float(arrived))


def simulate_branch_run(
    scenario: BranchScenario, policy: str, progress: bool = False, true_rates: bool = False
) -> BranchRun:
    """The branch's weeks with "fixed" counters or the counters "advice" followed; the same
    arrivals (seed) for both. true_rates: the forecasts know each day's real arrival rates (a surge
    from its start)."""
    if policy not in ("fixed", "advice"):
        raise ValueError(f"policy: 'fixed' or 'advice', got {policy!r}")
    closed = public_holidays("DE", scenario.subdiv)
    skip = skip_days(closed)
    rng = random.Random(scenario.seed)
    service_rng = random.Random(scenario.seed + 1)
    sigma = math.sqrt(math.log(1 + scenario.service_cv**2))
    mu = math.log(scenario.service_mean_s) - sigma**2 / 2
    per_day = 86400 // BRANCH_STEP_S
    counts: list[float | None] = [None] * (scenario.weeks * 7 * per_day)
    series = ArrivalSeries(scenario.first_day, BRANCH_STEP_S, counts)  # filled step by step
    opens_s = scenario.opens_h * 3600
    close_s = scenario.hours_open * 3600.0
    run_ = BranchRun(policy + (", true rates" if true_rates else ""), [], [])
    rate_known: float | None = None
    surge_minutes = int(SURGE_WINDOW_S // MINUTE_S)
    days = range(scenario.weeks * 7)
    for offset in tqdm(days, desc=f"branch days ({policy})", unit="day", disable=not progress):
        today = scenario.first_day + timedelta(days=offset)
        base = offset * per_day
        if today.weekday() >= 5 or today in closed:
            counts[base : base + per_day] = [0.0] * per_day
            continue
        level = scenario.weekday_factor[today.weekday()] * rng.lognormvariate(0, scenario.day_spread)
        day = BranchDay(today, offset >= 7 * scenario.warmup_weeks, level=level)
        arrivals = _arrival_times(scenario, rng, day)
        counts[base : base + opens_s // BRANCH_STEP_S] = [0.0] * (opens_s // BRANCH_STEP_S)
        queue: deque[float] = deque()
        busy: list[float] = []
        open_now, pending, fewer_since = scenario.counters, None, None
        next_arrival, step_arrivals, t = 0, 0, 0.0
        while t < close_s or queue or busy:
            doors_open = t < close_s
            minute = len(day.waiting)
            origin = base + (opens_s + int(t)) // BRANCH_STEP_S
            if doors_open and minute and (opens_s + int(t)) % BRANCH_STEP_S == 0:
                counts[origin - 1] = float(step_arrivals)  # the step just ended is known now
                _settle(run_, origin - 1, step_arrivals)
                step_arrivals = 0
            window = slice(max(0, minute - int(contract.SERVICE_RATE_WINDOW_S / MINUTE_S)), minute)
            rate_known = (
                contract.service_rate(day.exits[window], day.counters[window], day.waiting[window], MINUTE_S)
                or rate_known
            )
            warning, path = None, None
            by_spread: tuple[float | None, ...] = tuple(None for _ in SPREADS)
            if not doors_open:
                ahead = None
            elif true_rates:
                ahead = _true_forecast(scenario, day, origin, 3, t)
            else:
                ahead = forecast_arrivals(series, origin, skip, steps=3)
            if ahead is not None and (opens_s + int(t)) % BRANCH_STEP_S == 0 and day.scored:
                run_.arrival_forecasts.append((origin, ahead.counts[0], math.nan))
            if ahead is not None and rate_known is not None:
                seen = queue_outlook(
                    ahead,
                    BRANCH_STEP_S,
                    (opens_s + int(t)) % BRANCH_STEP_S,
                    len(queue),
                    rate_known,
                    open_now,
                    scenario.raise_level,
                    True,
                    scenario.warn_ahead_s,
                    min_above_s=scenario.min_above_s,
                    # the minutes before opening are known too, and nobody came in them; rates
                    # that include the surge need no surge check
                    recent=None
                    if true_rates
                    else RecentArrivals.latest(sum(day.arrivals[-surge_minutes:]), SURGE_WINDOW_S),
                )
                assert seen.arrival_rates is not None and seen.occupancy is not None
                rates, path, warning = seen.arrival_rates, list(seen.occupancy), seen.warning_s
                at_step = (opens_s + int(t)) % BRANCH_STEP_S == 0
                if policy == "fixed" and not true_rates and at_step and day.scored:
                    longer = forecast_arrivals(series, origin, skip, steps=NEXT_HOUR_STEPS + 1)
                    if longer is not None:
                        run_.plans.extend(planned_steps(scenario, day, t, longer, rate_known, seen.surge))
                if policy == "fixed":
                    by_spread = tuple(
                        early_warning(
                            len(queue),
                            contract.occupancy_forecast(len(queue), rates, rate_known, open_now, spread=k),
                            MINUTE_S,
                            scenario.raise_level,
                            True,
                            scenario.warn_ahead_s,
                            scenario.min_above_s,
                        )
                        for k in SPREADS
                    )
                if policy == "advice":
                    needed = _advice(scenario, rates, rate_known, len(queue))
                    if minute == 0:
                        open_now = needed  # the day's plan: set before the doors open
                    elif needed > open_now:
                        pending = pending if pending is not None else t + scenario.open_delay_s
                        fewer_since = None
                    elif needed < open_now:
                        fewer_since = t if fewer_since is None else fewer_since
                        pending = None
                        if t - fewer_since >= scenario.close_after_s:
                            open_now, fewer_since = open_now - 1, None
                    else:
                        pending = fewer_since = None
                    if pending is not None and t >= pending:
                        open_now, pending = needed, None
            day.warning_s.append(warning)
            day.warning_by_spread.append(by_spread)
            day.in_service.append(tuple(end - t for end in sorted(busy)))
            day.forecast.append(path)
            day.waiting.append(len(queue))
            day.counters.append(open_now)
            came, called_before = 0, len(day.waits_s)

            def call(arrived: float, at: float, day: BranchDay = day, busy: list[float] = busy) -> None:
                day.waits_s.append(at - arrived)
                heapq.heappush(busy, at + service_rng.lognormvariate(mu, sigma))

            while queue and len(busy) < open_now:
                call(queue.popleft(), t)
            end = t + MINUTE_S
            while True:
                arrive = arrivals[next_arrival] if next_arrival < len(arrivals) else math.inf
                free = busy[0] if busy else math.inf
                if min(arrive, free) >= end:
                    break
                if free <= arrive:
                    heapq.heappop(busy)
                    if queue and len(busy) < open_now:
                        call(queue.popleft(), free)
                    continue
                next_arrival += 1
                came += 1
                if not queue and len(busy) < open_now:
                    call(arrive, arrive)
                else:
                    queue.append(arrive)
            day.arrivals.append(came)
            day.exits.append(len(day.waits_s) - called_before)
            step_arrivals += came
            t = end
        # the rest of the day after closing: nobody arrives
        last_open = base + (opens_s + int(close_s)) // BRANCH_STEP_S
        counts[last_open - 1] = float(step_arrivals)
        _settle(run_, last_open - 1, step_arrivals)
        counts[last_open : base + per_day] = [0.0] * (base + per_day - last_open)
        run_.days.append(day)
    return run_


def alert_times(day: BranchDay, scenario: BranchScenario) -> list[tuple[float, float]]:
    """(fired, resolved) seconds after opening, by the API's rule on the minute readings while
    open: at or above raise_level for min_above_s fires, at or below clear_level for min_below_s
    resolves, no new alert within cooldown_s of a resolve; closing resolves."""
    close_s = scenario.hours_open * 3600.0
    alerts: list[tuple[float, float]] = []
    above = below = fired = None
    resolved = -math.inf
    for minute, waiting in enumerate(day.waiting):
        t = minute * MINUTE_S
        if t >= close_s:
            break
        above = (above if above is not None else t) if waiting >= scenario.raise_level else None
        if fired is not None:
            below = (below if below is not None else t) if waiting <= scenario.clear_level else None
            if below is not None and t - below >= scenario.min_below_s:
                alerts.append((fired, t))
                fired, below, resolved = None, None, t
            continue
        if above is not None and t - above >= scenario.min_above_s and t >= resolved + scenario.cooldown_s:
            fired = t
    if fired is not None:
        alerts.append((fired, close_s))
    return alerts


WARNED_AHEAD_S = 600.0  # an alert counts as warned when a warning began at least this long before


@dataclass(frozen=True)
class WarningScore:
    """Early warnings against the alerts of the scored days, on fixed counters only: there the
    warning changes nothing that follows, while with the advice followed a warning that had a
    counter opened averts its alert and would read as false.

    An alert fires by the API's rule on the minute readings (alert_times: at or above the raise
    level for min_above_s, outside the cooldown, while open). A warning is an episode
    (warning_episodes: a run of warned minutes outside an alert, gaps under WARNING_HOLD_S
    bridged, as the banner holds). Recall: the share of alerts with an episode that began at least
    WARNED_AHEAD_S before the alert fired and ended no more than warn_ahead_s before it. False
    share (1 - precision): the share of episodes with no alert firing from their start until
    warn_ahead_s after their end. Lead: from the first such episode's start to the alert."""

    alerts: int
    warned: int  # alerts with a warning that began WARNED_AHEAD_S or more before they fired
    warnings: int  # warning episodes (runs of warned minutes outside an alert)
    followed: int  # warnings followed by an alert within warn_ahead_s of their end
    median_lead_s: float | None  # from the first warning before each warned alert to its firing

    @property
    def recall(self) -> float | None:
        return self.warned / self.alerts if self.alerts else None

    @property
    def false_share(self) -> float | None:
        return 1 - self.followed / self.warnings if self.warnings else None


def warning_episodes(day: BranchDay, alerts: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(start, end) seconds of the warnings while no alert was on: runs of minutes with a
    warning, each held WARNING_HOLD_S after its last minute (a banner that does not flicker)."""
    episodes: list[tuple[float, float]] = []
    start = None
    for minute, ahead in enumerate([*day.warning_s, None]):
        t = minute * MINUTE_S
        alert_on = any(fired <= t < resolved for fired, resolved in alerts)
        on = ahead is not None and not alert_on
        if on and start is None:
            held = episodes and t - episodes[-1][1] < WARNING_HOLD_S  # still held: the same warning
            start = episodes.pop()[0] if held else t
        elif not on and start is not None:
            episodes.append((start, t))
            start = None
    return episodes


WARNING_VARIANTS = (
    ("as is", 1, None),
    ("2 minutes in a row", 2, None),
    ("5 minutes in a row", 5, None),
    ("within 10 minutes only", 1, 600.0),
)
BEST_CASE_LEVELS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # warn where alert_chances is at least this


def by_spread(day: BranchDay, spread: float) -> BranchDay:
    """The day as warned with the occupancy band's `spread` (one of SPREADS) instead of
    api/forecast.py's OCCUPANCY_SPREAD."""
    k = SPREADS.index(spread)
    return replace(day, warning_s=[w[k] for w in day.warning_by_spread])


def alert_chances(
    day: BranchDay, scenario: BranchScenario, paths: int, rng: np.random.Generator, tick_s: float = 5.0
) -> list[float | None]:
    """The best any early warning can do: at each open minute outside an alert, the chance that
    the alert fires within warn_ahead_s, by Monte Carlo from the true state: the people waiting,
    each busy counter's service left, the day's real arrival rates (a surge once it has begun:
    _as_known), the real service-time distribution, the rule's min_above_s, cooldown and closing.
    Fixed counters; the only unknowns are the future's own chance and a surge still to come.
    (tick_s: the arrivals' and calls' time step.)"""
    sigma = math.sqrt(math.log(1 + scenario.service_cv**2))
    mu = math.log(scenario.service_mean_s) - sigma**2 / 2
    close_s = scenario.hours_open * 3600.0
    alerts = alert_times(day, scenario)
    minutes = int(scenario.warn_ahead_s // MINUTE_S)
    held = math.ceil(scenario.min_above_s / MINUTE_S)
    counters = scenario.counters
    chances: list[float | None] = []

    def call(queue: Any, left: Any) -> None:  # idle counters take the next waiting, as the day's loop
        while True:
            idle = left <= 0
            rows = np.nonzero(idle.any(axis=1) & (queue > 0))[0]
            if not len(rows):
                return
            free = np.argmax(idle[rows], axis=1)
            left[rows, free] = np.maximum(left[rows, free], 0) + rng.lognormal(mu, sigma, len(rows))
            queue[rows] -= 1

    for minute, in_service in enumerate(day.in_service):
        t0 = minute * MINUTE_S
        if t0 >= close_s or any(fired <= t0 < resolved for fired, resolved in alerts):
            chances.append(None)
            continue
        cool_until = max((r + scenario.cooldown_s for _, r in alerts if r <= t0), default=-math.inf)
        known = _as_known(day, t0)
        queue = np.full(paths, day.waiting[minute], np.int64)
        left = np.full((paths, counters), -1.0)
        left[:, : len(in_service)] = in_service
        earlier = [day.waiting[minute - k] if minute >= k else 0 for k in range(held, 0, -1)]
        runs = [np.full(paths, w >= scenario.raise_level) for w in earlier] + [queue >= scenario.raise_level]
        fires = np.zeros(paths, bool)
        t = t0
        for k in range(minutes + 1):
            if k:
                call(queue, left)
                for _ in range(int(MINUTE_S / tick_s)):
                    queue += rng.poisson(_true_rate(scenario, known, t) * tick_s, paths)
                    left -= tick_s
                    t += tick_s
                    call(queue, left)
                runs = [*runs[1:], queue >= scenario.raise_level]
            at = t0 + k * MINUTE_S
            if at >= cool_until and at < close_s:
                fires |= np.logical_and.reduce(runs)
        chances.append(float(fires.mean()))
    return chances


def filtered(day: BranchDay, minutes: int = 1, within_s: float | None = None) -> BranchDay:
    """The day with its warnings only from the `minutes`-th warned minute in a row on, and only
    those that reach the raise level within `within_s`: ways to trade recall for precision."""
    kept: list[float | None] = []
    streak = 0
    for ahead in day.warning_s:
        ahead = ahead if ahead is not None and (within_s is None or ahead <= within_s) else None
        streak = streak + 1 if ahead is not None else 0
        kept.append(ahead if streak >= minutes else None)
    return replace(day, warning_s=kept)


def score_warnings(days: Sequence[BranchDay], scenario: BranchScenario) -> WarningScore:
    alerts = warned = warnings = followed = 0
    leads: list[float] = []
    for day in days:
        fired_at = [fired for fired, _ in alert_times(day, scenario)]
        episodes = warning_episodes(day, alert_times(day, scenario))
        warnings += len(episodes)
        followed += sum(
            any(start <= f <= end + scenario.warn_ahead_s for f in fired_at) for start, end in episodes
        )
        for fired in fired_at:
            alerts += 1
            # the chain of warnings that led up to it: each ended within warn_ahead_s of the next
            starts = [s for s, e in episodes if s <= fired <= e + scenario.warn_ahead_s]
            if starts:
                lead = fired - min(starts)
                leads.append(lead)
                warned += lead >= WARNED_AHEAD_S
    return WarningScore(alerts, warned, warnings, followed, statistics.median(leads) if leads else None)


@dataclass(frozen=True)
class Staffing:
    people: int
    over_target: float  # share of people who waited longer than the target
    p90_wait_s: float
    counter_hours_per_day: float
    alerts: int


def staffing(days: Sequence[BranchDay], scenario: BranchScenario) -> Staffing:
    waits = [w for d in days for w in d.waits_s]
    open_minutes = int(scenario.hours_open * 3600 / MINUTE_S)
    return Staffing(
        people=len(waits),
        over_target=sum(w > scenario.target_s for w in waits) / len(waits) if waits else 0.0,
        p90_wait_s=_quantile(waits, 0.9) if waits else 0.0,
        counter_hours_per_day=statistics.fmean(sum(d.counters[:open_minutes]) / 60 for d in days)
        if days
        else 0.0,
        alerts=sum(len(alert_times(d, scenario)) for d in days),
    )


@dataclass(frozen=True)
class PlanScore:
    """The counters by quarter hour `ahead` steps ahead against each step's true need: the share
    exact and within one counter, and the mean error (above 0: more than needed); the same for
    the running step's need held (no foresight)."""

    ahead: int
    steps: int
    exact: float
    within_one: float
    bias: float
    held_exact: float
    held_within_one: float
    held_bias: float


def plan_score(plans: Sequence[PlannedStep], ahead: int) -> PlanScore | None:
    steps = [p for p in plans if p.ahead == ahead]
    if not steps:
        return None

    def shares(guesses: list[int]) -> tuple[float, float, float]:
        errors = [guess - step.needed for guess, step in zip(guesses, steps, strict=True)]
        return (
            sum(e == 0 for e in errors) / len(errors),
            sum(abs(e) <= 1 for e in errors) / len(errors),
            statistics.fmean(errors),
        )

    return PlanScore(ahead, len(steps), *shares([p.planned for p in steps]), *shares([p.held for p in steps]))


@dataclass(frozen=True)
class OccupancyError:
    """The occupancy forecast warn_ahead_s ahead against what came, over the scored open minutes."""

    minutes: int
    mae: float  # people
    bias: float  # forecast minus what came, people: below 0 the forecast runs low
    truth_mean: float


def occupancy_error(days: Sequence[BranchDay], scenario: BranchScenario) -> OccupancyError:
    ahead = int(scenario.warn_ahead_s / MINUTE_S)
    errors, truths = [], []
    for day in days:
        for minute, path in enumerate(day.forecast):
            if path is not None and minute + ahead < len(day.waiting) and len(path) >= ahead:
                errors.append(path[ahead - 1] - day.waiting[minute + ahead])
                truths.append(day.waiting[minute + ahead])
    if not errors:
        return OccupancyError(0, 0.0, 0.0, 0.0)
    return OccupancyError(
        len(errors),
        statistics.fmean(abs(e) for e in errors),
        statistics.fmean(errors),
        statistics.fmean(truths),
    )


@dataclass
class BranchResult:
    scenario: BranchScenario
    fixed: BranchRun
    advice: BranchRun
    true_rates: BranchRun  # fixed counters, the forecast knowing the real rates (a surge from its start)
    chances: dict[date, list[float | None]] = field(default_factory=dict)  # alert_chances, fixed days

    def best_case(self) -> list[tuple[float, WarningScore]]:
        """Warnings where the true-state chance of the alert (alert_chances) is at least each of
        BEST_CASE_LEVELS, scored like the rest; empty unless chances were computed."""
        days = [d for d in self.scored(self.fixed) if d.day in self.chances]
        if not days:
            return []
        return [
            (
                at_least,
                score_warnings(
                    [
                        replace(
                            d,
                            warning_s=[
                                0.0 if c is not None and c >= at_least else None for c in self.chances[d.day]
                            ],
                        )
                        for d in days
                    ],
                    self.scenario,
                ),
            )
            for at_least in BEST_CASE_LEVELS
        ]

    @property
    def runs(self) -> tuple[BranchRun, ...]:
        return (self.fixed, self.advice, self.true_rates)

    def scored(self, run_: BranchRun) -> list[BranchDay]:
        return [d for d in run_.days if d.scored]

    def figures(self) -> dict[str, object]:
        out: dict[str, object] = {"scenario": asdict(self.scenario)}
        for run_ in self.runs:
            days = self.scored(run_)
            fixed = run_.policy.startswith("fixed")
            out[run_.policy] = {
                "warnings": asdict(score_warnings(days, self.scenario)) if fixed else None,
                "staffing": asdict(staffing(days, self.scenario)),
                "occupancy": asdict(occupancy_error(days, self.scenario)),
                "surge_days": sum(d.surge is not None for d in days),
                "days": len(days),
            }
        out["trade_off"] = {
            run_.policy: {
                str(k): asdict(score_warnings([by_spread(d, k) for d in self.scored(run_)], self.scenario))
                for k in SPREADS
            }
            for run_ in (self.fixed, self.true_rates)
        }
        out["best_case"] = {str(k): asdict(w) for k, w in self.best_case()}
        out["counters_by_step"] = {
            str(ahead): asdict(score) if (score := plan_score(self.fixed.plans, ahead)) else None
            for ahead in range(1, NEXT_HOUR_STEPS + 1)
        }
        return out

    def report(self) -> list[str]:
        s = self.scenario
        lines = [
            f"b) simulated branch: {s.weeks} weeks from {s.first_day} (Mon-Fri, {s.opens_h}:00 for "
            f"{s.hours_open} h, holidays in DE-{s.subdiv} closed), scored after {s.warmup_weeks} weeks; "
            f"raise {s.raise_level} for {s.min_above_s:g} s, clear {s.clear_level}, "
            f"warn {s.warn_ahead_s / 60:.0f} min ahead, "
            f"target {s.target_s / 60:.0f} min",
            f"{'counters':22} {'days':>4} {'surges':>6} {'alerts':>6} {'warned>=10':>10} {'warnings':>8} "
            f"{'false':>6} {'lead':>6} {'occ MAE (bias)':>14} {'>target':>7} {'p90 wait':>8} "
            f"{'ctr-h/day':>9}",
        ]
        for run_ in self.runs:
            days = self.scored(run_)
            w, st, occ = (
                score_warnings(days, s),
                staffing(days, s),
                occupancy_error(days, s),
            )
            name = {"fixed": f"fixed {s.counters}", "advice": "advice followed"}.get(
                run_.policy, f"fixed {s.counters}, true rates"
            )
            lead = "-" if w.median_lead_s is None else f"{w.median_lead_s / 60:.0f} min"
            scored = run_.policy.startswith("fixed")  # the advice averts what it warns of: not scored
            lines.append(
                f"{name:22} {len(days):>4} {sum(d.surge is not None for d in days):>6} {st.alerts:>6} "
                f"{_pct(w.recall) if scored else '-':>10} {w.warnings if scored else '-':>8} "
                f"{_pct(w.false_share) if scored else '-':>6} {lead if scored else '-':>6} "
                f"{f'{occ.mae:.2f} ({occ.bias:+.2f})':>14} {_pct(st.over_target):>7} "
                f"{st.p90_wait_s / 60:>6.1f} m "
                f"{st.counter_hours_per_day:>9.1f}"
            )
        days = self.scored(self.fixed)
        half = len(days) // 2
        lines.append(
            f"warning variants, fixed {s.counters} (first {half} scored days | the {len(days) - half} "
            "after): warned>=10 / without an alert"
        )
        for name, minutes, within in WARNING_VARIANTS:
            first, later = (
                score_warnings([filtered(d, minutes, within) for d in part], s)
                for part in (days[:half], days[half:])
            )
            lines.append(
                f"  {name:24} {_pct(first.recall):>5} / {_pct(first.false_share):>4} | "
                f"{_pct(later.recall):>5} / {_pct(later.false_share):>4}"
            )
        lines.append(
            "the trade-off, fixed counters: the warning's spread (api/forecast.py OCCUPANCY_SPREAD) "
            "against warned>=10 / without an alert / median lead"
        )
        for spread in SPREADS:
            cells = []
            for run_ in (self.fixed, self.true_rates):
                w = score_warnings([by_spread(d, spread) for d in self.scored(run_)], s)
                lead = "-" if w.median_lead_s is None else f"{w.median_lead_s / 60:.0f} min"
                cells.append(f"{_pct(w.recall):>5} / {_pct(w.false_share):>4} / {lead:>6}")
            lines.append(f"  spread {spread:<4} forecast {cells[0]} | true rates {cells[1]}")
        for at_least, w in self.best_case():
            lead = "-" if w.median_lead_s is None else f"{w.median_lead_s / 60:.0f} min"
            lines.append(
                f"  best case: warn at a chance >= {at_least:.1f} (true state, Monte Carlo) "
                f"{_pct(w.recall):>5} / {_pct(w.false_share):>4} / {lead:>6}"
            )
        lines.append(
            "counters by quarter hour (the lead page's next hour) against each step's true need, fixed "
            f"{s.counters}: exact / within one / bias; the running step's need held instead"
        )
        for ahead in range(1, NEXT_HOUR_STEPS + 1):
            plan = plan_score(self.fixed.plans, ahead)
            if plan is not None:
                lines.append(
                    f"  {ahead * BRANCH_STEP_S // 60:>2} min ahead ({plan.steps} steps): "
                    f"{_pct(plan.exact):>4} / {_pct(plan.within_one):>4} / {plan.bias:+.2f} | held "
                    f"{_pct(plan.held_exact):>4} / {_pct(plan.held_within_one):>4} / {plan.held_bias:+.2f}"
                )
        surge_days = [d for d in self.scored(self.fixed) if d.surge is not None]
        on_surges = score_warnings(surge_days, s)
        lines.append(
            f"where it fails: on the {len(surge_days)} surge days {on_surges.alerts} alerts, "
            f"{_pct(on_surges.recall)} warned 10 min ahead; the true-rates row is what a perfect arrival "
            "forecast gives, the best case what any warning can that knows all that has happened (a surge "
            "from its start): the rest is the queue's own chance"
        )
        return lines

    def draw(self, occupancy_axes: object, arrivals_axes: object) -> None:
        """Occupancy forecast 20 minutes ahead against the truth on the busiest scored day of the
        fixed staffing, and a week of arrivals per 15 minutes against the forecast."""
        days = self.scored(self.fixed)
        day = max(days, key=lambda d: (len(alert_times(d, self.scenario)), max(d.waiting)))
        ahead = int(self.scenario.warn_ahead_s / MINUTE_S)
        hours = [self.scenario.opens_h + m / 60 for m in range(len(day.waiting))]
        forecast = [
            (self.scenario.opens_h + (m + ahead) / 60, path[ahead - 1])
            for m, path in enumerate(day.forecast)
            if path is not None
        ]
        ax: Any = occupancy_axes
        ax.plot(hours, day.waiting, label="waiting (truth)", color="black")
        ax.plot(*zip(*forecast, strict=True), label="forecast 20 min before", color="tab:blue")
        ax.axhline(self.scenario.raise_level, color="tab:red", linestyle="--", label="raise level")
        for fired, resolved in alert_times(day, self.scenario):
            ax.axvspan(
                self.scenario.opens_h + fired / 3600,
                self.scenario.opens_h + resolved / 3600,
                color="tab:red",
                alpha=0.15,
            )
        warned = [h for h, w in zip(hours, day.warning_s, strict=False) if w is not None]
        ax.plot(warned, [0.5] * len(warned), "|", color="tab:orange", label="early warning")
        ax.set_title(f"simulated {day.day} ({self.scenario.counters} counters): people waiting")
        ax.set_xlabel("hour")
        ax.legend(loc="upper left", fontsize=8)
        ax = arrivals_axes
        week = self.advice.arrival_forecasts[-5 * 4 * self.scenario.hours_open :]
        ax.plot([t for _, _, t in week], label="arrivals per 15 min (truth)", color="black")
        ax.plot([f for _, f, _ in week], label="forecast at the step's start", color="tab:blue")
        ax.set_title("the last simulated week's open steps: arrivals against the forecast")
        ax.set_xlabel("15-minute steps while open, Monday to Friday")
        ax.legend(loc="upper left", fontsize=8)


def simulate_branch(
    scenario: BranchScenario, progress: bool = False, best_case_paths: int = 0
) -> BranchResult:
    """The three runs; with best_case_paths, also alert_chances on the fixed run's scored days
    from that many futures a minute (200: about 6 minutes on one core)."""
    result = BranchResult(
        scenario,
        simulate_branch_run(scenario, "fixed", progress),
        simulate_branch_run(scenario, "advice", progress),
        simulate_branch_run(scenario, "fixed", progress, true_rates=True),
    )
    if best_case_paths:
        rng = np.random.default_rng(scenario.seed)
        days = result.scored(result.fixed)
        for day in tqdm(days, desc="best case (Monte Carlo)", unit="day", disable=not progress):
            result.chances[day.day] = alert_chances(day, scenario, best_case_paths, rng)
    return result
