"""Recovery: how soon a camera is analysed again after its RTSP server comes back.

Kills a real RTSP server for each outage length given, restarts it, and measures the time from
the restart to the next analysed frame, with the reconnect settings docs/installer.md shows (the
defaults) unless told otherwise. Prints one line per outage, then the median and the maximum.
    .venv/bin/python -m benchmarks.recovery [--down-s 1,2,5,10,20] [--rounds 2] [--initial-s 0.5 --max-s 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from benchmarks.live import cameras_config, find_video, start_rtsp_server
from edge.service import EdgeService

MOUNT = "cam"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--down-s", default="1,2,5,10,20", help="outage lengths, seconds, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="how often each outage length is tried")
    parser.add_argument("--initial-s", type=float, default=0.5, help="reconnect.initial_s")
    parser.add_argument("--max-s", type=float, default=3.0, help="reconnect.max_s")
    args = parser.parse_args()
    outages = [float(s) for s in args.down_s.split(",")] * args.rounds

    video = find_video()
    server, port = start_rtsp_server(video, [MOUNT])
    config = cameras_config(port, [MOUNT], fps=2.0)
    reconnect = config.cameras[0].reconnect.model_copy(
        update={"initial_s": args.initial_s, "max_s": args.max_s}
    )
    camera = config.cameras[0].model_copy(update={"reconnect": reconnect})
    service = EdgeService(config.model_copy(update={"cameras": [camera]}))

    def analysed() -> float:
        return (
            service.registry.get_sample_value(
                "wartezone_frames_analysed_total", {"site": "bench", "camera": MOUNT}
            )
            or 0.0
        )

    def wait_for(condition: Callable[[], bool], timeout_s: float) -> float:
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout_s:
                raise SystemExit(f"no change within {timeout_s} s")
            time.sleep(0.01)
        return time.monotonic() - started

    delays: list[float] = []
    try:
        service.start()
        wait_for(lambda: analysed() > 0, 60)
        print(f"reconnect initial_s {args.initial_s}, max_s {args.max_s}; {len(outages)} outages", flush=True)
        for i, down_s in enumerate(outages, start=1):
            server.kill()
            server.wait()
            wait_for(lambda: service.readiness()[1][MOUNT] != "up", 30)
            time.sleep(down_s)
            before = analysed()
            server, _ = start_rtsp_server(video, [MOUNT], port)  # same port: the camera's URL holds
            delay = wait_for(lambda: analysed() > before, 60)  # noqa: B023 - read now, in this round
            delays.append(delay)
            print(
                f"[{i}/{len(outages)}] down {down_s:4.0f} s: analysed again {delay:.2f} s after the restart",
                flush=True,
            )
    finally:
        service.stop()
        server.kill()
    print(f"median {statistics.median(delays):.2f} s, max {max(delays):.2f} s, min {min(delays):.2f} s")


if __name__ == "__main__":
    main()
