"""The page's floor plan written into the site's YAML document: floor.rooms and each camera's
floor_calibration, the way config_file writes zones (comments and key order kept, a room keeps the
keys the page does not edit, an unchanged calibration keeps its node as written, an OpenCV file
stays named as it was)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, MutableSequence
from pathlib import Path
from typing import Any

from edge.config import Config, RoomConfig
from edge.setup.config_file import (
    DIGITS,
    Layout,
    _mapping,
    _put,
    _replace_items,
    layouts_edit,
    parse_edited,
    rewrite_config,
    write_outline,
)
from edge.setup.plan import CalibrationDraft, FloorDraft, RoomDraft

DEFAULT_ROOM_LOITER_S = RoomConfig.model_fields["loiter_limit_s"].default


def set_floor(document: MutableMapping[str, Any], draft: FloorDraft) -> None:
    """Write the draft's rooms and calibrations into a parsed YAML document (ruamel's round-trip
    nodes or plain dicts and lists). No rooms: no floor section."""
    ruamel = type(document).__module__.startswith("ruamel")
    section = document.get("floor")
    old_rooms = section.get("rooms") if isinstance(section, MutableMapping) else None
    old = {
        r.get("id"): r
        for r in (old_rooms if isinstance(old_rooms, list) else [])
        if isinstance(r, MutableMapping)
    }
    rooms = [_room(old.get(d.origin) if d.origin is not None else None, d, ruamel) for d in draft.rooms]
    if not rooms:
        document.pop("floor", None)
    elif isinstance(section, MutableMapping) and isinstance(old_rooms, MutableSequence):
        _replace_items(old_rooms, rooms)
    else:
        node = _mapping(ruamel)
        node["rooms"] = rooms
        _put(document, "floor", node, before="cameras")
    for camera in document.get("cameras") or []:
        if isinstance(camera, MutableMapping):
            _calibration(camera, draft.calibrations.get(str(camera.get("id"))), ruamel)


def _room(node: MutableMapping[str, Any] | None, draft: RoomDraft, ruamel: bool) -> MutableMapping[str, Any]:
    return write_outline(
        node, draft.id, draft.name, draft.polygon, draft.loiter_limit_s, ruamel, DEFAULT_ROOM_LOITER_S
    )


def _calibration(camera: MutableMapping[str, Any], draft: CalibrationDraft | None, ruamel: bool) -> None:
    node = camera.get("floor_calibration")
    if draft is None or (not draft.points and draft.opencv is None):
        camera.pop("floor_calibration", None)
        return
    if not draft.points:  # the OpenCV file the page showed: the node stays as written
        return
    pairs = [
        {
            "image": [round(float(p.image[0]), DIGITS), round(float(p.image[1]), DIGITS)],
            "floor": [round(float(p.floor[0]), DIGITS), round(float(p.floor[1]), DIGITS)],
        }
        for p in draft.points
    ]
    if isinstance(node, MutableMapping) and _plain(node.get("points")) == pairs:
        return  # unchanged: its comments and layout stay
    written = [_pair(pair, ruamel) for pair in pairs]
    if isinstance(node, MutableMapping):
        node.pop("opencv", None)
        node["points"] = written if not ruamel else _block(written)
    else:
        fresh = _mapping(ruamel)
        fresh["points"] = written if not ruamel else _block(written)
        _put(camera, "floor_calibration", fresh, before="zones")


def _plain(value: object) -> Any:
    """A node as plain lists, dicts and floats, to compare with what the page sent."""
    if isinstance(value, MutableMapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _pair(pair: dict[str, list[float]], ruamel: bool) -> Any:
    """{image: [x, y], floor: [x, y]} on one line."""
    if not ruamel:
        return pair
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = CommentedMap()
    for key in ("image", "floor"):
        point = CommentedSeq(pair[key])
        point.fa.set_flow_style()
        node[key] = point
    node.fa.set_flow_style()
    return node


def _block(items: list[Any]) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    return CommentedSeq(items)


def _edit(layouts: dict[str, Layout], floor: FloorDraft) -> Callable[[Any], None]:
    def edit(document: Any) -> None:
        layouts_edit(layouts)(document)
        set_floor(document, floor)

    return edit


def validate_site(path: Path, layouts: dict[str, Layout], floor: FloorDraft) -> Config:
    """The site as it would run with these layouts and this floor plan, checked by the config model
    against the file as it is now (ConfigError: what is wrong, by field path). Nothing is written."""
    return parse_edited(path, _edit(layouts, floor))


def save_site(path: Path, layouts: dict[str, Layout], floor: FloorDraft) -> Path:
    """Every camera's layout and the floor plan into the file (config_file.rewrite_config: kept as
    written, checked first, a backup beside it); returns the backup's path."""
    return rewrite_config(path, _edit(layouts, floor))
