"""One validated model of the whole YAML file: site, cameras, zones, detector, tracker, metrics."""

from __future__ import annotations

import difflib
import os
import re
import sysconfig
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from edge.detections import Anchor
from edge.zones.camera_floor import CameraFloor, seen_share
from edge.zones.floor import FloorCalibrationError
from edge.zones.geometry import polygon_area
from wartezone_contract import ID_PATTERN, ROOM_CAMERA

DEFAULT_MODEL_NAME = "yolo11n-pose.onnx"
INT8_MODEL_NAME = "yolo11n-pose-int8.onnx"  # models/quantize.py makes it from the default model
DEFAULT_METRICS_PORT = 9464
RTSP_URL_PATTERN = r"^rtsps?://"
HTTP_URL_PATTERN = r"^https?://"


def default_model(name: str = DEFAULT_MODEL_NAME) -> Path:
    """A shipped model (the default one unless named): models/ of this checkout, or where an
    installed wheel put it (share/wartezone/models under the environment's prefix)."""
    checkout = Path(__file__).resolve().parent.parent / "models" / name
    installed = Path(sysconfig.get_path("data")) / "share" / "wartezone" / "models" / name
    return checkout if checkout.is_file() or not installed.is_file() else installed


Identifier = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        description="Lower-case id (letters, digits, '-', '_'); used as a metric label value.",
    ),
]
Point = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]
# A zone or mask of less area is a slip (a corner clicked twice, corners in one line): 0.001 % of the
# picture is about 20 pixels of 1920 x 1080, less than a person's foot.
MIN_POLYGON_AREA = 1e-5
MAX_POLYGON_CORNERS = 100  # a hand-drawn outline has a dozen; its area costs corners squared
Polygon = Annotated[
    list[Point],
    Field(
        min_length=3,
        max_length=MAX_POLYGON_CORNERS,
        description="Corner points (x, y) in 0..1 image coordinates, in order; it must enclose at "
        f"least {MIN_POLYGON_AREA:.3%} of the picture.",
    ),
]


def _require_area(what: str, polygon: list[tuple[float, float]]) -> None:
    """A zone without area counts 0 for ever, and a mask without one blanks nothing."""
    area = polygon_area(polygon)
    if area < MIN_POLYGON_AREA:
        pixels = 1920 * 1080  # areas in pixels of a picture people know
        raise PydanticCustomError(
            "polygon_area",
            "{what} encloses {area} of a 1920 x 1080 picture's pixels, at least {least} needed: "
            "are its corners in one line, or on one point?",
            {"what": what, "area": f"{area * pixels:.0f}", "least": f"{MIN_POLYGON_AREA * pixels:.0f}"},
        )


def _mask_area(polygon: list[tuple[float, float]]) -> list[tuple[float, float]]:
    _require_area("this privacy mask", polygon)
    return polygon


class ConfigError(Exception):
    """A config that cannot run; each problem is (field path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{path}: {message}" for path, message in problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileSourceConfig(Strict):
    type: Literal["file"] = "file"
    path: Path = Field(description="Video file to read.")
    loop: bool = Field(False, description="Start again at the end (demos); else the camera ends.")
    realtime: bool = Field(
        True, description="Pace reading at the video's own speed, as a camera would deliver it."
    )


class _StreamTimeouts(Strict):
    open_timeout_s: float = Field(10.0, gt=0, le=120, description="Give up opening the stream after this.")
    read_timeout_s: float = Field(5.0, gt=0, le=120, description="Give up waiting for a frame after this.")


class RtspSourceConfig(_StreamTimeouts):
    type: Literal["rtsp"]
    url: str = Field(
        pattern=RTSP_URL_PATTERN,
        description="rtsp:// URL; write credentials as ${VAR}, taken from the environment at start.",
    )
    transport: Literal["tcp", "udp"] = Field("tcp", description="RTP transport; tcp survives lossy networks.")


class HttpSourceConfig(_StreamTimeouts):
    type: Literal["http"]
    url: str = Field(
        pattern=HTTP_URL_PATTERN,
        description="HTTP(S) MJPEG stream URL; credentials as ${VAR} from the environment.",
    )


class UsbSourceConfig(_StreamTimeouts):
    type: Literal["usb"]
    device: int | str = Field(description="V4L2 device: an index (0) or a path (/dev/video0).")


SourceConfig = Annotated[
    FileSourceConfig | RtspSourceConfig | HttpSourceConfig | UsbSourceConfig, Field(discriminator="type")
]


class ReconnectConfig(Strict):
    initial_s: float = Field(0.5, gt=0, le=60, description="First wait before reconnecting.")
    max_s: float = Field(3.0, gt=0, le=300, description="Longest wait between attempts (backoff cap).")
    jitter: float = Field(0.25, ge=0, lt=1, description="Each wait varies by up to this fraction.")


DISPLAY_NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60),
    Field(pattern=DISPLAY_NAME_PATTERN),
]


def _odd_frames(value: int) -> int:
    if value % 2 == 0:
        raise ValueError("must be odd, so the median is one of the counts")
    return value


# What a zone and a room share: how people's visits are counted (edge/zones/accounting.py).
LoiterLimit = Annotated[
    float, Field(gt=0, description="Seconds in the zone after which a person counts as loitering.")
]
SmoothingFrames = Annotated[
    int,
    Field(ge=1, le=15, description="Occupancy is the median of this many analysed frames (odd)."),
    AfterValidator(_odd_frames),
]
ExitGrace = Annotated[
    float,
    Field(
        gt=0,
        le=600,
        description="A visit ends when its person has not been seen inside for this long; shorter "
        "absences (hidden behind someone, missed in a frame) are bridged.",
    ),
]
ZoneName = Annotated[
    DisplayName | None,
    Field(
        description="Display name for reception, the lead and the dashboards (exported as "
        "wartezone_zone_info's name label); none: the id is shown."
    ),
]


class ZoneConfig(Strict):
    id: Identifier
    name: ZoneName = None
    polygon: Polygon
    loiter_limit_s: LoiterLimit = 600.0
    anchor: Anchor = Field(
        Anchor.BOX_BOTTOM,
        description="Point of a person that decides membership: box_bottom, feet (ankle keypoints "
        "where visible, else box bottom) or box_center.",
    )
    smoothing_frames: SmoothingFrames = 3
    exit_grace_s: ExitGrace = 4.0
    room: Identifier | None = Field(
        None,
        description="The room of floor.rooms this zone is part of (for a room whose cameras are on "
        "different boxes: the API adds such zones); none: the zone stands alone.",
    )

    @field_validator("polygon")
    @classmethod
    def _has_area(cls, value: list[tuple[float, float]], info: ValidationInfo) -> list[tuple[float, float]]:
        zone_id = info.data.get("id")
        _require_area("this zone" if zone_id is None else f"zone {zone_id!r}", value)
        return value


# --- the floor plan (edge/zones/floor.py, edge/zones/rooms.py) --------------------------------------
# A room smaller than this is a slip (a corner typed twice, metres typed as centimetres): one seat.
MIN_ROOM_AREA_M2 = 0.5
FLOOR_EXTENT_M = 10_000.0  # a plan coordinate further out is a typo (millimetres?), not a building
Metres = Annotated[float, Field(ge=-FLOOR_EXTENT_M, le=FLOOR_EXTENT_M)]
FloorPoint = tuple[Metres, Metres]


class RoomConfig(Strict):
    """A room of the floor plan: counted on the floor from every calibrated camera that sees part of
    it, each person once, and exported as a zone of the reserved camera "floor"."""

    id: Identifier
    name: ZoneName = None
    polygon: list[FloorPoint] = Field(
        min_length=3,
        max_length=MAX_POLYGON_CORNERS,
        description=f"Corner points (x, y) in metres on the plan, in order; at least {MIN_ROOM_AREA_M2} m^2.",
    )
    loiter_limit_s: LoiterLimit = 600.0
    smoothing_frames: SmoothingFrames = 3
    exit_grace_s: ExitGrace = 4.0

    @field_validator("polygon")
    @classmethod
    def _has_area(cls, value: list[tuple[float, float]], info: ValidationInfo) -> list[tuple[float, float]]:
        area = polygon_area(value)
        if area < MIN_ROOM_AREA_M2:
            room = info.data.get("id")
            raise PydanticCustomError(
                "room_area",
                "{what} encloses {area} m^2, at least {least} m^2 needed: are its corners in one line, "
                "or typed in another unit?",
                {
                    "what": "this room" if room is None else f"room {room!r}",
                    "area": f"{area:.2f}",
                    "least": f"{MIN_ROOM_AREA_M2}",
                },
            )
        return value


class FloorConfig(Strict):
    rooms: list[RoomConfig] = Field(min_length=1, description="The site's rooms on its floor plan.")

    @model_validator(mode="after")
    def _room_ids_unique(self) -> FloorConfig:
        _require_unique([r.id for r in self.rooms], "room id")
        return self


class FloorPair(Strict):
    image: Point = Field(description="The mark in the camera's picture, (x, y) fractions 0..1.")
    floor: FloorPoint = Field(description="The same mark on the plan, (x, y) metres.")


class FloorCalibrationConfig(Strict):
    """How a camera's picture maps to the floor plan: point pairs (fitted robustly, see
    edge/zones/floor.fit_floor) or an OpenCV calibration file (intrinsics and extrinsics)."""

    points: list[FloorPair] | None = Field(
        None,
        min_length=4,
        max_length=100,
        description="Four or more marks on the floor seen in the picture and measured on the plan.",
    )
    opencv: Path | None = Field(
        None,
        description="cv2.FileStorage XML or YAML with camera_matrix, dist_coeffs, rvec, tvec (world "
        "units metres, floor z = 0) and image_width, image_height; relative to this file.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> FloorCalibrationConfig:
        if (self.points is None) == (self.opencv is None):
            raise ValueError("give either points or opencv, not both and not neither")
        return self


class CountCorrection(Strict):
    """A camera's own count correction, written by `wartezone calibrate` from its labelled stills:
    a zone's count becomes round(scale x count + offset x the zone's share of the picture)."""

    scale: float = Field(ge=0.5, le=2.0, description="Factor on the detected count.")
    offset: float = Field(ge=-10, le=10, description="People added per whole picture (negative: removed).")
    stills: int = Field(ge=1, description="Labelled stills it was fitted on.")
    days: int = Field(ge=1, description="Different days those stills come from.")


class CameraConfig(Strict):
    id: Identifier
    source: SourceConfig
    fps: float = Field(2.0, gt=0, le=30, description="Frames per second to analyse.")
    zones: list[ZoneConfig] = Field(
        default_factory=list,
        description="Waiting zones seen by this camera; none: the camera counts only for the rooms "
        "its floor calibration reaches (and needs one).",
    )
    privacy_masks: list[Annotated[Polygon, AfterValidator(_mask_area)]] = Field(
        default_factory=list, description="Polygons blanked to black before detection."
    )
    stall_timeout_s: float = Field(
        10.0, gt=0, le=600, description="No new frame for this long: the camera counts as stalled (down)."
    )
    max_gap_s: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Down longer than this: open visits end at their last sighting instead of "
        "spanning the outage.",
    )
    reconnect: ReconnectConfig = Field(default_factory=ReconnectConfig)
    count_correction: CountCorrection | None = Field(
        None, description="Written by `wartezone calibrate`; none: counts as detected."
    )
    floor_calibration: FloorCalibrationConfig | None = Field(
        None, description="Picture to floor plan; needed for the camera to count rooms."
    )

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == ROOM_CAMERA:
            raise ValueError(f"camera id {ROOM_CAMERA!r} is reserved: rooms are exported under it")
        return value

    @model_validator(mode="after")
    def _zone_ids_unique(self) -> CameraConfig:
        _require_unique([z.id for z in self.zones], "zone id")
        return self


class QuietDuplicatesConfig(Strict):
    """Second boxes around a person in a frame with few people; see drop_quiet_duplicates."""

    crowd: int = Field(
        10,
        ge=1,
        le=1000,
        description="The rule holds in frames with fewer boxes at `confidence` or more than this; in a "
        "crowd a box inside another is someone standing behind.",
    )
    below: float = Field(0.1, gt=0, le=1, description="Only boxes scoring under this can be a second box.")
    inside: float = Field(
        0.7, ge=0.3, le=1, description="A share of the box's area lying inside a more confident box."
    )


class FixturesConfig(Strict):
    """Faint boxes found at one place for a while, never a confident one there, are a thing (a bollard,
    a door frame), not a person; see edge/zones/fixtures.py."""

    after_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Faint boxes at one place this long make it a thing's place. A person seen only "
        "faintly who stays this long at one place, never once clearly, is left out too.",
    )
    crowd: int = Field(
        10,
        ge=1,
        le=1000,
        description="The rule holds in frames with fewer boxes at `confidence` or more than this; in a "
        "crowd a faint box that stays is someone hidden between others.",
    )


class MotionGateConfig(Strict):
    """The detector runs on a frame only where the picture changed since its last detection; see
    edge/motion.py."""

    pixel_change: int = Field(
        16, ge=1, le=255, description="A pixel of the small grey copy changed when its value moved by more."
    )
    changed_share: float = Field(
        0.0005,
        ge=0,
        lt=1,
        description="The picture changed when more than this share of its pixels did (0.0005: a few "
        "pixels of a 160-pixel-wide copy, less than a distant person).",
    )
    full_every_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="The detector looks at the whole picture at least this often, however still it is "
        "or busy a part of it, so a count never stands longer than this on an old detection.",
    )
    skip_in_place: bool = Field(
        True,
        description="Where two looks in a row found everyone at one place, a change within their boxes "
        "(a tenth of their height around) is someone moving in place, a seated person's hands or "
        "someone shifting their weight: it does not call the detector. Someone leaving moves out of "
        "their box, which counts; false: any change does.",
    )
    windows: bool = Field(
        True,
        description="Where what changed, grown to the whole people it touches, is at most half the "
        "picture's width, the detector looks only at an upright strip around it (the picture's height, "
        "half its width, at the whole picture's scale: about half the time) and the people elsewhere "
        "stand; false: a change has the whole picture detected.",
    )


class DetectorSettings(Strict):
    """What every backend shares; each backend's own model below adds its `type` and extras."""

    model: Path = Field(
        default_factory=default_model, description="Model file (.onnx, or .pt for ultralytics)."
    )
    input_size: tuple[Annotated[int, Field(ge=64, le=2048, multiple_of=32)], ...] = Field(
        (1088, 1440),
        min_length=2,
        max_length=2,
        description="Largest network input (height, width), multiples of 32; a portrait frame gets it "
        "turned (width, height); a frame of another shape is scaled to fit and padded only up to the "
        "next multiple of 32.",
    )
    confidence: float = Field(0.04, gt=0, lt=1, description="Minimum person confidence.")
    face_confidence: float | None = Field(
        0.01,
        gt=0,
        lt=1,
        description="A fainter box down to this score still counts when the model sees its face clearly "
        "(3 of its 5 face keypoints) and no more confident box has that face: people between others in "
        "a crowd; null: only `confidence` counts.",
    )
    nms_iou: float = Field(0.5, gt=0, lt=1, description="Boxes overlapping more than this are merged.")
    large_box_px: int | None = Field(
        300,
        ge=32,
        description="A box taller than this in network-input pixels needs large_box_confidence: someone "
        "that large is seen clearly and scores high, a large faint box is a door or a wall; null: no rule.",
    )
    large_box_confidence: float = Field(0.1, gt=0, lt=1, description="See large_box_px.")
    edge_fragment_inside: float | None = Field(
        0.8,
        ge=0.5,
        le=1,
        description="A box on the edge of the picture lying at least this share inside a more confident "
        "box is a piece of a person cut by the edge, not another person; null keeps such boxes.",
    )
    quiet_duplicates: QuietDuplicatesConfig | None = Field(
        default_factory=QuietDuplicatesConfig,
        description="In a frame with few people, a faint box lying mostly inside a more confident one is "
        "that person seen twice and is dropped; null keeps such boxes.",
    )
    threads: int = Field(2, ge=1, le=64, description="CPU threads for inference.")
    region: Literal["frame", "zones"] = Field(
        "frame",
        description="Look at the whole frame, or only the bounding box of the camera's zones "
        "(seen larger, so small people are found).",
    )
    motion_gate: MotionGateConfig | None = Field(
        default_factory=MotionGateConfig,
        description="Where a camera's picture did not change since its last detection, that detection's "
        "people stand and the detector is not run; null: every analysed frame is detected.",
    )
    fixtures: FixturesConfig | None = Field(
        default_factory=FixturesConfig,
        description="In a video, faint boxes a camera keeps finding at one place, never a confident one "
        "there, are left out as a thing; null keeps them.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_tiling(cls, data: Any) -> Any:
        """`tiling` was removed; `tiling: null`, as the docs showed it, still reads."""
        if isinstance(data, dict) and "tiling" in data:
            if data["tiling"] is not None:
                raise ValueError(
                    "tiling was removed: the input budget (input_size) scales a picture up so that small "
                    "people are found, and tiles at that budget counted PETS with an error of 3.7 people "
                    "a frame instead of 0.22; delete the key"
                )
            data = {k: v for k, v in data.items() if k != "tiling"}
        return data

    @model_validator(mode="after")
    def _face_below_sure(self) -> DetectorSettings:
        if self.face_confidence is not None and self.face_confidence > self.confidence:
            raise ValueError(
                f"face_confidence ({self.face_confidence}) is the floor for faint boxes with a face seen: "
                f"it must not be above confidence ({self.confidence})"
            )
        return self


class OpenvinoDetectorConfig(DetectorSettings):
    type: Literal["openvino"] = Field("openvino", description="OpenVINO runtime on the .onnx file (default).")
    precision: Literal["auto", "f32", "int8"] = Field(
        "auto",
        description="auto computes in whichever of float32 and bfloat16 (where the CPU has it natively: "
        "AMX, AVX512-BF16) this CPU runs faster, timed when the detector is built; f32 always computes in "
        "float32; int8 runs an int8 model (the model named, else the shipped int8 model), faster but less "
        "accurate, so auto never picks it.",
    )
    device: Literal["CPU", "GPU", "AUTO"] = Field(
        "CPU",
        description="OpenVINO device: CPU; GPU for an Intel integrated or discrete GPU; AUTO takes a GPU "
        'where there is one, else the CPU. Only the CPU is measured (README, "Speed").',
    )
    streams: int = Field(
        1,
        ge=1,
        le=4,
        description="Frames the detector works on at once, each on its share of `threads` (OpenVINO's "
        "throughput mode), from as many analysis threads. 1: one frame at a time on all threads.",
    )

    @model_validator(mode="before")
    @classmethod
    def _int8_model(cls, data: object) -> object:
        """precision int8 with no model named: the shipped int8 model, not the float one."""
        if isinstance(data, dict) and data.get("precision") == "int8" and data.get("model") is None:
            return {**data, "model": default_model(INT8_MODEL_NAME)}
        return data


class OnnxDetectorConfig(DetectorSettings):
    type: Literal["onnx"] = Field(description="onnxruntime on the .onnx file, in float32.")


class UltralyticsDetectorConfig(DetectorSettings):
    type: Literal["ultralytics"] = Field(description="The ultralytics package on a .pt checkpoint (extra).")


def _detector_type(value: object) -> str:
    """The backend a detector section names; none named is the default, openvino."""
    found = value.get("type", "openvino") if isinstance(value, dict) else getattr(value, "type", "openvino")
    return str(found)


DetectorConfig = Annotated[
    Annotated[OpenvinoDetectorConfig, Tag("openvino")]
    | Annotated[OnnxDetectorConfig, Tag("onnx")]
    | Annotated[UltralyticsDetectorConfig, Tag("ultralytics")],
    Discriminator(
        _detector_type,
        custom_error_type="detector_type",
        custom_error_message="type must be one of openvino, onnx, ultralytics",
    ),
]


class TrackerConfig(Strict):
    lost_track_s: float = Field(
        4.0, gt=0, le=60, description="Seconds a track is kept while its person goes unseen."
    )
    activation_confidence: float = Field(0.25, gt=0, lt=1, description="Confidence that starts a track.")
    high_confidence: float = Field(0.25, gt=0, lt=1, description="ByteTrack's first-stage confidence.")
    min_iou: float = Field(0.05, gt=0, lt=1, description="Minimum (buffered) overlap to continue a track.")
    match_buffer: float = Field(
        3.0,
        ge=0,
        le=5,
        description="Boxes are widened by this fraction of their size before matching: at the 1-2 frames "
        "a second an edge box analyses, a walking person moves further than their own width.",
    )
    confirm_frames: int = Field(
        2,
        ge=2,
        le=10,
        description="Consecutive matched frames before a track is a person "
        "(ByteTrack confirms on a match, so 2 at least).",
    )


class MetricsConfig(Strict):
    host: str = Field("127.0.0.1", description="Listen address of /metrics.")
    port: int = Field(
        DEFAULT_METRICS_PORT, ge=0, le=65535, description="Listen port of /metrics; 0 picks a free one."
    )


class Config(Strict):
    site: Identifier
    cameras: list[CameraConfig] = Field(min_length=1)
    detector: DetectorConfig = Field(default_factory=OpenvinoDetectorConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    floor: FloorConfig | None = Field(
        None, description="The site's floor plan: rooms in metres, counted from calibrated cameras."
    )

    @model_validator(mode="after")
    def _camera_ids_unique(self) -> Config:
        _require_unique([c.id for c in self.cameras], "camera id")
        return self

    @model_validator(mode="after")
    def _rooms_distinct_from_zones(self) -> Config:
        """A room is exported as a zone: its id must not be one a camera's zone already has."""
        zones = {zone.id: camera.id for camera in self.cameras for zone in camera.zones}
        for room in self.floor.rooms if self.floor else []:
            if room.id in zones:
                raise ValueError(
                    f"room id {room.id!r} is also a zone of camera {zones[room.id]!r}: rooms and zones "
                    "share the metrics, so their ids must differ"
                )
        return self

    @model_validator(mode="after")
    def _zone_rooms_known(self) -> Config:
        rooms = [room.id for room in self.floor.rooms] if self.floor else []
        for camera in self.cameras:
            for zone in camera.zones:
                if zone.room is not None and zone.room not in rooms:
                    known = ", ".join(rooms) if rooms else "none: the file has no floor.rooms"
                    raise ValueError(
                        f"zone {zone.id!r} of camera {camera.id!r} names room {zone.room!r}, which is "
                        f"not in floor.rooms (known: {known})"
                    )
        return self


def _require_unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


# Tags of the discriminated unions (source and detector types) that pydantic puts into an error's
# location; a reader wants the field path alone.
_UNION_TAGS = {"file", "rtsp", "http", "usb", "openvino", "onnx", "ultralytics", "function-after"}


def _field_path(location: tuple[int | str, ...], error_type: str = "") -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in _UNION_TAGS:
            path += f".{part}" if path else str(part)
    if error_type == "detector_type":  # the detector section names no backend we have: its `type`
        path += ".type"
    return path or "(file)"


# What a pattern means, for people who do not read regular expressions.
PATTERN_WORDS = {
    ID_PATTERN: "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 63",
    RTSP_URL_PATTERN: "an address starting with rtsp:// or rtsps://",
    HTTP_URL_PATTERN: "an address starting with http:// or https://",
    DISPLAY_NAME_PATTERN: "text without line breaks or other control characters",
}
# Where the discriminated unions lead (their tags stand in an error's location).
UNION_MODELS: dict[str, type[BaseModel]] = {
    "file": FileSourceConfig,
    "rtsp": RtspSourceConfig,
    "http": HttpSourceConfig,
    "usb": UsbSourceConfig,
    "openvino": OpenvinoDetectorConfig,
    "onnx": OnnxDetectorConfig,
    "ultralytics": UltralyticsDetectorConfig,
}


def _explain(error: ErrorDetails) -> str:
    """pydantic's message in words an installer acts on, for the mistakes people make."""
    kind, location, value = error["type"], error["loc"], error.get("input")
    if kind == "extra_forbidden":
        known = _known_keys(location[:-1])
        close = difflib.get_close_matches(str(location[-1]), known, n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known here: {', '.join(sorted(known))}"
        return f"unknown key{hint}"
    if kind == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        return f"must be {PATTERN_WORDS.get(pattern, 'of the form ' + pattern)}, got {value!r}"
    in_coordinates = any(part in ("polygon", "privacy_masks") for part in location)
    if in_coordinates and kind == "less_than_equal" and isinstance(value, int | float) and value > 1:
        return f"points are fractions 0..1 of the image (x to the right, y down), got {value}: pixels?"
    return error["msg"]


def _known_keys(location: tuple[int | str, ...]) -> list[str]:
    """The keys the model at `location` (a mapping in the file) accepts."""
    model: type[BaseModel] = Config
    for part in location:
        if isinstance(part, int):
            continue
        if part in UNION_MODELS:
            model = UNION_MODELS[part]
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        nested = [
            arg for arg in _flatten(field.annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)
        ]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _flatten(annotation: object) -> list[object]:
    """The types inside list[...], X | None, Annotated[...], unions."""
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [inner for arg in args for inner in _flatten(arg)]


def parse_config(data: object, base_dir: Path, environment: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed YAML document; relative paths are taken from base_dir, and ${VAR} in
    stream URLs from `environment` (default: the process environment)."""
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError([(_field_path(e["loc"], e["type"]), _explain(e)) for e in error.errors()]) from None
    config = _expand_url_variables(config, os.environ if environment is None else environment)
    config = _resolve_paths(config, base_dir)
    problems = floor_problems(config)
    if problems:
        raise ConfigError(problems)
    return config


def camera_floor(camera: CameraConfig) -> CameraFloor | None:
    """The camera's floor mapping (None: not calibrated); FloorCalibrationError says why it fails."""
    calibration = camera.floor_calibration
    if calibration is None:
        return None
    pairs = None if calibration.points is None else [(p.image, p.floor) for p in calibration.points]
    return CameraFloor.from_config(pairs, calibration.opencv)


def room_cameras(config: Config) -> dict[str, list[str]]:
    """Each room of the floor plan and the calibrated cameras whose footprint reaches into it, in
    the order of the cameras; a room no camera of this box sees is left out (its member zones are
    added by the API)."""
    floors = {camera.id: camera_floor(camera) for camera in config.cameras}
    seeing = {}
    for room in config.floor.rooms if config.floor else []:
        cameras = [
            c for c, f in floors.items() if f is not None and seen_share(room.polygon, [f.footprint]) > 0
        ]
        if cameras:
            seeing[room.id] = cameras
    return seeing


def floor_problems(config: Config) -> list[tuple[str, str]]:
    """What the floor plan needs beyond each field: every calibration fits, and every room is seen
    by a calibrated camera or has member zones (a room nobody sees would read 0 for ever)."""
    problems: list[tuple[str, str]] = []
    footprints = []
    for i, camera in enumerate(config.cameras):
        try:
            mapping = camera_floor(camera)
        except FloorCalibrationError as error:
            problems.append((f"cameras[{i}].floor_calibration", str(error)))
            continue
        if mapping is not None:
            footprints.append(mapping.footprint)
    members = {zone.room for camera in config.cameras for zone in camera.zones}
    rates = {camera.id: camera.fps for camera in config.cameras}
    seeing = {} if problems else room_cameras(config)
    for j, room in enumerate(config.floor.rooms if config.floor else []):
        cameras = seeing.get(room.id, [])
        if len({rates[c] for c in cameras}) > 1:
            seen = ", ".join(f"{c} ({rates[c]:g} fps)" for c in cameras)
            problems.append(
                (
                    f"floor.rooms[{j}]",
                    f"room {room.id!r} is seen by {seen}: a room's cameras need one fps, so that "
                    "their frames pair up in time",
                )
            )
    if not problems:  # a failed calibration is said above; what it would see is unknown
        in_rooms = {camera for cameras in seeing.values() for camera in cameras}
        for i, camera in enumerate(config.cameras):
            if not camera.zones and camera.id not in in_rooms:
                problems.append(
                    (
                        f"cameras[{i}].zones",
                        f"camera {camera.id!r} has no zone and sees no room of the floor plan (no "
                        "floor_calibration whose footprint reaches one): give it a zone, or a room to count",
                    )
                )
    for j, room in enumerate(config.floor.rooms if config.floor else []):
        if room.id not in members and seen_share(room.polygon, footprints) == 0:
            problems.append(
                (
                    f"floor.rooms[{j}]",
                    f"room {room.id!r} is seen by no calibrated camera (no floor_calibration's footprint "
                    "reaches it) and no zone names it as its room",
                )
            )
    return problems


URL_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_url_variables(config: Config, environment: Mapping[str, str]) -> Config:
    """Credentials stay out of the YAML file: ${VAR} in a URL is read from the environment."""
    problems: list[tuple[str, str]] = []
    cameras = []
    for i, camera in enumerate(config.cameras):
        source = camera.source
        if isinstance(source, RtspSourceConfig | HttpSourceConfig):
            missing = [name for name in URL_VARIABLE.findall(source.url) if name not in environment]
            if missing:
                problems.append((f"cameras[{i}].source.url", f"environment variable {missing[0]} is not set"))
                continue
            url = URL_VARIABLE.sub(lambda m: quote(environment[m.group(1)], safe=""), source.url)
            camera = camera.model_copy(update={"source": source.model_copy(update={"url": url})})
        cameras.append(camera)
    if problems:
        raise ConfigError(problems)
    return config.model_copy(update={"cameras": cameras})


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    cameras = []
    for camera in config.cameras:
        if isinstance(camera.source, FileSourceConfig):
            source = camera.source.model_copy(update={"path": base_dir / camera.source.path})
            camera = camera.model_copy(update={"source": source})
        calibration = camera.floor_calibration
        if calibration is not None and calibration.opencv is not None:
            resolved = calibration.model_copy(update={"opencv": base_dir / calibration.opencv})
            camera = camera.model_copy(update={"floor_calibration": resolved})
        cameras.append(camera)
    detector = config.detector.model_copy(update={"model": base_dir / config.detector.model})
    return config.model_copy(update={"cameras": cameras, "detector": detector})


def load_config(path: Path) -> Config:
    """Read and validate one YAML config file; every problem is reported at once."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([("(file)", f"cannot read {path}: {error.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError([("(file)", f"not valid YAML: {error}")]) from None
    return parse_config(data, path.resolve().parent)


WHOLE_FRAME = ZoneConfig(id="frame", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])


def default_config(video: Path | None = None, fps: float = 10.0) -> Config:
    """The built-in settings: one camera, one zone covering the whole frame."""
    return Config(
        site="default",
        cameras=[
            CameraConfig(
                id="camera",
                source=FileSourceConfig(path=video or Path("video.mp4"), realtime=False),
                fps=fps,
                zones=[WHOLE_FRAME],
            )
        ],
    )
