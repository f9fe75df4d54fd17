"""The report a branch lead files: per zone and step, mean and peak occupancy, entries and exits,
the wait by Little's law, minutes at or above the raise level, alerts fired and acknowledged,
counters open and the counters the step's arrivals needed.

The counts come from range queries to Prometheus where the API reads PromQL, and from the API's own
stored minutes where it scrapes the edge itself, so a site without Prometheus gets it too; alerts
come from the API's database either way. Little's law is wartezone_contract's, evaluated here per
step. The expected wait is a figure for "now" (the queue this minute) and has no place in a
report of past hours.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Literal, Protocol
from zoneinfo import ZoneInfo

import httpx
from pydantic import ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from api import promql
from api.counters import CounterSetting, counters_mean
from api.domain import ZoneKey
from api.rules import RuleSpec
from api.schemas import Report, ReportRow
from api.storage import StepAlerts, Storage
from wartezone_contract import (
    ALERT_RAISE_LEVEL,
    ZONE_ENTRIES,
    ZONE_EXITS,
    ZONE_LABELS,
    ZONE_OCCUPANCY,
    ZONE_PARTIAL,
    counters_needed,
    little_wait_s,
    service_rate,
)

MAX_STEPS = 11_000  # what Prometheus answers for one series at most
MAX_ROWS = 50_000  # zones x steps: twelve zones by the hour for five months
STEP_PATTERN = r"^[1-9][0-9]{0,4}[mhd]$"
UNITS = {"m": 60, "h": 3600, "d": 86400}
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
PROMETHEUS_TIMEOUT_S = 60.0  # months of minutes take Prometheus a while
Source = Literal["readings", "prometheus"]
Dialect = Literal["excel", "de"]


class ReportProblem(Exception):
    """A report that cannot be made as asked; path names the query parameter (query.step ...)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


class ReportUnavailable(Exception):
    """Where the figures come from could not answer; the message names it and why."""


def step_seconds(step: str) -> int:
    if not re.fullmatch(STEP_PATTERN, step):
        raise ReportProblem("query.step", f"a whole number and m, h or d (15m, 1h, 1d), got {step!r}")
    return int(step[:-1]) * UNITS[step[-1]]


TIME_FORMS = "2026-12-06, 2026-12-06T08:00, 06.12.2026, 06.12.2026 08:00"
GERMAN_TIME = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2}))?")


def _report_time(value: object, handler: ValidatorFunctionWrapHandler) -> datetime:
    """ISO 8601 as pydantic reads it, or the German TT.MM.JJJJ [HH:MM] (the API's local time);
    anything else refused in both languages, naming the forms taken."""
    german = GERMAN_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        if german is None:
            return handler(value)  # type: ignore[no-any-return]
        day, month, year, hour, minute = (int(part or 0) for part in german.groups())
        return datetime(year, month, day, hour, minute)
    except (ValidationError, ValueError):
        raise PydanticCustomError(
            "time_format",
            "{value} is not a date and time (ist kein Datum mit Uhrzeit); accepted (erlaubt): {forms}",
            {"value": value, "forms": TIME_FORMS},
        ) from None


ReportTime = Annotated[datetime, WrapValidator(_report_time)]


def instant(value: datetime, tz: tzinfo) -> float:
    """A time as asked; one without a UTC offset is the API's local time (its `timezone`). Any time
    the description allows is taken: before 1970 as 1970 (nothing was counted before), from 2200
    on as 2200."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return min(max(aware.timestamp(), EARLIEST.timestamp()), LATEST.timestamp())


@dataclass(frozen=True, slots=True)
class Span:
    """From start in `steps` steps of step_s seconds, each [start, end). complete: false where the
    range asked for was longer than MAX_STEPS steps and the span ends before it."""

    start: float
    end: float
    step: str
    step_s: int
    steps: int
    complete: bool = True

    @classmethod
    def of(cls, start: float, end: float, step: str) -> Span:
        """The steps from start that cover the range up to end (the last may end after it); none
        where end is not after start; at most MAX_STEPS."""
        step_s = step_seconds(step)
        steps = max(0, math.ceil((end - start) / step_s))
        complete = steps <= MAX_STEPS
        steps = min(steps, MAX_STEPS)
        return cls(start, start + steps * step_s, step, step_s, steps, complete)

    def first(self, steps: int) -> Span:
        """The span of its first `steps` steps (incomplete where that is fewer)."""
        if steps >= self.steps:
            return self
        return Span(self.start, self.start + steps * self.step_s, self.step, self.step_s, steps, False)

    def bounds(self, index: int) -> tuple[float, float]:
        start = self.start + index * self.step_s
        return start, start + self.step_s


@dataclass(frozen=True, slots=True)
class StepFigures:
    occupancy_mean: float | None = None
    occupancy_peak: float | None = None
    entries: float | None = None
    exits: float | None = None
    minutes_at_raise_level: float | None = None


Figures = dict[ZoneKey, dict[int, StepFigures]]


class FigureSource(Protocol):
    kind: Source

    async def figures(self, site: str, span: Span) -> Figures: ...

    async def aclose(self) -> None: ...


class StoredReadings:
    """The API's own minutes (api/readings.py), added up per step in SQL."""

    kind: Source = "readings"

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def figures(self, site: str, span: Span) -> Figures:
        figures: Figures = {}
        for c in self._storage.reading_counts(site, span.start, span.step_s, span.steps):
            figures.setdefault(c.key, {})[c.step] = StepFigures(
                c.occupancy_sum / c.samples if c.samples else None,
                c.occupancy_peak,
                c.entries,
                c.exits,
                c.minutes_at_raise,
            )
        return figures

    async def aclose(self) -> None:
        pass


class PrometheusRanges:
    """One range query per figure, evaluated at each step's end over the step before it."""

    kind: Source = "prometheus"

    def __init__(self, url: str, client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        self._client = client or httpx.AsyncClient(timeout=PROMETHEUS_TIMEOUT_S)

    @staticmethod
    def queries(site: str, step_s: int) -> dict[str, str]:
        """The PromQL per figure; site is an id (ID_PATTERN), safe inside the quotes."""
        labels = ", ".join(ZONE_LABELS)
        by = f"by ({labels})"
        of = f'{{site="{site}"}}'
        window = f"[{step_s}s]"
        # The step's minutes, its start left out: Prometheus 2 counts a range's both ends, so that a
        # subquery over the whole step took one minute of the step before.
        minutes = f"[{step_s - 1}s:1m]"
        # A partial room's count (a camera down or late) is at least that many: the peak may take
        # it, the mean and the minutes at the raise level leave it out, as unknown.
        counted = f"({ZONE_OCCUPANCY}{of} unless on ({labels}) ({ZONE_PARTIAL}{of} == 1))"
        at_raise = f"sum {by} ({counted}) >= bool on ({labels}) max {by} ({ALERT_RAISE_LEVEL}{of})"
        return {
            "occupancy_mean": f"sum {by} (avg_over_time({counted}{minutes}))",
            "occupancy_peak": f"max {by} (max_over_time({ZONE_OCCUPANCY}{of}{window}))",
            "entries": f"sum {by} (increase({ZONE_ENTRIES}_total{of}{window}))",
            "exits": f"sum {by} (increase({ZONE_EXITS}_total{of}{window}))",
            # The step's counted minutes at or above the API's own raise level (Prometheus scrapes
            # the API), absent for a zone without a rule. A minute not counted adds nothing, as in
            # the stored minutes and on the dashboard: never a share of the known ones stretched
            # over the step.
            "minutes_at_raise_level": f"sum_over_time(({at_raise}){minutes})",
        }

    async def figures(self, site: str, span: Span) -> Figures:
        queries = self.queries(site, span.step_s)
        answers = await asyncio.gather(*(self._range(query, span) for query in queries.values()))
        values: dict[ZoneKey, dict[int, dict[str, float]]] = {}
        for name, series in zip(queries, answers, strict=True):
            for s in series:
                key = ZoneKey(*(s.metric.get(label, "") for label in ZONE_LABELS))
                if not all(key):
                    continue
                for at, value in s.values:
                    index = round((at - span.start) / span.step_s) - 1
                    if 0 <= index < span.steps and not math.isnan(value):
                        values.setdefault(key, {}).setdefault(index, {})[name] = value
        return {
            key: {index: StepFigures(**found) for index, found in steps.items()}
            for key, steps in values.items()
        }

    async def _range(self, query: str, span: Span) -> list[promql.RangeSeries]:
        try:
            return await promql.ranged(
                self._client, self._url, query, span.start + span.step_s, span.end, span.step_s
            )
        except promql.PromqlError as error:
            raise ReportUnavailable(str(error)) from None

    async def aclose(self) -> None:
        await self._client.aclose()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _needed(f: StepFigures, open_: float | None, step_s: int, rule: RuleSpec | None) -> int | None:
    """The counters the step's arrivals needed, at the step's own service rate (the contract's
    formulas, the step as one period)."""
    if open_ is None or f.entries is None or f.exits is None or f.occupancy_mean is None:
        return None
    rate = service_rate([f.exits], [open_], [f.occupancy_mean], step_s)
    if rate is None:
        return None
    target, level = (rule.target_wait_min * 60, rule.max_share_over_target) if rule else (1200.0, 0.2)
    try:
        return counters_needed(f.entries / step_s, rate, target, level)
    except ValueError:  # beyond any branch
        return None


def build_report(
    site: str,
    span: Span,
    tz: tzinfo,
    source: Source,
    figures: Figures,
    alerts: list[StepAlerts],
    name_of: Callable[[ZoneKey], str],
    counters: dict[ZoneKey, list[CounterSetting]] | None = None,
    rules: dict[ZoneKey, RuleSpec] | None = None,
) -> Report:
    """Every zone with figures or alerts in the range, with a row for each of its steps (a step
    without figures has nulls: not counted then). At most MAX_ROWS rows: the first steps that fit
    (the report is then incomplete, and says where it ends)."""
    fired = {(a.key, a.step): a for a in alerts}
    zones = sorted({*figures, *(a.key for a in alerts)})
    if len(zones) * span.steps > MAX_ROWS:
        span = span.first(max(1, MAX_ROWS // len(zones)))
        zones = zones[:MAX_ROWS]
    rows = []
    for key in zones:
        for index in range(span.steps):
            f = figures.get(key, {}).get(index, StepFigures())
            start, end = span.bounds(index)
            little = None
            if f.occupancy_mean is not None and f.entries is not None:
                little = little_wait_s(f.occupancy_mean, f.entries, window_s=span.step_s)
            counted = fired.get((key, index))
            settings = (counters or {}).get(key)
            open_ = counters_mean(settings, start, end, ZoneInfo(str(tz))) if settings else None
            rows.append(
                ReportRow(
                    site=key.site,
                    camera=key.camera,
                    zone=key.zone,
                    name=name_of(key),
                    start=datetime.fromtimestamp(start, tz),
                    end=datetime.fromtimestamp(end, tz),
                    occupancy_mean=_round(f.occupancy_mean),
                    occupancy_peak=_round(f.occupancy_peak),
                    entries=_round(f.entries),
                    exits=_round(f.exits),
                    little_wait_s=_round(little),
                    minutes_at_raise_level=_round(f.minutes_at_raise_level),
                    alerts_fired=counted.fired if counted else 0,
                    alerts_acknowledged=counted.acknowledged if counted else 0,
                    counters_open=_round(open_),
                    counters_needed=_needed(f, open_, span.step_s, (rules or {}).get(key)),
                )
            )
    return Report(
        site=site,
        start=datetime.fromtimestamp(span.start, tz),
        end=datetime.fromtimestamp(span.end, tz),
        step=span.step,
        step_s=span.step_s,
        time_zone=str(tz),
        source=source,
        complete=span.complete,
        rows=rows,
    )


CSV_COLUMNS = tuple(ReportRow.model_fields)
# The column names of the de dialect, one fixed German name per field (the excel dialect keeps the
# JSON's names, for scripts).
GERMAN_COLUMNS = {
    "site": "Standort",
    "camera": "Kamera",
    "zone": "Zone",
    "name": "Name",
    "start": "Beginn",
    "end": "Ende",
    "occupancy_mean": "Belegung_Mittel",
    "occupancy_peak": "Belegung_Spitze",
    "entries": "Zugänge",
    "exits": "Abgänge",
    "little_wait_s": "Wartezeit_Little_s",
    "minutes_at_raise_level": "Minuten_an_Alarmgrenze",
    "alerts_fired": "Alarme_ausgelöst",
    "alerts_acknowledged": "Alarme_gesehen",
    "counters_open": "Schalter_offen",
    "counters_needed": "Schalter_nötig",
}


class _German(csv.excel):
    """What a German spreadsheet opens: semicolons between cells (the comma is the decimal mark)."""

    delimiter = ";"


# OWASP's CSV injection rule: a text cell starting with one of these is run as a formula by a
# spreadsheet (a display name "=HYPERLINK(...)" from the edge config); a leading ' makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object, decimal: str) -> str:
    """Numbers as numbers (a negative one stays a number), text neutralised; separators and quotes
    inside a cell are quoted by the csv writer."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")  # local time, a form both spreadsheets read as a date
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", decimal)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def report_csv(report: Report, dialect: Dialect) -> str:
    """One line per row, the columns named as the JSON fields (in German in the de dialect); empty
    where unknown. Starts with a byte order mark, so a spreadsheet reads the umlauts as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect=_German if dialect == "de" else csv.excel)
    decimal = "," if dialect == "de" else "."
    writer.writerow([GERMAN_COLUMNS[c] for c in CSV_COLUMNS] if dialect == "de" else CSV_COLUMNS)
    for row in report.rows:
        writer.writerow([_cell(getattr(row, column), decimal) for column in CSV_COLUMNS])
    return "\ufeff" + buffer.getvalue()
