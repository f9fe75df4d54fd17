"""Person detectors: model verification, letterbox, NMS, parts of the picture, the real backends."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

import edge.detect.openvino
from edge.config import (
    INT8_MODEL_NAME,
    ConfigError,
    DetectorSettings,
    OnnxDetectorConfig,
    OpenvinoDetectorConfig,
    UltralyticsDetectorConfig,
    parse_config,
)
from edge.detect import ModelError, build_detector, verify_model
from edge.detect.base import Detector
from edge.detect.exported import ExportedPoseModel
from edge.detect.model import ModelManifest
from edge.detect.openvino import (
    ISA_LIMITS_WITHOUT_BF16,
    OpenvinoDetector,
    PrecisionChoice,
    auto_precision,
    choose_precision,
    import_openvino,
    native_bf16,
    time_precisions,
    time_precisions_apart,
)
from edge.detect.postprocess import (
    PAD_VALUE,
    PART_WIDTH,
    STRIDE,
    Region,
    clip_to_region,
    cut_by_inner_edge,
    drop_edge_fragments,
    drop_quiet_duplicates,
    faint_and_large,
    fits_part,
    letterbox,
    network_shape,
    nms,
    oriented,
    part_look,
    sure_or_face_seen,
)
from edge.detections import Detections
from tests.conftest import MODEL, REPO, ZONE_ALL, last_json, make_detections, need, need_module, run_python


def _sorted_boxes(detections: Detections) -> list[list[float]]:
    return sorted(detections.xyxy.tolist())


Box = tuple[float, float, float, float]
PT_MODEL = REPO / "models" / "yolo11n-pose.pt"
INT8_MODEL = REPO / "models" / INT8_MODEL_NAME
DEMO_FRAMES = (0, 300)
KEYPOINTS = 17


def iou_matrix(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float64]:
    """(len(a), len(b)) intersection over union of xyxy boxes."""
    a64, b64 = a.astype(np.float64)[:, None, :], b.astype(np.float64)[None, :, :]
    width = np.clip(np.minimum(a64[..., 2], b64[..., 2]) - np.maximum(a64[..., 0], b64[..., 0]), 0, None)
    height = np.clip(np.minimum(a64[..., 3], b64[..., 3]) - np.maximum(a64[..., 1], b64[..., 1]), 0, None)
    inter = width * height
    area_a = (a64[..., 2] - a64[..., 0]) * (a64[..., 3] - a64[..., 1])
    area_b = (b64[..., 2] - b64[..., 0]) * (b64[..., 3] - b64[..., 1])
    return np.asarray(inter / np.maximum(area_a + area_b - inter, 1e-9), np.float64)


def matched_pairs(a: NDArray[np.float32], b: NDArray[np.float32]) -> list[tuple[int, int, float]]:
    """(index in a, index in b, IoU) of greedily matched boxes, best first; min(len(a), len(b)) pairs."""
    ious = iou_matrix(a, b)
    pairs: list[tuple[int, int, float]] = []
    while ious.size and len(pairs) < min(len(a), len(b)):
        i, j = np.unravel_index(int(np.argmax(ious)), ious.shape)
        pairs.append((int(i), int(j), float(ious[i, j])))
        ious[i, :] = -1.0
        ious[:, j] = -1.0
    return pairs


def matched_ious(a: NDArray[np.float32], b: NDArray[np.float32]) -> list[float]:
    return [iou for _, _, iou in matched_pairs(a, b)]


# --- verify_model ------------------------------------------------------------------------------


def test_the_shipped_model_passes_and_reports_its_manifest_sha() -> None:
    manifest = json.loads(MODEL.with_name(MODEL.name + ".manifest.json").read_text(encoding="utf-8"))

    verified = verify_model(MODEL)

    assert verified.sha256 == manifest["sha256"]
    assert verified.name == "yolo11n-pose"


def _copy_model(tmp_path: Path, manifest: str | None) -> Path:
    """The shipped model in tmp_path; its manifest as shipped ("as is"), rewritten, or left out (None)."""
    model = tmp_path / MODEL.name
    shutil.copyfile(MODEL, model)
    manifest_file = model.with_name(model.name + ".manifest.json")
    if manifest == "as is":
        shutil.copyfile(MODEL.with_name(MODEL.name + ".manifest.json"), manifest_file)
    elif manifest is not None:
        manifest_file.write_text(manifest, encoding="utf-8")
    return model


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing file", r"model file .*nothing\.onnx does not exist"),
        ("missing manifest", r"model manifest .*yolo11n-pose\.onnx\.manifest\.json is missing or unreadable"),
        ("manifest without sha256", r"manifest .* is missing or unreadable \('sha256'\)"),
        ("manifest not json", r"manifest .* is missing or unreadable"),
        ("tampered file", r"has sha256 [0-9a-f]{64}, but its manifest expects [0-9a-f]{64}: .*changed"),
    ],
)
def test_a_model_that_must_not_run_is_refused_naming_the_problem(
    tmp_path: Path, case: str, message: str
) -> None:
    if case == "missing file":
        model = tmp_path / "nothing.onnx"
    elif case == "missing manifest":
        model = _copy_model(tmp_path, None)
    elif case == "manifest without sha256":
        model = _copy_model(tmp_path, json.dumps({"name": "yolo11n-pose", "licence": "AGPL-3.0"}))
    elif case == "manifest not json":
        model = _copy_model(tmp_path, "sha256: not json")
    else:
        model = _copy_model(tmp_path, "as is")
        _flip_byte(model, model.stat().st_size // 2)

    with pytest.raises(ModelError, match=message):
        verify_model(model)


def test_a_tampered_model_is_refused_before_a_backend_loads_it(tmp_path: Path) -> None:
    model = _copy_model(tmp_path, "as is")
    verify_model(model)  # the untouched copy passes
    _flip_byte(model, 0)

    with pytest.raises(ModelError, match="changed or replaced"):
        build_detector(OpenvinoDetectorConfig(model=model))


# --- letterbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_hw", "input_hw"),
    [
        ((576, 768), (960, 1280)),  # landscape, upscaled, exact fit
        ((576, 768), (640, 640)),  # landscape into a square: padded top and bottom
        ((800, 400), (640, 640)),  # portrait: padded left and right
        ((500, 500), (320, 640)),  # square into a wide input
        ((100, 150), (640, 640)),  # strong upscaling
        ((2000, 3000), (320, 320)),  # strong downscaling
        ((577, 769), (480, 640)),  # odd sizes
    ],
    ids=["exact", "landscape", "portrait", "square", "upscale", "downscale", "odd"],
)
def test_letterbox_and_to_image_round_trip(image_hw: tuple[int, int], input_hw: tuple[int, int]) -> None:
    h, w = image_hw
    image = np.zeros((h, w, 3), np.uint8)
    half = max(h, w) // 20
    centres = [(0.3 * w, 0.25 * h), (0.75 * w, 0.7 * h)]
    for cx, cy in centres:
        image[round(cy) - half : round(cy) + half, round(cx) - half : round(cx) + half] = 255

    canvas, box = letterbox(image, *input_hw)

    assert canvas.shape == (*input_hw, 3)
    # the image is centred, the rest is the training grey
    new_w, new_h = round(w * box.scale), round(h * box.scale)
    assert abs((input_hw[1] - new_w) - 2 * box.pad_x) <= 1
    assert abs((input_hw[0] - new_h) - 2 * box.pad_y) <= 1
    content = np.zeros(input_hw, bool)
    content[int(box.pad_y) : int(box.pad_y) + new_h, int(box.pad_x) : int(box.pad_x) + new_w] = True
    assert (canvas[~content] == PAD_VALUE).all()
    # the image corners map back to the image corners
    corners = np.array(
        [[box.pad_x, box.pad_y, box.pad_x + new_w, box.pad_y + new_h]], np.float32
    )  # network input, continuous coordinates
    tolerance = max(1.0, 1.0 / box.scale)  # one pixel in the coarser of the two images
    np.testing.assert_allclose(box.to_image(corners), [[0, 0, w, h]], atol=tolerance)
    # each marker, found in the network input, maps back to where it was drawn
    grey = canvas[..., 0].astype(np.float64) * content
    for cx, cy in centres:
        x_net, y_net = box.pad_x + cx * box.scale, box.pad_y + cy * box.scale
        reach = 2 * half * box.scale + 2
        ys, xs = np.mgrid[: input_hw[0], : input_hw[1]]
        near = (abs(xs + 0.5 - x_net) < reach) & (abs(ys + 0.5 - y_net) < reach)
        weight = grey * near
        found = np.array(
            [[(weight * (xs + 0.5)).sum() / weight.sum(), (weight * (ys + 0.5)).sum() / weight.sum()]],
            np.float32,
        )
        drawn = [round(cx), round(cy)]  # the square's centre in continuous pixel coordinates
        np.testing.assert_allclose(box.to_image(found)[0], drawn, atol=tolerance)


def test_to_image_maps_every_pair_of_a_keypoint_array() -> None:
    _, box = letterbox(np.zeros((576, 768, 3), np.uint8), 640, 640)
    points = np.array([[[box.pad_x, box.pad_y, 0.9], [box.pad_x + 320, box.pad_y + 240, 0.5]]], np.float32)

    mapped = points.copy()
    mapped[..., :2] = box.to_image(points[..., :2])

    np.testing.assert_allclose(mapped[0, :, :2], [[0, 0], [384, 288]], atol=1e-3)
    np.testing.assert_array_equal(mapped[..., 2], points[..., 2])  # visibility untouched


@pytest.mark.parametrize(
    ("image_hw", "expected"),
    [
        ((576, 768), (1088, 1440)),  # 4:3 fills the default budget (1080 rows, padded to 1088)
        ((480, 640), (1088, 1440)),
        ((1080, 1920), (832, 1440)),  # 16:9: 810 rows, padded to 832, not to 1088
        ((1920, 1080), (1440, 832)),  # portrait: the budget turned, 810 columns padded to 832
        ((640, 360), (1440, 832)),  # a portrait platform camera: scaled 2.25, not 1.7
        ((500, 500), (1088, 1088)),
        ((7, 3000), (32, 1440)),  # a sliver still gets one stride of rows
    ],
    ids=["pets", "mall", "16:9", "portrait", "portrait-small", "square", "sliver"],
)
def test_network_shape_pads_the_scaled_image_only_up_to_the_stride(
    image_hw: tuple[int, int], expected: tuple[int, int]
) -> None:
    shape = network_shape(image_hw, 1088, 1440)

    assert shape == expected
    budget = (1440, 1088) if image_hw[0] > image_hw[1] else (1088, 1440)  # turned for portrait
    scale = min(budget[0] / image_hw[0], budget[1] / image_hw[1])
    for side, image_side in zip(shape, image_hw, strict=True):
        assert side % STRIDE == 0
        assert round(image_side * scale) <= side < round(image_side * scale) + STRIDE


@pytest.mark.parametrize(
    ("region", "part"),
    [
        ((0, 0, 768, 576), (300, 200, 420, 400)),  # PETS: a person in the middle
        ((0, 0, 768, 576), (0, 0, 50, 60)),  # in a corner: widened inwards only
        ((0, 0, 768, 576), (700, 500, 768, 576)),
        ((0, 0, 768, 576), (0, 0, 384, 576)),  # as wide as a part may be
        ((0, 0, 360, 640), (100, 300, 250, 420)),  # portrait: the budget turned
        ((200, 100, 600, 400), (250, 150, 300, 250)),  # a region (zones): its own scale
    ],
    ids=["middle", "top-left", "bottom-right", "widest", "portrait", "zones-region"],
)
def test_a_part_is_looked_at_in_an_upright_strip_at_the_regions_scale(region: Region, part: Region) -> None:
    looked, (height, width) = part_look(region, part, 1088, 1440)

    rx1, ry1, rx2, ry2 = region
    full_h, full_w = network_shape((ry2 - ry1, rx2 - rx1), 1088, 1440)
    scale = min(full_h / (ry2 - ry1), full_w / (rx2 - rx1))
    lx1, ly1, lx2, ly2 = looked
    assert (ly1, ly2) == (ry1, ry2)  # the region's whole height
    assert rx1 <= lx1 <= part[0] and part[2] <= lx2 <= rx2  # the part, widened within the region
    # one shape for every part of the region: its input's height, PART_WIDTH of its width
    assert height == full_h and width % STRIDE == 0
    assert full_w * PART_WIDTH <= width < full_w * PART_WIDTH + STRIDE
    # what is looked at fills the input at the region's scale
    assert min(height / (ly2 - ly1), width / (lx2 - lx1)) == pytest.approx(scale, rel=0.02)
    assert fits_part(region, part)


@pytest.mark.parametrize(
    ("part", "fits"),
    [
        ((10, 10, 20, 20), True),
        ((0, 0, 384, 576), True),  # half the width, all of the height
        ((384, 100, 768, 200), True),
        ((0, 0, 385, 50), False),
        ((100, 100, 600, 120), False),
    ],
)
def test_a_part_is_looked_at_alone_when_it_is_at_most_half_as_wide(part: Region, fits: bool) -> None:
    assert PART_WIDTH == 0.5
    assert fits_part((0, 0, 768, 576), part) == fits


@pytest.mark.parametrize(
    ("image_hw", "budget", "expected"),
    [
        ((576, 768), (1088, 1440), (1088, 1440)),  # landscape in a landscape budget: as is
        ((640, 360), (1088, 1440), (1440, 1088)),  # portrait: turned
        ((768, 576), (1440, 1088), (1440, 1088)),  # portrait in a portrait budget: as is
        ((576, 768), (1440, 1088), (1088, 1440)),  # landscape in a portrait budget: turned
        ((500, 500), (1088, 1440), (1088, 1440)),  # square images keep the budget
        ((640, 360), (1024, 1024), (1024, 1024)),  # a square budget has no orientation
    ],
)
def test_the_budget_turns_with_the_image(
    image_hw: tuple[int, int], budget: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert oriented(image_hw, *budget) == expected


# --- nms and clip_to_region --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("boxes", "confidence", "kept"),
    [
        ([], [], []),
        ([(10, 10, 50, 100)], [0.4], [0]),
        ([(10, 10, 50, 100), (12, 12, 52, 102)], [0.5, 0.9], [1]),
        ([(10, 10, 50, 100), (12, 12, 52, 102)], [0.9, 0.5], [0]),
        ([(10, 10, 50, 100), (200, 10, 240, 100)], [0.5, 0.9], [0, 1]),
        # two clusters and a loner: the best of each cluster, in input order
        (
            [(0, 0, 10, 10), (300, 0, 340, 80), (1, 1, 11, 11), (100, 100, 120, 140), (302, 1, 341, 81)],
            [0.3, 0.6, 0.8, 0.5, 0.7],
            [2, 3, 4],
        ),
    ],
    ids=["empty", "single", "overlap-second-wins", "overlap-first-wins", "disjoint", "clusters"],
)
def test_nms_keeps_the_most_confident_of_overlapping_boxes(
    boxes: list[Box], confidence: list[float], kept: list[int]
) -> None:
    n = len(boxes)
    keypoints = np.arange(n * KEYPOINTS * 3, dtype=np.float32).reshape(n, KEYPOINTS, 3)
    detections = Detections(
        np.asarray(boxes, np.float32).reshape(-1, 4),
        np.asarray(confidence, np.float32),
        keypoints,
        np.arange(n, dtype=np.int64) + 7,
    )

    out = nms(detections, 0.5)

    expected = detections.select(np.asarray(kept, np.int64))
    np.testing.assert_array_equal(out.xyxy, expected.xyxy)
    np.testing.assert_array_equal(out.confidence, expected.confidence)
    assert out.keypoints is not None and expected.keypoints is not None
    np.testing.assert_array_equal(out.keypoints, expected.keypoints)
    assert out.track_id is not None
    assert out.track_id.tolist() == [k + 7 for k in kept]


@pytest.mark.parametrize(
    ("iou", "kept"),
    [(0.3, 1), (0.4, 2), (0.7, 2)],
)
def test_nms_merges_only_boxes_overlapping_more_than_the_threshold(iou: float, kept: int) -> None:
    # IoU 1/3, with fractional corners (they must not be rounded to whole pixels)
    detections = make_detections([(0.0, 0.0, 1.0, 1.0), (0.5, 0.0, 1.5, 1.0)], [0.9, 0.8])

    assert len(nms(detections, iou)) == kept


@pytest.mark.parametrize(
    ("boxes", "region", "expected"),
    [
        ([], (0, 0, 100, 100), []),
        ([(10, 10, 50, 90)], (0, 0, 100, 100), [(10, 10, 50, 90)]),
        ([(-5, -3, 50, 120)], (0, 0, 100, 100), [(0, 0, 50, 100)]),
        ([(180, 40, 420, 90)], (200, 50, 400, 300), [(200, 50, 400, 90)]),
        (
            [(210, 60, 250, 100), (150, 0, 230, 500)],
            (200, 50, 400, 300),
            [(210, 60, 250, 100), (200, 50, 230, 300)],
        ),
    ],
    ids=["empty", "inside", "over-the-image-edge", "offset-region", "two"],
)
def test_clip_to_region_cuts_boxes_to_the_region(
    boxes: list[Box], region: Region, expected: list[Box]
) -> None:
    n = len(boxes)
    keypoints = np.full((n, KEYPOINTS, 3), 5.0, np.float32)
    detections = Detections(
        np.asarray(boxes, np.float32).reshape(-1, 4),
        np.linspace(0.1, 0.9, n, dtype=np.float32),
        keypoints,
        np.arange(n, dtype=np.int64),
    )

    out = clip_to_region(detections, region)

    np.testing.assert_array_equal(out.xyxy, np.asarray(expected, np.float32).reshape(-1, 4))
    np.testing.assert_array_equal(out.confidence, detections.confidence)
    assert out.keypoints is not None and out.track_id is not None
    np.testing.assert_array_equal(out.keypoints, keypoints)
    np.testing.assert_array_equal(out.track_id, np.arange(n))


EDGE_REGION: Region = (0, 0, 640, 480)
PERSON_AT_EDGE: Box = (560.0, 100.0, 640.0, 400.0)  # walking in on the right, cut by the frame


@pytest.mark.parametrize(
    ("other", "other_confidence", "fragment"),
    [
        ((600.0, 250.0, 640.0, 400.0), 0.05, True),  # a leg on the edge, inside the person
        ((600.0, 250.0, 640.0, 400.0), 0.9, False),  # more confident than the person: not its piece
        ((580.0, 250.0, 620.0, 400.0), 0.05, False),  # inside, but off the edge: someone in front
        ((600.0, 20.0, 640.0, 420.0), 0.05, False),  # on the edge, sticking out: 75 % inside
        ((520.0, 100.0, 640.0, 400.0), 0.05, False),  # on the edge, a third outside: a neighbour
    ],
    ids=["fragment", "more-confident", "off-the-edge", "sticking-out", "neighbour"],
)
def test_a_faint_box_on_the_edge_inside_a_person_is_a_fragment_of_them(
    other: Box, other_confidence: float, fragment: bool
) -> None:
    people = make_detections([PERSON_AT_EDGE, other], [0.6, other_confidence])

    found = drop_edge_fragments(people, EDGE_REGION, inside=0.8)

    assert _sorted_boxes(found) == sorted([list(PERSON_AT_EDGE)] + ([] if fragment else [list(other)]))


def test_the_edge_is_the_edge_of_the_region_looked_at() -> None:
    leg = (300.0, 250.0, 340.0, 400.0)
    people = make_detections([(260.0, 100.0, 340.0, 400.0), leg], [0.6, 0.05])

    assert len(drop_edge_fragments(people, (0, 0, 640, 480), inside=0.8)) == 2  # mid-frame: kept
    assert len(drop_edge_fragments(people, (0, 0, 340, 480), inside=0.8)) == 1  # the region ends at x=340


ALONE = (100.0, 100.0, 160.0, 300.0)  # a person with room around them, seen clearly
CROWD_BOXES = [(200.0 + 70 * i, 100.0, 260.0 + 70 * i, 300.0) for i in range(9)]  # 9 sure people apart


@pytest.mark.parametrize(
    ("second", "confidence", "others", "dropped"),
    [
        ((110.0, 120.0, 160.0, 250.0), 0.05, 0, True),  # a faint box around part of them: them twice
        ((110.0, 120.0, 160.0, 250.0), 0.05, 7, True),  # 9 boxes at 0.04 or more: still a quiet frame
        ((110.0, 120.0, 160.0, 250.0), 0.05, 8, False),  # 10: a crowd, where it is someone behind
        ((110.0, 120.0, 160.0, 250.0), 0.2, 0, False),  # above `below`: someone else
        ((115.0, 100.0, 175.0, 300.0), 0.05, 0, True),  # three quarters inside: them
        ((124.0, 100.0, 184.0, 300.0), 0.05, 0, False),  # 60 % inside: a neighbour close by
        ((40.0, 80.0, 180.0, 320.0), 0.05, 0, False),  # around them and more: not inside them
    ],
    ids=[
        "part-of-them",
        "nine-boxes",
        "ten-boxes",
        "sure-itself",
        "mostly-inside",
        "neighbour",
        "around-them",
    ],
)
def test_in_a_quiet_frame_a_faint_box_inside_a_person_is_them_twice(
    second: Box, confidence: float, others: int, dropped: bool
) -> None:
    boxes = [ALONE, second, *CROWD_BOXES[:others]]
    people = make_detections(boxes, [0.8, confidence] + [0.5] * others)

    found = drop_quiet_duplicates(people, sure=0.04, crowd=10, below=0.1, inside=0.7)

    assert len(found) == len(boxes) - dropped
    assert (second in [tuple(b) for b in found.xyxy.tolist()]) is not dropped


@pytest.mark.parametrize("boxes", [0, 1], ids=["empty", "one"])
def test_a_frame_of_one_or_no_box_keeps_it(boxes: int) -> None:
    people = make_detections([ALONE][:boxes], [0.05][:boxes])

    assert len(drop_quiet_duplicates(people, sure=0.04, crowd=10, below=0.1, inside=0.7)) == boxes


def test_the_pipeline_drops_quiet_duplicates_and_the_rule_can_be_switched_off() -> None:
    rows = _rows([(300, 300, 60, 200, 0.8), (300, 330, 40, 100, 0.05)])  # a person and a faint box in them
    image = np.zeros((1088, 1440, 3), np.uint8)

    assert len(CannedNetwork(rows, confidence=0.04).detect(image)) == 1
    assert len(CannedNetwork(rows, confidence=0.04, quiet_duplicates=None).detect(image)) == 2


def test_in_a_window_the_people_standing_beyond_it_make_the_frame_a_crowd() -> None:
    """A part of the picture looked at: a faint box inside a person there is them twice where the
    rest of the frame is empty, and someone behind them where nine sure people stand beside it (ten
    in all: a crowd); faint boxes beside it do not make a crowd."""
    rows = _rows([(300, 300, 60, 200, 0.8), (300, 330, 40, 100, 0.05)])  # a person and a faint box in them
    image = np.zeros((1088, 1440, 3), np.uint8)
    region: Region = (0, 0, 1440, 1088)
    part: Region = (200, 150, 400, 450)
    beside = [(800.0 + 60 * i, 100.0, 850.0 + 60 * i, 300.0) for i in range(9)]
    detector = CannedNetwork(rows, confidence=0.04)

    assert len(detector.detect_part(image, region, part)) == 1
    assert len(detector.detect_part(image, region, part, make_detections(beside, [0.5] * 9))) == 2
    assert len(detector.detect_part(image, region, part, make_detections(beside, [0.03] * 9))) == 1


def test_faint_and_large_flags_only_tall_boxes_under_the_needed_score() -> None:
    heights = np.array([50, 50, 400, 400, 300], np.float32)
    scores = np.array([0.05, 0.5, 0.05, 0.5, 0.05], np.float32)

    assert faint_and_large(heights, scores, 300, 0.1).tolist() == [False, False, True, False, False]
    assert not faint_and_large(heights, scores, None, 0.1).any()


class CannedNetwork(ExportedPoseModel):
    """The exported model's decoding around a network that answers with fixed rows."""

    backend = "canned"

    def __init__(self, rows: NDArray[np.float32], **settings: Any) -> None:
        super().__init__(DetectorSettings(**settings), ModelManifest("canned", "0" * 64, "none", "none"))
        self.rows = rows

    def infer(self, canvases: NDArray[np.uint8]) -> NDArray[np.float32]:
        return np.repeat(self.rows[None], len(canvases), axis=0)


def _rows(candidates: list[tuple[float, float, float, float, float]]) -> NDArray[np.float32]:
    """(cx, cy, w, h, score) in network-input pixels -> the model's (56, anchors) output."""
    rows = np.zeros((5 + 3 * KEYPOINTS, len(candidates)), np.float32)
    rows[:5] = np.array(candidates, np.float32).T
    return rows


def test_a_large_faint_box_is_no_person_but_a_small_faint_one_is() -> None:
    canned = _rows(
        [
            (200, 300, 20, 50, 0.05),  # a distant person: small and faint
            (700, 500, 200, 600, 0.05),  # a door frame: large and faint
            (1100, 500, 200, 600, 0.6),  # someone near the camera: large and sure
        ]
    )
    image = np.zeros((1088, 1440, 3), np.uint8)  # scale 1, no padding: network pixels are image pixels

    found = CannedNetwork(canned, large_box_px=300, large_box_confidence=0.1, confidence=0.04).detect(image)
    everything = CannedNetwork(canned, large_box_px=None, confidence=0.04).detect(image)

    assert sorted(found.confidence.tolist()) == pytest.approx([0.05, 0.6])
    assert len(everything) == 3


# --- faint people with a face seen ------------------------------------------------------------


def _person(
    box: tuple[float, float, float, float], score: float, face_seen: float | None
) -> tuple[tuple[float, float, float, float], float, NDArray[np.float32]]:
    """A box and its keypoints: face keypoints (nose, eyes, ears) near the top centre, seen with
    `face_seen` (None: not seen at all), the body's keypoints not seen."""
    x1, y1, x2, y2 = box
    keypoints = np.zeros((KEYPOINTS, 3), np.float32)
    cx, top, height = (x1 + x2) / 2, y1, y2 - y1
    face = [(cx, top + 0.06 * height), (cx - 3, top + 0.05 * height), (cx + 3, top + 0.05 * height)]
    face += [(cx - 6, top + 0.06 * height), (cx + 6, top + 0.06 * height)]
    keypoints[:5, :2] = face
    keypoints[:5, 2] = 0.0 if face_seen is None else face_seen
    return box, score, keypoints


def _found(*people: tuple[tuple[float, float, float, float], float, NDArray[np.float32]]) -> Detections:
    return Detections(
        np.asarray([p[0] for p in people], np.float32),
        np.asarray([p[1] for p in people], np.float32),
        np.stack([p[2] for p in people]),
    )


def test_a_faint_box_counts_only_with_a_clearly_seen_face_of_its_own() -> None:
    found = _found(
        _person((100, 100, 160, 300), 0.6, face_seen=0.95),  # sure: kept whatever its face
        _person((400, 100, 460, 300), 0.3, face_seen=None),  # sure, face turned away: kept
        _person((700, 100, 760, 300), 0.02, face_seen=0.9),  # faint, face seen: someone between others
        _person((900, 100, 960, 300), 0.02, face_seen=0.5),  # faint, face unclear: a shadow, a poster
        _person((1200, 100, 1260, 300), 0.005, face_seen=0.9),  # under the floor: NMS never sees it
    )
    kept = sure_or_face_seen(found.select(found.confidence >= 0.01), sure=0.04)
    assert sorted(kept.confidence.tolist()) == pytest.approx([0.02, 0.3, 0.6])
    assert kept.xyxy[:, 0].tolist() == [100, 400, 700]


def test_the_same_face_in_a_second_box_is_the_same_person_but_a_face_behind_is_another() -> None:
    found = _found(
        _person((100, 100, 200, 400), 0.7, face_seen=0.95),
        _person((110, 100, 190, 260), 0.03, face_seen=0.9),  # a box inside the first, with its face
        _person((130, 60, 230, 380), 0.03, face_seen=0.9),  # someone behind, overlapping, own face
    )
    kept = sure_or_face_seen(found, sure=0.04)
    assert sorted(kept.confidence.tolist()) == pytest.approx([0.03, 0.7])
    assert sorted(kept.xyxy[:, 1].tolist()) == [60, 100]


def test_without_keypoints_only_sure_boxes_count() -> None:
    found = make_detections([(0, 0, 10, 30), (20, 0, 30, 30)], confidence=[0.5, 0.02])
    assert sure_or_face_seen(found, sure=0.04).confidence.tolist() == pytest.approx([0.5])


def test_the_network_is_read_down_to_the_face_floor_and_the_rule_can_be_switched_off() -> None:
    rows = _rows([(300, 300, 40, 120, 0.02), (700, 300, 40, 120, 0.02)])
    face_at = rows[5:].reshape(KEYPOINTS, 3, 2)  # keypoints along rows: x, y, seen per keypoint
    face_at[:5, 0, 0], face_at[:5, 1, 0], face_at[:5, 2, 0] = 300, 250, 0.9  # the first box's face
    image = np.zeros((1088, 1440, 3), np.uint8)

    with_faces = CannedNetwork(rows, confidence=0.04).detect(image)
    sure_only = CannedNetwork(rows, confidence=0.04, face_confidence=None).detect(image)

    assert with_faces.xyxy[:, 0].tolist() == [280]
    assert len(sure_only) == 0


def test_a_face_floor_above_the_threshold_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match=r"face_confidence \(0.2\) .* must not be above confidence \(0.04\)"):
        DetectorSettings(face_confidence=0.2)


# --- a part of the region (motion windows) ------------------------------------------------------


REGION: Region = (100, 50, 300, 150)
# four parts of it, neighbours overlapping: x 100-211 | 189-300, y 50-106 | 94-150
PARTS: list[Region] = [(100, 50, 211, 106), (189, 50, 300, 106), (100, 94, 211, 150), (189, 94, 300, 150)]


@pytest.mark.parametrize(
    ("part_index", "boxes", "cut"),
    [
        (0, [], []),
        (0, [(120, 60, 150, 90)], [False]),  # well inside
        (0, [(100, 50, 150, 90)], [False]),  # on the region's outer left and top border
        (0, [(150, 60, 211, 90)], [True]),  # on the inner right edge
        (0, [(120, 60, 150, 106)], [True]),  # on the inner bottom edge
        (0, [(120, 60, 209.5, 90)], [True]),  # within the margin of it
        (0, [(120, 60, 205, 90)], [False]),  # clear of it
        (3, [(250, 120, 300, 150)], [False]),  # on the region's outer right and bottom border
        (3, [(189, 120, 230, 140), (200, 94, 230, 140)], [True, True]),  # inner left, inner top
        (1, [(189, 50, 300, 90), (250, 60, 300, 106)], [True, True]),
    ],
)
def test_cut_by_inner_edge_flags_only_boxes_on_edges_inside_the_region(
    part_index: int, boxes: list[Box], cut: list[bool]
) -> None:
    flags = cut_by_inner_edge(make_detections(boxes), PARTS[part_index], REGION)

    assert flags.tolist() == cut


def test_the_whole_region_as_the_part_flags_nothing() -> None:
    region: Region = (0, 0, 768, 576)

    flags = cut_by_inner_edge(make_detections([(0, 0, 768, 576), (10, 10, 20, 20)]), region, region)

    assert flags.tolist() == [False, False]


# --- the default backend (OpenVINO) on real frames -----------------------------------------------


@pytest.fixture(scope="module")
def demo_frames(demo_video: Path) -> dict[int, NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(demo_video))
    frames: dict[int, NDArray[np.uint8]] = {}
    try:
        for index in DEMO_FRAMES:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, image = capture.read()
            assert ok, f"cannot read frame {index} of {demo_video}"
            frames[index] = np.asarray(image, np.uint8)
    finally:
        capture.release()
    return frames


@pytest.fixture(scope="module")
def default_detector() -> Detector:
    return build_detector(OpenvinoDetectorConfig())


@pytest.fixture(scope="module")
def default_found(
    default_detector: Detector, demo_frames: dict[int, NDArray[np.uint8]]
) -> dict[int, Detections]:
    """Each demo frame once through the default detector (inference is the slow part)."""
    return {index: default_detector.detect(image) for index, image in demo_frames.items()}


def _assert_plausible_people(found: Detections, image: NDArray[np.uint8], confidence: float) -> None:
    height, width = image.shape[:2]
    assert 2 <= len(found) <= 12
    x1, y1, x2, y2 = found.xyxy.T
    assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= width).all() and (y2 <= height).all()
    assert (x2 > x1).all() and (y2 > y1).all()
    assert (found.confidence >= confidence).all()
    assert found.keypoints is not None and found.keypoints.shape == (len(found), KEYPOINTS, 3)


@pytest.mark.parametrize("index", DEMO_FRAMES)
def test_the_default_detector_finds_the_people_of_a_demo_frame(
    default_found: dict[int, Detections], demo_frames: dict[int, NDArray[np.uint8]], index: int
) -> None:
    _assert_plausible_people(default_found[index], demo_frames[index], OpenvinoDetectorConfig().confidence)


def test_a_region_returns_boxes_only_inside_it(
    default_detector: Detector,
    default_found: dict[int, Detections],
    demo_frames: dict[int, NDArray[np.uint8]],
) -> None:
    image = demo_frames[0]
    height, width = image.shape[:2]
    region: Region = (width // 2, 0, width, height)

    (found,) = default_detector.detect_batch([image], [region])

    assert len(found) >= 1
    assert (found.xyxy[:, 0] >= region[0]).all() and (found.xyxy[:, 2] <= region[2]).all()
    assert found.keypoints is not None and found.keypoints.shape == (len(found), KEYPOINTS, 3)
    # people the whole-frame pass saw entirely inside the region are found there too
    whole = default_found[0]
    inside = whole.select(whole.xyxy[:, 0] >= region[0])
    assert len(inside) >= 1
    assert iou_matrix(inside.xyxy, found.xyxy).max(axis=1).min() > 0.7


def test_a_part_finds_the_people_a_whole_look_finds_there(
    default_detector: Detector,
    default_found: dict[int, Detections],
    demo_frames: dict[int, NDArray[np.uint8]],
) -> None:
    """A part around some people, seen at the whole picture's scale, finds them where the whole look
    does; nobody is cut by the part's edges inside the picture."""
    image = demo_frames[0]
    height, width = image.shape[:2]
    whole = default_found[0]
    left = whole.select((whole.xyxy[:, 2] < width / 2) & (whole.confidence >= 0.5))
    assert len(left) >= 1
    x1, y1 = left.xyxy[:, :2].min(axis=0) - 20
    x2, y2 = left.xyxy[:, 2:].max(axis=0) + 20
    part: Region = (max(0, int(x1)), max(0, int(y1)), int(x2), min(height, int(y2)))
    region: Region = (0, 0, width, height)

    found = default_detector.detect_part(image, region, part)

    assert iou_matrix(left.xyxy, found.xyxy).max(axis=1).min() > 0.8
    assert (found.xyxy[:, :2] >= part[:2]).all() and (found.xyxy[:, 2:] <= part[2:]).all()
    assert not cut_by_inner_edge(found, part, region).any()
    assert found.keypoints is not None and found.keypoints.shape == (len(found), KEYPOINTS, 3)


@pytest.mark.parametrize("images", [0, 1, 2], ids=["no-images", "one-black", "two-black"])
def test_black_images_have_no_people(default_detector: Detector, images: int) -> None:
    found = default_detector.detect_batch([np.zeros((576, 768, 3), np.uint8) for _ in range(images)])

    assert [len(f) for f in found] == [0] * images
    for f in found:
        assert f.keypoints is not None and f.keypoints.shape == (0, KEYPOINTS, 3)


def test_the_default_runtime_names_its_precision(default_detector: Detector) -> None:
    """bfloat16 only where the CPU computes it natively; reported, since timings depend on it."""
    assert default_detector.info.backend in {"openvino-bf16", "openvino-f32"}
    assert default_detector.info.precision.startswith("auto: " + default_detector.info.backend[-4:])
    f32 = build_detector(OpenvinoDetectorConfig(precision="f32")).info
    assert (f32.backend, f32.precision) == ("openvino-f32", "f32 (configured)")


@pytest.mark.parametrize(
    ("ms", "chosen", "reason"),
    [
        ({"f32": 100.0}, "f32", "auto: f32, the only one"),
        ({"f32": 100.0, "bf16": 60.0}, "bf16", "auto: bf16, faster than f32 here"),
        ({"f32": 100.0, "bf16": 96.0}, "f32", "auto: f32, bf16 not faster here"),  # within 5 %: the exact one
        ({"f32": 100.0, "bf16": 140.0}, "f32", "auto: f32, bf16 not faster here"),  # a CPU where bf16 is slow
    ],
    ids=["f32-only", "bf16-faster", "a-tie", "bf16-slower"],
)
def test_auto_takes_the_fastest_precision_and_says_why(
    ms: dict[str, float], chosen: str, reason: str
) -> None:
    assert choose_precision(ms) == PrecisionChoice(chosen, reason)


@pytest.mark.parametrize("ms", [{}, {"bf16": 50.0}], ids=["none", "without-f32"])
def test_auto_needs_float32_measured(ms: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="float32 must be among the measured precisions"):
        choose_precision(ms)


def test_the_precisions_are_timed_on_this_cpu() -> None:
    core = import_openvino().Core()

    ms = time_precisions(core, core.read_model(str(MODEL)), ["f32"], threads=1)

    assert list(ms) == ["f32"] and 0 < ms["f32"] < 10_000


def test_the_precisions_are_timed_in_a_child_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its compiled models' kernels and caches leave with it, not held by the edge for ever."""
    monkeypatch.setattr(edge.detect.openvino, "time_precisions", None)  # here, it would fail

    ms = time_precisions_apart(str(MODEL), ["f32"], threads=1)

    assert list(ms) == ["f32"] and 0 < ms["f32"] < 10_000


def test_a_failed_child_probe_times_in_this_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(edge.detect.openvino.sys, "executable", "/bin/false")
    monkeypatch.setattr(edge.detect.openvino, "time_precisions", lambda *_: {"f32": 80.0})

    assert time_precisions_apart(str(MODEL), ["f32"], threads=1) == {"f32": 80.0}
    assert any("child process failed (exit 1" in r.getMessage() for r in caplog.records)


def test_auto_computes_in_float32_where_this_cpu_runs_it_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where bfloat16 is native but slower (as on some CPU generations), auto takes float32 and says so."""
    monkeypatch.setattr(edge.detect.openvino, "native_bf16", lambda _: True)
    monkeypatch.setattr(
        edge.detect.openvino, "time_precisions_apart", lambda *_: {"f32": 80.0, "bf16": 120.0}
    )
    auto_precision.cache_clear()
    try:
        detector = build_detector(OpenvinoDetectorConfig())
    finally:
        auto_precision.cache_clear()  # the other tests measure this CPU again

    assert (detector.info.backend, detector.info.precision) == (
        "openvino-f32",
        "auto: f32, bf16 not faster here",
    )


def test_on_a_cpu_without_bfloat16_auto_measures_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2_VNNI")
    monkeypatch.setattr(edge.detect.openvino, "time_precisions", None)  # called, it would fail
    monkeypatch.setattr(edge.detect.openvino, "time_precisions_apart", None)

    choice = auto_precision(str(MODEL), 2, "AVX2_VNNI")

    assert choice == PrecisionChoice("f32", "auto: f32, no native bf16 on this CPU")


@pytest.mark.parametrize("device", ["CPU", "AUTO"])
def test_the_openvino_device_is_passed_through(
    device: str, demo_frames: dict[int, NDArray[np.uint8]]
) -> None:
    """CPU and AUTO (which takes the CPU on a machine without a GPU) find the same people."""
    image = demo_frames[DEMO_FRAMES[-1]]
    detector = build_detector(OpenvinoDetectorConfig(device=device, precision="f32"))

    found = detector.detect(image)

    assert detector.info.backend == {"CPU": "openvino-f32", "AUTO": "openvino-auto"}[device]
    reference = build_detector(OpenvinoDetectorConfig(precision="f32")).detect(image)
    assert len(found) == len(reference)


def test_a_device_this_machine_lacks_is_refused_naming_the_setting() -> None:
    if "GPU" in import_openvino().Core().available_devices:  # an Intel GPU here: it builds
        assert build_detector(OpenvinoDetectorConfig(device="GPU")).info.backend == "openvino-gpu"
        return
    with pytest.raises(
        ModelError, match=r"detector.device GPU: OpenVINO sees no such device here \(it sees: CPU"
    ):
        build_detector(OpenvinoDetectorConfig(device="GPU"))


@pytest.mark.parametrize("cameras", [0, 1, 2, 3])
def test_a_batch_of_cameras_counts_what_each_frame_counts_alone(
    default_detector: Detector, demo_frames: dict[int, NDArray[np.uint8]], cameras: int
) -> None:
    """Frames of several cameras of one size share one inference; each keeps its own people."""
    frames = [demo_frames[DEMO_FRAMES[i % len(DEMO_FRAMES)]] for i in range(cameras)]
    frames = [np.ascontiguousarray(f if i < 2 else f[:, ::-1]) for i, f in enumerate(frames)]  # 3rd: mirrored

    together = default_detector.detect_batch(frames)
    alone = [default_detector.detect(f) for f in frames]

    assert [len(f) for f in together] == [len(f) for f in alone]
    for batched, single in zip(together, alone, strict=True):
        np.testing.assert_allclose(batched.xyxy, single.xyxy, atol=1.0)


def test_two_streams_detect_two_frames_at_once_as_one_stream_does(
    default_found: dict[int, Detections], demo_frames: dict[int, NDArray[np.uint8]]
) -> None:
    """streams: 2 runs OpenVINO's throughput mode: two threads infer at once, each on a request of
    its own, and each frame keeps the people it has alone."""
    detector = build_detector(OpenvinoDetectorConfig(streams=2))
    assert isinstance(detector, OpenvinoDetector)
    assert detector._core.get_property("CPU", "PERFORMANCE_HINT").name == "THROUGHPUT"
    frames = [demo_frames[i] for i in DEMO_FRAMES]
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = list(pool.map(detector.detect, frames * 2))

    assert len({key[1] for key in detector._requests}) == 2  # one request per thread
    for index, together in zip(DEMO_FRAMES * 2, found, strict=True):
        alone = default_found[index]
        assert len(together) == len(alone)
        np.testing.assert_allclose(together.xyxy, alone.xyxy, atol=2.0)


# --- int8 precision ----------------------------------------------------------------------------


def test_int8_precision_runs_the_shipped_int8_model_and_names_it() -> None:
    manifest = json.loads(INT8_MODEL.with_name(INT8_MODEL.name + ".manifest.json").read_text())
    config = OpenvinoDetectorConfig(precision="int8")

    detector = build_detector(config)

    assert config.model == INT8_MODEL
    assert detector.info.backend == "openvino-int8"
    assert (detector.info.name, detector.info.sha256) == ("yolo11n-pose-int8", manifest["sha256"])


def test_int8_precision_runs_the_int8_model_a_config_names(tmp_path: Path) -> None:
    model = tmp_path / "site-int8.onnx"
    shutil.copyfile(INT8_MODEL, model)
    shutil.copyfile(INT8_MODEL.with_name(INT8_MODEL.name + ".manifest.json"), f"{model}.manifest.json")

    config = OpenvinoDetectorConfig(precision="int8", model=model)

    assert config.model == model
    assert build_detector(config).info.backend == "openvino-int8"


@pytest.mark.parametrize(
    ("precision", "model", "message"),
    [
        ("int8", MODEL, r"precision int8 needs an int8 model .*yolo11n-pose\.onnx is not"),
        ("f32", INT8_MODEL, r"precision f32 needs a float model; .*yolo11n-pose-int8\.onnx is an int8 model"),
    ],
)
def test_a_model_of_another_precision_is_refused(precision: str, model: Path, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build_detector(OpenvinoDetectorConfig.model_validate({"precision": precision, "model": model}))


@pytest.mark.parametrize("precision", ["", "int4", "INT8", "bf16"])
def test_an_unknown_precision_is_a_config_error_naming_the_field(precision: str) -> None:
    data = {
        "site": "s",
        "cameras": [{"id": "c", "source": {"type": "file", "path": "x.avi"}, "zones": [ZONE_ALL]}],
        "detector": {"precision": precision},
    }

    with pytest.raises(ConfigError) as raised:
        parse_config(data, REPO)

    assert [path for path, _ in raised.value.problems] == ["detector.precision"]
    assert "'auto', 'f32' or 'int8'" in raised.value.problems[0][1]


@pytest.mark.parametrize("limit", sorted(ISA_LIMITS_WITHOUT_BF16 | {"avx2_vnni"}))
def test_an_isa_limit_without_bfloat16_means_no_native_bfloat16(
    monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", limit)

    assert not native_bf16(import_openvino().Core())


@pytest.mark.parametrize("limit", ["", "AVX512_CORE_BF16", "AVX512_CORE_AMX", "ALL"])
def test_without_a_limit_below_bfloat16_the_cpu_decides(monkeypatch: pytest.MonkeyPatch, limit: str) -> None:
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", limit)
    core = import_openvino().Core()
    default = core.get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()

    assert native_bf16(core) == (default == "bf16")


EMULATED = """
import json
import numpy as np
from edge.config import OpenvinoDetectorConfig
from edge.detect import build_detector
image = np.zeros((576, 768, 3), np.uint8)
found = {p: build_detector(OpenvinoDetectorConfig(precision=p)) for p in ("auto", "int8")}
print(json.dumps({p: [d.info.backend, len(d.detect(image))] for p, d in found.items()}))
"""


@pytest.mark.slow
def test_on_a_cpu_without_bfloat16_auto_computes_in_float32_and_int8_runs() -> None:
    """A CPU without bfloat16 (AVX2 with VNNI, as low-power mini PCs), emulated by limiting oneDNN."""
    environment = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2_VNNI"}

    report = last_json(run_python("-c", EMULATED, timeout=180, env=environment))

    assert report == {"auto": ["openvino-f32", 0], "int8": ["openvino-int8", 0]}


@pytest.fixture(scope="module")
def float32_found(demo_frames: dict[int, NDArray[np.uint8]]) -> dict[int, Detections]:
    detector = build_detector(OpenvinoDetectorConfig(precision="f32"))
    return {index: detector.detect(image) for index, image in demo_frames.items()}


@pytest.mark.slow
def test_int8_keeps_the_people_float32_finds(
    demo_frames: dict[int, NDArray[np.uint8]], float32_found: dict[int, Detections]
) -> None:
    detector = build_detector(OpenvinoDetectorConfig(precision="int8"))

    for index, image in demo_frames.items():
        found, reference = detector.detect(image), float32_found[index]

        _assert_plausible_people(found, image, OpenvinoDetectorConfig().confidence)
        assert abs(len(found) - len(reference)) <= 1, (index, len(found), len(reference))
        assert min(matched_ious(found.xyxy, reference.xyxy)) > 0.8, index


@pytest.fixture(scope="module")
def onnxruntime_found(demo_frames: dict[int, NDArray[np.uint8]]) -> dict[int, Detections]:
    detector = build_detector(OnnxDetectorConfig(type="onnx"))
    assert detector.info.backend == "onnxruntime"
    return {index: detector.detect(image) for index, image in demo_frames.items()}


def test_openvino_in_float32_finds_what_onnxruntime_finds(
    demo_frames: dict[int, NDArray[np.uint8]], onnxruntime_found: dict[int, Detections]
) -> None:
    detector = build_detector(OpenvinoDetectorConfig(precision="f32"))

    for index, image in demo_frames.items():
        found, reference = detector.detect(image), onnxruntime_found[index]

        assert len(found) == len(reference), index
        pairs = matched_pairs(found.xyxy, reference.xyxy)
        assert min(iou for _, _, iou in pairs) > 0.99, (index, pairs)
        gaps = [abs(found.confidence[i] - reference.confidence[j]) for i, j, _ in pairs]
        assert max(gaps) < 1e-3, (index, gaps)


def test_the_default_precision_keeps_the_people_onnxruntime_finds(
    default_found: dict[int, Detections], onnxruntime_found: dict[int, Detections]
) -> None:
    for index, found in default_found.items():
        reference = onnxruntime_found[index]

        assert abs(len(found) - len(reference)) <= 1, (index, len(found), len(reference))
        assert min(matched_ious(found.xyxy, reference.xyxy)) > 0.9, index


def test_frames_of_other_shapes_map_back_to_their_own_pixels(
    default_detector: Detector, demo_frames: dict[int, NDArray[np.uint8]]
) -> None:
    """A 16:9 frame runs at a 16:9 input; batched with a 4:3 one, both share the larger input."""
    image = demo_frames[DEMO_FRAMES[-1]]
    offset = 128
    wide = np.full((image.shape[0], image.shape[1] + 2 * offset, 3), PAD_VALUE, np.uint8)
    wide[:, offset : offset + image.shape[1]] = image

    plain, wide_alone = default_detector.detect(image), default_detector.detect(wide)
    together = default_detector.detect_batch([image, wide])

    # the wide frame is seen smaller, so its faintest people may be missed; the rest sit where they are
    assert len(plain) - 2 <= len(wide_alone) <= len(plain)
    assert min(matched_ious(wide_alone.xyxy - [offset, 0, offset, 0], plain.xyxy)) > 0.8
    for alone, batched in zip([plain, wide_alone], together, strict=True):
        assert abs(len(alone) - len(batched)) <= 1
        assert min(matched_ious(alone.xyxy, batched.xyxy)) > 0.9


# --- Ultralytics backend -----------------------------------------------------------------------


@pytest.fixture
def pt_model() -> Path:
    return need(PT_MODEL, "models/fetch_checkpoint.sh fetches it")


@pytest.fixture
def offline_ultralytics(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "ultralytics"))
    need_module("ultralytics", "the optional 'ultralytics' extra: scripts/setup.sh --dev installs it")
    yield


@pytest.mark.usefixtures("offline_ultralytics")
def test_ultralytics_agrees_with_the_default_on_demo_frames(
    pt_model: Path, default_found: dict[int, Detections], demo_frames: dict[int, NDArray[np.uint8]]
) -> None:
    defaults = OpenvinoDetectorConfig()
    detector = build_detector(
        UltralyticsDetectorConfig(
            type="ultralytics", model=pt_model, input_size=defaults.input_size, confidence=defaults.confidence
        )
    )
    assert detector.info.backend == "ultralytics"

    for index, image in demo_frames.items():
        found = detector.detect(image)
        reference = default_found[index]

        _assert_plausible_people(found, image, defaults.confidence)
        assert abs(len(found) - len(reference)) <= 1, (index, len(found), len(reference))
        pairs = matched_ious(found.xyxy, reference.xyxy)
        assert len(pairs) == min(len(found), len(reference))
        assert min(pairs) > 0.8, (index, pairs)


# --- the default path stays torch-free ---------------------------------------------------------

TORCH_FREE = """
import json, sys
import numpy as np
from edge.config import OpenvinoDetectorConfig
from edge.detect import build_detector
found = build_detector(OpenvinoDetectorConfig()).detect(np.zeros((576, 768, 3), np.uint8))
print(json.dumps({"people": len(found), "loaded": sorted({"torch", "ultralytics"} & set(sys.modules))}))
"""


@pytest.mark.slow
def test_the_default_path_never_imports_torch() -> None:
    report = last_json(run_python("-c", TORCH_FREE, timeout=120))

    assert report == {"people": 0, "loaded": []}


def test_boxes_wholly_outside_the_region_are_dropped() -> None:
    inside_and_out = make_detections([(10, 10, 50, 90), (200, 10, 260, 90)])
    kept = clip_to_region(inside_and_out, (0, 0, 100, 100))
    assert kept.xyxy.tolist() == [[10, 10, 50, 90]]
