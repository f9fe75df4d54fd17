"""What passes between the edge box and the alert API: metric names, their labels, and the id
pattern of the label values. Both sides and the operations tests import these names from here;
`edge` and `api` never import each other. No dependencies, so either side can install it alone.
"""

from __future__ import annotations

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
