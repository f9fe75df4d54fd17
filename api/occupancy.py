"""Occupancy input: the edge boxes' /metrics pages scraped directly, or a Prometheus server via PromQL.

Both turn what they read into the same samples (metric name, labels, value) and then into one
Snapshot, so the rules for "unknown" live in one place: a camera that is down, that has no recent
frame, or whose edge cannot be read makes its zones unknown, never 0 people.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api import promql
from api.domain import Clock, Reading, Snapshot, Unknown, Why, ZoneKey
from api.readings import ExitWindow
from api.settings import PrometheusInput, ScrapeInput
from wartezone_contract import (
    CAMERA_LAST_FRAME,
    CAMERA_UP,
    EXPECTED_WAIT_WINDOW,
    ZONE_ENTRIES,
    ZONE_EXITS,
    ZONE_INFO,
    ZONE_LABELS,
    ZONE_NAME_LABEL,
    ZONE_OCCUPANCY,
)

log = logging.getLogger(__name__)

ZONE_INFO_SERIES = ZONE_INFO + "_info"  # an info metric's one series
ENTRIES_SERIES = ZONE_ENTRIES + "_total"  # a counter's series
EXITS_SERIES = ZONE_EXITS + "_total"
# The metrics of the edge/API contract (tests/contract/edge_exposition.prom) read here.
READ_METRICS = (ZONE_INFO_SERIES, ZONE_OCCUPANCY, CAMERA_UP, CAMERA_LAST_FRAME, ENTRIES_SERIES, EXITS_SERIES)
# The text format names an info family by its series (TYPE ..._info gauge) and a counter family
# without _total; OpenMetrics the other way round for info.
READ_FAMILIES = (*READ_METRICS, ZONE_INFO, ZONE_ENTRIES, ZONE_EXITS)
# Prometheus's count of the people who left each zone in the expected wait's window.
RECENT_EXITS_QUERY = f"sum by ({', '.join(ZONE_LABELS)}) (increase({EXITS_SERIES}[{EXPECTED_WAIT_WINDOW}]))"
SITE, CAMERA, ZONE = ZONE_LABELS  # the label names; a camera's metrics carry the first two
MAX_EXPOSITION_BYTES = 8 << 20

Camera = tuple[str, str]


class InputError(Exception):
    """One source of occupancy could not be read; the message names it and the reason."""


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


class OccupancySource(Protocol):
    async def read(self) -> Snapshot: ...

    async def aclose(self) -> None: ...


def _camera_of(sample: Sample) -> Camera:
    return sample.labels.get(SITE, ""), sample.labels.get(CAMERA, "")


def samples_from_exposition(text: str) -> list[Sample]:
    """The samples of the metrics this API reads, from a Prometheus text exposition."""
    try:
        families = list(text_string_to_metric_families(text))
    except (ValueError, TypeError, IndexError) as error:  # the parser's ways of saying "not an exposition"
        raise InputError(f"not a Prometheus text exposition: {error}") from None
    return [
        Sample(s.name, dict(s.labels), float(s.value))
        for family in families
        if family.name in READ_FAMILIES
        for s in family.samples
        if s.name in READ_METRICS
    ]


def snapshot_from_samples(
    samples: Iterable[Sample],
    now: float,
    stale_after_s: float,
    problems: Iterable[str] = (),
    unreachable: dict[Camera, str] | None = None,
    complete: bool = True,
) -> Snapshot:
    """Known occupancy per zone, the zones reported with their display names, why each camera
    that is not usable is down, and the entry and exit counters. complete: every source has
    answered at least once."""
    found = list(problems)
    up: dict[Camera, float] = {}
    last_frame: dict[Camera, float] = {}
    occupancy: dict[ZoneKey, float] = {}
    names: dict[ZoneKey, str] = {}
    counters: dict[str, dict[ZoneKey, float]] = {ENTRIES_SERIES: {}, EXITS_SERIES: {}}
    for sample in samples:
        labels = sample.labels
        site, camera = labels.get(SITE), labels.get(CAMERA)
        if not site or not camera:
            found.append(f"{sample.name} sample without site and camera labels: {labels}")
            continue
        if sample.name == ZONE_INFO_SERIES:
            if zone := labels.get(ZONE):
                names[ZoneKey(site, camera, zone)] = labels.get(ZONE_NAME_LABEL, "").strip() or zone
            else:
                found.append(f"{ZONE_INFO_SERIES} sample without a zone label: {labels}")
            continue
        if math.isnan(sample.value):
            continue  # no value is an unknown value
        cam = (site, camera)
        if sample.name in counters:
            if zone := labels.get(ZONE):
                counted = counters[sample.name]
                key = ZoneKey(site, camera, zone)
                counted[key] = max(sample.value, counted.get(key, -math.inf))  # as occupancy: the larger
            else:
                found.append(f"{sample.name} sample without a zone label: {labels}")
        elif sample.name == ZONE_OCCUPANCY:
            zone = labels.get(ZONE)
            if not zone:
                found.append(f"{ZONE_OCCUPANCY} sample without a zone label: {labels}")
                continue
            key = ZoneKey(site, camera, zone)
            if key in occupancy:
                found.append(f"{ZONE_OCCUPANCY} for {key} appears twice; the larger value is used")
            occupancy[key] = max(sample.value, occupancy.get(key, -math.inf))
        elif sample.name == CAMERA_UP:
            up[cam] = max(sample.value, up.get(cam, -math.inf))
        elif sample.name == CAMERA_LAST_FRAME:
            last_frame[cam] = max(sample.value, last_frame.get(cam, -math.inf))

    down = {cam: Why(Unknown.INPUT_FAILED, why) for cam, why in (unreachable or {}).items()}
    for cam in {*up, *last_frame, *((k.site, k.camera) for k in occupancy)} - set(down):
        if cam not in up:
            down[cam] = Why(Unknown.NOT_COUNTED, f"the edge exports no {CAMERA_UP} for this camera")
        elif up[cam] != 1:
            down[cam] = Why(Unknown.CAMERA_DOWN, "camera down")
        elif cam in last_frame and now - last_frame[cam] > stale_after_s:
            down[cam] = Why(Unknown.NO_FRAMES, f"no analysed frame for {now - last_frame[cam]:.0f} s")
    zones = {
        key: Reading(value, last_frame.get((key.site, key.camera), now))
        for key, value in occupancy.items()
        if (key.site, key.camera) not in down
    }
    reported = {key: key.zone for key in occupancy} | names
    return Snapshot(
        now,
        zones,
        down,
        tuple(found),
        reported,
        complete,
        entries_total=counters[ENTRIES_SERIES],
        exits_total=counters[EXITS_SERIES],
    )


class ScrapeSource:
    """Reads every edge box's /metrics page at once, as Prometheus would, and keeps the exits of
    the last minutes that Prometheus would otherwise keep (the expected wait's denominator)."""

    def __init__(self, settings: ScrapeInput, clock: Clock, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_s)
        self._cameras_at: dict[str, set[Camera]] = {}
        self._exits = ExitWindow()

    async def _scrape(self, url: str) -> list[Sample]:
        headers = {"Accept": "text/plain;version=0.0.4"}
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code != 200:
                    raise InputError(f"scrape of {url} failed: HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_EXPOSITION_BYTES:
                        raise InputError(f"scrape of {url} failed: more than {MAX_EXPOSITION_BYTES} bytes")
        except httpx.HTTPError as error:
            raise InputError(f"scrape of {url} failed: {type(error).__name__} {error}".rstrip()) from None
        try:
            return samples_from_exposition(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError(f"scrape of {url} failed: not UTF-8 text") from None
        except InputError as error:
            raise InputError(f"scrape of {url} failed: {error}") from None

    async def read(self) -> Snapshot:
        targets = self.settings.targets
        results = await asyncio.gather(*(self._scrape(url) for url in targets), return_exceptions=True)
        samples: list[Sample] = []
        problems: list[str] = []
        unreachable: dict[Camera, str] = {}
        for url, result in zip(targets, results, strict=True):
            if isinstance(result, InputError):
                problems.append(str(result))
                unreachable.update(dict.fromkeys(self._cameras_at.get(url, ()), str(result)))
            elif isinstance(result, BaseException):
                raise result
            else:
                samples.extend(result)
                self._cameras_at[url] = {_camera_of(s) for s in result}
        complete = all(url in self._cameras_at for url in targets)
        snapshot = snapshot_from_samples(
            samples, self.clock.now(), self.settings.stale_after_s, problems, unreachable, complete
        )
        return replace(snapshot, recent_exits=self._exits.observe(snapshot.taken_at, snapshot.exits_total))

    async def aclose(self) -> None:
        await self._client.aclose()


class PrometheusSource:
    """One PromQL instant query for the metrics read, so they share one evaluation time, and one
    for the people who left each zone in the expected wait's window (Prometheus keeps the history)."""

    QUERY = '{__name__=~"' + "|".join(READ_METRICS) + '"}'

    def __init__(
        self, settings: PrometheusInput, clock: Clock, client: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_s)
        self._url = settings.url
        self._cameras: set[Camera] = set()
        self._answered = False
        self._exits_failing = False

    async def _query(self, query: str) -> list[Sample]:
        try:
            found = await promql.instant(self._client, self._url, query)
        except promql.PromqlError as error:
            raise InputError(str(error)) from None
        return [Sample(r.metric.get("__name__", ""), r.metric, r.value[1]) for r in found]

    async def _answer(self, query: str) -> list[Sample] | InputError:
        try:
            return await self._query(query)
        except InputError as error:
            return error

    async def read(self) -> Snapshot:
        now = self.clock.now()
        samples, exits = await asyncio.gather(self._answer(self.QUERY), self._answer(RECENT_EXITS_QUERY))
        if isinstance(samples, InputError):
            return snapshot_from_samples(
                [],
                now,
                self.settings.stale_after_s,
                [str(samples)],
                dict.fromkeys(self._cameras, str(samples)),
                complete=self._answered,
            )
        self._cameras = {_camera_of(s) for s in samples}
        self._answered = True
        if isinstance(exits, InputError):
            # Only the expected wait is unknown then: logged once, not a counting problem for reception.
            if not self._exits_failing:
                log.warning("expected wait unknown: %s", exits)
            self._exits_failing, exits = True, []
        else:
            self._exits_failing = False
        recent = {
            ZoneKey(*(sample.labels.get(label, "") for label in ZONE_LABELS)): sample.value
            for sample in exits
            if all(sample.labels.get(label) for label in ZONE_LABELS) and not math.isnan(sample.value)
        }
        snapshot = snapshot_from_samples(samples, now, self.settings.stale_after_s)
        return replace(snapshot, recent_exits=recent)

    async def aclose(self) -> None:
        await self._client.aclose()


def build_source(settings: ScrapeInput | PrometheusInput, clock: Clock) -> OccupancySource:
    if isinstance(settings, ScrapeInput):
        return ScrapeSource(settings, clock)
    return PrometheusSource(settings, clock)
