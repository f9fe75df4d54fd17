"""A simulated waiting room: what the wait figures (README "Wait figures") are worth, and where each
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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from prometheus_client import CollectorRegistry

import wartezone_contract as contract
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
