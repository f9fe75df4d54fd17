"""The wait figures, defined once: the formulas in wartezone_contract and the recording rules that
Prometheus evaluates must give the same numbers on the same series (promtool, on generated series),
and each formula says "unknown" (None, no sample) where too few people came or left."""

from __future__ import annotations

import math
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import wartezone_contract as contract
from edge.metrics import DWELL_BUCKETS_S
from tests.conftest import need_tool
from tests.ops.grafana_queries import PROMETHEUS_DIR, recording_rule_names

SCRAPE_S = 15
HOUR_SAMPLES = int(contract.WAIT_WINDOW_S) // SCRAPE_S  # samples 0..HOUR_SAMPLES span the window
INF = float("inf")


# ---- the formulas on their own


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(10.0, 0.0), (INF, 0.0)], None),  # nothing observed: no median
        (0.5, [(10.0, 4.0), (INF, 4.0)], 5.0),  # the first bucket starts at 0
        (0.5, [(60.0, 0.0), (300.0, 60.0), (INF, 60.0)], 180.0),  # half way through 60..300
        (0.9, [(300.0, 0.0), (600.0, 60.0), (INF, 60.0)], 570.0),
        (0.9, [(60.0, 1.0), (300.0, 2.0), (INF, 10.0)], 300.0),  # rank in +Inf: the top finite bound
        (0.5, [(60.0, 4.0), (300.0, 3.0), (INF, 4.0)], 30.0),  # a count below the one before: raised to it
    ],
    ids=["empty", "first bucket", "middle", "p90", "in +Inf", "not monotonic"],
)
def test_histogram_quantile_is_prometheus_s(
    q: float, buckets: list[tuple[float, float]], expected: float | None
) -> None:
    assert contract.histogram_quantile(q, buckets) == expected


@pytest.mark.parametrize(
    ("q", "buckets"),
    [(0.0, [(1.0, 1.0), (INF, 1.0)]), (1.5, [(1.0, 1.0), (INF, 1.0)]), (0.5, [(1.0, 1.0)]), (0.5, [])],
    ids=["q 0", "q above 1", "no +Inf", "empty"],
)
def test_histogram_quantile_rejects_what_prometheus_would_not_compute(
    q: float, buckets: list[tuple[float, float]]
) -> None:
    with pytest.raises(ValueError, match=r"^(q|buckets): "):
        contract.histogram_quantile(q, buckets)


@pytest.mark.parametrize(
    ("waiting_now", "exits", "expected"),
    [
        (0, 0, None),  # nobody came, nobody left: unknown, not 0
        (5, 0, None),  # people wait and nobody left: unknown, not infinity
        (5, contract.EXPECTED_WAIT_MIN_EXITS - 1, None),
        (4, contract.EXPECTED_WAIT_MIN_EXITS, 4 * contract.EXPECTED_WAIT_WINDOW_S / 3),
        (0, 6, 0.0),  # people were served and nobody waits: no wait
        (12, 15, 720.0),
    ],
    ids=["empty", "nobody left", "too few left", "just enough", "nobody waits", "busy"],
)
def test_expected_wait(waiting_now: float, exits: float, expected: float | None) -> None:
    assert contract.EXPECTED_WAIT_MIN_EXITS == 3  # the cases above are written for it
    assert contract.expected_wait_s(waiting_now, exits) == expected


def test_waited_lately_is_unknown_below_the_minimum_of_visits() -> None:
    few = contract.WAIT_MIN_VISITS - 1
    buckets = [(600.0, few), (INF, few)]
    assert contract.dwell_quantile_s(0.5, buckets, visits_ended=few) is None
    assert contract.dwell_mean_s(few * 300.0, visits_ended=few) is None
    assert contract.little_wait_s(3.0, entries=few) is None
    assert contract.wait_disagreement(None, 300.0) is None
    enough = contract.WAIT_MIN_VISITS
    assert contract.dwell_quantile_s(0.5, [(600.0, enough), (INF, enough)], enough) == 300.0
    assert contract.dwell_mean_s(enough * 300.0, enough) == 300.0
    assert contract.little_wait_s(12.0, entries=60) == 720.0  # 12 people x 3600 s / 60 entries
    assert contract.wait_disagreement(720.0, 600.0) == pytest.approx(0.2)


def test_every_wait_figure_is_a_recording_rule() -> None:
    names = [
        contract.WAIT_MEDIAN,
        contract.WAIT_P90,
        contract.WAIT_MEAN,
        contract.WAIT_LITTLE,
        contract.WAIT_DISAGREEMENT,
        contract.WAIT_EXPECTED,
        contract.OCCUPANCY_BY_HOUR_OF_WEEK,
        contract.OCCUPANCY_AT_RAISE_LEVEL,
    ]
    missing = set(names) - recording_rule_names()
    assert not missing, f"named in wartezone_contract, recorded by no rule: {missing}"
    assert contract.WAIT_WINDOW_S == 3600 and contract.WAIT_LITTLE.endswith(f"_{contract.WAIT_WINDOW}")
    assert contract.EXPECTED_WAIT_WINDOW_S == 900 and contract.WAIT_EXPECTED.endswith("_15m")


# ---- the same figures from Prometheus, on generated series


@dataclass
class Zone:
    """One zone's scraped series over an hour (a sample every SCRAPE_S), as the edge exports them."""

    name: str
    occupancy: list[int]
    entries: list[int]
    exits: list[int]
    buckets: dict[float, list[int]]  # upper bound -> cumulative count per sample
    dwell_sum: list[float]


def _zone(name: str, seed: int, visits_per_hour: float, exits_at: set[int] | None = None) -> Zone:
    """Random arrivals and departures at about `visits_per_hour` (or people leaving at the sample
    indices `exits_at`, one entering 20 samples before each), dwell times drawn lognormal."""
    rng = random.Random(seed)
    bounds = [*map(float, DWELL_BUCKETS_S), INF]
    occupancy, entries, exits, dwell_sum = [rng.randint(0, 15)], [0], [0], [0.0]
    buckets = {bound: [0] for bound in bounds}
    chance = visits_per_hour / HOUR_SAMPLES
    for sample in range(1, HOUR_SAMPLES + 1):
        occupancy.append(max(0, occupancy[-1] + rng.choice((-1, 0, 0, 1))))
        if exits_at is None:
            came, left = rng.random() < chance, rng.random() < chance
        else:
            came, left = sample + 20 in exits_at, sample in exits_at
        entries.append(entries[-1] + came)
        exits.append(exits[-1] + left)
        dwell = rng.lognormvariate(math.log(400), 0.8) if left else None
        dwell_sum.append(dwell_sum[-1] + (dwell or 0.0))
        for bound in bounds:
            buckets[bound].append(buckets[bound][-1] + (dwell is not None and dwell <= bound))
    return Zone(name, occupancy, entries, exits, buckets, dwell_sum)


def _at_the_minimum(name: str, seed: int, less: int) -> Zone:
    """`less` fewer visits in the hour than WAIT_MIN_VISITS, and `less` fewer of them in the last
    15 minutes than EXPECTED_WAIT_MIN_EXITS."""
    last = HOUR_SAMPLES - int(contract.EXPECTED_WAIT_WINDOW_S) // SCRAPE_S
    early = range(30, 30 + 10 * (contract.WAIT_MIN_VISITS - contract.EXPECTED_WAIT_MIN_EXITS), 10)
    late = range(last + 5, last + 5 + 10 * (contract.EXPECTED_WAIT_MIN_EXITS - less), 10)
    return _zone(name, seed, 0, exits_at={*early, *late})


def _expected(zone: Zone) -> dict[str, float | None]:
    """The figures at the end of the hour, by the contract's formulas."""
    start = -1 - int(contract.EXPECTED_WAIT_WINDOW_S) // SCRAPE_S
    visits = zone.buckets[INF][-1] - zone.buckets[INF][0]
    buckets = [(bound, float(counts[-1] - counts[0])) for bound, counts in zone.buckets.items()]
    mean = contract.dwell_mean_s(zone.dwell_sum[-1] - zone.dwell_sum[0], visits)
    little = contract.little_wait_s(
        sum(zone.occupancy) / len(zone.occupancy), zone.entries[-1] - zone.entries[0]
    )
    return {
        contract.WAIT_MEDIAN: contract.dwell_quantile_s(0.5, buckets, visits),
        contract.WAIT_P90: contract.dwell_quantile_s(0.9, buckets, visits),
        contract.WAIT_MEAN: mean,
        contract.WAIT_LITTLE: little,
        contract.WAIT_DISAGREEMENT: contract.wait_disagreement(little, mean),
        contract.WAIT_EXPECTED: contract.expected_wait_s(
            zone.occupancy[-1], zone.exits[-1] - zone.exits[start]
        ),
    }


def _series(zone: Zone) -> list[dict[str, str]]:
    labels = f'job="wartezone-edge", instance="edge-1:9464", site="north", camera="cam", zone="{zone.name}"'

    def values(numbers: list[int] | list[float]) -> str:
        return " ".join(repr(n) for n in numbers)

    series = [
        {"series": f"{contract.ZONE_OCCUPANCY}{{{labels}}}", "values": values(zone.occupancy)},
        {"series": f"{contract.ZONE_ENTRIES}_total{{{labels}}}", "values": values(zone.entries)},
        {"series": f"{contract.ZONE_EXITS}_total{{{labels}}}", "values": values(zone.exits)},
        {"series": f"{contract.ZONE_DWELL}_count{{{labels}}}", "values": values(zone.buckets[INF])},
        {"series": f"{contract.ZONE_DWELL}_sum{{{labels}}}", "values": values(zone.dwell_sum)},
    ]
    for bound, counts in zone.buckets.items():
        le = "+Inf" if bound == INF else f"{bound:g}"
        series.append(
            {"series": f'{contract.ZONE_DWELL}_bucket{{{labels}, le="{le}"}}', "values": values(counts)}
        )
    return series


def _cases(zone: Zone, eval_time: str) -> list[dict[str, object]]:
    """A figure the formula knows must be there and agree to 1e-9; one it does not must be absent."""
    cases: list[dict[str, object]] = []
    for name, value in _expected(zone).items():
        selector = f'{name}{{zone="{zone.name}"}}'
        if value is None:
            cases.append({"expr": selector, "eval_time": eval_time, "exp_samples": []})
        else:
            tolerance = 1e-9 * max(1.0, abs(value))
            cases.append(
                {
                    "expr": f"abs({selector} - {value!r}) <= bool {tolerance!r}",
                    "eval_time": eval_time,
                    "exp_samples": [
                        {"labels": f'{{site="north", camera="cam", zone="{zone.name}"}}', "value": 1}
                    ],
                }
            )
    return cases


# From hardly anyone (every figure unknown) to a busy counter (every figure known); two more zones
# lie on either side of each minimum.
VISITS_PER_HOUR = [0, 2, 4, 6, 8, 12, 20, 40, 90, 200]


def test_prometheus_and_the_contract_agree_on_every_wait_figure(tmp_path: Path) -> None:
    promtool = need_tool("promtool", "scripts/setup.sh --dev installs Debian's prometheus package")
    zones = [_zone(f"z{i}", seed=i, visits_per_hour=v) for i, v in enumerate(VISITS_PER_HOUR)]
    zones += [_at_the_minimum("just-enough", 100, less=0), _at_the_minimum("one-short", 101, less=1)]
    expected = [_expected(z) for z in zones]
    # The generated zones must reach both answers of every figure, or the test proves little.
    for name in expected[0]:
        known = [e[name] is not None for e in expected]
        assert any(known) and not all(known), f"{name}: known in {sum(known)} of {len(known)} zones"

    eval_time = f"{HOUR_SAMPLES * SCRAPE_S}s"
    test = {
        "rule_files": [str(PROMETHEUS_DIR / "rules" / "recording.yml")],
        "evaluation_interval": f"{SCRAPE_S}s",
        "tests": [
            {
                "interval": f"{SCRAPE_S}s",
                "input_series": [s for z in zones for s in _series(z)],
                "promql_expr_test": [c for z in zones for c in _cases(z, eval_time)],
            }
        ],
    }
    path = tmp_path / "agreement_test.yml"
    path.write_text(yaml.safe_dump(test, width=1 << 20), encoding="utf-8")
    done = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
