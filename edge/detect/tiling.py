"""Look at overlapping tiles at native resolution, so that small, distant people are seen."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edge.config import QuietDuplicatesConfig, TilingConfig
from edge.detect.base import Detector, whole_images
from edge.detect.postprocess import (
    Region,
    clip_to_region,
    cut_by_inner_edge,
    drop_quiet_duplicates,
    nms,
    overlapping,
)
from edge.detections import Detections


def tile_regions(region: Region, rows: int, cols: int, overlap: float) -> list[Region]:
    """rows x cols windows covering `region`, neighbours sharing `overlap` of a tile's size."""
    x1, y1, x2, y2 = region
    tile_w = (x2 - x1) / (cols - (cols - 1) * overlap)
    tile_h = (y2 - y1) / (rows - (rows - 1) * overlap)
    tiles = []
    for r in range(rows):
        for c in range(cols):
            left = x1 + c * tile_w * (1 - overlap)
            top = y1 + r * tile_h * (1 - overlap)
            tiles.append(
                (round(left), round(top), min(x2, round(left + tile_w)), min(y2, round(top + tile_h)))
            )
    return tiles


class TiledDetector:
    """Runs a backend on tiles of each region (and the whole region), merged by NMS in one batch.

    A box cut by an inner tile edge belongs to someone the whole-region pass or the neighbouring
    tile sees entire; keeping it would count a person near the camera twice, so it is dropped
    whenever a whole-region pass runs.
    """

    def __init__(
        self,
        backend: Detector,
        tiling: TilingConfig,
        nms_iou: float,
        quiet: QuietDuplicatesConfig | None = None,
        sure: float = 1.0,
    ) -> None:
        """`quiet`: the quiet-frame rule, applied to each whole region's merged boxes (the backend
        runs without it: a tile of a crowd holds few sure people); `sure`: the score it counts as a
        sure person (the detector's `confidence`)."""
        self.backend = backend
        self.tiling = tiling
        self.nms_iou = nms_iou
        self.quiet = quiet
        self.sure = sure
        self.info = backend.info

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([image])[0]

    def detect_part(
        self, image: NDArray[np.uint8], region: Region, part: Region, standing: Detections | None = None
    ) -> Detections:
        """Tiles are laid over the whole region, so a part costs a whole look (which sees everyone:
        `standing` is not needed)."""
        found = self.detect_batch([image], [region])[0]
        return clip_to_region(found.select(overlapping(found.xyxy, *part)), part)

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[Region] | None = None
    ) -> list[Detections]:
        regions = regions or whole_images(images)
        t = self.tiling
        jobs: list[tuple[int, Region, Region | None]] = []  # image index, window, tile (None: whole)
        for i, region in enumerate(regions):
            if t.full_frame:
                jobs.append((i, region, None))
            jobs.extend((i, tile, tile) for tile in tile_regions(region, t.rows, t.cols, t.overlap))
        found = self.backend.detect_batch([images[i] for i, _, _ in jobs], [w for _, w, _ in jobs])
        per_image: list[list[Detections]] = [[] for _ in images]
        for (i, _, tile), detections in zip(jobs, found, strict=True):
            if tile is not None and t.full_frame:
                detections = detections.select(~cut_by_inner_edge(detections, tile, regions[i]))
            per_image[i].append(detections)
        merged = [nms(Detections.concatenate(parts), self.nms_iou) for parts in per_image]
        if (quiet := self.quiet) is None:
            return merged
        return [
            drop_quiet_duplicates(found, self.sure, quiet.crowd, quiet.below, quiet.inside)
            for found in merged
        ]
