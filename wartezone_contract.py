"""What passes between the edge box and the alert API: metric names, their labels, and the id
pattern of the label values. Both sides and the operations tests import these names from here;
`edge` and `api` never import each other. No dependencies, so either side can install it alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Site, camera and zone ids: lower-case letters, digits, '-' and '_'; they become label values.
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
ID_MAX_LENGTH = 63

SITE_LABELS = ("site",)
CAMERA_LABELS = ("site", "camera")
ZONE_LABELS = ("site", "camera", "zone")

# --- the edge's exposition (families; counters gain _total, histograms _bucket/_sum/_count) ----
ZONE_INFO = "wartezone_zone"  # an info metric: wartezone_zone_info{site,camera,zone,name} 1
ZONE_NAME_LABEL = "name"  # the zone's display name from the edge config (the id where none is set)
ZONE_ROOM_LABEL = "room"  # on zone_info, only where set: the room of the floor plan the zone is part of
ZONE_OCCUPANCY = "wartezone_zone_occupancy"
ZONE_LOITERING = "wartezone_zone_loitering"
ZONE_LONGEST_DWELL = "wartezone_zone_longest_dwell_seconds"
ZONE_ENTRIES = "wartezone_zone_entries"
ZONE_EXITS = "wartezone_zone_exits"
ZONE_DWELL = "wartezone_zone_dwell_seconds"
CAMERA_UP = "wartezone_camera_up"
CAMERA_LAST_FRAME = "wartezone_camera_last_frame_timestamp_seconds"
CAMERA_CONFIGURED_FPS = "wartezone_camera_configured_fps"
CAMERA_RECONNECTS = "wartezone_camera_reconnects"
CAMERA_STALLS = "wartezone_camera_stalls"
FRAMES_ANALYSED = "wartezone_frames_analysed"
FRAMES_DROPPED = "wartezone_frames_dropped"
ANALYSIS_ERRORS = "wartezone_analysis_errors"
DETECTOR_LATENCY = "wartezone_detector_latency_seconds"
DETECTOR_BUSY = "wartezone_detector_busy_ratio"
MODEL_INFO = "wartezone_model"
COUNT_CORRECTION_INFO = "wartezone_camera_count_correction"
CAMERA_THINGS = "wartezone_camera_things"  # places left out as things (edge/zones/fixtures.py): a count
# Rooms of the floor plan are zones of this reserved camera: the zone families above, camera="floor"
# (and wartezone_camera_up / _last_frame_timestamp_seconds for the rooms' steps); no camera has this id.
ROOM_CAMERA = "floor"
ZONE_PARTIAL = "wartezone_zone_partial"  # rooms only: 1 while a step lacks a camera (count is at least)

# --- the API's exposition --------------------------------------------------------------------
ALERT_STATE = "wartezone_alert_state"
ALERT_RAISE_LEVEL = "wartezone_alert_raise_level"
ALERT_CLEAR_LEVEL = "wartezone_alert_clear_level"
ALERTS_FIRED = "wartezone_alerts_fired"
NOTIFICATIONS_SENT = "wartezone_notifications_sent"
NOTIFICATIONS_FAILED = "wartezone_notifications_failed"
OUTBOX_PENDING = "wartezone_outbox_pending"
ALERT_TIME_TO_ACKNOWLEDGE = "wartezone_alert_time_to_acknowledge_seconds"  # histogram: fired to acknowledged
AUTH_FAILURES = "wartezone_api_auth_failures"  # counter per kind (bearer, cookie, login); no address
# Queue figures per waiting zone, computed by the API every minute (docs/lead.md "Counters and forecast")
COUNTERS_OPEN = "wartezone_counters_open"  # counters serving the zone now: set at reception or by schedule
COUNTERS_NEEDED = "wartezone_counters_needed"  # Erlang C on the next 30 minutes' forecast (counters_needed)
# the most any quarter hour of the next hour needs for its forecast arrivals (the lead page's next hour)
COUNTERS_NEEDED_NEXT_HOUR = "wartezone_counters_needed_next_hour"
SERVICE_RATE = "wartezone_service_rate_per_hour"  # people called per open counter and hour (service_rate)
OCCUPANCY_FORECAST = "wartezone_occupancy_forecast"  # people waiting forecast OCCUPANCY_FORECAST_S ahead

# --- wait figures per zone (docs/waits.md): one definition per figure ---------------------
# Prometheus computes them as recording rules (deploy/prometheus/rules/recording.yml) for Grafana;
# the functions below are the same formulas for code that holds the counts itself (the queue
# simulation in benchmarks/queue_sim.py, benchmarks/pets_wait.py; the API, for reception and its
# reports). tests/ops/test_wait_rules.py runs both on the same series and requires the same figures.
WAIT_WINDOW = "1h"  # "waited lately": the visits that ended, and the person-time, in the last hour
WAIT_WINDOW_S = 3600.0
WAIT_MIN_VISITS = 5  # fewer visits ended (people entered, for Little's law) in the window: unknown
EXPECTED_WAIT_WINDOW = "15m"  # "expected wait": the rate at which people left in the last 15 minutes
EXPECTED_WAIT_WINDOW_S = 900.0
EXPECTED_WAIT_MIN_EXITS = 3  # fewer left in that time: unknown, never 0 or infinity

_ZONE_LEVEL = "site_camera_zone"
WAIT_MEDIAN = f"{_ZONE_LEVEL}:{ZONE_DWELL}:p50_{WAIT_WINDOW}"
WAIT_P90 = f"{_ZONE_LEVEL}:{ZONE_DWELL}:p90_{WAIT_WINDOW}"
WAIT_MEAN = f"{_ZONE_LEVEL}:{ZONE_DWELL}:mean_{WAIT_WINDOW}"
WAIT_LITTLE = f"{_ZONE_LEVEL}:wartezone_zone_wait_seconds:little_{WAIT_WINDOW}"
WAIT_DISAGREEMENT = f"{_ZONE_LEVEL}:wartezone_zone_wait_seconds:little_vs_tracked_{WAIT_WINDOW}"
WAIT_EXPECTED = f"{_ZONE_LEVEL}:wartezone_zone_wait_seconds:expected_{EXPECTED_WAIT_WINDOW}"
# Busiest hours: occupancy labelled with the local weekday (0 Sunday .. 6 Saturday) and hour (00 .. 23)
OCCUPANCY_BY_HOUR_OF_WEEK = f"{_ZONE_LEVEL}:{ZONE_OCCUPANCY}:hour_of_week"
OCCUPANCY_AT_RAISE_LEVEL = f"{_ZONE_LEVEL}:{ZONE_OCCUPANCY}:at_raise_level"  # 1 at or above it, else 0


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus's histogram_quantile on cumulative buckets (upper bound, count), +Inf last:
    linear inside the bucket that holds the rank, 0 as the first bucket's lower bound, and the
    largest finite bound when the rank falls in +Inf. None when the buckets hold nothing."""
    if not 0 < q <= 1:
        raise ValueError(f"q: a quantile in (0, 1], got {q}")
    if len(buckets) < 2 or buckets[-1][0] != float("inf"):
        raise ValueError(f"buckets: need finite upper bounds and +Inf last, got {buckets!r}")
    counts: list[float] = []
    for _, count in buckets:  # as Prometheus: a count below the one before it (a reset) is raised to it
        counts.append(max(count, counts[-1]) if counts else count)
    if counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    below_bound, below_count = 0.0, 0.0
    for (bound, _), count in zip(buckets[:-1], counts[:-1], strict=True):
        if count >= rank:
            return below_bound + (bound - below_bound) * (rank - below_count) / (count - below_count)
        below_bound, below_count = bound, count
    return buckets[-2][0]


def dwell_quantile_s(q: float, buckets: Sequence[tuple[float, float]], visits_ended: float) -> float | None:
    """Median (q 0.5) or 90th percentile (0.9) of the visits that ended in the window, from the
    increase of each dwell bucket over it; None with fewer than WAIT_MIN_VISITS visits."""
    if visits_ended < WAIT_MIN_VISITS:
        return None
    return histogram_quantile(q, buckets)


def dwell_mean_s(dwell_sum_s: float, visits_ended: float) -> float | None:
    """Mean of the visits that ended in the window: the dwell histogram's sum over its count."""
    if visits_ended < WAIT_MIN_VISITS:
        return None
    return dwell_sum_s / visits_ended


def little_wait_s(mean_occupancy: float, entries: float, window_s: float = WAIT_WINDOW_S) -> float | None:
    """Little's law: person-time in the zone over the window (mean occupancy x window) per person
    who entered in it; None with fewer than WAIT_MIN_VISITS entries."""
    if entries < WAIT_MIN_VISITS:
        return None
    return mean_occupancy * window_s / entries


def wait_disagreement(little_s: float | None, mean_s: float | None) -> float | None:
    """How far Little's law is from the tracked visits' mean: +0.3 = 30 % longer."""
    if little_s is None or mean_s is None or mean_s <= 0:
        return None
    return (little_s - mean_s) / mean_s


def expected_wait_s(
    waiting_now: float, exits: float, window_s: float = EXPECTED_WAIT_WINDOW_S
) -> float | None:
    """Expected wait for someone arriving now: people waiting now / the rate at which people left
    over the last window_s (exits in it). None (unknown) with fewer than EXPECTED_WAIT_MIN_EXITS."""
    if exits < EXPECTED_WAIT_MIN_EXITS:
        return None
    return waiting_now * window_s / exits


# --- queue figures per waiting zone (docs/lead.md "Counters and forecast") -----------------------
# A waiting zone as an M/M/c queue: people arrive at `arrival_rate`, each of `counters` open counters
# calls them at `service_rate` (both per second); the zone holds the people waiting for a counter,
# not those at one. The API (advice, early warning) and benchmarks/forecast.py use these alone.
SERVICE_RATE_WINDOW_S = 3600.0  # the service rate: exits per counter over the last hour ...
SERVICE_RATE_MIN_EXITS = 5  # ... of the minutes with someone waiting; fewer such exits: unknown
TARGET_WAIT_S = 1200.0  # a zone's default target: 20 minutes
WAIT_LONGER_LEVEL = 0.2  # counters needed keep at most this share of people over the target
MAX_COUNTERS = 500  # counters_needed gives up beyond this many (no branch has them)
OCCUPANCY_FORECAST_S = 1800.0  # the occupancy forecast's reach: 30 minutes ...
OCCUPANCY_FORECAST_STEP_S = 60.0  # ... in 1-minute steps


def _check_rates(counters: int, arrival_rate: float, service_rate: float) -> None:
    if counters < 0:
        raise ValueError(f"counters: 0 or more, got {counters}")
    if not arrival_rate >= 0 or math.isinf(arrival_rate):
        raise ValueError(f"arrival_rate: a finite rate of 0 or more per second, got {arrival_rate}")
    if not service_rate > 0 or math.isinf(service_rate):
        raise ValueError(f"service_rate: a finite rate above 0 per second, got {service_rate}")


def erlang_c(counters: int, arrival_rate: float, service_rate: float) -> float:
    """Erlang C: the chance that someone arriving has to wait (all counters busy). From the
    Erlang B recursion B(k) = A B(k-1) / (k + A B(k-1)), which never forms A^c or c! and so
    holds for hundreds of counters; 1.0 where the counters cannot keep up (c mu <= lambda)."""
    _check_rates(counters, arrival_rate, service_rate)
    load = arrival_rate / service_rate  # offered load A in Erlang
    if load == 0:
        return 0.0
    if counters <= load:
        return 1.0
    blocked = 1.0
    for k in range(1, counters + 1):
        blocked = load * blocked / (k + load * blocked)
    return counters * blocked / (counters - load * (1 - blocked))


def wait_longer_share(counters: int, arrival_rate: float, service_rate: float, target_s: float) -> float:
    """Share of people who wait longer than target_s: P(W > t) = C exp(-(c mu - lambda) t)."""
    if not target_s >= 0:
        raise ValueError(f"target_s: 0 or more seconds, got {target_s}")
    waits = erlang_c(counters, arrival_rate, service_rate)
    if waits == 1.0 and counters * service_rate <= arrival_rate:
        return 1.0
    return waits * math.exp(-(counters * service_rate - arrival_rate) * target_s)


def mean_queue_wait_s(counters: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait for a counter, C / (c mu - lambda); infinite where the counters cannot keep up."""
    waits = erlang_c(counters, arrival_rate, service_rate)
    spare = counters * service_rate - arrival_rate
    return math.inf if spare <= 0 else waits / spare


def counters_needed(
    arrival_rate: float,
    service_rate: float,
    target_s: float = TARGET_WAIT_S,
    level: float = WAIT_LONGER_LEVEL,
) -> int:
    """The fewest counters that keep the share of people waiting longer than target_s at or
    under `level` (and keep up: c mu > lambda); 0 when nobody comes."""
    if not 0 < level < 1:
        raise ValueError(f"level: a share in (0, 1), got {level}")
    _check_rates(0, arrival_rate, service_rate)
    if arrival_rate == 0:
        return 0
    counters = max(1, math.floor(arrival_rate / service_rate) + 1)  # the fewest that keep up
    while counters <= MAX_COUNTERS:
        if wait_longer_share(counters, arrival_rate, service_rate, target_s) <= level:
            return counters
        counters += 1
    raise ValueError(
        f"arrival_rate {arrival_rate}/s at service_rate {service_rate}/s needs more than "
        f"{MAX_COUNTERS} counters"
    )


def service_rate(
    exits: Sequence[float], counters_open: Sequence[float], waiting: Sequence[float], step_s: float
) -> float | None:
    """People called per open counter and second, from per-step counts over a window (e.g. the
    last SERVICE_RATE_WINDOW_S in minutes): exits of the waiting zone / counter-seconds, over
    the steps that began with someone waiting and a counter open. Only then is every open
    counter busy, so a break (no counter open) or an empty zone (counters idle) does not read
    as slow service. None with fewer than SERVICE_RATE_MIN_EXITS such exits."""
    if not len(exits) == len(counters_open) == len(waiting):
        raise ValueError(
            f"exits, counters_open, waiting: one value per step each, got "
            f"{len(exits)}, {len(counters_open)}, {len(waiting)}"
        )
    if not step_s > 0:
        raise ValueError(f"step_s: above 0 seconds, got {step_s}")
    called, counter_s = 0.0, 0.0
    for left, open_, queued in zip(exits, counters_open, waiting, strict=True):
        if queued >= 1 and open_ > 0:
            called += left
            counter_s += open_ * step_s
    if called < SERVICE_RATE_MIN_EXITS:
        return None
    return called / counter_s


def occupancy_forecast(
    waiting_now: float,
    arrival_rates: Sequence[float],
    service_rate: float,
    counters: int,
    step_s: float = OCCUPANCY_FORECAST_STEP_S,
    spread: float = 0.0,
) -> list[float]:
    """People waiting at the end of each step, from the people waiting now, the forecast
    arrival rate per step (per second) and the counters open: a fluid queue,
    q <- max(0, q + (lambda - c mu) dt), in which every open counter calls at its rate while
    someone waits. It leaves out the few who wait by chance while the counters keep up (the
    M/M/c mean queue): near a full load that mean runs to dozens the room never holds within
    half an hour, and it made the forecast 20 minutes ahead miss by 28 people on the simulated
    branch instead of 1.5 (benchmarks/forecast.py). Solved from the state now, the M/M/c queue's
    median is as close as this and its mean further off (docs/lead.md, "Fluid queue or M/M/c")."""
    _check_rates(counters, 0.0, service_rate)
    if not waiting_now >= 0:
        raise ValueError(f"waiting_now: 0 or more people, got {waiting_now}")
    capacity = counters * service_rate
    queue, path, variance = waiting_now, [], 0.0
    for rate in arrival_rates:
        _check_rates(counters, rate, service_rate)
        queue = max(0.0, queue + (rate - capacity) * step_s)
        variance += (rate + capacity) * step_s
        path.append(queue + spread * math.sqrt(variance))
    return path
