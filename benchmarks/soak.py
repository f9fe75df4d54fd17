"""Soak: N cameras from a real RTSP server, analysed at 1 frame/s each for a long time.

Prints progress every 30 s, then memory (RSS) at start and end, frames analysed per camera
against the frames expected, reconnects and stalls.
    .venv/bin/python benchmarks/soak.py [--minutes 30] [--cameras 4] [--fps 1]
"""

from __future__ import annotations

import argparse
import time

from benchmarks.live import cameras_config, find_video, rss_mib, start_rtsp_server
from edge.service import EdgeService

PROGRESS_EVERY_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--fps", type=float, default=1.0)
    args = parser.parse_args()

    mounts = [f"cam{i + 1}" for i in range(args.cameras)]
    server, port = start_rtsp_server(find_video(), mounts)
    service = EdgeService(cameras_config(port, mounts, args.fps))
    value = service.registry.get_sample_value

    def per_camera(metric: str) -> list[int]:
        return [int(value(metric, {"site": "bench", "camera": m}) or 0) for m in mounts]

    try:
        service.start()
        deadline = time.monotonic() + 60
        while not all(service.readiness()[1][m] == "up" for m in mounts):
            if time.monotonic() > deadline:
                raise SystemExit("cameras did not come up within 60 s")
            time.sleep(0.5)
        rss_start, started = rss_mib(), time.monotonic()
        start_frames = per_camera("wartezone_frames_analysed_total")
        print(
            f"soak: {args.cameras} cameras at {args.fps} frame/s for {args.minutes} min; "
            f"RSS {rss_start:.0f} MiB"
        )
        end = started + 60 * args.minutes
        while (now := time.monotonic()) < end:
            time.sleep(min(PROGRESS_EVERY_S, end - now))
            frames = [
                b - a
                for a, b in zip(start_frames, per_camera("wartezone_frames_analysed_total"), strict=True)
            ]
            busy = value("wartezone_detector_busy_ratio", {"site": "bench"}) or 0
            print(
                f"  {(time.monotonic() - started) / 60:5.1f} min  RSS {rss_mib():6.0f} MiB  frames {frames}  "
                f"detector busy {busy:.0%}",
                flush=True,
            )
        elapsed = time.monotonic() - started
        frames = [
            b - a for a, b in zip(start_frames, per_camera("wartezone_frames_analysed_total"), strict=True)
        ]
        expected = elapsed * args.fps
        print(f"\nduration          {elapsed / 60:.1f} min")
        print(f"RSS start / end   {rss_start:.0f} / {rss_mib():.0f} MiB")
        print(
            f"frames analysed   {frames} (expected {expected:.0f} each; ratio "
            f"{', '.join(f'{f / expected:.3f}' for f in frames)})"
        )
        print(f"reconnects        {per_camera('wartezone_camera_reconnects_total')}")
        print(f"stalls            {per_camera('wartezone_camera_stalls_total')}")
        print(f"frames dropped    {per_camera('wartezone_frames_dropped_total')}")
    finally:
        service.stop()
        server.kill()


if __name__ == "__main__":
    main()
