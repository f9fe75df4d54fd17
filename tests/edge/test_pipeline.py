"""CameraPipeline: masks before detection, durations from frame timestamps, drops counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry

from edge.config import (
    CameraConfig,
    Config,
    DetectorSettings,
    FileSourceConfig,
    FixturesConfig,
    MotionGateConfig,
    TrackerConfig,
    ZoneConfig,
)
from edge.detect.base import ModelInfo
from edge.detect.postprocess import clip_to_region
from edge.detections import Detections
from edge.metrics import EdgeMetrics
from edge.pipeline import CameraPipeline, FrameResult, PrivacyMask
from edge.runner import CameraRunner
from edge.sources.base import Frame
from tests.conftest import make_detections

Polygon = list[tuple[float, float]]
Region = tuple[int, int, int, int]
Box = tuple[float, float, float, float]
WIDTH, HEIGHT = 200, 160
TOP_HALF: Polygon = [(0, 0), (1, 0), (1, 0.5), (0, 0.5)]
PERSON = (80.0, 40.0, 120.0, 150.0)  # anchor (box bottom) inside the whole-frame zone
CAMERA_LABELS = {"site": "test-site", "camera": "cam"}


def camera(fps: float = 2.0, privacy_masks: list[Polygon] | None = None) -> CameraConfig:
    return CameraConfig(
        id="cam",
        source=FileSourceConfig(path=Path("unused.avi"), realtime=False),
        fps=fps,
        zones=[ZoneConfig(id="all", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])],
        privacy_masks=privacy_masks or [],
    )


class RecordingDetector:
    """A fake detector at the edge of the pipeline: keeps what it was shown, finds fixed people."""

    info = ModelInfo(name="fake", sha256="0" * 64, backend="fake", input_size="any")

    def __init__(self, people: list[Box] | None = None, confidence: list[float] | None = None) -> None:
        self.people = people or []
        self.confidence = confidence
        self.images: list[NDArray[np.uint8]] = []
        self.regions: list[Region] = []
        self.parts: list[Region] = []
        self.standing: list[Detections | None] = []  # the people beside each part

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[Region] | None = None
    ) -> list[Detections]:
        self.images.extend(image.copy() for image in images)
        self.regions.extend(regions or [(0, 0, im.shape[1], im.shape[0]) for im in images])
        return [make_detections(self.people, self.confidence) for _ in images]

    def detect_part(
        self, image: NDArray[np.uint8], region: Region, part: Region, standing: Detections | None = None
    ) -> Detections:
        """The fixed people that reach into the part, cut to it."""
        self.parts.append(part)
        self.standing.append(standing)
        return clip_to_region(make_detections(self.people, self.confidence), part)


@dataclass
class FakePending:
    """A frame as a source delivers it: timestamps now, pixels on decode (None: corrupt)."""

    time_s: float
    wall_time: float
    image: NDArray[np.uint8] | None
    decoded: list[float] = field(default_factory=list)

    def decode(self) -> Frame | None:
        self.decoded.append(self.time_s)
        return None if self.image is None else Frame(self.image, self.time_s, self.wall_time)


def pending(times: list[float], broken: frozenset[float] = frozenset()) -> list[FakePending]:
    image = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    return [FakePending(t, 1.7e9 + t, None if t in broken else image) for t in times]


def run(pipeline: CameraPipeline, frames: list[FakePending]) -> tuple[list[FrameResult], list[float]]:
    """The results of each analysed frame (through the camera's runner, as every caller does), and
    the dwell times of the visits open at the end."""
    results: list[FrameResult] = []
    finished = CameraRunner(pipeline.camera, pipeline, pipeline.metrics).run(frames, on_result=results.append)
    return results, [d for reading in finished for d in reading.completed_dwells_s]


# --- PrivacyMask -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("polygons", "masked_area"),
    [
        ([], 0.0),
        ([TOP_HALF], 0.5),
        ([[(0.5, 0.0), (1.0, 1.0), (0.0, 1.0)]], 0.5),  # triangle
        ([[(0, 0), (0.25, 0), (0.25, 1), (0, 1)], [(0.75, 0), (1, 0), (1, 1), (0.75, 1)]], 0.5),  # two strips
        ([[(0.1, 0.2), (0.4, 0.2), (0.4, 0.6), (0.1, 0.6)]], 0.12),
    ],
    ids=["none", "top-half", "triangle", "two-strips", "box"],
)
@pytest.mark.parametrize(("width", "height"), [(200, 160), (768, 576)])
def test_privacy_mask_blanks_only_the_polygons(
    polygons: list[Polygon], masked_area: float, width: int, height: int
) -> None:
    image = np.random.default_rng(1).integers(1, 256, (height, width, 3), dtype=np.uint8)  # no 0 pixels
    before = image.copy()
    mask = PrivacyMask(polygons)

    out = mask.apply(image)

    np.testing.assert_array_equal(image, before)  # the input is not modified
    assert out.shape == image.shape and out.dtype == np.uint8
    blanked = (out == 0).all(axis=2)
    np.testing.assert_array_equal(out[~blanked], image[~blanked])  # the rest is untouched
    perimeter = 2 * (width + height) * max(len(polygons), 1)
    assert abs(blanked.sum() - masked_area * width * height) <= perimeter  # boundary pixels either way
    for polygon in polygons:  # the middle of each polygon is black
        cx, cy = np.mean(np.asarray(polygon), axis=0)
        assert blanked[int(cy * height), int(cx * width)]
    if not polygons:
        assert out is image


def test_privacy_mask_follows_the_frame_size() -> None:
    mask = PrivacyMask([TOP_HALF])

    for width, height in [(200, 160), (640, 480), (200, 160)]:
        out = mask.apply(np.full((height, width, 3), 255, np.uint8))
        assert (out[: height // 2] == 0).all()
        assert (out[height // 2 + 1 :] == 255).all()


# --- CameraPipeline ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("masks", "black_rows"),
    [([], 0), ([TOP_HALF], HEIGHT // 2)],
    ids=["no-mask", "top-half"],
)
def test_the_detector_never_sees_masked_pixels(masks: list[Polygon], black_rows: int) -> None:
    detector = RecordingDetector()
    image = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    frames = [FakePending(0.0, 1.7e9, image)]

    run(CameraPipeline(camera(privacy_masks=masks), detector, TrackerConfig()), frames)

    (seen,) = detector.images
    assert (seen[:black_rows] == 0).all()
    assert (seen[HEIGHT // 2 + 1 :] == 255).all()
    assert (image == 255).all()  # the source's frame is not edited in place
    assert detector.regions == [(0, 0, WIDTH, HEIGHT)]


@pytest.mark.parametrize(
    ("times", "longest_dwell", "entries", "completed", "open_at_end"),
    [
        ([], [], [], [], []),
        # steady: the visit starts when the track is confirmed (second analysed frame, 0.5 s)
        ([0.0, 0.5, 1.0, 1.5, 2.0], [0.0, 0.0, 0.5, 1.0, 1.5], [0, 1, 0, 0, 0], [(), (), (), (), ()], [1.5]),
        # irregular, then frames dropped for half a minute: the visit ends at its last sighting
        (
            [0.0, 0.5, 1.0, 1.7, 3.1, 30.0, 30.5, 31.0, 31.5],
            [0.0, 0.0, 0.5, 1.2, 2.6, 0.0, 0.0, 0.5, 1.0],
            [0, 1, 0, 0, 0, 0, 1, 0, 0],
            [(), (), (), (), (), (2.6,), (), (), ()],
            [1.0],
        ),
    ],
    ids=["no-frames", "steady", "irregular-with-gap"],
)
def test_dwell_times_follow_the_frame_timestamps(
    times: list[float],
    longest_dwell: list[float],
    entries: list[int],
    completed: list[tuple[float, ...]],
    open_at_end: list[float],
) -> None:
    pipeline = CameraPipeline(camera(fps=2.0), RecordingDetector([PERSON]), TrackerConfig())

    results, finished = run(pipeline, pending(times))

    assert [r.time_s for r in results] == times
    assert [r.wall_time for r in results] == [1.7e9 + t for t in times]
    assert [r.people for r in results] == [1] * len(times)
    readings = [r.zones[0] for r in results]
    assert [r.longest_dwell_s for r in readings] == pytest.approx(longest_dwell)
    assert [r.entries for r in readings] == entries
    assert [r.completed_dwells_s for r in readings] == [pytest.approx(c) for c in completed]
    assert finished == pytest.approx(open_at_end)


@pytest.mark.parametrize(
    ("input_fps", "fps", "seconds", "analysed"),
    [
        (10.0, 2.0, 0.0, 0),
        (10.0, 2.0, 5.0, 10),
        (10.0, 1.0, 5.0, 5),
        (25.0, 2.0, 4.0, 8),
        (2.0, 2.0, 3.0, 6),
        (12.5, 4.0, 3.0, 12),
    ],
)
def test_only_frames_that_are_due_are_decoded_and_analysed(
    input_fps: float, fps: float, seconds: float, analysed: int
) -> None:
    detector = RecordingDetector([PERSON])
    frames = pending([i / input_fps for i in range(round(seconds * input_fps))])

    results, _ = run(CameraPipeline(camera(fps=fps), detector, TrackerConfig()), frames)

    times = [r.time_s for r in results]
    assert abs(len(times) - analysed) <= 1
    assert len(detector.images) == len(times)
    assert [t for f in frames for t in f.decoded] == times  # frames not due are never decoded
    assert all(gap >= 1 / fps - 1 / input_fps - 1e-9 for gap in np.diff(times))
    if len(results) > 2:  # the person's stay grows with the clock, not with the frame count
        assert results[-1].zones[0].longest_dwell_s == pytest.approx(times[-1] - times[1])


@pytest.mark.parametrize(
    ("broken", "dropped", "analysed"),
    [
        (frozenset(), 0, 3),
        (frozenset({0.5}), 1, 2),
        (frozenset({0.2, 0.7}), 0, 3),  # not due: never decoded, so not dropped
        (frozenset({0.0, 0.5, 1.0}), 3, 0),
    ],
    ids=["none", "one-due", "not-due", "all"],
)
def test_frames_that_cannot_be_decoded_count_as_dropped(
    broken: frozenset[float], dropped: int, analysed: int
) -> None:
    config = Config(site="test-site", cameras=[camera(fps=2.0)])
    registry = CollectorRegistry()
    detector = RecordingDetector([PERSON])
    metrics = EdgeMetrics(registry, config, detector.info)
    pipeline = CameraPipeline(config.cameras[0], detector, TrackerConfig(), metrics)

    results, _ = run(pipeline, pending([0.0, 0.2, 0.5, 0.7, 1.0], broken))

    assert registry.get_sample_value("wartezone_frames_dropped_total", CAMERA_LABELS) == dropped
    assert registry.get_sample_value("wartezone_frames_analysed_total", CAMERA_LABELS) == analysed
    assert len(results) == analysed


# --- the motion gate ---------------------------------------------------------------------------

STILL_IMAGE = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
MOVED_IMAGE = STILL_IMAGE.copy()
MOVED_IMAGE[40:150, 150:190] = 20  # someone walked in, beside the person found (PERSON)


@pytest.mark.parametrize(
    ("pictures", "full_every_s", "detected"),
    [
        ([], 10.0, []),
        (["still"] * 5, 10.0, [True, False, False, False, False]),
        (["still"] * 5, 1.0, [True, False, True, False, True]),  # 0.5 s apart: every 1 s at least
        (["still", "still", "moved", "moved", "still"], 10.0, [True, False, True, False, True]),
    ],
    ids=["no-frames", "still", "periodic", "someone-walks-in-and-out"],
)
def test_the_detector_runs_only_where_the_picture_changed(
    pictures: list[str], full_every_s: float, detected: list[bool]
) -> None:
    """Frames the gate lets pass keep the last detection's people, and their stay grows with the clock."""
    config = Config(site="test-site", cameras=[camera(fps=2.0)])
    registry = CollectorRegistry()
    detector = RecordingDetector([PERSON])
    metrics = EdgeMetrics(registry, config, detector.info)
    gate = MotionGateConfig(full_every_s=full_every_s)
    settings = DetectorSettings(motion_gate=gate, fixtures=None)
    pipeline = CameraPipeline(config.cameras[0], detector, TrackerConfig(), metrics, settings)
    images = {"still": STILL_IMAGE, "moved": MOVED_IMAGE}
    frames = [FakePending(0.5 * i, 1.7e9 + 0.5 * i, images[p]) for i, p in enumerate(pictures)]

    results, _ = run(pipeline, frames)

    assert [r.detected for r in results] == detected
    assert len(detector.images) + len(detector.parts) == sum(detected)
    assert [r.people for r in results] == [1] * len(pictures)
    assert all(r.detector_s == 0.0 for r in results if not r.detected)
    dwell = [r.zones[0].longest_dwell_s for r in results]
    assert dwell == pytest.approx([max(0.0, 0.5 * (i - 1)) for i in range(len(pictures))])
    value = registry.get_sample_value
    assert value("wartezone_frames_analysed_total", CAMERA_LABELS) == len(pictures)
    assert (value("wartezone_detector_latency_seconds_count", CAMERA_LABELS) or 0) == sum(detected)


WIDE = (640, 360)  # width, height: a person is a small part of the picture
LEFT: Box = (50.0, 100.0, 90.0, 200.0)
RIGHT: Box = (500.0, 100.0, 540.0, 200.0)


WIDE_STILL = np.full((WIDE[1], WIDE[0], 3), 128, np.uint8)


def gated_runner(detector: RecordingDetector, gate: MotionGateConfig) -> CameraRunner:
    """A camera's runner, up, whose pipeline has the motion gate `gate` and the other defaults."""
    settings = DetectorSettings(motion_gate=gate)
    pipeline = CameraPipeline(camera(), detector, TrackerConfig(), settings=settings)
    runner = CameraRunner(pipeline.camera, pipeline)
    runner.came_up()
    return runner


@pytest.mark.parametrize(
    ("windows", "moved", "parts", "people"),
    [
        (True, (slice(100, 200), slice(545, 585)), 1, 2),
        (False, (slice(100, 200), slice(545, 585)), 0, 1),
        (True, (slice(100, 200), slice(150, 545)), 0, 1),
    ],
    ids=["window", "windows-off", "change-too-large"],
)
def test_where_a_part_changed_only_that_part_is_detected_and_the_others_stand(
    windows: bool, moved: tuple[slice, slice], parts: int, people: int
) -> None:
    """Two looks found both people at their places; then the person on the right moves, and the one
    on the left is no longer found by a look at the whole picture, but a look at the right only
    leaves them standing as last seen. A change wider than half the picture has all of it looked at."""
    detector = RecordingDetector([LEFT, RIGHT])
    gate = MotionGateConfig(windows=windows, skip_in_place=False)
    runner = gated_runner(detector, gate)
    still = WIDE_STILL
    arm = still.copy()
    arm[120:160, 505:535] = 20  # the second look: both found where the first found them
    changed = still.copy()
    changed[moved] = 20
    first = runner.analyse(Frame(still, 0.0, 1.7e9))
    runner.analyse(Frame(arm, 0.25, 1.7e9 + 0.25))
    detector.people = [(545.0, 100.0, 585.0, 200.0)]  # a step to the right

    second = runner.analyse(Frame(changed, 0.5, 1.7e9 + 0.5))

    assert first is not None and second is not None
    assert second.detected and second.people == people
    assert len(detector.parts) == parts and len(detector.images) == 3 - parts
    if parts:
        x1, y1, x2, y2 = detector.parts[0]
        assert x1 <= 500 and y1 <= 100 and x2 >= 545 and y2 >= 200  # the person, whole
        assert x1 > LEFT[2]  # not the one on the left
        (standing,) = detector.standing  # who stands beside it decides whether the frame is a crowd
        assert standing is not None and standing.xyxy.tolist() == [list(LEFT)]


def test_a_box_one_look_found_is_looked_at_again_not_left_standing_beside_a_window() -> None:
    """The first look finds a faint box on the left (a passing error) and a person on the right, who
    then moves: the left box, found by one look only, is looked at again with them (here: the whole
    picture, as the two are far apart) and is gone, where a window on the right alone would have
    left it standing until the periodic look, 10 s on."""
    detector = RecordingDetector([LEFT, RIGHT], [0.05, 0.9])
    runner = gated_runner(detector, MotionGateConfig())
    moved = WIDE_STILL.copy()
    moved[100:200, 545:585] = 20
    runner.analyse(Frame(WIDE_STILL, 0.0, 1.7e9))
    detector.people, detector.confidence = (
        [(545.0, 100.0, 585.0, 200.0)],
        [0.9],
    )  # the left box not found again

    second = runner.analyse(Frame(moved, 0.5, 1.7e9 + 0.5))

    assert second is not None and second.detected and second.people == 1
    assert detector.parts == [] and len(detector.images) == 2


@pytest.mark.parametrize(("skip_in_place", "looks"), [(True, 2), (False, 5)], ids=["skipped", "setting-off"])
def test_a_person_moving_in_place_leaves_their_last_detection_standing(
    skip_in_place: bool, looks: int
) -> None:
    """The person on the right moves an arm in every frame: once two looks found everyone at one
    place (the first frame and the first change), nobody came or went, so nothing is looked at
    again, and both stay counted."""
    detector = RecordingDetector([LEFT, RIGHT])
    gate = MotionGateConfig(skip_in_place=skip_in_place)
    runner = gated_runner(detector, gate)
    still = WIDE_STILL
    results = []
    for second in range(5):
        picture = still.copy()
        if second:
            picture[120:160, 505:535] = 20 if second % 2 else 90
        results.append(runner.analyse(Frame(picture, float(second), 1.7e9 + second)))

    assert len(detector.images) + len(detector.parts) == looks
    assert [r.people for r in results if r is not None] == [2] * 5


def test_windows_do_not_put_off_the_periodic_look_at_the_whole_picture() -> None:
    """Someone moves about beside the person on the right in every frame: each change is a window,
    yet every full_every_s the whole picture is looked at, so the person on the left is seen again."""
    detector = RecordingDetector([LEFT, RIGHT])
    gate = MotionGateConfig(full_every_s=5.0)
    runner = gated_runner(detector, gate)
    still = WIDE_STILL
    pictures = [still]
    for second in range(1, 7):
        fidget = still.copy()
        fidget[100:200, 545:585] = 20 if second % 2 else 90
        pictures.append(fidget)

    for second, picture in enumerate(pictures):
        runner.analyse(Frame(picture, float(second), 1.7e9 + second))

    # at 0 s, at 1 s (until a second look confirms a box, nothing stands beside a window), and 5 s
    # after that second whole look
    assert len(detector.images) == 3
    assert len(detector.parts) == 4  # 2-5 s


def test_someone_reaching_out_of_the_window_has_all_of_the_picture_looked_at() -> None:
    """The person on the right came much nearer than the window allowed for: cut by its side, so
    the whole picture is looked at, and nobody is counted as a piece."""
    detector = RecordingDetector([LEFT, RIGHT])
    runner = gated_runner(detector, MotionGateConfig(skip_in_place=False))
    still = WIDE_STILL
    arm = still.copy()
    arm[120:160, 505:535] = 20  # a second look confirms both where the first found them
    changed = still.copy()
    changed[100:200, 545:585] = 20
    runner.analyse(Frame(still, 0.0, 1.7e9))
    runner.analyse(Frame(arm, 0.25, 1.7e9 + 0.25))
    detector.people = [LEFT, (420.0, 100.0, 640.0, 300.0)]

    result = runner.analyse(Frame(changed, 0.5, 1.7e9 + 0.5))

    assert result is not None and result.people == 2
    assert len(detector.parts) == 1 and len(detector.images) == 3


def test_after_an_outage_the_first_frame_is_detected() -> None:
    """Frames of a camera that was down are detected anew, not covered by a detection from before."""
    detector = RecordingDetector([PERSON])
    settings = DetectorSettings(motion_gate=MotionGateConfig(), fixtures=None)
    pipeline = CameraPipeline(camera(), detector, TrackerConfig(), settings=settings)
    runner = CameraRunner(pipeline.camera, pipeline)
    runner.came_up()
    first = [runner.analyse(Frame(STILL_IMAGE, t, t)) for t in (0.0, 0.5)]

    runner.went_down("stream lost")
    runner.came_up()
    after = runner.analyse(Frame(STILL_IMAGE, 1.0, 1.0))

    assert [r.detected for r in first if r is not None] == [True, False]
    assert after is not None and after.detected
    assert len(detector.images) == 2


def test_without_a_gate_every_frame_is_detected() -> None:
    detector = RecordingDetector([PERSON])

    results, _ = run(CameraPipeline(camera(), detector, TrackerConfig()), pending([0.0, 0.5, 1.0]))

    assert [r.detected for r in results] == [True, True, True]
    assert len(detector.images) == 3


THING = (20.0, 20.0, 40.0, 70.0)  # where the detector keeps finding something faint
FAINT, SURE = 0.05, 0.9


def people_every_2_s(
    detector: RecordingDetector, fixtures: FixturesConfig | None, seconds: int = 16
) -> list[int]:
    settings = DetectorSettings(motion_gate=None, fixtures=fixtures)
    pipeline = CameraPipeline(camera(fps=0.5), detector, TrackerConfig(), settings=settings)
    runner = CameraRunner(pipeline.camera, pipeline)
    runner.came_up()
    image = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    results = [runner.analyse(Frame(image, float(t), 1.7e9 + t)) for t in range(0, seconds, 2)]
    return [r.people for r in results if r is not None]


def test_a_faint_box_found_at_one_place_for_a_while_is_a_thing_and_left_out() -> None:
    detector = RecordingDetector([PERSON, THING], [SURE, FAINT])

    assert people_every_2_s(detector, FixturesConfig(after_s=10)) == [2, 2, 2, 2, 2, 1, 1, 1]
    assert people_every_2_s(detector, None) == [2] * 8  # null keeps such boxes


def test_a_crowd_keeps_its_faint_boxes_that_stay() -> None:
    """In a crowd a faint box that stays is someone hidden between others: nothing left out."""
    crowd = [(100.0 + 8 * i, 30.0, 106.0 + 8 * i, 60.0) for i in range(9)]
    detector = RecordingDetector([*crowd, THING], [SURE] * 9 + [FAINT])

    assert people_every_2_s(detector, FixturesConfig(after_s=10, crowd=10)) == [10] * 8
    assert people_every_2_s(detector, FixturesConfig(after_s=10, crowd=11)) == [10] * 5 + [9] * 3


def test_an_outage_forgets_the_things() -> None:
    detector = RecordingDetector([THING], [FAINT])
    settings = DetectorSettings(motion_gate=None, fixtures=FixturesConfig(after_s=4))
    pipeline = CameraPipeline(camera(fps=0.5), detector, TrackerConfig(), settings=settings)
    runner = CameraRunner(pipeline.camera, pipeline)
    runner.came_up()
    image = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)

    def people(t: float) -> int:
        result = runner.analyse(Frame(image, t, 1.7e9 + t))
        assert result is not None
        return result.people

    assert [people(t) for t in (0.0, 2.0, 4.0)] == [1, 1, 0]
    runner.went_down("stream lost")
    runner.came_up()
    assert [people(t) for t in (6.0, 8.0, 10.0)] == [1, 1, 0]  # found anew, a thing again 4 s later


def test_the_things_a_camera_leaves_out_are_counted_in_a_metric() -> None:
    """A count per camera, so that operations see a camera that keeps leaving something out."""
    config = Config(site="test-site", cameras=[camera(fps=0.5)])
    registry = CollectorRegistry()
    detector = RecordingDetector([PERSON, THING], [SURE, FAINT])
    metrics = EdgeMetrics(registry, config, detector.info)
    settings = DetectorSettings(motion_gate=None, fixtures=FixturesConfig(after_s=4))
    pipeline = CameraPipeline(config.cameras[0], detector, TrackerConfig(), metrics, settings)
    image = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    things = []
    for t in (0.0, 2.0, 4.0, 6.0):
        pipeline.analyse(Frame(image, t, 1.7e9 + t))
        things.append(registry.get_sample_value("wartezone_camera_things", CAMERA_LABELS))
    pipeline.forget()  # the camera went down: its places are forgotten

    assert things == [0, 0, 1, 1]
    assert registry.get_sample_value("wartezone_camera_things", CAMERA_LABELS) == 0
