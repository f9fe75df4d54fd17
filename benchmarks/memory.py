"""Memory: the RSS of one edge process by phase, for 1, 2, 4, 8 cameras, this checkout against
another in one run on one machine.

Each count runs the edge service in a child process of its own, its cameras reading one shared
RTSP stream (benchmarks.live) at 1 analysed frame/s, and reports its RSS after the imports, once
the service is built (detector loaded), once every camera has had a frame analysed, and over the
steady part (mean and most, sampled each second), with the peak the kernel saw (VmHWM). What a
camera adds is the slope over the counts; the rest is fixed. With --baseline DIR (a checkout of
an earlier commit: `git worktree add /tmp/before COMMIT`, or `git archive COMMIT | tar -x -C DIR`)
each count runs there and here in turn, so that load drifting over the run weighs on both.
    .venv/bin/python -m benchmarks.memory [--cameras 1,2,4,8] [--seconds 60] [--baseline DIR]
        [--video V] [--fps 1]
Timings are printed only as the detector's mean ms a frame, a rough guide: RSS does not depend on
other work on the cores, time does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.live import status

REPO = Path(__file__).resolve().parent.parent


def child(tree: Path, port: int, cameras: int, fps: float, seconds: float) -> dict[str, Any]:
    """One edge process of `tree`'s code with `cameras` cameras; its RSS by phase."""
    sys.path.insert(0, str(tree))  # that checkout's edge package, not this one's
    phases = {"python": status()}
    import cv2  # noqa: F401
    import numpy  # noqa: F401

    phases["numpy, OpenCV"] = status()
    from edge.config import parse_config
    from edge.service import EdgeService

    phases["edge imports"] = status()
    camera = {
        "source": {"type": "rtsp", "url": f"rtsp://127.0.0.1:{port}/cam"},
        "fps": fps,
        "zones": [{"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
    }
    config = parse_config(
        {
            "site": "bench",
            "cameras": [{"id": f"cam{i + 1}", **camera} for i in range(cameras)],
            "metrics": {"port": 0},
        },
        tree,
    )
    service = EdgeService(config)
    phases["service built"] = status()
    value = service.registry.get_sample_value
    ids = [c.id for c in config.cameras]

    def counts(metric: str) -> list[float]:
        return [value(metric, {"site": "bench", "camera": c}) or 0 for c in ids]

    service.start()
    try:
        deadline = time.monotonic() + 120
        while min(counts("wartezone_frames_analysed_total")) < 1:
            if time.monotonic() > deadline:
                raise SystemExit(f"{cameras} cameras: not every camera analysed a frame within 120 s")
            time.sleep(0.2)
        phases["each camera analysed"] = status()
        frames_before = counts("wartezone_frames_analysed_total")
        latency = "wartezone_detector_latency_seconds"
        detected_before, busy_before = sum(counts(f"{latency}_count")), sum(counts(f"{latency}_sum"))
        samples = []
        for _ in range(round(seconds)):
            time.sleep(1)
            samples.append(status()["VmRSS"])
        frames = [
            b - a for a, b in zip(frames_before, counts("wartezone_frames_analysed_total"), strict=True)
        ]
        detected = sum(counts(f"{latency}_count")) - detected_before
        detector_ms = 1000 * (sum(counts(f"{latency}_sum")) - busy_before) / detected if detected else 0.0
    finally:
        service.stop()
    last = status()
    return {
        "cameras": cameras,
        "phases": {name: s["VmRSS"] for name, s in phases.items()},
        "steady_mean": sum(samples) / len(samples),
        "steady_most": max(samples),
        "peak": last["VmHWM"],
        "anon": last["RssAnon"],
        "file": last["RssFile"],
        "frames": [min(frames), max(frames)],
        "seconds": seconds,
        "detector_ms": detector_ms,
    }


def measure(tree: Path, port: int, cameras: int, fps: float, seconds: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.memory", "--child", str(tree), str(port), str(cameras)]
    command += ["--fps", str(fps), "--seconds", str(seconds)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{tree} with {cameras} cameras failed (exit {done.returncode})")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def slope(rows: list[dict[str, Any]], key: str) -> float:
    """MiB a camera: the least-squares slope of `key` over the camera counts."""
    xs = [r["cameras"] for r in rows]
    ys = [r[key] for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady part sampled, per count")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, measured in turn")
    parser.add_argument("--video", type=Path, default=None, help="served in a loop (default: PETS)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tree, port, cameras = args.child
        print(json.dumps(child(Path(tree), int(port), int(cameras), args.fps, args.seconds)))
        return
    from benchmarks.live import find_video, start_rtsp_server

    trees = {"this": REPO} if args.baseline is None else {"baseline": args.baseline.resolve(), "this": REPO}
    video = args.video or find_video()
    server, port = start_rtsp_server(video, ["cam"])
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    print(
        f"video {video.name}, {args.fps} analysed frame/s a camera, steady part {args.seconds:.0f} s, "
        f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', 'unset')}; RSS in MiB"
    )
    header = ("cameras", "imports", "built", "analysed", "steady", "most", "peak", "anon", "file")
    print(f"{'tree':<9}" + "".join(f"{h:>9}" for h in header) + "   frames  detector")
    try:
        for cameras in (int(c) for c in args.cameras.split(",")):
            for name, tree in trees.items():
                r = measure(tree, port, cameras, args.fps, args.seconds)
                rows[name].append(r)
                p = r["phases"]
                figures = (
                    p["edge imports"],
                    p["service built"],
                    p["each camera analysed"],
                    r["steady_mean"],
                    r["steady_most"],
                    r["peak"],
                    r["anon"],
                    r["file"],
                )
                print(
                    f"{name:<9}{cameras:>9}"
                    + "".join(f"{f:9.0f}" for f in figures)
                    + f"   {r['frames'][0]:.0f}-{r['frames'][1]:.0f}/{r['seconds']:.0f}"
                    + f"  {r['detector_ms']:5.0f} ms",
                    flush=True,
                )
    finally:
        server.kill()
    if len(rows[next(iter(trees))]) > 1:
        print()
        for name, found in rows.items():
            print(
                f"{name:<9} a camera adds {slope(found, 'steady_mean'):.1f} MiB steady, "
                f"{slope(found, 'peak'):.1f} MiB peak"
            )


if __name__ == "__main__":
    main()
