"""`wartezone eval`: figures per band of the true count, stills counted each on their own, the JSON
line, the plot. A stand-in detector at the edge finds as many people as an image's grey value says."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

import edge.cli
import edge.evaluate
from edge.cli import main
from edge.config import WHOLE_FRAME, TrackerConfig, default_config
from edge.detect.base import ModelInfo
from edge.detections import Detections
from edge.evaluate import (
    BandScore,
    EvalResult,
    FrameCount,
    band_of,
    band_scores,
    band_table,
    eval_counts,
    plot_counts,
    stills_apart_s,
)
from edge.pipeline import CameraPipeline, FrameResult
from edge.runner import CameraRunner
from edge.sources.base import Frame
from edge.zones.fixtures import FIXTURE_FORGET_S
from tests.conftest import last_json, make_detections, run_python

BANDS = ["0-9", "10-19", "20-39", "40+"]
SIDE = 64  # the made-up images are SIDE x SIDE; a grid of 8 x 8 places for people
EXISTING_KEYS = {
    "frames",
    "mae",
    "bias",
    "mae_raw",
    "bias_raw",
    "ms_per_frame",
    "analysis_errors",
    "visits",
    "gt_visits",
    "mean_dwell_s",
    "gt_mean_dwell_s",
}


# --- bands on made-up numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "band"),
    [
        (0, "0-9"),
        (9, "0-9"),
        (10, "10-19"),
        (19, "10-19"),
        (20, "20-39"),
        (39, "20-39"),
        (40, "40+"),
        (500, "40+"),
    ],
)
def test_a_true_count_falls_in_its_band(count: int, band: str) -> None:
    assert BANDS[band_of(count)] == band


def _figures(scores: list[BandScore]) -> dict[str, tuple[Any, ...]]:
    return {s.band: (s.frames, s.mean_true, s.mae, s.bias, s.relative_bias) for s in scores}


EMPTY = (0, None, None, None, None)


@pytest.mark.parametrize(
    ("truth", "predicted", "expected"),
    [
        pytest.param([], [], dict.fromkeys(BANDS, EMPTY), id="no frames"),
        pytest.param(
            [0, 0],
            [1, 0],
            {"0-9": (2, 0.0, 0.5, 0.5, None), "10-19": EMPTY, "20-39": EMPTY, "40+": EMPTY},
            id="only empty rooms: no share of 0 people",
        ),
        pytest.param(
            [4, 6, 12, 18, 50, 70],
            [5, 5, 12, 15, 40, 49],
            {
                "0-9": (2, 5.0, 1.0, 0.0, 0.0),
                "10-19": (2, 15.0, 1.5, -1.5, -0.1),
                "20-39": EMPTY,
                "40+": (2, 60.0, 15.5, -15.5, -15.5 / 60),
            },
            id="a band in the middle empty",
        ),
        pytest.param(
            [9, 10, 19, 20, 39, 40],
            [9, 12, 19, 18, 39, 40],
            {
                "0-9": (1, 9.0, 0.0, 0.0, 0.0),
                "10-19": (2, 14.5, 1.0, 1.0, 1 / 14.5),
                "20-39": (2, 29.5, 1.0, -1.0, -1 / 29.5),
                "40+": (1, 40.0, 0.0, 0.0, 0.0),
            },
            id="every boundary",
        ),
    ],
)
def test_band_scores(truth: list[int], predicted: list[int], expected: dict[str, tuple[Any, ...]]) -> None:
    scores = band_scores(truth, predicted)
    assert [s.band for s in scores] == BANDS  # every band, in order, empty ones too
    figures = _figures(scores)
    assert {band: [v is None for v in values] for band, values in figures.items()} == {
        band: [v is None for v in values] for band, values in expected.items()
    }
    for band, values in expected.items():
        assert [v for v in figures[band] if v is not None] == pytest.approx(
            [v for v in values if v is not None]
        )
    assert sum(s.frames for s in scores) == len(truth)


def test_band_scores_need_a_prediction_per_true_count() -> None:
    with pytest.raises(ValueError, match="3 true counts but 2 predicted"):
        band_scores([1, 2, 3], [1, 2])


@pytest.mark.parametrize(
    ("truth", "predicted", "rows"),
    [
        ([], [], ["0-9 0 - - - -", "10-19 0 - - - -", "20-39 0 - - - -", "40+ 0 - - - -"]),
        (
            [5, 44],
            [4, 33],
            [
                "0-9 1 5.0 1.00 -1.00 -20%",
                "10-19 0 - - - -",
                "20-39 0 - - - -",
                "40+ 1 44.0 11.00 -11.00 -25%",
            ],
        ),
    ],
    ids=["no frames", "two bands"],
)
def test_band_table_has_a_row_per_band(truth: list[int], predicted: list[int], rows: list[str]) -> None:
    header, *lines = band_table(band_scores(truth, predicted))
    assert header.split() == ["true", "count", "frames", "mean", "true", "mae", "bias", "bias/true"]
    assert [" ".join(line.split()) for line in lines] == rows


# --- stills: each image on its own --------------------------------------------------------------


class GreyCountDetector:
    """Finds as many people as the image's grey value, each in their own place of an 8 x 8 grid."""

    info = ModelInfo(name="grey-count", sha256="0" * 64, backend="stand-in", input_size="any")

    def detect(self, image: NDArray[np.uint8]) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(
        self, images: list[NDArray[np.uint8]], regions: list[tuple[int, int, int, int]] | None = None
    ) -> list[Detections]:
        found = []
        for image in images:
            places = [divmod(i, 8) for i in range(int(image[0, 0, 0]))]
            found.append(
                make_detections([(8.0 * c + 1, 8.0 * r + 1, 8.0 * c + 6, 8.0 * r + 7) for r, c in places])
            )
        return found


@pytest.fixture
def stand_in_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The evaluation builds the stand-in instead of the model (and has no model file to check)."""
    monkeypatch.setattr(edge.evaluate, "build_detector", lambda _: GreyCountDetector())
    monkeypatch.setattr(edge.cli, "verify_model", lambda _: None)


@pytest.fixture
def labelled_images(tmp_path: Path) -> Callable[[list[int], list[int]], tuple[Path, Path]]:
    """A folder of small images, each showing `shown[i]` people to the stand-in, and a counts CSV
    with `truth[i]`, in the Mall layout."""

    def make(shown: list[int], truth: list[int]) -> tuple[Path, Path]:
        folder = tmp_path / "frames"
        folder.mkdir()
        rows = ["frame,file,count"]
        for number, (people, count) in enumerate(zip(shown, truth, strict=True), start=1):
            name = f"still_{number:03d}.png"  # lossless, so the grey value survives
            cv2.imwrite(str(folder / name), np.full((SIDE, SIDE, 3), people, np.uint8))
            rows.append(f"{number},{name},{count}")
        counts = tmp_path / "counts.csv"
        counts.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return folder, counts

    return make


ALTERNATING = [0, 12, 0, 12, 0]  # a median over 3 frames hides every 12


@pytest.mark.usefixtures("stand_in_detector")
@pytest.mark.parametrize(
    ("stills", "reported", "mae"),
    [
        (False, [0, 0, 0, 12, 0], 12 * 1 / 5),  # a sequence: the median of the last 3 (low on a tie)
        (True, ALTERNATING, 0.0),  # stills: each image's own count
    ],
    ids=["sequence", "stills"],
)
def test_stills_are_counted_without_smoothing(
    labelled_images: Callable[[list[int], list[int]], tuple[Path, Path]],
    stills: bool,
    reported: list[int],
    mae: float,
) -> None:
    folder, counts = labelled_images(ALTERNATING, ALTERNATING)
    config = default_config()  # the stand-in's pictures differ by less than the motion gate notices
    config = config.model_copy(update={"detector": config.detector.model_copy(update={"motion_gate": None})})

    result = eval_counts(folder, counts, config, every=1, stills=stills, progress=False)

    assert [c.reported for c in result.counts] == reported
    assert [c.raw for c in result.counts] == ALTERNATING
    assert (result.mae, result.mae_raw) == pytest.approx((mae, 0.0))
    assert result.frames == 5


@pytest.mark.usefixtures("stand_in_detector")
@pytest.mark.parametrize(("first", "raw"), [(0, [0, 0, 0]), (1, [3, 5])])
def test_first_picks_which_of_every_nth_frame(
    labelled_images: Callable[[list[int], list[int]], tuple[Path, Path]], first: int, raw: list[int]
) -> None:
    folder, counts = labelled_images([0, 3, 0, 5, 0], [0, 3, 0, 5, 0])

    result = eval_counts(folder, counts, default_config(), every=2, stills=True, progress=False, first=first)

    assert [c.raw for c in result.counts] == raw


def test_stills_are_further_apart_than_a_camera_remembers_its_things() -> None:
    """A faint box in the same place in two stills is no thing: the stills have no time between them."""
    config = default_config()
    assert config.detector.fixtures is not None
    assert stills_apart_s(config) > FIXTURE_FORGET_S


@pytest.mark.usefixtures("stand_in_detector")
def test_stills_of_an_empty_list_score_no_frames(
    labelled_images: Callable[[list[int], list[int]], tuple[Path, Path]],
) -> None:
    folder, counts = labelled_images([], [])

    result = eval_counts(folder, counts, default_config(), every=1, stills=True, progress=False)

    assert (result.frames, result.mae, result.counts) == (0, 0.0, [])
    assert [b.frames for b in result.bands] == [0, 0, 0, 0]


@pytest.mark.parametrize("lost_track_s", [0.5, 4.0, 60.0])
@pytest.mark.parametrize("exit_grace_s", [0.5, 4.0, 600.0])
def test_stills_apart_are_never_tracked_from_one_to_the_next(
    lost_track_s: float, exit_grace_s: float
) -> None:
    """The same people standing in every image: frames a second apart confirm their tracks (they
    enter the zone), stills stills_apart_s apart never do, whatever the tracker and zone keep."""
    zone = WHOLE_FRAME.model_copy(update={"smoothing_frames": 1, "exit_grace_s": exit_grace_s})
    base = default_config()
    camera = base.cameras[0].model_copy(update={"zones": [zone]})
    config = base.model_copy(
        update={"cameras": [camera], "tracker": TrackerConfig(lost_track_s=lost_track_s)}
    )
    image = np.full((SIDE, SIDE, 3), 5, np.uint8)

    def entries(apart_s: float) -> list[int]:
        pipeline = CameraPipeline(
            camera.model_copy(update={"fps": 1 / apart_s}), GreyCountDetector(), config.tracker
        )
        results: list[FrameResult] = []
        frames = [_Still(Frame(image, i * apart_s, i * apart_s)) for i in range(4)]
        CameraRunner(pipeline.camera, pipeline).run(frames, on_result=results.append)
        return [sum(z.entries for z in r.zones) for r in results]

    assert stills_apart_s(config) > max(lost_track_s, exit_grace_s)
    gate = config.detector.motion_gate
    assert gate is not None and stills_apart_s(config) > gate.full_every_s  # each still detected anew
    assert entries(stills_apart_s(config)) == [0, 0, 0, 0]
    if lost_track_s >= 1.0:  # the control: a second apart, the tracker follows them and they enter
        assert entries(1.0)[:2] == [0, 5]


class _Still:
    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.time_s = frame.time_s
        self.wall_time = frame.wall_time

    def decode(self) -> Frame:
        return self.frame


# --- the JSON line, the text table, the plot ----------------------------------------------------


@pytest.mark.usefixtures("stand_in_detector")
def test_the_json_line_keeps_every_key_and_adds_the_bands(
    labelled_images: Callable[[list[int], list[int]], tuple[Path, Path]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, counts = labelled_images([3, 8, 15, 30], [4, 8, 16, 33])

    assert main(["eval", str(folder), "--counts", str(counts), "--stills", "--json"]) == 0

    values = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(values) == EXISTING_KEYS | {"bands"}
    assert list(values["bands"]) == BANDS
    assert values["bands"]["40+"] == {
        "frames": 0,
        "mean_true": None,
        "mae": None,
        "bias": None,
        "relative_bias": None,
    }
    assert values["bands"]["20-39"] == {
        "frames": 1,
        "mean_true": 33.0,
        "mae": 3.0,
        "bias": -3.0,
        "relative_bias": -0.0909,
    }
    assert values["mae"] == values["mae_raw"] == pytest.approx((1 + 0 + 1 + 3) / 4)


@pytest.mark.usefixtures("stand_in_detector")
def test_the_text_output_has_a_band_table_and_names_the_plot(
    labelled_images: Callable[[list[int], list[int]], tuple[Path, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, counts = labelled_images([3, 41], [4, 45])
    plot = tmp_path / "counts.png"

    assert main(["eval", str(folder), "--counts", str(counts), "--stills", "--plot", str(plot)]) == 0

    out = capsys.readouterr().out
    assert "mae: 2.5" in out and "bands:" in out
    assert [
        " ".join(line.split()) for line in out.splitlines() if line.strip().startswith(("0-9", "40+"))
    ] == [
        "0-9 1 4.0 1.00 -1.00 -25%",
        "40+ 1 45.0 4.00 -4.00 -9%",
    ]
    assert f"plot: {plot}" in out
    assert plot.read_bytes().startswith(b"\x89PNG")


def _result(truth: list[int], reported: list[int]) -> EvalResult:
    error = np.asarray(reported, float) - np.asarray(truth, float)
    n = max(len(truth), 1)
    return EvalResult(
        frames=len(truth),
        mae=float(np.abs(error).sum() / n),
        bias=float(error.sum() / n),
        mae_raw=float(np.abs(error).sum() / n),
        bias_raw=float(error.sum() / n),
        ms_per_frame=1.0,
        bands=band_scores(truth, reported),
        counts=[FrameCount(t, r, r) for t, r in zip(truth, reported, strict=True)],
    )


@pytest.mark.parametrize(
    ("truth", "reported"),
    [
        ([], []),
        ([3, 5, 7], [3, 4, 9]),
        (list(range(0, 70, 3)), [max(0, round(0.8 * t) - 1) for t in range(0, 70, 3)]),
    ],
    ids=["no frames", "one band", "every band"],
)
@pytest.mark.parametrize("stills", [True, False])
def test_the_plot_is_a_png_of_a_readable_size(
    tmp_path: Path, truth: list[int], reported: list[int], stills: bool
) -> None:
    path = tmp_path / "counts.png"

    plot_counts(path, _result(truth, reported), "brt-dev/camera-x/frames", stills=stills)

    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert 10_000 < path.stat().st_size < 1_000_000
    picture = cv2.imread(str(path))
    assert picture is not None
    height, width = picture.shape[:2]
    assert 600 <= width <= 1600 and 600 <= height <= 1600


def test_the_as_dict_is_json_with_every_key(tmp_path: Path) -> None:
    values = _result([2, 25], [3, 20]).as_dict()
    assert set(values) == EXISTING_KEYS | {"bands"}
    assert json.loads(json.dumps(values)) == values


# --- the command line's checks, before any evaluation -------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gt", "truth.xml", "--stills"], "--stills: only for a folder of images"),
        (["--counts", "counts.csv", "--plot", "counts.svg"], "--plot: counts.svg must end in .png"),
        (["--counts", "counts.csv", "--plot", "absent/counts.png"], "--plot: folder absent does not exist"),
        (
            ["--counts", "counts.csv", "--every", "5", "--first", "5"],
            "--first: 5 must be at least 0 and below",
        ),
        (["--counts", "counts.csv", "--first", "-1"], "--first: -1 must be at least 0"),
        (["--room", "--every", "5", "--first", "2"], "--first: not with --room"),
    ],
    ids=[
        "stills of a video",
        "plot not a png",
        "plot into no folder",
        "first not below every",
        "first < 0",
        "room",
    ],
)
def test_eval_rejects_what_it_cannot_do(
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "input", *extra]) == 2
    assert message in capsys.readouterr().err


# --- real stills ---------------------------------------------------------------------------------


@pytest.mark.data
@pytest.mark.slow
def test_brt_camera_2_stills_have_consistent_bands(shared_data: Path) -> None:
    """No accuracy bar here (test_accuracy.py has the bars): the bands add up to the whole."""
    folder = shared_data / "brt-dev" / "camera-2"
    with (folder / "counts.csv").open(newline="", encoding="utf-8") as stream:
        truth = [int(row["count"]) for row in csv.DictReader(stream)]
    command = ["eval", str(folder / "frames"), "--counts", str(folder / "counts.csv"), "--stills", "--json"]
    values: dict[str, Any] = last_json(run_python("-m", "edge", *command, timeout=900))

    bands = values["bands"]
    assert list(bands) == BANDS
    assert values["frames"] == len(truth) and values["analysis_errors"] == 0
    assert sum(b["frames"] for b in bands.values()) == values["frames"]
    in_band = {"0-9": (0, 10), "10-19": (10, 20), "20-39": (20, 40), "40+": (40, 10**6)}
    assert {k: bands[k]["frames"] for k in BANDS} == {
        k: sum(lo <= t < hi for t in truth) for k, (lo, hi) in in_band.items()
    }
    scored = [b for b in bands.values() if b["frames"]]
    assert sum(b["frames"] * b["mae"] for b in scored) / values["frames"] == pytest.approx(
        values["mae"], abs=1e-3
    )
    assert sum(b["frames"] * b["bias"] for b in scored) / values["frames"] == pytest.approx(
        values["bias"], abs=1e-3
    )
    assert (values["mae"], values["bias"]) == (values["mae_raw"], values["bias_raw"])  # stills: no smoothing
