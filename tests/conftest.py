"""Shared fixtures: real data (skipped without it, failing in CI), configs and detections."""

from __future__ import annotations

import copy
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import numpy as np
import pytest
import yaml

from edge.detections import Detections

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("WARTEZONE_DATA", REPO.parent / "shared" / "data"))
DEMO_VIDEO = REPO / ".cache" / "vtest.avi"
MODEL = REPO / "models" / "yolo11n-pose.onnx"


def _missing(message: str) -> NoReturn:
    """Skipped on a developer's machine; failed when CI is set, so that a test CI runs can never
    pass by skipping."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)")
    pytest.skip(message)


def need(path: Path, why: str) -> Path:
    """`path`, which must exist (data, a fetched file)."""
    if not path.exists():
        _missing(f"{path} is missing: {why}")
    return path


def need_tool(name: str, why: str) -> str:
    """The path of the command `name`, on PATH or beside this interpreter (the .venv's hadolint)."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    found = shutil.which(name, path=search)
    if found is None:
        _missing(f"{name} is missing: {why}")
    return found


def need_module(name: str, why: str) -> ModuleType:
    """The module `name`, imported: for optional packages (an extra), never the project's own."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"Python module {name} is missing: {why}")


def run_python(
    *args: str, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in a child process from the repository root; fails with its stderr if it fails."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def last_json(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a child printed on its last line of output."""
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout: real footage with ground truth."""
    return need(SHARED_DATA, "real footage and ground truth live in ../shared/data beside the checkout")


@pytest.fixture(scope="session")
def demo_video() -> Path:
    """OpenCV's sample video, fetched by scripts/setup.sh."""
    return need(DEMO_VIDEO, "scripts/setup.sh fetches the demo video")


ZONE_ALL = {"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}


@pytest.fixture
def config_dict(demo_video: Path) -> Callable[..., dict[str, Any]]:
    """A valid config as a dict; keyword arguments replace top-level or first-camera keys."""

    def make(**camera: Any) -> dict[str, Any]:
        cam = {"id": "cam", "source": {"type": "file", "path": str(demo_video), "realtime": False}, "fps": 2}
        cam["zones"] = [copy.deepcopy(ZONE_ALL)]
        cam.update(camera)
        return {"site": "test-site", "cameras": [cam], "metrics": {"port": 0}}

    return make


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[Any], Path]:
    def write(data: Any) -> Path:
        path = tmp_path / "wartezone.yaml"
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
        return path

    return write


def make_detections(
    boxes: list[tuple[float, float, float, float]],
    confidence: list[float] | None = None,
    track_id: list[int] | None = None,
) -> Detections:
    """Detections from plain box tuples (confidence 0.9 unless given)."""
    xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
    conf = np.asarray(confidence if confidence is not None else [0.9] * len(xyxy), np.float32)
    ids = None if track_id is None else np.asarray(track_id, np.int64)
    return Detections(xyxy, conf, None, ids)


# The fast set (`pytest -m "not slow"`) leaves out what needs real data, a real server, a browser
# or the real model; tests say so with markers, or by asking for one of these fixtures.
SLOW_MARKERS = ("data", "live_server", "browser")
FIXTURE_MARKERS = {
    "shared_data": "data",
    "rtsp": "live_server",
    "prometheus": "live_server",
    "default_detector": "slow",  # the real model, compiled
    "pt_model": "slow",  # torch and ultralytics
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in set(getattr(item, "fixturenames", ())) & FIXTURE_MARKERS.keys():
            item.add_marker(FIXTURE_MARKERS[fixture])
        if any(item.get_closest_marker(name) for name in SLOW_MARKERS):
            item.add_marker("slow")


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """Playwright, once per module of page tests."""
    from tests.browser import playwright

    with playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(driver: Any) -> Iterator[Any]:
    """Debian's Chromium as a reception kiosk starts it (sound allowed without a click)."""
    from tests.browser import launch

    chromium = launch(driver)
    yield chromium
    chromium.close()
