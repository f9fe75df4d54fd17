"""Merging where people hide each other: the rooms bench's virtual cameras, each given occluders of
its own. Semi-synthetic: real footage, real detector, occlusions painted in.

Views cut from one picture (benchmarks/rooms.py) share its occlusions, so there merging cannot show
what it does against them. Here each virtual camera's picture gets its own occluders, as cameras
placed apart have different people hidden: per room step, camera and person in the room (PETS'
truth at that camera's frame), a seeded draw hides the person in that view with chance p, each view
drawn on its own, so some people are hidden in every view that sees them (no merge brings those
back; the figures say how many). The draws are nested: whoever is hidden at p = 0.2 is hidden at
0.35 and 0.5 too, in the same views, behind the same occluder.

Occluders are painted into that camera's copy of the real picture, before its warp:
- person: a real PETS person from a frame at least 5 s away (person_bank: their silhouette cut
  from the video's median background by GrabCut), scaled to OCCLUDER_HEIGHT times the hidden
  person's height and pasted in front of them, feet OCCLUDER_DROP heights lower: someone standing
  nearer the camera. The pasted person is nobody in the room: the detection matching their box (IoU
  >= 0.5, one to one against the true boxes and the pasted ones together) gets no floor point, so it
  counts in no room, while its box still blocks that view for the merge's plain-view check, as a
  real person in front would. Hidden in part: a shoulder or an arm may still show.
- pillar: a grey box over the hidden person's box (wider, and reaching lower): hidden whole; the
  merge is not told the pillar is there.

Two layouts of three cameras on PETS:
- whole: each camera sees all of the room the real view sees, cut with a different warp, so the
  views overlap fully: where the best single camera is a fair comparison (the goal's);
- strips: the rooms bench's cameras, each seeing about a third of the room. A single camera's count
  of the room is what it sees inside the room, so here it loses to the merge by not covering the
  room as well as by occlusion: shown, not the goal's comparison.

Per layout, occluder and p: the merged count (edge/zones/rooms.py with fixtures, the rooms bench's
`box bottom`), each camera alone, the best single camera (the lowest MAE), MAE and bias overall
and per crowd band against PETS' true count in the room; and the same with perfect detections
(`true boxes`: the true people less those hidden in each view), where only people hidden in every
view that sees them are lost. Also the merge with every sighting of one camera alone confirmed by
the others (`all confirmed`: dropped where another camera would see the place plainly, whatever its
confidence; the edge asks that of faint sightings only), to show what that rule would buy and cost.

    .venv/bin/python -m benchmarks.rooms_occlusion [--every 5] [--chances 0.2,0.35,0.5]
        [--occluders person,pillar] [--layouts whole,strips] [--seed 2009] [--cache DIR] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from benchmarks.rooms import (
    DATA,
    PETS,
    Box,
    Image,
    Quad,
    RoomResult,
    Scene,
    Step,
    VirtualCamera,
    assign_boxes,
    bottom_centres,
    detect_steps,
    inside,
    load_seen,
    pets_scene,
    save_seen,
    score_room,
    true_people,
    view_settings,
    virtual_cameras,
    warp_boxes,
)
from edge.config import default_config, load_config
from edge.detect import Detector, build_detector
from edge.detections import Anchor, Detections
from edge.evaluate import read_cvml
from edge.zones.floor import to_floor

# Three cameras that each see the whole room: the real picture's band where the room's people are
# (their boxes span y 114 to 440), cut with the picture's top and bottom edges tilted differently.
WHOLE_CAMERAS: dict[str, tuple[Quad, tuple[int, int]]] = {
    "level": (((0, 100), (768, 100), (768, 460), (0, 460)), (768, 352)),
    "from left": (((0, 60), (768, 100), (768, 460), (0, 520)), (768, 352)),
    "from right": (((0, 100), (768, 60), (768, 520), (0, 460)), (768, 352)),
}
LAYOUTS = ("whole", "strips")
OCCLUDERS = ("person", "pillar")
HIDE_CHANCES = (0.2, 0.35, 0.5)
SEED = 2009
# A pasted person is this many times the hidden person's height, their feet this many of its
# heights lower in the picture, their middle up to this share of its width aside: nearer the camera.
OCCLUDER_HEIGHT = 1.3
OCCLUDER_DROP = 0.2
OCCLUDER_ASIDE = 0.15
OCCLUDER_APART = 50  # frames (5 s): a pasted person comes from another moment of the video
# People who make occluders: tall enough to be scaled up little, clear of the picture's border and
# of other people (their box widened by BANK_CLEAR px touches no other box), one in BANK_EVERY frames.
BANK_MIN_HEIGHT = 70.0
BANK_CLEAR = 10
BANK_EVERY = 10
BANK_SIZE = 48
BANK_MIN_SHARE = 0.85  # the silhouette's height, of the true box's
BANK_MIN_FILL = 0.4  # the silhouette's area, of its box's
BACKGROUND_EVERY = 10  # frames whose median is the empty scene
FOREGROUND_LEVEL = 30  # grey levels from the background at which a pixel is the person's
PILLAR_GREY = 128
PILLAR_WIDEN = 0.1  # of the hidden person's width, each side
PILLAR_LOWER = 0.2  # of the hidden person's height, below their feet
# Crowd bands of the room's true count (PETS' room holds 2 to 8 people).
BANDS = (("2-3", 0, 3), ("4-5", 4, 5), ("6-8", 6, 1000))
PLAN_VERSION = 1  # part of the cache's key: change it when the plan or the painting changes


# --- who is hidden where, behind what --------------------------------------------------------------


@dataclass(frozen=True)
class Occluder:
    person: int  # the hidden person's PETS id
    pasted: Box  # where a pasted person stands in the real picture (x1, y1, x2, y2)
    pillar: Box  # where a pillar would stand
    cutout: int  # which person of the bank is pasted


Plan = dict[tuple[str, int], list[Occluder]]  # (camera, room step) -> that view's occluders


def bank_boxes(truth: dict[int, dict[int, Box]], size: tuple[int, int]) -> list[tuple[int, Box]]:
    """The people whose pixels make occluders: (frame, true box), clear of others and the border."""
    found = []
    for number in sorted(truth)[::BANK_EVERY]:
        boxes = np.asarray(list(truth[number].values()), np.float64).reshape(-1, 4)
        for index, (x1, y1, x2, y2) in enumerate(boxes):
            if y2 - y1 < BANK_MIN_HEIGHT or x1 < 2 or y1 < 2 or x2 > size[0] - 2 or y2 > size[1] - 2:
                continue
            others = np.delete(boxes, index, axis=0)
            touches = (
                (others[:, 0] < x2 + BANK_CLEAR)
                & (others[:, 2] > x1 - BANK_CLEAR)
                & (others[:, 1] < y2 + BANK_CLEAR)
                & (others[:, 3] > y1 - BANK_CLEAR)
            )
            if not touches.any():
                found.append((number, (float(x1), float(y1), float(x2), float(y2))))
    spread = np.linspace(0, len(found) - 1, min(BANK_SIZE, len(found))).round().astype(int)
    return [found[i] for i in np.unique(spread)]


def hide_plan(
    scene: Scene,
    truth: dict[int, dict[int, Box]],
    cameras: list[VirtualCamera],
    chance: float,
    bank: list[Cutout],
    seed: int = SEED,
) -> Plan:
    """Per camera and step, the occluders of the people in the room hidden in that camera's view.

    Each (step, camera, person) has its own generator, so a draw does not depend on the others, the
    chance or the occluder kind: the hidden sets are nested in the chance and shared by both kinds."""
    plan: Plan = {}
    for number in scene.numbers:
        for index, camera in enumerate(cameras):
            people = truth.get(number + camera.offset, {})
            occluders = []
            for person, box in sorted(people.items()):
                feet = to_floor(scene.floor, bottom_centres([box]) / scene.size)
                if not inside(scene.room, feet)[0]:
                    continue
                draw = np.random.default_rng([seed, number, index, person])
                hidden = draw.random() < chance
                others = [i for i, cut in enumerate(bank) if abs(cut.frame - number) >= OCCLUDER_APART]
                cutout = others[int(draw.integers(len(others)))]
                aside = draw.uniform(-OCCLUDER_ASIDE, OCCLUDER_ASIDE)
                if hidden:
                    occluders.append(Occluder(person, *occluder_boxes(box, bank[cutout].box, aside), cutout))
            plan[(camera.name, number)] = occluders
    return plan


def occluder_boxes(hidden: Box, cutout: Box, aside: float) -> tuple[Box, Box]:
    """Where a person pasted in front of the `hidden` one stands, and where a pillar would."""
    x1, y1, x2, y2 = hidden
    width, height = x2 - x1, y2 - y1
    tall = OCCLUDER_HEIGHT * height
    wide = tall * (cutout[2] - cutout[0]) / (cutout[3] - cutout[1])
    middle, bottom = (x1 + x2) / 2 + aside * width, y2 + OCCLUDER_DROP * height
    pasted = (middle - wide / 2, bottom - tall, middle + wide / 2, bottom)
    pillar = (x1 - PILLAR_WIDEN * width, y1, x2 + PILLAR_WIDEN * width, y2 + PILLAR_LOWER * height)
    return pasted, pillar


# --- painting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cutout:
    """A person of the video cut out to paste in front of others."""

    frame: int
    box: Box  # their silhouette's box in their frame
    pixels: Image  # that box's pixels, BGR
    alpha: NDArray[np.float32]  # 0..1 per pixel: how much of it is the person


def person_bank(scene: Scene, truth: dict[int, dict[int, Box]]) -> list[Cutout]:
    """People cut from their frames (bank_boxes): the pixels that differ from the background (the
    median of every BACKGROUND_EVERY-th frame) seed a GrabCut inside the true box, whose largest
    part is the person. People whose silhouette fills little of its box or falls short of their true
    box's height (something in front of them, like the lamp post's sign) are left out."""
    chosen = bank_boxes(truth, scene.size)
    frames = {number for number, _ in chosen}
    samples = set(range(0, max(scene.numbers) + 1, BACKGROUND_EVERY))
    pictures: dict[int, Image] = {}
    background_samples = []
    for number, _, image in scene.frames(frames | samples):
        if number in frames:
            pictures[number] = image
        if number in samples:
            background_samples.append(image)
    background = np.median(np.stack(background_samples), axis=0).astype(np.int16)
    bank = []
    for number, box in chosen:
        x1, y1, x2, y2 = (round(v) for v in box)
        left, top = max(x1 - BANK_CLEAR, 0), max(y1 - BANK_CLEAR, 0)
        right, bottom = min(x2 + BANK_CLEAR, scene.size[0]), min(y2 + BANK_CLEAR, scene.size[1])
        region = pictures[number][top:bottom, left:right]
        moved = (
            np.abs(region.astype(np.int16) - background[top:bottom, left:right]).max(axis=2)
            > FOREGROUND_LEVEL
        )
        seeds = np.full(moved.shape, cv2.GC_BGD, np.uint8)
        inner = (slice(y1 - top, y2 - top), slice(x1 - left, x2 - left))
        seeds[inner] = np.where(moved[inner], cv2.GC_PR_FGD, cv2.GC_PR_BGD)
        colours = (np.zeros((1, 65)), np.zeros((1, 65)))  # GrabCut's background and person models
        cv2.grabCut(region, seeds, (0, 0, 0, 0), *colours, 3, cv2.GC_INIT_WITH_MASK)
        person = np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
        parts, labels, stats, _ = cv2.connectedComponentsWithStats(person)
        if parts < 2:
            continue
        largest = 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())
        sx, sy, sw, sh, area = stats[largest]
        if sh < BANK_MIN_SHARE * (y2 - y1) or area < BANK_MIN_FILL * sw * sh:
            continue
        mask = (labels[sy : sy + sh, sx : sx + sw] == largest).astype(np.float32)
        alpha = np.asarray(cv2.GaussianBlur(mask, (3, 3), 0), np.float32)
        pixels = np.ascontiguousarray(region[sy : sy + sh, sx : sx + sw])
        silhouette = (float(left + sx), float(top + sy), float(left + sx + sw), float(top + sy + sh))
        bank.append(Cutout(number, silhouette, pixels, alpha))
    return bank


def paint(image: Image, occluders: list[Occluder], kind: str, bank: list[Cutout]) -> Image:
    """A copy of the real picture with the occluders in front."""
    if not occluders:
        return image
    out = image.copy()
    height, width = image.shape[:2]
    for occluder in occluders:
        box = occluder.pasted if kind == "person" else occluder.pillar
        x1, y1, x2, y2 = (round(v) for v in box)
        left, top, right, bottom = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        if right <= left or bottom <= top:
            continue
        if kind == "pillar":
            out[top:bottom, left:right] = PILLAR_GREY
            continue
        cutout = bank[occluder.cutout]
        pixels = cv2.resize(cutout.pixels, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
        alpha = cv2.resize(cutout.alpha, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)[..., None]
        inner = (slice(top - y1, bottom - y1), slice(left - x1, right - x1))
        under = out[top:bottom, left:right].astype(np.float32)
        out[top:bottom, left:right] = (alpha[inner] * pixels[inner] + (1 - alpha[inner]) * under).astype(
            np.uint8
        )
    return out


# --- detections on the occluded views --------------------------------------------------------------


def _cache_file(cache: Path, scene: Scene, cameras: list[VirtualCamera], settings: str, variant: str) -> Path:
    key = json.dumps(
        [
            PLAN_VERSION,
            variant,
            scene.numbers,
            settings,
            [(c.name, c.warp.round(6).tolist(), c.size, c.offset) for c in cameras],
        ]
    )
    return cache / f"rooms-occlusion-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


Seen = dict[tuple[str, int], tuple[float, Detections]]  # (camera, step) -> (capture time, people)


def detect_occluded(
    scene: Scene,
    detector: Detector,
    cameras: list[VirtualCamera],
    plans: dict[str, tuple[str, Plan]],
    bank: list[Cutout],
    cache: Path | None,
    settings: str,
    progress: bool = True,
) -> dict[str, Seen]:
    """Each variant's (name -> (occluder kind, plan)) detections in every camera's occluded view, in
    one pass over the video; read from and kept in `cache` per variant."""
    found: dict[str, Seen] = {}
    files = {
        name: None if cache is None else _cache_file(cache, scene, cameras, settings, f"{kind}:{name}")
        for name, (kind, _) in plans.items()
    }
    for name, stored in files.items():
        if stored is not None and stored.exists():
            found[name] = load_seen(stored)[0]
    missing = [name for name in plans if name not in found]
    if not missing:
        return found
    numbers = set(scene.numbers)
    wanted = {number + camera.offset for number in numbers for camera in cameras}
    for name in missing:
        found[name] = {}
    bar = tqdm(
        total=len(wanted), desc=f"{scene.name} occluded", unit="frame", disable=not progress, file=sys.stderr
    )
    for number, time_s, image in scene.frames(wanted):
        for camera in cameras:
            step = number - camera.offset
            if step not in numbers:
                continue
            for name in missing:
                kind, plan = plans[name]
                view = camera.view(paint(image, plan[(camera.name, step)], kind, bank))
                found[name][(camera.name, step)] = (time_s, detector.detect(view))
        bar.update()
    bar.close()
    for name in missing:
        stored = files[name]
        if stored is not None:
            save_seen(stored, found[name], 0.0)
    return found


def occluded_steps(
    base: list[Step],
    cameras: list[VirtualCamera],
    truth: dict[int, dict[int, Box]],
    kind: str,
    plan: Plan,
    seen: Seen,
) -> tuple[list[Step], int, int]:
    """The base steps with each camera's occluded view; pasted people matched to a detection stand
    nowhere (Step.unplaced). Also how many people were pasted in view and how many were found."""
    steps = []
    pasted = matched = 0
    for step in base:
        views, unplaced = [], []
        for camera in cameras:
            time_s, people = seen[(camera.name, step.number)]
            nowhere = np.zeros(len(people), bool)
            occluders = plan[(camera.name, step.number)]
            if kind == "person" and occluders:
                boxes = list(truth.get(step.number + camera.offset, {}).values())
                targets = warp_boxes(boxes + [o.pasted for o in occluders], camera.warp)
                # a pasted person counts as in view where most of them is (true_people's rule)
                visible = len(true_people([o.pasted for o in occluders], camera.warp, camera.size))
                pasted += visible
                if len(people):
                    pairs = assign_boxes(people.xyxy.astype(np.float64), targets)
                    mine = pairs[pairs[:, 1] >= len(boxes), 0]
                    nowhere[mine] = True
                    matched += len(mine)
            views.append((time_s, people))
            unplaced.append(nowhere)
        steps.append(dataclasses.replace(step, views=views, unplaced=unplaced))
    return steps, pasted, matched


def true_hidden_steps(
    base: list[Step], cameras: list[VirtualCamera], scene: Scene, truth: dict[int, dict[int, Box]], plan: Plan
) -> list[Step]:
    """Perfect detections: every true person in each view, less those hidden there."""
    steps = []
    for step in base:
        views = []
        for camera, (time_s, _) in zip(cameras, step.views, strict=True):
            hidden = {o.person for o in plan[(camera.name, step.number)]}
            people = truth.get(step.number + camera.offset, {})
            boxes = [box for person, box in people.items() if person not in hidden]
            views.append((time_s, true_people(boxes, camera.warp, camera.size)))
        full = true_people(list(truth.get(step.number, {}).values()), None, scene.size)
        steps.append(Step(step.number, step.time_s, full, views))
    return steps


# --- figures -----------------------------------------------------------------------------------


def hiding(
    scene: Scene, cameras: list[VirtualCamera], truth: dict[int, dict[int, Box]], plan: Plan
) -> dict[str, float | int]:
    """Of the people in the room (person-frames): in how many views each is in the picture, hidden
    in at least one of those, and hidden in all of them (lost to any merge)."""
    people = hidden_somewhere = hidden_everywhere = in_no_view = 0
    for number in scene.numbers:
        present = truth.get(number, {})
        for person, box in present.items():
            if not inside(scene.room, to_floor(scene.floor, bottom_centres([box]) / scene.size))[0]:
                continue
            people += 1
            seen_in, hidden_in = 0, 0
            for camera in cameras:
                there = truth.get(number + camera.offset, {})
                if person not in there or not len(true_people([there[person]], camera.warp, camera.size)):
                    continue
                seen_in += 1
                hidden_in += any(o.person == person for o in plan[(camera.name, number)])
            in_no_view += seen_in == 0
            hidden_somewhere += hidden_in > 0
            hidden_everywhere += seen_in > 0 and hidden_in == seen_in
    return {
        "people": people,
        "hidden_somewhere": round(hidden_somewhere / max(people, 1), 3),
        "hidden_everywhere": round(hidden_everywhere / max(people, 1), 3),
        "in_no_view": in_no_view,
    }


def count_figures(result: RoomResult) -> dict[str, Any]:
    """MAE and bias of the merged count and of each camera alone, overall and per crowd band; the
    best single camera (lowest MAE overall) and how much lower the merged MAE is."""
    truth = np.asarray(result.truth, float)
    counts = {"merged": result.merged} | {name: result.alone[name] for name in result.alone}

    def errors(mask: NDArray[np.bool_]) -> dict[str, dict[str, float | None]]:
        table: dict[str, dict[str, float | None]] = {}
        for name, values in counts.items():
            error = np.asarray(values, float)[mask] - truth[mask]
            table[name] = {
                "mae": round(float(np.abs(error).mean()), 3) if mask.any() else None,
                "bias": round(float(error.mean()), 3) if mask.any() else None,
            }
        return table

    overall = errors(np.ones(len(truth), bool))
    best = min(result.alone, key=lambda name: overall[name]["mae"] or 0.0)
    merged_mae, best_mae = overall["merged"]["mae"] or 0.0, overall[best]["mae"] or 0.0
    return {
        "frames": len(truth),
        "mean_true": round(float(truth.mean()), 2) if len(truth) else None,
        "overall": overall,
        "best_single": best,
        "overlap_times_counted": round(float(np.mean(result.overlap_counted)), 3)
        if result.overlap_counted
        else None,
        "outside_counted": f"{result.outside_counted} of {result.outside_people}",
        "merged_below_best": round(1 - merged_mae / best_mae, 3) if best_mae else None,
        "bands": {
            label: {"frames": int(mask.sum())} | errors(mask)
            for label, low, high in BANDS
            if (mask := (truth >= low) & (truth <= high)) is not None
        },
    }


def room_figures(steps: list[Step], cameras: list[VirtualCamera], scene: Scene) -> dict[str, Any]:
    """count_figures of the edge's merge, and of the merge with every sighting of one camera alone
    confirmed by the others (`confirm_all`: dropped where another camera sees the place plainly,
    whatever its confidence): what full overlap could buy against each camera's own mistakes."""
    figures = count_figures(score_room(steps, cameras, scene, Anchor.BOX_BOTTOM))
    confirmed = count_figures(score_room(steps, cameras, scene, Anchor.BOX_BOTTOM, faint_below=np.inf))
    return figures | {
        "confirm_all": {"overall": confirmed["overall"]["merged"]}
        | {"bands": {label: cells["merged"] for label, cells in confirmed["bands"].items()}}
    }


def run_layout(
    scene: Scene,
    detectors: tuple[Detector, Detector],
    truth: dict[int, dict[int, Box]],
    chances: list[float],
    kinds: list[str],
    cache: Path | None,
    settings: str,
    seed: int = SEED,
) -> dict[str, Any]:
    """One layout's figures per chance ("0": no occluders) and occluder kind, with the hiding and
    the same with perfect detections."""
    cameras = virtual_cameras(scene)
    base, _ = detect_steps(scene, detectors, cameras, True, cache, settings)
    bank = person_bank(scene, truth)
    plans = {f"{chance:g}": hide_plan(scene, truth, cameras, chance, bank, seed) for chance in chances}
    variants = {f"{kind} {name}": (kind, plan) for kind in kinds for name, plan in plans.items()}
    seen = detect_occluded(scene, detectors[1], cameras, variants, bank, cache, settings)
    unhidden: Plan = {(camera.name, number): [] for camera in cameras for number in scene.numbers}
    figures: dict[str, Any] = {
        "0": {
            "hiding": hiding(scene, cameras, truth, unhidden),
            "true boxes": room_figures(
                true_hidden_steps(base, cameras, scene, truth, unhidden), cameras, scene
            ),
        }
        | {kind: room_figures(base, cameras, scene) for kind in kinds}
    }
    for name, plan in plans.items():
        perfect = true_hidden_steps(base, cameras, scene, truth, plan)
        figures[name] = {
            "hiding": hiding(scene, cameras, truth, plan),
            "true boxes": room_figures(perfect, cameras, scene),
        }
        for kind in kinds:
            steps, pasted, found = occluded_steps(base, cameras, truth, kind, plan, seen[f"{kind} {name}"])
            figures[name][kind] = room_figures(steps, cameras, scene)
            if kind == "person":
                figures[name][kind] |= {"pasted_in_view": pasted, "pasted_found": found}
    return figures


def table(layout: str, figures: dict[str, Any], kinds: list[str]) -> list[str]:
    """A layout's figures as text: per occluder kind (and perfect detections) a row per chance."""
    lines = []
    for kind in [*kinds, "true boxes"]:
        lines += [
            "",
            f"{layout}, {kind if kind != 'true boxes' else 'true boxes (perfect detector)'}",
            f"{'p':>5} {'hidden: some/all views':>23} {'merged MAE (bias)':>18} "
            f"{'best single MAE (bias)':>30} {'merged lower':>12} {'all confirmed':>16}"
            "  per band: merged / best MAE",
        ]
        for chance, row in figures.items():
            result = row[kind]
            best = result["best_single"]
            merged, single = result["overall"]["merged"], result["overall"][best]
            hiding = row["hiding"]
            bands = "  ".join(
                f"{label} {cells['merged']['mae']:.2f}/{cells[best]['mae']:.2f}"
                for label, cells in result["bands"].items()
                if cells["frames"]
            )
            below = result["merged_below_best"]
            confirmed = result["confirm_all"]["overall"]
            lines.append(
                f"{chance:>5} {hiding['hidden_somewhere']:>11.1%} / {hiding['hidden_everywhere']:>6.1%}"
                f"   {merged['mae']:>7.3f} ({merged['bias']:+.3f})"
                f" {best:>12} {single['mae']:>7.3f} ({single['bias']:+.3f})"
                f" {'-' if below is None else f'{below:.0%}':>12}"
                f" {confirmed['mae']:>7.3f} ({confirmed['bias']:+.3f})  {bands}"
            )
        if kind == "person":
            pasted = [
                (row["person"]["pasted_found"], row["person"]["pasted_in_view"])
                for row in figures.values()
                if "pasted_in_view" in row["person"]
            ]
            lines.append(
                "pasted people found by the detector (they stand nowhere): "
                + ", ".join(f"{found} of {in_view}" for found, in_view in pasted)
            )
        lines.append(
            "people seen in two views counted (times): "
            + ", ".join(f"{row[kind]['overlap_times_counted']}" for row in figures.values())
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding pets2009-s2l1/")
    parser.add_argument("--every", type=int, default=5, help="every Nth frame is a room step (default 5)")
    parser.add_argument("--offsets", default="0,1,-1", help="per camera, frames its capture lags the step")
    parser.add_argument(
        "--chances", default=",".join(f"{c:g}" for c in HIDE_CHANCES), help="p: per person and view"
    )
    parser.add_argument("--occluders", default=",".join(OCCLUDERS), help="person and/or pillar")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="whole and/or strips")
    parser.add_argument("--seed", type=int, default=SEED, help="the hiding draws' seed")
    parser.add_argument(
        "--config", type=Path, help="detector settings from this site YAML (default: built-in)"
    )
    parser.add_argument("--cache", type=Path, help="keep the detections here and read them on a rerun")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args(argv)
    offsets = [int(o) for o in args.offsets.split(",")]
    chances = [float(c) for c in args.chances.split(",")]
    kinds, layouts = args.occluders.split(","), args.layouts.split(",")
    if len(offsets) != 3 or args.every < 1:
        parser.error("--offsets needs 3 integers, --every 1 or more")
    if not all(0 < c <= 1 for c in chances):
        parser.error(f"--chances must lie in (0, 1], got {args.chances}")
    if not set(kinds) <= set(OCCLUDERS) or not set(layouts) <= set(LAYOUTS):
        parser.error(f"--occluders: {', '.join(OCCLUDERS)}; --layouts: {', '.join(LAYOUTS)}")
    config = load_config(args.config) if args.config else default_config()
    detector = build_detector(config.detector)
    settings = config.detector.model_dump_json()
    truth = read_cvml(args.data / PETS / "PETS2009-S2L1.xml")
    pets = pets_scene(args.data, args.every, offsets)
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    for layout in layouts:
        scene = pets if layout == "strips" else dataclasses.replace(pets, cameras=WHOLE_CAMERAS)
        (size,) = {size for _, size in scene.cameras.values()}
        views = build_detector(view_settings(config.detector, scene.size, size))
        figures[layout] = run_layout(
            scene, (detector, views), truth, chances, kinds, args.cache, settings, args.seed
        )
    wall_s = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(figures | {"wall_s": wall_s}))
    else:
        for layout, layout_figures in figures.items():
            print("\n".join(table(layout, layout_figures, kinds)))
        print(f"\n{wall_s} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
