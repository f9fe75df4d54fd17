"""What runs while the setup page is open: each camera read by the service's own reader (reconnects,
stall watchdog), its newest frame counted with the page's draft layout in one analysis thread, the
drafts checked by the config model, and saving. Frames and pictures stay in this process's memory.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from edge.config import CameraConfig, Config, ConfigError, FileSourceConfig
from edge.detect import Detector, build_detector
from edge.setup.config_file import Layout, layout_of, validate_layout
from edge.setup.floor_file import save_site, validate_site
from edge.setup.picture import Snapshot, analyse
from edge.setup.plan import CameraFit, FloorDraft, coverage, fit_camera, floor_draft_of, overlaps
from edge.sources import open_source
from edge.sources.base import Frame, PendingFrame
from edge.sources.reader import CameraReader
from edge.sources.sampling import at_rate
from edge.zones.layout import layout_warnings

log = logging.getLogger(__name__)

# A camera's picture is counted again at most this often: live enough to watch people walk into a
# zone, and little work for a box that may be running its service beside it.
SETUP_FPS = 1.0
WATCH_EVERY_S = 0.5  # the analysis thread looks for stalls and waiting drafts at least this often
PROBLEM_PLACE = re.compile(r"^cameras\[\d+\]\.(?P<kind>zones|privacy_masks)\[(?P<index>\d+)\]")

FeedState = Literal["connecting", "up", "stalled", "down", "ended"]


class UnknownCamera(KeyError):
    """A request named a camera the site does not have."""


class _Feed:
    """What a camera's reader (edge/sources/reader.py) tells the setup: the newest due frame, and
    whether the stream delivers (each outage logged once, with its cause)."""

    def __init__(self, camera_id: str, fps: float, wake: Callable[[], None]) -> None:
        self._camera_id = camera_id
        self._select = at_rate(fps)
        self._wake = wake
        self._lock = threading.Lock()
        self._newest: Frame | None = None
        self.state: FeedState = "connecting"
        self.cause: str | None = None

    def due_frame(self, index: int, pending: PendingFrame) -> Frame | None:
        return pending.decode() if self._select(index, pending.time_s) else None

    def offer(self, frame: Frame, replace: bool = True) -> bool:
        with self._lock:
            self._newest = frame  # an older one not yet counted is simply replaced: the page wants now
        self._wake()
        return True

    def take(self) -> Frame | None:
        with self._lock:
            frame, self._newest = self._newest, None
            return frame

    def came_up(self) -> None:
        if self.state != "up":
            log.info("camera %s: receiving frames", self._camera_id)
        self.state, self.cause = "up", None

    def went_down(self, cause: str, stalled: bool = False) -> None:
        if self.state not in ("down", "stalled"):
            log.error("camera %s: %s", self._camera_id, cause)
        self.state, self.cause = ("stalled" if stalled else "down"), cause

    def count(self, event: Literal["reconnects", "stalls"], n: int = 1) -> None:
        """Reconnects and stalls are the service's metrics; the page shows the state instead."""

    def ended(self) -> None:
        log.info("camera %s: its video ended; the page keeps its last picture", self._camera_id)
        self.state, self.cause = "ended", None


class _LiveCamera:
    """One camera on the page: its reader, the draft layout, the frame shown and its snapshot."""

    def __init__(self, camera: CameraConfig, wake: Callable[[], None]) -> None:
        self.camera = camera
        self.layout = layout_of(camera)
        self.revision = 0  # of the page's latest draft
        self.draft = camera  # the latest draft that passed the config model: what frames are counted with
        self.draft_revision = 0
        self.problems: list[tuple[str, str]] = []
        self.warnings = layout_warnings(camera)
        self.hold = False
        self.frame: Frame | None = None  # the frame the snapshot shows; kept to count it again
        self.analysed_revision = -1
        self.snapshot: Snapshot | None = None
        self.failed = False
        source = camera.source
        if isinstance(source, FileSourceConfig):  # a file stands in for a camera: at its own speed
            source = source.model_copy(update={"realtime": True})
        self.feed = _Feed(camera.id, min(camera.fps, SETUP_FPS), wake)
        self.reader = CameraReader(
            camera.model_copy(update={"source": source}), open_source(source), self.feed
        )

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.camera.id,
            "status": self.feed.state,
            "cause": self.feed.cause,
            "hold": self.hold,
            "analysis_failed": self.failed,
            "calibrated": self.camera.count_correction is not None,
            "revision": self.revision,
            "layout": self.layout.model_dump(),
            "problems": [_problem(path, message) for path, message in self.problems],
            "warnings": self.warnings,
            "snapshot": None if self.snapshot is None else self.snapshot.describe(),
        }


FLOOR_PLACE = re.compile(r"^floor\b|^cameras\[\d+\]\.floor_calibration\b")


def _of_floor(path: str) -> bool:
    """A problem of the floor plan (shown beside it), not of a camera's zones (shown on their cards);
    a problem of the whole file (a room id that is a zone id) is said on both."""
    return FLOOR_PLACE.match(path) is not None or path == "(file)"


def _floor_problems(fits: list[CameraFit]) -> list[tuple[str, str]]:
    """Calibrations that cannot be saved as they are, by the camera's path in the file."""
    return [(f"cameras[{i}].floor_calibration", f.problem) for i, f in enumerate(fits) if f.problem]


def _problem(path: str, message: str) -> dict[str, Any]:
    """A config problem with the zone or mask it belongs to, for the page to show beside it."""
    place = PROBLEM_PLACE.match(path)
    kind = place.group("kind") if place else None
    return {
        "path": path,
        "message": message,
        "zone": int(place.group("index")) if place and kind == "zones" else None,
        "mask": int(place.group("index")) if place and kind == "privacy_masks" else None,
    }


class SetupSession:
    """The site's cameras, read and counted while the page is open; `path` is the YAML written on save."""

    def __init__(self, config: Config, path: Path, detector: Detector | None = None) -> None:
        self.config = config
        self.path = path
        self._detector = detector or build_detector(config.detector)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cameras = {c.id: _LiveCamera(c, self._wake.set) for c in config.cameras}
        self._version = 0
        self._saved: dict[str, str] | None = None
        self._floor = floor_draft_of(config)
        self._floor_revision = 0
        self._floor_view = self._plan(self._floor)
        self._threads = [
            *(
                threading.Thread(target=c.reader.run, name=f"setup-camera-{c.camera.id}", daemon=True)
                for c in self._cameras.values()
            ),
            threading.Thread(target=self._analyse_loop, name="setup-analysis", daemon=True),
        ]
        for camera in self._cameras.values():
            for warning in camera.warnings:
                log.warning("%s", warning)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for camera in self._cameras.values():
            camera.reader.stop()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=10)

    # --- what the page asks --------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "site": self.config.site,
                "file": self.path.name,
                "saved": self._saved,
                "cameras": [camera.describe() for camera in self._cameras.values()],
                "floor": {
                    "revision": self._floor_revision,
                    "draft": self._floor.model_dump(),
                    **self._floor_view,
                },
            }

    def picture(self, camera_id: str, version: int) -> bytes | None:
        """The JPEG of the camera's snapshot `version`; None once a newer one has replaced it."""
        with self._lock:
            snapshot = self._camera(camera_id).snapshot
            return snapshot.jpeg if snapshot is not None and snapshot.version == version else None

    def set_draft(self, camera_id: str, revision: int, layout: Layout) -> dict[str, Any]:
        """The page's layout for a camera: checked by the config model and, if it passes, counted from
        the next analysis on (the frame on show at once). Returns its problems and warnings."""
        problems: list[tuple[str, str]] = []
        warnings: list[str] = []
        draft: CameraConfig | None = None
        with self._lock:
            floor = self._floor
        try:
            config = validate_site(self.path, {camera_id: layout}, floor)  # a zone's room may be new
            draft = next(c for c in config.cameras if c.id == camera_id)
        except ConfigError as error:
            problems = [(path, message) for path, message in error.problems if not _of_floor(path)]
        if draft is None and not problems:
            # Only the floor plan has faults (said beside the plan): the zones count as drawn, their
            # rooms aside.
            try:
                zones = [z.model_copy(update={"room": None}) for z in layout.zones]
                draft = validate_layout(self.path, camera_id, layout.model_copy(update={"zones": zones}))
            except ConfigError as error:
                problems = error.problems
        if draft is not None:
            warnings = layout_warnings(draft)
        with self._lock:
            camera = self._camera(camera_id)
            if revision <= camera.revision:  # an older draft that arrived late
                return {"revision": camera.revision, "stale": True}
            camera.layout, camera.revision, camera.problems = layout, revision, problems
            if draft is not None:
                camera.draft, camera.draft_revision, camera.warnings = draft, revision, warnings
        self._wake.set()
        return {
            "revision": revision,
            "problems": [_problem(path, message) for path, message in problems],
            "warnings": warnings,
        }

    def set_floor(self, revision: int, draft: FloorDraft) -> dict[str, Any]:
        """The page's rooms and calibrations: each camera's pairs fitted (residual, footprint), the
        footprints' overlaps and the rooms' coverage. Returns what the page shows of them."""
        for camera_id in draft.calibrations:
            self._camera(camera_id)  # UnknownCamera for a camera the site does not have
        with self._lock:
            layouts = {camera_id: c.layout for camera_id, c in self._cameras.items()}
        view = self._plan(draft, layouts)
        with self._lock:
            if revision <= self._floor_revision:  # an older draft that arrived late
                return {"revision": self._floor_revision, "stale": True}
            self._floor, self._floor_revision, self._floor_view = draft, revision, view
        return {"revision": revision, **view}

    def _plan(self, draft: FloorDraft, layouts: dict[str, Layout] | None = None) -> dict[str, Any]:
        """What the page shows of a floor draft: each camera's fit, overlaps, rooms' coverage, and
        what the config model says of the rooms and calibrations (with the zones as drafted)."""
        base_dir = self.path.resolve().parent
        fits = [fit_camera(c, draft.calibrations.get(c), base_dir) for c in self._cameras]
        problems = _floor_problems(fits)
        if layouts is not None and not problems:
            try:
                validate_site(self.path, layouts, draft)
            except ConfigError as error:
                problems = [(path, message) for path, message in error.problems if _of_floor(path)]
        return {
            "fits": {fit.camera: fit.describe() for fit in fits},
            "overlaps": overlaps(fits),
            "coverage": coverage(draft.rooms, fits),
            "problems": [_problem(path, message) for path, message in problems],
        }

    def set_hold(self, camera_id: str, hold: bool) -> None:
        """Keep the picture on show (the draft is still counted on it) or follow the camera again."""
        with self._lock:
            self._camera(camera_id).hold = hold
        self._wake.set()

    def save(self) -> Path:
        """Every camera's draft into the YAML file; returns the backup's path. ConfigError when a
        draft does not pass the config model: nothing is written then."""
        with self._lock:
            problems = [p for c in self._cameras.values() for p in c.problems]
            problems += [(p["path"], p["message"]) for p in self._floor_view["problems"]]
            layouts = {camera_id: c.layout for camera_id, c in self._cameras.items()}
            warnings = [w for c in self._cameras.values() for w in c.warnings]
            floor = self._floor
        if problems:
            raise ConfigError(problems)
        backup = save_site(self.path, layouts, floor)
        log.info(
            "setup: zones, privacy masks and the floor plan written to %s (the previous file: %s)",
            self.path,
            backup,
        )
        for warning in warnings:  # as `edge run` will say at its start; the page said so while drawing
            log.warning("%s", warning)
        with self._lock:
            for camera in self._cameras.values():  # the zones are now in the file under their ids
                zones = [z.model_copy(update={"origin": z.id}) for z in camera.layout.zones]
                camera.layout = camera.layout.model_copy(update={"zones": zones})
            rooms = [r.model_copy(update={"origin": r.id}) for r in self._floor.rooms]
            self._floor = self._floor.model_copy(update={"rooms": rooms})
            self._saved = {"file": self.path.name, "backup": backup.name, "at": time.strftime("%H:%M:%S")}
        return backup

    def _camera(self, camera_id: str) -> _LiveCamera:
        try:
            return self._cameras[camera_id]
        except KeyError:
            raise UnknownCamera(camera_id) from None

    # --- the analysis thread -------------------------------------------------------------------

    def _analyse_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(WATCH_EVERY_S)
            self._wake.clear()
            now = time.monotonic()
            for camera in self._cameras.values():
                camera.reader.check_stall(now)
            for camera in self._cameras.values():
                if self._stop.is_set():
                    return
                try:
                    self._refresh(camera)
                except Exception:  # one camera's fault must not stop the page: logged, and shown
                    log.exception("camera %s: its picture could not be made", camera.camera.id)
                    with self._lock:
                        camera.failed = True

    def _refresh(self, camera: _LiveCamera) -> None:
        """Count the camera's newest frame (or, held or ended, the one on show again after the draft
        changed) with the latest draft that passed."""
        with self._lock:
            fresh = camera.feed.take()
            if fresh is not None and (not camera.hold or camera.frame is None):
                frame = fresh
            elif camera.frame is not None and camera.analysed_revision != camera.draft_revision:
                frame = camera.frame
            else:
                return
            draft, revision = camera.draft, camera.draft_revision
            self._version += 1
            version = self._version
        region = self.config.detector.region
        snapshot = analyse(frame, draft, self._detector, self.config.tracker, region, version, revision)
        with self._lock:
            camera.frame, camera.analysed_revision = frame, revision
            camera.failed = snapshot is None
            if snapshot is not None:
                camera.snapshot = snapshot
