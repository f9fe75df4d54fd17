"""`wartezone bench`: our pipeline against the naive ultralytics way, on the same frames, in one run.

Each setting runs in its own child process, so that its peak memory (RSS) is its own; every
child reads the same video frames and scores its counts against the same ground truth.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from edge.config import DetectorConfig, OnnxDetectorConfig, OpenvinoDetectorConfig, default_config
from edge.detect import build_detector
from edge.evaluate import read_cvml
from edge.pipeline import CameraPipeline
from edge.runner import CameraRunner
from edge.sources.base import Frame
from edge.sources.file import FileSource

REPO = Path(__file__).resolve().parent.parent
CHECKPOINT = REPO / "models" / "yolo11n-pose.pt"
BASELINES = {"ultralytics-640-0.25": (640, 0.25), "ultralytics-1280-0.05": (1280, 0.05)}
PIPELINE = "wartezone"
# Our pipeline with one detector setting changed: what the runtime and its precision are worth alone
# (float32 is what a CPU without native bfloat16 runs).
VARIANTS: dict[str, Callable[[OpenvinoDetectorConfig], DetectorConfig]] = {
    "wartezone-float32": lambda default: default.model_copy(update={"precision": "f32"}),
    # validated anew, so that int8 picks the shipped int8 model
    "wartezone-int8": lambda default: OpenvinoDetectorConfig(
        **default.model_dump(exclude={"model", "precision"}), precision="int8"
    ),
    "wartezone-onnxruntime": lambda default: OnnxDetectorConfig(
        type="onnx", **default.model_dump(exclude={"type", "precision"})
    ),
}


@dataclass(frozen=True)
class BenchResult:
    name: str
    frames: int
    ms_per_frame: float
    mae: float
    peak_rss_mib: float
    runtime: str  # what ran the network, with its precision: timings hold for that only

    @property
    def fps(self) -> float:
        return 1000.0 / self.ms_per_frame


def _frames(video: Path, every: int) -> Iterator[tuple[int, Frame]]:
    """Every `every`-th frame with its number, decoded one at a time (never all held in memory)."""
    for number, pending in enumerate(FileSource(video).frames()):
        if number % every == 0 and (frame := pending.decode()) is not None:
            yield number, frame


def run_one(name: str, video: Path, gt: Path, every: int) -> dict[str, float | str]:
    """One setting over the frames (in this process); the timing covers analysis, not file decoding."""
    truth = read_cvml(gt)
    total = (FileSource(video).frame_count() + every - 1) // every
    analyse, runtime = _baseline_counter(name) if name in BASELINES else _pipeline_counter(name, video, every)
    errors: list[float] = []
    seconds = 0.0
    for number, frame in tqdm(_frames(video, every), total=total, desc=name, unit="frame", file=sys.stderr):
        started = time.perf_counter()
        count = analyse(frame)
        seconds += time.perf_counter() - started
        errors.append(abs(count - len(truth.get(number, {}))))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(errors)
    return {
        "frames": n,
        "ms_per_frame": 1000 * seconds / n,
        "mae": float(np.mean(errors)),
        "peak_rss_mib": rss_mib,
        "runtime": runtime,
    }


def _pipeline_counter(name: str, video: Path, every: int) -> tuple[Callable[[Frame], int], str]:
    config = default_config(video)
    camera = config.cameras[0].model_copy(update={"fps": FileSource(video).nominal_fps() / every})
    detector = config.detector
    assert isinstance(detector, OpenvinoDetectorConfig), "the built-in default runs on OpenVINO"
    chosen = VARIANTS[name](detector) if name in VARIANTS else detector
    network = build_detector(chosen)
    pipeline = CameraPipeline(camera, network, config.tracker, settings=chosen)
    runner = CameraRunner(camera, pipeline)
    runner.came_up()

    def count(frame: Frame) -> int:
        result = runner.analyse(frame)
        if result is None:
            raise RuntimeError(f"{name}: analysing a frame failed (see the log above)")
        return sum(z.occupancy for z in result.zones)

    return count, network.info.backend


def _baseline_counter(name: str) -> tuple[Callable[[Frame], int], str]:
    """What a user of ultralytics would write: predict each frame, count the person boxes."""
    from edge.detect.ultralytics import stay_offline

    stay_offline()
    import torch
    from ultralytics import YOLO

    size, confidence = BASELINES[name]
    model = YOLO(str(CHECKPOINT), task="pose")

    def count(frame: Frame) -> int:
        predicted: Any = model.predict(frame.image, imgsz=size, conf=confidence, classes=[0], verbose=False)
        return len(predicted[0].boxes)

    return count, f"torch-{torch.__version__}"


def bench(video: Path, gt: Path, every: int, names: list[str]) -> list[BenchResult]:
    results = []
    for name in names:
        child = subprocess.Popen(
            [sys.executable, "-m", "edge.bench", name, str(video), str(gt), str(every)],
            stdout=subprocess.PIPE,
            text=True,
        )
        output, _ = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"bench {name} failed (exit {child.returncode})")
        values = json.loads(output.strip().splitlines()[-1])
        results.append(BenchResult(name=name, **values))
    return results


def report(results: list[BenchResult]) -> list[str]:
    lines = [f"{'setting':<24}{'frames/s':>9}{'ms/frame':>10}{'MAE':>7}{'peak RSS':>10}  runtime"]
    lines += [
        f"{r.name:<24}{r.fps:9.2f}{r.ms_per_frame:10.1f}{r.mae:7.2f}{r.peak_rss_mib:8.0f} MB  {r.runtime}"
        for r in results
    ]
    ours = next((r for r in results if r.name == PIPELINE), None)
    if ours is not None:
        for base in (r for r in results if r.name != PIPELINE):  # the baselines, then the variants
            lines.append(
                f"{PIPELINE} vs {base.name}: {ours.fps / base.fps:.2f}x frames/s, MAE {ours.mae:.2f} vs "
                f"{base.mae:.2f}, {ours.peak_rss_mib / base.peak_rss_mib:.2f}x memory"
            )
    return lines


if __name__ == "__main__":  # one child: python -m edge.bench NAME VIDEO GT EVERY
    name, video, gt, every = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(run_one(name, video, gt, every)))
