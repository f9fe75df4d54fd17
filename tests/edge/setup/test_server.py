"""The setup page's server and session over real HTTP, a textured video as the camera and the
detector faked at the edge: the token, the counts, drafts checked by the config model, layout
warnings, the picture's privacy and saving into the YAML file."""

from __future__ import annotations

import logging
import re
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.config import load_config
from edge.pipeline import CameraPipeline
from edge.runner import CameraRunner
from edge.setup.picture import PAD_SHARE
from edge.setup.server import SetupServer
from edge.setup.session import SetupSession
from edge.sources.base import Frame
from tests.edge.setup.conftest import (
    HEIGHT,
    PEOPLE,
    SITE_YAML,
    WAITING,
    WIDTH,
    WINDOW,
    Running,
    camera_frame,
    zone,
)
from tests.edge.test_pipeline import RecordingDetector
from tests.support import wait_for

JPEG_MAGIC = b"\xff\xd8\xff"
RIGHT_HALF = [[0.5, 0.2], [1.0, 0.2], [1.0, 1.0], [0.5, 1.0]]
ROUTES = [
    ("GET", "/api/state", None),
    ("GET", "/api/picture/door?version={version}", None),
    ("POST", "/api/draft", {"camera": "door", "revision": 9, "layout": {"zones": [], "privacy_masks": []}}),
    ("POST", "/api/hold", {"camera": "door", "hold": True}),
    ("POST", "/api/save", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_without_the_token_every_route_answers_401_and_no_picture(
    running: Running, method: str, path: str, body: Any
) -> None:
    version = running.snapshot()["version"]  # a picture is there, to be refused
    for token in (None, "wrong-token", running.server.token[:-1], running.server.token + "x"):
        answer = running.call(method, path.format(version=version), body, token=token)
        assert answer.status == 401, (token, answer.body)
        assert answer.headers["Content-Type"] == "application/json"
        assert JPEG_MAGIC not in answer.body
        assert answer.json()["error"]["status"] == 401
    assert running.path.read_text(encoding="utf-8") == SITE_YAML
    assert not running.path.with_name("site.yaml.bak").exists()
    assert running.camera()["hold"] is False and running.camera()["revision"] == 0


def test_with_the_token_the_picture_is_served_and_never_cached(running: Running) -> None:
    version = running.snapshot()["version"]
    answer = running.call("GET", f"/api/picture/door?version={version}")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "image/jpeg" and answer.body.startswith(JPEG_MAGIC)
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_page_holds_no_data_and_may_load_nothing_from_another_origin(running: Running) -> None:
    answer = running.call("GET", "/", token=None)
    page = answer.body.decode()
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html")
    policy = answer.headers["Content-Security-Policy"]
    assert (
        "default-src 'none'" in policy and "connect-src 'self'" in policy and "img-src 'self' blob:" in policy
    )
    assert re.search(r"https?://|//[a-z]", page) is None  # no address of anything anywhere
    assert running.server.token not in page and JPEG_MAGIC not in answer.body


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/", "text/html"),
        ("/setup.css", "text/css"),
        ("/setup.js", "text/javascript"),
        ("/setup-floor.js", "text/javascript"),
    ],
)
def test_the_pages_files_come_from_the_package_without_the_token_and_nothing_runs_inline(
    running: Running, path: str, kind: str
) -> None:
    answer = running.call("GET", path, token=None)
    text = answer.body.decode()
    assert answer.status == 200 and answer.headers["Content-Type"] == f"{kind}; charset=utf-8"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # a script must be served as one
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    assert re.search(r"https?://|//[a-z]", text) is None and running.server.token not in text
    name = "setup.html" if path == "/" else path.removeprefix("/")
    assert text == (files("edge.setup") / "static" / name).read_text(encoding="utf-8")


def test_the_page_links_its_own_files_and_holds_no_script_or_style_of_its_own(running: Running) -> None:
    page = running.call("GET", "/", token=None).body.decode()
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == ["setup.css", "setup.js", "setup-floor.js"]
    # What the policy would block: a script without src, a style element or attribute, a handler.
    assert re.search(r"<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=", page) is None


@pytest.mark.parametrize(
    "path", ["/setup.html", "/static/setup.js", "/setup.js/", "/SETUP.JS", "/server.py", "/../setup.css"]
)
def test_only_the_pages_own_paths_serve_its_files(running: Running, path: str) -> None:
    answer = running.call("GET", path, token=None)
    assert answer.status == 404 and answer.headers["Content-Type"] == "application/json"


def test_the_count_is_the_pipelines_count_of_the_same_frame_with_the_anchor_points_it_used(
    running: Running, site: Path
) -> None:
    snapshot = running.snapshot()
    config = load_config(site)
    camera = config.cameras[0]
    runner = CameraRunner(camera, CameraPipeline(camera, RecordingDetector(PEOPLE), config.tracker))
    result = runner.analyse(Frame(camera_frame(site), snapshot["time_s"], snapshot["wall_time"]))

    assert result is not None
    assert snapshot["counts"] == {r.zone: r.raw_count for r in result.zones} == {"waiting": 1}
    # The zone counts by box_center: that is the point drawn for each person.
    centres = [[[(x1 + x2) / 2 / WIDTH, (y1 + y2) / 2 / HEIGHT]] for x1, y1, x2, y2 in PEOPLE]
    np.testing.assert_allclose([p["points"] for p in snapshot["people"]], centres, atol=1e-6)
    boxes = [[x1 / WIDTH, y1 / HEIGHT, x2 / WIDTH, y2 / HEIGHT] for x1, y1, x2, y2 in PEOPLE]
    np.testing.assert_allclose([p["box"] for p in snapshot["people"]], boxes, atol=1e-6)


def test_a_draft_is_counted_on_the_picture_at_once(running: Running) -> None:
    running.snapshot()
    queue = zone("queue", RIGHT_HALF, name="Schlange")

    answer = running.draft(1, [WAITING, queue], [WINDOW])

    assert answer.status == 200 and answer.json()["problems"] == []
    snapshot = running.snapshot(revision=1)
    assert snapshot["counts"] == {"waiting": 1, "queue": 1}
    # waiting counts by box_center, queue by box_bottom (the default): both points are drawn
    x1, y1, x2, y2 = PEOPLE[1]
    np.testing.assert_allclose(
        snapshot["people"][1]["points"],
        [[(x1 + x2) / 2 / WIDTH, (y1 + y2) / 2 / HEIGHT], [(x1 + x2) / 2 / WIDTH, y2 / HEIGHT]],
        atol=1e-6,
    )


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"id": "Queue 2"}, "cameras[0].zones[1].id", "must be lower-case letters, digits"),
        ({"id": "waiting"}, "cameras[0]", "duplicate zone id 'waiting'"),
        ({"name": "Zeile\nzwei"}, "cameras[0].zones[1].name", "without line breaks"),
        (
            {"polygon": [[0.5, 0.2], [640, 0.2], [1, 1]]},
            "cameras[0].zones[1].polygon[1][0]",
            "got 640.0: pixels?",
        ),
        ({"polygon": [[0.5, 0.2], [1, 0.2]]}, "cameras[0].zones[1].polygon", "at least 3"),
        (
            {"polygon": [[0.6, 0.5], [0.6, 0.5], [0.6, 0.5]]},
            "cameras[0].zones[1].polygon",
            "zone 'queue' encloses 0 of a 1920 x 1080 picture's pixels",
        ),
        ({"loiter_limit_s": None}, "cameras[0].zones[1].loiter_limit_s", "valid number"),
        ({"loiter_limit_s": 0}, "cameras[0].zones[1].loiter_limit_s", "greater than 0"),
    ],
)
def test_a_draft_the_config_model_refuses_is_named_and_not_counted(
    running: Running, change: dict[str, Any], path: str, words: str
) -> None:
    before = running.snapshot()["version"]
    queue = {**zone("queue", RIGHT_HALF), **change}

    problems = running.draft(1, [WAITING, queue], [WINDOW]).json()["problems"]

    assert any(p["path"] == path and words in p["message"] for p in problems), problems
    assert all(p["zone"] == (1 if "zones[1]" in p["path"] else None) for p in problems)
    assert running.camera()["problems"] == problems
    # Frames keep coming: they are counted with the last draft that passed.
    assert running.snapshot(revision=0, after_version=before)["counts"] == {"waiting": 1}


def test_a_draft_without_zones_or_with_a_bad_mask_is_named(running: Running) -> None:
    problems = running.draft(1, [], []).json()["problems"]
    assert [(p["path"], p["zone"]) for p in problems] == [("cameras[0].zones", None)]
    assert "has no zone and sees no room of the floor plan" in problems[0]["message"]

    problems = running.draft(2, [WAITING], [[[0, 0], [1.5, 0], [1, 1]]]).json()["problems"]
    assert [(p["path"], p["mask"]) for p in problems] == [("cameras[0].privacy_masks[0][1][0]", 0)]
    assert "fractions 0..1 of the image" in problems[0]["message"]


def test_a_late_draft_does_not_replace_a_newer_one(running: Running) -> None:
    running.draft(3, [WAITING, zone("queue", RIGHT_HALF)], [WINDOW])
    answer = running.draft(2, [WAITING], [WINDOW]).json()
    assert answer == {"revision": 3, "stale": True}
    assert [z["id"] for z in running.camera()["layout"]["zones"]] == ["waiting", "queue"]


BOW_TIE = [[0.0, 0.2], [0.5, 1.0], [0.5, 0.2], [0.0, 1.0]]


@pytest.mark.parametrize(
    ("zones", "masks", "warning"),
    [
        ([WAITING], [WINDOW], None),  # nothing to look at again
        (
            [{**WAITING, "polygon": BOW_TIE}],
            [WINDOW],
            "camera door, zone waiting: its outline crosses itself",
        ),
        (
            [WAITING],
            [[[0, 0], [0.6, 0], [0.6, 1], [0, 1]]],
            "camera door, zone waiting: privacy masks blank 100%",
        ),
        (
            [WAITING, zone("queue", [[0.3, 0.2], [1, 0.2], [1, 1], [0.3, 1]])],
            [WINDOW],
            "camera door: zones waiting and queue overlap",
        ),
    ],
)
def test_layout_warnings_are_on_the_page_at_once_and_in_the_log_when_saved(
    running: Running,
    caplog: pytest.LogCaptureFixture,
    zones: list[Any],
    masks: list[Any],
    warning: str | None,
) -> None:
    caplog.set_level(logging.WARNING, logger="edge.setup.session")

    answer = running.draft(1, zones, masks).json()

    assert answer["problems"] == []  # legal, but worth a second look
    assert running.camera()["warnings"] == answer["warnings"]
    assert running.call("POST", "/api/save", {}).status == 200  # the log says it once, when saved
    logged = [r.getMessage() for r in caplog.records if r.name == "edge.setup.session"]
    if warning is None:
        assert answer["warnings"] == [] and logged == []
    else:
        assert [w for w in answer["warnings"] if w.startswith(warning)], answer["warnings"]
        assert [m for m in logged if m.startswith(warning)], logged


def test_the_picture_blacks_out_the_masks_and_pixelates_every_person(running: Running, site: Path) -> None:
    version = running.snapshot()["version"]
    served = cv2.imdecode(
        np.frombuffer(running.call("GET", f"/api/picture/door?version={version}").body, np.uint8),
        cv2.IMREAD_COLOR,
    )
    camera = camera_frame(site).astype(np.int16)
    assert served.shape == camera.shape
    served = served.astype(np.int16)

    # Black: JPEG's colour blocks (16 pixels) bleed a little from the picture below into the last rows.
    assert served[:16].max() <= 8 and served[: int(0.1 * HEIGHT)].mean() < 3
    hidden = np.zeros((HEIGHT, WIDTH), bool)
    hidden[: int(0.1 * HEIGHT) + 1] = True
    for x1, y1, x2, y2 in PEOPLE:
        px, py = PAD_SHARE * (x2 - x1), PAD_SHARE * (y2 - y1)
        left, top, right, bottom = int(x1 - px), int(y1 - py), int(x2 + px) + 1, int(y2 + py) + 1
        hidden[top:bottom, left:right] = True
        original, shown = (
            camera[int(y1) : int(y2), int(x1) : int(x2)],
            served[int(y1) : int(y2), int(x1) : int(x2)],
        )
        # The detail is gone: normalised cross-correlation of the camera's box with the served one.
        score = cv2.matchTemplate(
            shown.astype(np.float32), original.astype(np.float32), cv2.TM_CCOEFF_NORMED
        ).max()
        assert score < 0.3, score  # about 0.2: what is left is each cell's mean colour
        assert np.abs(np.diff(shown, axis=1)).mean() < 0.25 * np.abs(np.diff(original, axis=1)).mean()
    # Elsewhere the picture is the camera's (so that zones can be placed on it): the same measure
    # finds it there, through JPEG's losses.
    assert np.corrcoef(served[~hidden].ravel(), camera[~hidden].ravel())[0, 1] > 0.9  # about 0.95


def test_a_held_picture_stays_and_a_new_draft_is_counted_on_it(running: Running) -> None:
    running.snapshot()
    assert running.call("POST", "/api/hold", {"camera": "door", "hold": True}).status == 200
    time.sleep(0.5)  # a frame taken just before is still counted
    held = running.camera()["snapshot"]
    time.sleep(1.5)  # the video plays on meanwhile
    assert running.camera()["snapshot"]["version"] == held["version"]

    running.draft(1, [WAITING, zone("queue", RIGHT_HALF)], [WINDOW])

    counted = running.snapshot(revision=1)
    assert counted["time_s"] == held["time_s"] and counted["counts"] == {"waiting": 1, "queue": 1}
    running.call("POST", "/api/hold", {"camera": "door", "hold": False})
    wait_for(lambda: running.camera()["snapshot"]["time_s"] != held["time_s"], 10, "the live picture again")


def test_save_writes_the_layout_keeping_comments_and_order_with_a_backup(
    running: Running, site: Path
) -> None:
    waiting = {**WAITING, "name": "Wartebereich Süd", "polygon": [[0, 0.25], [0.5, 0.25], [0.5, 1], [0, 1]]}
    queue = zone("queue", RIGHT_HALF, name="Schlange am Schalter", loiter_limit_s=120)
    assert running.draft(1, [waiting, queue], [WINDOW]).json()["problems"] == []

    answer = running.call("POST", "/api/save", {})

    assert answer.status == 200 and answer.json() == {"file": "site.yaml", "backup": "site.yaml.bak"}
    assert site.with_name("site.yaml.bak").read_text(encoding="utf-8") == SITE_YAML
    before = "name: Wartebereich\n        polygon: [[0.0, 0.2], [0.5, 0.2], [0.5, 1.0], [0.0, 1.0]]\n"
    after = "name: Wartebereich Süd\n        polygon: [[0.0, 0.25], [0.5, 0.25], [0.5, 1.0], [0.0, 1.0]]\n"
    assert site.read_text(encoding="utf-8") == SITE_YAML.replace(before, after) + (
        "      - id: queue\n"
        "        name: Schlange am Schalter\n"
        "        polygon: [[0.5, 0.2], [1.0, 0.2], [1.0, 1.0], [0.5, 1.0]]\n"
        "        loiter_limit_s: 120\n"
    )
    saved = load_config(site).cameras[0]
    assert [(z.id, z.name, z.loiter_limit_s, z.anchor) for z in saved.zones] == [
        ("waiting", "Wartebereich Süd", 900, "box_center"),
        ("queue", "Schlange am Schalter", 120, "box_bottom"),
    ]
    assert running.state()["saved"]["backup"] == "site.yaml.bak"
    # Saved zones are the file's now: renaming one later keeps its other keys (anchor).
    assert [z["origin"] for z in running.camera()["layout"]["zones"]] == ["waiting", "queue"]


def test_a_save_the_config_model_refuses_writes_nothing(running: Running, site: Path) -> None:
    running.draft(1, [{**WAITING, "id": "Warte Bereich"}], [WINDOW])

    answer = running.call("POST", "/api/save", {})

    assert answer.status == 422
    [problem] = answer.json()["error"]["problems"]
    assert problem["path"] == "cameras[0].zones[0].id" and "lower-case" in problem["message"]
    assert site.read_text(encoding="utf-8") == SITE_YAML
    assert not site.with_name("site.yaml.bak").exists()


@pytest.mark.parametrize(
    ("zones", "masks", "path"),
    [
        (
            [{**WAITING, "polygon": [[0.1, 0.3], [0.3, 0.5], [0.5, 0.7]]}],
            [WINDOW],
            "cameras[0].zones[0].polygon",
        ),
        ([WAITING], [WINDOW, [[0.2, 0.2], [0.2, 0.2], [0.2, 0.2]]], "cameras[0].privacy_masks[1]"),
    ],
    ids=["zone", "mask"],
)
def test_a_zone_or_mask_without_area_is_named_on_the_page_and_not_saved(
    running: Running, site: Path, zones: list[Any], masks: list[Any], path: str
) -> None:
    [problem] = running.draft(1, zones, masks).json()["problems"]
    assert problem["path"] == path and "encloses 0 of a 1920 x 1080 picture's pixels" in problem["message"]

    answer = running.call("POST", "/api/save", {})

    assert answer.status == 422
    assert answer.json()["error"]["problems"] == [{k: problem[k] for k in ("path", "message")}]
    assert site.read_text(encoding="utf-8") == SITE_YAML


@pytest.mark.parametrize(
    ("path", "raw", "status", "words"),
    [
        ("/api/draft", b"", 422, "camera"),  # the empty body
        ("/api/draft", b"{not json", 400, "body is not JSON"),
        ("/api/draft", b'{"camera": "door", "revision": 1, "layout": {"zones": []}}', 422, "privacy_masks"),
        (
            "/api/draft",
            b'{"camera": "hall", "revision": 1, "layout": {"zones": [], "privacy_masks": []}}',
            404,
            "no camera 'hall'",
        ),
        ("/api/draft", b"[" + b" " * 300_000 + b"]", 413, "at most 262144"),
        (
            "/api/draft",
            b'{"camera": "door", "revision": ' + b"9" * 5000 + b"}",
            400,
            "a number of 5000 digits; at most 18",
        ),
        ("/api/draft", b"[" * 100_000, 400, "nested too deeply"),
        ("/api/hold", b'{"camera": "\xff"}', 400, "body is not JSON: 'utf-8' codec"),
        ("/api/hold", b'{"camera": "door"}', 422, "hold"),
        ("/api/nothing", b"{}", 404, "no page /api/nothing"),
    ],
)
def test_bad_requests_are_named(running: Running, path: str, raw: bytes, status: int, words: str) -> None:
    answer = running.call("POST", path, raw=raw)
    assert answer.status == status
    error = answer.json()["error"]
    assert words in error["message"] + str(error.get("problems")), error


def test_an_unknown_camera_or_an_old_picture_is_not_found(running: Running) -> None:
    version = running.snapshot()["version"]
    assert running.call("GET", f"/api/picture/hall?version={version}").status == 404
    assert running.call("GET", "/api/picture/door?version=0").status == 404
    assert running.call("GET", "/api/picture/door?version=x").status == 400


class FailingDetector(RecordingDetector):
    def detect_batch(self, images: Any, regions: Any = None) -> Any:
        raise RuntimeError("the model's runtime broke")


@pytest.mark.parametrize(
    ("loop", "detector", "status", "failed"),
    [
        ("false", RecordingDetector(PEOPLE), "ended", False),  # a video that ends keeps its last picture
        ("true", FailingDetector(), "up", True),  # frames arrive, but none can be counted
    ],
)
def test_an_ended_video_and_a_failing_analysis_are_said(
    site: Path, loop: str, detector: RecordingDetector, status: str, failed: bool
) -> None:
    site.write_text(SITE_YAML.replace("loop: true", f"loop: {loop}"), encoding="utf-8")
    session = SetupSession(load_config(site), site, detector=detector)
    server = SetupServer("127.0.0.1", 0)
    session.start()
    server.start(session)
    running = Running(session, server, detector, site)
    try:
        camera = wait_for(
            lambda: (c := running.camera())["status"] == status and c["analysis_failed"] == failed and c,
            20,
            f"camera {status}, analysis failed: {failed}",
            every_s=0.1,
        )
        if failed:
            assert camera["snapshot"] is None  # nothing to show rather than a picture nobody counted
            return
        time.sleep(1.0)  # the last frame read may still be on its way through the analysis
        last = running.camera()["snapshot"]
        running.draft(1, [WAITING, zone("queue", RIGHT_HALF)], [WINDOW])
        counted = running.snapshot(revision=1)
        assert counted["time_s"] == last["time_s"] and counted["counts"] == {"waiting": 1, "queue": 1}
    finally:
        server.stop()
        session.stop()
