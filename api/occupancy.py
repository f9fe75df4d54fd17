"""Occupancy input: the edge boxes' /metrics pages scraped directly, or a Prometheus server via PromQL.

Both turn what they read into the same samples (metric name, labels, value) and then into one
Snapshot, so the rules for "unknown" live in one place: a camera that is down, that has no recent
frame, or whose edge cannot be read makes its zones unknown, never 0 people. A room (camera "floor")
that lacks a camera is partial: its count is at least what it says. A room whose cameras are on
different boxes is added up here from the zones that name it (`room` on wartezone_zone_info), unless
a box counts it itself; their areas must not overlap.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api import promql
from api.domain import Clock, Reading, Snapshot, Unknown, Why, ZoneKey
from api.readings import ExitWindow
from api.settings import LimitSettings, PrometheusInput, ScrapeInput
from wartezone_contract import (
    CAMERA_LAST_FRAME,
    CAMERA_UP,
    EXPECTED_WAIT_WINDOW,
    ID_PATTERN,
    ROOM_CAMERA,
    ZONE_ENTRIES,
    ZONE_EXITS,
    ZONE_INFO,
    ZONE_LABELS,
    ZONE_NAME_LABEL,
    ZONE_OCCUPANCY,
    ZONE_PARTIAL,
    ZONE_ROOM_LABEL,
)

log = logging.getLogger(__name__)

ZONE_INFO_SERIES = ZONE_INFO + "_info"  # an info metric's one series
ENTRIES_SERIES = ZONE_ENTRIES + "_total"  # a counter's series
EXITS_SERIES = ZONE_EXITS + "_total"
# The metrics of the edge/API contract (tests/contract/edge_exposition.prom) read here.
READ_METRICS = (
    ZONE_INFO_SERIES,
    ZONE_OCCUPANCY,
    ZONE_PARTIAL,
    CAMERA_UP,
    CAMERA_LAST_FRAME,
    ENTRIES_SERIES,
    EXITS_SERIES,
)
# The text format names an info family by its series (TYPE ..._info gauge) and a counter family
# without _total; OpenMetrics the other way round for info.
READ_FAMILIES = (*READ_METRICS, ZONE_INFO, ZONE_ENTRIES, ZONE_EXITS)
# Prometheus's count of the people who left each zone in the expected wait's window.
RECENT_EXITS_QUERY = f"sum by ({', '.join(ZONE_LABELS)}) (increase({EXITS_SERIES}[{EXPECTED_WAIT_WINDOW}]))"
SITE, CAMERA, ZONE = ZONE_LABELS  # the label names; a camera's metrics carry the first two
MAX_EXPOSITION_BYTES = 8 << 20
ID = re.compile(ID_PATTERN)
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LOGGED_MAX = 1000  # refused labels remembered (and so logged once each) per source

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


def _value(line: str, label: str) -> str | None:
    """The value of a label as the line writes it, or None: a cheap look before the parser, which
    decides. A quote inside a value is written escaped, so `label="` only starts a label; a value
    with an escape in it is cut there, and is no id either way."""
    needle = label + '="'
    at = line.find(needle)
    while at > 0 and line[at - 1] not in "{, \t":  # another label whose name ends so (subzone=)
        at = line.find(needle, at + 1)
    if at <= 0:
        return None
    start = at + len(needle)
    end = line.find('"', start)
    return line[start:end] if end >= 0 else line[start:]


def _ids(block: str) -> tuple[str, str, str] | list[tuple[str, str]]:
    """Site, camera and zone ("" where absent) of a line's labels, or the (label, value) pairs
    among them that are not ids."""
    values = [(label, _value(block, label)) for label in ZONE_LABELS]
    bad = [(label, value) for label, value in values if value is not None and not ID.fullmatch(value)]
    if bad:
        return bad
    site, camera, zone = (value or "" for _, value in values)
    return site, camera, zone


@dataclass(frozen=True, slots=True)
class Page:
    """What one edge box's page holds for this API: the samples read; how many zones it named
    (those beyond the limit included); its series whose site, camera or zone is not an id (how
    many, and the first LOGGED_MAX (label, value) pairs), left out."""

    samples: list[Sample]
    zones: int = 0
    refused: int = 0
    refused_labels: tuple[tuple[str, str], ...] = ()


def read_page(text: str, max_zones: int | None = None) -> Page:
    """The samples of the metrics this API reads, from a Prometheus text exposition; with
    max_zones, only those of its first max_zones zones (and cameras) whose ids are ids. The lines
    beyond are left out before the parser sees them (about 25 us a line): a page of 10,000 zones
    costs what one of max_zones does, and an edge's histograms and process metrics are never parsed.
    (An id has no character the format escapes, so its written value is its value.)"""
    kept: list[str] = []
    # the order each zone (and camera) first appears in: the first max_zones of each are read
    zones: dict[tuple[str, ...], int] = {}
    cameras: dict[tuple[str, ...], int] = {}
    refused = 0
    labels: dict[tuple[str, str], None] = {}
    blocks: dict[str, tuple[str, str, str] | list[tuple[str, str]]] = {}
    for raw in text.splitlines():
        line = raw.lstrip()
        if line.startswith("#"):
            words = line.split(maxsplit=3)
            if len(words) >= 3 and words[1] in ("HELP", "TYPE") and words[2] in READ_FAMILIES:
                kept.append(line)
            continue
        name = METRIC_NAME.match(line)
        if not name or name.group() not in READ_METRICS:
            continue
        block = line[name.end() : line.rfind("}") + 1]  # the labels: a zone's counts share them
        ids = blocks.get(block)
        if ids is None:
            ids = blocks[block] = _ids(block)
        if isinstance(ids, list):
            refused += 1
            if len(labels) < LOGGED_MAX:
                labels.update(dict.fromkeys(ids))
            continue
        site, camera, zone = ids
        seen, key = (cameras, (site, camera)) if not zone else (zones, ids)
        order = seen.setdefault(key, len(seen))
        if max_zones is None or order < max_zones:
            kept.append(line)
    try:
        families = list(text_string_to_metric_families("\n".join(kept) + "\n"))
    except (ValueError, TypeError, IndexError) as error:  # the parser's ways of saying "not an exposition"
        raise InputError(f"not a Prometheus text exposition: {error}") from None
    samples = [
        Sample(s.name, dict(s.labels), float(s.value))
        for family in families
        if family.name in READ_FAMILIES
        for s in family.samples
        if s.name in READ_METRICS
    ]
    return Page(samples, len(zones), refused, tuple(labels))


def samples_from_exposition(text: str) -> list[Sample]:
    """The samples of the metrics this API reads, from a Prometheus text exposition (no limit)."""
    return read_page(text).samples


class Bounds:
    """The limits (settings `limits`) on what one source's targets report: ids by the contract's
    pattern (a series with another site, camera or zone id is never listed or stored), display
    names cut to name_chars, at most zones_per_target zones per target. What they refuse is named
    as a problem of its target; a refused label is logged once (per target and label value, the
    first LOGGED_MAX of them)."""

    def __init__(self, limits: LimitSettings) -> None:
        self.limits = limits
        self._logged: set[tuple[str, str, str]] = set()

    def read(self, target: str, text: str) -> tuple[list[Sample], list[str]]:
        """A target's page within the limits, and its problems."""
        page = read_page(text, self.limits.zones_per_target)
        for label, value in page.refused_labels:
            self._refuse(target, label, value)
        return self.check(target, page.samples, page.zones, page.refused)

    def check(
        self, target: str, samples: list[Sample], zones: int = 0, refused: int = 0
    ) -> tuple[list[Sample], list[str]]:
        """The samples within the limits (the first zones_per_target zones in their order), and the
        problems; zones and refused: what read_page counted before, where it read the page."""
        limit = self.limits.zones_per_target
        kept: list[Sample] = []
        order: dict[tuple[str, ...], int] = {}
        for sample in samples:
            bad = [
                (n, sample.labels[n])
                for n in ZONE_LABELS
                if n in sample.labels and not ID.fullmatch(sample.labels[n])
            ]
            if bad:
                refused += 1
                for label, value in bad:
                    self._refuse(target, label, value)
                continue
            zone = sample.labels.get(ZONE)
            if zone and order.setdefault((*_camera_of(sample), zone), len(order)) >= limit:
                continue
            name = sample.labels.get(ZONE_NAME_LABEL)
            if name is not None and len(name) > self.limits.name_chars:
                labels = {**sample.labels, ZONE_NAME_LABEL: name[: self.limits.name_chars - 1] + "…"}
                sample = replace(sample, labels=labels)
            kept.append(sample)
        problems = []
        named = max(zones, len(order))
        if named > limit:  # logged by the service when the input's problems change
            problems.append(
                f"{target} reports {named} zones, more than limits.zones_per_target ({limit}): "
                f"the first {limit} are read, the others ignored"
            )
        if refused:
            problems.append(
                f"{target}: {refused} series ignored, their site, camera or zone is not an id "
                "(lower-case letters, digits, '-', '_'; the log names them)"
            )
        return kept, problems

    def _refuse(self, target: str, label: str, value: str) -> None:
        key = (target, label, value)
        if key in self._logged or len(self._logged) > LOGGED_MAX:
            return
        self._logged.add(key)
        if len(self._logged) > LOGGED_MAX:
            log.warning("more labels refused than the %d named so far: no longer logged", LOGGED_MAX)
            return
        log.warning("%s: series ignored, its %s %.80r is not an id (%s)", target, label, value, ID_PATTERN)


def snapshot_from_samples(
    samples: Iterable[Sample],
    now: float,
    stale_after_s: float,
    problems: Iterable[str] = (),
    unreachable: dict[Camera, str] | None = None,
    complete: bool = True,
    rooms_before: dict[ZoneKey, str] | None = None,
) -> Snapshot:
    """Known occupancy per zone, the zones reported with their display names, why each camera
    that is not usable is down, and the entry and exit counters. complete: every source has
    answered at least once. rooms_before: the rooms zones named in the read before (the
    snapshot's zone_rooms); a zone whose camera has no series now (its box did not answer)
    keeps its room, so that the room reads partial rather than smaller."""
    found = list(problems)
    up: dict[Camera, float] = {}
    last_frame: dict[Camera, float] = {}
    occupancy: dict[ZoneKey, float] = {}
    names: dict[ZoneKey, str] = {}
    rooms: dict[ZoneKey, str] = {}  # a zone -> the room it is part of
    partial: dict[ZoneKey, bool] = {}  # the rooms a box counts itself: whether they lack a camera
    counters: dict[str, dict[ZoneKey, float]] = {ENTRIES_SERIES: {}, EXITS_SERIES: {}}
    answered: set[Camera] = set()
    for sample in samples:
        labels = sample.labels
        site, camera = labels.get(SITE), labels.get(CAMERA)
        if not site or not camera:
            found.append(f"{sample.name} sample without site and camera labels: {labels}")
            continue
        answered.add((site, camera))
        if sample.name == ZONE_INFO_SERIES:
            if zone := labels.get(ZONE):
                names[ZoneKey(site, camera, zone)] = labels.get(ZONE_NAME_LABEL, "").strip() or zone
                if (room := labels.get(ZONE_ROOM_LABEL)) and camera != ROOM_CAMERA:
                    if ID.fullmatch(room):
                        rooms[ZoneKey(site, camera, zone)] = room
                    else:
                        found.append(
                            f"{ZONE_INFO_SERIES} with a {ZONE_ROOM_LABEL} that is not an id: {labels}"
                        )
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
        elif sample.name == ZONE_PARTIAL:
            if zone := labels.get(ZONE):
                key = ZoneKey(site, camera, zone)
                partial[key] = partial.get(key, False) or sample.value != 0
            else:
                found.append(f"{ZONE_PARTIAL} sample without a zone label: {labels}")
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
        key: Reading(value, last_frame.get((key.site, key.camera), now), partial.get(key, False))
        for key, value in occupancy.items()
        if (key.site, key.camera) not in down
    }
    reported = {key: key.zone for key in occupancy} | names
    for key, room in (rooms_before or {}).items():
        if (key.site, key.camera) not in answered:
            rooms.setdefault(key, room)
    members = room_members(rooms, {*occupancy, *partial})
    unknown: dict[ZoneKey, Why] = {}
    for room_key, keys in members.items():
        reported.setdefault(room_key, room_key.zone)
        if reading := room_reading([zones.get(key) for key in keys]):
            zones[room_key] = reading
        else:
            unknown[room_key] = Why(
                Unknown.NOT_COUNTED, f"no zone of the room is counted ({', '.join(map(str, keys))})"
            )
    return Snapshot(
        now,
        zones,
        down,
        tuple(found),
        reported,
        complete,
        entries_total=room_sums(counters[ENTRIES_SERIES], members),
        exits_total=room_sums(counters[EXITS_SERIES], members),
        zones_unknown=unknown,
        room_members=members,
        zone_rooms=rooms,
    )


def room_members(rooms: dict[ZoneKey, str], counted: set[ZoneKey]) -> dict[ZoneKey, tuple[ZoneKey, ...]]:
    """The rooms to add up from zones: each room (its key under camera "floor") that some zone
    names and no box counts itself (counted: the keys with an occupancy or partial series), with
    its zones in order."""
    found: dict[ZoneKey, list[ZoneKey]] = {}
    for key, room in sorted(rooms.items()):
        room_key = ZoneKey(key.site, ROOM_CAMERA, room)
        if room_key not in counted:
            found.setdefault(room_key, []).append(key)
    return {room: tuple(keys) for room, keys in found.items()}


def room_reading(readings: list[Reading | None]) -> Reading | None:
    """A room added up from its zones: the sum of those known, as of the oldest of their frames;
    partial while one is unknown or partial; None (unknown) while none is known."""
    known = [r for r in readings if r is not None]
    if not known:
        return None
    return Reading(
        sum(r.occupancy for r in known),
        min(r.at for r in known),
        len(known) < len(readings) or any(r.partial for r in known),
    )


def room_sums(
    values: dict[ZoneKey, float], members: dict[ZoneKey, tuple[ZoneKey, ...]]
) -> dict[ZoneKey, float]:
    """The values with each added room's, the sum of its zones', where every zone has one: a sum
    that lacks a zone would fall and read as a counter reset."""
    added = {
        room: sum(values[key] for key in keys)
        for room, keys in members.items()
        if all(key in values for key in keys)
    }
    return {**values, **added}


class ScrapeSource:
    """Reads every edge box's /metrics page at once, as Prometheus would, and keeps the exits of
    the last minutes that Prometheus would otherwise keep (the expected wait's denominator)."""

    def __init__(
        self,
        settings: ScrapeInput,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
        limits: LimitSettings | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_s)
        self._cameras_at: dict[str, set[Camera]] = {}
        self._exits = ExitWindow()
        self._bounds = Bounds(limits or LimitSettings())
        self._rooms: dict[ZoneKey, str] = {}

    async def _scrape(self, url: str) -> tuple[list[Sample], list[str]]:
        """The target's samples within the limits, and its problems."""
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
            # In a thread: a large page must not hold up the answers to people meanwhile.
            return await asyncio.to_thread(self._bounds.read, url, body.decode("utf-8"))
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
                read, found = result
                samples.extend(read)
                problems.extend(found)
                self._cameras_at[url] = {_camera_of(s) for s in read}
        complete = all(url in self._cameras_at for url in targets)
        snapshot = snapshot_from_samples(
            samples,
            self.clock.now(),
            self.settings.stale_after_s,
            problems,
            unreachable,
            complete,
            self._rooms,
        )
        self._rooms = snapshot.zone_rooms
        return replace(snapshot, recent_exits=self._exits.observe(snapshot.taken_at, snapshot.exits_total))

    async def aclose(self) -> None:
        await self._client.aclose()


class PrometheusSource:
    """One PromQL instant query for the metrics read, so they share one evaluation time, and one
    for the people who left each zone in the expected wait's window (Prometheus keeps the history)."""

    QUERY = '{__name__=~"' + "|".join(READ_METRICS) + '"}'

    def __init__(
        self,
        settings: PrometheusInput,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
        limits: LimitSettings | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_s)
        self._bounds = Bounds(limits or LimitSettings())
        self._url = settings.url
        self._cameras: set[Camera] = set()
        self._answered = False
        self._exits_failing = False
        self._rooms: dict[ZoneKey, str] = {}

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
                rooms_before=self._rooms,
            )
        samples, problems = self._within_limits(samples)
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
            if all(ID.fullmatch(sample.labels.get(label, "")) for label in ZONE_LABELS)
            and not math.isnan(sample.value)
        }
        snapshot = snapshot_from_samples(
            samples, now, self.settings.stale_after_s, problems, rooms_before=self._rooms
        )
        self._rooms = snapshot.zone_rooms
        return replace(snapshot, recent_exits=room_sums(recent, snapshot.room_members))

    def _within_limits(self, samples: list[Sample]) -> tuple[list[Sample], list[str]]:
        """Each edge box (Prometheus's `instance` label) within the limits, as a scraped target is."""
        by_target: dict[str, list[Sample]] = {}
        for sample in samples:
            by_target.setdefault(sample.labels.get("instance", self._url), []).append(sample)
        kept: list[Sample] = []
        problems: list[str] = []
        for target, found in by_target.items():
            read, said = self._bounds.check(target, found)
            kept.extend(read)
            problems.extend(said)
        return kept, problems

    async def aclose(self) -> None:
        await self._client.aclose()


def build_source(
    settings: ScrapeInput | PrometheusInput, clock: Clock, limits: LimitSettings | None = None
) -> OccupancySource:
    if isinstance(settings, ScrapeInput):
        return ScrapeSource(settings, clock, limits=limits)
    return PrometheusSource(settings, clock, limits=limits)
