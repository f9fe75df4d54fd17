"""The `wartezone` command as a user runs it: edge run, replay, eval."""

from __future__ import annotations

import csv
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import pytest

FAST_DETECTOR = {"input_size": [480, 640]}  # what these tests check does not depend on accuracy

# The picture's lower half shows the floor 0..12 x 0..8 m.
ROOM_CAMERA_PAIRS = [
    {"image": [0.0, 0.5], "floor": [0.0, 0.0]},
    {"image": [1.0, 0.5], "floor": [12.0, 0.0]},
    {"image": [1.0, 1.0], "floor": [12.0, 8.0]},
    {"image": [0.0, 1.0], "floor": [0.0, 8.0]},
]


def wartezone(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def fast_config(config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]) -> Path:
    data = config_dict(
        zones=[
            {"id": "west", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
            {"id": "east", "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]},
        ]
    )
    data["detector"] = FAST_DETECTOR
    return write_config(data)


@pytest.mark.slow
def test_replay_writes_timeline_chart_and_summary(
    tmp_path: Path, fast_config: Path, demo_video: Path
) -> None:
    out = tmp_path / "out"
    done = wartezone("replay", str(demo_video), "-c", str(fast_config), "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    with (out / "occupancy.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    zones = {row["zone"] for row in rows}
    assert zones == {"west", "east"}
    times = [float(row["time_s"]) for row in rows if row["zone"] == "west"]
    assert times == sorted(times) and 70 < times[-1] < 80  # the video lasts 79.5 s, sampled at 2 fps
    assert len(times) == pytest.approx(2 * 79.5, abs=3)
    assert max(int(row["occupancy"]) for row in rows) > 0
    chart = cv2.imread(str(out / "occupancy.png"))
    assert chart is not None
    assert "zone west:" in done.stdout and "zone east:" in done.stdout
    assert "replay vtest.avi" in done.stderr  # the progress bar


def test_replay_of_a_missing_video_exits_2_naming_it(tmp_path: Path) -> None:
    done = wartezone("replay", str(tmp_path / "absent.avi"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "absent.avi" in done.stderr and "Traceback" not in done.stderr


def test_replay_of_an_unknown_camera_exits_2(fast_config: Path, demo_video: Path, tmp_path: Path) -> None:
    done = wartezone(
        "replay", str(demo_video), "-c", str(fast_config), "--camera", "lobby", "--out", str(tmp_path)
    )
    assert done.returncode == 2
    assert "--camera: no camera 'lobby'" in done.stderr


@pytest.mark.parametrize("command", ["replay", "eval"])
def test_a_camera_without_zones_is_not_replayed_or_evaluated_by_zones(
    command: str,
    config_dict: Callable[..., dict[str, Any]],
    write_config: Callable[[Any], Path],
    demo_video: Path,
    tmp_path: Path,
) -> None:
    """A camera there only for its rooms has no zones to count: said before any frame is read."""
    data = config_dict(zones=[], floor_calibration={"points": ROOM_CAMERA_PAIRS})
    data["floor"] = {"rooms": [{"id": "hall", "polygon": [[0, 0], [12, 0], [12, 8], [0, 8]]}]}
    config = str(write_config(data))
    args = ["--out", str(tmp_path)] if command == "replay" else ["--gt", str(tmp_path / "none.xml")]
    done = wartezone(command, str(demo_video), "-c", config, *args)
    assert done.returncode == 2
    assert "--camera: camera 'cam' has no zones to count (it counts only for its rooms)" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def frame_folder(tmp_path: Path, demo_video: Path) -> Path:
    """Three frames of the demo video and a counts CSV in the Mall layout."""
    folder = tmp_path / "frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(demo_video))
    rows = ["frame,file,count"]
    for number in (1, 2, 3):
        ok, image = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"seq_{number:06d}.jpg"), image)
        rows.append(f"{number},seq_{number:06d}.jpg,3")
    capture.release()
    (tmp_path / "counts.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("stills", [False, True], ids=["sequence", "stills"])
def test_eval_on_frames_prints_json_last(
    tmp_path: Path, frame_folder: Path, fast_config: Path, stills: bool
) -> None:
    plot = tmp_path / "counts.png"
    args = ["eval", str(frame_folder), "--counts", str(tmp_path / "counts.csv"), "-c", str(fast_config)]
    done = wartezone(*args, "--json", "--plot", str(plot), *(["--stills"] if stills else []))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["frames"] == 3
    assert {"mae", "bias", "mae_raw", "bias_raw", "ms_per_frame", "analysis_errors"} <= set(result)
    assert result["mae"] == pytest.approx(abs(result["bias"])) or result["mae"] >= abs(result["bias"])
    assert [b["frames"] for b in result["bands"].values()] == [3, 0, 0, 0]  # 3 people in each
    if stills:
        assert (result["mae"], result["bias"]) == (result["mae_raw"], result["bias_raw"])
    assert cv2.imread(str(plot)) is not None
    assert "eval" in done.stderr  # the progress bar


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ("", "expected the columns frame,file,count"),
        ("frame,file,count\n1,seq_000001.jpg,many\n", "counts.csv:2: not a frame,file,count row"),
        ("frame,file,count\n1,missing.jpg,3\n", "names missing.jpg, not readable"),
    ],
    ids=["empty", "not a number", "missing image"],
)
def test_eval_with_bad_ground_truth_exits_2(
    tmp_path: Path, frame_folder: Path, counts: str, message: str
) -> None:
    (tmp_path / "counts.csv").write_text(counts)
    done = wartezone("eval", str(frame_folder), "--counts", str(tmp_path / "counts.csv"))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_eval_needs_exactly_one_kind_of_ground_truth(frame_folder: Path) -> None:
    done = wartezone("eval", str(frame_folder))
    assert done.returncode == 2
    assert "--counts/--gt" in done.stderr


@pytest.mark.slow
def test_edge_run_serves_metrics_prints_occupancy_and_stops_on_sigterm(
    config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]
) -> None:
    data = config_dict()
    data["cameras"][0]["source"].update({"loop": True, "realtime": True})
    data["detector"] = FAST_DETECTOR
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "edge", "run", "-c", str(write_config(data))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)/metrics", banner).group(1))  # type: ignore[union-attr]
        deadline = time.monotonic() + 60
        status = ""
        while "cam/all:" not in status:
            assert time.monotonic() < deadline, f"no live occupancy line; last: {status!r}"
            status = process.stdout.readline()
        assert re.search(r"cam/all: \d+ (person|people)", status)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            exposition = response.read().decode()
        assert 'wartezone_zone_occupancy{camera="cam",site="test-site",zone="all"}' in exposition
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_edge_run_with_a_missing_video_exits_2_naming_the_field(
    tmp_path: Path, config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]
) -> None:
    data = config_dict()
    data["cameras"][0]["source"]["path"] = str(tmp_path / "gone.mp4")
    done = wartezone("edge", "run", "-c", str(write_config(data)))
    assert done.returncode == 2
    assert "cameras[0].source.path: video file" in done.stderr and "gone.mp4" in done.stderr


def test_calibrate_refuses_stills_of_one_day_and_leaves_the_config(fast_config: Path, tmp_path: Path) -> None:
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "frame,file,count\n" + "".join(f"{i},door-20261130{i:06d}.jpg,{i}\n" for i in range(1, 13)),
        encoding="utf-8",
    )
    before = fast_config.read_text(encoding="utf-8")

    done = wartezone("calibrate", str(tmp_path), "--counts", str(counts), "-c", str(fast_config))

    assert done.returncode == 2
    assert "all stills are from one day (20261130)" in done.stderr and "Traceback" not in done.stderr
    assert fast_config.read_text(encoding="utf-8") == before


@pytest.mark.data
def test_calibrate_on_a_real_camera_writes_only_what_holds_across_days(
    shared_data: Path, tmp_path: Path
) -> None:
    """brt-dev camera 2, the 30 stills that are not from its main day (5 days): the error moves from
    day to day, so no correction earns its place and the config stays as it was."""
    frames = shared_data / "brt-dev" / "camera-2"
    with (frames / "counts.csv").open(encoding="utf-8") as stream:
        rows = [r for r in csv.DictReader(stream) if "20170419" not in r["file"]][:30]
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "frame,file,count\n" + "".join(f"{r['frame']},{r['file']},{r['count']}\n" for r in rows)
    )
    config = tmp_path / "site.yaml"
    config.write_text(
        "site: brt\ncameras:\n  - id: platform\n    source: {type: file, path: none.mp4}\n"
        "    zones: [{id: all, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}]\n",
        encoding="utf-8",
    )
    before = config.read_text(encoding="utf-8")

    done = wartezone("calibrate", str(frames / "frames"), "--counts", str(counts), "-c", str(config))

    assert done.returncode == 0, done.stderr[-2000:]
    assert "30 stills from 5 days" in done.stdout and "no correction" in done.stdout
    assert config.read_text(encoding="utf-8") == before


def test_version_names_the_installed_package() -> None:
    from importlib.metadata import version

    done = wartezone("--version")
    assert done.returncode == 0
    assert done.stdout == f"wartezone {version('wartezone')}\n"


@pytest.mark.parametrize(
    "command",
    [
        ("edge", "run"),
        ("replay",),
        ("eval",),
        ("bench",),
        ("calibrate",),
        ("check",),
        ("setup",),
        ("privacy-sheet",),
        ("api",),
    ],
)
def test_each_subcommand_shows_an_example(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    from edge.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert f"example: wartezone {' '.join(command)} " in capsys.readouterr().out


def test_setup_on_a_port_in_use_exits_2_naming_the_port(fast_config: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = wartezone("setup", "-c", str(fast_config), "--port", str(port), timeout=60)
    assert done.returncode == 2
    assert f"--port: port {port} on 127.0.0.1 is in use" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--port", "70000"), "--port: a port is 0..65535 (0: a free one), got 70000"),
        (("--host", "camera-9.invalid"), "--host: camera-9.invalid is not a name or address of this box"),
    ],
)
def test_setup_with_a_bad_address_exits_2_naming_it(
    fast_config: Path, args: tuple[str, ...], words: str
) -> None:
    done = wartezone("setup", "-c", str(fast_config), *args, timeout=60)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr


def test_setup_with_a_bad_config_exits_2_naming_the_field(
    config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]
) -> None:
    data = config_dict()
    data["cameras"][0]["zones"][0]["loiter_limt_s"] = 60
    done = wartezone("setup", "-c", str(write_config(data)), "--port", "0", timeout=60)
    assert done.returncode == 2
    assert "cameras[0].zones[0].loiter_limt_s: unknown key; did you mean 'loiter_limit_s'?" in done.stderr
