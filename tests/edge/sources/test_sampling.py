"""FrameSampler: frames analysed at the configured rate by their own timestamps."""

from __future__ import annotations

import numpy as np
import pytest

from edge.sources.sampling import FrameSampler, on_grid


def sampled(fps: float, times: list[float] | np.ndarray) -> list[float]:
    sampler = FrameSampler(fps)
    return [float(t) for t in times if sampler.due(float(t))]


def stream(input_fps: float, start_s: float, end_s: float) -> np.ndarray:
    """Frame timestamps of a steady source from start_s (inclusive) to end_s (exclusive)."""
    return start_s + np.arange(round((end_s - start_s) * input_fps)) / input_fps


def test_no_frames_none_sampled() -> None:
    assert sampled(2.0, []) == []


@pytest.mark.parametrize("time_s", [0.0, 12.34, 1e6])
def test_the_first_frame_is_always_due(time_s: float) -> None:
    assert sampled(2.0, [time_s]) == [time_s]


@pytest.mark.parametrize(
    ("input_fps", "fps"),
    [
        (25.0, 2.0),
        (25.0, 1.0),
        (30.0, 4.0),
        (29.97, 2.0),
        (25.0, 3.0),  # periods that are no whole number of frames
        (12.5, 5.0),
    ],
)
def test_a_steady_source_is_sampled_at_the_configured_rate(input_fps: float, fps: float) -> None:
    seconds = 60
    times = sampled(fps, stream(input_fps, 0.0, seconds))

    # the schedule keeps its phase: no drift over a minute
    assert abs(len(times) - seconds * fps) <= 1
    per_second = np.bincount(np.floor(times).astype(int), minlength=seconds)
    assert per_second.min() >= np.floor(fps) - 1
    assert per_second.max() <= np.ceil(fps) + 1
    # and never two frames closer than the period less one input frame
    assert np.diff(times).min() >= 1 / fps - 1 / input_fps - 1e-9


@pytest.mark.parametrize("fps", [25.0, 30.0, 100.0])
def test_a_rate_at_or_above_the_source_takes_every_frame(fps: float) -> None:
    times = stream(25.0, 0.0, 10.0)

    assert len(sampled(fps, times)) == len(times)


@pytest.mark.parametrize("jitter_s", [0.0, 0.005, 0.015])
def test_jittered_timestamps_keep_two_per_second(jitter_s: float) -> None:
    rng = np.random.default_rng(3)
    seconds = 60
    times = stream(25.0, 100.0, 100.0 + seconds) + rng.uniform(-jitter_s, jitter_s, 25 * seconds)

    picked = sampled(2.0, times)

    assert abs(len(picked) - 2 * seconds) <= 1
    start = picked[0]
    per_second = np.bincount(np.floor(np.asarray(picked) - start).astype(int))[:-1]  # whole seconds
    assert set(per_second.tolist()) <= {1, 2, 3}
    assert np.mean(per_second) == pytest.approx(2.0, abs=0.05)
    gaps = np.diff(picked)
    assert gaps.min() >= 0.5 - 0.04 - 2 * jitter_s - 1e-9
    assert gaps.max() <= 0.5 + 0.04 + 2 * jitter_s + 1e-9


@pytest.mark.parametrize("gap_s", [1.2, 3.0, 55.0])
def test_a_gap_restarts_the_schedule_without_a_burst(gap_s: float) -> None:
    before = stream(25.0, 0.0, 5.04)  # last frame at 5.0
    resume_s = 5.0 + gap_s
    after = stream(25.0, resume_s, resume_s + 3.0)

    picked = sampled(2.0, np.concatenate([before, after]))
    after_gap = np.array([t for t in picked if t >= resume_s])

    # the first frame after the gap is analysed, then every half second from there
    assert after_gap[0] == pytest.approx(resume_s)
    np.testing.assert_allclose(after_gap - resume_s, 0.5 * np.arange(len(after_gap)), atol=0.04 + 1e-9)
    assert len(after_gap) == 6


def test_frames_dropped_for_less_than_a_period_do_not_change_the_rate() -> None:
    times = stream(25.0, 0.0, 20.0)
    kept = times[(times % 1.0) < 0.7]  # every second loses 0.3 s of frames

    picked = sampled(2.0, kept)

    assert abs(len(picked) - 40) <= 1


@pytest.mark.parametrize("fps", [0.0, -0.0, -1.0, -30.0])
def test_a_rate_not_above_zero_is_rejected_naming_fps(fps: float) -> None:
    with pytest.raises(ValueError, match=rf"fps must be > 0, got {fps}"):
        FrameSampler(fps)


def test_a_rate_that_is_not_a_number_is_rejected() -> None:
    with pytest.raises(ValueError, match="fps"):
        FrameSampler(float("nan"))


@pytest.mark.parametrize("resume_s", [5.6, 5.8, 5.95])
def test_a_short_gap_never_yields_a_near_duplicate(resume_s: float) -> None:
    """Frames to 5.0 s, then a stall shorter than two periods: the next two samples stay apart."""
    before = np.arange(0.0, 5.0 + 1e-9, 0.04)
    after = np.arange(resume_s, resume_s + 3.0, 0.04)
    picked = sampled(2.0, np.concatenate([before, after]))
    assert np.diff(picked).min() >= 0.25 - 0.04


@pytest.mark.parametrize(
    ("times", "taken"),
    [
        ([], []),
        # 2 frames a second on a 25 fps stream that started 0.13 s into a slot: the first frame of each
        # half second is taken, whatever the phase.
        ([0.13 + 0.04 * i for i in range(30)], [0.13, 0.53, 1.01]),
        ([0.31 + 0.04 * i for i in range(30)], [0.31, 0.51, 1.03]),
        # A stream that skips a slot goes on at the next one; one that goes back (a file read anew)
        # starts again.
        ([0.0, 0.2, 1.6, 1.7, 2.0], [0.0, 1.6, 2.0]),
        ([5.0, 5.6, 0.1, 0.2, 0.6], [5.0, 5.6, 0.1, 0.6]),
    ],
)
def test_frames_on_a_grid_are_taken_at_its_points(times: list[float], taken: list[float]) -> None:
    due = on_grid(2.0)
    assert [t for i, t in enumerate(times) if due(i, t)] == pytest.approx(taken)


def test_two_cameras_in_different_phases_take_frames_close_in_time() -> None:
    first, second = on_grid(1.0), on_grid(1.0)
    a = [t for i, t in enumerate(0.011 + 0.04 * n for n in range(100)) if first(i, t)]
    b = [t for i, t in enumerate(0.037 + 0.04 * n for n in range(100)) if second(i, t)]
    assert len(a) == len(b) == 4
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 0.04
