"""`wartezone eval --room`: a room seen by two cameras against a truth per timestamp, each camera
alone and merged, people in the overlap counted once, and the plan drawn without people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml
from numpy.typing import NDArray

import edge.cli
import edge.room_eval
from edge.cli import EXIT_BAD_INPUT, main
from edge.config import parse_config
from edge.detect.base import ModelInfo
from edge.detections import Detections
from edge.evaluate import GroundTruthError
from edge.room_eval import eval_room, read_room_truth
from tests.edge.zones.test_room_steps import IN_OVERLAP, LEFT, LEFT_ONLY, RIGHT, RIGHT_ONLY, people, site_data

GREY = {"left": 50, "right": 200}  # each camera's picture, so the stand-in knows which it sees


class TwoViewDetector:
    """Finds the left camera's people (one in the overlap, one only it sees) in a dark picture, the
    right camera's (the same one in the overlap, one only it sees) in a bright one."""

    info = ModelInfo(name="stand-in", sha256="0" * 64, backend="stand-in", input_size="any")

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[tuple[int, int, int, int]] | None = None
    ) -> list[Detections]:
        return [
            people(IN_OVERLAP, LEFT_ONLY, x0=LEFT)
            if image.mean() < 128
            else people(IN_OVERLAP, RIGHT_ONLY, x0=RIGHT)
            for image in images
        ]


@pytest.fixture
def room_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The two cameras of tests/edge/zones/test_room_steps.py reading 10 frames each (2 per second),
    and a truth: the three people, at every frame's time."""
    monkeypatch.setattr(edge.room_eval, "build_detector", lambda _: TwoViewDetector())
    monkeypatch.setattr(edge.cli, "verify_model", lambda _: None)
    data = site_data()
    for camera in data["cameras"]:
        path = tmp_path / f"{camera['id']}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 2.0, (100, 100))
        for _ in range(10):
            writer.write(np.full((100, 100, 3), GREY[camera["id"]], np.uint8))
        writer.release()
        camera["source"] = {"type": "file", "path": path.name, "realtime": False}
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(data))
    truth = tmp_path / "room.csv"
    rows = [f"{i * 0.5},3,6 4;2 4;10 4" for i in range(10)]
    truth.write_text("time_s,count,floor_points\n" + "\n".join(rows) + "\n")
    return site, truth


def test_each_camera_alone_undercounts_and_merged_counts_each_person_once(
    room_site: tuple[Path, Path],
) -> None:
    site, truth = room_site
    config = parse_config(yaml.safe_load(site.read_text()), site.parent)
    result = eval_room(config, truth, progress=False)
    values = result.as_dict()
    assert (values["steps"], values["partial"], values["unmatched_steps"]) == (10, 0, 0)
    ways: Any = values["ways"]
    assert {way: (f["mae"], f["bias"]) for way, f in ways.items()} == {
        "merged": (0.0, 0.0),
        "left": (1.0, -1.0),
        "right": (1.0, -1.0),
    }
    assert ways["merged"]["bands"]["0-9"]["frames"] == 10
    assert (values["overlap_people"], values["overlap_times_counted"], values["overlap_counted_twice"]) == (
        10,
        1.0,
        0.0,
    )
    assert (values["outside_people"], values["outside_counted"]) == (0, 0)


def test_the_command_prints_json_and_draws_the_plan(
    room_site: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site, truth = room_site
    plan = tmp_path / "plan.png"
    code = main(["eval", str(site), "--room", "--counts", str(truth), "--json", "--plot", str(plan)])
    assert code == 0
    values = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert values["room"] == "hall" and values["cameras"] == ["left", "right"]
    picture = cv2.imread(str(plan))
    assert picture is not None and picture.shape[:2] == (600, 800)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--gt", "x.xml"], "--gt: not with --room"),
        (["--stills"], "--stills: not with --room"),
        (["--room", "upstairs"], "no room 'upstairs' in floor.rooms (known: hall)"),
        (["--plot", "plan.jpg"], "must end in .png"),
    ],
)
def test_a_bad_room_evaluation_is_refused_naming_it(
    room_site: tuple[Path, Path], extra: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site, truth = room_site
    arguments = [
        "eval",
        str(site),
        "--counts",
        str(truth),
        *(["--room"] if "--room" not in extra else []),
        *extra,
    ]
    assert main(arguments) == EXIT_BAD_INPUT
    assert words in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("time,count\n0,1\n", "expected the columns time_s,count"),
        ("time_s,count\n0,-1\n", "cannot be negative"),
        ("time_s,count,floor_points\n0,2,1 1\n", "count 2 but only 1 floor points"),
        ("time_s,count,floor_points\n0,1,1 1 1\n", r"room.csv:2: not a time_s,count\[,floor_points\] row"),
    ],
)
def test_a_bad_truth_names_the_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "room.csv"
    path.write_text(text)
    with pytest.raises(GroundTruthError, match=words):
        read_room_truth(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("time_s,count\n", []),
        ("time_s,count\n0.5,2\n", [(0.5, 2, None)]),
        ("time_s,count,floor_points\n0,0,\n1,1,2 3\n", [(0.0, 0, []), (1.0, 1, [[2.0, 3.0]])]),
    ],
)
def test_a_truth_is_read(tmp_path: Path, text: str, expected: list[tuple[Any, ...]]) -> None:
    path = tmp_path / "room.csv"
    path.write_text(text)
    found = [
        (t.time_s, t.count, None if t.points is None else t.points.tolist()) for t in read_room_truth(path)
    ]
    assert found == expected
