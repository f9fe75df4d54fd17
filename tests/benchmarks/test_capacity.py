"""The capacity benchmark's search: the largest sustained camera count, in few probes; each count
measured over one loop of the video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.capacity import (
    SETTINGS,
    Probe,
    bench_config,
    cameras_before,
    phase_shifted,
    search,
    there_and_back,
    video_seconds,
)
from edge.config import OpenvinoDetectorConfig
from tests.support import write_video


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 5, 8, 11, 16, 40])
@pytest.mark.parametrize("max_cameras", [1, 16])
def test_search_finds_the_largest_sustained_count(limit: int, max_cameras: int) -> None:
    """A box that sustains `limit` cameras (every count above fails): found, each count probed once."""
    probed: list[int] = []

    def probe(cameras: int) -> bool:
        probed.append(cameras)
        return cameras <= limit

    found = search(probe, max_cameras)

    assert found == min(limit, max_cameras)
    assert len(probed) == len(set(probed)) <= 2 * max_cameras.bit_length() + 1
    assert all(1 <= c <= max_cameras for c in probed)


@pytest.mark.parametrize(("slowest", "sustained"), [(0.0, False), (0.94, False), (0.95, True), (1.0, True)])
def test_a_count_is_sustained_when_the_slowest_camera_keeps_95_percent(
    slowest: float, sustained: bool
) -> None:
    assert Probe(4, slowest, 1.0, 0.5, 1.0, 300.0).sustained(fps=1.0) is sustained


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_setting_is_a_valid_detector_section(name: str) -> None:
    OpenvinoDetectorConfig.model_validate(SETTINGS[name][1])


@pytest.mark.parametrize(
    ("cameras", "ladder", "before"), [(4, "4", 0), (4, "4,6,8", 0), (8, "8,4,6", 6), (6, "2,4,6,10", 4)]
)
def test_a_ladder_count_is_sustained_only_after_the_count_below_it(
    cameras: int, ladder: str, before: int
) -> None:
    assert cameras_before(cameras, ladder) == before


def test_a_count_lasts_one_loop_of_the_video(tmp_path: Path) -> None:
    video = write_video(tmp_path / "loop.avi", frames=20, fps=8.0)

    assert video_seconds(video) == pytest.approx(2.5)


def test_a_video_without_a_length_is_refused_naming_seconds(tmp_path: Path) -> None:
    video = tmp_path / "broken.avi"
    video.write_bytes(b"not a video")

    with pytest.raises(SystemExit, match="--seconds"):
        video_seconds(video)


LEVEL_STEP = 30  # grey levels between a clip's frames: each frame told by its brightness


def _graded_clip(path: Path, frames: int, fps: float) -> Path:
    """Frame i all grey at i x LEVEL_STEP."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), LEVEL_STEP * i, np.uint8))
    writer.release()
    return path


def _levels(video: Path) -> list[int]:
    """Which frame of a graded clip each frame of `video` is."""
    capture = cv2.VideoCapture(str(video))
    levels = []
    while (read := capture.read())[0]:
        levels.append(round(float(read[1].mean()) / LEVEL_STEP))
    capture.release()
    return levels


def test_a_clip_played_there_and_back_loops_without_a_jump(tmp_path: Path) -> None:
    """Frames 0..4 at 5 frames/s become 0 1 2 3 4 3 2 1, over again for at least 3 s: each frame
    next to one it was next to, the last one too."""
    clip = _graded_clip(tmp_path / "clip.avi", frames=5, fps=5.0)

    played = there_and_back(clip, tmp_path, at_least_s=3.0)

    assert _levels(played) == [0, 1, 2, 3, 4, 3, 2, 1] * 2
    assert video_seconds(played) == pytest.approx(16 / 5)


def test_a_long_video_is_not_played_there_and_back(tmp_path: Path) -> None:
    video = write_video(tmp_path / "long.avi", frames=61, fps=1.0, size=(16, 16))

    with pytest.raises(SystemExit, match="short clip"):
        there_and_back(video, tmp_path)


def test_phases_start_the_loop_a_share_of_it_apart(tmp_path: Path) -> None:
    """Frames 0..7 in 4 phases: the loops start at frames 0, 2, 4 and 6, each the whole video."""
    clip = _graded_clip(tmp_path / "clip.avi", frames=8, fps=4.0)

    shifted = phase_shifted(clip, tmp_path, 4)

    assert shifted[0] == clip
    assert [_levels(v) for v in shifted] == [
        [0, 1, 2, 3, 4, 5, 6, 7],
        [2, 3, 4, 5, 6, 7, 0, 1],
        [4, 5, 6, 7, 0, 1, 2, 3],
        [6, 7, 0, 1, 2, 3, 4, 5],
    ]
    assert all(video_seconds(v) == pytest.approx(2.0) for v in shifted)


def test_one_phase_is_the_video_itself(tmp_path: Path) -> None:
    video = write_video(tmp_path / "loop.avi", frames=4, fps=2.0)

    assert phase_shifted(video, tmp_path, 1) == [video]
    assert list(tmp_path.iterdir()) == [video]


def test_more_phases_than_frames_are_refused(tmp_path: Path) -> None:
    video = write_video(tmp_path / "short.avi", frames=3, fps=2.0)

    with pytest.raises(SystemExit, match="3 frames"):
        phase_shifted(video, tmp_path, 4)


def test_cameras_take_the_phases_in_turn() -> None:
    config = bench_config([5001, 5002, 5003], cameras=7, fps=1.0, detector={})

    assert [c.id for c in config.cameras] == [f"cam{i}" for i in range(1, 8)]
    assert [c.source.url for c in config.cameras] == [  # type: ignore[union-attr]
        f"rtsp://127.0.0.1:{port}/cam" for port in (5001, 5002, 5003, 5001, 5002, 5003, 5001)
    ]
