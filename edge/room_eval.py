"""`wartezone eval --room`: one room seen by several cameras against a truth per timestamp.

The site's YAML names the room (floor.rooms) and its calibrated cameras, whose sources are files
recorded together (their timestamps on one clock). Each camera's frames go through its runner and
pipeline as in the service, interleaved by capture time (edge/runner.run_together), and the room is
counted step by step as the service counts it (edge/zones/room_steps.py). Per step: the count of
each camera alone inside the room, the merged count, and against the truth MAE and bias per crowd
band; with true floor points, how many times a person in an overlap of views was counted and
whether anyone outside the room was. Only counts come out: no floor point is printed or written.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from edge.config import Config, ConfigError, FileSourceConfig, camera_floor, room_cameras
from edge.detect import build_detector
from edge.evaluate import BandScore, GroundTruthError, band_scores
from edge.pipeline import CameraPipeline, FrameResult
from edge.runner import CameraRunner, run_together
from edge.sources.file import FileSource
from edge.sources.sampling import every_nth
from edge.zones.geometry import contains
from edge.zones.room_steps import RoomStep, SiteRooms
from edge.zones.rooms import PAIRING_TOLERANCE_S, Points, count_room, times_counted

MERGED = "merged"


@dataclass(frozen=True, slots=True)
class RoomTruth:
    """The truth at one time: people in the room, and where they stand where the file says."""

    time_s: float
    count: int
    points: Points | None  # (N >= count, 2) floor metres, in the room and near it; None: counts only


def read_room_truth(path: Path) -> list[RoomTruth]:
    """A CSV with the columns time_s (the files' capture time, seconds), count (people in the room)
    and optionally floor_points: each true person's "x y" in metres, separated by ";", those in the
    room and those near it in some camera's view (they show whether anyone outside is counted)."""
    rows = []
    try:
        stream = path.open(newline="", encoding="utf-8")
    except OSError as error:
        raise GroundTruthError(f"{path}: cannot be read ({error.strerror})") from None
    with stream:
        reader = csv.DictReader(stream)
        if reader.fieldnames is None or not {"time_s", "count"} <= set(reader.fieldnames):
            raise GroundTruthError(
                f"{path}: expected the columns time_s,count[,floor_points], got {reader.fieldnames}"
            )
        placed = "floor_points" in reader.fieldnames
        for line, row in enumerate(reader, start=2):
            try:
                time_s, count = float(row["time_s"]), int(row["count"])
                points = None if not placed else _points(row["floor_points"] or "")
            except (TypeError, ValueError):
                raise GroundTruthError(
                    f"{path}:{line}: not a time_s,count[,floor_points] row: {row}"
                ) from None
            if count < 0:
                raise GroundTruthError(f"{path}:{line}: a count of people cannot be negative")
            if points is not None and len(points) < count:
                raise GroundTruthError(f"{path}:{line}: count {count} but only {len(points)} floor points")
            rows.append(RoomTruth(time_s, count, points))
    return rows


def _points(text: str) -> Points:
    """ "x y; x y" -> (N, 2); a pair that is not two numbers raises ValueError."""
    pairs = [pair.split() for pair in text.split(";") if pair.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"floor points must be 'x y' pairs separated by ';', got {text!r}")
    return np.asarray([(float(x), float(y)) for x, y in pairs], np.float64).reshape(-1, 2)


@dataclass
class RoomEvalResult:
    room: str
    cameras: list[str]
    steps: int = 0  # room steps scored against a truth
    partial: int = 0  # of those, steps a camera had no frame for
    unmatched_steps: int = 0  # steps with no truth within PAIRING_TOLERANCE_S
    truth: list[int] = field(default_factory=list)
    counts: dict[str, list[int]] = field(default_factory=dict)  # per way: merged, each camera alone
    overlap_counted: list[int] = field(default_factory=list)  # per true person in an overlap and found
    outside_people: int = 0  # true people outside the room within some camera's view (person-steps)
    outside_counted: int = 0  # of those, counted in the room
    detector_s: float = 0.0  # the cameras' detector time
    analysis_s: float = 0.0  # the cameras' whole analysis, the room's steps included
    seconds: float = 0.0

    def bands(self, way: str) -> list[BandScore]:
        return band_scores(self.truth, self.counts[way])

    def as_dict(self) -> dict[str, object]:
        truth = np.asarray(self.truth, float)

        def error(way: str) -> tuple[float | None, float | None]:
            if not len(truth):
                return None, None
            difference = np.asarray(self.counts[way], float) - truth
            return round(float(np.abs(difference).mean()), 3), round(float(difference.mean()), 3)

        counted = np.asarray(self.overlap_counted)
        steps = max(self.steps, 1)
        return {
            "room": self.room,
            "cameras": self.cameras,
            "steps": self.steps,
            "partial": self.partial,
            "unmatched_steps": self.unmatched_steps,
            "mean_true": round(float(truth.mean()), 2) if len(truth) else None,
            "ways": {
                way: {"mae": error(way)[0], "bias": error(way)[1]}
                | {"bands": {b.band: b.as_dict() for b in self.bands(way)}}
                for way in self.counts
            },
            "overlap_people": len(counted),
            "overlap_times_counted": round(float(counted.mean()), 3) if len(counted) else None,
            "overlap_counted_twice": round(float((counted >= 2).mean()), 4) if len(counted) else None,
            "outside_people": self.outside_people,
            "outside_counted": self.outside_counted,
            "detector_ms_per_room_frame": round(1000 * self.detector_s / steps, 1),
            "analysis_ms_per_room_frame": round(1000 * self.analysis_s / steps, 1),
            "analysis_over_detector": round(self.analysis_s / self.detector_s, 4)
            if self.detector_s
            else None,
        }


def room_of(config: Config, room: str | None) -> tuple[str, list[str]]:
    """The room to evaluate (the only one where none is named) and its cameras on this box."""
    seeing = room_cameras(config)
    names = [r.id for r in config.floor.rooms] if config.floor else []
    if not names:
        raise ConfigError([("floor", "the site has no floor.rooms to evaluate")])
    if room is None:
        if len(names) > 1:
            raise ConfigError([("--room", f"the site has several rooms: name one of {', '.join(names)}")])
        room = names[0]
    if room not in names:
        raise ConfigError([("--room", f"no room {room!r} in floor.rooms (known: {', '.join(names)})")])
    if room not in seeing:
        raise ConfigError([("--room", f"room {room!r} is seen by no calibrated camera of this site")])
    for camera in config.cameras:
        if camera.id in seeing[room] and not isinstance(camera.source, FileSourceConfig):
            raise ConfigError(
                [("cameras", f"camera {camera.id}: an evaluation reads files, not {camera.source.type}")]
            )
    return room, seeing[room]


def eval_room(
    config: Config, truth_path: Path, room: str | None = None, every: int = 1, progress: bool = True
) -> RoomEvalResult:
    """The room's counts, merged and per camera, against the truth (see the module's text)."""
    room, cameras = room_of(config, room)
    truth = read_room_truth(truth_path)
    truth_times = np.asarray([t.time_s for t in truth], np.float64)
    order = np.argsort(truth_times, kind="stable")
    truth_times, truth = truth_times[order], [truth[i] for i in order]
    room_config = next(r for r in config.floor.rooms if r.id == room) if config.floor else None
    assert room_config is not None
    polygon = np.asarray(room_config.polygon, np.float64)
    chosen = [c for c in config.cameras if c.id in cameras]
    result = RoomEvalResult(room, cameras, counts={MERGED: [], **{c: [] for c in cameras}})
    footprints: list[Points] = []

    def score(room_id: str, step: RoomStep) -> None:
        # Scoring runs inside the camera's analysis (a step completes there) but is this evaluation's
        # own work, not the edge's: its time is taken out of the analysis time.
        started = time.perf_counter()
        try:
            _score_step(room_id, step)
        finally:
            result.analysis_s -= time.perf_counter() - started

    def _score_step(room_id: str, step: RoomStep) -> None:
        if room_id != room:
            return
        nearest = int(np.argmin(np.abs(truth_times - step.time_s))) if len(truth) else -1
        if nearest < 0 or abs(truth_times[nearest] - step.time_s) > PAIRING_TOLERANCE_S:
            result.unmatched_steps += 1
            return
        true = truth[nearest]
        result.steps += 1
        result.partial += int(step.partial)
        result.truth.append(true.count)
        result.counts[MERGED].append(step.reading.raw_count)
        for camera, view in zip(cameras, step.views, strict=True):
            result.counts[camera].append(0 if view is None else count_room([view], polygon).count)
        if true.points is not None:
            _score_places(result, step, true.points, polygon, footprints)

    rooms = SiteRooms(config, on_step=score)
    footprints.extend(rooms.floors[c].footprint for c in cameras)
    detector = build_detector(config.detector)
    runners = []
    for camera in chosen:
        pipeline = CameraPipeline(camera, detector, config.tracker, None, config.detector, rooms)
        runners.append(CameraRunner(camera, pipeline, select=every_nth(every)))
    sources = [
        FileSource(c.source.path, realtime=False) for c in chosen if isinstance(c.source, FileSourceConfig)
    ]
    total = sum((s.frame_count() + every - 1) // every for s in sources)
    bar = tqdm(total=total, desc="eval", unit="frame", disable=not progress)

    def analysed(_: CameraRunner, frame: FrameResult) -> None:
        result.detector_s += frame.detector_s
        result.analysis_s += frame.analysis_s
        bar.update()

    started = time.perf_counter()
    run_together(runners, [s.frames() for s in sources], analysed)
    bar.close()
    result.seconds = time.perf_counter() - started
    return result


def _score_places(
    result: RoomEvalResult, step: RoomStep, true_points: Points, polygon: Points, footprints: list[Points]
) -> None:
    """Times each true person in an overlap of views was counted, and people outside counted."""
    in_room = contains(polygon.astype(np.float32), true_points.astype(np.float32))
    covered = np.zeros(len(true_points), int)
    for area in footprints:
        covered += contains(area.astype(np.float32), true_points.astype(np.float32))
    counted = times_counted(step.people, true_points)
    overlap = in_room & (covered >= 2) & (counted > 0)  # found at all: missing is the MAE's business
    result.overlap_counted.extend(counted[overlap].tolist())
    outside = ~in_room & (covered >= 1)
    result.outside_people += int(outside.sum())
    result.outside_counted += int((counted[outside] > 0).sum())


def plot_plan(path: Path, config: Config, room: str) -> None:
    """The floor plan: the room, each of its cameras' footprints, overlaps shaded darker where they
    add up. No person, no point of anyone: the plan as the installer drew it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    room_id, cameras = room_of(config, room)
    floors = {c.id: camera_floor(c) for c in config.cameras if c.id in cameras}
    assert config.floor is not None
    figure, axes = plt.subplots(figsize=(8, 6), dpi=100)
    for index, (camera, floor) in enumerate(floors.items()):
        assert floor is not None  # the room's cameras are calibrated
        corners = floor.footprint
        axes.fill(corners[:, 0], corners[:, 1], color=f"C{index}", alpha=0.25, label=f"camera {camera}")
        axes.plot(*np.vstack([corners, corners[:1]]).T, color=f"C{index}", linewidth=1)
    for other in config.floor.rooms:
        outline = np.asarray(other.polygon, np.float64)
        closed = np.vstack([outline, outline[:1]])
        width = 2.5 if other.id == room_id else 1.0
        axes.plot(closed[:, 0], closed[:, 1], color="black", linewidth=width)
        x, y = outline.mean(axis=0)
        axes.text(float(x), float(y), other.name or other.id, ha="center", va="center", fontsize=10)
    # The plan around the rooms: a footprint reaching far beyond them is cut at the margin.
    plan = np.concatenate([np.asarray(r.polygon, np.float64) for r in config.floor.rooms])
    low, high = plan.min(axis=0), plan.max(axis=0)
    margin = 0.3 * (high - low).max()
    axes.set_xlim(low[0] - margin, high[0] + margin)
    axes.set_ylim(high[1] + margin, low[1] - margin)  # y down on the plan, as in the YAML
    axes.set_aspect("equal")  # y down on the plan, as in the YAML
    axes.set_xlabel("x (m)")
    axes.set_ylabel("y (m)")
    axes.legend(loc="upper right", fontsize=9, title="footprints (darker: seen by several)", title_fontsize=9)
    axes.set_title(f"room {room_id}: seen by {', '.join(cameras)}", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
