"""The wait figures on real video with per-person ground truth (PETS 2009 S2.L1, docs/waits.md).

`wartezone replay` of the video at the rates a box analyses (2 and 1 frames/s, the built-in
settings, one zone over the whole picture) gives visits, their dwell times and the occupancy over
time; from these: the median and mean of the tracked dwell times, the median as Prometheus would
read it from the dwell histogram's buckets, and Little's law (mean occupancy x the video's length
/ entries). The ground truth (every person's box in every frame) gives the true visits and their
mean dwell, and its own Little's law, a check of the formula: on complete visits it must equal
the mean dwell plus one frame (each visit counts from its first to its last annotated frame).

    .venv/bin/python -m benchmarks.pets_wait [--data ../shared/data] [--fps 2,1] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import wartezone_contract as contract
from edge.config import default_config
from edge.evaluate import read_cvml
from edge.metrics import DWELL_BUCKETS_S
from edge.replay import replay
from edge.sources.file import FileSource

REPO = Path(__file__).resolve().parent.parent
PETS = Path("pets2009-s2l1")


@dataclass(frozen=True)
class Truth:
    visits: int
    mean_dwell_s: float
    median_dwell_s: float
    little_s: float  # mean count x video length / visits


@dataclass(frozen=True)
class Tracked:
    fps: float
    entries: int
    visits_ended: int
    median_dwell_s: float
    mean_dwell_s: float
    histogram_median_s: float | None  # what Prometheus reads from the edge's dwell buckets
    little_s: float | None


def truth(video: Path, gt: Path) -> tuple[Truth, float]:
    """The ground truth's figures, and the video's length in seconds."""
    source = FileSource(video, realtime=False)
    frames, fps = source.frame_count(), source.nominal_fps()
    people = read_cvml(gt)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for number in range(frames):
        for person in people.get(number, {}):
            first.setdefault(person, number)
            last[person] = number
    dwells = [(last[p] - first[p]) / fps for p in first]
    length_s = frames / fps
    mean_count = sum(len(people.get(n, {})) for n in range(frames)) / frames
    little = contract.little_wait_s(mean_count, len(dwells), window_s=length_s)
    assert little is not None, "fewer than WAIT_MIN_VISITS people in the ground truth"
    return Truth(len(dwells), statistics.fmean(dwells), statistics.median(dwells), little), length_s


def tracked(video: Path, fps: float, length_s: float) -> Tracked:
    """`wartezone replay` of the video with the built-in settings, analysing `fps` frames a second."""
    config = default_config(video, fps=fps)
    with tempfile.TemporaryDirectory() as out:
        summary = replay(video, config, config.cameras[0], Path(out))
        with (Path(out) / "occupancy.csv").open(encoding="utf-8") as stream:
            occupancy = [float(row["occupancy"]) for row in csv.DictReader(stream)]
    (zone,) = summary.zones
    dwells = zone.dwells_s
    bounds = [*map(float, DWELL_BUCKETS_S), float("inf")]
    buckets = [(bound, float(sum(d <= bound for d in dwells))) for bound in bounds]
    return Tracked(
        fps=fps,
        entries=zone.entries,
        visits_ended=len(dwells),
        median_dwell_s=statistics.median(dwells),
        mean_dwell_s=statistics.fmean(dwells),
        histogram_median_s=contract.dwell_quantile_s(0.5, buckets, len(dwells)),
        # the analysed frames sample the video evenly: their mean count is the video's mean occupancy
        little_s=contract.little_wait_s(statistics.fmean(occupancy), zone.entries, window_s=length_s),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--fps", default="2,1", help="analysed frames per second, comma-separated")
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON line")
    args = parser.parse_args(argv)
    video, gt = args.data / PETS / "vtest.avi", args.data / PETS / "PETS2009-S2L1.xml"
    true, length_s = truth(video, gt)
    print(
        f"ground truth: {true.visits} visits over {length_s:.1f} s, mean dwell {true.mean_dwell_s:.1f} s, "
        f"median {true.median_dwell_s:.1f} s; its Little's law {true.little_s:.1f} s",
        flush=True,
    )
    results = []
    for fps in (float(f) for f in args.fps.split(",")):
        print(f"replay at {fps:g} frames/s ...", file=sys.stderr, flush=True)
        result = tracked(video, fps, length_s)
        results.append(result)
        hist = result.histogram_median_s
        print(
            f"{fps:g} frames/s: {result.entries} entries, {result.visits_ended} visits ended; dwell median "
            f"{result.median_dwell_s:.1f} s (histogram {'-' if hist is None else f'{hist:.1f}'} s), "
            f"mean {result.mean_dwell_s:.1f} s; Little's law {result.little_s or float('nan'):.1f} s",
            flush=True,
        )
    if args.json:
        print(
            json.dumps({"length_s": length_s, "truth": asdict(true), "tracked": [asdict(r) for r in results]})
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
