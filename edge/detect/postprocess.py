"""Shared steps around a network: letterbox in, non-maximum suppression out."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.detections import Detections

Region = tuple[int, int, int, int]  # (x1, y1, x2, y2) pixels of an image that were looked at
PAD_VALUE = 114  # the grey the YOLO family was trained with
STRIDE = 32  # the network's coarsest grid: input sides must be multiples of it


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How an image was scaled and padded into the network input, to map boxes back."""

    scale: float
    pad_x: float
    pad_y: float

    def to_image(self, xy: NDArray[np.float32]) -> NDArray[np.float32]:
        """Network-input (x, y) columns, pairwise along the last axis, to image pixels."""
        out = xy.astype(np.float32, copy=True)
        out[..., 0::2] = (out[..., 0::2] - self.pad_x) / self.scale
        out[..., 1::2] = (out[..., 1::2] - self.pad_y) / self.scale
        return out


def oriented(image_hw: tuple[int, int], height: int, width: int) -> tuple[int, int]:
    """The (height, width) budget turned to the image's orientation: a portrait camera (a platform or a
    corridor seen lengthwise) gets as many pixels as a landscape one, standing up, instead of a
    landscape budget's height alone."""
    image_h, image_w = image_hw
    if (image_h > image_w and height < width) or (image_h < image_w and height > width):
        return width, height
    return height, width


def network_shape(image_hw: tuple[int, int], height: int, width: int) -> tuple[int, int]:
    """The input an image needs at most: scaled to fit the (height, width) budget turned to the
    image's orientation, sides padded up to the stride.

    A 16:9 camera in a 4:3 budget is analysed at 16:9, so no time goes into padding.
    """
    height, width = oriented(image_hw, height, width)
    scale = min(height / image_hw[0], width / image_hw[1])
    padded = [-(-round(side * scale) // STRIDE) * STRIDE for side in image_hw]  # ceil to the stride
    return min(height, padded[0]), min(width, padded[1])


# A part of a region is looked at in a strip of the region's full height and this share of its
# width: one network shape a camera besides its whole picture's (each shape holds its own buffers,
# 30-45 MiB here), upright as the people a window is grown around. A part wider than that is no
# saving worth a look of its own: the whole region is looked at.
PART_WIDTH = 0.5


def _widened(low: int, high: int, size: int, start: int, end: int) -> tuple[int, int]:
    """[low, high) grown around its middle to `size` (never shrunk) within [start, end)."""
    size = min(max(size, high - low), end - start)
    low = min(max(start, (low + high - size) // 2), end - size)
    return low, low + size


def fits_part(region: Region, part: Region) -> bool:
    """Whether `part` of `region` is looked at on its own: at most PART_WIDTH of the region's width."""
    return part[2] - part[0] <= PART_WIDTH * (region[2] - region[0])


def part_look(region: Region, part: Region, height: int, width: int) -> tuple[Region, tuple[int, int]]:
    """What to look at for a `part` of `region` that fits_part, and the network input for it: the
    region's input (from the (height, width) budget) cut to PART_WIDTH of its width, rounded up to
    the stride; the part widened to the region's full height and around its middle to fill that
    width at the region's scale (context for people at its edge)."""
    rx1, ry1, rx2, ry2 = region
    full_h, full_w = network_shape((ry2 - ry1, rx2 - rx1), height, width)
    scale = min(full_h / (ry2 - ry1), full_w / (rx2 - rx1))
    part_w = min(full_w, -(-round(full_w * PART_WIDTH) // STRIDE) * STRIDE)
    x1, x2 = _widened(part[0], part[2], int(part_w / scale), rx1, rx2)
    return (x1, ry1, x2, ry2), (full_h, part_w)


def letterbox(image: NDArray[np.uint8], height: int, width: int) -> tuple[NDArray[np.uint8], Letterbox]:
    """Resize keeping the aspect ratio, pad to (height, width) around the centre."""
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    new_w, new_h = round(w * scale), round(h * scale)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    canvas = np.full((height, width, 3), PAD_VALUE, np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return canvas, Letterbox(scale, pad_x, pad_y)


def faint_and_large(
    heights_px: NDArray[np.float32], confidence: NDArray[np.float32], large_px: int | None, needed: float
) -> NDArray[np.bool_]:
    """Boxes taller than `large_px` network-input pixels that score under `needed`.

    The model scores small, distant people low, which is why the threshold is low; a person large
    in its input is seen clearly and scores high. A large box with a faint score is a shape of the
    room (a door frame, the edge of a wall) that would count as someone for as long as it is there.
    """
    if large_px is None:
        return np.zeros(len(confidence), bool)
    return np.asarray((heights_px > large_px) & (confidence < needed))


def nms(detections: Detections, iou: float) -> Detections:
    """Keep the most confident of boxes that overlap more than `iou` (one class: person)."""
    if len(detections) < 2:
        return detections
    xyxy = detections.xyxy
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    kept = cv2.dnn.NMSBoxes(xywh.tolist(), detections.confidence.tolist(), 0.0, iou)
    return detections.select(np.sort(np.asarray(kept, dtype=np.int64).reshape(-1)))


FACE_KEYPOINTS = slice(0, 5)  # the pose model's nose, eyes and ears (COCO order)
FACE_POINTS_NEEDED = 3  # of those five, seen at FACE_POINT_SEEN or more
FACE_POINT_SEEN = 0.7
SAME_FACE = 0.1  # faces closer than this share of the box's height (about a face's width): one face


def faces(keypoints: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Per box: the mean (x, y) of its clearly seen face keypoints, and how many were seen."""
    face = keypoints[:, FACE_KEYPOINTS]
    seen = face[..., 2] >= FACE_POINT_SEEN
    count = seen.sum(axis=1)
    centre = (face[..., :2] * seen[..., None]).sum(axis=1) / np.maximum(count, 1)[:, None]
    return centre.astype(np.float32), count.astype(np.int64)


def sure_or_face_seen(detections: Detections, sure: float) -> Detections:
    """Boxes scoring at least `sure`, and fainter ones whose face the model sees clearly (three of
    its five face keypoints), unless a kept box already has that face.

    In a crowd seen from above, the people between others show a face and shoulders and little
    else; the network scores them faintly, below the threshold that keeps shadows and shapes of the
    room out of an empty scene. A clearly seen face is evidence of a person that a shadow, a text
    strip or a door frame does not give. The same face twice is one person seen in two boxes (a box
    inside a person's box), while two people standing behind each other have two faces, so they
    are both kept even where their boxes overlap.
    """
    if detections.keypoints is None:
        return detections.select(detections.confidence >= sure)
    centre, seen = faces(detections.keypoints)
    heights = detections.xyxy[:, 3] - detections.xyxy[:, 1]
    kept: list[int] = []
    for i in np.argsort(-detections.confidence, kind="stable").tolist():
        if detections.confidence[i] < sure:
            if seen[i] < FACE_POINTS_NEEDED:
                continue
            with_face = [k for k in kept if seen[k] > 0]
            distance = np.linalg.norm(centre[with_face] - centre[i], axis=1)
            if (distance < SAME_FACE * heights[i]).any():
                continue
        kept.append(i)
    return detections.select(np.sort(np.asarray(kept, np.int64)))


MIN_BOX_SIDE_PX = 1.0


def clip_to_region(detections: Detections, region: Region) -> Detections:
    """Boxes cut to the (x1, y1, x2, y2) pixels that were looked at (letterbox padding is not image);
    a box left thinner than a pixel lay outside them and is no person."""
    x1, y1, x2, y2 = region
    xyxy = np.clip(detections.xyxy, [x1, y1, x1, y1], [x2, y2, x2, y2]).astype(np.float32)
    clipped = Detections(xyxy, detections.confidence, detections.keypoints, detections.track_id)
    sides = xyxy[:, 2:] - xyxy[:, :2]
    return clipped.select(np.asarray((sides >= MIN_BOX_SIDE_PX).all(axis=1)))


EDGE_MARGIN_PX = 2.0  # a box this close to an edge of the picture is cut by it


def overlapping(xyxy: NDArray[np.float32], x1: float, y1: float, x2: float, y2: float) -> NDArray[np.bool_]:
    """Which boxes share some area with the rectangle."""
    return (xyxy[:, 0] < x2) & (xyxy[:, 2] > x1) & (xyxy[:, 1] < y2) & (xyxy[:, 3] > y1)


def touches(
    xyxy: NDArray[np.float32],
    left: float | None = None,
    top: float | None = None,
    right: float | None = None,
    bottom: float | None = None,
) -> NDArray[np.bool_]:
    """Boxes reaching any of the given edges (x of left and right, y of top and bottom)."""
    hit = np.zeros(len(xyxy), bool)
    if left is not None:
        hit |= xyxy[:, 0] <= left + EDGE_MARGIN_PX
    if top is not None:
        hit |= xyxy[:, 1] <= top + EDGE_MARGIN_PX
    if right is not None:
        hit |= xyxy[:, 2] >= right - EDGE_MARGIN_PX
    if bottom is not None:
        hit |= xyxy[:, 3] >= bottom - EDGE_MARGIN_PX
    return hit


def cut_by_inner_edge(detections: Detections, part: Region, region: Region) -> NDArray[np.bool_]:
    """Boxes touching an edge of `part` (of `region`) that lies inside the region: the person
    continues beyond the part."""
    px1, py1, px2, py2 = part
    rx1, ry1, rx2, ry2 = region
    return touches(
        detections.xyxy,
        left=px1 if px1 > rx1 else None,
        top=py1 if py1 > ry1 else None,
        right=px2 if px2 < rx2 else None,
        bottom=py2 if py2 < ry2 else None,
    )


def drop_inside_surer(detections: Detections, candidates: NDArray[np.bool_], inside: float) -> Detections:
    """Drop the `candidates` that lie at least `inside` of their area within a more confident kept box."""
    if len(detections) < 2 or not candidates.any():
        return detections
    boxes = detections.xyxy
    areas = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-6)
    kept: list[int] = []
    for i in np.argsort(-detections.confidence, kind="stable").tolist():
        if candidates[i] and kept:
            others = boxes[kept]
            width = np.minimum(others[:, 2], boxes[i, 2]) - np.maximum(others[:, 0], boxes[i, 0])
            height = np.minimum(others[:, 3], boxes[i, 3]) - np.maximum(others[:, 1], boxes[i, 1])
            if (np.clip(width, 0, None) * np.clip(height, 0, None) >= inside * areas[i]).any():
                continue
        kept.append(i)
    return detections.select(np.sort(np.asarray(kept, np.int64)))


def drop_edge_fragments(detections: Detections, region: Region, inside: float) -> Detections:
    """Drop boxes on the region's edge that lie at least `inside` of their area within a more
    confident kept box.

    Someone walking in or out is cut by the edge of the picture; the network then scores the visible
    body and, faintly, pieces of it (a leg, an arm) that NMS keeps, since a small box inside a big
    one overlaps it little. One person near the camera would count as two or three.
    """
    return drop_inside_surer(detections, touches(detections.xyxy, *region), inside)


def drop_quiet_duplicates(
    detections: Detections, sure: float, crowd: int, below: float, inside: float, elsewhere: int = 0
) -> Detections:
    """In a frame with fewer than `crowd` boxes scoring `sure` or more, drop boxes scoring under
    `below` that lie at least `inside` of their area within a more confident kept box. `elsewhere`:
    sure people the frame holds outside `detections` (where only a part of it was looked at).

    A person with room around them is often seen twice: whole, and faintly in a box around part of
    them or around them and a neighbour (most of a quiet platform's people counted too many,
    README "Crowds"). In a crowd the same geometry is someone standing behind another, of whom only
    a part shows: there the rule stays off, and the crowd is counted as before.
    """
    if int((detections.confidence >= sure).sum()) + elsewhere >= crowd:
        return detections
    return drop_inside_surer(detections, detections.confidence < below, inside)
