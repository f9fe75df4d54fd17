"""The file source: timestamps, loops, pacing, and files that are missing, no video or broken."""

from __future__ import annotations

import itertools
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import FileSourceConfig
from edge.sources import FileSource, SourceError, open_source
from edge.sources.diagnose import why_file_not_open

# --- FileSource --------------------------------------------------------------------------------


def test_file_timestamps_strictly_increase(demo_video: Path) -> None:
    source = FileSource(demo_video)
    try:
        times = [f.time_s for f in source.frames()]
    finally:
        source.close()

    assert len(times) == source.frame_count()
    assert times[0] == 0.0
    assert np.diff(times).min() > 0
    assert times[-1] == pytest.approx((len(times) - 1) / source.nominal_fps(), abs=0.2)


def test_a_looping_file_keeps_its_clock_running(demo_video: Path) -> None:
    source = FileSource(demo_video, loop=True)
    count = source.frame_count()
    duration_s = count / source.nominal_fps()
    try:
        times = [f.time_s for f in itertools.islice(source.frames(), round(1.2 * count))]
    finally:
        source.close()

    assert len(times) == round(1.2 * count)
    assert np.diff(times).min() > 0
    assert times[-1] > duration_s * 1.15


def test_a_realtime_file_is_paced_by_its_timestamps(demo_video: Path) -> None:
    source = FileSource(demo_video, realtime=True)
    delivered: list[tuple[float, float]] = []
    try:
        for frame in itertools.islice(source.frames(), 10):
            delivered.append((frame.time_s, time.monotonic()))
    finally:
        source.close()

    video_span_s = delivered[-1][0] - delivered[0][0]
    wall_span_s = delivered[-1][1] - delivered[0][1]
    assert video_span_s > 0.5
    assert wall_span_s >= 0.8 * video_span_s


def test_a_file_frame_decodes_to_its_image_and_timestamps(demo_video: Path) -> None:
    source = FileSource(demo_video)
    try:
        frames = source.frames()
        first = next(frames)
        image = first.decode()
    finally:
        source.close()

    assert image is not None
    assert image.image.shape == (576, 768, 3) and image.image.dtype == np.uint8
    assert (image.time_s, image.wall_time) == (first.time_s, first.wall_time)


@pytest.mark.parametrize("name", ["missing.avi", "sub/dir/missing.mp4", "a directory"])
def test_a_missing_file_raises_naming_the_path(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "a directory":
        path.mkdir()

    with pytest.raises(SourceError, match=re.escape(str(path))):
        next(iter(FileSource(path).frames()))
    with pytest.raises(SourceError, match=re.escape(str(path))):
        next(iter(open_source(FileSourceConfig(path=path)).frames()))


def test_a_file_that_is_no_video_raises_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.avi"
    path.write_text("not a video", encoding="utf-8")

    with pytest.raises(SourceError, match=re.escape(str(path))):
        next(iter(FileSource(path).frames()))


def test_a_file_that_does_not_open_names_why_once_until_it_changes(
    tmp_path: Path, demo_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recording.mp4"
    path.write_bytes(b"\0\0\0\x18ftypisom\0\0\2\0isomiso2" + b"\0\1\0\0mdat" + bytes(500))  # no index
    opens = []
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: opens.append(a) or real_capture(*a))
    source = FileSource(path, loop=True)

    causes = []
    for _ in range(3):
        with pytest.raises(SourceError) as raised:
            next(iter(source.frames()))
        causes.append(str(raised.value))
    assert causes == [f"cannot open video file {path}: {why_file_not_open(path)}"] * 3
    assert "without its index (no moov box)" in causes[0]
    assert len(opens) == 1  # unchanged on disk: refused without asking OpenCV (and FFmpeg) again

    shutil.copyfile(demo_video, path)
    assert next(iter(source.frames())).decode() is not None
    source.close()


def _truncated(demo_video: Path, folder: Path, size: int = 100_000) -> Path:
    """The first `size` bytes of the demo video: a header declaring 795 frames, a few decodable."""
    path = folder / "truncated.avi"
    path.write_bytes(demo_video.read_bytes()[:size])
    return path


def _short_video(path: Path, frames: int, fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 10 % 256, np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda video, folder: _truncated(video, folder), r"decodes only \d+ of the 795 frames"),
        (lambda video, folder: _short_video(folder / "short.avi", 5), r"holds only 0\.\d+ s of video"),
    ],
    ids=["truncated", "under-a-second"],
)
def test_a_looping_file_that_is_broken_stops_instead_of_replaying(
    demo_video: Path, tmp_path: Path, make: Callable[[Path, Path], Path], problem: str
) -> None:
    path = make(demo_video, tmp_path)
    source = FileSource(path, loop=True)
    delivered = 0

    with pytest.raises(SourceError, match=problem) as raised:
        for _ in source.frames():
            delivered += 1
    assert str(path) in str(raised.value) and "not looped" in str(raised.value)
    assert 0 < delivered < 100  # one pass, never a second

    with pytest.raises(SourceError, match=problem):  # unchanged on disk: refused before any frame
        next(iter(source.frames()))


@pytest.mark.parametrize(("size", "warned"), [(None, 0), (100_000, 1)], ids=["whole", "truncated"])
def test_a_replayed_file_that_ends_early_says_so_once(
    demo_video: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, size: int | None, warned: int
) -> None:
    path = demo_video if size is None else _truncated(demo_video, tmp_path, size)
    with caplog.at_level("WARNING", logger="edge.sources.file"):
        delivered = sum(1 for _ in FileSource(path).frames())

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == warned, lines
    if warned:
        assert lines[0] == (
            f"video file {path} ended after {delivered} of the 795 frames its container declares: "
            "truncated or damaged"
        )


def test_a_broken_file_plays_again_once_it_is_replaced(demo_video: Path, tmp_path: Path) -> None:
    path = _truncated(demo_video, tmp_path)
    source = FileSource(path, loop=True)
    with pytest.raises(SourceError):
        for _ in source.frames():
            pass

    shutil.copyfile(demo_video, path)

    frames = list(itertools.islice(source.frames(), 900))  # past the end of one pass: it loops
    assert len(frames) == 900
    source.close()


def test_a_whole_looping_file_loops_with_one_log_line(
    demo_video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = FileSource(demo_video, loop=True)
    count = source.frame_count()
    with caplog.at_level("INFO", logger="edge.sources.file"):
        frames = list(itertools.islice(source.frames(), 3 * count + 10))  # three loops
    source.close()

    assert len(frames) == 3 * count + 10
    assert len([r for r in caplog.records if "plays again" in r.getMessage()]) == 1
