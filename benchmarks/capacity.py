"""Capacity: how many cameras one box analyses at 1 frame/s each, today's settings against others,
in one run on one machine.

For each setting, runs the edge service on N cameras reading a real RTSP stream for a while and
measures each camera's analysed rate; N is doubled until a count is not sustained, then bisected.
A count is sustained when every camera keeps >= 95 % of its configured rate. Each N runs in a
child process of its own, so its memory (RSS) is its own. All cameras read one shared stream, so
the server's encoding costs the box one stream, not N; each camera still receives and decodes its
own copy, as with real cameras. What a setting is worth depends on the scene: the motion gate
saves the detector's time only where the picture stands still (a seated waiting room), not where
people walk all the time (PETS), so give a video of the scene in question with --video.

By default the server decodes the video and encodes it again, on this machine's cores. With
--stream WIDTHxHEIGHT@FPS (several, comma-separated, each in turn) the video is first made into
such an H.264 stream (a key frame every 2 s) and sent as it is, as a camera's own encoder sends:
the box pays only for what it does itself, above all decoding every frame it receives, which
grows with the stream's size and rate, not with the analysed rate.

With --phases K the cameras see the video at K points a K-th of a loop apart (camera i at phase i
mod K, one server per phase), as real cameras do not see everyone walk in at the same moment; the
default, 1, has every camera move at once, the worst case for a box whose detector runs on change.

Each count is measured over one loop of the video unless --seconds says otherwise, so that every
count and setting sees the same scene: where people come and go, a shorter slice depends on where
in the video it falls (on Intel's indoor room, 30 s slices read 0.83 and 0.97 frame/s for the same
16 cameras and setting).
    .venv/bin/python -m benchmarks.capacity [--video V] [--stream 2048x1536@25,640x480@5]
        [--max-cameras 16] [--seconds S] [--fps 1] [--settings every-frame,defaults] [--there-and-back]
        [--phases 4]
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.live import (
    camera_stream,
    cameras_config,
    find_video,
    rss_mib,
    start_rtsp_server,
    status,
    stream_url,
)
from edge.config import CameraConfig, Config
from edge.service import EdgeService

SUSTAINED = 0.95
CLIP_S = 60.0  # the longest clip --there-and-back plays
# name -> (what it is, the detector section of the config)
SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "every-frame": ("every analysed frame detected (before the motion gate)", {"motion_gate": None}),
    "whole-looks": (
        "the motion gate detecting the whole picture on any change (before windows)",
        {"motion_gate": {"windows": False}},
    ),
    "defaults": ("the built-in defaults (motion gate on, windows where a part changed)", {}),
    "every-change": (
        "the defaults with someone moving in place calling the detector too (before)",
        {"motion_gate": {"skip_in_place": False}},
    ),
    "int8": ("the defaults with precision: int8 (less accurate, docs: Speed)", {"precision": "int8"}),
    "streams-2": ("the defaults with streams: 2 (two frames in flight)", {"streams": 2}),
}


@dataclass(frozen=True)
class Probe:
    cameras: int
    slowest: float  # analysed frames/s of the slowest camera
    mean: float
    busy: float  # the detector's busy share over the last 10 s
    detected: float  # share of analysed frames the detector ran on (the rest: the gate let them pass)
    rss_mib: float  # at the end of the measurement
    peak_rss_mib: float = float("nan")  # the most the process held (VmHWM), start-up included

    def sustained(self, fps: float) -> bool:
        return self.slowest >= SUSTAINED * fps


def search(probe: Callable[[int], bool], max_cameras: int) -> int:
    """The largest camera count up to max_cameras that `probe` sustains (0: not even one): doubling
    from 1 while sustained, then bisecting between the last sustained count and the first not."""
    good, bad = 0, max_cameras + 1
    cameras = 1
    while cameras <= max_cameras:
        if not probe(cameras):
            bad = cameras
            break
        good = cameras
        if cameras == max_cameras:
            break
        cameras = min(2 * cameras, max_cameras)
    while bad - good > 1:
        middle = (good + bad) // 2
        if probe(middle):
            good = middle
        else:
            bad = middle
    return good


def cameras_before(cameras: int, ladder: str) -> int:
    """The count probed before `cameras` on a ladder like "4,6,8" (0 for the first): a count is
    sustained only if every count below it was."""
    below = [c for c in sorted(int(c) for c in ladder.split(",")) if c < cameras]
    return below[-1] if below else 0


def bench_config(ports: list[int], cameras: int, fps: float, detector: dict[str, Any]) -> Config:
    """`cameras` cameras with a whole-frame zone each, camera i reading the stream on
    ports[i % len(ports)] (one port a phase)."""
    config = cameras_config(ports[0], ["cam"], fps, detector)
    camera = config.cameras[0]

    def one(i: int) -> CameraConfig:
        source = camera.source.model_copy(update={"url": stream_url(ports[i % len(ports)], "cam")})
        return camera.model_copy(update={"id": f"cam{i + 1}", "source": source})

    return config.model_copy(update={"cameras": [one(i) for i in range(cameras)]})


def measure(ports: list[int], cameras: int, fps: float, seconds: float, detector: dict[str, Any]) -> Probe:
    """Rates per camera over `seconds` once all are up (in this process)."""
    config = bench_config(ports, cameras, fps, detector)
    service = EdgeService(config)
    ids = [c.id for c in config.cameras]
    value = service.registry.get_sample_value
    try:
        service.start()
        deadline = time.monotonic() + 60
        while not all(state == "up" for state in service.readiness()[1].values()):
            if time.monotonic() > deadline:
                raise SystemExit(f"{cameras} cameras did not come up within 60 s")
            time.sleep(0.2)
        time.sleep(3)  # let the schedule settle

        def counts(metric: str) -> list[float]:
            return [value(metric, {"site": "bench", "camera": c}) or 0 for c in ids]

        analysed, detected = "wartezone_frames_analysed_total", "wartezone_detector_latency_seconds_count"
        before, detected_before, started = counts(analysed), counts(detected), time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        after, detected_after = counts(analysed), counts(detected)
        rates = [(b - a) / elapsed for a, b in zip(before, after, strict=True)]
        frames = sum(after) - sum(before)
        return Probe(
            cameras,
            min(rates),
            sum(rates) / len(rates),
            value("wartezone_detector_busy_ratio", {"site": "bench"}) or 0.0,
            (sum(detected_after) - sum(detected_before)) / frames if frames else 0.0,
            rss_mib(),
            status()["VmHWM"],
        )
    finally:
        service.stop()


def probe_in_child(setting: str, ports: list[int], cameras: int, fps: float, seconds: float) -> Probe:
    command = [
        "-m",
        "benchmarks.capacity",
        "--child",
        setting,
        ",".join(str(port) for port in ports),
        str(cameras),
        str(fps),
        str(seconds),
    ]
    child = subprocess.run(
        [sys.executable, *command],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"{setting} with {cameras} cameras failed (exit {child.returncode})")
    return Probe(**json.loads(child.stdout.strip().splitlines()[-1]))


def there_and_back(video: Path, folder: Path, at_least_s: float = 60.0) -> Path:
    """A short clip played forward, then backward, over and over for at least `at_least_s`: it loops
    without the jump from its last frame to its first, which the motion gate would see as everyone
    moving at once (a seated room does not jump)."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    if fps > 0 and capture.get(cv2.CAP_PROP_FRAME_COUNT) > CLIP_S * fps:  # its frames are kept in memory
        sys.exit(f"{video}: longer than {CLIP_S:.0f} s; --there-and-back plays a short clip")
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    if not frames or fps <= 0:
        sys.exit(f"{video}: no frames or no frame rate to play there and back")
    loop = frames + frames[-2:0:-1]
    height, width = frames[0].shape[:2]
    out = folder / f"{video.stem}-there-and-back.mp4"
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for i in range(max(len(loop), int(np.ceil(at_least_s * fps / len(loop))) * len(loop))):
        writer.write(loop[i % len(loop)])
    writer.release()
    return out


def phase_shifted(video: Path, folder: Path, phases: int) -> list[Path]:
    """`video` as `phases` loops, each starting a `phases`-th of the video later than the one before
    (its frames rotated); the first is `video` itself."""
    if phases < 1:
        raise ValueError(f"phases must be 1 or more, got {phases}")
    capture = cv2.VideoCapture(str(video))
    frames, fps = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), capture.get(cv2.CAP_PROP_FPS)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    capture.release()
    if phases > 1 and (frames < phases or fps <= 0):
        sys.exit(f"{video}: {frames} frames at {fps:g} frames/s cannot start at {phases} phases")
    shifted = [video]
    for phase in range(1, phases):
        start = phase * frames // phases
        out = folder / f"{video.stem}-phase{phase}.mp4"
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        for first, last in ((start, frames), (0, start)):  # read twice: a long video is not kept in memory
            capture = cv2.VideoCapture(str(video))
            capture.set(cv2.CAP_PROP_POS_FRAMES, first)
            for _ in range(last - first):
                read, image = capture.read()
                if not read:
                    break
                writer.write(image)
            capture.release()
        writer.release()
        shifted.append(out)
    return shifted


def video_seconds(video: Path) -> float:
    """How long one loop of `video` plays."""
    capture = cv2.VideoCapture(str(video))
    try:
        frames, fps = capture.get(cv2.CAP_PROP_FRAME_COUNT), capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    if frames <= 0 or fps <= 0:
        sys.exit(f"{video}: no frame count or rate to measure a loop by; give --seconds")
    return float(frames / fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=None, help="served in a loop (default: PETS)")
    parser.add_argument(
        "--stream",
        default=None,
        help="what the cameras send, e.g. 2048x1536@25,640x480@5: the video made into each such H.264 "
        "stream once and sent as it is, as a camera's own encoder sends (default: the video as it is, "
        "encoded by the server on this machine)",
    )
    parser.add_argument("--max-cameras", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=None, help="a count (default: the video's length)")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--settings", default="every-frame,defaults", help=f"of {', '.join(SETTINGS)}")
    parser.add_argument(
        "--cameras",
        default=None,
        help="counts to probe, e.g. 4,6,8: each setting at each count in turn, so that a machine whose "
        "load drifts weighs on all settings alike (default: search each setting's largest)",
    )
    parser.add_argument(
        "--there-and-back",
        action="store_true",
        help="play the video forward, then backward, for at least 60 s a loop: a short clip of a seated "
        "room loops without a jump",
    )
    parser.add_argument(
        "--phases",
        type=int,
        default=1,
        help="the cameras see the video at this many points a loop apart (default 1: all in step, "
        "everyone walks in on every camera at once)",
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        setting, ports, cameras, fps, seconds = args.child
        measured = measure(
            [int(p) for p in ports.split(",")], int(cameras), float(fps), float(seconds), SETTINGS[setting][1]
        )
        print(json.dumps(measured.__dict__))
        return
    names = args.settings.split(",")
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"unknown setting {', '.join(unknown)}; known: {', '.join(SETTINGS)}")
    if args.phases < 1:
        parser.error("--phases: 1 or more")
    found: dict[tuple[str, str], int] = {}
    with tempfile.TemporaryDirectory(prefix="wartezone-capacity-") as folder:
        video = args.video or find_video()
        if args.there_and_back:
            video = there_and_back(video, Path(folder))
        args.seconds = args.seconds or video_seconds(video)
        print(
            f"video {video.name}, {args.seconds:.0f} s a count, {args.phases} phase(s), "
            f"sustained: every camera >= {SUSTAINED:.0%}"
        )
        videos = phase_shifted(video, Path(folder), args.phases)
        for stream in args.stream.split(",") if args.stream else [None]:
            served = videos if stream is None else [camera_stream(v, stream, Path(folder)) for v in videos]
            label = stream or "as served"
            servers = [start_rtsp_server(v, ["cam"], as_is=stream is not None) for v in served]
            try:
                ports = [port for _, port in servers]
                for name, cameras in probe_settings(args, names, ports, label).items():
                    found[(label, name)] = cameras
            finally:
                for server, _ in servers:
                    server.kill()
    print()
    for (label, name), cameras in found.items():
        what = SETTINGS[name][0]
        print(f"{label:<14} {name:<12} sustains {cameras:>2} cameras at {args.fps} frame/s  ({what})")


def probe_settings(
    args: argparse.Namespace, names: list[str], ports: list[int], label: str
) -> dict[str, int]:
    """Each setting's largest sustained camera count on the streams at `ports` (one per phase),
    printing each probe."""
    columns = ("cameras", "slowest", "mean", "busy", "detected", "RSS, peak")
    print(
        f"{'stream':<14} {'setting':<12} "
        + " ".join(f"{c:>{w}}" for c, w in zip(columns, (7, 8, 6, 5, 8, 14), strict=True))
    )

    def probe(cameras: int, name: str) -> bool:
        p = probe_in_child(name, ports, cameras, args.fps, args.seconds)
        print(
            f"{label:<14} {name:<12} {cameras:>7} {p.slowest:8.2f} {p.mean:6.2f} {p.busy:5.0%} "
            f"{p.detected:8.0%} {p.rss_mib:5.0f}, {p.peak_rss_mib:4.0f} MiB  "
            f"{'yes' if p.sustained(args.fps) else 'no'}",
            flush=True,
        )
        return p.sustained(args.fps)

    if not args.cameras:
        return {name: search(functools.partial(probe, name=name), args.max_cameras) for name in names}
    found = dict.fromkeys(names, 0)
    for cameras in sorted(int(c) for c in args.cameras.split(",")):
        for name in names:
            if probe(cameras, name) and found[name] == cameras_before(cameras, args.cameras):
                found[name] = cameras
    return found


if __name__ == "__main__":
    main()
