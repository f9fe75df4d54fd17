"""The setup page's floor plan in Chromium: floor marks clicked in the camera's picture and on the plan
(one typed in metres, one tapped), the residual in centimetres and the footprint shown, a bent plan
warned about, a room drawn, and all of it saved into the YAML. The in-process session with the
detector faked at the edge (tests/edge/setup/conftest)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from edge.config import load_config
from edge.zones.floor import to_floor
from tests.edge.setup.conftest import SITE_YAML, Running
from tests.edge.setup.test_floor_server import DOOR_H

pytestmark = pytest.mark.browser

# Floor marks (metres, on the plan's 5 cm grid) the door camera sees, and where they are in its picture.
MARKS_M = [(4.5, 9.0), (6.0, 9.5), (7.5, 3.0), (2.5, 3.5), (5.0, 6.0)]


def picture_of(homography: np.ndarray, floor: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Where floor points appear in the picture (fractions) of a camera with this floor mapping."""
    back = to_floor(np.linalg.inv(homography), floor)
    return [(float(x), float(y)) for x, y in back]


def click_picture(page: Any, fraction: tuple[float, float], touch: bool = False) -> None:
    page.locator("#canvas").scroll_into_view_if_needed()  # a phone shows the picture and the plan in turn
    box = page.locator("#canvas").bounding_box()
    x, y = box["x"] + fraction[0] * box["width"], box["y"] + fraction[1] * box["height"]
    page.touchscreen.tap(x, y) if touch else page.mouse.click(x, y)


def click_plan(page: Any, metres: tuple[float, float], touch: bool = False) -> None:
    """Click the plan where these metres are drawn now (the plan grows with what is on it)."""
    page.locator("#plan").scroll_into_view_if_needed()
    box = page.locator("#plan").bounding_box()
    px = page.evaluate("(p) => toPlan(p)", list(metres))
    x, y = box["x"] + px[0], box["y"] + px[1]
    page.touchscreen.tap(x, y) if touch else page.mouse.click(x, y)


def place_pairs(page: Any, pictures: list[tuple[float, float]], floors: list[tuple[float, float]]) -> None:
    for picture, floor in zip(pictures, floors, strict=True):
        click_picture(page, picture)
        click_plan(page, floor)


def draw_room(page: Any, corners: list[tuple[float, float]], room_id: str, name: str) -> None:
    page.click("#tool-room")
    for corner in corners:
        click_plan(page, corner)
    page.click("#finish")
    card = page.locator("#rooms article.room").last
    card.locator(".rid").fill(room_id)
    card.locator(".rname").fill(name)


def fit_shown(page: Any, camera: str, pairs: int) -> dict[str, Any]:
    """The fit the setup process made of `pairs` pairs of this camera, once the page shows it."""
    page.wait_for_function(
        "([camera, n]) => floor.view && floor.view.fits[camera] && floor.view.fits[camera].pairs === n"
        " && floor.sent === floor.revision",
        arg=[camera, pairs],
    )
    fit: dict[str, Any] = page.evaluate("(camera) => floor.view.fits[camera]", camera)
    return fit


def test_calibrate_a_camera_by_clicks_typing_and_a_tap_then_save_it_with_a_room(
    browser: Any, running: Running
) -> None:
    faults: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US", has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.on("pageerror", lambda error: faults.append(f"script error: {error}"))
    page.goto(f"{running.base}/#token={running.server.token}")
    page.wait_for_selector('article.zone[data-zone-card="waiting"][data-count="1"]')
    page.click("#mode-floor")
    page.wait_for_selector("#plan:not([hidden])")
    assert page.is_hidden("#zones") and page.is_visible("#floorside"), faults
    assert faults == []
    assert "only where the zones' areas do not overlap" in page.inner_text("#boxes-note")
    pictures = picture_of(DOOR_H, MARKS_M)

    # Four pairs: three clicked in both views, the fourth clicked in the picture and typed in metres.
    place_pairs(page, pictures[:3], MARKS_M[:3])
    assert "3 of at least 4 point pairs placed" in page.inner_text("#fitline")
    click_picture(page, pictures[3])
    row = page.locator("#pairs tbody tr").nth(3)
    row.locator(".fx").fill(str(MARKS_M[3][0]))
    row.locator(".fy").fill(str(MARKS_M[3][1]))
    fit = fit_shown(page, "door", 4)
    assert fit["rms_cm"] == 0 and fit["warning"] is None  # four pairs fix the mapping exactly
    # The fifth by touch: its residual shows how well the five agree.
    click_picture(page, pictures[4], touch=True)
    click_plan(page, MARKS_M[4], touch=True)
    fit = fit_shown(page, "door", 5)
    assert fit["rms_cm"] < 5 and fit["warning"] is None
    line = page.locator("#fitline")
    assert line.get_attribute("class") == "fitline ok"
    assert f"Residual {fit['rms_cm']:g} cm (RMS of 5 pairs, limit 25 cm)" == line.inner_text()
    assert page.locator("#pairs tbody tr").count() == 5
    assert page.get_attribute("#plan", "data-footprints") == "door"
    # The footprint drawn is the picture's border on the floor: the trapezoid of the door's view.
    outline = np.asarray(fit["footprint"], np.float32)
    for corner in [(4.0, 10.0), (6.0, 10.0), (9.0, 2.0), (1.0, 2.0)]:
        assert abs(cv2.pointPolygonTest(outline, corner, measureDist=True)) < 0.3

    # A plan point dragged 0.7 m off: the pairs no longer agree, said in words and in another colour.
    dragged = page.locator("#plan").bounding_box()
    start = page.evaluate("(p) => toPlan(p)", list(MARKS_M[4]))
    page.mouse.move(dragged["x"] + start[0], dragged["y"] + start[1])
    page.mouse.down()
    end = page.evaluate("(p) => toPlan(p)", [MARKS_M[4][0] + 0.6, MARKS_M[4][1] + 0.35])
    page.mouse.move(dragged["x"] + end[0], dragged["y"] + end[1], steps=4)
    page.mouse.up()
    page.wait_for_selector("#fitline.warn")
    assert page.inner_text("#fitwarn").startswith("Please check: ")
    assert page.locator("#pairs tbody tr.outlier").count() == 1
    # Typing the mark's metres puts it back.
    row = page.locator("#pairs tbody tr").nth(4)
    row.locator(".fx").fill(str(MARKS_M[4][0]))
    row.locator(".fy").fill(str(MARKS_M[4][1]))
    page.wait_for_selector("#fitline.ok")

    # A room drawn on the plan, named; its area and the share the door camera sees.
    draw_room(page, [(2.0, 3.0), (8.0, 3.0), (8.0, 9.0), (2.0, 9.0)], "wartebereich-eg", "Wartebereich EG")
    page.wait_for_function(
        "() => document.querySelector('#rooms .room .seen').textContent.includes('seen by door')"
    )
    assert page.inner_text("#rooms .room .count") == "36 m²"

    page.click("#save")
    page.wait_for_selector("#notice.ok")
    config = load_config(running.path)
    calibration = config.cameras[0].floor_calibration
    assert calibration is not None and calibration.points is not None
    assert [p.floor for p in calibration.points] == MARKS_M
    for saved, clicked in zip(calibration.points, pictures, strict=True):
        assert saved.image == pytest.approx(clicked, abs=0.01)
    assert config.floor is not None
    assert [(r.id, r.name, r.polygon) for r in config.floor.rooms] == [
        ("wartebereich-eg", "Wartebereich EG", [(2, 3), (8, 3), (8, 9), (2, 9)])
    ]
    text = running.path.read_text(encoding="utf-8")
    assert all(line in text for line in SITE_YAML.splitlines())

    # Back to the zones: the zone's card offers the room.
    page.click("#mode-zones")
    page.locator("article.zone .zroom").select_option("wartebereich-eg")
    page.click("#save")
    page.wait_for_function("() => !document.querySelector('#unsaved').checkVisibility()")
    assert load_config(running.path).cameras[0].zones[0].room == "wartebereich-eg"
    assert faults == []
    context.close()
