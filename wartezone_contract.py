"""What passes between the edge box and the alert API: metric names, their labels, and the id
pattern of the label values. Both sides and the operations tests import these names from here;
`edge` and `api` never import each other. No dependencies, so either side can install it alone.
"""

from __future__ import annotations

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

# --- wait figures per zone (README "Wait figures"): one definition per figure ---------------------
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
