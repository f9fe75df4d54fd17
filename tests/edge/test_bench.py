"""`wartezone bench`: the report's ratios, and one setting run the way the bench runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.bench import BenchResult, report
from tests.conftest import last_json, run_python


def test_the_report_lists_every_setting_and_compares_ours_with_each_other() -> None:
    results = [
        BenchResult("ultralytics-1280-0.05", 159, 400.0, 0.5, 1000.0, "torch"),
        BenchResult("wartezone", 159, 100.0, 0.25, 400.0, "openvino-bf16"),
        BenchResult("wartezone-onnxruntime", 159, 250.0, 0.25, 500.0, "onnxruntime"),
    ]

    lines = report(results)

    assert len(lines) == 1 + 3 + 2
    assert lines[2].split() == ["wartezone", "10.00", "100.0", "0.25", "400", "MB", "openvino-bf16"]
    assert lines[4] == "wartezone vs ultralytics-1280-0.05: 4.00x frames/s, MAE 0.25 vs 0.50, 0.40x memory"
    assert lines[5] == "wartezone vs wartezone-onnxruntime: 2.50x frames/s, MAE 0.25 vs 0.25, 0.80x memory"


@pytest.mark.data
@pytest.mark.parametrize(
    ("setting", "runtime"), [("wartezone-float32", "openvino-f32"), ("wartezone-int8", "openvino-int8")]
)
def test_one_setting_reports_its_speed_error_memory_and_runtime(
    shared_data: Path, setting: str, runtime: str
) -> None:
    folder = shared_data / "pets2009-s2l1"
    done = run_python(
        "-m",
        "edge.bench",
        setting,
        str(folder / "vtest.avi"),
        str(folder / "PETS2009-S2L1.xml"),
        "40",
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    result = last_json(done)
    assert result["frames"] == 20  # frames 0, 40, ..., 760 of 795
    assert result["runtime"] == runtime
    assert result["mae"] < 1.0, result
    assert result["ms_per_frame"] > 0 and result["peak_rss_mib"] > 100
