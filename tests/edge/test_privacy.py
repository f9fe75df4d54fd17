"""No frame, crop or per-person record leaves the edge process: not to disk, not to the network,
not into metric labels; `edge run` serves no picture at all, and `setup` shows its pictures only to
the holder of its token and writes nothing but the YAML file and its backup. Checked with a Python
audit hook around real runs on a real video."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.config import load_config
from tests.conftest import MODEL, REPO, last_json, run_python
from tests.support import wait_for

pytestmark = pytest.mark.slow  # runs the service and a replay with the real model, audited

AGGREGATE_LABELS = {"site", "camera", "zone"}
MODEL_INFO_LABELS = {"site", "name", "sha256", "backend", "input_size", "precision"}
# The camera's count correction: four numbers from its config (none here: scale 1, stills 0).
CORRECTION_INFO = {
    "site": "test-site",
    "camera": "cam",
    "scale": "1",
    "offset": "0",
    "stills": "0",
    "days": "0",
}


AUDITED_RUN = str(REPO / "tests" / "edge" / "audited_run.py")
# The first bytes of JPEG, PNG, GIF, BMP and RIFF (WebP) files, in hex.
IMAGE_MAGIC = ("ffd8ff", "89504e47", "47494638", "424d", "52494646")


def _site_env(tmp_path: Path) -> dict[str, str]:
    """As on a site: no CI variable (some libraries stay quiet only in CI), a home of its own."""
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    return env | {
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "HOME": str(tmp_path),
    }


def _audited(tmp_path: Path, *args: str) -> dict[str, Any]:
    done = run_python(AUDITED_RUN, *args, timeout=300, env=_site_env(tmp_path))
    report: dict[str, Any] = last_json(done)
    report["stderr"] = done.stderr
    return report


@pytest.fixture
def privacy_config(config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]) -> Path:
    data = config_dict(
        fps=1,
        zones=[
            {"id": "west", "polygon": [[0, 0.2], [0.5, 0.2], [0.5, 1], [0, 1]]},
            {"id": "east", "polygon": [[0.5, 0.2], [1, 0.2], [1, 1], [0.5, 1]]},
        ],
        privacy_masks=[[[0, 0], [1, 0], [1, 0.17], [0, 0.17]]],
    )
    return write_config(data)


def test_service_writes_nothing_listens_once_and_labels_only_aggregates(
    tmp_path: Path, privacy_config: Path
) -> None:
    report = _audited(tmp_path, "service", str(privacy_config))

    assert report["writes"] == [], f"the edge service wrote files: {report['writes']}"
    assert report["listening"] == [repr(("127.0.0.1", 0))], report["listening"]  # port 0: picked free
    assert report["connects"] == []
    assert all("127.0.0.1" in a or "::1" in a for a in report["bound"]), report["bound"]

    manifest = json.loads(MODEL.with_name(MODEL.name + ".manifest.json").read_text())
    allowed = {"site": {"test-site"}, "camera": {"cam"}, "zone": {"west", "east"}}
    families = list(text_string_to_metric_families(report["exposition"]))
    assert any(f.name == "wartezone_zone_entries" for f in families)
    for family in families:
        for sample in family.samples:
            names = set(sample.labels)
            if sample.name == "wartezone_model_info":
                assert names == MODEL_INFO_LABELS
                assert sample.labels["sha256"] == manifest["sha256"]
                continue
            if sample.name == "wartezone_camera_count_correction_info":
                assert sample.labels == CORRECTION_INFO
                continue
            if sample.name == "wartezone_zone_info":  # the zone's display name: configured (here: its id)
                assert names == AGGREGATE_LABELS | {"name"} and sample.labels["name"] == sample.labels["zone"]
                names = AGGREGATE_LABELS
            assert names <= AGGREGATE_LABELS | {"le"}, f"{sample.name} has labels {names}"
            for name in names & AGGREGATE_LABELS:
                assert sample.labels[name] in allowed[name], f"{sample.name}: {name}={sample.labels[name]!r}"


def test_replay_writes_only_its_timeline_and_chart(
    tmp_path: Path, privacy_config: Path, demo_video: Path
) -> None:
    out_dir = tmp_path / "out"
    report = _audited(tmp_path, "replay", str(privacy_config), str(demo_video), str(out_dir))

    mpl_cache = str(tmp_path / "mpl")
    outputs = {Path(p) for p in report["writes"] if not p.startswith(mpl_cache)}
    assert outputs == {out_dir / "occupancy.csv", out_dir / "occupancy.png"}
    assert report["listening"] == [] and report["connects"] == []
    # The chart is a plot of counts: a small picture, not a video frame (768x576) or a crop of one.
    import cv2

    chart = cv2.imread(str(out_dir / "occupancy.png"))
    assert chart is not None and chart.shape[:2] == (400, 1000)
    assert "track" not in report["stderr"].lower()


def test_edge_run_serves_no_image_at_any_path(tmp_path: Path, privacy_config: Path) -> None:
    """Its routes are /metrics, /healthz and /readyz; every other path is a 404 in JSON."""
    probes = _audited(tmp_path, "service", str(privacy_config))["probes"]

    for path, (status, kind, head, _size) in probes.items():
        assert not kind.startswith("image/") and not head.startswith(IMAGE_MAGIC), (path, kind, head)
        if path not in ("/metrics", "/healthz", "/readyz"):
            assert (status, kind) == (404, "application/json"), (path, status, kind)
    assert {path for path, answer in probes.items() if answer[0] != 404} == {
        "/metrics",
        "/healthz",
        "/readyz",
    }


def _call(url: str, token: str | None, body: Any = None) -> tuple[int, str, bytes]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers=headers, method="GET" if body is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read()


def test_setup_writes_only_the_yaml_and_its_backup_and_shows_pictures_only_with_its_token(
    tmp_path: Path, privacy_config: Path
) -> None:
    child = subprocess.Popen(
        [sys.executable, AUDITED_RUN, "setup", str(privacy_config)],
        cwd=REPO,
        env=_site_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        started = json.loads(child.stdout.readline())
        base, token = started["url"], started["token"]

        def snapshot() -> Any:
            state = json.loads(_call(f"{base}/api/state", token)[2])
            return state["cameras"][0]["snapshot"]

        version = wait_for(snapshot, 120, "the setup's first picture", every_s=0.2)["version"]
        picture = f"{base}/api/picture/cam?version={version}"
        assert _call(picture, token)[:2] == (200, "image/jpeg")
        refused = _call(picture, None)
        assert refused[:2] == (401, "application/json") and b"\xff\xd8\xff" not in refused[2]
        layout = json.loads(_call(f"{base}/api/state", token)[2])["cameras"][0]["layout"]
        layout["zones"][0]["name"] = "Westen"
        answer = _call(f"{base}/api/draft", token, {"camera": "cam", "revision": 1, "layout": layout})
        assert json.loads(answer[2])["problems"] == []
        assert _call(f"{base}/api/save", token, {})[0] == 200

        child.stdin.write("\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])

    backup = privacy_config.with_name(privacy_config.name + ".bak")
    written = {Path(p) for p in report["writes"]}
    # Each file is written to a temporary one beside it and renamed over it.
    temporary = {p for p in written if p.parent == privacy_config.parent and p.suffix == ".tmp"}
    assert written - temporary == {privacy_config, backup}
    assert all(p.name.startswith(f".{privacy_config.name}") and not p.exists() for p in temporary)
    assert report["connects"] == []
    assert report["listening"] == [repr(("127.0.0.1", 0))]  # port 0: picked free, this box only
    assert load_config(privacy_config).cameras[0].zones[0].name == "Westen"


@pytest.fixture
def rooms_config(config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]) -> Path:
    """Two cameras on the demo video, each calibrated to half of one room's floor, overlapping."""
    data = config_dict(fps=1)
    first = data["cameras"][0]
    corners = [(0.0, 0.3), (1.0, 0.3), (1.0, 1.0), (0.0, 1.0)]
    cameras = []
    for name, x0 in (("cam", 0.0), ("cam2", 4.0)):
        pairs = [{"image": [x, y], "floor": [x0 + 8 * x, 10 * (y - 0.3)]} for x, y in corners]
        cameras.append({**first, "id": name, "floor_calibration": {"points": pairs}})
    data["cameras"] = cameras
    data["floor"] = {"rooms": [{"id": "hall", "polygon": [[0, 0], [12, 0], [12, 7], [0, 7]]}]}
    return write_config(data)


def test_rooms_leave_only_counts(tmp_path: Path, rooms_config: Path) -> None:
    """A room's floor points and floor ids stay in the process: its series carry the aggregate
    labels alone (camera "floor", zone the room's id), and nothing is written or logged of them."""
    report = _audited(tmp_path, "service", str(rooms_config))

    assert report["writes"] == [] and report["connects"] == []
    allowed = {"site": {"test-site"}, "camera": {"cam", "cam2", "floor"}, "zone": {"all", "hall"}}
    families = {f.name: f for f in text_string_to_metric_families(report["exposition"])}
    room = {"site": "test-site", "camera": "floor", "zone": "hall"}
    assert [s.labels for s in families["wartezone_zone_partial"].samples] == [room]
    assert any(s.labels == room for s in families["wartezone_zone_entries"].samples)
    for family in families.values():
        for sample in family.samples:
            if sample.name in ("wartezone_model_info", "wartezone_camera_count_correction_info"):
                continue
            names = (
                set(sample.labels) - {"name"} if sample.name == "wartezone_zone_info" else set(sample.labels)
            )
            assert names <= AGGREGATE_LABELS | {"le"}, f"{sample.name} has labels {names}"
            for name in names & AGGREGATE_LABELS:
                assert sample.labels[name] in allowed[name], f"{sample.name}: {name}={sample.labels[name]!r}"
    log = report["stderr"].lower()
    assert "track" not in log and "floor point" not in log
