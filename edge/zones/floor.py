"""Camera picture to floor plan, pure: no state, no I/O except reading an OpenCV calibration file.

A camera's picture (points in 0..1 fractions of its width and height, as zones are drawn) maps to
the floor plan (metres) by a homography: the floor is a plane, so four or more point pairs fix it.
The homography is oriented so that a picture point whose ray meets the floor in front of the
camera has w > 0; points on or above the horizon (w <= 0) have no floor point and map to NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

Points = NDArray[np.float64]

# Above this RMS of the fit's residuals on the floor the installer is warned. 25 cm is half a
# shoulder width (about 45 cm) and half a seat's pitch (about 50 cm): below it a person's floor
# point still falls on their own seat, and two views of one person stay well inside the merge
# gate (edge/zones/rooms.py, 0.8 m) even when both cameras err in opposite directions.
RESIDUAL_WARNING_CM = 25.0
MIN_PAIRS = 4
# RANSAC's reprojection threshold on the floor: a clicked point this far off is an outlier, not noise.
RANSAC_THRESHOLD_M = 0.5
# The far part of a camera's view that still counts as its footprint, measured from the floor point
# of the picture's bottom centre: a camera that sees the horizon does not cover the whole plane.
FOOTPRINT_MAX_DISTANCE_M = 25.0
_FOOTPRINT_SAMPLES = 32  # points per picture edge; a footprint's edge is straight, only the clip bends it
# A picture point whose w is this small has a floor point kilometres away: treat it as the horizon.
_HORIZON_EPS = 1e-9
# What a calibration file holds, with how many numbers each (None: any, as dist_coeffs has 4 to 14).
_CALIBRATION_MATRICES = {"camera_matrix": 9, "dist_coeffs": None, "rvec": 3, "tvec": 3}


class FloorCalibrationError(ValueError):
    """Point pairs or a calibration file that cannot fix a camera's floor mapping; the message says why."""


@dataclass(frozen=True, slots=True)
class FloorFit:
    """A camera's mapping from picture fractions to floor metres, with how well its points agree.

    homography: (3, 3) picture fractions -> floor metres, w > 0 in front of the camera;
    residual_m: (N,) distance on the floor between each pair's floor point and its picture point
    mapped; inliers: (N,) the pairs the fit kept (all where no outlier was found).
    """

    homography: Points
    residual_m: Points
    inliers: NDArray[np.bool_]

    @property
    def rms_cm(self) -> float:
        """Root mean square of the inliers' residuals, in centimetres (0 for exactly four pairs)."""
        kept = self.residual_m[self.inliers]
        return float(np.sqrt(np.mean(kept**2)) * 100) if len(kept) else 0.0

    @property
    def warning(self) -> str | None:
        """What the installer is told about this fit, or None where it is good enough."""
        outliers = int((~self.inliers).sum())
        parts = []
        if self.rms_cm > RESIDUAL_WARNING_CM:
            parts.append(f"points disagree by {self.rms_cm:.0f} cm (RMS, limit {RESIDUAL_WARNING_CM:.0f} cm)")
        if outliers:
            worst = int(np.argmax(np.where(self.inliers, -np.inf, self.residual_m)))
            parts.append(
                f"{outliers} point pair(s) left out as outliers (pair {worst + 1} is off by "
                f"{self.residual_m[worst]:.2f} m)"
            )
        return "; ".join(parts) or None


def _pairs(image_points: ArrayLike, floor_points: ArrayLike) -> tuple[Points, Points]:
    image = np.asarray(image_points, np.float64)
    floor = np.asarray(floor_points, np.float64)
    for name, array in (("image_points", image), ("floor_points", floor)):
        if array.ndim != 2 or array.shape[1] != 2:
            raise FloorCalibrationError(f"{name} must have shape (N, 2), got {array.shape}")
        if not np.isfinite(array).all():
            raise FloorCalibrationError(f"{name} holds a value that is not a finite number")
    if len(image) != len(floor):
        raise FloorCalibrationError(f"{len(image)} picture points but {len(floor)} floor points")
    if len(image) < MIN_PAIRS:
        raise FloorCalibrationError(
            f"a floor mapping needs at least {MIN_PAIRS} point pairs, got {len(image)}"
        )
    for name, array in (("picture", image), ("floor", floor)):
        if _collinear(array):
            raise FloorCalibrationError(
                f"the {name} points lie on one line (or fewer than 3 are apart): pick points that "
                "span an area, such as the corners of a rectangle"
            )
    return image, floor


def _collinear(points: Points) -> bool:
    """Whether no three points span an area: the smallest spread across the points' main axis is nil."""
    centred = points - points.mean(axis=0)
    spread = np.linalg.svd(centred, compute_uv=False)
    return bool(spread[-1] <= 1e-6 * max(float(spread[0]), 1e-12))


def fit_floor(
    image_points: ArrayLike, floor_points: ArrayLike, method: Literal["ransac", "lmeds"] = "ransac"
) -> FloorFit:
    """The homography from picture fractions to floor metres through point pairs (at least four).

    With exactly four pairs it is solved exactly (residual 0: four pairs cannot show an error); with
    more, fitted robustly (RANSAC, threshold RANSAC_THRESHOLD_M, or least median of squares), so one
    mistyped or misclicked pair is left out rather than bending the rest, then refined on the inliers.
    """
    image, floor = _pairs(image_points, floor_points)
    if len(image) == MIN_PAIRS:
        homography, _ = cv2.findHomography(image, floor, 0)
    else:
        robust = cv2.RANSAC if method == "ransac" else cv2.LMEDS
        homography, _ = cv2.findHomography(image, floor, robust, RANSAC_THRESHOLD_M)
    if homography is None or not np.isfinite(homography).all() or abs(np.linalg.det(homography)) < 1e-12:
        raise FloorCalibrationError("no floor mapping fits these point pairs (three or more on one line?)")
    homography = _facing_floor(np.asarray(homography, np.float64), image)
    residual = np.linalg.norm(to_floor(homography, image) - floor, axis=1)
    residual = np.where(np.isfinite(residual), residual, np.inf)
    inliers = residual <= RANSAC_THRESHOLD_M if len(image) > MIN_PAIRS else np.ones(len(image), bool)
    if inliers.sum() < MIN_PAIRS:
        raise FloorCalibrationError(
            f"only {int(inliers.sum())} of {len(image)} point pairs agree within {RANSAC_THRESHOLD_M} m: "
            "check that each picture point and its floor point are the same mark"
        )
    return FloorFit(homography, residual, inliers)


def _facing_floor(homography: Points, image: Points) -> Points:
    """The homography's sign chosen so that the calibration points (on the floor, in view) have w > 0."""
    w = homography[2, 0] * image[:, 0] + homography[2, 1] * image[:, 1] + homography[2, 2]
    if (w > 0).all():
        return homography
    if (w < 0).all():
        return -homography
    raise FloorCalibrationError(
        "the point pairs put the horizon between calibration points: they cannot all be on the floor"
    )


def to_floor(homography: Points, points: ArrayLike) -> Points:
    """(N, 2) picture fractions to (N, 2) floor metres; rows on or above the horizon are NaN."""
    xy = np.asarray(points, np.float64).reshape(-1, 2)
    mapped = xy @ homography[:, :2].T + homography[:, 2]
    w = mapped[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = mapped[:, :2] / w
    floor[(w[:, 0] <= _HORIZON_EPS)] = np.nan
    return floor


def to_picture(homography: Points, points: ArrayLike) -> Points:
    """(N, 2) floor metres to (N, 2) picture fractions of the camera whose floor mapping is
    `homography` (to_floor's inverse); rows behind the camera are NaN."""
    xy = np.asarray(points, np.float64).reshape(-1, 2)
    inverse = np.asarray(np.linalg.inv(homography), np.float64)
    mapped = xy @ inverse[:, :2].T + inverse[:, 2]
    w = mapped[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        picture = mapped[:, :2] / w
    picture[(w[:, 0] <= _HORIZON_EPS)] = np.nan
    return picture


def footprint(
    homography: Points, max_distance_m: float = FOOTPRINT_MAX_DISTANCE_M, samples: int = _FOOTPRINT_SAMPLES
) -> Points:
    """The floor a camera sees: its picture's border mapped to the floor, (M, 2) metres.

    Where the picture shows the horizon, or floor further than `max_distance_m` from the floor point
    of the picture's bottom centre (the nearest floor a camera looking down sees), each border point
    is pulled back along the line towards the bottom centre until it lies within that distance, so
    the footprint stays a simple polygon of the floor people can be counted on.
    """
    if max_distance_m <= 0:
        raise ValueError(f"max_distance_m must be > 0, got {max_distance_m}")
    near = np.array([0.5, 1.0])
    origin = to_floor(homography, near[None])[0]
    if not np.isfinite(origin).all():
        raise FloorCalibrationError("the picture's bottom centre is not on the floor: the camera looks up")
    t = np.linspace(0, 1, samples, endpoint=False)
    zeros, ones = np.zeros_like(t), np.ones_like(t)
    border = np.concatenate(
        [
            np.stack([t, zeros], 1),  # top, left to right
            np.stack([ones, t], 1),  # right, top to bottom
            np.stack([1 - t, ones], 1),  # bottom, right to left
            np.stack([zeros, 1 - t], 1),  # left, bottom to top
        ]
    )

    def within(fraction: Points) -> NDArray[np.bool_]:
        picture = near + fraction[:, None] * (border - near)
        floor = to_floor(homography, picture)
        ok: NDArray[np.bool_] = np.isfinite(floor).all(axis=1) & (
            np.linalg.norm(floor - origin, axis=1) <= max_distance_m
        )
        return ok

    # Bisection per border point on the share of the way from the bottom centre that stays within.
    low, high = np.zeros(len(border)), np.ones(len(border))
    done = within(high)
    low[done] = 1.0
    for _ in range(40):
        middle = (low + high) / 2
        ok = within(middle)
        low = np.where(ok & ~done, middle, low)
        high = np.where(~ok & ~done, middle, high)
    return to_floor(homography, near + low[:, None] * (border - near))


def homography_from_camera(
    camera_matrix: ArrayLike, rvec: ArrayLike, tvec: ArrayLike, image_size: tuple[int, int]
) -> Points:
    """The floor (z = 0 of the world) mapping of a calibrated pinhole camera, as picture fractions
    -> floor metres: the plane's homography is K [r1 r2 t], inverted; (width, height) in pixels
    turns fractions into the pixels K speaks of. World units are taken as metres."""
    k = np.asarray(camera_matrix, np.float64).reshape(3, 3)
    rotation, _ = cv2.Rodrigues(np.asarray(rvec, np.float64).reshape(3))
    t = np.asarray(tvec, np.float64).reshape(3)
    plane = k @ np.column_stack([rotation[:, 0], rotation[:, 1], t])
    if abs(np.linalg.det(plane)) < 1e-12:
        raise FloorCalibrationError("the camera sees the floor edge-on (its centre lies in the floor plane)")
    width, height = image_size
    # Floor point (X, Y) has camera depth w = third row of [r1 r2 t] (X, Y, 1) > 0 in front: the
    # inverse keeps w = 1 / depth > 0 there, the orientation to_floor expects.
    return np.asarray(np.linalg.inv(plane) @ np.diag([width, height, 1.0]), np.float64)


@dataclass(frozen=True, slots=True)
class CameraCalibration:
    """Intrinsics and extrinsics of one camera as OpenCV writes them (cv2.FileStorage XML or YAML)."""

    camera_matrix: Points
    dist_coeffs: Points
    rvec: Points
    tvec: Points
    image_size: tuple[int, int]  # (width, height) in pixels

    @property
    def homography(self) -> Points:
        """Floor mapping of undistorted picture fractions (see undistort)."""
        return homography_from_camera(self.camera_matrix, self.rvec, self.tvec, self.image_size)

    def undistort(self, points: ArrayLike) -> Points:
        """Picture fractions as a lens without distortion would have placed them, still in fractions."""
        size = np.array(self.image_size, np.float64)
        pixels = np.asarray(points, np.float64).reshape(-1, 1, 2) * size
        if len(pixels) == 0:
            return np.zeros((0, 2))
        k = self.camera_matrix
        ideal = cv2.undistortPoints(pixels, k, self.dist_coeffs, P=k)
        return np.asarray(ideal.reshape(-1, 2) / size, np.float64)

    def to_floor(self, points: ArrayLike) -> Points:
        return to_floor(self.homography, self.undistort(points))


def _matrix(storage: cv2.FileStorage, path: Path, name: str, size: int | None) -> Points | None:
    """The named matrix of a calibration file as float64 (flat where `size` is given), None if absent."""
    node = storage.getNode(name)
    value = None if node.empty() else node.mat()
    if value is None:
        return None
    array = np.asarray(value, np.float64)
    if size is not None and array.size != size:
        raise FloorCalibrationError(f"{path}: {name} must hold {size} numbers, got {array.size}")
    return array.reshape(-1)


def read_opencv_calibration(path: Path, image_size: tuple[int, int] | None = None) -> CameraCalibration:
    """camera_matrix, dist_coeffs (optional), rvec and tvec from a cv2.FileStorage file; the picture
    size from image_width and image_height in the file (as OpenCV's calibration sample writes them)
    or from `image_size`."""
    if not path.is_file():
        raise FloorCalibrationError(f"{path}: no such calibration file")
    try:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except cv2.error:
        raise FloorCalibrationError(f"{path}: not an OpenCV XML or YAML file") from None
    try:
        found = {name: _matrix(storage, path, name, size) for name, size in _CALIBRATION_MATRICES.items()}
        width, height = storage.getNode("image_width"), storage.getNode("image_height")
        if not width.empty() and not height.empty():
            image_size = (int(width.real()), int(height.real()))
    finally:
        storage.release()
    missing = [name for name in ("camera_matrix", "rvec", "tvec") if found[name] is None]
    if missing:
        raise FloorCalibrationError(f"{path}: no matrix named {', '.join(missing)}")
    if image_size is None:
        raise FloorCalibrationError(f"{path}: no image_width and image_height, and no picture size given")
    dist = found["dist_coeffs"]
    return CameraCalibration(
        np.asarray(found["camera_matrix"]).reshape(3, 3),
        np.zeros(5) if dist is None else dist,
        np.asarray(found["rvec"]),
        np.asarray(found["tvec"]),
        image_size,
    )
