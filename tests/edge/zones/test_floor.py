"""Camera to floor: homography fit from point pairs with known warps, residuals, outliers, degenerate
input, the horizon, footprints, and calibration as OpenCV writes it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from edge.zones.floor import (
    RESIDUAL_WARNING_CM,
    FloorCalibrationError,
    fit_floor,
    footprint,
    homography_from_camera,
    read_opencv_calibration,
    to_floor,
    to_picture,
)
from edge.zones.geometry import contains

Points = NDArray[np.float64]

# A camera high on a wall looking down at a room: picture fractions -> floor metres, with the
# horizon above the picture (every picture point lies on the floor).
ROOM_CAMERA = np.array([[8.0, 1.5, -4.0], [0.2, 14.0, -3.0], [0.0, 1.6, 0.4]])
# A camera looking far along a platform: its picture's upper part is sky (w <= 0 above y ~ 0.25).
HORIZON_CAMERA = np.array([[6.0, 0.0, -3.0], [0.0, 2.0, 0.0], [0.0, 4.0, -1.0]])
# Floor marks as an installer picks them: room corners, a door post, a pillar.
PICTURE = np.array([[0.1, 0.2], [0.9, 0.25], [0.95, 0.9], [0.05, 0.85], [0.5, 0.5], [0.3, 0.7], [0.7, 0.4]])


def warp(homography: Points, points: Points) -> Points:
    mapped = np.c_[points, np.ones(len(points))] @ homography.T
    return np.asarray(mapped[:, :2] / mapped[:, 2:], np.float64)


def assert_same_mapping(a: Points, b: Points) -> None:
    """Both map every picture point to the same floor point (within a micrometre)."""
    xs, ys = np.meshgrid(np.linspace(0, 1, 11), np.linspace(0, 1, 11))
    grid = np.c_[xs.ravel(), ys.ravel()]
    np.testing.assert_allclose(to_floor(a, grid), warp(b, grid), atol=1e-6)


@pytest.mark.parametrize("pairs", [4, 5, 7])
def test_fit_recovers_a_known_warp(pairs: int) -> None:
    floor = warp(ROOM_CAMERA, PICTURE[:pairs])

    fit = fit_floor(PICTURE[:pairs], floor)

    assert_same_mapping(fit.homography, ROOM_CAMERA)
    assert fit.rms_cm == pytest.approx(0, abs=1e-3)
    assert fit.inliers.all()
    assert fit.warning is None


@pytest.mark.parametrize("sigma_m", [0.02, 0.1, 0.15, 0.2])
def test_noise_gives_a_residual_of_its_size(sigma_m: float) -> None:
    """Floor points typed with an error of sigma per axis: the fitted residual is of that size
    (a little less: the fit absorbs part of it), and the warning comes exactly above the limit."""
    rng = np.random.default_rng(3)
    picture = rng.uniform(0.05, 0.95, (40, 2))
    noisy = warp(ROOM_CAMERA, picture) + rng.normal(0, sigma_m, (40, 2))

    fit = fit_floor(picture, noisy, method="lmeds")

    expected_cm = sigma_m * np.sqrt(2) * 100  # two axes
    assert 0.7 * expected_cm < fit.rms_cm < 1.2 * expected_cm
    assert (fit.warning is not None) is (fit.rms_cm > RESIDUAL_WARNING_CM)


def test_points_that_all_disagree_warn() -> None:
    rng = np.random.default_rng(4)
    picture = rng.uniform(0.05, 0.95, (20, 2))
    noisy = warp(ROOM_CAMERA, picture) + rng.normal(0, 0.4, (20, 2))

    assert fit_floor(picture, noisy).warning is not None


@pytest.mark.parametrize("method", ["ransac", "lmeds"])
def test_a_misclicked_pair_is_left_out_and_named(method: str) -> None:
    floor = warp(ROOM_CAMERA, PICTURE)
    floor[4] += (2.0, -1.5)  # the pillar typed at the wrong place

    fit = fit_floor(PICTURE, floor, method=method)  # type: ignore[arg-type]

    assert fit.inliers.tolist() == [True, True, True, True, False, True, True]
    assert_same_mapping(fit.homography, ROOM_CAMERA)
    assert fit.residual_m[4] == pytest.approx(2.5, rel=1e-3)
    assert fit.warning is not None and "pair 5" in fit.warning


@pytest.mark.parametrize(
    ("picture", "floor", "words"),
    [
        (np.zeros((0, 2)), np.zeros((0, 2)), "at least 4 point pairs, got 0"),
        (PICTURE[:3], warp(ROOM_CAMERA, PICTURE[:3]), "at least 4 point pairs, got 3"),
        (PICTURE[:5], warp(ROOM_CAMERA, PICTURE[:4]), "5 picture points but 4 floor points"),
        (
            np.array([[0.1, 0.1], [0.3, 0.3], [0.5, 0.5], [0.9, 0.9]]),
            np.array([[0, 0], [1, 0], [1, 1], [0, 1.0]]),
            "picture points lie on one line",
        ),
        (PICTURE[:4], np.array([[0, 0], [1, 1], [2, 2], [3, 3.0]]), "floor points lie on one line"),
        (PICTURE[:4], np.array([[0, 0], [0, 0], [0, 0], [0, 0.0]]), "floor points lie on one line"),
        (PICTURE[:4, :1], np.zeros((4, 1)), "image_points must have shape (N, 2)"),
        (PICTURE[:4], np.array([[0, 0], [1, np.nan], [1, 1], [0, 1]]), "floor_points holds a value"),
    ],
)
def test_degenerate_input_fails_with_words(picture: Points, floor: Points, words: str) -> None:
    with pytest.raises(FloorCalibrationError, match=words.replace("(", r"\(").replace(")", r"\)")):
        fit_floor(picture, floor)


def test_pairs_on_both_sides_of_the_horizon_are_refused() -> None:
    floor = np.array([[0, 0], [4, 0], [4, 3], [0, 3], [2, 1.5]])
    picture = warp(np.linalg.inv(HORIZON_CAMERA), floor)
    picture[4] = (0.5, 0.05)  # in the sky of this camera: no floor point can be there

    with pytest.raises(FloorCalibrationError):
        fit_floor(picture, floor)


@pytest.mark.parametrize(
    ("points", "on_floor"),
    [
        (np.zeros((0, 2)), []),
        (np.array([[0.5, 0.9], [0.5, 0.5]]), [True, True]),
        (np.array([[0.5, 0.1], [0.2, 0.25], [0.5, 0.3]]), [False, False, True]),  # horizon at y = 0.25
    ],
)
def test_points_above_the_horizon_have_no_floor_point(points: Points, on_floor: list[bool]) -> None:
    floor = to_floor(HORIZON_CAMERA, points)

    assert floor.shape == (len(points), 2)
    assert np.isfinite(floor).all(axis=1).tolist() == on_floor


@pytest.mark.parametrize("camera", [ROOM_CAMERA, HORIZON_CAMERA])
def test_to_picture_undoes_to_floor(camera: Points) -> None:
    picture = PICTURE[2:]  # below the horizon camera's horizon

    np.testing.assert_allclose(to_picture(camera, to_floor(camera, picture)), picture, atol=1e-9)
    assert to_picture(camera, np.zeros((0, 2))).shape == (0, 2)


def test_floor_behind_the_camera_has_no_picture_point() -> None:
    # Mapped through the horizon (w < 0), a point of the sky lands on the floor behind the camera.
    behind = warp(HORIZON_CAMERA, np.array([[0.5, 0.1]]))

    assert not np.isfinite(to_picture(HORIZON_CAMERA, behind)).any()
    assert np.isfinite(to_picture(HORIZON_CAMERA, to_floor(HORIZON_CAMERA, np.array([[0.5, 0.9]])))).all()


def test_a_fit_keeps_its_floor_in_front_whatever_sign_the_solver_returns() -> None:
    floor = warp(HORIZON_CAMERA, PICTURE[2:6])  # the lower part of the picture, on the floor

    fit = fit_floor(PICTURE[2:6], floor)

    assert np.isfinite(to_floor(fit.homography, np.array([[0.5, 0.9]]))).all()
    assert not np.isfinite(to_floor(fit.homography, np.array([[0.5, 0.1]]))).any()


def test_footprint_of_a_camera_looking_down_is_its_mapped_picture() -> None:
    outline = footprint(ROOM_CAMERA)
    corners = warp(ROOM_CAMERA, np.array([[0, 0], [1, 0], [1, 1], [0, 1.0]]))

    for corner in corners:
        assert np.linalg.norm(outline - corner, axis=1).min() < 1e-9
    inside = contains(outline.astype(np.float32), warp(ROOM_CAMERA, PICTURE).astype(np.float32))
    assert inside.all()


@pytest.mark.parametrize("max_distance_m", [5.0, 10.0, 25.0])
def test_footprint_of_a_camera_seeing_the_horizon_stops_at_the_limit(max_distance_m: float) -> None:
    outline = footprint(HORIZON_CAMERA, max_distance_m=max_distance_m)
    origin = to_floor(HORIZON_CAMERA, np.array([[0.5, 1.0]]))[0]

    assert np.isfinite(outline).all()
    reach = np.linalg.norm(outline - origin, axis=1)
    assert reach.max() == pytest.approx(max_distance_m, rel=1e-3)


def test_footprint_of_a_camera_looking_up_fails() -> None:
    with pytest.raises(FloorCalibrationError, match="looks up"):
        footprint(-HORIZON_CAMERA)


# A camera 3 m above the floor, looking down at 50 degrees, turned 20 degrees about the vertical.
def _camera() -> tuple[Points, Points, Points, Points]:
    k = np.array([[800.0, 0, 640], [0, 800, 360], [0, 0, 1]])
    tilt = np.deg2rad(180 - 50)  # optical axis down: rotate the camera about its x axis
    pan = np.deg2rad(20)
    rx = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    rz = np.array([[np.cos(pan), -np.sin(pan), 0], [np.sin(pan), np.cos(pan), 0], [0, 0, 1]])
    rotation = rx @ rz
    centre = np.array([1.0, -2.0, 3.0])
    tvec = -rotation @ centre
    rvec, _ = cv2.Rodrigues(rotation)
    dist = np.array([-0.2, 0.05, 0.001, -0.001, 0.0])
    return k, dist, rvec.reshape(3), tvec


def _floor_marks() -> Points:
    xs, ys = np.meshgrid(np.linspace(-1, 3, 5), np.linspace(0.5, 4, 5))
    return np.asarray(np.c_[xs.ravel(), ys.ravel(), np.zeros(xs.size)], np.float64)


def test_homography_of_a_calibrated_camera_maps_its_projection_back() -> None:
    k, _, rvec, tvec = _camera()
    world = _floor_marks()
    pixels, _ = cv2.projectPoints(world, rvec, tvec, k, None)
    fractions = pixels.reshape(-1, 2) / (1280, 720)

    floor = to_floor(homography_from_camera(k, rvec, tvec, (1280, 720)), fractions)

    np.testing.assert_allclose(floor, world[:, :2], atol=1e-9)


@pytest.mark.parametrize("suffix", [".xml", ".yml"])
def test_opencv_calibration_file_undistorts_then_maps(tmp_path: Path, suffix: str) -> None:
    k, dist, rvec, tvec = _camera()
    path = tmp_path / f"camera{suffix}"
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    storage.write("image_width", 1280)
    storage.write("image_height", 720)
    storage.write("camera_matrix", k)
    storage.write("dist_coeffs", dist.reshape(1, 5))
    storage.write("rvec", rvec.reshape(3, 1))
    storage.write("tvec", tvec.reshape(3, 1))
    storage.release()
    world = _floor_marks()
    pixels, _ = cv2.projectPoints(world, rvec, tvec, k, dist)  # as the distorting lens shows them
    fractions = pixels.reshape(-1, 2) / (1280, 720)

    calibration = read_opencv_calibration(path)

    assert calibration.image_size == (1280, 720)
    np.testing.assert_allclose(calibration.to_floor(fractions), world[:, :2], atol=2e-3)
    distorted = to_floor(calibration.homography, fractions)  # without undistorting first
    assert np.abs(distorted - world[:, :2]).max() > 0.05


@pytest.mark.parametrize(
    ("content", "size", "words"),
    [
        (None, None, "no such calibration file"),
        ("camera_matrix", None, "no matrix named rvec, tvec"),
        ("camera_matrix rvec tvec", None, "no image_width and image_height"),
        ("short_rvec", (640, 480), "rvec must hold 3 numbers, got 2"),
    ],
)
def test_unreadable_calibration_files_fail_with_words(
    tmp_path: Path, content: str | None, size: tuple[int, int] | None, words: str
) -> None:
    path = tmp_path / "camera.yml"
    if content is not None:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
        storage.write("camera_matrix", np.eye(3))
        if "short_rvec" in content:
            storage.write("rvec", np.zeros((2, 1)))
            storage.write("tvec", np.zeros((3, 1)))
        for name in ("rvec", "tvec"):
            if name in content.split():
                storage.write(name, np.zeros((3, 1)))
        storage.release()

    with pytest.raises(FloorCalibrationError, match=words):
        read_opencv_calibration(path, size)
