"""Helpers every test folder shares: free ports, waiting for a condition, small made-up videos."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], object], timeout_s: float, what: str = "the condition") -> float:
    """Seconds until `condition()` is true; fails naming `what` after timeout_s."""
    started = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - started
        assert elapsed < timeout_s, f"{what} did not hold within {timeout_s} s"
        time.sleep(0.02)
    return time.monotonic() - started


def write_video(path: Path, frames: int, fps: float, size: tuple[int, int] = (64, 48)) -> Path:
    """A small MJPEG video of grey frames (width, height), `frames` long at `fps`."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), f"cannot write {path}"
    for i in range(frames):
        writer.write(np.full((height, width, 3), 60 + i % 100, np.uint8))
    writer.release()
    return path
