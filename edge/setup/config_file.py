"""The site's YAML file written back as its owner wrote it: comments, order, quoting and indentation
kept, the previous file beside it as FILE.bak, and nothing written unless the result passes the config
model. `wartezone setup` writes zones and masks through it, `wartezone calibrate` a count correction.
Each file is written whole to a temporary one beside it and renamed over it, so that a crash or a
full disk leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import os
import re
import stat
import tempfile
from collections.abc import Callable, MutableMapping, MutableSequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from edge.config import CameraConfig, Config, ConfigError, ZoneConfig, parse_config

# Points are written to 4 decimals: a ten-thousandth of the picture is below a pixel of any camera.
DIGITS = 4
DEFAULT_LOITER_LIMIT_S = ZoneConfig.model_fields["loiter_limit_s"].default


class ZoneDraft(BaseModel):
    """A zone as the page edits it. Values are checked by the config model when applied, so a
    mistake reads as it would in the file (`cameras[0].zones[1].id: must be lower-case ...`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origin: str | None = Field(
        None, description="The zone's id in the file when the page loaded it (its other keys are kept)."
    )
    id: str
    name: str | None = None
    polygon: list[tuple[float, float]]
    loiter_limit_s: float | None = Field(description="None: the field was left empty (an error).")
    room: str | None = Field(None, description="The room of floor.rooms the zone is part of; None: none.")


class Layout(BaseModel):
    """One camera's zones and privacy masks: what the page draws."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zones: list[ZoneDraft]
    privacy_masks: list[list[tuple[float, float]]]


def layout_of(camera: CameraConfig) -> Layout:
    """The camera's layout as configured, for the page to start from."""
    zones = [
        ZoneDraft(
            origin=z.id,
            id=z.id,
            name=z.name,
            polygon=list(z.polygon),
            loiter_limit_s=z.loiter_limit_s,
            room=z.room,
        )
        for z in camera.zones
    ]
    return Layout(zones=zones, privacy_masks=[list(m) for m in camera.privacy_masks])


def rewrite_config(path: Path, edit: Callable[[Any], None]) -> Path:
    """Apply `edit` to the YAML document in `path` and write it back, keeping comments, key order,
    quoting and indentation (ruamel.yaml's round trip); the previous file stays as FILE.bak.
    The result must pass the config model first: otherwise ConfigError, and nothing is written.
    Returns the backup's path."""
    from ruamel.yaml import YAML

    text = path.read_text(encoding="utf-8")
    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # a polygon stays on its line
    round_trip.indent(**_indents(text))
    document = round_trip.load(text)
    edit(document)
    written = io.StringIO()
    round_trip.dump(document, written)
    new_text = written.getvalue()
    parse_config(yaml.safe_load(new_text), path.resolve().parent)
    backup = path.with_name(path.name + ".bak")
    target = Path(os.path.realpath(path))  # a link stays a link: the file it points to is replaced
    original = target.stat()
    write_whole(backup, text, original)
    write_whole(target, new_text, original)
    return backup


def write_whole(path: Path, text: str, like: os.stat_result) -> None:
    """Write `text` to a temporary file in `path`'s folder, with the permissions (and, where
    allowed, the owner) of `like`, flushed to disk, then renamed over `path`: readers and a crash
    see the old file or the new one. Nothing is left behind when it fails."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fchmod(file.fileno(), stat.S_IMODE(like.st_mode))
            with contextlib.suppress(PermissionError):  # only root may give a file to someone else
                os.fchown(file.fileno(), like.st_uid, like.st_gid)
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself on disk
    finally:
        os.close(folder)


_BLOCK_KEY = re.compile(r"^(?P<lead>[ -]*)[^\s#-][^:#]*:\s*(#.*)?$")


def _indents(text: str) -> dict[str, int]:
    """How the file indents nested mappings and lists (ruamel writes its own default otherwise):
    mapping: columns a nested key moves right; sequence: columns an item's content moves right of
    its parent key; offset: columns the dash moves right."""
    from ruamel.yaml.util import load_yaml_guess_indent

    _, sequence, offset = load_yaml_guess_indent(text)
    mapping = 2
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in itertools.pairwise(lines):
        found = _BLOCK_KEY.match(line)
        if found is None or following.lstrip().startswith("-"):
            continue
        step = (len(following) - len(following.lstrip(" "))) - len(found.group("lead"))
        if step > 0:
            mapping = step
            break
    return {"mapping": mapping, "sequence": sequence or 2, "offset": offset or 0}


def set_layout(document: MutableMapping[str, Any], camera_id: str, layout: Layout) -> None:
    """Write a camera's zones and privacy masks into a parsed YAML document (ruamel's round-trip
    nodes or plain dicts and lists). A zone keeps the keys the page does not edit (anchor,
    smoothing, ...) and its comments; unchanged polygons keep their node as written."""
    ruamel = type(document).__module__.startswith("ruamel")
    cameras = [
        c
        for c in (document.get("cameras") or [])
        if isinstance(c, MutableMapping) and c.get("id") == camera_id
    ]
    if len(cameras) != 1:
        raise ConfigError(
            [("cameras", f"camera {camera_id!r} is no longer in the file: was it edited meanwhile?")]
        )
    camera = cameras[0]
    old_zones = camera.get("zones")
    old = {
        z.get("id"): z
        for z in (old_zones if isinstance(old_zones, list) else [])
        if isinstance(z, MutableMapping)
    }
    zones = [_zone(old.get(d.origin) if d.origin is not None else None, d, ruamel) for d in layout.zones]
    if isinstance(old_zones, MutableSequence):
        _replace_items(old_zones, zones)
    else:
        camera["zones"] = zones
    masks = camera.get("privacy_masks")
    old_masks = list(masks) if isinstance(masks, list) else []
    new_masks = [_reuse(old_masks, m) or _points(m, ruamel) for m in layout.privacy_masks]
    if not new_masks:
        camera.pop("privacy_masks", None)
    elif isinstance(masks, MutableSequence):
        _replace_items(masks, new_masks)
    else:
        _put(camera, "privacy_masks", new_masks, before="zones")


def _replace_items(items: MutableSequence[Any], new: list[Any]) -> None:
    """Make the list node hold `new` by deleting and inserting single items: ruamel moves an item's
    comment along with it then (assigning a slice would drop them all)."""
    keep = {id(node) for node in new}
    for i in reversed(range(len(items))):
        if id(items[i]) not in keep:
            del items[i]
    for i, node in enumerate(new):
        if i < len(items) and items[i] is node:
            continue
        if any(kept is node for kept in items):  # reordered: the comments cannot follow every item
            items[:] = new
            return
        items.insert(i, node)


def _zone(node: MutableMapping[str, Any] | None, draft: ZoneDraft, ruamel: bool) -> MutableMapping[str, Any]:
    node = write_outline(node, draft.id, draft.name, draft.polygon, draft.loiter_limit_s, ruamel)
    if draft.room:
        _put(node, "room", draft.room, after="name" if "name" in node else "id")
    else:
        node.pop("room", None)
    return node


def write_outline(
    node: MutableMapping[str, Any] | None,
    outline_id: str,
    name: str | None,
    polygon: list[tuple[float, float]],
    loiter_limit_s: float | None,
    ruamel: bool,
    default_limit_s: float = DEFAULT_LOITER_LIMIT_S,
) -> MutableMapping[str, Any]:
    """A zone's or a room's id, name, corners and loitering limit written into its node (a new one
    made where None); its other keys and comments stay, an unchanged polygon keeps its node."""
    if node is None:
        node = _mapping(ruamel)
    node["id"] = outline_id
    if name:
        _put(node, "name", name, after="id")
    else:
        node.pop("name", None)
    if _rounded(node.get("polygon")) != _rounded(polygon):
        _put(node, "polygon", _points(polygon, ruamel), after="name" if "name" in node else "id")
    limit = None if loiter_limit_s is None else _number(loiter_limit_s)
    # One that leaves the limit at its default gets no key for it; one that names it keeps it,
    # as written while unchanged (900.0 stays 900.0).
    if "loiter_limit_s" in node:
        if node["loiter_limit_s"] != limit:
            node["loiter_limit_s"] = limit
    elif limit != default_limit_s:
        _put(node, "loiter_limit_s", limit, after="polygon")
    return node


def _mapping(ruamel: bool) -> MutableMapping[str, Any]:
    if not ruamel:
        return {}
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap()


def _points(polygon: list[tuple[float, float]], ruamel: bool) -> list[Any]:
    """Corner points, rounded, written on one line: [[0.1, 0.3], [0.9, 0.3], ...]."""
    points = [[round(float(x), DIGITS), round(float(y), DIGITS)] for x, y in polygon]
    if not ruamel:
        return points
    from ruamel.yaml.comments import CommentedSeq

    inner = []
    for point in points:
        item = CommentedSeq(point)
        item.fa.set_flow_style()
        inner.append(item)
    outer = CommentedSeq(inner)
    outer.fa.set_flow_style()
    return outer


def _rounded(value: object) -> list[tuple[float, float]] | None:
    try:
        return [(round(float(x), DIGITS), round(float(y), DIGITS)) for x, y in value]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None


def _reuse(old: list[Any], polygon: list[tuple[float, float]]) -> Any:
    """The node of an unchanged mask (its comment stays with it), taken out of `old`."""
    for i, node in enumerate(old):
        if _rounded(node) == _rounded(polygon):
            return old.pop(i)
    return None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _put(
    node: MutableMapping[str, Any],
    key: str,
    value: object,
    after: str | None = None,
    before: str | None = None,
) -> None:
    """Set `key`; a new key goes after `after` (or before `before`) rather than at the end."""
    if key in node or not hasattr(node, "insert"):
        node[key] = value
        return
    keys = list(node)
    if after is not None and after in keys:
        position = keys.index(after) + 1
    elif before is not None and before in keys:
        position = keys.index(before)
    else:
        position = len(keys)
    node.insert(position, key, value)


def validate_layout(path: Path, camera_id: str, layout: Layout) -> CameraConfig:
    """The camera as it would run with this layout, checked by the config model against the file
    as it is now (ConfigError: what is wrong, by field path). Nothing is written."""
    config = _with_layouts(path, {camera_id: layout})
    return next(c for c in config.cameras if c.id == camera_id)


def _with_layouts(path: Path, layouts: dict[str, Layout]) -> Config:
    return parse_edited(path, layouts_edit(layouts))


def layouts_edit(layouts: dict[str, Layout]) -> Callable[[Any], None]:
    """The edit of a YAML document that writes these cameras' layouts into it."""

    def edit(document: Any) -> None:
        for camera_id, layout in layouts.items():
            set_layout(document, camera_id, layout)

    return edit


def parse_edited(path: Path, edit: Callable[[Any], None]) -> Config:
    """The file as it is now with `edit` applied to its document, checked by the config model
    (ConfigError: what is wrong, by field path). Nothing is written."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError([("(file)", f"cannot read {path} again: {error}")]) from None
    if not isinstance(data, MutableMapping):
        raise ConfigError([("(file)", f"{path} no longer holds a configuration")])
    document = copy.deepcopy(data)
    edit(document)
    return parse_config(document, path.resolve().parent)


def save_layouts(path: Path, layouts: dict[str, Layout]) -> Path:
    """Write every camera's layout into the file (see rewrite_config); returns the backup's path."""
    return rewrite_config(path, layouts_edit(layouts))
