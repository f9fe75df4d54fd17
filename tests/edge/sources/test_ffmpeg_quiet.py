"""FFmpeg says nothing of its own for any source type: `wartezone edge run` in a child process,
one camera on a recording cut off before its index was written, one on an MJPEG camera sending
pictures cut in half. Its stderr carries the service's own lines only, the file's outage named
once in our words however often the camera retries."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.edge.sources.conftest import jpeg_frames

pytestmark = [pytest.mark.live_server, pytest.mark.slow]

RUN_S = 8.0
# FFmpeg's own lines: "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55...] moov atom not found", "[mjpeg @ 0x...]
# overread 8", or the same through OpenCV's callback ("[OPENCV:FFMPEG:16] ...").
FFMPEG_LINE = re.compile(r"\[[\w,]+ @ 0x[0-9a-f]+\]|\[OPENCV:FFMPEG|moov atom|overread")
ZONE = {"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}
RETRY = {"initial_s": 0.2, "max_s": 0.5}


def _cut_recording(path: Path) -> Path:
    """A recorder's MP4 cut off before it finished: the header and half the frames, no index."""
    mdat = (100_000).to_bytes(4, "big") + b"mdat" + bytes(5000)  # declares more than is there
    path.write_bytes(b"\0\0\0\x18ftypisom\0\0\2\0isomiso2" + mdat)
    return path


def test_ffmpeg_is_silent_and_a_damaged_file_is_named_once(
    video: Path, tmp_path: Path, mjpeg: Callable[..., str]
) -> None:
    recording = _cut_recording(tmp_path / "recording.mp4")
    halves = [jpeg[: len(jpeg) // 2] for jpeg in jpeg_frames(video, 10)]  # each cut in half
    cameras = [
        {"id": "door", "source": {"type": "file", "path": str(recording), "loop": True}, "reconnect": RETRY},
        {"id": "desk", "source": {"type": "http", "url": mjpeg(halves, rounds=100)}, "fps": 2},
    ]
    config = tmp_path / "site.yaml"
    site = {"site": "quiet", "metrics": {"host": "127.0.0.1", "port": 0}, "cameras": cameras}
    config.write_text(json.dumps({**site, "cameras": [{**c, "zones": [ZONE]} for c in cameras]}))
    edge = subprocess.Popen(
        [sys.executable, "-m", "edge", "edge", "run", "-c", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(RUN_S)
    finally:
        edge.terminate()
        _, stderr = edge.communicate(timeout=30)
    lines = stderr.splitlines()

    assert [line for line in lines if FFMPEG_LINE.search(line)] == [], stderr
    named = [line for line in lines if "recording.mp4" in line]
    assert len(named) == 1, stderr  # once per outage, though the camera retried every half second
    assert named[0].endswith(
        f"ERROR edge.runner: camera door: cannot open video file {recording}: an MP4/MOV file without "
        "its index (no moov box): the recording was cut off before it was finished, or is still being written"
    )
    assert any("camera desk: receiving frames" in line for line in lines), stderr  # the halves arrived
