"""`wartezone calibrate`: a camera's own count correction from a few of its stills, labelled by hand.

The detector's error differs from camera to camera, and on one camera from day to day (light,
crowding, the season's clothes), so a straight line fitted to one day's stills can make the next
day worse. A correction is therefore only written when the labels clearly say so:
- the stills come from at least two days (read from the file names, YYYYMMDD);
- the line is shrunk towards "no correction" (scale 1, offset 0): a prior of +-SCALE_PRIOR on the
  scale and +-OFFSET_PRIOR people on the offset, against the labels' own scatter;
- fitted on all days but one, it must lower the error on the day left out, day by day, and on all
  of them together (leave one day out); otherwise no correction is written, and the command says why.
Counts only: the stills are read, counted and forgotten; the config gets four numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import CameraConfig, Config, CountCorrection
from edge.evaluate import CountRow, eval_counts

MIN_STILLS = 10
MIN_DAYS = 2
SCALE_PRIOR = 0.05  # the scale moves from 1 by more than this only on strong evidence
OFFSET_PRIOR = 1.0  # people per picture
MIN_GAIN = 0.05  # leave-one-day-out error must fall by at least this share
DAY_IN_NAME = re.compile(r"(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")


class CalibrationError(ValueError):
    """Labels a correction cannot be fitted on; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Still:
    file: str
    day: str
    detected: int
    true: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the labels say: a correction, or None with the reason; and the figures behind it."""

    correction: CountCorrection | None
    reason: str
    mae_before: float  # leave one day out, without and with the correction fitted on the other days
    mae_after: float
    days_worse: list[str]


def day_of(file: str) -> str | None:
    found = DAY_IN_NAME.search(Path(file).name)
    return "".join(found.groups()) if found else None


def check_labels(rows: list[CountRow]) -> dict[str, str]:
    """file -> day, or a CalibrationError naming every problem with the labels."""
    problems = []
    seen: dict[str, int] = {}
    for row in rows:
        if row.count < 0:
            problems.append(f"{row.file}: a count of {row.count} people")
        if row.file in seen and seen[row.file] != row.count:
            problems.append(f"{row.file}: labelled twice, {seen[row.file]} and {row.count} people")
        seen[row.file] = row.count
    days = {row.file: day_of(row.file) for row in rows}
    undated = [file for file, day in days.items() if day is None]
    if undated:
        problems.append(
            f"{len(undated)} stills have no date in their name (e.g. {undated[0]}): name them with "
            "their day (YYYYMMDD) so the correction can be checked on a day it was not fitted on"
        )
    if len(seen) < MIN_STILLS:
        problems.append(f"{len(seen)} stills labelled; at least {MIN_STILLS} are needed")
    if days and not undated and len(set(days.values())) < MIN_DAYS:
        problems.append(
            f"all stills are from one day ({next(iter(days.values()))}); the error moves from day to day: "
            f"label stills from at least {MIN_DAYS} days"
        )
    if problems:
        raise CalibrationError("; ".join(problems))
    return {file: day for file, day in days.items() if day is not None}


def fit_line(detected: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """(scale, offset) of true ~ offset + scale x detected, shrunk towards (1, 0)."""
    design = np.stack([np.ones_like(detected), detected], axis=1)
    target = true - detected  # so that "no correction" is (0, 0)
    plain, *_ = np.linalg.lstsq(design, target, rcond=None)
    noise = max(1.0, float(np.mean((target - design @ plain) ** 2)))  # at least one person
    prior = np.diag([1 / OFFSET_PRIOR**2, 1 / SCALE_PRIOR**2])
    offset, scale_change = np.linalg.solve(design.T @ design / noise + prior, design.T @ target / noise)
    return 1.0 + float(scale_change), float(offset)


def corrected(detected: np.ndarray, scale: float, offset: float) -> np.ndarray:
    return np.asarray(np.maximum(0, np.round(scale * detected + offset)))


def decide(stills: list[Still]) -> Outcome:
    """Fit, then keep the correction only if, fitted without each day in turn, it helps that day."""
    detected = np.array([s.detected for s in stills], float)
    true = np.array([s.true for s in stills], float)
    days = np.array([s.day for s in stills])
    before: list[float] = []
    after: list[float] = []
    worse = []
    for day in sorted(set(days)):
        held = days == day
        scale, offset = fit_line(detected[~held], true[~held])
        error_before = np.abs(detected[held] - true[held])
        error_after = np.abs(corrected(detected[held], scale, offset) - true[held])
        before += error_before.tolist()
        after += error_after.tolist()
        if error_after.mean() > error_before.mean():
            worse.append(day)
    mae_before, mae_after = float(np.mean(before)), float(np.mean(after))
    if worse or mae_after > (1 - MIN_GAIN) * mae_before:
        reason = (
            f"no correction: fitted without each day in turn, it would not lower that day's error "
            f"(leave one day out: MAE {mae_before:.2f} as detected, {mae_after:.2f} corrected"
            + (f"; worse on {', '.join(worse)}" if worse else "")
            + "): the counts stay as detected"
        )
        return Outcome(None, reason, mae_before, mae_after, worse)
    scale, offset = fit_line(detected, true)
    correction = CountCorrection(
        scale=round(scale, 3), offset=round(offset, 2), stills=len(stills), days=len(set(days))
    )
    reason = (
        f"correction scale {correction.scale:g}, offset {correction.offset:+g}: leave one day out, "
        f"MAE {mae_before:.2f} as detected, {mae_after:.2f} corrected"
    )
    return Outcome(correction, reason, mae_before, mae_after, worse)


def count_stills(folder: Path, counts: Path, config: Config, camera: CameraConfig) -> list[int]:
    """The camera's detector on each labelled still, whole picture, each on its own (eval's
    --stills), without the camera's present correction: one count per CSV row, in order."""
    camera = camera.model_copy(update={"count_correction": None})
    result = eval_counts(
        folder, counts, config.model_copy(update={"cameras": [camera]}), every=1, stills=True, progress=False
    )
    if result.analysis_errors:
        raise CalibrationError(f"{result.analysis_errors} stills could not be analysed: see the log")
    return [frame.raw for frame in result.counts]


def write_correction(path: Path, camera_id: str, correction: CountCorrection | None) -> Path:
    """Set (or, with None, remove) the camera's `count_correction` in the YAML file, keeping its
    comments and order; the previous file stays beside it as FILE.bak. Returns the backup's path."""
    from edge.setup.config_file import rewrite_config

    def edit(document: Any) -> None:
        cameras = [c for c in document.get("cameras", []) if c.get("id") == camera_id]
        if len(cameras) != 1:
            raise CalibrationError(f"{path}: no camera {camera_id!r} to write the correction into")
        if correction is None:
            cameras[0].pop("count_correction", None)
        else:
            cameras[0]["count_correction"] = correction.model_dump()

    return rewrite_config(path, edit)
