"""Shared parts of the live-stream benchmarks: a real RTSP server and an edge service reading it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # benchmarks.memory's child imports the edge from the tree it measures, later
    from edge.config import Config

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "tests" / "rtsp_server.py"
VIDEOS = [REPO.parent / "shared" / "data" / "pets2009-s2l1" / "vtest.avi", REPO / ".cache" / "vtest.avi"]


def find_video() -> Path:
    for video in VIDEOS:
        if video.is_file():
            return video
    sys.exit("no video: run scripts/setup.sh (it fetches .cache/vtest.avi)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def camera_stream(video: Path, stream: str, folder: Path) -> Path:
    """`video` as a camera would send it, "WIDTHxHEIGHT@FPS": an H.264 .mp4 for
    start_rtsp_server(as_is=True), made once in `folder`."""
    size, _, fps = stream.partition("@")
    out = folder / f"{video.stem}-{size}-{fps}.mp4"
    if not out.is_file():
        print(
            f"making {video.name} into the stream {stream} (once; PETS at 3 MP, 25 frames/s: 30 s)",
            flush=True,
        )
        subprocess.run(
            ["/usr/bin/python3", str(SERVER), "--encode", str(video), str(out), size, fps], check=True
        )
    return out


def start_rtsp_server(
    video: Path, mounts: list[str], port: int | None = None, as_is: bool = False
) -> tuple[subprocess.Popen[str], int]:
    """GStreamer's RTSP server (tests/rtsp_server.py under Debian's python3), one looped stream per
    mount, on `port` (default: a free one). as_is: `video` is camera_stream's .mp4, sent without
    encoding it again (else the server decodes and encodes it, on this machine's cores)."""
    port = port or free_port()
    server = subprocess.Popen(
        ["/usr/bin/python3", str(SERVER), str(video), str(port), *mounts],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "RTSP_AS_IS": "1"} if as_is else None,
    )
    assert server.stdout is not None
    if server.stdout.readline().strip() != "ready":
        sys.exit("the RTSP server did not start (scripts/setup.sh --dev installs GStreamer)")
    return server, port


def stream_url(port: int, mount: str) -> str:
    """Where start_rtsp_server serves `mount`."""
    return f"rtsp://127.0.0.1:{port}/{mount}"


def cameras_config(
    port: int, mounts: list[str], fps: float, detector: dict[str, Any] | None = None
) -> Config:
    """One camera per mount, whole-frame zone, the built-in detector settings or `detector`'s."""
    from edge.config import parse_config

    cameras = [
        {
            "id": mount,
            "source": {"type": "rtsp", "url": stream_url(port, mount)},
            "fps": fps,
            "zones": [{"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
        }
        for mount in mounts
    ]
    return parse_config(
        {"site": "bench", "cameras": cameras, "detector": detector or {}, "metrics": {"port": 0}}, REPO
    )


def status() -> dict[str, float]:
    """VmRSS, VmHWM (peak), RssAnon, RssFile of this process in MiB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            found[key] = int(value.split()[0]) / 1024
    return found


def rss_mib() -> float:
    return status().get("VmRSS", float("nan"))
