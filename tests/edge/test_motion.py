"""The motion gate: the detector is due when the picture changed since the last detection, when
that detection is full_every_s old, and on the first frame; never otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.config import MotionGateConfig
from edge.motion import THUMBNAIL_WIDTH, MotionGate, changed_share, thumbnail

HEIGHT, WIDTH = 360, 640


def room(seed: int = 0) -> NDArray[np.uint8]:
    """A textured still picture: a room without anyone moving."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, (HEIGHT // 40, WIDTH // 40, 3), dtype=np.uint8)
    return np.asarray(np.kron(small, np.ones((40, 40, 1), np.uint8)), np.uint8)


def with_person(image: NDArray[np.uint8], x: int, width: int = 24, height: int = 60) -> NDArray[np.uint8]:
    """A dark figure at column x (a person of 1/27 of the picture's width, as in a far corner)."""
    out = image.copy()
    out[150 : 150 + height, x : x + width] = 10
    return out


def shaded(image: NDArray[np.uint8], darker: int) -> NDArray[np.uint8]:
    """A patch of the picture made darker by `darker` grey levels (someone edging along a bench)."""
    out = image.copy()
    out[150:210, 300:324] = np.clip(out[150:210, 300:324].astype(int) - darker, 0, 255)
    return out


def noisy(image: NDArray[np.uint8], sigma: float, seed: int = 1) -> NDArray[np.uint8]:
    """The same picture with sensor noise."""
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.asarray(np.clip(image + noise, 0, 255), np.uint8)


@pytest.mark.parametrize("shape", [(HEIGHT, WIDTH, 3), (HEIGHT, WIDTH), (640, 360, 3), (10, 1000, 3)])
def test_thumbnail_is_small_grey_and_keeps_the_aspect(shape: tuple[int, ...]) -> None:
    small = thumbnail(np.zeros(shape, np.uint8))

    assert small.ndim == 2 and small.dtype == np.uint8
    assert small.shape[1] == THUMBNAIL_WIDTH
    assert small.shape[0] == max(1, round(shape[0] * THUMBNAIL_WIDTH / shape[1]))


@pytest.mark.parametrize(
    ("now", "share"),
    [
        (np.zeros((4, 4), np.uint8), 0.0),
        (np.full((4, 4), 16, np.uint8), 0.0),  # not more than pixel_change
        (np.full((4, 4), 17, np.uint8), 1.0),
        (np.pad(np.full((1, 2), 200, np.uint8), ((0, 3), (0, 2))), 2 / 16),
        (np.zeros((4, 5), np.uint8), 1.0),  # another size: all new
    ],
    ids=["same", "at-threshold", "above", "two-pixels", "resized"],
)
def test_changed_share(now: NDArray[np.uint8], share: float) -> None:
    assert changed_share(np.zeros((4, 4), np.uint8), now, pixel_change=16) == pytest.approx(share)


# (frame time, picture) after a first detection of room() at 0 s, and whether each is due
STILL = [(1.0, room()), (2.0, room()), (9.9, room())]
CASES = {
    "no-frames": ([], []),
    "still": (STILL, [False, False, False]),
    "sensor-noise": ([(1.0, noisy(room(), 3.0)), (2.0, noisy(room(), 3.0, seed=2))], [False, False]),
    "periodic": ([*STILL, (10.0, room()), (11.0, room()), (20.5, room())], [False] * 3 + [True, False, True]),
    "a-person-walks-in": (
        [(1.0, room()), (2.0, with_person(room(), 300)), (3.0, with_person(room(), 300))],
        [False, True, False],
    ),
    "changes-a-little-each-frame": (  # compared with the last detection, not the frame before
        [(float(t), shaded(room(), 10 * t)) for t in range(1, 5)],
        [False, True, False, True],
    ),
    "another-picture": ([(1.0, room(seed=5))], [True]),
    "clock-back": ([(1.0, room()), (-1.0, room())], [False, True]),  # before the last detection
    "another-size": ([(1.0, room()[:, :320])], [True]),
}


@pytest.mark.parametrize(("frames", "due"), CASES.values(), ids=CASES.keys())
def test_due_when_the_picture_changed_or_the_detection_is_old(
    frames: list[tuple[float, NDArray[np.uint8]]], due: list[bool]
) -> None:
    gate = MotionGate(MotionGateConfig(full_every_s=10.0))
    assert gate.due(room(), 0.0)  # the first frame always
    gate.detected()

    said = []
    for time_s, image in frames:
        said.append(gate.due(image, time_s))
        if said[-1]:
            gate.detected()

    assert said == due


def test_a_frame_becomes_the_reference_only_once_detected() -> None:
    """A detection that failed leaves the last detected picture as the one compared with."""
    gate = MotionGate(MotionGateConfig())
    assert gate.due(room(), 0.0)
    gate.detected()
    assert gate.due(with_person(room(), 300), 1.0)  # the detector then fails: no `detected`

    assert gate.due(with_person(room(), 300), 2.0)


def test_reset_makes_the_next_frame_due() -> None:
    gate = MotionGate(MotionGateConfig())
    gate.due(room(), 0.0)
    gate.detected()
    assert not gate.due(room(), 1.0)

    gate.reset()

    assert gate.due(room(), 2.0)
