"""`wartezone eval`: count accuracy (and, with per-person ground truth, visits and dwell) on labelled data."""

from __future__ import annotations

import csv
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from edge.config import WHOLE_FRAME, CameraConfig, Config
from edge.detect import build_detector
from edge.detections import Detections
from edge.pipeline import CameraPipeline, FrameResult
from edge.runner import CameraRunner
from edge.sources.base import Frame, PendingFrame
from edge.sources.file import FileSource
from edge.sources.sampling import every_nth
from edge.zones.geometry import contains, to_pixels

IMAGE_FOLDER_FRAME_S = 1.0  # an image folder has no clock; tracking assumes one second per evaluated frame


class GroundTruthError(ValueError):
    """A ground-truth file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class CountRow:
    frame: int
    file: str
    count: int


def read_counts_csv(path: Path) -> list[CountRow]:
    """The Mall format: a header `frame,file,count`, then one row per image."""
    rows = []
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        if reader.fieldnames is None or not {"frame", "file", "count"} <= set(reader.fieldnames):
            raise GroundTruthError(f"{path}: expected the columns frame,file,count, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                rows.append(CountRow(int(row["frame"]), row["file"], int(row["count"])))
            except (TypeError, ValueError):
                raise GroundTruthError(f"{path}:{line}: not a frame,file,count row: {row}") from None
    return rows


def read_cvml(path: Path) -> dict[int, dict[int, tuple[float, float, float, float]]]:
    """CVML (PETS) ground truth: frame number -> person id -> box (x1, y1, x2, y2)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        raise GroundTruthError(f"{path}: not a readable CVML file ({error})") from None
    frames: dict[int, dict[int, tuple[float, float, float, float]]] = {}
    for frame in root.iter("frame"):
        people = {}
        for obj in frame.iter("object"):
            box = obj.find("box")
            if box is None:
                raise GroundTruthError(
                    f"{path}: object {obj.get('id')} in frame {frame.get('number')} has no box"
                )
            xc, yc, w, h = (float(box.get(k, "nan")) for k in ("xc", "yc", "w", "h"))
            people[int(obj.get("id", "-1"))] = (xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2)
        frames[int(frame.get("number", "-1"))] = people
    return frames


@dataclass
class EvalResult:
    frames: int
    mae: float
    bias: float
    mae_raw: float
    bias_raw: float
    ms_per_frame: float
    analysis_errors: int = 0  # frames whose analysis failed: skipped, not scored
    visits: int | None = None
    gt_visits: int | None = None
    mean_dwell_s: float | None = None
    gt_mean_dwell_s: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


class _Scorer:
    def __init__(self) -> None:
        self.predicted: list[int] = []
        self.raw: list[int] = []
        self.truth: list[int] = []

    def add(self, predicted: int, raw: int, truth: int) -> None:
        self.predicted.append(predicted)
        self.raw.append(raw)
        self.truth.append(truth)

    def result(self, seconds: float, analysis_errors: int) -> EvalResult:
        truth = np.asarray(self.truth, float)
        error = np.asarray(self.predicted, float) - truth
        error_raw = np.asarray(self.raw, float) - truth
        n = max(len(truth), 1)
        return EvalResult(
            frames=len(truth),
            mae=float(np.abs(error).sum() / n),
            bias=float(error.sum() / n),
            mae_raw=float(np.abs(error_raw).sum() / n),
            bias_raw=float(error_raw.sum() / n),
            ms_per_frame=1000.0 * seconds / n,
            analysis_errors=analysis_errors,
        )


def _runner(config: Config, analysed_fps: float, every: int) -> CameraRunner:
    """The first camera's runner, taking every `every`-th frame by position (as labels number them),
    its tracker stepping at the rate frames are evaluated."""
    camera = config.cameras[0].model_copy(update={"fps": analysed_fps})
    detector = build_detector(config.detector)
    pipeline = CameraPipeline(camera, detector, config.tracker, region=config.detector.region)
    return CameraRunner(camera, pipeline, select=every_nth(every))


@dataclass(frozen=True, slots=True)
class _LabelledImage:
    """One row of a frame,file,count CSV as a frame of a source; read from disk when decoded."""

    time_s: float
    wall_time: float
    path: Path
    row: CountRow
    counts: Path

    def decode(self) -> Frame:
        image = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if image is None:
            row, folder = self.row, self.path.parent
            raise GroundTruthError(
                f"{self.counts}: frame {row.frame} names {row.file}, not readable in {folder}"
            )
        return Frame(np.asarray(image, np.uint8), self.time_s, self.wall_time)


def eval_counts(folder: Path, counts: Path, config: Config, every: int, progress: bool = True) -> EvalResult:
    """Whole-frame counts on a folder of images against a frame,file,count CSV.

    The CSV holds whole-frame truth only, so a config's zones are replaced by one zone covering
    the frame (its detector, tracker and privacy masks still apply). An image folder has no clock:
    evaluated images are IMAGE_FOLDER_FRAME_S apart.
    """
    rows = read_counts_csv(counts)
    camera = config.cameras[0].model_copy(update={"zones": [WHOLE_FRAME]})
    config = config.model_copy(update={"cameras": [camera]})
    runner = _runner(config, 1.0 / IMAGE_FOLDER_FRAME_S, every=1)  # the rows are picked here
    images = [
        _LabelledImage(i * IMAGE_FOLDER_FRAME_S, i * IMAGE_FOLDER_FRAME_S, folder / row.file, row, counts)
        for i, row in enumerate(rows[::every])
    ]
    truth = {image.time_s: image.row.count for image in images}
    scorer = _Scorer()
    bar = tqdm(total=len(truth), desc="eval", unit="frame", disable=not progress)

    def score(result: FrameResult) -> None:
        zones = result.zones
        scorer.add(sum(z.occupancy for z in zones), sum(z.raw_count for z in zones), truth[result.time_s])
        bar.update()

    started = time.perf_counter()
    runner.run(images, on_result=score)
    bar.close()
    return scorer.result(time.perf_counter() - started, runner.analysis_errors)


def _gt_in_zones(
    camera: CameraConfig, boxes: list[tuple[float, float, float, float]], width: int, height: int
) -> int:
    """Ground-truth people counted the way the zones count detections (box bottom, per zone)."""
    if not boxes:
        return 0
    people = Detections(np.asarray(boxes, np.float32), np.ones(len(boxes), np.float32))
    limit = np.array([width - 0.5, height - 0.5], np.float32)
    return sum(
        int(contains(to_pixels(z.polygon, width, height), np.clip(people.anchors(z.anchor), 0, limit)).sum())
        for z in camera.zones
    )


def _gt_visits(
    truth: dict[int, dict[int, tuple[float, float, float, float]]], times: dict[int, float]
) -> list[float]:
    """Dwell of every ground-truth person: from their first to their last annotated frame."""
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for number, people in truth.items():
        if number not in times:
            continue
        for person in people:
            first.setdefault(person, times[number])
            last[person] = times[number]
    return [last[p] - first[p] for p in first]


def eval_video(video: Path, gt: Path, config: Config, every: int, progress: bool = True) -> EvalResult:
    """Counts, visits and dwell on a video against CVML per-person ground truth."""
    truth = read_cvml(gt)
    source = FileSource(video, realtime=False)
    total = source.frame_count()
    runner = _runner(config, source.nominal_fps() / every, every)
    camera = config.cameras[0]
    scorer = _Scorer()
    times: dict[int, float] = {}  # every frame's timestamp, for the ground truth's visits
    numbers: dict[float, int] = {}  # an analysed frame's number, by its timestamp
    dwells: list[float] = []
    visits = 0
    bar = tqdm(total=(total + every - 1) // every, desc="eval", unit="frame", disable=not progress)

    def frames() -> Iterator[PendingFrame]:
        for number, pending in enumerate(source.frames()):
            times[number] = pending.time_s
            numbers[pending.time_s] = number
            yield pending

    def score(result: FrameResult) -> None:
        nonlocal visits
        number = numbers[result.time_s]
        height, width = result.image_size
        expected = _gt_in_zones(camera, list(truth.get(number, {}).values()), width, height)
        zones = result.zones
        scorer.add(sum(z.occupancy for z in zones), sum(z.raw_count for z in zones), expected)
        visits += sum(z.entries for z in zones)
        dwells.extend(d for z in zones for d in z.completed_dwells_s)
        bar.update()

    started = time.perf_counter()
    dwells.extend(d for z in runner.run(frames(), on_result=score) for d in z.completed_dwells_s)
    bar.close()
    result = scorer.result(time.perf_counter() - started, runner.analysis_errors)
    gt_dwells = _gt_visits(truth, times)
    result.visits = visits
    result.gt_visits = len(gt_dwells)
    result.mean_dwell_s = float(np.mean(dwells)) if dwells else 0.0
    result.gt_mean_dwell_s = float(np.mean(gt_dwells)) if gt_dwells else 0.0
    return result
