"""Capacity: how many cameras one box analyses at 1 frame/s each, with the built-in detector settings.

For N = 1, 2, ... cameras reading a real RTSP stream, runs the edge service for a while and
measures each camera's analysed rate. A count is sustained when every camera keeps >= 95 % of
its configured rate. All cameras read one shared stream, so the server's encoding costs the box
one stream, not N; each camera still receives and decodes its own copy, as with real cameras.
    .venv/bin/python benchmarks/capacity.py [--max-cameras 8] [--seconds 40] [--fps 1]
"""

from __future__ import annotations

import argparse
import time

from benchmarks.live import cameras_config, find_video, start_rtsp_server
from edge.service import EdgeService

SUSTAINED = 0.95


def measure(port: int, cameras: int, fps: float, seconds: float) -> tuple[list[float], float]:
    """Analysed frames/s per camera over `seconds` once all are up, and the detector's busy share."""
    config = cameras_config(port, ["cam"], fps)
    config = config.model_copy(
        update={
            "cameras": [config.cameras[0].model_copy(update={"id": f"cam{i + 1}"}) for i in range(cameras)]
        }
    )
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

        def analysed() -> list[float]:
            return [
                value("wartezone_frames_analysed_total", {"site": "bench", "camera": c}) or 0 for c in ids
            ]

        before, started = analysed(), time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        rates = [(b - a) / elapsed for a, b in zip(before, analysed(), strict=True)]
        return rates, value("wartezone_detector_busy_ratio", {"site": "bench"}) or 0.0
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--fps", type=float, default=1.0)
    args = parser.parse_args()
    server, port = start_rtsp_server(find_video(), ["cam"])
    sustained = 0
    try:
        print(f"{'cameras':>7}  {'slowest':>8}  {'mean':>6}  {'busy':>5}  sustained at {args.fps} frame/s")
        for cameras in range(1, args.max_cameras + 1):
            rates, busy = measure(port, cameras, args.fps, args.seconds)
            ok = min(rates) >= SUSTAINED * args.fps
            print(
                f"{cameras:>7}  {min(rates):8.2f}  {sum(rates) / len(rates):6.2f}  {busy:5.0%}  "
                f"{'yes' if ok else 'no'}",
                flush=True,
            )
            if not ok:
                break
            sustained = cameras
    finally:
        server.kill()
    print(f"\nsustained: {sustained} cameras at {args.fps} frame/s each")


if __name__ == "__main__":
    main()
