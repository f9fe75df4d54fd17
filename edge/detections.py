"""The one value that flows between detector, tracker and zones: people found in one frame."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

# COCO keypoint order used by YOLO pose models.
LEFT_ANKLE, RIGHT_ANKLE = 15, 16
KEYPOINT_VISIBLE = 0.5


class Anchor(StrEnum):
    """The point of a person that decides which zone they are in."""

    BOX_BOTTOM = "box_bottom"
    FEET = "feet"
    BOX_CENTER = "box_center"


def _frozen(array: NDArray[Any], dtype: type) -> NDArray[Any]:
    out: NDArray[Any] = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True)
class Detections:
    """Parallel arrays, one row per person; read-only, a stage returns a new value.

    xyxy: (N, 4) float32 pixel box corners; confidence: (N,) float32;
    keypoints: (N, K, 3) float32 x, y, visibility, or None;
    track_id: (N,) int64, -1 where a detection has no confirmed track, or None before tracking.
    """

    xyxy: NDArray[np.float32]
    confidence: NDArray[np.float32]
    keypoints: NDArray[np.float32] | None = None
    track_id: NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        xyxy = _frozen(self.xyxy, np.float32)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must have shape (N, 4), got {xyxy.shape}")
        n = len(xyxy)
        confidence = _frozen(self.confidence, np.float32)
        if confidence.shape != (n,):
            raise ValueError(f"confidence must have shape ({n},), got {confidence.shape}")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", confidence)
        if self.keypoints is not None:
            keypoints = _frozen(self.keypoints, np.float32)
            if keypoints.ndim != 3 or keypoints.shape[0] != n or keypoints.shape[2] != 3:
                raise ValueError(f"keypoints must have shape ({n}, K, 3), got {keypoints.shape}")
            object.__setattr__(self, "keypoints", keypoints)
        if self.track_id is not None:
            track_id = _frozen(self.track_id, np.int64)
            if track_id.shape != (n,):
                raise ValueError(f"track_id must have shape ({n},), got {track_id.shape}")
            object.__setattr__(self, "track_id", track_id)

    @classmethod
    def empty(cls, keypoint_count: int | None = None) -> Detections:
        keypoints = None if keypoint_count is None else np.zeros((0, keypoint_count, 3), np.float32)
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), keypoints)

    def __len__(self) -> int:
        return len(self.xyxy)

    def select(self, index: NDArray[np.bool_] | NDArray[np.integer]) -> Detections:
        """Rows picked by a boolean mask or an index array."""
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            None if self.keypoints is None else self.keypoints[index],
            None if self.track_id is None else self.track_id[index],
        )

    def with_track_ids(self, track_id: NDArray[np.integer]) -> Detections:
        return Detections(self.xyxy, self.confidence, self.keypoints, np.asarray(track_id))

    def shifted(self, dx: float, dy: float) -> Detections:
        """The same people in a frame whose origin lies (dx, dy) further up-left (crop to frame)."""
        offset = np.array([dx, dy, dx, dy], np.float32)
        keypoints = None
        if self.keypoints is not None:
            keypoints = self.keypoints.copy()
            keypoints[..., 0] += dx
            keypoints[..., 1] += dy
        return Detections(self.xyxy + offset, self.confidence, keypoints, self.track_id)

    @staticmethod
    def concatenate(parts: list[Detections]) -> Detections:
        if not parts:
            return Detections.empty()
        with_keypoints = all(p.keypoints is not None for p in parts)
        with_ids = all(p.track_id is not None for p in parts)
        return Detections(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.keypoints for p in parts]) if with_keypoints else None,
            np.concatenate([p.track_id for p in parts]) if with_ids else None,
        )

    def anchors(self, anchor: Anchor) -> NDArray[np.float32]:
        """(N, 2) pixel points that decide zone membership.

        FEET is the midpoint of the visible ankles where the model saw them, else the box bottom:
        a box cut off by a chair or a bench has a bottom edge far above the feet.
        """
        x1, y1, x2, y2 = self.xyxy.T
        if anchor is Anchor.BOX_CENTER:
            return np.stack([(x1 + x2) / 2, (y1 + y2) / 2], axis=1)
        points = np.stack([(x1 + x2) / 2, y2], axis=1)
        if anchor is Anchor.FEET and self.keypoints is not None and self.keypoints.shape[1] > RIGHT_ANKLE:
            ankles = self.keypoints[:, [LEFT_ANKLE, RIGHT_ANKLE], :]
            visible = ankles[..., 2] >= KEYPOINT_VISIBLE
            count = visible.sum(axis=1)
            seen = count > 0
            summed = (ankles[..., :2] * visible[..., None]).sum(axis=1)
            points[seen] = summed[seen] / count[seen, None]
        return points.astype(np.float32)


def box_iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """(len(a), len(b)) intersection over union of boxes x1, y1, x2, y2."""
    low = np.maximum(a[:, None, :2], b[None, :, :2])
    high = np.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap = np.clip(high - low, 0, None).prod(axis=2)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - overlap
    with np.errstate(divide="ignore", invalid="ignore"):
        result: NDArray[np.float64] = np.where(union > 0, overlap / union, 0.0)
    return result
