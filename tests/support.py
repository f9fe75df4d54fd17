"""Helpers every test folder shares: free ports, waiting for a condition, small made-up videos."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], T], timeout_s: float, what: str = "the condition", every_s: float = 0.02
) -> T:
    """Poll until condition() is truthy and return what it returned; fail naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


def write_video(path: Path, frames: int, fps: float, size: tuple[int, int] = (64, 48)) -> Path:
    """A small MJPEG video of grey frames (width, height), `frames` long at `fps`."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), f"cannot write {path}"
    for i in range(frames):
        writer.write(np.full((height, width, 3), 60 + i % 100, np.uint8))
    writer.release()
    return path
