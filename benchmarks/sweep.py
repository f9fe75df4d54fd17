"""Sweep: how the count error moves with input size, confidence threshold and NMS IoU.

The defaults were chosen with this: for each input size the detector runs once per frame at the
floor of faint boxes with a face seen (`face_confidence`) with NMS nearly off, then every
(threshold, IoU) cell is scored from those boxes, as the pipeline counts: NMS, the boxes above the
threshold and the fainter ones with a face seen, edge fragments and a quiet frame's second boxes
dropped, whole-frame count per frame, median of 3 analysed frames. (The detector pass already
drops large faint boxes: a rule per box, above every threshold swept, so it commutes with them.)
A good default is a cell whose neighbours are good too: then a scene that differs a little does
not fall off an edge.
    .venv/bin/python -m benchmarks.sweep [--sizes 960x1280,1088x1440] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from edge.config import OpenvinoDetectorConfig, QuietDuplicatesConfig
from edge.detect import build_detector
from edge.detect.postprocess import Region, drop_edge_fragments, drop_quiet_duplicates, nms, sure_or_face_seen
from edge.detections import Detections
from edge.evaluate import read_counts_csv, read_cvml
from edge.sources.file import FileSource

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
NMS_NEARLY_OFF = 0.95  # only near-identical boxes merge before the sweep applies each IoU
SMOOTHING_FRAMES = 3


@dataclass(frozen=True)
class Cell:
    size: str
    threshold: float
    iou: float
    mae: dict[str, float]  # per data set, after smoothing
    detect_ms: float  # the detector alone, per frame, at this size


@dataclass(frozen=True)
class DataSet:
    name: str
    every: int
    first: int = 0  # which frame of each `every` (eval takes the first: 0)

    def frames(self, pets: Path, mall: Path) -> Iterator[tuple[NDArray[np.uint8], int]]:
        """(image, true count) of every `every`-th frame, starting at frame `first`."""
        if self.name == "pets":
            truth = read_cvml(pets / "PETS2009-S2L1.xml")
            for number, pending in enumerate(FileSource(pets / "vtest.avi").frames()):
                if number % self.every == self.first and (frame := pending.decode()) is not None:
                    yield frame.image, len(truth.get(number, {}))
        else:
            for row in read_counts_csv(mall / "counts.csv")[self.first :: self.every]:
                image = cv2.imread(str(mall / "frames" / row.file), cv2.IMREAD_COLOR)
                if image is None:
                    raise SystemExit(f"{mall / 'frames' / row.file} is not a readable image")
                yield np.asarray(image, np.uint8), row.count


Found = tuple[Detections, Region]  # one frame's boxes and the whole frame's pixels


def smoothed_counts(
    found: list[Found],
    threshold: float,
    iou: float,
    fragment_inside: float | None,
    face_floor: float | None = None,
    quiet: QuietDuplicatesConfig | None = None,
) -> list[int]:
    """Per frame: people above the threshold after NMS (and fainter ones down to face_floor with a
    face seen), the edge-fragment rule and the quiet frames' rule, then the median (low) of the
    last 3 frames."""
    raw = []
    for people, region in found:
        if face_floor is None:
            kept = nms(people.select(people.confidence >= threshold), iou)
        else:
            kept = sure_or_face_seen(nms(people.select(people.confidence >= face_floor), iou), threshold)
        if fragment_inside is not None:
            kept = drop_edge_fragments(kept, region, fragment_inside)
        if quiet is not None:
            kept = drop_quiet_duplicates(kept, threshold, quiet.crowd, quiet.below, quiet.inside)
        raw.append(len(kept))
    return [statistics.median_low(raw[max(0, i - SMOOTHING_FRAMES + 1) : i + 1]) for i in range(len(raw))]


def smoothed_mae(
    found: list[Found],
    truth: list[int],
    threshold: float,
    iou: float,
    fragment_inside: float | None,
    face_floor: float | None = None,
    quiet: QuietDuplicatesConfig | None = None,
) -> float:
    counts = smoothed_counts(found, threshold, iou, fragment_inside, face_floor, quiet)
    return float(np.mean(np.abs(np.array(counts) - np.array(truth))))


def sweep(
    sizes: list[tuple[int, int]],
    thresholds: list[float],
    ious: list[float],
    fragment_inside: float | None,
    sets: list[DataSet],
    data: Path,
    face_floor: float | None = None,
    quiet: QuietDuplicatesConfig | None = None,
) -> list[Cell]:
    cells: list[Cell] = []
    floor = min(thresholds) if face_floor is None else min(face_floor, *thresholds)
    for size in sizes:
        detector = build_detector(
            OpenvinoDetectorConfig(
                input_size=size,
                confidence=floor,
                face_confidence=None,
                nms_iou=NMS_NEARLY_OFF,
                edge_fragment_inside=None,
            )
        )
        per_set: dict[str, tuple[list[Found], list[int]]] = {}
        seconds, frames = 0.0, 0
        for data_set in sets:
            found: list[Found] = []
            truth: list[int] = []
            frames_of = data_set.frames(data / "pets2009-s2l1", data / "mall-dev")
            for image, count in tqdm(frames_of, desc=f"{size[0]}x{size[1]} {data_set.name}", file=sys.stderr):
                started = time.perf_counter()
                found.append((detector.detect(image), (0, 0, image.shape[1], image.shape[0])))
                seconds += time.perf_counter() - started
                frames += 1
                truth.append(count)
            per_set[data_set.name] = (found, truth)
        cells += [
            Cell(
                size=f"{size[0]}x{size[1]}",
                threshold=threshold,
                iou=iou,
                mae={
                    name: smoothed_mae(*result, threshold, iou, fragment_inside, face_floor, quiet)
                    for name, result in per_set.items()
                },
                detect_ms=1000 * seconds / frames,
            )
            for threshold in thresholds
            for iou in ious
        ]
    return cells


def table(cells: list[Cell]) -> list[str]:
    """One block per size: thresholds down, IoUs across, each cell the data sets' MAEs (pets/mall)."""
    lines = []
    for size in dict.fromkeys(c.size for c in cells):
        block = [c for c in cells if c.size == size]
        names = "/".join(block[0].mae)
        lines.append(f"{size}: detector {block[0].detect_ms:.1f} ms/frame; each cell MAE {names}")
        ious = dict.fromkeys(c.iou for c in block)
        lines.append("threshold  " + "".join(f"{'IoU ' + str(iou):>14}" for iou in ious))
        for threshold in dict.fromkeys(c.threshold for c in block):
            values = ["/".join(f"{v:.2f}" for v in c.mae.values()) for c in block if c.threshold == threshold]
            lines.append(f"{threshold:<11}" + "".join(f"{v:>14}" for v in values))
    return lines


def _numbers(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="960x1280,1024x1344,1088x1440", help="HxW,... multiples of 32")
    parser.add_argument("--thresholds", default="0.025,0.03,0.035,0.04,0.045,0.05,0.06")
    parser.add_argument("--ious", default="0.45,0.5,0.55,0.6")
    parser.add_argument(
        "--edge-fragment-inside",
        default=str(OpenvinoDetectorConfig().edge_fragment_inside),
        help="the edge-fragment rule's share (none: off)",
    )
    parser.add_argument(
        "--face-confidence",
        default=str(OpenvinoDetectorConfig().face_confidence),
        help="the floor of faint boxes with a face seen (none: off)",
    )
    parser.add_argument(
        "--no-quiet-duplicates", action="store_true", help="keep second boxes in quiet frames (the rule off)"
    )
    parser.add_argument("--pets-every", type=int, default=5)
    parser.add_argument("--mall-every", type=int, default=4)
    parser.add_argument("--first", type=int, default=0, help="start at this frame (below both --every)")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--json", action="store_true", help="one JSON list of cells instead of the table")
    args = parser.parse_args()
    sizes = [(int(h), int(w)) for h, w in (s.split("x") for s in args.sizes.split(","))]
    if not 0 <= args.first < min(args.pets_every, args.mall_every):
        parser.error("--first must be at least 0 and below both --pets-every and --mall-every")
    sets = [DataSet("pets", args.pets_every, args.first), DataSet("mall", args.mall_every, args.first)]
    inside = None if args.edge_fragment_inside.lower() == "none" else float(args.edge_fragment_inside)
    face = None if args.face_confidence.lower() == "none" else float(args.face_confidence)
    quiet = None if args.no_quiet_duplicates else OpenvinoDetectorConfig().quiet_duplicates
    cells = sweep(sizes, _numbers(args.thresholds), _numbers(args.ious), inside, sets, args.data, face, quiet)
    print(json.dumps([asdict(c) for c in cells]) if args.json else "\n".join(table(cells)))


if __name__ == "__main__":
    main()
