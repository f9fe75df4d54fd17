"""`wartezone eval`: count accuracy (and, with per-person ground truth, visits and dwell) on labelled data."""

from __future__ import annotations

import csv
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
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
from edge.zones.fixtures import FIXTURE_FORGET_S
from edge.zones.geometry import contains, to_pixels

IMAGE_FOLDER_FRAME_S = 1.0  # an image folder has no clock; tracking assumes one second per evaluated frame
# Bands of the true count for the per-band figures: each starts at its number and ends before the
# next (0-9, 10-19, 20-39, 40+), so a detector that does well on a quiet room and misses half of a
# crowd cannot hide behind one average.
BAND_STARTS = (0, 10, 20, 40)


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
            if rows[-1].count < 0:
                raise GroundTruthError(f"{path}:{line}: a count of people cannot be negative: {row}")
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


def band_label(index: int) -> str:
    """The band's name: "0-9", ..., "40+"."""
    start = BAND_STARTS[index]
    if index + 1 == len(BAND_STARTS):
        return f"{start}+"
    return f"{start}-{BAND_STARTS[index + 1] - 1}"


def band_of(count: int) -> int:
    """Index into BAND_STARTS of the band a true count falls in."""
    return sum(count >= start for start in BAND_STARTS[1:])


@dataclass(frozen=True, slots=True)
class BandScore:
    """The figures of the frames whose true count falls in one band; None where it has no frames
    (and relative_bias where its mean true count is 0): no figure is made up for an empty band."""

    band: str
    frames: int
    mean_true: float | None
    mae: float | None
    bias: float | None
    relative_bias: float | None  # bias / mean true count: -0.17 = 17 % of the people missed

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "frames": self.frames,
            "mean_true": _rounded(self.mean_true),
            "mae": _rounded(self.mae),
            "bias": _rounded(self.bias),
            "relative_bias": _rounded(self.relative_bias),
        }


def band_scores(truth: Sequence[int], predicted: Sequence[int]) -> list[BandScore]:
    """MAE and bias of `predicted` per band of the true count, every band listed, empty ones too."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true counts but {len(predicted)} predicted ones")
    true = np.asarray(truth, float)
    error = np.asarray(predicted, float) - true
    band = np.asarray([band_of(t) for t in truth], int)
    scores = []
    for index in range(len(BAND_STARTS)):
        inside = band == index
        frames = int(inside.sum())
        if frames == 0:
            scores.append(BandScore(band_label(index), 0, None, None, None, None))
            continue
        mean_true = float(true[inside].mean())
        bias = float(error[inside].mean())
        relative = bias / mean_true if mean_true > 0 else None
        mae = float(np.abs(error[inside]).mean())
        scores.append(BandScore(band_label(index), frames, mean_true, mae, bias, relative))
    return scores


def band_table(bands: Sequence[BandScore]) -> list[str]:
    """The per-band figures as lines of a small text table."""

    def cell(value: float | None, spec: str, width: int) -> str:
        return ("-" if value is None else format(value, spec)).rjust(width)

    lines = [f"{'true count':>10} {'frames':>6} {'mean true':>9} {'mae':>7} {'bias':>7} {'bias/true':>9}"]
    for b in bands:
        lines.append(
            f"{b.band:>10} {b.frames:>6} {cell(b.mean_true, '.1f', 9)} {cell(b.mae, '.2f', 7)} "
            f"{cell(b.bias, '+.2f', 7)} {cell(b.relative_bias, '+.0%', 9)}"
        )
    return lines


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True, slots=True)
class FrameCount:
    """One evaluated frame: its true count, the reported (smoothed) and the single-frame count."""

    truth: int
    reported: int
    raw: int


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
    bands: list[BandScore] = field(default_factory=list)  # of the reported count
    counts: list[FrameCount] = field(default_factory=list)  # per frame, for the plot; not in as_dict

    def as_dict(self) -> dict[str, object]:
        """The figures as the JSON line prints them: floats rounded, the bands by name."""
        values: dict[str, object] = {
            k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in self.__dict__.items()
            if k not in ("bands", "counts")
        }
        values["bands"] = {b.band: b.as_dict() for b in self.bands}
        return values


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
            bands=band_scores(self.truth, self.predicted),
            counts=[FrameCount(*c) for c in zip(self.truth, self.predicted, self.raw, strict=True)],
        )


def _runner(config: Config, analysed_fps: float, every: int, first: int = 0) -> CameraRunner:
    """The first camera's runner, taking every `every`-th frame by position from frame `first` (as
    labels number them), its tracker stepping at the rate frames are evaluated."""
    camera = config.cameras[0].model_copy(update={"fps": analysed_fps})
    detector = build_detector(config.detector)
    pipeline = CameraPipeline(
        camera,
        detector,
        config.tracker,
        settings=config.detector,
    )
    return CameraRunner(camera, pipeline, select=every_nth(every, first))


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


def stills_apart_s(config: Config) -> float:
    """How far apart in time stills are placed: further than the tracker keeps a lost person
    (lost_track_s), a zone keeps a visit open (exit_grace_s), the motion gate lets a detection
    stand (full_every_s) and a camera remembers where it found faint boxes (FIXTURE_FORGET_S), so
    each still starts with no tracks, no visits and no fixtures and is detected anew, as if it were
    the first frame analysed."""
    gate = config.detector.motion_gate
    memory_s = max(
        config.tracker.lost_track_s,
        0.0 if gate is None else gate.full_every_s,
        0.0 if config.detector.fixtures is None else FIXTURE_FORGET_S,
        *(z.exit_grace_s for z in config.cameras[0].zones),
    )
    return memory_s + IMAGE_FOLDER_FRAME_S


def eval_counts(
    folder: Path,
    counts: Path,
    config: Config,
    every: int,
    stills: bool = False,
    progress: bool = True,
    first: int = 0,
) -> EvalResult:
    """Whole-frame counts on a folder of images against a frame,file,count CSV.

    The CSV holds whole-frame truth only, so a config's zones are replaced by one zone covering
    the frame (its detector, tracker and privacy masks still apply). An image folder has no clock:
    evaluated images are IMAGE_FOLDER_FRAME_S apart, as consecutive frames of a sequence (Mall),
    and the reported count is smoothed over them as the zone says.

    With `stills`, each image is a moment of its own (BRT: stills half a minute or more apart):
    the zone reports each image's own count (smoothing_frames 1), and the images are placed
    stills_apart_s apart, so that nobody is tracked from one to the next. The same runner
    analyses them either way; only the zone and the clock differ.
    """
    rows = read_counts_csv(counts)
    zone = WHOLE_FRAME.model_copy(update={"smoothing_frames": 1}) if stills else WHOLE_FRAME
    camera = config.cameras[0].model_copy(update={"zones": [zone]})
    config = config.model_copy(update={"cameras": [camera]})
    apart_s = stills_apart_s(config) if stills else IMAGE_FOLDER_FRAME_S
    runner = _runner(config, 1.0 / apart_s, every=1)  # the rows are picked here
    images = [
        _LabelledImage(i * apart_s, i * apart_s, folder / row.file, row, counts)
        for i, row in enumerate(rows[first::every])
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


def eval_video(
    video: Path, gt: Path, config: Config, every: int, progress: bool = True, first: int = 0
) -> EvalResult:
    """Counts, visits and dwell on a video against CVML per-person ground truth."""
    truth = read_cvml(gt)
    source = FileSource(video, realtime=False)
    total = source.frame_count()
    runner = _runner(config, source.nominal_fps() / every, every, first)
    camera = config.cameras[0]
    scorer = _Scorer()
    times: dict[int, float] = {}  # every frame's timestamp, for the ground truth's visits
    numbers: dict[float, int] = {}  # an analysed frame's number, by its timestamp
    dwells: list[float] = []
    visits = 0
    bar = tqdm(total=(total - first + every - 1) // every, desc="eval", unit="frame", disable=not progress)

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


BAND_SHADES = ("#f2f2f2", "#ffffff")  # alternating backgrounds of the bands along the true axis


def plot_counts(path: Path, result: EvalResult, data_name: str, stills: bool) -> None:
    """Reported against true count per evaluated frame, with the identity line, the bands of the
    true count shaded and their figures in the legend. Counts only: no pixel of any frame."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display; chosen here, not at import
    import matplotlib.pyplot as plt

    truth = np.asarray([c.truth for c in result.counts], int)
    reported = np.asarray([c.reported for c in result.counts], int)
    top = max(int(truth.max(initial=0)), int(reported.max(initial=0)), BAND_STARTS[1]) * 1.08 + 1
    figure, axes = plt.subplots(figsize=(8, 8), dpi=100)
    for index, start in enumerate(BAND_STARTS):
        end = min(BAND_STARTS[index + 1] if index + 1 < len(BAND_STARTS) else top, top)
        if start >= top:
            break
        axes.axvspan(start - 0.5, end - 0.5, color=BAND_SHADES[index % 2], zorder=0)
        if start > 0:
            axes.axvline(start - 0.5, color="#b0b0b0", linewidth=0.8, zorder=1)
        middle = (start + end - 1) / 2
        axes.text(
            middle,
            0.01,
            band_label(index),
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color="#666666",
        )
    axes.plot([0, top], [0, top], color="#555555", linestyle="--", linewidth=1, label="reported = true")
    band = np.asarray([band_of(t) for t in truth.tolist()], int)
    for index, score in enumerate(result.bands):
        inside = band == index
        if score.frames == 0 or score.mae is None or score.bias is None:
            label = f"{score.band}: no frames"
        else:
            relative = "" if score.relative_bias is None else f" ({score.relative_bias:+.0%})"
            figures = f"MAE {score.mae:.2f}, bias {score.bias:+.2f}{relative}"
            label = f"{score.band}: {score.frames} {'stills' if stills else 'frames'}, {figures}"
        axes.scatter(
            truth[inside],
            reported[inside],
            s=28,
            alpha=0.55,
            color=f"C{index}",  # the default colour cycle, one colour per band
            edgecolors="none",
            label=label,
            zorder=2,
        )
    axes.set_xlim(-0.5, top)
    axes.set_ylim(-0.5, top)
    axes.set_aspect("equal")
    axes.set_xlabel("true count (people in the frame)")
    axes.set_ylabel("reported count" if stills else "reported count (smoothed)")
    axes.grid(alpha=0.25, zorder=1)
    legend = axes.legend(loc="upper left", fontsize=9, title="band of the true count", title_fontsize=9)
    legend.get_frame().set_alpha(0.9)
    what = "stills, each on its own" if stills else "frames, reported count smoothed"
    single = "" if stills else f"; single-frame MAE {result.mae_raw:.2f}, bias {result.bias_raw:+.2f}"
    axes.set_title(
        f"{data_name}: {result.frames} {what}\nMAE {result.mae:.2f}, bias {result.bias:+.2f}{single}",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
