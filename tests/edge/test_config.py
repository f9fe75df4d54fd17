"""A bad config file exits 2 and names every failing field path; no traceback."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.cli import EXIT_BAD_INPUT, main
from edge.config import ConfigError, load_config
from tests.conftest import MODEL


def _run(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["replay", "/nonexistent.avi", "-c", str(config)])
    return code, capsys.readouterr().err


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set a dotted path like 'cameras.0.zones.0.polygon' in a nested dict."""
    node: Any = data
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


BROKEN = [
    ("unknown key", "cameras.0.zone", [], "cameras[0].zone"),
    ("unknown top-level key", "sites", "x", "sites"),
    ("polygon of 2 points", "cameras.0.zones.0.polygon", [[0, 0], [1, 1]], "cameras[0].zones[0].polygon"),
    (
        "coordinate above 1",
        "cameras.0.zones.0.polygon",
        [[0, 0], [1.5, 0], [1, 1]],
        "cameras[0].zones[0].polygon[1][0]",
    ),
    (
        "negative coordinate",
        "cameras.0.zones.0.polygon",
        [[0, -0.1], [1, 0], [1, 1]],
        "cameras[0].zones[0].polygon[0][1]",
    ),
    ("zero frame rate", "cameras.0.fps", 0, "cameras[0].fps"),
    ("negative frame rate", "cameras.0.fps", -2, "cameras[0].fps"),
    ("no zones", "cameras.0.zones", [], "cameras[0].zones"),
    (
        "bad privacy mask",
        "cameras.0.privacy_masks",
        [[[0, 0], [2, 0], [0, 1]]],
        "cameras[0].privacy_masks[0][1][0]",
    ),
    ("input size not a multiple of 32", "detector", {"input_size": [640, 650]}, "detector.input_size[1]"),
    ("odd detector type", "detector", {"type": "magic"}, "detector.type"),
    (
        "even smoothing window",
        "cameras.0.zones.0.smoothing_frames",
        4,
        "cameras[0].zones[0].smoothing_frames",
    ),
    ("smoothing on the tracker", "tracker", {"smoothing_frames": 3}, "tracker.smoothing_frames"),
    ("precision on onnxruntime", "detector", {"type": "onnx", "precision": "f32"}, "detector.precision"),
    ("upper-case site id", "site", "North Branch", "site"),
]


@pytest.mark.parametrize(("case", "path", "value", "field"), BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_field_exits_2_naming_it(
    case: str,
    path: str,
    value: Any,
    field: str,
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = _run(write_config(_set(config_dict(), path, value)), capsys)
    assert code == EXIT_BAD_INPUT
    assert f"  {field}:" in err, err
    assert "Traceback" not in err


def test_duplicate_zone_ids_are_named(
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    zone = {"id": "waiting", "polygon": [[0, 0], [1, 0], [1, 1]]}
    code, err = _run(write_config(config_dict(zones=[zone, zone])), capsys)
    assert code == EXIT_BAD_INPUT
    assert "cameras[0]: " in err and "duplicate zone id 'waiting'" in err


def test_duplicate_camera_ids_are_named(
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = config_dict()
    data["cameras"].append(data["cameras"][0])
    code, err = _run(write_config(data), capsys)
    assert code == EXIT_BAD_INPUT
    assert "duplicate camera id 'cam'" in err


def test_every_problem_is_reported_at_once(
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _set(config_dict(fps=0), "cameras.0.zones.0.polygon", [[0, 0], [1, 1]])
    data["colour"] = "red"
    code, err = _run(write_config(data), capsys)
    assert code == EXIT_BAD_INPUT
    for field in ("cameras[0].fps", "cameras[0].zones[0].polygon", "colour"):
        assert f"  {field}:" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "(file): Input should be a valid dictionary"),
        ("site: [unclosed", "(file): not valid YAML"),
        ("- just\n- a list\n", "(file): Input should be a valid dictionary"),
        ("site: ok\n", "cameras: Field required"),
    ],
    ids=["empty file", "invalid yaml", "a list", "no cameras"],
)
def test_unusable_files_exit_2(
    text: str, expected: str, write_config: Callable[[Any], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(write_config(text), capsys)
    assert code == EXIT_BAD_INPUT
    assert expected in err


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path / "nope.yaml", capsys)
    assert code == EXIT_BAD_INPUT
    assert "cannot read" in err


def _model_copy(tmp_path: Path) -> Path:
    model = tmp_path / "model.onnx"
    shutil.copy(MODEL, model)
    shutil.copy(MODEL.with_name(MODEL.name + ".manifest.json"), model.with_name("model.onnx.manifest.json"))
    return model


def test_missing_model_file_exits_2(
    tmp_path: Path,
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = config_dict()
    data["detector"] = {"model": str(tmp_path / "absent.onnx")}
    code, err = _run(write_config(data), capsys)
    assert code == EXIT_BAD_INPUT
    assert "  detector.model:" in err and "does not exist" in err


def test_tampered_model_file_exits_2(
    tmp_path: Path,
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = _model_copy(tmp_path)
    with model.open("r+b") as stream:  # one flipped byte in the weights
        stream.seek(model.stat().st_size // 2)
        byte = stream.read(1)
        stream.seek(-1, 1)
        stream.write(bytes([byte[0] ^ 0xFF]))
    data = config_dict()
    data["detector"] = {"model": str(model)}
    code, err = _run(write_config(data), capsys)
    assert code == EXIT_BAD_INPUT
    assert "  detector.model:" in err and "sha256" in err


def test_model_without_manifest_exits_2(
    tmp_path: Path,
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = _model_copy(tmp_path)
    model.with_name("model.onnx.manifest.json").write_text(json.dumps({"name": "x"}))
    data = config_dict()
    data["detector"] = {"model": str(model)}
    code, err = _run(write_config(data), capsys)
    assert code == EXIT_BAD_INPUT
    assert "  detector.model:" in err and "manifest" in err


def test_valid_file_loads_with_paths_relative_to_it(
    tmp_path: Path, write_config: Callable[[Any], Path]
) -> None:
    path = write_config(
        {
            "site": "north",
            "cameras": [
                {
                    "id": "door",
                    "source": {"type": "file", "path": "videos/a.mp4"},
                    "zones": [{"id": "waiting", "polygon": [[0, 0], [1, 0], [1, 1]], "anchor": "feet"}],
                }
            ],
        }
    )
    config = load_config(path)
    assert config.cameras[0].source.path == tmp_path / "videos" / "a.mp4"
    assert config.metrics.host == "127.0.0.1"
    assert config.cameras[0].zones[0].anchor == "feet"


def test_tiling_null_as_the_docs_once_showed_it_still_loads(
    config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]
) -> None:
    data = config_dict()
    data["detector"] = {"tiling": None, "confidence": 0.05}

    assert load_config(write_config(data)).detector.confidence == 0.05


def test_config_error_lists_problems() -> None:
    error = ConfigError([("a.b", "bad"), ("c", "worse")])
    assert str(error) == "a.b: bad\nc: worse"


WORDS = [
    (
        "typo in a zone key",
        "cameras.0.zones.0.loiter_limt_s",
        60,
        "unknown key; did you mean 'loiter_limit_s'?",
    ),
    ("typo in a source key", "cameras.0.source.realtme", True, "unknown key; did you mean 'realtime'?"),
    ("typo at the top", "detectr", {}, "unknown key; did you mean 'detector'?"),
    ("no close key", "metrics.adress", "x", "unknown key; known here: host, port"),
    (
        "pixels for fractions",
        "cameras.0.zones.0.polygon",
        [[0, 0], [640, 0], [640, 480]],
        "points are fractions 0..1 of the image (x to the right, y down), got 640: pixels?",
    ),
    (
        "an id with capitals",
        "site",
        "North Branch",
        "must be lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 63, "
        "got 'North Branch'",
    ),
    (
        "an rtsp camera with an http address",
        "cameras.0.source",
        {"type": "rtsp", "url": "http://192.0.2.10/stream"},
        "must be an address starting with rtsp:// or rtsps://, got 'http://192.0.2.10/stream'",
    ),
    (
        "tiles, which were removed",
        "detector",
        {"tiling": {"rows": 2, "cols": 2}},
        "tiling was removed: the input budget (input_size) scales a picture up",
    ),
    (
        "a display name over two lines",
        "cameras.0.zones.0.name",
        "Warte\nbereich",
        "must be text without line breaks or other control characters",
    ),
]


@pytest.mark.parametrize(("case", "path", "value", "words"), WORDS, ids=[c[0] for c in WORDS])
def test_mistakes_people_make_are_named_in_words_they_act_on(
    case: str,
    path: str,
    value: Any,
    words: str,
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = config_dict()
    data.setdefault("metrics", {})
    code, err = _run(write_config(_set(data, path, value)), capsys)
    assert code == EXIT_BAD_INPUT
    assert words in err, err
    assert "pattern" not in err and "Extra inputs" not in err


WITHOUT_AREA = [
    ("three equal points", [[0.3, 0.3], [0.3, 0.3], [0.3, 0.3]], 0),
    ("corners in one line", [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]], 0),
    ("out along a line and back", [[0.1, 0.2], [0.9, 0.2], [0.5, 0.2], [0.9, 0.2]], 0),
    ("a sliver of a few pixels", [[0.0, 0.0], [0.004, 0.0], [0.0, 0.004]], 17),
]


@pytest.mark.parametrize(("case", "polygon", "pixels"), WITHOUT_AREA, ids=[c[0] for c in WITHOUT_AREA])
@pytest.mark.parametrize(
    ("key", "field", "what"),
    [
        ("zones", "cameras[0].zones[0].polygon", "zone 'queue'"),
        ("privacy_masks", "cameras[0].privacy_masks[0]", "this privacy mask"),
    ],
    ids=["zone", "mask"],
)
def test_a_zone_or_mask_without_area_is_refused_naming_it_and_its_area(
    case: str,
    polygon: list[list[float]],
    pixels: int,
    key: str,
    field: str,
    what: str,
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    value = [{"id": "queue", "polygon": polygon}] if key == "zones" else [polygon]
    code, err = _run(write_config(config_dict(**{key: value})), capsys)
    assert code == EXIT_BAD_INPUT
    assert (
        f"  {field}: {what} encloses {pixels} of a 1920 x 1080 picture's pixels, at least 21 needed" in err
    ), err


@pytest.mark.parametrize(
    "masks",
    [
        [],  # none
        [[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]],  # a triangle
        [[[0.0, 0.2], [0.5, 1.0], [0.5, 0.2], [0.0, 1.0]]],  # a bow tie: its halves do not cancel
        [[[0.5, 0.5], [0.5032, 0.5], [0.5032, 0.5032], [0.5, 0.5032]]],  # just above the least area
    ],
)
def test_polygons_with_area_are_accepted(
    masks: list[Any], config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]
) -> None:
    zones = [{"id": "queue", "polygon": mask} for mask in masks] or [
        {"id": "all", "polygon": [[0, 0], [1, 0], [1, 1]]}
    ]
    config = load_config(write_config(config_dict(zones=zones, privacy_masks=masks)))
    assert len(config.cameras[0].privacy_masks) == len(masks)


def test_a_polygon_of_more_than_100_corners_is_refused(
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    circle = [
        [0.5 + 0.4 * math.cos(a / 101 * math.tau), 0.5 + 0.4 * math.sin(a / 101 * math.tau)]
        for a in range(101)
    ]
    code, err = _run(write_config(config_dict(privacy_masks=[circle])), capsys)
    assert code == EXIT_BAD_INPUT
    assert "  cameras[0].privacy_masks[0]: List should have at most 100 items" in err, err
